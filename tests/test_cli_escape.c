/* engine-run's stderr and text output never pass a file's control
 * characters to the terminal: tools/engine-run/escape.c, and msg.c, through
 * which every message goes (issue #24 item 6). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/test.h"
#include "tools/engine-run/escape.h"
#include "tools/engine-run/msg.h"

/* What f received, NUL-terminated (malloc'd). */
static char *contents(FILE *f)
{
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = '\0';
    return s;
}

static char *escaped(const char *in, int json)
{
    FILE *f = tmpfile();
    CHECK(f && fput_escaped(f, in, json) == 0);
    char *s = f ? contents(f) : NULL;
    if (f) fclose(f);
    return s;
}

static void test_each_class(void)
{
    char *s = escaped("a\x1b[2J\x07\tb\nc\r\x7f\xc2\x9b" "d\xc3\xa9", 0);
    CHECK_STR(s, "a\\x1b[2J\\x07\tb\nc\\x0d\\x7f\\xc2\\x9bd\xc3\xa9"); /* tab, newline, é kept */
    free(s);
    s = escaped("\x1b\x7f\xc2\x85", 1);
    CHECK_STR(s, "\\u001b\\u007f\\u0085");
    free(s);
    /* bidirectional override, line separator, an isolate; a stray C1 byte
     * and a cut UTF-8 character before it; é and an emoji kept */
    s = escaped("x\xe2\x80\xae!\xe2\x80\xa8\xe2\x81\xa6|\x9b[2J\xe2\x9b\xc3\xa9\xf0\x9f\x98\x80", 0);
    CHECK_STR(s, "x\\xe2\\x80\\xae!\\xe2\\x80\\xa8\\xe2\\x81\\xa6|\\x9b[2J\xe2\\x9b\xc3\xa9\xf0\x9f\x98\x80");
    free(s);
    s = escaped("\xe2\x80\xae\x9b", 1);
    CHECK_STR(s, "\\u202e\\u009b");
    free(s);
    s = escaped("back\\slash \\x1b", 0); /* backslashes are left alone */
    CHECK_STR(s, "back\\slash \\x1b");
    free(s);
}

static int printf_escaped(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfprintf_escaped(f, fmt, ap);
    va_end(ap);
    return rc;
}

/* Past the 1 KiB first try, the message is formatted again in full. */
static void test_long_messages(void)
{
    size_t n = 5000;
    char *path = malloc(n + 1), *want = malloc(4 * n + 16);
    CHECK(path && want);
    if (!path || !want) return;
    for (size_t i = 0; i < n; i++) path[i] = i % 100 == 99 ? '\x1b' : 'p';
    path[n] = '\0';
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)sprintf(want + k, "%s", path[i] == '\x1b' ? "\\x1b" : "p");
    strcpy(want + k, ": x");
    FILE *f = tmpfile();
    CHECK(f && printf_escaped(f, "%s: %c", path, 'x') == 0);
    char *got = f ? contents(f) : NULL;
    CHECK(got && strlen(got) == strlen(want) && !strcmp(got, want));
    free(got), free(path), free(want);
    if (f) fclose(f);
}

/* msg_file escapes both the file name and the message. */
static void test_messages_on_stderr(void)
{
    FILE *f = tmpfile();
    int saved = dup(2);
    CHECK(f && saved >= 0);
    if (!f || saved < 0) return;
    fflush(stderr);
    dup2(fileno(f), 2);
    msg_set_command("booru");
    msg_file("bad\x1b]0;x\x07.png", "warning: %s", "text\xc2\x9b\x1b[31m");
    msg("run \x07");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(f, 0, SEEK_END);
    char *s = contents(f);
    CHECK_STR(s, "engine-run booru: bad\\x1b]0;x\\x07.png: warning: text\\xc2\\x9b\\x1b[31m\nengine-run booru: run \\x07\n");
    free(s);
    fclose(f);
}

int main(void)
{
    RUN(test_each_class);
    RUN(test_long_messages);
    RUN(test_messages_on_stderr);
    return test_summary("cli_escape");
}
