/* The panels file beside a model (engine/runtime/panel_cache.h): written on the
 * first load, mapped on the next (shown by planting values the packer would
 * never produce), ignored and rewritten when it carries another model's key,
 * has tensors of the wrong size or is not a safetensors file at all; models
 * in memory write nothing. */
#include <unistd.h>

#include "engine/runtime/panel_cache.h"
#include "format/safetensors.h"
#include "tests/test.h"

#define W_OUT 40
#define W_IN 70

static char dir[] = "/tmp/unprompt-panels-XXXXXX", model[300], panels[320];
static float w[W_OUT * W_IN];
static kernel_table kt;

/* A model file: one matrix and the identity metadata the key is made of. */
static void write_model(void)
{
    for (size_t i = 0; i < W_OUT * W_IN; i++) w[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    st_writer wr;
    st_writer_init(&wr);
    fmt_error err;
    size_t shape[2] = {W_OUT, W_IN};
    CHECK(st_writer_meta(&wr, "unprompt.source_sha256", "ab12", &err) == 0);
    CHECK(st_writer_meta(&wr, "unprompt.dtype", "f32", &err) == 0);
    CHECK(st_writer_add(&wr, "w", ST_F32, 2, shape, w, &err) == 0);
    CHECK(st_write_file(&wr, model, &err) == 0);
    st_writer_free(&wr);
}

/* Load the matrix through a panel set; *out gets its panels (copied). */
static void load(float *out, size_t floats)
{
    weights_file *wf;
    fmt_error err;
    tensor t;
    CHECK(weights_open(&wf, model, &err) == 0);
    CHECK(weights_tensor(wf, "w", &t, &err) == 0);
    panel_set *s = panel_set_begin(wf, &kt);
    weight_panel panel;
    linear_weights lw;
    CHECK(s && panel_set_add(s, W_OUT, W_IN, t.data, NULL, NULL, &panel, &lw) == 0);
    CHECK(lw.panel == &panel && panel.N == W_OUT && panel.K == W_IN && panel.elem_bytes == 4 && !lw.f32);
    memcpy(out, panel.data, floats * sizeof *out);
    panel_set_finish(s);
    panel_set_free(s);
    weights_close(wf);
}

/* A panels file with this key and one tensor of `floats` values, all v. */
static void plant(const char *key, size_t floats, float v)
{
    float *data = malloc(floats * sizeof *data);
    for (size_t i = 0; i < floats; i++) data[i] = v;
    st_writer wr;
    st_writer_init(&wr);
    fmt_error err;
    CHECK(st_writer_meta(&wr, "unprompt.panels_key", key, &err) == 0);
    CHECK(st_writer_add(&wr, "panel.000000", ST_F32, 1, &floats, data, &err) == 0);
    CHECK(st_write_file(&wr, panels, &err) == 0);
    st_writer_free(&wr);
    free(data);
}

static const char *file_key(void)
{
    static char key[700];
    weights_file *f;
    fmt_error err;
    key[0] = 0;
    if (weights_open(&f, panels, &err)) return key;
    const char *k = weights_meta(f, "unprompt.panels_key");
    snprintf(key, sizeof key, "%s", k ? k : "");
    weights_close(f);
    return key;
}

static void test_written_then_mapped(void)
{
    size_t floats = gemm_f32_packed_size(W_OUT, W_IN);
    float *want = malloc(floats * sizeof *want), *got = malloc(floats * sizeof *got);
    gemm_f32_pack(want, w, W_OUT, W_IN);
    load(got, floats); /* first load: packs and writes */
    CHECK(memcmp(got, want, floats * sizeof *got) == 0);
    CHECK(access(panels, R_OK) == 0);
    char key[700];
    snprintf(key, sizeof key, "%s", file_key());
    CHECK(strstr(key, "source ab12") && strstr(key, "dtype f32"));
    load(got, floats); /* second: from the file, same bytes */
    CHECK(memcmp(got, want, floats * sizeof *got) == 0);
    /* what the next load uses is the file: planted values come back */
    plant(key, floats, 7.0f);
    load(got, floats);
    CHECK(got[0] == 7.0f && got[floats - 1] == 7.0f);
    /* another model's key: ignored, packed again and rewritten */
    plant("f32 panels of 32, v1; source other", floats, 7.0f);
    load(got, floats);
    CHECK(memcmp(got, want, floats * sizeof *got) == 0);
    CHECK_STR(file_key(), key);
    /* right key, wrong size */
    plant(key, floats - 32, 7.0f);
    load(got, floats);
    CHECK(memcmp(got, want, floats * sizeof *got) == 0);
    /* not a safetensors file */
    FILE *f = fopen(panels, "wb");
    fputs("not a panels file", f);
    fclose(f);
    load(got, floats);
    CHECK(memcmp(got, want, floats * sizeof *got) == 0);
    CHECK_STR(file_key(), key);
    free(want), free(got);
}

/* Models opened from bytes in memory pack in memory and write nothing. */
static void test_memory_models_write_nothing(void)
{
    size_t len = 0;
    uint8_t *bytes = test_read_file(model, &len);
    weights_file *wf = NULL;
    fmt_error err;
    tensor t;
    unlink(panels);
    if (!bytes || weights_open_memory(&wf, bytes, len, &err) || weights_tensor(wf, "w", &t, &err)) {
        CHECK(0);
        weights_close(wf);
        free(bytes);
        return;
    }
    panel_set *s = panel_set_begin(wf, &kt);
    weight_panel panel;
    linear_weights lw;
    CHECK(s && panel_set_add(s, W_OUT, W_IN, t.data, NULL, NULL, &panel, &lw) == 0);
    panel_set_finish(s);
    panel_set_free(s);
    weights_close(wf);
    free(bytes);
    CHECK(access(panels, F_OK) != 0);
}

static void test_setup(void)
{
    kernels_init(&kt);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(model, sizeof model, "%s/m.safetensors", dir);
    snprintf(panels, sizeof panels, "%s.panels", model);
    write_model();
}

int main(void)
{
    RUN(test_setup);
    RUN(test_written_then_mapped);
    RUN(test_memory_models_write_nothing);
    unlink(panels), unlink(model), rmdir(dir);
    return test_summary("panel_cache");
}
