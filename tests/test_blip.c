/* BLIP captioner against the PyTorch reference of
 * tests/fixtures/make_blip_fixtures.py: a tiny BLIP (BLIP's module names,
 * vision width 32 ≠ text width 24, 2 + 2 layers, vocabulary 160) with random
 * weights, three test images, and the ids transformers' greedy and beam
 * search produce with the WebUI's call (min/max length scaled down), with and
 * without a repetition penalty. The expected ids were checked by the script
 * to be stable under float64, bf16 weights and 1e-4 logit noise.
 *
 * Goldens, at every kernel level (a level this CPU lacks is a named skip):
 * image embeddings and decoder logits (at once, and step by step as
 * generation runs them) against PyTorch's float32 and float64 runs, a
 * low-variance copy of the model where the LayerNorm epsilons matter, and
 * the bf16 file against a float64 emulation of what the level's bf16 GEMM
 * rounds. Each bound is a few times the error measured (see the tables
 * below); TEST_VERBOSE=1 prints every error next to its bound. */
#include <stdio.h>

#include "engine/models/blip/blip.h"
#include "engine/models/blip/blip_internal.h" /* the decoding steps, for the step-by-step logits */
#include "engine/models/blip/blip_search.h"
#include "format/json.h"
#include "format/safetensors.h"
#include "tests/test.h"

#define FIX "tests/fixtures/blip/"
#define MAX_IMAGES 4

static json_value *expected;
static uint8_t *model_bytes;
static size_t model_len;

static void *read_fixture(const char *name, const char *ext, size_t want)
{
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof path, FIX "%s%s", name, ext);
    void *p = test_read_file(path, &len);
    if (p && want && len != want) {
        fprintf(stderr, "    %s: %zu bytes, want %zu\n", path, len, want);
        free(p);
        return NULL;
    }
    return p;
}

static int json_int(const json_value *obj, const char *key) { return (int)json_get(obj, key)->number; }

/* ids of a JSON array into out; returns the count (≤ cap). */
static size_t json_ids(const json_value *arr, int *out, size_t cap)
{
    size_t n = arr && arr->type == JSON_ARRAY ? arr->count : 0;
    for (size_t i = 0; i < n && i < cap; i++) out[i] = (int)arr->items[i].number;
    return n < cap ? n : cap;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = test_worse(m, fabs((double)a[i] - b[i]));
    return m;
}

/* A model loaded into memory of its own (blip_load fills a caller's
 * struct), with this CPU's kernels when kt is NULL; NULL when refused.
 * unload() frees both. */
static blip_model *load_model(const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err)
{
    static kernel_table host;
    static int host_ready;
    if (!kt && !host_ready) kernels_init(&host), host_ready = 1;
    blip_model *m = calloc(1, sizeof *m);
    if (m && blip_load(m, wf, kt ? kt : &host, threads, err)) free(m), m = NULL;
    return m;
}

static void unload(blip_model *m)
{
    blip_free(m);
    free(m);
}

static blip_model *load_bytes(const uint8_t *bytes, size_t len, weights_file **wf, fmt_error *err)
{
    if (weights_open_memory(wf, bytes, len, err)) return NULL;
    blip_model *m = load_model(*wf, NULL, 2, err);
    if (!m) {
        weights_close(*wf);
        *wf = NULL;
        return NULL;
    }
    return m;
}

/* ---- fixture files rewritten: bf16 matrices, hostile configs, missing tensors */

typedef struct {
    const char *drop;           /* tensor left out, or NULL */
    const char *kind;           /* unprompt.kind (NULL: blip) */
    const char *config_key;     /* one config entry replaced by ... */
    const char *config_value;   /* ... this JSON text ("" removes the key) */
    const char *config;         /* the whole config replaced (NULL: keep) */
    int bf16;                   /* matrices (rank ≥ 2) as bf16 */
} variant;

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

/* The fixture's config with one key replaced or removed. */
static char *edit_config(const char *config, const char *key, const char *value)
{
    json_value *cfg = json_parse(config, strlen(config), NULL, NULL);
    buf out;
    buf_init(&out, 0);
    buf_append_char(&out, '{', NULL);
    int first = 1;
    for (size_t i = 0; cfg && i < cfg->count; i++) {
        const char *v = cfg->items[i].str;
        if (!strcmp(cfg->keys[i], key)) {
            if (!*value) continue;
            v = value;
        }
        buf_printf(&out, NULL, "%s\"%s\":%s", first ? "" : ",", cfg->keys[i], v);
        first = 0;
    }
    buf_append_char(&out, '}', NULL);
    json_free(cfg);
    return buf_take(&out);
}

static uint8_t *make_variant(const variant *v, size_t *len)
{
    st_file src;
    fmt_error e;
    if (st_open(&src, model_bytes, model_len, NULL, &e)) return NULL;
    st_writer w;
    st_writer_init(&w);
    uint16_t **conv = calloc(src.n_tensors, sizeof *conv);
    for (size_t i = 0; i < src.n_tensors; i++) {
        const st_tensor *t = &src.tensors[i];
        if (v->drop && !strcmp(t->name, v->drop)) continue;
        if (v->bf16 && t->dtype == ST_F32 && t->rank >= 2) {
            conv[i] = malloc(t->numel * 2);
            for (size_t j = 0; j < t->numel; j++) {
                float f;
                memcpy(&f, t->data + 4 * j, 4);
                conv[i][j] = to_bf16(f);
            }
            st_writer_add(&w, t->name, ST_BF16, t->rank, t->shape, conv[i], &e);
        } else {
            st_writer_add(&w, t->name, t->dtype, t->rank, t->shape, t->data, &e);
        }
    }
    const char *config = st_meta(&src, "unprompt.config");
    char *edited = v->config_key ? edit_config(config, v->config_key, v->config_value) : NULL;
    st_writer_meta(&w, "unprompt.kind", v->kind ? v->kind : "blip", &e);
    st_writer_meta(&w, "unprompt.dtype", v->bf16 ? "bf16" : "f32", &e);
    st_writer_meta(&w, "unprompt.config", v->config ? v->config : edited ? edited : config, &e);
    char *data = NULL;
    FILE *f = open_memstream(&data, len);
    int rc = st_writer_write(&w, f, &e);
    fclose(f);
    free(edited);
    for (size_t i = 0; i < src.n_tensors; i++) free(conv[i]);
    free(conv);
    st_writer_free(&w);
    st_close(&src);
    if (rc) {
        free(data);
        return NULL;
    }
    return (uint8_t *)data;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_load_reads_the_config(void)
{
    weights_file *wf;
    fmt_error err;
    blip_model *m = load_bytes(model_bytes, model_len, &wf, &err);
    if (!m) fprintf(stderr, "    %s\n", err.msg);
    CHECK(m != NULL);
    if (!m) return;
    const blip_config *c = blip_get_config(m);
    const json_value *want = json_get(expected, "config");
    CHECK(c->image_size == json_int(want, "image_size") && c->patch == json_int(want, "patch"));
    CHECK(c->vision_width == 32 && c->text_width == 24 && c->vision_layers == 2 && c->text_layers == 2);
    CHECK(c->vocab_size == json_int(want, "vocab_size") && c->max_positions == json_int(want, "max_positions"));
    CHECK(c->bos_id == json_int(want, "bos_id") && c->sep_id == 102 && c->pad_id == 0);
    CHECK(c->image_tokens == 17);
    CHECK(c->vision_eps == 1e-6f && c->text_eps == 1e-12f);
    unload(m);
    weights_close(wf);
}

static void test_preprocess_is_pixel_exact(void)
{
    weights_file *wf;
    fmt_error err;
    blip_model *m = load_bytes(model_bytes, model_len, &wf, &err);
    CHECK(m != NULL);
    if (!m) return;
    const json_value *imgs = json_get(expected, "images");
    size_t n = 32 * 32 * 3;
    for (size_t i = 0; imgs && i < imgs->count; i++) {
        const json_value *im = &imgs->items[i];
        const char *name = json_str(json_get(im, "name"));
        int w = json_int(im, "width"), h = json_int(im, "height");
        uint8_t *rgb = read_fixture(name, ".rgb", (size_t)w * h * 3);
        float *want = read_fixture(name, ".pixels.f32", n * 4), *got = malloc(n * 4);
        CHECK(rgb && want);
        if (rgb && want) {
            CHECK(blip_preprocess(m, rgb, w, h, got, &err) == 0);
            size_t bad = 0;
            for (size_t j = 0; j < n; j++) bad += memcmp(&got[j], &want[j], 4) != 0;
            if (bad) fprintf(stderr, "    %s: %zu of %zu floats differ (max %g)\n", name, bad, n, max_diff(got, want, n));
            CHECK(bad == 0);
        }
        free(rgb), free(want), free(got);
    }
    float dummy[4];
    CHECK(blip_preprocess(m, (const uint8_t *)"", 0, 5, dummy, &err) == -1);
    unload(m);
    weights_close(wf);
}

/* Every case of every image: decode the raw RGB, encode, generate. */
static void check_generation(blip_model *m, int bf16)
{
    fmt_error err;
    const json_value *imgs = json_get(expected, "images");
    int prompt[8], ids[64], want[64];
    size_t n_prompt = json_ids(json_get(expected, "prompt"), prompt, 8), checked = 0;
    float *px = malloc(32 * 32 * 3 * 4), *embeds = malloc(17 * 32 * 4);
    for (size_t i = 0; imgs && i < imgs->count; i++) {
        const json_value *im = &imgs->items[i];
        const char *name = json_str(json_get(im, "name"));
        int w = json_int(im, "width"), h = json_int(im, "height");
        uint8_t *rgb = read_fixture(name, ".rgb", (size_t)w * h * 3);
        CHECK(rgb && blip_preprocess(m, rgb, w, h, px, &err) == 0 && blip_encode_image(m, px, embeds, &err) == 0);
        free(rgb);
        const json_value *cases = json_get(im, "cases");
        for (size_t k = 0; cases && k < cases->count; k++) {
            const json_value *cs = &cases->items[k];
            blip_generate_params p = {.beams = json_int(cs, "beams"),
                                      .min_length = json_int(cs, "min_length"),
                                      .max_length = json_int(cs, "max_length"),
                                      .repetition_penalty = (float)json_get(cs, "repetition_penalty")->number};
            const json_value *ref = json_get(cs, "ids");
            if (bf16) { /* greedy: the f32 ids; beams: the bf16 model's own, when robust */
                if (p.beams > 1) ref = json_get(cs, "ids_bf16");
                if (!ref || ref->type != JSON_ARRAY) continue;
            }
            size_t nw = json_ids(ref, want, 64), n = 0;
            int rc = blip_generate(m, embeds, prompt, n_prompt, &p, ids, 64, &n, &err);
            if (rc) fprintf(stderr, "    %s\n", err.msg);
            int same = rc == 0 && n == nw && !memcmp(ids, want, n * sizeof *ids);
            if (!same) {
                fprintf(stderr, "    %s beams %d min %d max %d rep %g:\n      got ", name, p.beams, p.min_length,
                        p.max_length, p.repetition_penalty);
                for (size_t j = 0; j < n; j++) fprintf(stderr, " %d", ids[j]);
                fprintf(stderr, "\n      want");
                for (size_t j = 0; j < nw; j++) fprintf(stderr, " %d", want[j]);
                fprintf(stderr, "\n");
            }
            CHECK(same);
            checked++;
        }
    }
    CHECK(checked >= (bf16 ? 15u : 27u));
    free(px), free(embeds);
}

/* The images captioned together (blip_generate_batch), image 0 twice: every
 * caption equals the reference for its image, greedy cases ending at
 * different lengths and beam cases (searched one image at a time) alike. */
static void check_batch(blip_model *m, int bf16)
{
    fmt_error err;
    const json_value *imgs = json_get(expected, "images");
    size_t n_img = imgs ? imgs->count : 0, n = 0, checked = 0, ragged = 0;
    CHECK(n_img >= 2 && n_img < MAX_IMAGES);
    if (n_img < 2 || n_img >= MAX_IMAGES) return;
    int prompt[8], ids[(MAX_IMAGES + 1) * 64], want[64];
    size_t n_prompt = json_ids(json_get(expected, "prompt"), prompt, 8), n_ids[MAX_IMAGES + 1], src[MAX_IMAGES + 1];
    float *embeds[MAX_IMAGES + 1], *px = malloc(32 * 32 * 3 * 4);
    for (size_t i = 0; i <= n_img; i++) {
        src[n] = i < n_img ? i : 0;
        const json_value *im = &imgs->items[src[n]];
        int w = json_int(im, "width"), h = json_int(im, "height");
        uint8_t *rgb = read_fixture(json_str(json_get(im, "name")), ".rgb", (size_t)w * h * 3);
        embeds[n] = malloc(17 * 32 * 4);
        CHECK(rgb && blip_preprocess(m, rgb, w, h, px, &err) == 0 && blip_encode_image(m, px, embeds[n], &err) == 0);
        free(rgb);
        n++;
    }
    const json_value *cases0 = json_get(&imgs->items[0], "cases");
    for (size_t k = 0; cases0 && k < cases0->count; k++) {
        const json_value *cs = &cases0->items[k];
        blip_generate_params p = {.beams = json_int(cs, "beams"),
                                  .min_length = json_int(cs, "min_length"),
                                  .max_length = json_int(cs, "max_length"),
                                  .repetition_penalty = (float)json_get(cs, "repetition_penalty")->number};
        if (bf16 && p.beams > 1) continue; /* the bf16 beam ids are checked one by one above */
        int rc = blip_generate_batch(m, (const float *const *)embeds, n, prompt, n_prompt, &p, ids, 64, n_ids, &err);
        if (rc) fprintf(stderr, "    batch: %s\n", err.msg);
        CHECK(rc == 0);
        for (size_t i = 0; i < n && rc == 0; i++) {
            const json_value *ci = &json_get(&imgs->items[src[i]], "cases")->items[k];
            CHECK(json_int(ci, "beams") == p.beams && json_int(ci, "max_length") == p.max_length);
            size_t nw = json_ids(json_get(ci, "ids"), want, 64);
            int same = n_ids[i] == nw && !memcmp(ids + i * 64, want, nw * sizeof *want);
            if (!same) fprintf(stderr, "    batch stream %zu (image %zu), case %zu differs\n", i, src[i], k);
            CHECK(same);
            ragged += p.beams == 1 && n_ids[i] != n_ids[0];
            checked++;
        }
    }
    CHECK(ragged > 0); /* some greedy streams ended before others */
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "    batch: %zu captions checked\n", checked);
    CHECK(checked >= (bf16 ? 16u : 36u));
    for (size_t i = 0; i < n; i++) free(embeds[i]);
    free(px);
}

/* ---- goldens: the engine's outputs against the references, per kernel level ---- */

/* The kernel levels the code knows; each case below runs once per level,
 * and a level this CPU (or this build's architecture) lacks is a named skip. */
#define LEVEL_CASES(fn)                                     \
    static void fn##_amx(void) { fn("amx"); }               \
    static void fn##_avx512bf16(void) { fn("avx512bf16"); } \
    static void fn##_avx512(void) { fn("avx512"); }         \
    static void fn##_avx2(void) { fn("avx2"); }             \
    static void fn##_neon(void) { fn("neon"); }             \
    static void fn##_scalar(void) { fn("scalar"); }
#define RUN_LEVELS(fn)        \
    RUN(fn##_amx);            \
    RUN(fn##_avx512bf16);     \
    RUN(fn##_avx512);         \
    RUN(fn##_avx2);           \
    RUN(fn##_neon);           \
    RUN(fn##_scalar)

/* How far an output is from a reference: max |got - ref| / max |ref| (at
 * the scale of the whole output) and the worst row's ||got - ref|| / ||ref||
 * (rows: image tokens, or logit positions; a bug confined to one token or
 * position shows at that row's own scale). NaN anywhere is the worst. */
typedef struct {
    double scaled, row;
} golden_err;

static golden_err golden_compare(const float *got, const double *ref, size_t rows, size_t cols)
{
    double dmax = 0, rmax = 0, worst_row = 0;
    for (size_t r = 0; r < rows; r++) {
        double dd = 0, rr = 0;
        for (size_t j = 0; j < cols; j++) {
            double w = ref[r * cols + j], d = (double)got[r * cols + j] - w;
            dmax = test_worse(dmax, fabs(d));
            rmax = fabs(w) > rmax ? fabs(w) : rmax;
            dd += d * d, rr += w * w;
        }
        worst_row = test_worse(worst_row, sqrt(dd / rr));
    }
    return (golden_err){dmax / rmax, worst_row};
}

static int golden_within(golden_err e, golden_err bound) { return e.scaled <= bound.scaled && e.row <= bound.row; }

static void check_golden(const char *level, const char *what, const float *got, const double *ref, size_t rows,
                         size_t cols, golden_err bound)
{
    golden_err e = golden_compare(got, ref, rows, cols);
    int ok = golden_within(e, bound);
    if (!ok || getenv("TEST_VERBOSE"))
        fprintf(stderr, "    %-10s %-46s max|diff|/max|ref| %9.3g (bound %.3g)  worst row %9.3g (bound %.3g)%s\n",
                level, what, e.scaled, bound.scaled, e.row, bound.row, ok ? "" : "  FAILS");
    CHECK(ok);
}

/* A reference output as doubles: NAME + ext, float32 (".f32") or float64. */
static double *read_ref(const char *name, const char *ext, size_t count)
{
    size_t f64 = strstr(ext, ".f64") != NULL, es = f64 ? 8 : 4;
    unsigned char *raw = read_fixture(name, ext, count * es);
    double *out = raw ? malloc(count * sizeof *out) : NULL;
    for (size_t i = 0; out && i < count; i++) {
        if (f64) {
            memcpy(&out[i], raw + 8 * i, 8);
        } else {
            float f;
            memcpy(&f, raw + 4 * i, 4);
            out[i] = f;
        }
    }
    if (!out) fprintf(stderr, "    fixture %s%s missing or of another size\n", name, ext);
    free(raw);
    return out;
}

static const char *image_name(size_t i)
{
    const json_value *imgs = json_get(expected, "images");
    return imgs && i < imgs->count ? json_str(json_get(&imgs->items[i], "name")) : NULL;
}

/* The fixture model on a level's kernels: f32 (MODEL_F32), its bf16
 * variant, or the low-variance one; NULL and a skip reason when this CPU
 * lacks the level. */
enum { MODEL_F32, MODEL_BF16, MODEL_LOWVAR };

static blip_model *load_at_level(const char *level, int which, weights_file **wf, kernel_table *kt, char *skip,
                                 size_t skip_len)
{
    *wf = NULL;
    if (kernels_init_level(kt, level)) {
        snprintf(skip, skip_len, "kernel level %s: this CPU or build lacks it", level);
        return NULL;
    }
    skip[0] = 0;
    static uint8_t *bf16_bytes, *lowvar_bytes;
    static size_t bf16_len, lowvar_len;
    if (which == MODEL_BF16 && !bf16_bytes) {
        variant v = {.bf16 = 1};
        bf16_bytes = make_variant(&v, &bf16_len);
    }
    if (which == MODEL_LOWVAR && !lowvar_bytes)
        lowvar_bytes = test_read_file(FIX "tiny_blip_lowvar.safetensors", &lowvar_len);
    const uint8_t *bytes = which == MODEL_BF16 ? bf16_bytes : which == MODEL_LOWVAR ? lowvar_bytes : model_bytes;
    size_t len = which == MODEL_BF16 ? bf16_len : which == MODEL_LOWVAR ? lowvar_len : model_len;
    fmt_error err = {{0}};
    blip_model *m = NULL;
    if (!bytes || weights_open_memory(wf, bytes, len, &err) || !(m = load_model(*wf, kt, 2, &err))) {
        fprintf(stderr, "    %s: %s\n", level, bytes ? err.msg : "the bf16 variant or tiny_blip_lowvar is missing");
        weights_close(*wf);
        *wf = NULL;
        return NULL;
    }
    CHECK(blip_decode_weight_bytes(m) > 0);
    return m;
}

#define TOKENS 17
#define WIDTH 32
#define VOCAB 160
#define N_LOGIT_IDS 9

/* The logits as generation computes them: the first n_prompt ids as a
 * prompt (blip_generate's prefill), then one id per step through the
 * self-attention cache, fed to `beams` identical beams (with beams > 1 the
 * image's keys and values are projected once, as for beam search). Rows
 * n_prompt - 1 .. n - 1 of every beam into out[beam][row][V] (the rows
 * before unset). */
static int stepwise_logits(blip_model *m, const float *embeds, const int *ids, size_t n, size_t n_prompt, int beams,
                           float *out)
{
    fmt_error err;
    size_t H = (size_t)m->config.text_width, V = (size_t)m->config.vocab_size;
    if (blip_decode_reserve(m, beams, n, n_prompt > (size_t)beams ? n_prompt : (size_t)beams, 1, &err)) return -1;
    m->dec.kv_projected = m->kv_bf16 || beams > 1;
    blip_cross_image(m, embeds, 0);
    blip_rows_prompts(m, 1, n_prompt);
    blip_decode_rows(m, ids, n_prompt, 0, n_prompt);
    blip_lm_head(m, m->dec.x + (n_prompt - 1) * H, 1, out + (n_prompt - 1) * V);
    for (int b = 1; b < beams; b++) memcpy(out + ((size_t)b * n + n_prompt - 1) * V, out + (n_prompt - 1) * V, V * 4);
    blip_cache_broadcast(m, beams, n_prompt);
    int tokens[BLIP_MAX_BEAMS];
    float *step = malloc((size_t)beams * V * sizeof *step);
    if (!step) return -1;
    for (size_t pos = n_prompt; pos < n; pos++) {
        for (int b = 0; b < beams; b++) tokens[b] = ids[pos];
        blip_rows_beams(m, (size_t)beams);
        blip_decode_rows(m, tokens, (size_t)beams, pos, 0);
        blip_lm_head(m, m->dec.x, (size_t)beams, step);
        for (int b = 0; b < beams; b++) memcpy(out + ((size_t)b * n + pos) * V, step + (size_t)b * V, V * 4);
    }
    free(step);
    return 0;
}

/* Every image's embeddings, one image at a time and four at once (images
 * 1, 0, 1, 2), and the decoder's logits over logits_ids for image 0's
 * float32 reference embeddings (all positions, then a 5-id prefix alone: a
 * prefix's logits do not depend on what follows), against the reference
 * files NAME.embeds.SUFFIX and logits.SUFFIX. With `trials` (an emulation's
 * name), an output's bound is raised to TRIALS_FACTOR times the worst error
 * of the fixture script's float32 trials of that emulation on that output
 * (expected.json "bf16_trials"), where that is larger. */
typedef struct {
    const char *suffix; /* "f32", "f64", "bf16w.f64", "bf16wa.f64" */
    golden_err embeds, logits;
    const char *trials; /* NULL, "bf16w" or "bf16wa" */
} golden_ref;

#define TRIALS_FACTOR 2.0

static golden_err output_bound(const golden_ref *r, const char *output, golden_err bound)
{
    if (!r->trials) return bound;
    const json_value *w = json_get(json_get(json_get(expected, "bf16_trials"), r->trials), output);
    CHECK(w && w->type == JSON_ARRAY && w->count == 2);
    if (!w || w->type != JSON_ARRAY || w->count != 2) return (golden_err){0, 0};
    double scaled = TRIALS_FACTOR * w->items[0].number, row = TRIALS_FACTOR * w->items[1].number;
    return (golden_err){scaled > bound.scaled ? scaled : bound.scaled, row > bound.row ? row : bound.row};
}

static void check_outputs(blip_model *m, const char *level, const golden_ref *refs, size_t n_refs)
{
    fmt_error err;
    const size_t ne = TOKENS * WIDTH, np = 32 * 32 * 3;
    size_t n_img = 0;
    while (image_name(n_img)) n_img++;
    CHECK(n_img == 3);
    if (n_img != 3) return;
    float *px[3], got[4 * TOKENS * WIDTH];
    for (size_t i = 0; i < 3; i++) px[i] = read_fixture(image_name(i), ".pixels.f32", np * 4);
    CHECK(px[0] && px[1] && px[2]);
    int ids[64];
    size_t n_ids = json_ids(json_get(expected, "logits_ids"), ids, 64);
    CHECK(n_ids == N_LOGIT_IDS);
    float *embeds0 = read_fixture(image_name(0), ".embeds.f32", ne * 4);
    float *logits = malloc(N_LOGIT_IDS * VOCAB * sizeof *logits);
    CHECK(embeds0 != NULL);
    for (size_t k = 0; px[0] && px[1] && px[2] && k < n_refs; k++) {
        char ext[48], what[96];
        const golden_ref *r = &refs[k];
        snprintf(ext, sizeof ext, ".embeds.%s", r->suffix);
        double *want[3];
        for (size_t i = 0; i < 3; i++) want[i] = read_ref(image_name(i), ext, ne);
        CHECK(want[0] && want[1] && want[2]);
        golden_err bound[3];
        for (size_t i = 0; i < 3; i++) {
            snprintf(what, sizeof what, "%s.embeds", image_name(i));
            bound[i] = output_bound(r, what, r->embeds);
        }
        for (size_t i = 0; i < 3 && want[i]; i++) {
            CHECK(blip_encode_image(m, px[i], got, &err) == 0);
            snprintf(what, sizeof what, "%s embeds vs %s", image_name(i), r->suffix);
            check_golden(level, what, got, want[i], TOKENS, WIDTH, bound[i]);
        }
        static const int order[4] = {1, 0, 1, 2};
        const float *pix[4] = {px[1], px[0], px[1], px[2]};
        CHECK(blip_encode_images(m, pix, 4, got, &err) == 0);
        for (size_t i = 0; i < 4 && want[0] && want[1] && want[2]; i++) {
            snprintf(what, sizeof what, "4 at once, #%zu embeds vs %s", i, r->suffix);
            check_golden(level, what, got + i * ne, want[order[i]], TOKENS, WIDTH, bound[order[i]]);
        }
        for (size_t i = 0; i < 3; i++) free(want[i]);

        snprintf(ext, sizeof ext, ".%s", r->suffix);
        double *lw = read_ref("logits", ext, N_LOGIT_IDS * VOCAB);
        CHECK(lw != NULL);
        if (lw && embeds0 && logits && n_ids == N_LOGIT_IDS) {
            golden_err lb = output_bound(r, "logits", r->logits);
            CHECK(blip_decoder_logits(m, embeds0, ids, N_LOGIT_IDS, logits, &err) == 0);
            snprintf(what, sizeof what, "logits vs %s", r->suffix);
            check_golden(level, what, logits, lw, N_LOGIT_IDS, VOCAB, lb);
            CHECK(blip_decoder_logits(m, embeds0, ids, 5, logits, &err) == 0);
            snprintf(what, sizeof what, "logits of 5 ids vs %s", r->suffix);
            check_golden(level, what, logits, lw, 5, VOCAB, lb);
            /* step by step from a 4-id prompt: greedy, then 3 beams */
            static const int beams[2] = {1, 3};
            for (size_t j = 0; j < 2; j++) {
                float *steps = malloc((size_t)beams[j] * N_LOGIT_IDS * VOCAB * sizeof *steps);
                CHECK(steps && stepwise_logits(m, embeds0, ids, N_LOGIT_IDS, 4, beams[j], steps) == 0);
                for (int b = 0; steps && b < beams[j]; b++) {
                    snprintf(what, sizeof what, "logits by steps, beam %d of %d, vs %s", b + 1, beams[j], r->suffix);
                    check_golden(level, what, steps + ((size_t)b * N_LOGIT_IDS + 3) * VOCAB, lw + 3 * VOCAB,
                                 N_LOGIT_IDS - 3, VOCAB, lb);
                }
                free(steps);
            }
        }
        free(lw);
    }
    CHECK(blip_encode_images(m, (const float *const *)px, 0, got, &err) == -1);
    for (size_t i = 0; i < 3; i++) free(px[i]);
    free(embeds0), free(logits);
}

/* float32 weights: against PyTorch's float32 run and its float64 run of
 * the same network. The fixture script's float32 error against float64:
 * embeddings 6.2e-7 of their scale (worst row 7.8e-7), logits 3.4e-7
 * (3.4e-7). The engine's, worst over the levels avx512bf16, avx512, avx2
 * and scalar (gcc -O2, clang -O2 and clang -O1 ASan builds) and neon and
 * scalar (aarch64 gcc -O2 under qemu), the logits at once and by steps
 * alike, the low-variance model below too:
 *                 vs float32            vs float64            low-variance, vs float64
 *   embeddings    5.0e-7 (row 5.8e-7)   6.0e-7 (row 7.5e-7)   6.6e-7 (row 6.8e-7)
 *   logits        6.3e-7 (row 6.0e-7)   5.6e-7 (row 6.1e-7)   5.9e-7 (row 5.3e-7)
 * The bounds are about 4 times the worst, the same at every level (the
 * levels differ by less than 40 %). Here a ViT LayerNorm epsilon of 1e-5
 * for 1e-6 moves the embeddings by 6.6e-6 (row 6.8e-6), the decoder's of
 * 1e-6 for 1e-12 the logits by 2.6e-6 (row 2.8e-6: barely out, hence the
 * low-variance model), the tanh GELU for the erf one by 1.6e-4 and 2.9e-4. */
static const golden_ref refs_f32[] = {
    {.suffix = "f32",
     .embeds = {.scaled = 2.5e-6, .row = 3e-6},
     .logits = {.scaled = 2.5e-6, .row = 2.5e-6},
     .trials = NULL},
    {.suffix = "f64",
     .embeds = {.scaled = 2.5e-6, .row = 3e-6},
     .logits = {.scaled = 2.5e-6, .row = 2.5e-6},
     .trials = NULL},
};

/* The low-variance model (tiny_blip_lowvar.safetensors, made by the
 * script's low_variance()): the fixture model with every LayerNorm input of
 * the ViT's blocks and of the text decoder 100 times smaller, the same
 * function up to the epsilons, whose weight it raises 1e4 times: there an
 * epsilon of 1e-5 for the ViT's 1e-6 moves the embeddings by 5.0e-2 of
 * their scale (row 5.6e-2), 1e-6 for the decoder's 1e-12 the logits by
 * 4.6e-3 (row 5.6e-3). Against its float64 run only (PyTorch's float32
 * error: embeddings 5.4e-7, row 5.2e-7; logits 3.7e-7, row 4.8e-7); the
 * engine's is in the table above. */
static const golden_ref ref_lowvar = {.suffix = "lowvar.f64",
                                      .embeds = {.scaled = 2.5e-6, .row = 3e-6},
                                      .logits = {.scaled = 2.5e-6, .row = 2.5e-6},
                                      .trials = NULL};

/* What to check of one model file at one level: golden outputs, token ids,
 * or both; and whether its weights are bf16. */
typedef struct {
    const golden_ref *refs;
    size_t n_refs;
    int ids;
    int bf16;
} model_checks;

/* Load model `which` at `level` (a named skip when the CPU lacks it), run
 * the checks, free it. */
static void check_model(const char *level, int which, const model_checks *c)
{
    char skip[96];
    weights_file *wf;
    kernel_table kt;
    blip_model *m = load_at_level(level, which, &wf, &kt, skip, sizeof skip);
    if (skip[0]) SKIP(skip);
    CHECK(m != NULL);
    if (!m) return;
    /* a bf16 model runs the level's own bf16 GEMM (neon has none: the scalar one) */
    if (c->bf16) CHECK_STR(kt.bf16.name, strcmp(level, "neon") ? level : "scalar");
    if (c->refs) check_outputs(m, level, c->refs, c->n_refs);
    if (c->ids) {
        check_generation(m, c->bf16);
        check_batch(m, c->bf16);
    }
    unload(m);
    weights_close(wf);
}

static void test_f32_goldens(const char *level)
{
    check_model(level, MODEL_F32, &(model_checks){.refs = refs_f32, .n_refs = sizeof refs_f32 / sizeof refs_f32[0]});
    check_model(level, MODEL_LOWVAR, &(model_checks){.refs = &ref_lowvar, .n_refs = 1});
}
LEVEL_CASES(test_f32_goldens)

/* bf16 weights (every tensor of rank >= 2 rounded, as the converter
 * writes them) against the float64 emulation of what this level's bf16
 * GEMM rounds: the weights only (bf16w: scalar, avx2, avx512 and neon widen
 * them), or the activations it multiplies too (bf16wa: avx512bf16 and amx
 * round A to bf16); both keep the image's cross-attention keys and values
 * as bf16. The two emulations differ by 3.3e-3 to 4.7e-3 of the
 * embeddings' scale, and either from float32 weights by ~5e-3.
 *
 * The engine's errors against its level's emulation, worst over the levels
 * and builds above, logits at once and by steps (the worst of the fixture
 * script's float32 trials, which sum each Linear in a random order, in
 * brackets):
 *                 bf16w (scalar, avx2, avx512, neon)  bf16wa (avx512bf16)
 *   embeddings    6.9e-7, row 6.5e-7 (9.3e-7)         2.0e-7, row 1.8e-7 (2.1e-7)
 *   logits        4.8e-7, row 4.3e-7 (5.1e-7)         6.8e-8, row 3.8e-8 (8.0e-8)
 * The bounds are 3-5 times the worse of the two. One output is an
 * exception: one of same_32x32's values rounded to bf16 under bf16wa lies
 * so near the middle of two bf16 numbers that 37 of the 100 trials rounded
 * it the other way, moving the embeddings by up to 1.8e-3 (row 2.0e-3);
 * this machine's avx512bf16 does not, but amx (another summation order)
 * may, so that output's bound is TRIALS_FACTOR times the trials' worst.
 * amx rounds the same operands as avx512bf16 and is bounded alike (this
 * machine has no AMX to measure it on). */
static int rounds_activations(const char *level) { return !strcmp(level, "avx512bf16") || !strcmp(level, "amx"); }

static void test_bf16_goldens(const char *level)
{
    static const golden_ref widened = {.suffix = "bf16w.f64",
                                       .embeds = {.scaled = 3e-6, .row = 3e-6},
                                       .logits = {.scaled = 2e-6, .row = 2e-6},
                                       .trials = "bf16w"};
    static const golden_ref rounded = {.suffix = "bf16wa.f64",
                                       .embeds = {.scaled = 1e-6, .row = 9e-7},
                                       .logits = {.scaled = 4e-7, .row = 2e-7},
                                       .trials = "bf16wa"};
    check_model(level, MODEL_BF16,
                &(model_checks){.refs = rounds_activations(level) ? &rounded : &widened, .n_refs = 1, .bf16 = 1});
}
LEVEL_CASES(test_bf16_goldens)

/* Token ids, exactly, with every kernel level (the f32 products are packed
 * panels at the AVX-512 levels and OpenBLAS below; layer norm, softmax,
 * GELU, exp differ per level). */
static void test_f32_ids(const char *level)
{
    check_model(level, MODEL_F32, &(model_checks){.ids = 1});
}
LEVEL_CASES(test_f32_ids)

/* bf16 weights: greedy ids equal the f32 ones (the fixture checked that
 * bf16w and bf16wa both keep them); beam ids are the bf16 model's own where
 * both emulations agree on them. */
static void test_bf16_ids(const char *level)
{
    check_model(level, MODEL_BF16, &(model_checks){.ids = 1, .bf16 = 1});
}
LEVEL_CASES(test_bf16_ids)

/* ---- the search alone, on the fixture's synthetic model -------------------------- */

typedef struct {
    float *table; /* [rows][vocab] */
    size_t rows, vocab, mult;
} fake_model;

static void fake_row(const fake_model *f, int id, size_t pos, float *out)
{
    memcpy(out, f->table + (((size_t)id * f->mult + pos) % f->rows) * f->vocab, f->vocab * sizeof(float));
}

static void fake_prefill(void *ctx, const int *prompt, size_t n, float *logits)
{
    fake_row(ctx, prompt[n - 1], n - 1, logits);
}

static void fake_step(void *ctx, const int *tokens, int beams, size_t pos, float *logits)
{
    const fake_model *f = ctx;
    for (int b = 0; b < beams; b++) fake_row(f, tokens[b], pos, logits + (size_t)b * f->vocab);
}

static void test_search_semantics_on_synthetic_logits(void)
{
    const json_value *S = json_get(expected, "search"), *table = json_get(S, "table"), *cases = json_get(S, "cases");
    CHECK(S && table && cases && cases->count >= 90);
    if (!S || !table || !cases) return;
    fake_model f = {.table = malloc(table->count * sizeof(float)),
                    .rows = (size_t)json_int(S, "rows"),
                    .vocab = (size_t)json_int(S, "vocab"),
                    .mult = (size_t)json_int(S, "mult")};
    CHECK(table->count == f.rows * f.vocab);
    for (size_t i = 0; i < table->count; i++) f.table[i] = (float)table->items[i].number;
    blip_search_model model = {.ctx = &f,
                               .vocab = f.vocab,
                               .eos = json_int(S, "eos"),
                               .prefill = fake_prefill,
                               .step = fake_step,
                               .reorder = NULL};
    int prompt[8], ids[64], want[64];
    size_t n_prompt = json_ids(json_get(S, "prompt"), prompt, 8), bad = 0;
    for (size_t k = 0; k < cases->count; k++) {
        const json_value *cs = &cases->items[k];
        blip_generate_params p = {.beams = json_int(cs, "beams"),
                                  .min_length = json_int(cs, "min_length"),
                                  .max_length = json_int(cs, "max_length"),
                                  .repetition_penalty = (float)json_get(cs, "repetition_penalty")->number};
        size_t nw = json_ids(json_get(cs, "ids"), want, 64), n = 0;
        fmt_error err;
        int rc = blip_search(&model, prompt, n_prompt, &p, ids, 64, &n, &err);
        if (rc || n != nw || memcmp(ids, want, n * sizeof *ids)) {
            if (bad++ < 5) {
                fprintf(stderr, "    beams %d min %d max %d rep %g: got", p.beams, p.min_length, p.max_length,
                        p.repetition_penalty);
                for (size_t j = 0; j < n; j++) fprintf(stderr, " %d", ids[j]);
                fprintf(stderr, ", want");
                for (size_t j = 0; j < nw; j++) fprintf(stderr, " %d", want[j]);
                fprintf(stderr, "\n");
            }
        }
    }
    CHECK(bad == 0);
    free(f.table);
}

static void expect_refused(const variant *v, const char *why)
{
    size_t len = 0;
    uint8_t *bytes = make_variant(v, &len);
    CHECK(bytes != NULL);
    if (!bytes) return;
    weights_file *wf = NULL;
    fmt_error err = {{0}};
    blip_model *m = NULL;
    int rc = weights_open_memory(&wf, bytes, len, &err);
    if (rc == 0) rc = (m = load_model(wf, NULL, 1, &err)) ? 0 : -1;
    if (rc != -1 || m || !err.msg[0]) fprintf(stderr, "    not refused: %s\n", why);
    else if (getenv("TEST_VERBOSE")) fprintf(stderr, "    %s -> %s\n", why, err.msg);
    CHECK(rc == -1 && m == NULL && err.msg[0]);
    unload(m);
    weights_close(wf);
    free(bytes);
}

static void test_hostile_files_are_refused(void)
{
    const variant vs[] = {
        {.drop = "text_decoder.bert.encoder.layer.1.output.dense.bias"},
        {.drop = "visual_encoder.blocks.1.attn.qkv.weight"},
        {.drop = "text_decoder.cls.predictions.bias"},
        {.drop = "visual_encoder.pos_embed"},
        {.kind = "clip"},
        {.config = "not json"},
        {.config = "[1, 2]"},
        {.config_key = "vision_width", .config_value = "64"},  /* tensors no longer match */
        {.config_key = "text_width", .config_value = "48"},
        {.config_key = "vocab_size", .config_value = "161"},
        {.config_key = "max_positions", .config_value = "41"},
        {.config_key = "vision_mlp", .config_value = "65"},
        {.config_key = "vision_heads", .config_value = "3"},   /* 32 not divisible */
        {.config_key = "text_heads", .config_value = "5"},
        {.config_key = "image_size", .config_value = "33"},    /* not a multiple of the patch */
        {.config_key = "patch", .config_value = "0"},
        {.config_key = "vision_layers", .config_value = "-2"},
        {.config_key = "text_layers", .config_value = "3"},    /* layer 2 missing */
        {.config_key = "text_layers", .config_value = "2.5"},
        {.config_key = "text_layers", .config_value = "\"2\""},
        {.config_key = "vocab_size", .config_value = "1e12"},
        {.config_key = "text_intermediate", .config_value = "4294967344"},
        {.config_key = "bos_id", .config_value = "160"},
        {.config_key = "sep_id", .config_value = "-1"},
        {.config_key = "text_eps", .config_value = "0"},
        {.config_key = "vision_eps", .config_value = "1e400"},
        {.config_key = "pad_id", .config_value = ""},           /* missing */
        {.config_key = "image_size", .config_value = "null"},
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        char why[160];
        snprintf(why, sizeof why, "drop %s kind %s config %s %s=%s", vs[i].drop ? vs[i].drop : "-",
                 vs[i].kind ? vs[i].kind : "-", vs[i].config ? vs[i].config : "-",
                 vs[i].config_key ? vs[i].config_key : "-", vs[i].config_value ? vs[i].config_value : "-");
        expect_refused(&vs[i], why);
    }
}

static void test_generate_refuses_bad_arguments(void)
{
    weights_file *wf;
    fmt_error err;
    blip_model *m = load_bytes(model_bytes, model_len, &wf, &err);
    CHECK(m != NULL);
    if (!m) return;
    float embeds[17 * 32] = {0};
    int prompt[4] = {158, 1, 2, 3}, ids[64];
    size_t n = 99;
    blip_generate_params ok = {.beams = 1, .min_length = 5, .max_length = 10, .repetition_penalty = 1.0f}, p;
    CHECK(blip_generate(m, embeds, prompt, 4, &ok, ids, 64, &n, &err) == 0 && n >= 5 && n <= 10);
    p = ok, p.beams = 0;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == -1 && n == 0);
    p = ok, p.beams = BLIP_MAX_BEAMS + 1;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == -1);
    p = ok, p.max_length = 42; /* 41 positions fed; the model has 40 */
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == -1);
    p.max_length = 41;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == 0 && n <= 41);
    p = ok, p.min_length = -1;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == -1);
    p = ok, p.repetition_penalty = 0;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == -1);
    p.repetition_penalty = NAN;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == -1);
    CHECK(blip_generate(m, embeds, prompt, 4, &ok, ids, 9, &n, &err) == -1); /* cap < max_length */
    CHECK(blip_generate(m, embeds, prompt, 0, &ok, ids, 64, &n, &err) == -1);
    int bad[4] = {158, 1, 160, 3}, neg[4] = {158, -1, 2, 3};
    CHECK(blip_generate(m, embeds, bad, 4, &ok, ids, 64, &n, &err) == -1);
    CHECK(blip_generate(m, embeds, neg, 4, &ok, ids, 64, &n, &err) == -1);
    /* max_length at or below the prompt: one token is still generated */
    p = ok, p.max_length = 2;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == 0 && n == 5);
    p.beams = 3;
    CHECK(blip_generate(m, embeds, prompt, 4, &p, ids, 64, &n, &err) == 0 && n == 5 && !memcmp(ids, prompt, sizeof prompt));
    CHECK(blip_decoder_logits(m, embeds, prompt, 0, (float *)embeds, &err) == -1);
    CHECK(blip_decoder_logits(m, embeds, bad, 4, (float *)embeds, &err) == -1);
    unload(m);
    weights_close(wf);
}

int main(void)
{
    size_t len = 0;
    char *text = (char *)test_read_file(FIX "expected.json", &len);
    expected = text ? json_parse(text, len, NULL, NULL) : NULL;
    free(text);
    model_bytes = test_read_file(FIX "tiny_blip.safetensors", &model_len);
    if (!expected || !model_bytes) {
        fprintf(stderr, "blip fixtures missing (run from the repository root)\n");
        return 1;
    }
    RUN(test_load_reads_the_config);
    RUN(test_preprocess_is_pixel_exact);
    RUN_LEVELS(test_f32_goldens);
    RUN_LEVELS(test_bf16_goldens);
    RUN(test_search_semantics_on_synthetic_logits);
    RUN_LEVELS(test_f32_ids);
    RUN_LEVELS(test_bf16_ids);
    RUN(test_hostile_files_are_refused);
    RUN(test_generate_refuses_bad_arguments);
    json_free(expected);
    free(model_bytes);
    return test_summary("blip");
}
