/* The one table of image formats unprompt reads: every command (info, the
 * model commands) and the directory scan ask it, so they agree on what an
 * image is. A format is recognised by its first bytes when reading and by
 * its file name's extension when scanning a directory. */
#ifndef UNPROMPT_FORMAT_IMAGE_FORMAT_H
#define UNPROMPT_FORMAT_IMAGE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    IMAGE_FORMAT_PNG,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_WEBP,
    IMAGE_FORMAT_GIF,
    IMAGE_FORMAT_BMP,
    IMAGE_FORMAT_TIFF,
    IMAGE_FORMAT_COUNT
} image_format_id;

typedef struct {
    image_format_id id;
    const char *name;              /* "png": info's container name */
    const char *label;             /* "PNG": for messages */
    const char *const *extensions; /* ".png", ... NULL-terminated, lower case */
} image_format;

/* The format whose signature the bytes start with, or NULL. */
const image_format *image_format_sniff(const uint8_t *data, size_t len);

/* The format a file name's extension (any case) names, or NULL. */
const image_format *image_format_by_name(const char *file_name);

/* Entry i of the table (i < IMAGE_FORMAT_COUNT), in the order above. */
const image_format *image_format_at(size_t i);

/* "PNG, JPEG, WebP, GIF, BMP or TIFF": for "not a ..." messages. */
const char *image_format_labels(void);

#endif
