/* The CLIP towers against the PyTorch reference of
 * tests/fixtures/make_clip_fixtures.py (OpenAI's model.py at a tiny size):
 * the committed OpenAI-named checkpoint is converted by the engine's
 * converter (f32 and bf16), then image and text features, the
 * pre-processing, batching of phrases, and damaged files are checked. */
#include <unistd.h>

#include "engine/clip.h"
#include "engine/unprompt.h"
#include "engine/weights.h"
#include "tests/test.h"

#define FIX "tests/fixtures/clip/"
#define MAX_PHRASES 8

static kernel_table kt;
static char model_f32[256], model_bf16[256];

static void test_convert(void)
{
    unprompt_convert_params p = unprompt_convert_default_params();
    char err[256];
    p.vocab_path = FIX "merges.txt";
    p.config_path = FIX "heads.json";
    snprintf(model_f32, sizeof model_f32, "/tmp/unprompt-clip-%ld.safetensors", (long)getpid());
    snprintf(model_bf16, sizeof model_bf16, "/tmp/unprompt-clip-%ld-bf16.safetensors", (long)getpid());
    int rc = unprompt_convert(FIX "tiny.pt", model_f32, &p, err, sizeof err);
    CHECK(rc == UNPROMPT_OK);
    if (rc != UNPROMPT_OK) fprintf(stderr, "    %s\n", err);
    p.dtype = "bf16";
    CHECK(unprompt_convert(FIX "tiny.pt", model_bf16, &p, err, sizeof err) == UNPROMPT_OK);
}

static float *read_floats(const char *name, size_t *n)
{
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof path, FIX "%s", name);
    float *f = (float *)(void *)test_read_file(path, &len);
    if (n) *n = len / sizeof(float);
    return f;
}

/* cos ≥ min_cos and max |Δ| ≤ rel · max |want|. */
static void check_close(const float *got, const float *want, size_t n, double min_cos, double rel)
{
    double dot = 0, gg = 0, ww = 0, maxd = 0, maxw = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)got[i] * want[i], gg += (double)got[i] * got[i], ww += (double)want[i] * want[i];
        double d = fabs((double)got[i] - want[i]);
        maxd = d > maxd ? d : maxd;
        maxw = fabs(want[i]) > maxw ? fabs(want[i]) : maxw;
    }
    double cos = dot / sqrt(gg * ww);
    CHECK(cos >= min_cos);
    CHECK(maxd <= rel * maxw);
    if (cos < min_cos || maxd > rel * maxw) fprintf(stderr, "    cos %.8f, max |d| %.3g of %.3g\n", cos, maxd, maxw);
}

static int open_model(const char *file, weights_file **wf, clip_model *m)
{
    fmt_error err = {{0}};
    if (weights_open(wf, file, &err)) {
        fprintf(stderr, "    %s\n", err.msg);
        return -1;
    }
    if (clip_load(m, *wf, &kt, 2, &err)) {
        fprintf(stderr, "    %s\n", err.msg);
        weights_close(*wf);
        return -1;
    }
    return 0;
}

/* Both images in one pass (image 1, image 0, image 1: the arena grows to
 * three): each equals the reference as well. */
static void check_images_together(clip_model *m, double min_cos, double rel)
{
    float *x[2] = {NULL, NULL}, *want[2] = {NULL, NULL}, got[3 * 64];
    size_t e = (size_t)m->config.embed_dim, ok = e <= 64;
    for (int i = 0; i < 2; i++) {
        char name[64];
        size_t n_in = 0, n_out = 0;
        snprintf(name, sizeof name, "image_%d.input.f32", i);
        x[i] = read_floats(name, &n_in);
        snprintf(name, sizeof name, "image_%d.f32", i);
        want[i] = read_floats(name, &n_out);
        ok &= x[i] && want[i] && n_in == 32 * 32 * 3 && n_out == e;
    }
    CHECK(ok);
    const float *three[3] = {x[1], x[0], x[1]};
    if (ok) CHECK(clip_encode_images(m, three, 3, got) == 0);
    for (int i = 0; ok && i < 3; i++) check_close(got + (size_t)i * e, want[i == 1 ? 0 : 1], e, min_cos, rel);
    CHECK(clip_encode_images(m, three, 0, got) == -1);
    for (int i = 0; i < 2; i++) free(x[i]), free(want[i]);
}

static void check_images(clip_model *m, double min_cos, double rel)
{
    check_images_together(m, min_cos, rel);
    for (int i = 0; i < 2; i++) {
        char name[64];
        size_t n_in = 0, n_out = 0;
        snprintf(name, sizeof name, "image_%d.input.f32", i);
        float *x = read_floats(name, &n_in);
        snprintf(name, sizeof name, "image_%d.f32", i);
        float *want = read_floats(name, &n_out);
        CHECK(x && want && n_in == 32 * 32 * 3 && n_out == (size_t)m->config.embed_dim);
        if (x && want && n_out == (size_t)m->config.embed_dim) {
            float got[64];
            clip_encode_image(m, x, got);
            check_close(got, want, n_out, min_cos, rel);
        }
        free(x);
        free(want);
    }
}

/* text.ids: one phrase per line. */
static size_t read_phrases(int ids[MAX_PHRASES][77], size_t lens[MAX_PHRASES])
{
    char *text = (char *)test_read_file(FIX "text.ids", NULL);
    size_t n = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; line && n < MAX_PHRASES; line = strtok(NULL, "\n"), n++) {
        lens[n] = 0;
        for (char *end; lens[n] < 77; line = end) {
            long v = strtol(line, &end, 10);
            if (end == line) break;
            ids[n][lens[n]++] = (int)v;
        }
    }
    free(text);
    return n;
}

static void check_text(clip_model *m, double min_cos, double rel)
{
    static int ids[MAX_PHRASES][77];
    size_t lens[MAX_PHRASES], n = read_phrases(ids, lens), n_want = 0, e = (size_t)m->config.embed_dim;
    float *want = read_floats("text.f32", &n_want);
    CHECK(n == 5 && want && n_want == n * e);
    if (n != 5 || !want || n_want != n * e) {
        free(want);
        return;
    }
    CHECK(lens[3] == 77); /* the truncated phrase fills the context */
    const int *rows[MAX_PHRASES];
    for (size_t i = 0; i < n; i++) rows[i] = ids[i];
    float got[MAX_PHRASES * 64];
    CHECK(clip_encode_text(m, rows, lens, n, got) == 0); /* all in one pass */
    check_close(got, want, n * e, min_cos, rel);
    for (size_t i = 0; i < n; i++) { /* one at a time */
        float one[64];
        CHECK(clip_encode_text(m, &rows[i], &lens[i], 1, one) == 0);
        check_close(one, want + i * e, e, min_cos, rel);
    }
    free(want);
}

static void test_image_features(void)
{
    weights_file *wf;
    clip_model m;
    if (open_model(model_f32, &wf, &m)) {
        CHECK(0);
        return;
    }
    CHECK(m.config.vision_width == 32 && m.config.text_width == 24 && m.config.embed_dim == 16);
    CHECK(m.bpe_merges && m.bpe_merges_len > 0);
    CHECK_NEAR(m.logit_scale, log(1 / 0.07), 1e-5);
    /* the image tower re-laid into panels exactly where the level prefers it;
     * the text tower as mapped (it runs only to fill the label cache) */
    for (int i = 0; i < m.vision.layers; i++) {
        const clip_block *b = &m.vision.blocks[i];
        int packed = b->in_proj.w.panel && b->out_proj.w.panel && b->c_fc.w.panel && b->c_proj.w.panel &&
                     b->c_fc.panel.elem_bytes == 4;
        CHECK(kt.f32p.preferred ? packed : b->c_fc.w.f32 != NULL);
    }
    CHECK(m.text.blocks[0].c_fc.w.f32 != NULL);
    check_images(&m, 0.99999, 1e-4);
    clip_free(&m);
    weights_close(wf);
}

static void test_text_features(void)
{
    weights_file *wf;
    clip_model m;
    if (open_model(model_f32, &wf, &m)) {
        CHECK(0);
        return;
    }
    check_text(&m, 0.99999, 1e-4);
    clip_free(&m);
    weights_close(wf);
}

/* The same goldens with the other f32 path: the image tower left as mapped
 * for OpenBLAS when this CPU re-lays it into panels (AVX-512), re-laid when
 * it does not. */
static void test_features_other_f32_path(void)
{
    kernel_table saved = kt;
    if (kernels_init_level(&kt, saved.f32p.preferred ? "avx2" : "avx512") != 0) {
        kt = saved;
        if (!saved.f32p.preferred) SKIP("this CPU has no AVX-512, so f32 weights are never re-laid here");
        kernels_init_level(&kt, "scalar");
    }
    CHECK(kt.f32p.preferred != saved.f32p.preferred);
    test_image_features();
    test_text_features();
    kt = saved;
}

/* bf16 weights: the same model rounded; features stay close. */
static void test_bf16_weights(void)
{
    weights_file *wf;
    clip_model m;
    if (open_model(model_bf16, &wf, &m)) {
        CHECK(0);
        return;
    }
    CHECK(m.vision.blocks[0].c_fc.w.panel != NULL && m.vision.blocks[0].c_fc.panel.elem_bytes == 2);
    check_images(&m, 0.999, 0.05);
    check_text(&m, 0.999, 0.05);
    clip_free(&m);
    weights_close(wf);
}

/* Pillow bicubic short side + centre crop + normalise, as torchvision. */
static void test_preprocess(void)
{
    weights_file *wf;
    clip_model m;
    if (open_model(model_f32, &wf, &m)) {
        CHECK(0);
        return;
    }
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, FIX "image_%d.txt", i);
        char *dims = (char *)test_read_file(name, NULL);
        snprintf(name, sizeof name, FIX "image_%d.rgb", i);
        size_t len = 0, n = 0;
        unsigned char *rgb = test_read_file(name, &len);
        snprintf(name, sizeof name, "image_%d.input.f32", i);
        float *want = read_floats(name, &n);
        int w = 0, h = 0;
        CHECK(dims && sscanf(dims, "%d %d", &w, &h) == 2 && rgb && len == (size_t)w * h * 3 && want);
        if (rgb && want && len == (size_t)w * h * 3 && n == 32 * 32 * 3) {
            float x[32 * 32 * 3];
            CHECK(clip_preprocess(&m, rgb, w, h, x) == 0);
            double maxd = 0;
            for (size_t j = 0; j < n; j++) maxd = test_worse(maxd, fabs((double)x[j] - want[j]));
            CHECK(maxd <= 1e-6);
        }
        free(dims);
        free(rgb);
        free(want);
    }
    clip_free(&m);
    weights_close(wf);
}

static void test_bad_text_input(void)
{
    weights_file *wf;
    clip_model m;
    if (open_model(model_f32, &wf, &m)) {
        CHECK(0);
        return;
    }
    int ok[3] = {552, 5, 553}, bad_id[3] = {552, 554, 553}, neg[3] = {552, -1, 553}, many[78] = {0};
    const int *p;
    size_t len = 3, zero = 0, long_len = 78;
    float f[16];
    p = ok;
    CHECK(clip_encode_text(&m, &p, &zero, 1, f) == -1);
    p = bad_id;
    CHECK(clip_encode_text(&m, &p, &len, 1, f) == -1);
    p = neg;
    CHECK(clip_encode_text(&m, &p, &len, 1, f) == -1);
    p = many;
    CHECK(clip_encode_text(&m, &p, &long_len, 1, f) == -1);
    clip_free(&m);
    weights_close(wf);
}

/* Replace the first `from` in the file's bytes with `to` (same length). */
static int load_patched(const char *from, const char *to, char *msg, size_t cap)
{
    size_t len = 0, fl = strlen(from);
    unsigned char *bytes = test_read_file(model_f32, &len);
    int rc = -2;
    for (size_t i = 0; bytes && i + fl <= len; i++)
        if (!memcmp(bytes + i, from, fl)) {
            memcpy(bytes + i, to, fl);
            rc = -3;
            break;
        }
    weights_file *wf;
    fmt_error err = {{0}};
    if (rc == -3 && !weights_open_memory(&wf, bytes, len, &err)) {
        clip_model m;
        rc = clip_load(&m, wf, &kt, 1, &err);
        if (!rc) clip_free(&m);
        weights_close(wf);
    }
    snprintf(msg, cap, "%s", err.msg);
    free(bytes);
    return rc;
}

static void test_damaged_files(void)
{
    char msg[256];
    CHECK(load_patched("\"unprompt.kind\":\"clip\"", "\"unprompt.kind\":\"blip\"", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "not CLIP") != NULL);
    CHECK(load_patched("\\\"vision_layers\\\": 2", "\\\"vision_layers\\\": 3", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "resblocks.2") != NULL);
    CHECK(load_patched("\\\"patch\\\": 8", "\\\"patch\\\": 7", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "multiple of patch") != NULL);
    CHECK(load_patched("\\\"text_heads\\\": 2", "\\\"text_heads\\\": 5", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "heads") != NULL);
    CHECK(load_patched("\\\"embed_dim\\\": 16", "\\\"embed_dim\\\": 17", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "visual.proj") != NULL);
    CHECK(load_patched("\\\"vocab_size\\\"", "\\\"vocab_sizX\\\"", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "vocab_size") != NULL);
    CHECK(load_patched("\\\"eps\\\": 1e-5", "\\\"eps\\\": 9e+5", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "eps") != NULL);
}

int main(void)
{
    kernels_init(&kt);
    RUN(test_convert);
    RUN(test_image_features);
    RUN(test_text_features);
    RUN(test_features_other_f32_path);
    RUN(test_bf16_weights);
    RUN(test_preprocess);
    RUN(test_bad_text_input);
    RUN(test_damaged_files);
    unlink(model_f32);
    unlink(model_bf16);
    char panels[300]; /* written beside the f32 model on AVX-512 (engine/panel_cache.h) */
    snprintf(panels, sizeof panels, "%s.panels", model_f32);
    unlink(panels);
    return test_summary("clip");
}
