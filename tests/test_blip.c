/* BLIP captioner against the PyTorch reference of
 * tests/fixtures/make_blip_fixtures.py: a tiny BLIP (BLIP's module names,
 * vision width 32 ≠ text width 24, 2 + 2 layers, vocabulary 160) with random
 * weights, three test images, and the ids transformers' greedy and beam
 * search produce with the WebUI's call (min/max length scaled down), with and
 * without a repetition penalty. The expected ids were checked by the script
 * to be stable under float64, bf16 weights and 1e-4 logit noise. */
#include <stdio.h>

#include "engine/blip.h"
#include "engine/blip_search.h"
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

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = test_worse(m, fabs((double)a[i] - b[i]));
    return m;
}

static blip_model *load_bytes(const uint8_t *bytes, size_t len, weights_file **wf, fmt_error *err)
{
    blip_model *m = NULL;
    if (weights_open_memory(wf, bytes, len, err)) return NULL;
    if (blip_load(&m, *wf, NULL, 2, err)) {
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
    blip_free(m);
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
    blip_free(m);
    weights_close(wf);
}

/* Images encoded together (image 1, 0, 1, 2) equal the reference of each. */
static void check_images_together(blip_model *m)
{
    fmt_error err;
    const json_value *imgs = json_get(expected, "images");
    size_t n_img = imgs ? imgs->count : 0, per = 17 * 32;
    CHECK(n_img >= 3);
    if (n_img < 3) return;
    static const int order[4] = {1, 0, 1, 2};
    float *px[3], *want[3], *got = malloc(4 * per * sizeof *got);
    for (size_t i = 0; i < 3; i++) {
        const char *name = json_str(json_get(&imgs->items[i], "name"));
        px[i] = read_fixture(name, ".pixels.f32", 32 * 32 * 3 * 4), want[i] = read_fixture(name, ".embeds.f32", per * 4);
    }
    int ok = got && px[0] && px[1] && px[2] && want[0] && want[1] && want[2];
    CHECK(ok);
    const float *pix[4] = {px[1], px[0], px[1], px[2]};
    CHECK(ok && blip_encode_images(m, pix, 4, got, &err) == 0);
    for (size_t i = 0; ok && i < 4; i++) {
        const float *w = want[order[i]];
        CHECK(max_diff(got + i * per, w, per) <= 1e-4 * max_abs(w, per));
    }
    CHECK(blip_encode_images(m, pix, 0, got, &err) == -1);
    for (size_t i = 0; i < 3; i++) free(px[i]), free(want[i]);
    free(got);
}

static void test_image_embeddings_match(void)
{
    weights_file *wf;
    fmt_error err;
    blip_model *m = load_bytes(model_bytes, model_len, &wf, &err);
    CHECK(m != NULL);
    if (!m) return;
    const json_value *imgs = json_get(expected, "images");
    size_t np = 32 * 32 * 3, ne = 17 * 32;
    for (size_t i = 0; imgs && i < imgs->count; i++) {
        const char *name = json_str(json_get(&imgs->items[i], "name"));
        float *px = read_fixture(name, ".pixels.f32", np * 4), *want = read_fixture(name, ".embeds.f32", ne * 4);
        float *got = malloc(ne * 4);
        CHECK(px && want);
        if (px && want) {
            CHECK(blip_encode_image(m, px, got, &err) == 0);
            double d = max_diff(got, want, ne), ref = max_abs(want, ne);
            if (!(d <= 1e-4 * ref) || getenv("TEST_VERBOSE"))
                fprintf(stderr, "    %s: embeddings max |diff| %g, max |ref| %g\n", name, d, ref);
            CHECK(d <= 1e-4 * ref);
        }
        free(px), free(want), free(got);
    }
    check_images_together(m);
    blip_free(m);
    weights_close(wf);
}

static void test_decoder_logits_match(void)
{
    weights_file *wf;
    fmt_error err;
    blip_model *m = load_bytes(model_bytes, model_len, &wf, &err);
    CHECK(m != NULL);
    if (!m) return;
    int ids[64];
    size_t n = json_ids(json_get(expected, "logits_ids"), ids, 64), V = 160;
    const char *name = json_str(json_get(&json_get(expected, "images")->items[0], "name"));
    float *embeds = read_fixture(name, ".embeds.f32", 17 * 32 * 4), *want = read_fixture("logits", ".f32", n * V * 4);
    float *got = malloc(n * V * 4);
    CHECK(embeds && want && n == 9);
    if (embeds && want) {
        CHECK(blip_decoder_logits(m, embeds, ids, n, got, &err) == 0);
        double d = max_diff(got, want, n * V), ref = max_abs(want, n * V);
        if (!(d <= 1e-4 * ref) || getenv("TEST_VERBOSE"))
            fprintf(stderr, "    logits: max |diff| %g, max |ref| %g\n", d, ref);
        CHECK(d <= 1e-4 * ref);
        /* the last row alone (a prefix's logits do not depend on what follows) */
        CHECK(blip_decoder_logits(m, embeds, ids, 5, got, &err) == 0);
        CHECK(max_diff(got, want, 5 * V) <= 1e-4 * ref);
    }
    free(embeds), free(want), free(got);
    blip_free(m);
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
            blip_generate_params p = {json_int(cs, "beams"), json_int(cs, "min_length"), json_int(cs, "max_length"),
                                      (float)json_get(cs, "repetition_penalty")->number};
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
        blip_generate_params p = {json_int(cs, "beams"), json_int(cs, "min_length"), json_int(cs, "max_length"),
                                  (float)json_get(cs, "repetition_penalty")->number};
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

/* With every kernel level this CPU has (the f32 products are packed panels
 * at the AVX-512 levels and OpenBLAS below; layer norm, softmax, GELU, exp
 * differ per level). */
static void test_greedy_and_beam_ids_equal(void)
{
    static const char *const levels[] = {"amx", "avx512bf16", "avx512", "avx2", "neon", "scalar"};
    size_t levels_run = 0;
    for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
        kernel_table kt;
        if (kernels_init_level(&kt, levels[li])) continue;
        weights_file *wf;
        fmt_error err;
        blip_model *m = NULL;
        CHECK(weights_open_memory(&wf, model_bytes, model_len, &err) == 0);
        CHECK(blip_load(&m, wf, &kt, 2, &err) == 0);
        if (m) check_generation(m, 0), check_batch(m, 0), levels_run++;
        blip_free(m);
        weights_close(wf);
    }
    CHECK(levels_run >= 1);
}

/* Every bf16 GEMM variant this CPU has: AMX and AVX512-BF16 round
 * activations too, the others widen the weights; the fixture's bf16 ids hold for both. */
static void test_bf16_weights_give_the_same_ids(void)
{
    variant v = {.bf16 = 1};
    size_t len = 0, levels_run = 0;
    uint8_t *bytes = make_variant(&v, &len);
    CHECK(bytes != NULL);
    static const char *const levels[] = {"amx", "avx512bf16", "avx512", "avx2", "neon", "scalar"};
    for (size_t li = 0; bytes && li < sizeof levels / sizeof levels[0]; li++) {
        kernel_table kt;
        if (kernels_init_level(&kt, levels[li])) continue;
        weights_file *wf;
        fmt_error err;
        blip_model *m = NULL;
        if (weights_open_memory(&wf, bytes, len, &err) == 0 && blip_load(&m, wf, &kt, 2, &err) != 0) {
            weights_close(wf);
            m = NULL;
        }
        if (!m) fprintf(stderr, "    %s: %s\n", levels[li], err.msg);
        CHECK(m != NULL);
        if (!m) continue;
        levels_run++;
        CHECK(blip_decode_weight_bytes(m) > 0);
        /* embeddings near the f32 reference */
        const char *name = json_str(json_get(&json_get(expected, "images")->items[0], "name"));
        float *px = read_fixture(name, ".pixels.f32", 32 * 32 * 3 * 4), *want = read_fixture(name, ".embeds.f32", 17 * 32 * 4);
        float got[17 * 32];
        CHECK(px && want && blip_encode_image(m, px, got, &err) == 0);
        if (px && want) {
            double d = max_diff(got, want, 17 * 32), ref = max_abs(want, 17 * 32);
            if (getenv("TEST_VERBOSE")) fprintf(stderr, "    %s: bf16 embeddings max |diff| %g, max |ref| %g\n", levels[li], d, ref);
            CHECK(d <= 0.05 * ref);
        }
        free(px), free(want);
        check_generation(m, 1);
        check_batch(m, 1);
        blip_free(m);
        weights_close(wf);
    }
    CHECK(levels_run >= 1);
    free(bytes);
}

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
    fake_model f = {malloc(table->count * sizeof(float)), (size_t)json_int(S, "rows"), (size_t)json_int(S, "vocab"),
                    (size_t)json_int(S, "mult")};
    CHECK(table->count == f.rows * f.vocab);
    for (size_t i = 0; i < table->count; i++) f.table[i] = (float)table->items[i].number;
    blip_search_model model = {&f, f.vocab, json_int(S, "eos"), fake_prefill, fake_step, NULL};
    int prompt[8], ids[64], want[64];
    size_t n_prompt = json_ids(json_get(S, "prompt"), prompt, 8), bad = 0;
    for (size_t k = 0; k < cases->count; k++) {
        const json_value *cs = &cases->items[k];
        blip_generate_params p = {json_int(cs, "beams"), json_int(cs, "min_length"), json_int(cs, "max_length"),
                                  (float)json_get(cs, "repetition_penalty")->number};
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
    if (rc == 0) rc = blip_load(&m, wf, NULL, 1, &err);
    if (rc != -1 || m || !err.msg[0]) fprintf(stderr, "    not refused: %s\n", why);
    else if (getenv("TEST_VERBOSE")) fprintf(stderr, "    %s -> %s\n", why, err.msg);
    CHECK(rc == -1 && m == NULL && err.msg[0]);
    blip_free(m);
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
    blip_generate_params ok = {1, 5, 10, 1.0f}, p;
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
    blip_free(m);
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
    RUN(test_image_embeddings_match);
    RUN(test_decoder_logits_match);
    RUN(test_search_semantics_on_synthetic_logits);
    RUN(test_greedy_and_beam_ids_equal);
    RUN(test_bf16_weights_give_the_same_ids);
    RUN(test_hostile_files_are_refused);
    RUN(test_generate_refuses_bad_arguments);
    json_free(expected);
    free(model_bytes);
    return test_summary("blip");
}
