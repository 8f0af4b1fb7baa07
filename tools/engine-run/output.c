#include "tools/engine-run/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic.h"

char *sidecar_path(const char *image_path, const char *ext)
{
    const char *slash = strrchr(image_path, '/');
    const char *dot = strrchr(image_path, '.');
    size_t stem = (dot && (!slash || dot > slash + 1)) ? (size_t)(dot - image_path) : strlen(image_path);
    size_t n = stem + strlen(ext) + 2;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%.*s%s%s", (int)stem, image_path, ext[0] == '.' ? "" : ".", ext);
    return p;
}

const char *sidecar_ext_problem(const char *ext)
{
    char name[64];
    if (!ext[0] || !strcmp(ext, ".")) return "is empty";
    if (strchr(ext, '/')) return "holds a '/' (an extension names no folder)";
    if ((size_t)snprintf(name, sizeof name, "x%s%s", ext[0] == '.' ? "" : ".", ext) < sizeof name &&
        inputs_is_image_name(name))
        return "is an image's (sidecars would replace images)";
    return NULL;
}

/* Bytes that must not reach a terminal as they are: 1 for one byte (C0
 * but tab and newline, DEL), 2 for a C1 character's UTF-8 pair, else 0. */
static size_t control_len(const unsigned char *p)
{
    if ((p[0] < 0x20 && p[0] != '\t' && p[0] != '\n') || p[0] == 0x7f) return 1;
    return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2 : 0;
}

int fput_escaped(FILE *f, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    while (*p && rc >= 0) {
        size_t run = 0, n;
        while (p[run] && !control_len(p + run)) run++;
        if (run && fwrite(p, 1, run, f) != run) return -1;
        p += run;
        if (!*p) break;
        n = control_len(p);
        if (json) rc = fprintf(f, "\\u00%02x", n == 2 ? p[1] : p[0]);
        else if (n == 2) rc = fprintf(f, "\\x%02x\\x%02x", p[0], p[1]);
        else rc = fprintf(f, "\\x%02x", p[0]);
        p += n;
    }
    return rc < 0 ? -1 : 0;
}

static int print_result(const output_options *o, const char *path, const char *text, int is_json)
{
    int rc = 0;
    if (o->several && !is_json && o->headers) {
        rc |= fputs("==> ", stdout) < 0 || fput_escaped(stdout, path, 0) || fputs(" <==\n", stdout) < 0;
        rc |= fput_escaped(stdout, text, 0) || fputs("\n\n", stdout) < 0;
    } else {
        if (o->several && !is_json) rc |= fput_escaped(stdout, path, 0) || fputs(": ", stdout) < 0;
        rc |= fput_escaped(stdout, text, is_json) || putchar('\n') == EOF;
    }
    return fflush(stdout) == 0 && !rc ? 0 : -1;
}

/* Is the sidecar path `dst` the image itself or a named input (by the
 * name's identity or what it links to)? */
static int is_an_input(const output_options *o, const char *path, const char *dst)
{
    if (!strcmp(dst, path)) return 1;
    if (!o->named) return 0;
    struct stat st;
    if (lstat(dst, &st) == 0 && file_id_set_has(o->named, &st)) return 1;
    return stat(dst, &st) == 0 && file_id_set_has(o->named, &st);
}

/* The text and a newline. */
static int write_line(FILE *out, void *user, fmt_error *err)
{
    const char *text = user;
    size_t len = strlen(text);
    if (fwrite(text, 1, len, out) != len || putc('\n', out) == EOF)
        return fmt_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

int output_result(const output_options *o, const char *path, const char *text, int is_json)
{
    if (!o->sidecar_ext || !strcmp(path, "-")) return print_result(o, path, text, is_json);
    char *dst = sidecar_path(path, o->sidecar_ext);
    if (!dst) {
        fprintf(stderr, "engine-run: %s: out of memory\n", path);
        return -1;
    }
    struct stat st;
    fmt_error err;
    int rc = 1;
    if (is_an_input(o, path, dst)) {
        fprintf(stderr, "engine-run: %s: its sidecar %s would replace an input; not written\n", path, dst);
        rc = -1;
    } else if (o->overwrite || lstat(dst, &st) != 0) {
        rc = atomic_write_file(dst, write_line, (void *)text, &err) == 0 ? 0 : -1;
        if (rc) fprintf(stderr, "engine-run: %s: cannot write the sidecar: %s\n", path, err.msg);
    }
    free(dst);
    return rc;
}
