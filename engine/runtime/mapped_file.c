/* mmap of a whole file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/runtime/mapped_file.h"

int mapped_file_open(mapped_file *m, const char *path, fmt_error *err)
{
    m->data = NULL, m->len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); /* a FIFO is refused, not waited on */
    if (fd < 0) return fmt_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 1) {
        close(fd);
        return fmt_fail(err, "%s: not a regular, non-empty file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return fmt_fail(err, "%s: cannot map: %s", path, strerror(errno));
    m->data = p, m->len = (size_t)st.st_size;
    return 0;
}

void mapped_file_close(mapped_file *m)
{
    if (m->data) munmap((void *)m->data, m->len);
    m->data = NULL, m->len = 0;
}
