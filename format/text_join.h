/* Texts joined one per line, each kept once: a text the joined text already
 * holds as whole lines (the same text, or a run of lines of earlier ones)
 * is not added again. Used to merge the prompts a graph reaches by several
 * paths.
 *
 * Cost: a text equal to one added or found before is recognised by its
 * hash (seeded, so a file cannot make texts collide). Any other text is
 * searched for in the joined text, exactly, until the searches have read
 * TEXT_JOIN_SCAN_BUDGET bytes in all; past that only equal texts are
 * recognised. So adding texts of n bytes in all costs O(n) plus at most the
 * budget, and the result is the exact one whenever the searches fit in it
 * (any graph a person drew). */
#ifndef UNPROMPT_FORMAT_TEXT_JOIN_H
#define UNPROMPT_FORMAT_TEXT_JOIN_H

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/hash.h"

#define TEXT_JOIN_SCAN_BUDGET ((size_t)64 << 20)

typedef struct {
    buf text;          /* the texts joined by '\n' (NUL-terminated once non-empty) */
    hash_index seen;   /* hash of a text → offset where `text` holds it as whole lines */
    size_t scan_left;  /* bytes the exact searches may still read */
} text_join;

/* `limit`: the most bytes the joined text may hold (0: no limit). */
int text_join_init(text_join *j, size_t limit, fmt_error *err);
void text_join_free(text_join *j);
/* Append s (n bytes) on a line of its own unless the text already holds it;
 * an empty s adds nothing. 0, or -1 with err set (limit, out of memory). */
int text_join_add(text_join *j, const char *s, size_t n, fmt_error *err);

#endif
