/* clip.tokenize: clean-up (clean.c), the pre-tokenizer pattern, BPE. */
#include <stdlib.h>
#include <string.h>

#include "engine/text/clip_bpe.h"
#include "engine/text/clean.h"
#include "engine/text/clip_tokenizer.h"
#include "engine/text/unicode.h"

struct clip_tokenizer {
    clip_bpe bpe;
};

int clip_tokenizer_load(clip_tokenizer **out, const char *merges_text, size_t len, fmt_error *err)
{
    *out = NULL;
    if (!merges_text && len) return fmt_fail(err, "clip merges: no text");
    clip_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return fmt_fail(err, "clip merges: out of memory");
    if (clip_bpe_build(&t->bpe, merges_text ? merges_text : "", len, err)) {
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void clip_tokenizer_free(clip_tokenizer *t)
{
    if (!t) return;
    clip_bpe_free(&t->bpe);
    free(t);
}

size_t clip_tokenizer_vocab_size(const clip_tokenizer *t) { return t->bpe.vocab_size; }
int clip_tokenizer_sot(const clip_tokenizer *t) { return (int)t->bpe.sot; }
int clip_tokenizer_eot(const clip_tokenizer *t) { return (int)t->bpe.eot; }

int clip_bpe_merges_from_vocab(const char *text, size_t len, const char **start, size_t *n,
                               fmt_error *err)
{
    const size_t keep = 49152 - 256 - 2; /* lines 1 .. 48894 */
    const char *nl = memchr(text, '\n', len);
    if (!nl || nl + 1 == text + len) return fmt_fail(err, "clip vocab: no merges after the header");
    const char *s = nl + 1, *end = text + len, *p = s;
    for (size_t lines = 0; lines < keep && p < end; lines++) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        p = e ? e + 1 : end;
    }
    *start = s;
    *n = (size_t)(p - s);
    return 0;
}

/* ---- the pre-tokenizer pattern ------------------------------------------ */

/* A literal character of the pattern under IGNORECASE (the generator checks
 * that only 's' gains a code point beyond its upper case: U+017F). */
static int literal_eq(uint32_t c, char lit)
{
    if (c == (unsigned char)lit) return 1;
    if (lit >= 'a' && lit <= 'z' && c == (uint32_t)(lit - 32)) return 1;
    return lit == 's' && c == 0x17F;
}

static size_t match_literal(const uint32_t *v, size_t n, size_t i, const char *lit)
{
    size_t k = 0;
    for (; lit[k]; k++)
        if (i + k >= n || !literal_eq(v[i + k], lit[k])) return 0;
    return k;
}

static int is_other(uint32_t c)
{
    return !uc_is_regex_space(c) && !uc_is_letter(c) && !uc_is_number(c) &&
           !uc_is_unmatched(c);
}

/* The match of the pattern at v[i], or 0 when no alternative matches there
 * (findall then moves one code point on). */
static size_t match_at(const uint32_t *v, size_t n, size_t i)
{
    static const char *const literals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                           "'ve", "'m", "'ll", "'d"};
    uint32_t c = v[i];
    if (c == '<' || c == '\'') {
        for (size_t k = 0; k < sizeof literals / sizeof *literals; k++) {
            size_t m = match_literal(v, n, i, literals[k]);
            if (m) return m;
        }
    }
    size_t j = i;
    if (uc_is_letter(c)) {
        while (j < n && uc_is_letter(v[j])) j++;
        return j - i;
    }
    if (uc_is_number(c)) return 1;
    while (j < n && is_other(v[j])) j++;
    return j - i;
}

/* 1 if v[0..n) is exactly the ASCII string s. */
static int equals_ascii(const uint32_t *v, size_t n, const char *s)
{
    size_t k = 0;
    for (; k < n; k++)
        if (!s[k] || v[k] != (unsigned char)s[k]) return 0;
    return s[k] == 0;
}

typedef struct {
    cp_buf text, scratch;
    unsigned char *bytes;
    clip_bpe_work bpe;
} work;

static void work_free(work *w)
{
    cp_buf_free(&w->text);
    cp_buf_free(&w->scratch);
    free(w->bytes);
    clip_bpe_work_free(&w->bpe);
}

/* encode(text) into out[0..*count), stopping once `room` ids are there. */
static int encode(const clip_tokenizer *t, work *w, int *out, size_t *count, size_t room)
{
    const uint32_t *v = w->text.v;
    size_t n = w->text.n, i = 0;
    w->bytes = malloc(n * 4 + 1);
    if (!w->bytes) return -1;
    while (i < n && *count < room) {
        size_t m = match_at(v, n, i);
        if (!m) {
            i++;
            continue;
        }
        if (equals_ascii(v + i, m, "<|startoftext|>")) {
            out[(*count)++] = (int)t->bpe.sot;
        } else if (equals_ascii(v + i, m, "<|endoftext|>")) {
            out[(*count)++] = (int)t->bpe.eot;
        } else {
            size_t nb = 0;
            for (size_t k = 0; k < m; k++) nb += utf8_encode(v[i + k], w->bytes + nb);
            if (clip_bpe_word(&t->bpe, w->bytes, nb, &w->bpe, out, count, room)) return -1;
        }
        i += m;
    }
    return 0;
}

/* The length to read: at most CLIP_TOKENIZER_MAX_INPUT bytes, not cutting a
 * UTF-8 sequence. */
static size_t input_length(const char *s)
{
    size_t n = 0;
    while (n < CLIP_TOKENIZER_MAX_INPUT && s[n]) n++;
    if (s[n] && n > 0) {
        size_t k = n;
        while (k > 0 && n - k < 3 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        if (((unsigned char)s[k] & 0xC0) != 0x80) n = k;
    }
    return n;
}

int clip_tokenize(const clip_tokenizer *t, const char *utf8, int *ids, size_t context,
                  size_t *n_used)
{
    if (!t || !utf8 || !ids || context < 2) return -1;
    work w = {0};
    int rc = -1;
    size_t len = input_length(utf8), count = 1;
    memset(ids, 0, context * sizeof *ids);
    ids[0] = (int)t->bpe.sot;
    if (clip_clean_text((const unsigned char *)utf8, len, &w.text, &w.scratch)) goto done;
    /* Up to context - 1 ids: SOT plus context - 2 tokens fit; one more shows
     * that the text was cut. */
    if (encode(t, &w, ids, &count, context)) goto done;
    if (count == context)
        ids[context - 1] = (int)t->bpe.eot;
    else
        ids[count++] = (int)t->bpe.eot;
    if (n_used) *n_used = count;
    rc = 0;
done:
    work_free(&w);
    return rc;
}
