/* CLIP BPE: vocabulary and merge table from the merges text; the merge loop. */
#include <stdlib.h>
#include <string.h>

#include "engine/text/clip_bpe.h"
#include "engine/text/utf8.h"

uint32_t clip_bpe_byte_char(unsigned char b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) return b;
    /* the others, in byte order, get 256, 257, ... */
    uint32_t n = 0;
    for (unsigned k = 0; k < b; k++)
        if (!((k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || k >= 0xAE)) n++;
    return 256 + n;
}

/* ---- vocabulary strings: a blob, offsets, and a hash of string -> id ----- */

typedef struct {
    char *blob;
    size_t used, cap;
    size_t *off; /* id -> start in blob; off[id + 1] - off[id] is the length */
    size_t count, max;
    uint32_t *slots; /* hash slots holding ids, UINT32_MAX when empty */
    size_t mask;
} vocab;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int vocab_init(vocab *v, size_t max, size_t blob)
{
    memset(v, 0, sizeof *v);
    size_t cap = 1;
    while (cap < max * 2) cap *= 2;
    v->blob = malloc(blob);
    v->off = malloc((max + 1) * sizeof *v->off);
    v->slots = malloc(cap * sizeof *v->slots);
    if (!v->blob || !v->off || !v->slots) return -1;
    memset(v->slots, 0xFF, cap * sizeof *v->slots);
    v->cap = blob, v->max = max, v->mask = cap - 1, v->off[0] = 0;
    return 0;
}

static void vocab_free(vocab *v)
{
    free(v->blob);
    free(v->off);
    free(v->slots);
}

static const char *vocab_str(const vocab *v, uint32_t id, size_t *n)
{
    *n = v->off[id + 1] - v->off[id];
    return v->blob + v->off[id];
}

/* The slot of string s: where its id is, or the empty slot to put it. */
static size_t vocab_slot(const vocab *v, const char *s, size_t n)
{
    size_t i = (size_t)hash_bytes(s, n) & v->mask;
    for (;;) {
        uint32_t id = v->slots[i];
        if (id == UINT32_MAX) return i;
        size_t m;
        const char *t = vocab_str(v, id, &m);
        if (m == n && !memcmp(s, t, n)) return i;
        i = (i + 1) & v->mask;
    }
}

static uint32_t vocab_find(const vocab *v, const char *s, size_t n)
{
    return v->slots[vocab_slot(v, s, n)];
}

/* Append the next id's string (parts concatenated); a string seen before
 * now maps to this later id. The blob was sized for all strings up front. */
static void vocab_add(vocab *v, const char *a, size_t na, const char *b, size_t nb)
{
    uint32_t id = (uint32_t)v->count++;
    memcpy(v->blob + v->used, a, na);
    memcpy(v->blob + v->used + na, b, nb);
    v->used += na + nb;
    v->off[id + 1] = v->used;
    v->slots[vocab_slot(v, v->blob + v->off[id], na + nb)] = id;
}

/* ---- the merges text -------------------------------------------------- */

typedef struct {
    const char *a, *b;
    size_t na, nb;
} merge_line;

static int parse_merges(const char *text, size_t len, merge_line **out, size_t *count,
                        fmt_error *err)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (len && text[len - 1] != '\n') lines++;
    if (lines > CLIP_BPE_MAX_MERGES)
        return fmt_fail(err, "clip merges: %zu lines, at most %u", lines, CLIP_BPE_MAX_MERGES);
    merge_line *m = malloc((lines ? lines : 1) * sizeof *m);
    if (!m) return fmt_fail(err, "clip merges: out of memory");
    size_t n = 0, pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        const char *sp = memchr(line, ' ', ll);
        int bad = ll > CLIP_BPE_MAX_LINE || !sp || sp == line || sp == line + ll - 1;
        for (size_t k = 0; k < ll && !bad; k++)
            bad = (unsigned char)line[k] < '!' && line + k != sp;
        if (bad) {
            free(m);
            return fmt_fail(err, "clip merges: line %zu is not \"first second\"", n + 1);
        }
        m[n].a = line, m[n].na = (size_t)(sp - line);
        m[n].b = sp + 1, m[n].nb = ll - m[n].na - 1;
        n++;
        pos += ll + 1;
    }
    *out = m;
    *count = n;
    return 0;
}

/* ---- the merge table ---------------------------------------------------- */

static size_t pair_slot(const clip_bpe *b, uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & b->mask;
    while (b->keys[i] != UINT64_MAX && b->keys[i] != key) i = (i + 1) & b->mask;
    return i;
}

/* The rank of the pair (l, r), UINT32_MAX when it is no merge. */
static uint32_t pair_rank(const clip_bpe *b, uint32_t l, uint32_t r, uint32_t *result)
{
    size_t i = pair_slot(b, (uint64_t)l << 32 | r);
    if (b->keys[i] == UINT64_MAX) return UINT32_MAX;
    *result = b->result[i];
    return b->rank[i];
}

static int build_vocab(vocab *v, const merge_line *m, size_t n)
{
    size_t blob = 512 * 6 + 64;
    for (size_t i = 0; i < n; i++) blob += m[i].na + m[i].nb;
    if (vocab_init(v, 512 + n + 2, blob)) return -1;
    /* bytes_to_unicode(): printable bytes first, in byte order, then the rest. */
    unsigned char order[256];
    size_t k = 0;
    for (unsigned b = 0; b < 256; b++)
        if (clip_bpe_byte_char((unsigned char)b) == b) order[k++] = (unsigned char)b;
    for (unsigned b = 0; b < 256; b++)
        if (clip_bpe_byte_char((unsigned char)b) != b) order[k++] = (unsigned char)b;
    for (int end = 0; end < 2; end++) {
        for (size_t i = 0; i < 256; i++) {
            unsigned char u[4];
            size_t nu = utf8_encode(clip_bpe_byte_char(order[i]), u);
            vocab_add(v, (const char *)u, nu, "</w>", end ? 4 : 0);
        }
    }
    for (size_t i = 0; i < n; i++) vocab_add(v, m[i].a, m[i].na, m[i].b, m[i].nb);
    vocab_add(v, "<|startoftext|>", 15, "", 0);
    vocab_add(v, "<|endoftext|>", 13, "", 0);
    return 0;
}

static int build_pairs(clip_bpe *b, const vocab *v, const merge_line *m, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    b->keys = malloc(cap * sizeof *b->keys);
    b->rank = malloc(cap * sizeof *b->rank);
    b->result = malloc(cap * sizeof *b->result);
    if (!b->keys || !b->rank || !b->result) return -1;
    memset(b->keys, 0xFF, cap * sizeof *b->keys);
    b->mask = cap - 1;
    for (size_t r = 0; r < n; r++) {
        uint32_t l = vocab_find(v, m[r].a, m[r].na), rr = vocab_find(v, m[r].b, m[r].nb);
        if (l == UINT32_MAX || rr == UINT32_MAX) continue; /* can never be adjacent symbols */
        /* the joined string: the id of its last occurrence */
        size_t slot_len = m[r].na + m[r].nb;
        char stack[2 * CLIP_BPE_MAX_LINE];
        memcpy(stack, m[r].a, m[r].na);
        memcpy(stack + m[r].na, m[r].b, m[r].nb);
        uint32_t res = vocab_find(v, stack, slot_len);
        size_t i = pair_slot(b, (uint64_t)l << 32 | rr);
        b->keys[i] = (uint64_t)l << 32 | rr;
        b->rank[i] = (uint32_t)r;
        b->result[i] = res;
    }
    return 0;
}

int clip_bpe_build(clip_bpe *b, const char *text, size_t len, fmt_error *err)
{
    memset(b, 0, sizeof *b);
    merge_line *m = NULL;
    size_t n = 0;
    if (parse_merges(text, len, &m, &n, err)) return -1;
    vocab v = {0};
    int rc = -1;
    if (build_vocab(&v, m, n) || build_pairs(b, &v, m, n)) {
        fmt_fail(err, "clip merges: out of memory");
        goto done;
    }
    for (unsigned k = 0; k < 256; k++) {
        unsigned char u[8];
        size_t nu = utf8_encode(clip_bpe_byte_char((unsigned char)k), u);
        b->byte_id[k] = vocab_find(&v, (const char *)u, nu);
        memcpy(u + nu, "</w>", 4);
        b->byte_end_id[k] = vocab_find(&v, (const char *)u, nu + 4);
    }
    b->sot = vocab_find(&v, "<|startoftext|>", 15);
    b->eot = vocab_find(&v, "<|endoftext|>", 13);
    b->merges = n;
    b->vocab_size = v.count;
    rc = 0;
done:
    vocab_free(&v);
    free(m);
    if (rc) clip_bpe_free(b);
    return rc;
}

void clip_bpe_free(clip_bpe *b)
{
    free(b->keys);
    free(b->rank);
    free(b->result);
    b->keys = NULL, b->rank = b->result = NULL;
}

/* ---- the merge loop ---------------------------------------------------- */

void clip_bpe_work_free(clip_bpe_work *w)
{
    free(w->id);
    free(w->prev);
    free(w->next);
    free(w->heap);
    free(w->pending);
    memset(w, 0, sizeof *w);
}

static int work_reserve(clip_bpe_work *w, size_t n)
{
    if (n <= w->cap) return 0;
    if (n > UINT32_MAX / 4) return -1;
    clip_bpe_work_free(w);
    w->id = malloc(n * sizeof *w->id);
    w->prev = malloc(n * sizeof *w->prev);
    w->next = malloc(n * sizeof *w->next);
    w->heap = malloc(3 * n * sizeof *w->heap);
    w->pending = malloc(2 * n * sizeof *w->pending);
    if (!w->id || !w->prev || !w->next || !w->heap || !w->pending) {
        clip_bpe_work_free(w);
        return -1;
    }
    w->cap = n;
    return 0;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t key)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > key) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = key;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= last) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

#define DEAD UINT32_MAX
#define NONE UINT32_MAX

/* A heap entry (rank << 32 | left position) for the pair starting at p. */
static int pair_entry(const clip_bpe *b, const clip_bpe_work *w, uint32_t p, uint64_t *entry)
{
    uint32_t q = w->next[p], res;
    if (q == NONE) return 0;
    uint32_t r = pair_rank(b, w->id[p], w->id[q], &res);
    if (r == UINT32_MAX) return 0;
    *entry = (uint64_t)r << 32 | p;
    return 1;
}

/* Merge p with its right neighbour if the entry still describes them. */
static int try_merge(const clip_bpe *b, clip_bpe_work *w, uint64_t entry, size_t *npend)
{
    uint32_t p = (uint32_t)entry, r = (uint32_t)(entry >> 32), res;
    if (w->id[p] == DEAD || w->next[p] == NONE) return 0;
    uint32_t q = w->next[p];
    if (pair_rank(b, w->id[p], w->id[q], &res) != r) return 0;
    w->id[p] = res;
    w->id[q] = DEAD;
    w->next[p] = w->next[q];
    if (w->next[q] != NONE) w->prev[w->next[q]] = p;
    uint64_t e;
    if (w->prev[p] != NONE && pair_entry(b, w, w->prev[p], &e)) w->pending[(*npend)++] = e;
    if (pair_entry(b, w, p, &e)) w->pending[(*npend)++] = e;
    return 1;
}

int clip_bpe_word(const clip_bpe *b, const unsigned char *bytes, size_t n, clip_bpe_work *w,
                  int *out, size_t *count, size_t room)
{
    if (n == 0) return 0;
    if (work_reserve(w, n)) return -1;
    for (size_t i = 0; i < n; i++) {
        w->id[i] = i + 1 < n ? b->byte_id[bytes[i]] : b->byte_end_id[bytes[i]];
        w->prev[i] = i ? (uint32_t)i - 1 : NONE;
        w->next[i] = i + 1 < n ? (uint32_t)i + 1 : NONE;
    }
    size_t nheap = 0;
    for (uint32_t i = 0; i + 1 < n; i++) {
        uint64_t e;
        if (pair_entry(b, w, i, &e)) heap_push(w->heap, &nheap, e);
    }
    /* One round per rank: every occurrence of that pair, left to right; pairs
     * it creates join the heap after the round (as simple_tokenizer re-reads
     * the pairs only after a whole pass). */
    while (nheap) {
        uint64_t e = heap_pop(w->heap, &nheap);
        size_t npend = 0;
        if (!try_merge(b, w, e, &npend)) continue;
        while (nheap && w->heap[0] >> 32 == e >> 32) try_merge(b, w, heap_pop(w->heap, &nheap), &npend);
        for (size_t i = 0; i < npend; i++) heap_push(w->heap, &nheap, w->pending[i]);
    }
    for (uint32_t p = 0; p != NONE && *count < room; p = w->next[p]) out[(*count)++] = (int)w->id[p];
    return 0;
}
