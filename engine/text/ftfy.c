/* ftfy.fix_text (ftfy 6.3.1, default TextFixerConfig) as CLIP's basic_clean
 * calls it, on code points.
 *
 * fix_text cuts the text into lines (each keeps its '\n') and fixes each one
 * until nothing changes; every round applies, in this order:
 *
 *   unescape_html           implemented (html.c); "auto": off for the first
 *                           line holding a '<' and for every line after it
 *   fix_encoding            NOT implemented: the mojibake repair (re-decoding text
 *                           that looks like UTF-8 read as Latin-1/Windows-125x/
 *                           MacRoman/cp437, restore_byte_a0, replace_lossy_sequences,
 *                           decode_inconsistent_utf8). It only acts on text ftfy's
 *                           badness heuristic flags as mojibake ("cafÃ©"); such text
 *                           is tokenized as it is, where CLIP would repair it first.
 *   fix_c1_controls         implemented: U+0080..U+009F as Windows-1252
 *   fix_latin_ligatures     implemented
 *   fix_character_width     implemented
 *   uncurl_quotes           implemented: U+02BC, U+2018..U+201B to ', U+201C..U+201F to "
 *   fix_line_breaks         implemented
 *   fix_surrogates          nothing to do: decoded UTF-8 holds no surrogates
 *   remove_terminal_escapes implemented: ESC '[' (\d|;)* [A-Za-z]
 *   remove_control_chars    implemented
 *   NFC                     implemented (nfc.c)
 *
 * The lines are independent (no step looks across a '\n' or makes one that
 * matters to another line), so the text is fixed as two pieces: the lines
 * before the first '<' line with entities on, the rest with them off.
 * Each piece gets at most CLIP_FTFY_MAX_ROUNDS rounds (ftfy has no limit; only
 * references nested deeper than that, "&amp;amp;amp;...", need more). */
#include <string.h>

#include "engine/text/clean.h"
#include "engine/text/unicode.h"

#define CLIP_FTFY_MAX_ROUNDS 64

/* fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes:
 * per-code-point maps applied one after the other. */
static size_t map_one(uint32_t c, uint32_t out[9])
{
    if (c >= 0x80 && c <= 0x9F) c = ucd_c1[c - 0x80];
    uint32_t lig[3] = {c, 0, 0};
    const ucd_expand *e = uc_expand(ucd_ligatures, ucd_ligatures_count, c);
    if (e) memcpy(lig, e->to, sizeof lig);
    size_t n = 0;
    for (int i = 0; i < 3 && lig[i]; i++) {
        uint32_t w[3] = {lig[i], 0, 0};
        if (lig[i] == 0x3000 || (lig[i] >= 0xFF01 && lig[i] <= 0xFFEF)) {
            const ucd_expand *x = uc_expand(ucd_width, ucd_width_count, lig[i]);
            if (x) memcpy(w, x->to, sizeof w);
        }
        for (int k = 0; k < 3 && w[k]; k++) {
            uint32_t q = w[k];
            if (q == 0x2BC || (q >= 0x2018 && q <= 0x201B))
                q = '\'';
            else if (q >= 0x201C && q <= 0x201F)
                q = '"';
            out[n++] = q;
        }
    }
    return n;
}

static int map_chars(cp_buf *t, cp_buf *s)
{
    if (t->n > SIZE_MAX / 9 || cp_buf_reserve(s, t->n * 9 + 1)) return -1;
    s->n = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = t->v[i];
        if (c < 0x80) {
            s->v[s->n++] = c;
            continue;
        }
        uint32_t out[9];
        size_t k = map_one(c, out);
        for (size_t j = 0; j < k; j++) s->v[s->n++] = out[j];
    }
    cp_buf_swap(t, s);
    return 0;
}

/* fix_line_breaks, remove_terminal_escapes, remove_control_chars, in this
 * order; each only shortens the text, so one pass in place. The escape pattern
 * involves no line break, so matching it before the line breaks are rewritten
 * finds the same escapes. */
static int is_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

static size_t escape_len(const uint32_t *v, size_t n, size_t i)
{
    if (v[i] != 0x1B || i + 1 >= n || v[i + 1] != '[') return 0;
    size_t j = i + 2;
    while (j < n && (v[j] == ';' || uc_is_decimal(v[j]))) j++;
    if (j < n && ((v[j] | 0x20) >= 'a' && (v[j] | 0x20) <= 'z')) return j + 1 - i;
    return 0;
}

static void line_breaks_escapes_controls(cp_buf *t)
{
    uint32_t *v = t->v;
    size_t n = t->n, out = 0, i = 0;
    while (i < n) {
        uint32_t c = v[i];
        size_t e = escape_len(v, n, i);
        if (e) {
            i += e;
            continue;
        }
        if (c == '\r' && i + 1 < n && v[i + 1] == '\n') i++;
        if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
        i++;
        if (!is_control(c)) v[out++] = c;
    }
    t->n = out;
}

static int one_round(cp_buf *t, cp_buf *s, int entities)
{
    if (entities && clip_ftfy_unescape_html(t, s)) return -1;
    if (map_chars(t, s)) return -1;
    line_breaks_escapes_controls(t);
    return clip_nfc(t, s);
}

/* True when every round would leave t as it is: printable ASCII, tab and
 * line feed, no '&'. */
static int ascii_fixed(const cp_buf *t)
{
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = t->v[i];
        if (c == '&' || c > 0x7E || (c < 0x20 && c != '\t' && c != '\n')) return 0;
    }
    return 1;
}

static int fix_piece(cp_buf *t, cp_buf *s, cp_buf *prev, int entities)
{
    if (ascii_fixed(t)) return 0;
    for (int round = 0; round < CLIP_FTFY_MAX_ROUNDS; round++) {
        if (cp_buf_reserve(prev, t->n + 1)) return -1;
        memcpy(prev->v, t->v, t->n * sizeof *t->v);
        prev->n = t->n;
        if (one_round(t, s, entities)) return -1;
        if (t->n == prev->n && !memcmp(t->v, prev->v, t->n * sizeof *t->v)) return 0;
    }
    return 0;
}

/* Where entities stop being decoded: the start of the first line with a '<'. */
static size_t entity_limit(const cp_buf *t)
{
    size_t line = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i] == '<') return line;
        if (t->v[i] == '\n') line = i + 1;
    }
    return t->n;
}

int clip_ftfy_fix_text(cp_buf *t, cp_buf *scratch)
{
    size_t limit = entity_limit(t);
    cp_buf head = {0}, tail = {0}, prev = {0};
    int rc = -1;
    if (cp_buf_reserve(&head, limit + 1) || cp_buf_reserve(&tail, t->n - limit + 1)) goto done;
    memcpy(head.v, t->v, limit * sizeof *t->v);
    head.n = limit;
    memcpy(tail.v, t->v + limit, (t->n - limit) * sizeof *t->v);
    tail.n = t->n - limit;
    if (fix_piece(&head, scratch, &prev, 1) || fix_piece(&tail, scratch, &prev, 0)) goto done;
    if (cp_buf_reserve(t, head.n + tail.n + 1)) goto done;
    memcpy(t->v, head.v, head.n * sizeof *t->v);
    memcpy(t->v + head.n, tail.v, tail.n * sizeof *t->v);
    t->n = head.n + tail.n;
    rc = 0;
done:
    cp_buf_free(&head);
    cp_buf_free(&tail);
    cp_buf_free(&prev);
    return rc;
}
