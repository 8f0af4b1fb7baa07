/* Where engine-run looks for the weights, in order (the first folder that
 * has the file wins):
 *   1. --weights DIR                 (given: only there)
 *   2. $UNPROMPT_WEIGHTS
 *   3. ./weights
 *   4. $XDG_DATA_HOME/unprompt       (default ~/.local/share/unprompt)
 *   5. PREFIX/share/unprompt         (PREFIX: the folder above the one
 *                                     engine-run runs from, as `make install`
 *                                     lays it out) */
#ifndef UNPROMPT_TOOLS_WEIGHTS_DIRS_H
#define UNPROMPT_TOOLS_WEIGHTS_DIRS_H

#include <stddef.h>

#define WEIGHTS_MAX_DIRS 5

typedef struct {
    char *dir[WEIGHTS_MAX_DIRS];  /* malloc'd */
    const char *why[WEIGHTS_MAX_DIRS]; /* "--weights", "$UNPROMPT_WEIGHTS", … */
    size_t n;
} weights_dirs;

/* The folders to look in; `given`: --weights, or NULL. */
void weights_dirs_get(weights_dirs *d, const char *given);
void weights_dirs_free(weights_dirs *d);
/* DIR/name in the first folder that has it, else in the first folder
 * (where it would be expected; malloc'd, NULL when out of memory). */
char *weights_dirs_find(const weights_dirs *d, const char *name);

#endif
