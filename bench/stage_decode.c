/* decode_jpeg: a 2048x3072 JPEG (4:2:0, quality 90, as photographs and the
 * WebUI's JPEG saves come) decoded to the RGB the models read, through the
 * public unprompt_decode_rgb (libjpeg-turbo); stb_image's decoder, which
 * unprompt used before, is timed on the same bytes for comparison. Also
 * bench_make_jpeg, the JPEG input of e2e_all_jpeg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "bench/bench.h"
#include "engine/api/unprompt.h"

#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STB_IMAGE_IMPLEMENTATION
/* Static, so it cannot clash with the library's copy; what this file does
 * not call stays unused (reported at the end of the file, so not popped). */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_image.h>

/* Smooth colour with a little texture, like a photograph or an SD image;
 * with same_as_png, bench_make_png's pattern (so e2e_all and e2e_all_jpeg
 * caption the same picture). */
static void fill(uint8_t *px, uint32_t w, uint32_t h, int same_as_png)
{
    if (same_as_png) {
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                uint8_t *p = px + ((size_t)y * w + x) * 3;
                p[0] = (uint8_t)(x * 255 / w), p[1] = (uint8_t)(y * 255 / h), p[2] = (uint8_t)((x ^ y) & 255);
            }
        return;
    }
    uint32_t seed = 1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            seed = seed * 1103515245u + 12345u;
            unsigned noise = (seed >> 16) & 15;
            p[0] = (uint8_t)(x * 255 / w + noise), p[1] = (uint8_t)(y * 255 / h + noise / 2);
            p[2] = (uint8_t)(((x / 64 + y / 64) & 1 ? 200 : 40) + noise);
        }
}

int bench_make_jpeg(buf *out, uint32_t w, uint32_t h, int same_as_png)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    if (!px) return -1;
    fill(px, w, h, same_as_png);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&jerr); /* our own input: an error here is a bug, exit() is fine */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = w, c.image_height = h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < h) {
        JSAMPROW row = px + (size_t)c.next_scanline * w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(px);
    fmt_error e;
    buf_init(out, 0);
    int rc = buf_append(out, mem, len, &e);
    free(mem);
    return rc ? -1 : 0;
}

typedef struct {
    const uint8_t *data;
    size_t len;
    int failed;
} decode_run;

static void run_ours(void *p)
{
    decode_run *r = p;
    uint8_t *rgb;
    int w, h;
    char err[256];
    if (unprompt_decode_rgb(r->data, r->len, &rgb, &w, &h, err, sizeof err) != UNPROMPT_OK) r->failed = 1;
    else unprompt_rgb_free(rgb);
}

static void run_stb(void *p)
{
    decode_run *r = p;
    int w, h, c;
    uint8_t *rgb = stbi_load_from_memory(r->data, (int)r->len, &w, &h, &c, 3);
    if (!rgb) r->failed = 1;
    else stbi_image_free(rgb);
}

int stage_decode_jpeg(bench_ctx *ctx, bench_result *r)
{
    buf jpg;
    if (bench_make_jpeg(&jpg, 2048, 3072, 0)) return -1;
    decode_run run = {(const uint8_t *)jpg.data, jpg.len, 0};
    r->ms_median = bench_median_ms(ctx->iters, run_ours, &run);
    double stb = bench_median_ms(ctx->iters, run_stb, &run);
    static char note[160];
    snprintf(note, sizeof note, "2048x3072 4:2:0 q90 (%.1f MB), libjpeg-turbo; stb_image %.1f ms (%.2fx)",
             (double)jpg.len / 1e6, stb, stb / r->ms_median);
    r->note = note;
    r->extra = stb, r->extra_name = "stb_image_ms";
    buf_free(&jpg);
    return run.failed ? -1 : 0;
}
