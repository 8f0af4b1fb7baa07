#include "format/atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/buf.h"

int atomic_write_file(const char *path, atomic_write_fn write, void *user, fmt_error *err)
{
    buf tmp;
    buf_init(&tmp, 0);
    if (buf_printf(&tmp, err, "%s.tmp.%ld", path, (long)getpid())) return -1;
    FILE *out = fopen(tmp.data, "wb");
    if (!out) {
        int rc = fmt_fail(err, "%s: cannot create: %s", tmp.data, strerror(errno));
        buf_free(&tmp);
        return rc;
    }
    int rc = write(out, user, err);
    if (rc == 0 && fflush(out) != 0)
        rc = fmt_fail(err, "%s: write failed: %s", tmp.data, strerror(errno));
    if (rc == 0 && fsync(fileno(out)) != 0)
        rc = fmt_fail(err, "%s: fsync failed: %s", tmp.data, strerror(errno));
    if (fclose(out) != 0 && rc == 0)
        rc = fmt_fail(err, "%s: close failed: %s", tmp.data, strerror(errno));
    if (rc == 0 && rename(tmp.data, path) != 0)
        rc = fmt_fail(err, "%s: cannot rename into place: %s", path, strerror(errno));
    if (rc != 0) remove(tmp.data);
    buf_free(&tmp);
    return rc;
}
