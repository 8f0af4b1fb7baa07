/* Turning command-line arguments into the list of images to process:
 * files, directories (recursively with -r), and "-" for standard input. */
#ifndef UNPROMPT_TOOLS_INPUTS_H
#define UNPROMPT_TOOLS_INPUTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/hash.h"

/* Files by identity (device, inode), whatever path or link reaches them. */
typedef struct {
    uint64_t dev, ino;
} file_id;

typedef struct {
    hash_index index; /* hash of a file_id → its place in ids */
    file_id *ids;
    size_t count, cap;
} file_id_set;

/* A zeroed set is empty and ready. Add: 1 added, 0 was there already, -1
 * out of memory. */
int file_id_set_add(file_id_set *s, const struct stat *st);
int file_id_set_has(const file_id_set *s, const struct stat *st);
void file_id_set_free(file_id_set *s);

/* Every input is at most this large: no decodable image comes near it
 * (8192 x 8192 16-bit RGBA is 512 MiB of pixels). Standard input is read up
 * to it and refused beyond. */
#define INPUT_MAX_BYTES ((size_t)1 << 30)

typedef struct {
    char **paths;  /* "-" stands for standard input */
    size_t count, cap;
    int errors;    /* arguments that named nothing readable (already reported) */
    /* Named inputs (arguments, list lines) whose names are not an image's:
     * the only inputs a sidecar path can name (a sidecar's extension may
     * not be an image's), by the identity of the name and of what it links
     * to, so no sidecar is written over one. */
    file_id_set named;
    /* The arguments counted in errors, as pairs: failures[2k] the path,
     * failures[2k + 1] why (for --json's error records). */
    char **failures;
    size_t n_failures, cap_failures;
} input_list;

/* Expand one argument. Directory entries are taken when their extension is an
 * image's (png, jpg, jpeg, webp, bmp, gif), in sorted order. Problems are
 * printed as one line each ("engine-run: PATH: reason") and counted; an
 * entry with an image's name that cannot be read (a dangling link) or is not
 * a regular file (a FIFO, a device) is one, as is such an argument.
 * A directory argument with no image in it gets a warning line, not counted.
 * With -r every folder is entered once: one reached again (a link back into
 * the tree, or a second link to it) is skipped, with one warning line for
 * the argument. */
void inputs_add(input_list *l, const char *arg, int recursive);
/* Every line of a file (or "-": standard input) is one argument as above;
 * blank lines (none but spaces, tabs, CR) are skipped, lines longer than PATH_MAX are refused (counted).
 * -1 if the list cannot be opened (reported). */
int inputs_add_list(input_list *l, const char *list_path, int recursive);
void inputs_free(input_list *l);
int inputs_is_image_name(const char *name);

/* The bytes of one input, read into memory (never mapped: a file truncated
 * meanwhile cannot fault): regular files up to INPUT_MAX_BYTES, refused
 * before reading when larger or not regular (FIFO, device, socket: never
 * opened in a way that blocks), or "-": standard input, read up to the
 * same bound. Returns 0, or -1 with a reason in err. */
typedef struct {
    const uint8_t *data;
    size_t len;
    uint8_t *heap_;
} input_bytes;

int input_open(const char *path, input_bytes *b, char *err, size_t err_size);
void input_close(input_bytes *b);

#endif
