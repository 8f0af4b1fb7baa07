/* Random safetensors models: header from the writer, data filled in place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/random_model.h"
#include "engine/deepdanbooru.h"
#include "format/safetensors.h"

typedef struct {
    char name[64];
    st_dtype dtype;
    int rank;
    size_t shape[4];
    float scale; /* uniform in [offset - scale, offset + scale] */
    float offset;
    const char *text; /* U8 tensors: their bytes */
} spec;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

static void fill(const st_tensor *t, const spec *s)
{
    uint8_t *p = (uint8_t *)t->data; /* our own buffer */
    if (s->text) {
        memcpy(p, s->text, t->nbytes);
        return;
    }
    for (size_t i = 0; i < t->numel; i++) {
        float v = s->offset + uniform() * s->scale;
        if (t->dtype == ST_F32) memcpy(p + 4 * i, &v, 4);
        else {
            uint16_t h = to_bf16(v);
            memcpy(p + 2 * i, &h, 2);
        }
    }
}

/* Only the header is written through the writer; the bytes are filled in
 * place afterwards, so this is never called. */
static int no_fill(void *user, size_t offset, uint8_t *dst, size_t n, fmt_error *err)
{
    (void)user, (void)offset, (void)dst, (void)n;
    return fmt_fail(err, "unused");
}

/* meta: n_meta (key, value) pairs. */
static int build(random_model *m, const spec *specs, size_t n, const char *const *meta, size_t n_meta)
{
    st_writer w;
    st_writer_init(&w);
    fmt_error err;
    buf header;
    buf_init(&header, 0);
    size_t data = 0;
    int rc = 0;
    for (size_t i = 0; i < n_meta && !rc; i++) rc = st_writer_meta(&w, meta[2 * i], meta[2 * i + 1], &err);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = st_writer_add_fill(&w, specs[i].name, specs[i].dtype, specs[i].rank, specs[i].shape, no_fill, NULL, &err);
        size_t numel = 1;
        for (int d = 0; d < specs[i].rank; d++) numel *= specs[i].shape[d];
        data += numel * st_dtype_size(specs[i].dtype);
    }
    rc = rc || st_writer_header(&w, &header, &err);
    st_writer_free(&w);
    m->len = header.len + data;
    m->bytes = rc ? NULL : malloc(m->len);
    if (!m->bytes) {
        buf_free(&header);
        return -1;
    }
    memcpy(m->bytes, header.data, header.len);
    buf_free(&header);
    st_file f;
    if (st_open(&f, m->bytes, m->len, NULL, &err)) {
        fprintf(stderr, "bench: random model: %s\n", err.msg);
        random_model_free(m);
        return -1;
    }
    for (size_t i = 0; i < n; i++) fill(st_find(&f, specs[i].name), &specs[i]);
    st_close(&f);
    return 0;
}

int random_deepdanbooru(random_model *m, int width_div, int n_tags, const char *dtype)
{
    dd_layer_shape shapes[DD_CONVS];
    if (dd_layer_shapes(width_div, n_tags, shapes)) return -1;
    st_dtype wt = strcmp(dtype, "BF16") ? ST_F32 : ST_BF16;
    spec *specs = calloc(2 * DD_CONVS + 1, sizeof *specs);
    if (!specs) return -1;
    size_t n = 0, text_len = 0;
    for (int i = 0; i < DD_CONVS; i++) {
        const dd_layer_shape *l = &shapes[i];
        spec *s = &specs[n++];
        snprintf(s->name, sizeof s->name, "n_Conv_%d.weight", i);
        s->dtype = wt, s->rank = 4;
        s->shape[0] = (size_t)l->cout, s->shape[1] = (size_t)l->cin, s->shape[2] = s->shape[3] = (size_t)l->k;
        /* uniform with variance 2/fan_in (He), residual branches damped */
        s->scale = sqrtf(6.0f / (float)(l->cin * l->k * l->k)) * 0.5f;
        if (l->has_bias) {
            spec *b = &specs[n++];
            snprintf(b->name, sizeof b->name, "n_Conv_%d.bias", i);
            b->dtype = ST_F32, b->rank = 1, b->shape[0] = (size_t)l->cout, b->scale = 0.01f;
        }
    }
    char *tags = malloc((size_t)n_tags * 16);
    if (!tags) return free(specs), -1;
    for (int i = 0; i < n_tags; i++) text_len += (size_t)sprintf(tags + text_len, i ? "\ntag_%d" : "tag_%d", i);
    spec *t = &specs[n++];
    snprintf(t->name, sizeof t->name, "tags");
    t->dtype = ST_U8, t->rank = 1, t->shape[0] = text_len, t->text = tags;
    int rc = build(m, specs, n, NULL, 0);
    free(tags);
    free(specs);
    return rc;
}

/* ---- CLIP ------------------------------------------------------------------ */

static spec *add_spec(spec *s, const char *name, st_dtype dtype, int rank, const size_t *shape, float scale,
                      float offset)
{
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dtype = rank >= 2 ? dtype : ST_F32, s->rank = rank, s->scale = scale, s->offset = offset;
    for (int d = 0; d < rank; d++) s->shape[d] = shape[d];
    return s + 1;
}

/* One pre-norm block of width w: weights with variance 1/fan_in, the
 * branches' output projections damped so the residual stream stays O(1). */
static spec *clip_block_specs(spec *s, const char *prefix, int i, size_t w, st_dtype dt)
{
    char name[64];
    size_t v[1] = {w}, v3[1] = {3 * w}, v4[1] = {4 * w}, in[2] = {3 * w, w}, sq[2] = {w, w}, fc[2] = {4 * w, w},
           pr[2] = {w, 4 * w};
    float a = sqrtf(3.0f / (float)w), b = sqrtf(3.0f / (float)(4 * w));
#define BLOCK_SPEC(part, rank, shape, scale, offset) \
    (snprintf(name, sizeof name, "%sresblocks.%d.%s", prefix, i, part), s = add_spec(s, name, dt, rank, shape, scale, offset))
    BLOCK_SPEC("ln_1.weight", 1, v, 0.1f, 1.0f);
    BLOCK_SPEC("ln_1.bias", 1, v, 0.1f, 0.0f);
    BLOCK_SPEC("attn.in_proj_weight", 2, in, a, 0.0f);
    BLOCK_SPEC("attn.in_proj_bias", 1, v3, 0.02f, 0.0f);
    BLOCK_SPEC("attn.out_proj.weight", 2, sq, 0.3f * a, 0.0f);
    BLOCK_SPEC("attn.out_proj.bias", 1, v, 0.02f, 0.0f);
    BLOCK_SPEC("ln_2.weight", 1, v, 0.1f, 1.0f);
    BLOCK_SPEC("ln_2.bias", 1, v, 0.1f, 0.0f);
    BLOCK_SPEC("mlp.c_fc.weight", 2, fc, a, 0.0f);
    BLOCK_SPEC("mlp.c_fc.bias", 1, v4, 0.02f, 0.0f);
    BLOCK_SPEC("mlp.c_proj.weight", 2, pr, 0.3f * b, 0.0f);
    BLOCK_SPEC("mlp.c_proj.bias", 1, v, 0.02f, 0.0f);
#undef BLOCK_SPEC
    return s;
}

int random_clip(random_model *m, const random_clip_config *c, const char *dtype)
{
    st_dtype dt = strcmp(dtype, "BF16") ? ST_F32 : ST_BF16;
    size_t n_specs = 12 * (size_t)(c->vision_layers + c->text_layers) + 16;
    spec *specs = calloc(n_specs, sizeof *specs), *s = specs;
    if (!specs) return -1;
    size_t wv = (size_t)c->vision_width, wt = (size_t)c->text_width, e = (size_t)c->embed_dim;
    size_t p = (size_t)c->patch, grid = (size_t)(c->image_size / c->patch);
    size_t conv[4] = {wv, 3, p, p}, pos[2] = {grid * grid + 1, wv}, vproj[2] = {wv, e}, v[1] = {wv};
    size_t tok[2] = {(size_t)c->vocab_size, wt}, tpos[2] = {77, wt}, tproj[2] = {wt, e}, t1[1] = {wt};
    s = add_spec(s, "visual.conv1.weight", dt, 4, conv, sqrtf(3.0f / (float)(3 * p * p)), 0.0f);
    s = add_spec(s, "visual.class_embedding", dt, 1, v, 0.05f, 0.0f);
    s = add_spec(s, "visual.positional_embedding", dt, 2, pos, 0.05f, 0.0f);
    s = add_spec(s, "visual.ln_pre.weight", dt, 1, v, 0.1f, 1.0f);
    s = add_spec(s, "visual.ln_pre.bias", dt, 1, v, 0.1f, 0.0f);
    for (int i = 0; i < c->vision_layers; i++) s = clip_block_specs(s, "visual.transformer.", i, wv, dt);
    s = add_spec(s, "visual.ln_post.weight", dt, 1, v, 0.1f, 1.0f);
    s = add_spec(s, "visual.ln_post.bias", dt, 1, v, 0.1f, 0.0f);
    s = add_spec(s, "visual.proj", dt, 2, vproj, sqrtf(3.0f / (float)wv), 0.0f);
    s = add_spec(s, "token_embedding.weight", dt, 2, tok, 0.05f, 0.0f);
    s = add_spec(s, "positional_embedding", dt, 2, tpos, 0.01f, 0.0f);
    for (int i = 0; i < c->text_layers; i++) s = clip_block_specs(s, "transformer.", i, wt, dt);
    s = add_spec(s, "ln_final.weight", dt, 1, t1, 0.1f, 1.0f);
    s = add_spec(s, "ln_final.bias", dt, 1, t1, 0.1f, 0.0f);
    s = add_spec(s, "text_projection", dt, 2, tproj, sqrtf(3.0f / (float)wt), 0.0f);
    s = add_spec(s, "logit_scale", dt, 0, NULL, 0.0f, 4.6052f);
    char config[512];
    snprintf(config, sizeof config,
             "{\"embed_dim\": %d, \"image_size\": %d, \"patch\": %d, \"vision_width\": %d, \"vision_layers\": %d, "
             "\"vision_heads\": %d, \"context_length\": 77, \"vocab_size\": %d, \"text_width\": %d, "
             "\"text_layers\": %d, \"text_heads\": %d, \"eps\": 1e-5}",
             c->embed_dim, c->image_size, c->patch, c->vision_width, c->vision_layers, c->vision_width / 64,
             c->vocab_size, c->text_width, c->text_layers, c->text_width / 64);
    const char *meta[] = {"unprompt.kind", "clip", "unprompt.config", config, "unprompt.dtype", dtype};
    int rc = build(m, specs, (size_t)(s - specs), meta, 3);
    free(specs);
    return rc;
}

const random_clip_config random_clip_vit_l14 = {768, 224, 14, 1024, 24, 49408, 768, 12};

int random_model_save(const random_model *m, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = fwrite(m->bytes, 1, m->len, f) == m->len ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

void random_model_free(random_model *m)
{
    free(m->bytes);
    m->bytes = NULL, m->len = 0;
}
