/* Everything engine-run says on stderr goes through here, so that
 *  - every message has one prefix: "engine-run CMD: FILE: reason" (about a
 *    file) or "engine-run CMD: reason" (about the run);
 *  - the progress line (a terminal only) is erased before any other line is
 *    written, on stderr or stdout, and leaves nothing behind. */
#ifndef UNPROMPT_TOOLS_MSG_H
#define UNPROMPT_TOOLS_MSG_H

#include <stdio.h>

/* The command messages name ("info"); NULL: none ("engine-run: …"). */
void msg_set_command(const char *command);
const char *msg_command(void);
/* "engine-run CMD: " and its length, for a signal handler's write(2). */
const char *msg_prefix(size_t *len);

/* "engine-run CMD: reason\n". */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "engine-run CMD: FILE: reason\n". */
void msg_file(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A continuation line ("  hint\n"), no prefix. */
void msg_more(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The progress line: drawn in place ("\r…" then erase to the end of the
 * line) and erased again by progress_clear, which every writer calls first.
 * Only ever called when stderr is a terminal. */
void progress_draw(const char *line);
void progress_clear(void);
/* Is the line on screen now? (for the signal handler: async-safe read) */
int progress_on_screen(void);

#endif
