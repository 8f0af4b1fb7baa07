#include "tools/engine-run/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, char *err, size_t err_size)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int bad = write_all(fd, data, len) || fsync(fd);
    int saved = errno;
    if (close(fd)) bad = 1;
    if (!bad && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    if (!bad) saved = errno;
    snprintf(err, err_size, "%s", strerror(saved));
    unlink(tmp);
    free(tmp);
    return -1;
}

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

static int print_result(const output_options *o, const char *path, const char *text, int is_json)
{
    if (o->several && !is_json) printf("%s: %s\n", path, text);
    else printf("%s\n", text);
    return fflush(stdout) == 0 ? 0 : -1;
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
    int rc = 1;
    if (o->overwrite || stat(dst, &st) != 0) {
        size_t len = strlen(text);
        char *body = malloc(len + 2);
        char err[256];
        rc = -1;
        if (body) {
            memcpy(body, text, len);
            body[len] = '\n';
            if (write_file_atomic(dst, body, len + 1, err, sizeof err) == 0) rc = 0;
            else fprintf(stderr, "engine-run: %s: cannot write %s: %s\n", path, dst, err);
            free(body);
        }
    }
    free(dst);
    return rc;
}
