/* Text clean-up of CLIP's simple_tokenizer (ftfy, html.unescape, NFC,
 * whitespace, lower-case), on code points:
 *
 *   whitespace_clean(basic_clean(text)).lower()
 *   basic_clean(t)      = html.unescape(html.unescape(ftfy.fix_text(t))).strip()
 *   whitespace_clean(t) = regex.sub(r'\s+', ' ', t).strip()
 *
 * ftfy.fix_text is ftfy 6.3.1 with its default TextFixerConfig, minus the
 * mojibake repair (see clip_ftfy_fix_text). Steps read a cp_buf and write the
 * result back into it, using a second buffer as scratch; they return 0, or -1
 * when memory runs out. */
#ifndef UNPROMPT_ENGINE_TEXT_CLEAN_H
#define UNPROMPT_ENGINE_TEXT_CLEAN_H

#include "engine/text/utf8.h"

/* unicodedata.normalize('NFC', t). */
int clip_nfc(cp_buf *t, cp_buf *scratch);

/* ftfy.fixes.unescape_html: "&name;" HTML5 references ending in ';', ftfy's
 * upper-case forms ("&EACUTE;"), and "&#...;" character references that
 * html.unescape decodes completely. */
int clip_ftfy_unescape_html(cp_buf *t, cp_buf *scratch);

/* Python's html.unescape (HTML5 rules: legacy names without ';', longest
 * prefix match, Windows-1252 for &#128;..&#159;, invalid code points). */
int clip_html_unescape(cp_buf *t, cp_buf *scratch);

/* ftfy.fix_text(t) with the default configuration, without fix_encoding. */
int clip_ftfy_fix_text(cp_buf *t, cp_buf *scratch);

/* The whole clean-up, from UTF-8 bytes (invalid sequences become U+FFFD). */
int clip_clean_text(const unsigned char *utf8, size_t len, cp_buf *out, cp_buf *scratch);

#endif
