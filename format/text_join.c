/* Texts joined one per line, each once. See text_join.h. */
#define _GNU_SOURCE /* memmem (glibc declares it only here; the BSDs and macOS always) */
#include "format/text_join.h"

#include <string.h>

int text_join_init(text_join *j, size_t limit, fmt_error *err)
{
    buf_init(&j->text, limit);
    j->scan_left = TEXT_JOIN_SCAN_BUDGET;
    return hash_index_init(&j->seen, 0, err);
}

void text_join_free(text_join *j)
{
    buf_free(&j->text);
    hash_index_free(&j->seen);
}

/* Does the text hold s at `at` as whole lines? */
static int whole_lines_at(const buf *t, size_t at, size_t n)
{
    return (at == 0 || t->data[at - 1] == '\n') && (at + n == t->len || t->data[at + n] == '\n');
}

/* A text added or found before, by hash: its offset, or SIZE_MAX. */
static size_t seen_at(const text_join *j, uint64_t h, const char *s, size_t n)
{
    hash_probe p = hash_index_probe(&j->seen, h);
    size_t at;
    while (hash_probe_next(&p, &at))
        if (at + n <= j->text.len && !memcmp(j->text.data + at, s, n) && whole_lines_at(&j->text, at, n))
            return at;
    return SIZE_MAX;
}

/* Search the text for s as whole lines, reading at most scan_left bytes:
 * each memmem call is made only when the budget covers all it may read.
 * Its offset, or SIZE_MAX (absent, or the budget ran out). */
static size_t search(text_join *j, const char *s, size_t n)
{
    const buf *t = &j->text;
    size_t pos = 0;
    while (pos + n <= t->len && t->len - pos + n <= j->scan_left) {
        const char *hit = memmem(t->data + pos, t->len - pos, s, n);
        size_t at = hit ? (size_t)(hit - t->data) : t->len;
        j->scan_left -= (hit ? at - pos : t->len - pos) + n;
        if (!hit) return SIZE_MAX;
        if (whole_lines_at(t, at, n)) return at;
        pos = at + 1;
    }
    return SIZE_MAX;
}

int text_join_add(text_join *j, const char *s, size_t n, fmt_error *err)
{
    if (n == 0) return 0;
    uint64_t h = hash_index_key(&j->seen, s, n);
    if (seen_at(j, h, s, n) != SIZE_MAX) return 0;
    size_t at = search(j, s, n);
    if (at == SIZE_MAX) {
        if (j->text.len && buf_append_char(&j->text, '\n', err)) return -1;
        at = j->text.len;
        if (buf_append(&j->text, s, n, err)) return -1;
    }
    return hash_index_add(&j->seen, h, at, err);
}
