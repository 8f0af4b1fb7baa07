/* WebP through libwebp's animation decoder, the way Pillow (built with
 * WebP animation support, as Debian's is) opens every WebP, still or
 * animated: the first frame as it stands on the canvas, non-premultiplied
 * RGBA. A file without alpha comes back as RGB. */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "format/image_decoders.h"

static const char *status_text(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "the file ends early (truncated)";
    }
    return "unknown error";
}

/* The canvas from the first frame, copied with or without its alpha. */
static int copy_canvas(const uint8_t *rgba, int alpha, uint32_t w, uint32_t h, const image_limits *lim,
                       image_u8 *out, fmt_error *err)
{
    if (image_alloc(out, w, h, alpha ? 4 : 3, lim, err)) return -1;
    size_t n = (size_t)w * h;
    if (alpha) {
        memcpy(out->pixels, rgba, n * 4);
        return 0;
    }
    for (size_t i = 0; i < n; i++) memcpy(out->pixels + 3 * i, rgba + 4 * i, 3);
    return 0;
}

int image_decode_webp(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err)
{
    WebPBitstreamFeatures feat;
    VP8StatusCode st = WebPGetFeatures(data, len, &feat);
    if (st != VP8_STATUS_OK) return fmt_fail(err, "WebP: %s", status_text(st));
    /* The canvas size: checked before the decoder allocates it. */
    if (image_check_size(feat.width > 0 ? (uint64_t)feat.width : 0, feat.height > 0 ? (uint64_t)feat.height : 0,
                         lim, err))
        return -1;
    WebPAnimDecoderOptions opt;
    if (!WebPAnimDecoderOptionsInit(&opt)) return fmt_fail(err, "WebP: library version mismatch");
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    WebPData wd = {data, len};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, &opt);
    if (!dec) return fmt_fail(err, "WebP: cannot decode (corrupt or truncated file)");
    WebPAnimInfo info;
    uint8_t *canvas = NULL;
    int ts, rc;
    if (!WebPAnimDecoderGetInfo(dec, &info) || info.canvas_width != (uint32_t)feat.width ||
        info.canvas_height != (uint32_t)feat.height)
        rc = fmt_fail(err, "WebP: canvas size does not match the header");
    else if (!WebPAnimDecoderGetNext(dec, &canvas, &ts) || !canvas)
        rc = fmt_fail(err, "WebP: cannot decode the first frame (corrupt or truncated file)");
    else
        rc = copy_canvas(canvas, feat.has_alpha, info.canvas_width, info.canvas_height, lim, out, err);
    WebPAnimDecoderDelete(dec);
    return rc;
}
