/* Stealth info, two ways. An input that starts with the PNG signature is a
 * file: read streamed (stealth_read_png) and, when stb_image decodes it
 * too, whole (image_decode + stealth_read); where both read the pixels they
 * must agree on the result, the message and the text. Palette images and
 * images of more than 2^20 pixels are only read streamed (stb_image takes
 * indices past PLTE from uninitialised memory; a whole decode of a large
 * image would make the corpus replay slow). Each file is read once as it
 * is and once with every chunk's CRC made right, so that mutations reach
 * the pixels instead of stopping at a CRC. Anything else: the first byte picks the height, the rest are RGBA
 * pixels for stealth_read. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/image.h"
#include "format/png.h"
#include "format/stealth.h"

typedef struct {
    int rc;
    fmt_error e;
    meta_list m;
} outcome;

static void whole(const uint8_t *data, size_t size, outcome *o)
{
    image_u8 img;
    o->rc = -2;
    if (image_decode(data, size, NULL, &img, &o->e)) return;
    o->rc = 0;
    if (img.channels == 3 || img.channels == 4)
        o->rc = stealth_read(img.pixels, img.width, img.height, img.channels, 1 << 20, &o->m, &o->e);
    image_free(&img);
}

static void agree(const outcome *a, const outcome *b)
{
    if (a->rc == -2 || b->rc == -2) return; /* one could not read the pixels */
    if (a->rc != b->rc) abort();
    if (a->rc == -1 && strcmp(a->e.msg, b->e.msg)) abort();
    if (a->rc == 1) {
        const meta_entry *x = &a->m.items[a->m.count - 1], *y = &b->m.items[b->m.count - 1];
        if (x->text_len != y->text_len || memcmp(x->text, y->text, x->text_len)) abort();
    }
}

static void png_both(const uint8_t *data, size_t size)
{
    outcome s, w;
    meta_list_init(&s.m);
    meta_list_init(&w.m);
    s.rc = stealth_read_png(data, size, NULL, 1 << 20, &s.m, &s.e);
    int small = size > 25 && (uint64_t)load_be32(data + 16) * load_be32(data + 20) <= (1u << 20);
    if (small && data[25] != 3) {
        whole(data, size, &w);
        agree(&w, &s);
    }
    meta_list_free(&s.m);
    meta_list_free(&w.m);
}

static void fix_crcs(uint8_t *p, size_t size)
{
    for (size_t pos = 8; size - pos >= 12;) {
        uint32_t n = load_be32(p + pos);
        if ((size_t)n > size - pos - 12) return;
        uint32_t crc = png_crc(p + pos + 4, (size_t)n + 4);
        uint8_t *c = p + pos + 8 + n;
        c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16), c[2] = (uint8_t)(crc >> 8), c[3] = (uint8_t)crc;
        pos += (size_t)n + 12;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (png_is_png(data, size)) {
        png_both(data, size);
        uint8_t *fixed = malloc(size);
        if (!fixed) return 0;
        memcpy(fixed, data, size);
        fix_crcs(fixed, size);
        png_both(fixed, size);
        free(fixed);
        return 0;
    }
    if (size < 5) return 0;
    uint32_t h = 1u + data[0] % 64;
    size_t px = (size - 1) / 4;
    uint32_t w = (uint32_t)(px / h);
    if (w == 0) return 0;
    meta_list m;
    fmt_error e;
    meta_list_init(&m);
    stealth_read(data + 1, w, h, 4, 1 << 20, &m, &e);
    meta_list_free(&m);
    return 0;
}
