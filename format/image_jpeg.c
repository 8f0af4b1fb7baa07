/* JPEG through libjpeg-turbo, set up as Pillow's decoder sets it: the
 * library's defaults (accurate integer IDCT, fancy upsampling), output in
 * the colour space of Pillow's mode for the component count (1 "L", 3 "RGB",
 * 4 "CMYK" read as "CMYK;I", i.e. stored inverted the Adobe way, YCCK
 * turned into CMYK by libjpeg). libjpeg's fatal errors come back here
 * through setjmp/longjmp, never exit(); its warnings are not printed, and
 * like Pillow's decoder this one ignores them, except a file that ends
 * before its image does: Pillow refuses that as truncated, so does this. */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "format/image_decoders.h"

/* A progressive file can hold any number of scans, each a pass over the
 * whole image: a few hundred bytes can cost minutes. Real encoders write at
 * most a few dozen. */
#define JPEG_MAX_SCANS 500

typedef struct {
    struct jpeg_error_mgr mgr; /* first: libjpeg hands back a pointer to it */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    int truncated;
    int too_many_scans;
    char msg[JMSG_LENGTH_MAX];
} jpeg_guard;

static void guard_error_exit(j_common_ptr cinfo)
{
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, g->msg);
    longjmp(g->jump, 1);
}

/* Warnings (level -1) and trace messages: never printed. */
static void guard_emit(j_common_ptr cinfo, int level)
{
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) g->truncated = 1;
}

static void guard_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void guard_progress(j_common_ptr cinfo)
{
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    const struct jpeg_decompress_struct *d = (const struct jpeg_decompress_struct *)cinfo;
    if (cinfo->is_decompressor && d->input_scan_number > JPEG_MAX_SCANS) {
        g->too_many_scans = 1;
        snprintf(g->msg, sizeof g->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(g->jump, 1);
    }
}

static void guard_init(jpeg_guard *g, struct jpeg_decompress_struct *cinfo)
{
    memset(g, 0, sizeof *g);
    cinfo->err = jpeg_std_error(&g->mgr);
    g->mgr.error_exit = guard_error_exit;
    g->mgr.emit_message = guard_emit;
    g->mgr.output_message = guard_output;
    g->progress.progress_monitor = guard_progress;
}

/* Pillow's mode for the component count, as libjpeg's output colour space. */
static int choose_output(struct jpeg_decompress_struct *cinfo, int *channels, fmt_error *err)
{
    switch (cinfo->num_components) {
    case 1: cinfo->out_color_space = JCS_GRAYSCALE, *channels = 1; return 0;
    case 3: cinfo->out_color_space = JCS_RGB, *channels = 3; return 0;
    case 4: cinfo->out_color_space = JCS_CMYK, *channels = 4; return 0;
    }
    return fmt_fail(err, "JPEG with %d components (1, 3 or 4 are images)", cinfo->num_components);
}

/* Progressive files keep every coefficient in memory (2 bytes each, per
 * component): allow that for the largest allowed image and a margin. */
static long memory_budget(const image_limits *lim)
{
    size_t b = lim->max_pixels > ((size_t)1 << 40) / 16 ? (size_t)1 << 40 : lim->max_pixels * 16;
    b += (size_t)64 << 20;
    return b > (size_t)0x7FFFFFFF && sizeof(long) < 8 ? 0x7FFFFFFFL : (long)b;
}

/* Everything that may longjmp. out->pixels is owned by the caller, so a
 * jump leaves nothing to free here but the decompressor. */
static int run(struct jpeg_decompress_struct *cinfo, jpeg_guard *g, const uint8_t *data, size_t len,
               const image_limits *lim, image_u8 *out, fmt_error *err)
{
    jpeg_create_decompress(cinfo);
    cinfo->progress = &g->progress;
    cinfo->mem->max_memory_to_use = memory_budget(lim);
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) return fmt_fail(err, "JPEG: no image in the file");
    /* Locals here would be clobbered by a longjmp: the state lives in *out. */
    if (choose_output(cinfo, &out->channels, err)) return -1;
    if (image_alloc(out, cinfo->image_width, cinfo->image_height, out->channels, lim, err)) return -1;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_width != out->width || cinfo->output_height != out->height ||
        cinfo->output_components != out->channels)
        return fmt_fail(err, "JPEG: decoder output does not match the header");
    size_t stride = (size_t)out->width * (size_t)out->channels;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out->pixels + (size_t)cinfo->output_scanline * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) break;
        if (g->truncated) return fmt_fail(err, "JPEG: the file ends before the image does (truncated)");
    }
    if (g->truncated || cinfo->output_scanline < cinfo->output_height)
        return fmt_fail(err, "JPEG: the file ends before the image does (truncated)");
    return 0;
}

/* "CMYK;I": Adobe applications store CMYK inverted, and Pillow assumes they all do. */
static void uninvert(image_u8 *img)
{
    size_t n = (size_t)img->width * img->height * 4;
    for (size_t i = 0; i < n; i++) img->pixels[i] = (uint8_t)(255 - img->pixels[i]);
    img->cmyk = 1;
}

int image_decode_jpeg(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_guard g;
    memset(&cinfo, 0, sizeof cinfo);
    guard_init(&g, &cinfo);
    int rc;
    if (setjmp(g.jump)) {
        rc = fmt_fail(err, "JPEG: %s", g.msg);
    } else {
        rc = run(&cinfo, &g, data, len, lim, out, err);
    }
    jpeg_destroy_decompress(&cinfo);
    if (rc == 0 && out->channels == 4) uninvert(out);
    return rc;
}
