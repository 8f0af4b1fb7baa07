#include "tools/engine-run/inputs.h"
#include "format/image_format.h" /* the one table of formats: the scan takes its extensions */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INPUT_MAX_BYTES ((size_t)4 << 30) /* 4 GiB: no image is larger */
#define DIR_MAX_DEPTH 64

static int push(input_list *l, const char *path)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->paths, cap * sizeof *p);
        if (!p) return -1;
        l->paths = p;
        l->cap = cap;
    }
    char *s = strdup(path);
    if (!s) return -1;
    l->paths[l->count++] = s;
    return 0;
}

static void report(input_list *l, const char *path, const char *why)
{
    fprintf(stderr, "engine-run: %s: %s\n", path, why);
    l->errors++;
}

/* The extensions a directory's entries are taken by. */
int inputs_is_image_name(const char *name)
{
    return image_format_by_name(name) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory named on the command line that yields no image: said, not an
 * error (nothing failed), so a run over it does not look like a success
 * that did nothing. */
static void empty_dir(const char *dir, size_t subdirs_skipped)
{
    if (subdirs_skipped) {
        fprintf(stderr, "engine-run: %s: no images here; -r would look in its %zu subdirector%s\n", dir,
                subdirs_skipped, subdirs_skipped == 1 ? "y" : "ies");
        return;
    }
    fprintf(stderr, "engine-run: %s: no images (", dir);
    const image_format *f;
    for (size_t i = 0; (f = image_format_at(i)) != NULL; i++)
        for (const char *const *e = f->extensions; *e; e++)
            fprintf(stderr, "%s%s", i || e != f->extensions ? " " : "", *e);
    fprintf(stderr, ")\n");
}

static void add_dir(input_list *l, const char *dir, int recursive, int depth)
{
    if (depth > DIR_MAX_DEPTH) {
        report(l, dir, "directories nested too deeply");
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        report(l, dir, strerror(errno));
        return;
    }
    input_list names = {0};
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        if (push(&names, ent->d_name)) break;
    }
    closedir(d);
    if (names.count) qsort(names.paths, names.count, sizeof *names.paths, cmp_str);
    size_t dlen = strlen(dir), before = l->count, subdirs = 0;
    int slash = dlen && dir[dlen - 1] == '/';
    for (size_t i = 0; i < names.count; i++) {
        size_t n = dlen + strlen(names.paths[i]) + 2;
        char *path = malloc(n);
        if (!path) break;
        snprintf(path, n, "%s%s%s", dir, slash ? "" : "/", names.paths[i]);
        int image = inputs_is_image_name(names.paths[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            if (image) report(l, path, strerror(errno)); /* a dangling link, say: not silently left out */
        } else if (S_ISDIR(st.st_mode)) {
            subdirs++;
            if (recursive) add_dir(l, path, recursive, depth + 1);
        } else if (S_ISREG(st.st_mode) && image) {
            push(l, path);
        }
        free(path);
    }
    inputs_free(&names);
    if (depth == 0 && l->count == before) empty_dir(dir, recursive ? 0 : subdirs);
}

void inputs_add(input_list *l, const char *arg, int recursive)
{
    if (!strcmp(arg, "-")) {
        push(l, "-");
        return;
    }
    struct stat st;
    if (stat(arg, &st) != 0) {
        report(l, arg, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) add_dir(l, arg, recursive, 0);
    else if (push(l, arg)) report(l, arg, "out of memory");
}

int inputs_add_list(input_list *l, const char *list_path, int recursive)
{
    FILE *f = strcmp(list_path, "-") ? fopen(list_path, "r") : stdin;
    if (!f) {
        report(l, list_path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n > 0) inputs_add(l, line, recursive);
    }
    free(line);
    if (f != stdin) fclose(f);
    return 0;
}

void inputs_free(input_list *l)
{
    for (size_t i = 0; i < l->count; i++) free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

static int read_stream(int fd, input_bytes *b, char *err, size_t err_size)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    for (;;) {
        if (!p) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, err_size, "%s", strerror(errno));
            free(p);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == cap) {
            if (cap >= INPUT_MAX_BYTES) {
                snprintf(err, err_size, "input larger than %zu bytes", INPUT_MAX_BYTES);
                free(p);
                return -1;
            }
            uint8_t *q = realloc(p, cap * 2);
            if (!q) free(p);
            p = q;
            cap *= 2;
        }
    }
    b->heap_ = p;
    b->data = p;
    b->len = n;
    return 0;
}

int input_open(const char *path, input_bytes *b, char *err, size_t err_size)
{
    memset(b, 0, sizeof *b);
    if (!strcmp(path, "-")) return read_stream(0, b, err, err_size);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, err_size, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "is a directory");
    } else if (!S_ISREG(st.st_mode)) {
        rc = read_stream(fd, b, err, err_size);
    } else if ((uint64_t)st.st_size > INPUT_MAX_BYTES) {
        snprintf(err, err_size, "file larger than %zu bytes", INPUT_MAX_BYTES);
    } else if (st.st_size == 0) {
        b->data = (const uint8_t *)"";
        rc = 0;
    } else {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = read_stream(fd, b, err, err_size);
        } else {
            b->map_ = m;
            b->data = m;
            b->len = (size_t)st.st_size;
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

void input_close(input_bytes *b)
{
    if (b->map_) munmap(b->map_, b->len);
    free(b->heap_);
    memset(b, 0, sizeof *b);
}
