/* TIFF through libtiff: the first page, in the layouts Pillow opens as its
 * 8-bit modes ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK") and 16-bit grey
 * ("I;16", clipped to 255 as convert("RGB") does), with every compression
 * libtiff reads (JPEG-in-TIFF YCbCr converted to RGB by libtiff, as Pillow
 * asks it to). libtiff's messages go to per-file handlers (libtiff >= 4.5),
 * never to stderr; its allocations are bounded by the image limits. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "base/buf.h"
#include "format/image_decoders.h"

typedef struct {
    const uint8_t *data;
    uint64_t len, pos;
} mem_file;

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
    mem_file *f = (mem_file *)h;
    if (n <= 0 || f->pos >= f->len) return 0;
    uint64_t k = f->len - f->pos < (uint64_t)n ? f->len - f->pos : (uint64_t)n;
    memcpy(buf, f->data + f->pos, (size_t)k);
    f->pos += k;
    return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h, (void)buf, (void)n;
    return -1;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    mem_file *f = (mem_file *)h;
    uint64_t base = whence == SEEK_CUR ? f->pos : whence == SEEK_END ? f->len : 0;
    if (off > UINT64_MAX - base) return (toff_t)-1;
    f->pos = base + off;
    return f->pos;
}

static int mem_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h)
{
    return ((mem_file *)h)->len;
}

static int mem_map(thandle_t h, void **base, toff_t *size)
{
    (void)h, (void)base, (void)size;
    return 0;
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h, (void)base, (void)size;
}

/* The first error libtiff reports; 1 = handled, not passed to the global handler. */
static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    fmt_error *e = user;
    (void)tif, (void)module;
    if (!e->msg[0]) vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return 1;
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1;
}

typedef struct {
    uint32_t w, h;
    uint16_t spp, bps, photometric, planar, sample_format, compression, extra_type, n_extra;
    uint16_t *cmap[3];
    tmsize_t line; /* bytes of one decoded row */
} tiff_layout;

static void read_layout(TIFF *tif, tiff_layout *L)
{
    uint16_t *extra = NULL;
    memset(L, 0, sizeof *L);
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &L->w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &L->h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &L->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &L->bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &L->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &L->sample_format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &L->compression);
    L->photometric = 0xFFFF;
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &L->photometric);
    if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &L->n_extra, &extra) && L->n_extra && extra)
        L->extra_type = extra[0];
    if (L->photometric == PHOTOMETRIC_PALETTE)
        TIFFGetField(tif, TIFFTAG_COLORMAP, &L->cmap[0], &L->cmap[1], &L->cmap[2]);
}

/* The channels of image_u8 for a layout Pillow maps to one of its modes, or -1. */
static int out_channels(TIFF *tif, tiff_layout *L, fmt_error *err)
{
    int bits_ok = L->bps == 8 || L->bps == 16;
    if (L->sample_format != SAMPLEFORMAT_UINT)
        return fmt_fail(err, "TIFF: %u-bit samples that are not unsigned integers", L->bps);
    if (L->spp > 1 && L->planar != PLANARCONFIG_CONTIG)
        return fmt_fail(err, "TIFF: planar (separate) samples are not supported");
    if (L->n_extra && L->extra_type == EXTRASAMPLE_ASSOCALPHA)
        return fmt_fail(err, "TIFF: premultiplied (associated) alpha is not supported");
    switch (L->photometric) {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE:
        if (L->spp == 1 && (L->bps == 1 || L->bps == 2 || L->bps == 4 || L->bps == 8)) return 1;
        if (L->spp == 1 && L->bps == 16 && L->photometric == PHOTOMETRIC_MINISBLACK) return 1;
        if (L->spp == 2 && L->bps == 8 && L->photometric == PHOTOMETRIC_MINISBLACK) return 2;
        break;
    case PHOTOMETRIC_YCBCR:
        if (L->compression != COMPRESSION_JPEG) break;
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB); /* libtiff's libjpeg gives RGB */
        L->photometric = PHOTOMETRIC_RGB;
        /* fall through */
    case PHOTOMETRIC_RGB:
        if ((L->spp == 3 || L->spp == 4) && bits_ok) return L->spp == 4 && L->n_extra ? 4 : 3;
        break;
    case PHOTOMETRIC_PALETTE:
        if (L->spp == 1 && L->bps <= 8 && (8 % L->bps) == 0 && L->cmap[0]) return 3;
        break;
    case PHOTOMETRIC_SEPARATED:
        if (L->spp == 4 && L->bps == 8) return 4;
        break;
    }
    return fmt_fail(err, "TIFF: photometric %u with %u samples of %u bits is not supported", L->photometric,
                    L->spp, L->bps);
}

/* Sample i of a row of packed samples (1, 2, 4, 8 or 16 bits). */
static unsigned sample(const uint8_t *row, size_t i, unsigned bps)
{
    if (bps == 8) return row[i];
    if (bps == 16) {
        uint16_t v;
        memcpy(&v, row + 2 * i, 2);
        return v;
    }
    size_t bit = i * bps;
    return (row[bit / 8] >> (8 - bps - bit % 8)) & ((1u << bps) - 1);
}

/* One decoded row into out's 8-bit channels, as Pillow's unpackers do. */
static void convert_row(const tiff_layout *L, const uint8_t *row, uint8_t *dst, int channels)
{
    unsigned max = (1u << L->bps) - 1;
    for (uint32_t x = 0; x < L->w; x++, dst += channels) {
        size_t s = (size_t)x * L->spp;
        if (L->photometric == PHOTOMETRIC_PALETTE) {
            unsigned i = sample(row, s, L->bps);
            for (int c = 0; c < 3; c++) dst[c] = (uint8_t)(L->cmap[c][i] >> 8);
        } else if (L->photometric <= PHOTOMETRIC_MINISBLACK) {
            unsigned v = sample(row, s, L->bps);
            v = L->bps == 16 ? (v > 255 ? 255 : v) : v * 255 / max;
            dst[0] = (uint8_t)(L->photometric == PHOTOMETRIC_MINISWHITE ? 255 - v : v);
            if (channels == 2) dst[1] = (uint8_t)sample(row, s + 1, L->bps);
        } else {
            for (int c = 0; c < channels; c++) {
                unsigned v = sample(row, s + (size_t)c, L->bps);
                dst[c] = (uint8_t)(L->bps == 16 ? v >> 8 : v);
            }
        }
    }
}

/* libtiff's own reason, when it gave one. */
static const char *lib_reason(const fmt_error *lib)
{
    return lib->msg[0] ? lib->msg : "cannot decode";
}

static int read_strips(TIFF *tif, const tiff_layout *L, uint8_t *raw, const fmt_error *lib, fmt_error *err)
{
    uint32_t rps = L->h;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > L->h) rps = L->h;
    uint32_t n = TIFFNumberOfStrips(tif);
    for (uint32_t s = 0; s < n && (uint64_t)s * rps < L->h; s++) {
        uint32_t y = s * rps, rows = L->h - y < rps ? L->h - y : rps;
        if (TIFFReadEncodedStrip(tif, s, raw + (size_t)y * (size_t)L->line, (tmsize_t)rows * L->line) < 0)
            return fmt_fail(err, "TIFF: strip %u: %s", s, lib_reason(lib));
    }
    return 0;
}

static int read_tiles(TIFF *tif, const tiff_layout *L, uint8_t *raw, const fmt_error *lib, fmt_error *err)
{
    uint32_t tw = 0, th = 0;
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
    tmsize_t tsize = TIFFTileSize(tif), trow = TIFFTileRowSize(tif);
    if (tw == 0 || th == 0 || tsize <= 0 || trow <= 0) return fmt_fail(err, "TIFF: bad tile size");
    uint8_t *tile = malloc((size_t)tsize);
    if (!tile) return fmt_fail(err, "TIFF: out of memory for a tile");
    int rc = 0;
    for (uint32_t y = 0; y < L->h && !rc; y += th)
        for (uint32_t x = 0; x < L->w && !rc; x += tw) {
            if (TIFFReadTile(tif, tile, x, y, 0, 0) < 0) {
                rc = fmt_fail(err, "TIFF: tile at %u,%u: %s", x, y, lib_reason(lib));
                break;
            }
            uint64_t cols = L->w - x < tw ? L->w - x : tw, bits = (uint64_t)L->spp * L->bps;
            size_t off = (size_t)(x * bits / 8), bytes = (size_t)((cols * bits + 7) / 8);
            for (uint32_t r = 0; r < th && y + r < L->h; r++)
                memcpy(raw + (size_t)(y + r) * (size_t)L->line + off, tile + (size_t)r * (size_t)trow, bytes);
        }
    free(tile);
    return rc;
}

static int decode_page(TIFF *tif, tiff_layout *L, const image_limits *lim, image_u8 *out, const fmt_error *lib,
                       fmt_error *err)
{
    read_layout(tif, L);
    if (image_check_size(L->w, L->h, lim, err)) return -1;
    int channels = out_channels(tif, L, err);
    if (channels < 0) return -1;
    L->line = TIFFScanlineSize(tif);
    size_t raw_bytes;
    if (L->line <= 0 || size_mul((size_t)L->line, L->h, &raw_bytes))
        return fmt_fail(err, "TIFF: bad row size");
    uint8_t *raw = calloc(raw_bytes, 1);
    if (!raw) return fmt_fail(err, "TIFF: out of memory for an image of %ux%u", L->w, L->h);
    int rc = TIFFIsTiled(tif) ? read_tiles(tif, L, raw, lib, err) : read_strips(tif, L, raw, lib, err);
    if (!rc) rc = image_alloc(out, L->w, L->h, channels, lim, err);
    for (uint32_t y = 0; !rc && y < L->h; y++)
        convert_row(L, raw + (size_t)y * (size_t)L->line, out->pixels + (size_t)y * L->w * (size_t)channels, channels);
    if (!rc && L->photometric == PHOTOMETRIC_SEPARATED) out->cmyk = 1;
    free(raw);
    return rc;
}

int image_decode_tiff(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err)
{
    fmt_error lib = {{0}};
    mem_file f = {data, len, 0};
    TIFFOpenOptions *opt = TIFFOpenOptionsAlloc();
    if (!opt) return fmt_fail(err, "TIFF: out of memory");
    TIFFOpenOptionsSetErrorHandlerExtR(opt, on_error, &lib);
    TIFFOpenOptionsSetWarningHandlerExtR(opt, on_warning, NULL);
    /* One allocation at most a decoded copy of the largest allowed image
     * (16-bit CMYK) plus the codecs' own tables (LZW's alone is 80 KB). */
    size_t px = lim->max_pixels > ((size_t)1 << 36) ? (size_t)1 << 36 : lim->max_pixels;
    TIFFOpenOptionsSetMaxSingleMemAlloc(opt, (tmsize_t)(px * 8 + ((size_t)16 << 20)));
    TIFF *tif = TIFFClientOpenExt("image", "rm", (thandle_t)&f, mem_read, mem_write, mem_seek, mem_close, mem_size,
                                  mem_map, mem_unmap, opt);
    TIFFOpenOptionsFree(opt);
    if (!tif) return fmt_fail(err, "TIFF: %s", lib.msg[0] ? lib.msg : "cannot open");
    tiff_layout L;
    int rc = decode_page(tif, &L, lim, out, &lib, err);
    TIFFClose(tif);
    return rc;
}
