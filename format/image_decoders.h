/* The decoders behind image_decode, one file each, and what they share.
 * Internal to format/: callers use image_decode. Each fills *out (pixels
 * malloc'd, freed by image_free) or returns -1 with a reason. */
#ifndef UNPROMPT_FORMAT_IMAGE_DECODERS_H
#define UNPROMPT_FORMAT_IMAGE_DECODERS_H

#include "format/image.h"

/* 0 when a w x h image fits the limits; else -1 and "image of WxH exceeds ...". */
int image_check_size(uint64_t w, uint64_t h, const image_limits *lim, fmt_error *err);

/* Checks the size, then allocates out->pixels for w*h*channels bytes. */
int image_alloc(image_u8 *out, uint32_t w, uint32_t h, int channels, const image_limits *lim, fmt_error *err);

/* libjpeg-turbo with Pillow's settings (accurate integer IDCT, fancy upsampling). */
int image_decode_jpeg(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err);
/* libwebp's animation decoder, as Pillow reads every WebP: the first frame on its canvas. */
int image_decode_webp(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err);
/* libtiff: the first page, in the layouts Pillow maps to its modes. */
int image_decode_tiff(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err);
/* stb_image for PNG, GIF and BMP, where it gives Pillow's pixels. */
int image_decode_stb(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err);

/* What a GIF's first frame needs to look as Pillow shows it: stb_image
 * leaves the transparent index and the screen outside the frame as
 * transparent black, Pillow keeps palette indices there (convert("RGB")
 * then shows their colours). */
typedef struct {
    uint32_t x, y, w, h;      /* the first image's rectangle on the screen */
    size_t transparency_flag; /* offset of the flag byte in its GCE, 0 if none set */
    uint8_t fill[3];          /* Pillow's colour outside the frame */
} image_gif_frame;

/* 0 when the bytes are a GIF with a first image, its frame in *f. */
int image_gif_first_frame(const uint8_t *data, size_t len, image_gif_frame *f);
/* A malloc'd copy with the first frame's transparency flag cleared, or NULL. */
uint8_t *image_gif_opaque_copy(const uint8_t *data, size_t len, const image_gif_frame *f);
/* Pillow's colour on the screen outside the first frame. */
void image_gif_fill_outside(image_u8 *img, const image_gif_frame *f);

#endif
