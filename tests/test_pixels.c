/* Decoded images → RGB the way PIL's convert("RGB") makes it: 16-bit
 * samples reduced to their high byte, alpha dropped (not composited), grey
 * replicated; BMP and GIF decode too. Inputs are written byte by byte here. */
#include <zlib.h>

#include "engine/preprocess/pixels.h"
#include "format/png_write.h"
#include "tests/test.h"

/* A 2×1 16-bit RGBA PNG (colour type 6, depth 16). */
static size_t png16(uint8_t *out, size_t cap)
{
    static const uint8_t raw[] = {0,    0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x01, 0x00, 0x00, /* R G B A of pixel 0 */
                                  0xFE, 0xDC, 0x00, 0x80, 0x7F, 0xFF, 0x00, 0x10,       /* pixel 1 */
                                  };
    buf b;
    fmt_error e;
    buf_init(&b, 0);
    uint8_t ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 1, 16, 6, 0, 0, 0};
    uint8_t z[128];
    uLongf zlen = sizeof z;
    compress(z, &zlen, raw, sizeof raw);
    png_write_begin(&b, 1, 1, 2, &e); /* signature; its IHDR is replaced below */
    b.len = 8;
    png_write_chunk(&b, "IHDR", ihdr, sizeof ihdr, &e);
    png_write_chunk(&b, "IDAT", z, zlen, &e);
    png_write_end(&b, &e);
    size_t n = b.len < cap ? b.len : cap;
    memcpy(out, b.data, n);
    buf_free(&b);
    return n;
}

static void test_16bit_rgba_png_keeps_high_bytes_and_drops_alpha(void)
{
    uint8_t png[512], *rgb = NULL;
    size_t n = png16(png, sizeof png);
    int w = 0, h = 0;
    fmt_error e;
    CHECK(pixels_decode_rgb(png, n, &rgb, &w, &h, &e) == 0);
    CHECK(w == 2 && h == 1);
    if (rgb) {
        static const uint8_t want[6] = {0x12, 0xAB, 0xFF, 0xFE, 0x00, 0x7F};
        CHECK(!memcmp(rgb, want, 6));
    }
    free(rgb);
}

static void test_grey_alpha_and_palette_conversions(void)
{
    uint8_t la[4] = {10, 0, 200, 255}, rgb[6];
    image_u8 img = {.width = 2, .height = 1, .channels = 2, .pixels = la, .cmyk = 0};
    fmt_error e;
    CHECK(pixels_to_rgb(&img, rgb, &e) == 0);
    CHECK(rgb[0] == 10 && rgb[1] == 10 && rgb[2] == 10 && rgb[3] == 200 && rgb[5] == 200);
    image_u8 bad = {.width = 1, .height = 1, .channels = 5, .pixels = la, .cmyk = 0};
    CHECK(pixels_to_rgb(&bad, rgb, &e) == -1);
}

/* A 2×2 24-bit BMP (bottom-up rows, BGR, rows padded to 4 bytes). */
static void test_bmp(void)
{
    uint8_t bmp[70] = {'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 24, 0};
    bmp[34] = 16;                                                       /* image size */
    static const uint8_t px[16] = {255, 0, 0, 0, 255, 0, 0, 0,         /* bottom row: blue, green, pad */
                                   0, 0, 255, 255, 255, 255, 0, 0};    /* top row: red, white, pad */
    memcpy(bmp + 54, px, 16);
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    fmt_error e;
    CHECK(pixels_decode_rgb(bmp, sizeof bmp, &rgb, &w, &h, &e) == 0 && w == 2 && h == 2);
    if (rgb) {
        static const uint8_t want[12] = {255, 0, 0, 255, 255, 255, 0, 0, 255, 0, 255, 0};
        CHECK(!memcmp(rgb, want, 12));
    }
    free(rgb);
}

/* A 1×1 GIF89a whose one pixel is palette entry 1 (green). */
static void test_gif_first_frame(void)
{
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, /* 2-colour table */
                                  0, 0, 0, 0, 255, 0,                                      /* black, green */
                                  0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0,                         /* image descriptor */
                                  2, 2, 0x4C, 0x01, 0, 0x3B};
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    fmt_error e;
    int rc = pixels_decode_rgb(gif, sizeof gif, &rgb, &w, &h, &e);
    if (rc) fprintf(stderr, "    gif: %s\n", e.msg);
    CHECK(rc == 0 && w == 1 && h == 1);
    CHECK(rgb && rgb[0] == 0 && rgb[1] == 255 && rgb[2] == 0);
    free(rgb);
}

static void test_not_an_image(void)
{
    uint8_t *rgb = NULL;
    int w, h;
    fmt_error e;
    CHECK(pixels_decode_rgb((const uint8_t *)"hello", 5, &rgb, &w, &h, &e) == -1 && rgb == NULL);
}

int main(void)
{
    RUN(test_16bit_rgba_png_keeps_high_bytes_and_drops_alpha);
    RUN(test_grey_alpha_and_palette_conversions);
    RUN(test_bmp);
    RUN(test_gif_first_frame);
    RUN(test_not_an_image);
    return test_summary("pixels");
}
