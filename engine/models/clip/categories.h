/* The phrase lists CLIP ranks an image against (modules/interrogate.py):
 * every *.txt file of a folder is a category named by its stem; its lines,
 * stripped of surrounding whitespace (blank lines kept, as the WebUI keeps
 * them), are the phrases; only the first `dict_limit` count (0: all).
 *
 * Top N: a list named "name.topN.txt" contributes its N best matches (the
 * SPEC's reading; the WebUI's own pattern `\.top(\d+)\.` never matches a
 * stem that ends in the digits, so there it would contribute 1). Order:
 * by file name (the WebUI takes the directory's order, which varies). */
#ifndef UNPROMPT_ENGINE_MODELS_CLIP_CATEGORIES_H
#define UNPROMPT_ENGINE_MODELS_CLIP_CATEGORIES_H

#include <stddef.h>

#include "base/error.h"

#define CATEGORIES_MAX_FILES 256
#define CATEGORIES_MAX_FILE_BYTES (64u << 20)

typedef struct {
    char *name;       /* file stem, e.g. "artists" or "flavors.top3" */
    int top;          /* matches it contributes (≥ 1) */
    char **items;     /* phrases, NUL-terminated, pointing into text */
    size_t n_items;
    char sha256[65];  /* of the file's bytes, for the label cache */
    char *text;
} category;

typedef struct {
    category *cats;
    size_t n;
} category_set;

/* Read every *.txt of dir except the stems listed in skip (comma separated,
 * spaces around names ignored; NULL: none). An empty set is an error. */
int categories_load(category_set *s, const char *dir, size_t dict_limit, const char *skip, fmt_error *err);
/* Lines of one list's bytes, as the WebUI reads them; for tests. */
int categories_parse(category *c, const char *bytes, size_t len, size_t dict_limit, fmt_error *err);
void categories_free(category_set *s);
/* The next name of a comma-separated list (spaces around names ignored):
 * its start, its length in *len, *p moved past it; NULL at the end. */
const char *categories_next_name(const char **p, size_t *len);
/* 0 when every name in skip is a list of dir (a *.txt file's stem); -1
 * naming the first that is not. */
int categories_check_skip(const char *dir, const char *skip, fmt_error *err);

#endif
