/* Atomic file output through an exclusive temporary; see atomic.h. */
#include "base/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"

#define TEMP_TAG ".unprompt-"
#define TEMP_END ".tmp"
#define TEMP_BASE_MAX 200 /* + tag, pid, random, end: within NAME_MAX (255) */
#define TEMP_RANDOM_DIGITS 16
#define TEMP_TRIES 8

/* "DIR/.BASE.unprompt-PID-RANDOM.tmp" for "DIR/BASE", a fresh random part
 * each call. */
static int temp_name(const char *path, buf *tmp, fmt_error *err)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t dir_len = (size_t)(base - path), base_len = strlen(base);
    if (base_len == 0 || !strcmp(base, ".") || !strcmp(base, ".."))
        return fmt_fail(err, "%s: not a file name", path);
    if (base_len > TEMP_BASE_MAX) base_len = TEMP_BASE_MAX;
    hash_seed r = hash_seed_random();
    buf_free(tmp);
    buf_init(tmp, 0);
    return buf_printf(tmp, err, "%.*s.%.*s" TEMP_TAG "%ld-%016llx" TEMP_END, (int)dir_len, path, (int)base_len, base,
                      (long)getpid(), (unsigned long long)(r.k0 ^ r.k1));
}

/* A new temporary beside `path`, opened for writing: an fd, or -1. */
static int create_temp(const char *path, buf *tmp, fmt_error *err)
{
    for (int i = 0; i < TEMP_TRIES; i++) {
        if (temp_name(path, tmp, err)) return -1;
        int fd = open(tmp->data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST) return fmt_fail(err, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    }
    return fmt_fail(err, "%s: cannot create a temporary file beside it: every name tried exists", path);
}

/* After the rename: the folder's entry reaches the disk too, so a crash
 * cannot leave the old file (or none) behind a written one. Best effort:
 * some filesystems refuse fsync on a folder, and the file itself is safe. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

int atomic_write_file(const char *path, atomic_write_fn write, void *user, fmt_error *err)
{
    buf tmp;
    buf_init(&tmp, 0);
    int fd = create_temp(path, &tmp, err);
    if (fd < 0) {
        buf_free(&tmp);
        return -1;
    }
    FILE *out = fdopen(fd, "wb");
    int rc = out ? write(out, user, err) : fmt_fail(err, "%s: out of memory", path);
    if (rc == 0 && fflush(out) != 0) rc = fmt_fail(err, "%s: write failed: %s", path, strerror(errno));
    if (rc == 0 && fsync(fd) != 0) rc = fmt_fail(err, "%s: fsync failed: %s", path, strerror(errno));
    if ((out ? fclose(out) : close(fd)) != 0 && rc == 0)
        rc = fmt_fail(err, "%s: close failed: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp.data, path) != 0)
        rc = fmt_fail(err, "%s: cannot rename into place: %s", path, strerror(errno));
    if (rc != 0) unlink(tmp.data);
    else sync_folder(path);
    buf_free(&tmp);
    return rc;
}

typedef struct {
    const void *data;
    size_t len;
} bytes_src;

static int write_bytes(FILE *out, void *user, fmt_error *err)
{
    const bytes_src *b = user;
    if (b->len && fwrite(b->data, 1, b->len, out) != b->len) return fmt_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

int atomic_write_bytes(const char *path, const void *data, size_t len, fmt_error *err)
{
    bytes_src b = {data, len};
    return atomic_write_file(path, write_bytes, &b, err);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int atomic_is_temp_name(const char *name, long *pid)
{
    size_t n = strlen(name), end = sizeof TEMP_END - 1, tag = sizeof TEMP_TAG - 1;
    /* "." BASE(>= 1) TAG PID(1..10) "-" RANDOM(16) END, read from the end */
    if (n < 1 + 1 + tag + 1 + 1 + TEMP_RANDOM_DIGITS + end || name[0] != '.' || strcmp(name + n - end, TEMP_END))
        return 0;
    const char *p = name + n - end - TEMP_RANDOM_DIGITS;
    for (int i = 0; i < TEMP_RANDOM_DIGITS; i++)
        if (!is_hex(p[i])) return 0;
    if (*--p != '-') return 0;
    const char *digits_end = p;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    size_t digits = (size_t)(digits_end - p);
    if (digits < 1 || digits > 10 || (size_t)(p - name) < 1 + 1 + tag || memcmp(p - tag, TEMP_TAG, tag)) return 0;
    long v = strtol(p, NULL, 10);
    if (v <= 0 || v > INT_MAX) return 0;
    if (pid) *pid = v;
    return 1;
}

static int process_gone(long pid)
{
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

size_t atomic_remove_orphans(const char *dir, double min_age_s)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int dfd = dirfd(d);
    time_t now = time(NULL);
    size_t removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        struct stat st;
        if (!atomic_is_temp_name(e->d_name, &pid) || fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || difftime(now, st.st_mtime) < min_age_s || !process_gone(pid))
            continue;
        removed += unlinkat(dfd, e->d_name, 0) == 0;
    }
    closedir(d);
    return removed;
}
