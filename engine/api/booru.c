/* Interrogate DeepBooru: decode → RGB → resize-and-fill 512 → /255 →
 * DeepDanbooru → threshold, sort, format (the public API of unprompt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/deepdanbooru/booru_tags.h"
#include "engine/models/deepdanbooru/deepdanbooru.h"
#include "engine/preprocess/model_input.h"
#include "engine/preprocess/pixels.h"
#include "engine/runtime/threads.h"
#include "engine/api/unprompt.h"

struct unprompt_booru {
    kernel_table kt;
    weights_file *file;
    deepdanbooru model;
    uint8_t *filled; /* DD_INPUT² × 3 */
    float *input;    /* DD_INPUT² × 3 */
    int threads;
};

typedef struct {
    booru_tag_result sel;
    unprompt_tag *tags;
    float *scores;
} booru_internal;

static int fail(char *err, size_t size, int status, const char *msg)
{
    if (err && size) snprintf(err, size, "%s", msg);
    return status;
}

int unprompt_booru_load(unprompt_booru **out, const char *model_path, int threads, char *err, size_t err_size)
{
    *out = NULL;
    unprompt_booru *b = calloc(1, sizeof *b);
    if (!b) return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    b->threads = threads = threads_count(threads);
    threads_use(threads);
    kernels_init(&b->kt);
    fmt_error e = {{0}};
    size_t n = (size_t)DD_INPUT * DD_INPUT * 3;
    if (weights_open(&b->file, model_path, &e) || dd_load(&b->model, b->file, &b->kt, threads, &e)) {
        weights_close(b->file);
        free(b);
        return fail(err, err_size, UNPROMPT_ERR_MODEL, e.msg);
    }
    b->filled = malloc(n);
    b->input = malloc(n * sizeof *b->input);
    if (!b->filled || !b->input) {
        unprompt_booru_free(b);
        return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    }
    *out = b;
    return UNPROMPT_OK;
}

void unprompt_booru_free(unprompt_booru *b)
{
    if (!b) return;
    dd_free(&b->model);
    weights_close(b->file);
    free(b->filled);
    free(b->input);
    free(b);
}

size_t unprompt_booru_tag_count(const unprompt_booru *b) { return (size_t)b->model.config.n_tags; }

const char *unprompt_booru_tag_name(const unprompt_booru *b, size_t i)
{
    return i < (size_t)b->model.config.n_tags ? b->model.weights.tags[i] : NULL;
}

unprompt_booru_params unprompt_booru_default_params(void)
{
    booru_tag_options o = booru_tag_default_options();
    unprompt_booru_params p = {.threshold = o.threshold,
                               .sort_by_score = o.sort_by_score,
                               .use_spaces = o.use_spaces,
                               .use_escape = o.use_escape,
                               .include_ranks = o.include_ranks,
                               .filter = o.filter};
    return p;
}

static int booru_result(unprompt_booru *b, const unprompt_booru_params *params, float *scores,
                        unprompt_booru_result *out, char *err, size_t err_size)
{
    booru_internal *in = calloc(1, sizeof *in);
    if (!in) return free(scores), fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    in->scores = scores;
    unprompt_booru_params def = unprompt_booru_default_params();
    if (!params) params = &def;
    booru_tag_options o = {.threshold = params->threshold,
                           .sort_by_score = params->sort_by_score,
                           .use_spaces = params->use_spaces,
                           .use_escape = params->use_escape,
                           .include_ranks = params->include_ranks,
                           .filter = params->filter};
    size_t n = (size_t)b->model.config.n_tags;
    if (booru_tags_select(&in->sel, b->model.weights.tags, scores, n, &o) ||
        !(in->tags = malloc((in->sel.count ? in->sel.count : 1) * sizeof *in->tags))) {
        out->internal_ = in;
        unprompt_booru_result_free(out);
        return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < in->sel.count; i++)
        in->tags[i] = (unprompt_tag){in->sel.tags[i].name, in->sel.tags[i].text, in->sel.tags[i].score};
    *out = (unprompt_booru_result){.prompt = in->sel.prompt,
                                   .tags = in->tags,
                                   .n_tags = in->sel.count,
                                   .scores = scores,
                                   .n_scores = n,
                                   .internal_ = in};
    return UNPROMPT_OK;
}

int unprompt_booru_run_rgb(unprompt_booru *b, const uint8_t *rgb, int width, int height,
                           const unprompt_booru_params *params, unprompt_booru_result *out, char *err,
                           size_t err_size)
{
    memset(out, 0, sizeof *out);
    threads_use(b->threads);
    fmt_error e = {{0}};
    if (model_input_deepdanbooru(rgb, width, height, DD_INPUT, b->filled, b->input, &e))
        return fail(err, err_size, UNPROMPT_ERR_FORMAT, e.msg);
    float *scores = malloc((size_t)b->model.config.n_tags * sizeof *scores);
    if (!scores) return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    dd_forward(&b->model, b->input, scores);
    return booru_result(b, params, scores, out, err, err_size);
}

int unprompt_booru_run(unprompt_booru *b, const uint8_t *bytes, size_t len, const unprompt_booru_params *params,
                       unprompt_booru_result *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    uint8_t *rgb;
    int w, h;
    fmt_error e = {{0}};
    if (pixels_decode_rgb(bytes, len, &rgb, &w, &h, &e)) return fail(err, err_size, UNPROMPT_ERR_FORMAT, e.msg);
    int rc = unprompt_booru_run_rgb(b, rgb, w, h, params, out, err, err_size);
    free(rgb);
    return rc;
}

void unprompt_booru_result_free(unprompt_booru_result *r)
{
    booru_internal *in = r->internal_;
    if (in) {
        booru_tag_result_free(&in->sel);
        free(in->tags);
        free(in->scores);
        free(in);
    }
    memset(r, 0, sizeof *r);
}
