/* Turning command-line arguments into the list of images to process:
 * files, directories (recursively with -r), and "-" for standard input. */
#ifndef UNPROMPT_TOOLS_INPUTS_H
#define UNPROMPT_TOOLS_INPUTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **paths;  /* "-" stands for standard input */
    size_t count, cap;
    int errors;    /* arguments that named nothing readable (already reported) */
} input_list;

/* Expand one argument. Directory entries are taken when their extension is an
 * image's (png, jpg, jpeg, webp, bmp, gif), in sorted order. Problems are
 * printed as one line each ("engine-run: PATH: reason") and counted; an
 * entry with an image's name that cannot be read (a dangling link) is one.
 * A directory argument with no image in it gets a warning line, not counted. */
void inputs_add(input_list *l, const char *arg, int recursive);
/* Every line of a file (or "-": standard input) is one argument as above;
 * empty lines are skipped. -1 if the list cannot be opened (reported). */
int inputs_add_list(input_list *l, const char *list_path, int recursive);
void inputs_free(input_list *l);
int inputs_is_image_name(const char *name);

/* The bytes of one input: mmap for regular files, read for stdin/pipes.
 * Returns 0, or -1 with a reason in err. */
typedef struct {
    const uint8_t *data;
    size_t len;
    void *map_;    /* mmap'ed region, or NULL */
    uint8_t *heap_;
} input_bytes;

int input_open(const char *path, input_bytes *b, char *err, size_t err_size);
void input_close(input_bytes *b);

#endif
