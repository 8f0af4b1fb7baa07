/* basic_clean, whitespace_clean and str.lower() of simple_tokenizer. */
#include "engine/text/clean.h"
#include "engine/text/unicode.h"

/* str.strip(): drop str.isspace() code points at both ends, in place. */
static void strip(cp_buf *t)
{
    size_t a = 0, b = t->n;
    while (a < b && uc_is_py_space(t->v[a])) a++;
    while (b > a && uc_is_py_space(t->v[b - 1])) b--;
    for (size_t i = a; i < b; i++) t->v[i - a] = t->v[i];
    t->n = b - a;
}

/* regex.sub(r'\s+', ' ', t), in place. */
static void collapse_spaces(cp_buf *t)
{
    size_t out = 0;
    int in_run = 0;
    for (size_t i = 0; i < t->n; i++) {
        int space = uc_is_regex_space(t->v[i]);
        if (!space)
            t->v[out++] = t->v[i];
        else if (!in_run)
            t->v[out++] = ' ';
        in_run = space;
    }
    t->n = out;
}

/* CPython's final-sigma context for U+03A3 at i: a cased letter before it
 * (case-ignorable code points skipped) and none after it. */
static int final_sigma(const uint32_t *v, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && uc_is_case_ignorable(v[j - 1])) j--;
    if (j == 0 || !uc_is_cased(v[j - 1])) return 0;
    j = i + 1;
    while (j < n && uc_is_case_ignorable(v[j])) j++;
    return j == n || !uc_is_cased(v[j]);
}

/* str.lower(): one code point each, but U+0130 (to "i" U+0307) and U+03A3
 * (to U+03C2 in the final-sigma context). */
static int lower(cp_buf *t, cp_buf *s)
{
    if (t->n > SIZE_MAX / 2 || cp_buf_reserve(s, t->n * 2 + 1)) return -1;
    s->n = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = t->v[i];
        if (c == 0x130) {
            s->v[s->n++] = 'i';
            s->v[s->n++] = 0x307;
        } else if (c == 0x3A3) {
            s->v[s->n++] = final_sigma(t->v, t->n, i) ? 0x3C2 : 0x3C3;
        } else {
            s->v[s->n++] = uc_lower(c);
        }
    }
    cp_buf_swap(t, s);
    return 0;
}

int clip_clean_text(const unsigned char *utf8, size_t len, cp_buf *out, cp_buf *scratch)
{
    if (utf8_decode(utf8, len, out)) return -1;
    if (clip_ftfy_fix_text(out, scratch)) return -1;
    if (clip_html_unescape(out, scratch) || clip_html_unescape(out, scratch)) return -1;
    strip(out);
    collapse_spaces(out);
    strip(out);
    return lower(out, scratch);
}
