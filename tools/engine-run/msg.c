/* Messages and the progress line; see msg.h. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tools/engine-run/msg.h"
#include "tools/engine-run/escape.h"

static const char *msg_cmd;
static volatile sig_atomic_t progress_shown; /* read by batch.c's signal handler */
static char prefix_text[64] = "engine-run: "; /* for signal handlers: built once, only read there */
static size_t prefix_len = 12;

void msg_set_command(const char *command)
{
    msg_cmd = command;
    int n = snprintf(prefix_text, sizeof prefix_text, "engine-run %s: ", command ? command : "");
    if (!command) n = snprintf(prefix_text, sizeof prefix_text, "engine-run: ");
    prefix_len = n > 0 && (size_t)n < sizeof prefix_text ? (size_t)n : 0;
}

const char *msg_prefix(size_t *len)
{
    *len = prefix_len;
    return prefix_text;
}
const char *msg_command(void) { return msg_cmd; }

static void prefix(void)
{
    progress_clear();
    fflush(stdout); /* results written so far come first on a shared terminal */
    if (msg_cmd) fprintf(stderr, "engine-run %s: ", msg_cmd);
    else fputs("engine-run: ", stderr);
}

void msg(const char *fmt, ...)
{
    va_list ap;
    prefix();
    va_start(ap, fmt);
    vfprintf_escaped(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void msg_file(const char *file, const char *fmt, ...)
{
    va_list ap;
    prefix();
    fput_escaped(stderr, file, 0);
    fputs(": ", stderr);
    va_start(ap, fmt);
    vfprintf_escaped(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void msg_more(const char *fmt, ...)
{
    va_list ap;
    progress_clear();
    va_start(ap, fmt);
    vfprintf_escaped(stderr, fmt, ap);
    va_end(ap);
}

void progress_draw(const char *line)
{
    fflush(stdout);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    progress_shown = 1;
}

void progress_clear(void)
{
    if (!progress_shown) return;
    progress_shown = 0;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

int progress_on_screen(void) { return progress_shown; }
