/* Text clean-up of CLIP's simple_tokenizer, on code points:
 *
 *   whitespace_clean(basic_clean(text)).lower()
 *   basic_clean(t)      = html.unescape(html.unescape(ftfy.fix_text(t))).strip()
 *   whitespace_clean(t) = regex.sub(r'\s+', ' ', t).strip()
 *
 * ftfy.fix_text is ftfy 6.3.1 with its default TextFixerConfig, minus the
 * mojibake repair (see clip_ftfy_fix_text). Steps read a clip_cps and write the
 * result back into it, using a second buffer as scratch; they return 0, or -1
 * when memory runs out. */
#ifndef UNPROMPT_ENGINE_CLIP_TEXT_H
#define UNPROMPT_ENGINE_CLIP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* A growable array of code points. Zero-initialise; free with clip_cps_free. */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} clip_cps;

int clip_cps_reserve(clip_cps *b, size_t cap);
void clip_cps_free(clip_cps *b);
void clip_cps_swap(clip_cps *a, clip_cps *b);

/* bytes.decode('utf-8', errors='replace'): each maximal ill-formed subsequence
 * (Unicode §3.9) becomes one U+FFFD, as CPython does. */
int clip_utf8_decode(const unsigned char *s, size_t len, clip_cps *out);
/* UTF-8 of one code point (surrogates included, as CPython's surrogatepass
 * would; they never reach it). Returns the byte count. */
size_t clip_utf8_encode(uint32_t c, unsigned char out[4]);

/* unicodedata.normalize('NFC', t). */
int clip_nfc(clip_cps *t, clip_cps *scratch);

/* ftfy.fixes.unescape_html: "&name;" HTML5 references ending in ';', ftfy's
 * upper-case forms ("&EACUTE;"), and "&#...;" character references that
 * html.unescape decodes completely. */
int clip_ftfy_unescape_html(clip_cps *t, clip_cps *scratch);

/* Python's html.unescape (HTML5 rules: legacy names without ';', longest
 * prefix match, Windows-1252 for &#128;..&#159;, invalid code points). */
int clip_html_unescape(clip_cps *t, clip_cps *scratch);

/* ftfy.fix_text(t) with the default configuration, without fix_encoding. */
int clip_ftfy_fix_text(clip_cps *t, clip_cps *scratch);

/* The whole clean-up, from UTF-8 bytes (invalid sequences become U+FFFD). */
int clip_clean_text(const unsigned char *utf8, size_t len, clip_cps *out, clip_cps *scratch);

#endif
