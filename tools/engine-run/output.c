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

static int print_result(const output_options *o, const char *path, const char *text, int is_json)
{
    if (o->several && !is_json) printf("%s: %s\n", path, text);
    else printf("%s\n", text);
    return fflush(stdout) == 0 ? 0 : -1;
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
