#include "tools/engine-run/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic.h"
#include "base/buf.h"
#include "format/json.h"
#include "tools/engine-run/escape.h"
#include "tools/engine-run/msg.h"

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
    FILE *f = o->stream ? o->stream : stdout;
    int rc = 0;
    progress_clear();
    if (o->several && !is_json && o->headers) {
        rc |= fputs("==> ", f) < 0 || fput_escaped(f, path, 0) || fputs(" <==\n", f) < 0;
        rc |= fput_escaped(f, text, 0) || fputs("\n\n", f) < 0;
    } else {
        if (o->several && !is_json) rc |= fput_escaped(f, path, 0) || fputs(": ", f) < 0;
        rc |= fput_escaped(f, text, is_json) || fputc('\n', f) == EOF;
    }
    return fflush(f) == 0 && !rc ? 0 : -1;
}

/* {"file": path, "error": why} (malloc'd), or NULL. */
static char *error_record(const char *path, const char *why)
{
    buf b;
    fmt_error err;
    buf_init(&b, 1 << 20);
    if (buf_append_str(&b, "{\"file\": ", &err) || json_write_string(&b, path, strlen(path), &err) ||
        buf_append_str(&b, ", \"error\": ", &err) || json_write_string(&b, why, strlen(why), &err) ||
        buf_append_str(&b, "}", &err)) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

void output_json_error(const output_options *o, const char *path, const char *why)
{
    if (!o || !o->json) return;
    char *rec = error_record(path, why);
    if (rec) print_result(o, path, rec, 1);
    free(rec);
}

void output_error(const output_options *o, const char *path, const char *why)
{
    msg_file(path, "%s", why);
    output_json_error(o, path, why);
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
        msg_file(path, "out of memory");
        return -1;
    }
    struct stat st;
    fmt_error err;
    int rc = 1;
    if (is_an_input(o, path, dst)) {
        msg_file(path, "its sidecar %s would replace an input; not written", dst);
        rc = -1;
    } else if (o->overwrite || lstat(dst, &st) != 0) {
        rc = atomic_write_file(dst, write_line, (void *)text, &err) == 0 ? 0 : -1;
        if (rc) msg_file(path, "cannot write the sidecar: %s", err.msg);
    }
    free(dst);
    return rc;
}
