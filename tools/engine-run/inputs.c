#include "tools/engine-run/inputs.h"
#include "tools/engine-run/msg.h"
#include "format/image_format.h" /* the one table of formats: the scan takes its extensions */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define DIR_MAX_DEPTH 64

/* ---- sets of files by identity ---------------------------------------------- */

static file_id id_of(const struct stat *st)
{
    file_id id = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
    return id;
}

static uint64_t id_hash(const file_id_set *s, file_id id)
{
    uint64_t key[2] = {id.dev, id.ino};
    return hash_index_key(&s->index, key, sizeof key);
}

int file_id_set_has(const file_id_set *s, const struct stat *st)
{
    if (!s->count) return 0;
    file_id id = id_of(st);
    hash_probe p = hash_index_probe(&s->index, id_hash(s, id));
    size_t v;
    while (hash_probe_next(&p, &v))
        if (s->ids[v].dev == id.dev && s->ids[v].ino == id.ino) return 1;
    return 0;
}

int file_id_set_add(file_id_set *s, const struct stat *st)
{
    if (!s->ids && hash_index_init(&s->index, 0, NULL)) return -1;
    if (file_id_set_has(s, st)) return 0;
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        file_id *ids = cap <= SIZE_MAX / sizeof *ids ? realloc(s->ids, cap * sizeof *ids) : NULL;
        if (!ids) return -1;
        s->ids = ids, s->cap = cap;
    }
    file_id id = id_of(st);
    if (hash_index_add(&s->index, id_hash(s, id), s->count, NULL)) return -1;
    s->ids[s->count++] = id;
    return 1;
}

void file_id_set_free(file_id_set *s)
{
    hash_index_free(&s->index);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

/* ---- the list ----------------------------------------------------------------- */

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

/* Remember a failure for the JSON records ("path", then "why"). */
static void remember_failure(input_list *l, const char *path, const char *why)
{
    if (l->n_failures == l->cap_failures) {
        size_t cap = l->cap_failures ? 2 * l->cap_failures : 16;
        char **f = cap <= SIZE_MAX / (2 * sizeof *f) ? realloc(l->failures, 2 * cap * sizeof *f) : NULL;
        if (!f) return;
        l->failures = f, l->cap_failures = cap;
    }
    char *p = strdup(path), *w = strdup(why);
    if (!p || !w) {
        free(p), free(w);
        return;
    }
    l->failures[2 * l->n_failures] = p, l->failures[2 * l->n_failures + 1] = w;
    l->n_failures++;
}

static void report(input_list *l, const char *path, const char *why)
{
    msg_file(path, "%s", why);
    remember_failure(l, path, why);
    l->errors++;
}

/* Why a file that is not a directory cannot be an input. */
static const char *not_regular(mode_t m)
{
    if (S_ISFIFO(m)) return "not a regular file (a FIFO); refused without reading it";
    if (S_ISCHR(m)) return "not a regular file (a character device); refused without reading it";
    if (S_ISBLK(m)) return "not a regular file (a block device); refused without reading it";
    if (S_ISSOCK(m)) return "not a regular file (a socket); refused";
    return "not a regular file; refused";
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
        msg_file(dir, "no images here; -r would look in its %zu subdirector%s", subdirs_skipped,
                 subdirs_skipped == 1 ? "y" : "ies");
        return;
    }
    char list[512];
    size_t n = 0;
    const image_format *f;
    list[0] = 0;
    for (size_t i = 0; (f = image_format_at(i)) != NULL; i++)
        for (const char *const *e = f->extensions; *e && n < sizeof list; e++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i || e != f->extensions ? " " : "", *e);
    msg_file(dir, "no images (%s)", list);
}

/* One argument's walk: the folders entered, and those reached again. */
typedef struct {
    file_id_set seen;
    char *first_repeat;
    size_t repeats;
} dir_walk;

/* The sorted names in `dir` (not "." and ".."); -1 if it cannot be read. */
static int list_dir(const char *dir, input_list *names)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        if (push(names, ent->d_name)) break;
    }
    closedir(d);
    if (names->count) qsort(names->paths, names->count, sizeof *names->paths, cmp_str);
    return 0;
}

static void add_dir(input_list *l, const char *dir, const struct stat *dst, int recursive, int depth, dir_walk *w);

/* One entry of a folder being walked; returns 1 if it is a folder. */
static int add_entry(input_list *l, const char *path, const char *name, int recursive, int depth, dir_walk *w)
{
    int image = inputs_is_image_name(name);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (image) report(l, path, strerror(errno)); /* a dangling link, say: not silently left out */
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        if (recursive) add_dir(l, path, &st, recursive, depth + 1, w);
        return 1;
    }
    if (!image) return 0;
    if (!S_ISREG(st.st_mode)) report(l, path, not_regular(st.st_mode));
    else if (push(l, path)) report(l, path, "out of memory");
    return 0;
}

static void add_dir(input_list *l, const char *dir, const struct stat *dst, int recursive, int depth, dir_walk *w)
{
    if (depth > DIR_MAX_DEPTH) {
        report(l, dir, "directories nested too deeply");
        return;
    }
    int fresh = file_id_set_add(&w->seen, dst);
    if (fresh < 0) {
        report(l, dir, "out of memory");
        return;
    }
    if (!fresh) { /* entered before: a loop, or a second way to the same folder */
        if (!w->repeats++) w->first_repeat = strdup(dir);
        return;
    }
    input_list names = {0};
    if (list_dir(dir, &names)) {
        report(l, dir, strerror(errno));
        return;
    }
    size_t dlen = strlen(dir), before = l->count, subdirs = 0;
    int slash = dlen && dir[dlen - 1] == '/';
    for (size_t i = 0; i < names.count; i++) {
        size_t n = dlen + strlen(names.paths[i]) + 2;
        char *path = malloc(n);
        if (!path) {
            report(l, dir, "out of memory");
            break;
        }
        snprintf(path, n, "%s%s%s", dir, slash ? "" : "/", names.paths[i]);
        subdirs += (size_t)add_entry(l, path, names.paths[i], recursive, depth, w);
        free(path);
    }
    inputs_free(&names);
    if (depth == 0 && l->count == before) empty_dir(dir, recursive ? 0 : subdirs);
}

static void walk(input_list *l, const char *dir, const struct stat *st, int recursive)
{
    dir_walk w;
    memset(&w, 0, sizeof w);
    add_dir(l, dir, st, recursive, 0, &w);
    if (w.repeats == 1)
        msg_file(w.first_repeat ? w.first_repeat : dir,
                 "a folder already walked (a link back into the tree, or a second link to it); skipped");
    else if (w.repeats > 1)
        msg_file(w.first_repeat ? w.first_repeat : dir,
                 "a folder already walked (a link back into the tree, or a second link to it); skipped, as %zu "
                 "more like it", w.repeats - 1);
    free(w.first_repeat);
    file_id_set_free(&w.seen);
}

/* A named input whose name is not an image's: remember what the name is
 * and what it reaches, so that no sidecar replaces it. */
static void remember_named(input_list *l, const char *arg, const struct stat *st)
{
    struct stat lst;
    if (inputs_is_image_name(arg)) return;
    int bad = file_id_set_add(&l->named, st) < 0;
    if (lstat(arg, &lst) == 0) bad |= file_id_set_add(&l->named, &lst) < 0;
    if (bad) report(l, arg, "out of memory");
}

void inputs_add(input_list *l, const char *arg, int recursive)
{
    if (!strcmp(arg, "-")) {
        if (push(l, "-")) report(l, arg, "out of memory");
        return;
    }
    struct stat st;
    if (stat(arg, &st) != 0) {
        report(l, arg, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        walk(l, arg, &st, recursive);
    } else if (!S_ISREG(st.st_mode)) {
        report(l, arg, not_regular(st.st_mode));
    } else if (push(l, arg)) {
        report(l, arg, "out of memory");
    } else {
        remember_named(l, arg, &st);
    }
}

/* One line of a list into buf (no newline): 1 a line, 0 end, -1 too long
 * (the rest of it is skipped). */
static int read_line(FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f)) return 0;
    size_t n = strlen(buf);
    if (n == cap - 1 && buf[n - 1] != '\n' && !feof(f)) {
        int c;
        while ((c = getc(f)) != EOF && c != '\n') {}
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
    return 1;
}

/* A line of spaces, tabs and carriage returns only (or none). */
static int is_blank(const char *line)
{
    return line[strspn(line, " \t\r\v\f")] == '\0';
}

int inputs_add_list(input_list *l, const char *list_path, int recursive)
{
    FILE *f = strcmp(list_path, "-") ? fopen(list_path, "r") : stdin;
    if (!f) {
        report(l, list_path, strerror(errno));
        return -1;
    }
    char line[PATH_MAX + 2];
    size_t number = 0;
    int r;
    while ((r = read_line(f, line, sizeof line)) != 0) {
        number++;
        if (r < 0) {
            msg_file(list_path, "line %zu: longer than %d bytes; skipped", number, PATH_MAX);
            l->errors++;
        } else if (!is_blank(line)) {
            inputs_add(l, line, recursive);
        }
    }
    if (f != stdin) fclose(f);
    return 0;
}

void inputs_free(input_list *l)
{
    for (size_t i = 0; i < l->count; i++) free(l->paths[i]);
    free(l->paths);
    file_id_set_free(&l->named);
    for (size_t i = 0; i < 2 * l->n_failures; i++) free(l->failures[i]);
    free(l->failures);
    memset(l, 0, sizeof *l);
}

/* ---- reading one input ------------------------------------------------------ */

/* Wait until a non-blocking descriptor has data; 0, or -1 (errno set). */
static int wait_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR) return -1;
    return 0;
}

/* Standard input, to its end or INPUT_MAX_BYTES. */
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
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_readable(fd) == 0) continue;
        if (r < 0) {
            snprintf(err, err_size, "%s", strerror(errno));
            free(p);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == cap) {
            if (cap > INPUT_MAX_BYTES) {
                snprintf(err, err_size, "input larger than %zu bytes; refused", INPUT_MAX_BYTES);
                free(p);
                return -1;
            }
            size_t next = cap * 2 > INPUT_MAX_BYTES ? INPUT_MAX_BYTES + 1 : cap * 2; /* one byte more tells */
            uint8_t *q = realloc(p, next);
            if (!q) free(p);
            p = q;
            cap = next;
        }
    }
    b->heap_ = p;
    b->data = p;
    b->len = n;
    return 0;
}

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)32 << 20) /* below, malloc reuses the memory of the last file: no fresh pages */

/* Memory for a file's bytes. A large file's buffer is fresh memory each
 * time, and its first touch is most of what reading costs: in 2 MiB pages
 * a 48 MiB file reads in 0.05 s instead of 0.4 s (test VM). Release with
 * free(). */
static uint8_t *file_buffer(size_t size)
{
    if (size < HUGE_FROM) return malloc(size ? size : 1);
    size_t round = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uint8_t *p = round >= size ? aligned_alloc(HUGE_PAGE, round) : NULL;
    if (p) madvise(p, round, MADV_HUGEPAGE); /* a hint: failure is harmless */
    return p;
}

/* All `size` bytes of a regular file. */
static int read_regular(int fd, size_t size, input_bytes *b, char *err, size_t err_size)
{
    uint8_t *p = file_buffer(size);
    if (!p) {
        snprintf(err, err_size, "out of memory for %zu bytes", size);
        return -1;
    }
    size_t n = 0;
    while (n < size) {
        ssize_t r = read(fd, p + n, size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r < 0) snprintf(err, err_size, "%s", strerror(errno));
            else snprintf(err, err_size, "shrank while being read (%zu of %zu bytes)", n, size);
            free(p);
            return -1;
        }
        n += (size_t)r;
    }
    b->heap_ = p;
    b->data = p;
    b->len = size;
    return 0;
}

_Static_assert(INPUT_MAX_BYTES == (size_t)1 << 30, "check_input's message says 1 GiB");

/* Why a file is not an input, or NULL. */
static const char *check_input(const struct stat *st)
{
    if (S_ISDIR(st->st_mode)) return "is a directory";
    if (!S_ISREG(st->st_mode)) return not_regular(st->st_mode);
    if ((uint64_t)st->st_size > INPUT_MAX_BYTES) return "larger than an input may be (1 GiB); refused";
    return NULL;
}

int input_open(const char *path, input_bytes *b, char *err, size_t err_size)
{
    memset(b, 0, sizeof *b);
    if (!strcmp(path, "-")) return read_stream(0, b, err, err_size);
    struct stat st;
    const char *why;
    if (stat(path, &st) != 0) { /* before opening: a device or FIFO is not even opened */
        snprintf(err, err_size, "%s", strerror(errno));
        return -1;
    }
    if ((why = check_input(&st)) != NULL) {
        snprintf(err, err_size, "%s", why);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); /* never waits for a FIFO's writer */
    if (fd < 0) {
        snprintf(err, err_size, "%s", strerror(errno));
        return -1;
    }
    int rc = -1;
    if (fstat(fd, &st) != 0) snprintf(err, err_size, "%s", strerror(errno));
    else if ((why = check_input(&st)) != NULL) snprintf(err, err_size, "%s", why); /* swapped since the stat */
    else rc = read_regular(fd, (size_t)st.st_size, b, err, err_size);
    close(fd);
    return rc;
}

void input_close(input_bytes *b)
{
    free(b->heap_);
    memset(b, 0, sizeof *b);
}
