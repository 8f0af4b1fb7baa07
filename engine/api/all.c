/* Interrogate all (unprompt.h, `engine-run all`): the CLIP interrogation of
 * an image with its DeepBooru tags appended, the prompt users paste back
 * into the WebUI; or, when asked, the prompt the file already stores.
 * Composed of the public calls of clip.c, booru.c and info.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/unprompt.h"
#include "base/buf.h"

struct unprompt_all {
    unprompt_clip *clip;
    unprompt_booru *booru;
};

static int fail(char *err, size_t size, int status, const char *msg)
{
    if (err && size) snprintf(err, size, "%s", msg);
    return status;
}

unprompt_all_params unprompt_all_default_params(void)
{
    return (unprompt_all_params){.clip = unprompt_clip_default_params(), .booru_model = NULL};
}

unprompt_all_run_params unprompt_all_default_run_params(void)
{
    return (unprompt_all_run_params){.clip = unprompt_clip_default_run_params(),
                                     .booru = unprompt_booru_default_params(),
                                     .prefer_metadata = 0};
}

int unprompt_all_load(unprompt_all **out, const unprompt_all_params *p, char *err, size_t err_size)
{
    *out = NULL;
    if (!p || !p->booru_model) return fail(err, err_size, UNPROMPT_ERR_ARGS, "no DeepBooru model given");
    unprompt_all *a = calloc(1, sizeof *a);
    if (!a) return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    int rc = unprompt_booru_load(&a->booru, p->booru_model, p->clip.threads, err, err_size);
    if (rc == UNPROMPT_OK) rc = unprompt_clip_load(&a->clip, &p->clip, err, err_size);
    if (rc != UNPROMPT_OK) {
        unprompt_all_free(a);
        return rc;
    }
    *out = a;
    return UNPROMPT_OK;
}

void unprompt_all_free(unprompt_all *a)
{
    if (!a) return;
    unprompt_clip_free(a->clip);
    unprompt_booru_free(a->booru);
    free(a);
}

void unprompt_all_result_free(unprompt_all_result *r)
{
    unprompt_clip_result_free(&r->clip);
    unprompt_booru_result_free(&r->booru);
    free(r->internal_);
    memset(r, 0, sizeof *r);
}

/* "clip prompt, tags" (malloc'd), or NULL when out of memory. */
static char *join_prompts(const char *clip, const char *tags)
{
    buf b;
    buf_init(&b, 0);
    int bad = buf_append_str(&b, clip, NULL);
    if (tags && tags[0]) bad |= buf_append_str(&b, ", ", NULL) | buf_append_str(&b, tags, NULL);
    if (bad) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

int unprompt_all_run_batch(unprompt_all *a, const unprompt_rgb_image *images, size_t n,
                           const unprompt_all_run_params *rp, unprompt_all_result *out, char *err, size_t err_size)
{
    unprompt_all_run_params def = unprompt_all_default_run_params();
    if (!rp) rp = &def;
    if (!a) return fail(err, err_size, UNPROMPT_ERR_ARGS, "no models loaded");
    if (n < 1 || n > UNPROMPT_MAX_BATCH) return fail(err, err_size, UNPROMPT_ERR_ARGS, "1 to 64 images at once");
    unprompt_clip_result cr[UNPROMPT_MAX_BATCH];
    for (size_t i = 0; i < n; i++) memset(&out[i], 0, sizeof out[i]);
    int rc = unprompt_clip_run_batch(a->clip, images, n, &rp->clip, cr, err, err_size);
    for (size_t i = 0; rc == UNPROMPT_OK && i < n; i++) out[i].clip = cr[i];
    for (size_t i = 0; rc == UNPROMPT_OK && i < n; i++) {
        const unprompt_rgb_image *im = &images[i];
        rc = unprompt_booru_run_rgb(a->booru, im->rgb, im->width, im->height, &rp->booru, &out[i].booru, err,
                                    err_size);
        if (rc == UNPROMPT_OK && !(out[i].internal_ = join_prompts(out[i].clip.prompt, out[i].booru.prompt)))
            rc = fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
        out[i].prompt = out[i].internal_;
    }
    for (size_t i = 0; rc != UNPROMPT_OK && i < n; i++) unprompt_all_result_free(&out[i]);
    return rc;
}

int unprompt_all_run_rgb(unprompt_all *a, const uint8_t *rgb, int width, int height,
                         const unprompt_all_run_params *rp, unprompt_all_result *out, char *err, size_t err_size)
{
    unprompt_rgb_image im = {.rgb = rgb, .width = width, .height = height};
    return unprompt_all_run_batch(a, &im, 1, rp, out, err, err_size);
}

int unprompt_all_run_metadata(const uint8_t *bytes, size_t len, unprompt_all_result *out, char *err,
                              size_t err_size)
{
    memset(out, 0, sizeof *out);
    unprompt_info info;
    unprompt_info_params p = unprompt_info_default_params();
    int rc = unprompt_info_read(bytes, len, &p, &info, err, err_size);
    if (rc != UNPROMPT_OK) return rc;
    int stored = info.prompt && info.prompt[0];
    char *prompt = stored ? strdup(info.prompt) : NULL;
    unprompt_info_free(&info);
    if (!stored) return fail(err, err_size, UNPROMPT_ERR_FORMAT, "no stored prompt");
    if (!prompt) return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    out->prompt = out->internal_ = prompt;
    out->from_metadata = 1;
    return UNPROMPT_OK;
}

int unprompt_all_run(unprompt_all *a, const uint8_t *bytes, size_t len, const unprompt_all_run_params *rp,
                     unprompt_all_result *out, char *err, size_t err_size)
{
    if (rp && rp->prefer_metadata && unprompt_all_run_metadata(bytes, len, out, err, err_size) == UNPROMPT_OK)
        return UNPROMPT_OK;
    memset(out, 0, sizeof *out);
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    int rc = unprompt_decode_rgb(bytes, len, &rgb, &w, &h, err, err_size);
    if (rc == UNPROMPT_OK) rc = unprompt_all_run_rgb(a, rgb, w, h, rp, out, err, err_size);
    unprompt_rgb_free(rgb);
    return rc;
}

int unprompt_all_max_caption_length(const unprompt_all *ctx)
{
    return ctx ? unprompt_clip_max_caption_length(ctx->clip) : 0;
}
