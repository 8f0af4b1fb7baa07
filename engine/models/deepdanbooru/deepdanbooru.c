/* DeepDanbooru forward pass. The network, as deep_danbooru_model.py spells it:
 *
 *   stem:   pad (2,3) · conv 7×7/2 · ReLU · pad (0,1) with −inf · max-pool 3×3/2
 *   stages: bottleneck blocks; the first block of a stage projects the input
 *           with a 1×1 conv (stride s) and its 3×3 conv has stride s, padded
 *           (0,1) when s = 2, otherwise every 3×3 is padded (1,1):
 *             y = ReLU(c(ReLU(b(ReLU(a(x))))) + shortcut)
 *           widths 64/256 ×3, 128/512 ×8, 256/1024 ×20, 256/1024 ×20 (its
 *           first block down-samples, with the projection numbered last),
 *           512/2048 ×3, 1024/4096 ×3
 *   head:   1×1 conv to the tags (no bias) · global average · sigmoid
 *
 * The head runs as upstream's does, at every pixel and then averaged
 * (dd_head says why not after the average). The 3×3 stride-1 convs on maps
 * of 16×16 and more (46 % of the multiply-adds) run as Winograd F(2×2, 3×3) (dd_mark_winograd). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/deepdanbooru/deepdanbooru.h"
#include "engine/runtime/panel_cache.h"
#include "base/buf.h"

typedef struct {
    int stride, blocks, proj_last;
} dd_stage;

static const dd_stage dd_stages[] = {{1, 3, 0}, {2, 8, 0}, {2, 20, 0}, {2, 20, 1}, {2, 3, 0}, {2, 3, 0}};
#define DD_STAGES (sizeof dd_stages / sizeof dd_stages[0])

/* Which conv plays which part: filled by walking the stage table. */
typedef struct {
    int proj, a, b, c; /* proj = -1 for identity blocks */
    int stride;
} dd_block;

#define DD_BLOCKS 57
static int dd_plan(dd_block *blocks)
{
    int idx = 1, n = 0;
    for (size_t s = 0; s < DD_STAGES; s++)
        for (int i = 0; i < dd_stages[s].blocks; i++, n++) {
            dd_block *b = &blocks[n];
            if (i > 0) {
                *b = (dd_block){.proj = -1, .a = idx, .b = idx + 1, .c = idx + 2, .stride = 1};
                idx += 3;
            } else if (dd_stages[s].proj_last) {
                *b = (dd_block){.proj = idx + 3, .a = idx, .b = idx + 1, .c = idx + 2, .stride = dd_stages[s].stride};
                idx += 4;
            } else {
                *b = (dd_block){.proj = idx, .a = idx + 1, .b = idx + 2, .c = idx + 3, .stride = dd_stages[s].stride};
                idx += 4;
            }
        }
    return idx; /* the head's index: 178 */
}

/* Real widths: the stem's output, then per stage (bottleneck, output). */
static const int dd_stem_width = 64;
static const int dd_stage_width[DD_STAGES][2] = {{64, 256}, {128, 512}, {256, 1024}, {256, 1024}, {512, 2048}, {1024, 4096}};

int dd_layer_shapes(int width_div, int n_tags, dd_layer_shape shapes[DD_CONVS])
{
    if (width_div < 1 || dd_stem_width % width_div || n_tags < 1) return -1;
    dd_block blocks[DD_BLOCKS];
    int head = dd_plan(blocks), width = dd_stem_width / width_div, n = 0;
    shapes[0] = (dd_layer_shape){.cout = width, .cin = 3, .k = 7, .has_bias = 1};
    for (size_t s = 0; s < DD_STAGES; s++)
        for (int i = 0; i < dd_stages[s].blocks; i++, n++) {
            const dd_block *b = &blocks[n];
            int mid = dd_stage_width[s][0] / width_div, out = dd_stage_width[s][1] / width_div;
            if (b->proj >= 0) shapes[b->proj] = (dd_layer_shape){.cout = out, .cin = width, .k = 1, .has_bias = 1};
            shapes[b->a] = (dd_layer_shape){.cout = mid, .cin = width, .k = 1, .has_bias = 1};
            shapes[b->b] = (dd_layer_shape){.cout = mid, .cin = mid, .k = 3, .has_bias = 1};
            shapes[b->c] = (dd_layer_shape){.cout = out, .cin = mid, .k = 1, .has_bias = 1};
            width = out;
        }
    shapes[head] = (dd_layer_shape){.cout = n_tags, .cin = width, .k = 1, .has_bias = 0};
    return 0;
}

/* ---- loading -------------------------------------------------------------- */

/* n_Conv_i.weight, checked to be a square 1×1, 3×3 or 7×7 kernel, and
 * whether n_Conv_i.bias is there, checked to be [cout]. */
static int dd_read_conv(weight_pool *p, int i, tensor *w, int *has_bias, fmt_error *err)
{
    char name[32];
    snprintf(name, sizeof name, "n_Conv_%d.weight", i);
    if (wp_tensor(p, name, 0, NULL, w, err)) return -1;
    if (w->rank != 4 || w->shape[2] != w->shape[3] || (w->shape[2] != 1 && w->shape[2] != 3 && w->shape[2] != 7) ||
        w->shape[0] == 0 || w->shape[1] == 0 || w->shape[0] > 65536 || w->shape[1] > 65536)
        return fmt_fail(err, "deepdanbooru: %s has an unexpected shape", name);
    snprintf(name, sizeof name, "n_Conv_%d.bias", i);
    *has_bias = weights_has(p->file, name);
    tensor b;
    if (*has_bias && wp_tensor(p, name, 1, w->shape, &b, err)) return fmt_prefix(err, "deepdanbooru: ");
    return 0;
}

/* Set stride and padding from the conv's role, and check channel chaining. */
static void dd_geometry(dd_conv *c, int stride)
{
    c->stride = stride;
    int lo = 0, hi = 0;
    if (c->k == 7) lo = 2, hi = 3;
    else if (c->k == 3) lo = stride == 2 ? 0 : 1, hi = 1;
    c->geo = (conv_geometry){.pad_top = lo, .pad_bottom = hi, .pad_left = lo, .pad_right = hi, .stride = stride};
}

static int dd_check_chain(const deepdanbooru *m, const dd_block *blocks, int head, int head_bias, fmt_error *err)
{
    const dd_conv *cv = m->weights.conv;
    if (cv[0].k != 7 || cv[0].cin != 3) return fmt_fail(err, "deepdanbooru: n_Conv_0 is not a 7x7 RGB stem");
    int width = cv[0].cout;
    for (int i = 0; i < DD_BLOCKS; i++) {
        const dd_block *b = &blocks[i];
        int out = cv[b->c].cout;
        if (cv[b->a].cin != width || cv[b->a].k != 1 || cv[b->b].k != 3 || cv[b->c].k != 1 ||
            cv[b->b].cin != cv[b->a].cout || cv[b->c].cin != cv[b->b].cout ||
            (b->proj >= 0 && (cv[b->proj].cin != width || cv[b->proj].cout != out || cv[b->proj].k != 1)) ||
            (b->proj < 0 && out != width))
            return fmt_fail(err, "deepdanbooru: block %d (n_Conv_%d..) has inconsistent channels", i, b->a);
        width = out;
    }
    if (cv[head].cin != width || cv[head].k != 1 || head_bias)
        return fmt_fail(err, "deepdanbooru: the head n_Conv_%d does not fit", head);
    return 0;
}

/* Weights as the kernels want them: a linear layer [cout][k·k·cin] over
 * NHWC patches (wp_conv), the 3×3s that go by Winograd as 16 transformed
 * matrices. f32 ones go into panels on a level whose packed f32 GEMM is
 * preferred (gemm_f32.h), through the panel set (engine/runtime/panel_cache.h);
 * everything converted, packed or transformed is the pool's. */
static int dd_is_bf16(const tensor *w) { return w->type == DTYPE_BF16; }

static int dd_relayout_source(void *user, float *dst) { return conv_weights_f32(dst, user); }

/* Into the panel set: straight from the mapping when f32 and 1×1, else
 * re-laid into a temporary first (only when the panels file lacks it). */
static int dd_pack_f32(deepdanbooru *m, dd_conv *c, const tensor *w)
{
    size_t cout = w->shape[0], K = tensor_numel(w) / cout;
    int mapped = w->type == DTYPE_F32 && w->shape[2] == 1;
    c->lin.out = cout, c->lin.in = K;
    return panel_set_add(m->panels, cout, K, mapped ? w->data : NULL, dd_relayout_source, (void *)w, &c->lin.panel,
                         &c->lin.w);
}

/* The 16 U_ξ [cout][cin] of a 3×3 conv into u (winograd_weights). */
static int dd_winograd_planes(float *u, const tensor *w)
{
    float *g = malloc(tensor_numel(w) * sizeof *g);
    if (!g || conv_weights_f32(g, w)) {
        free(g);
        return -1;
    }
    winograd_weights(u, g, w->shape[0], w->shape[1]);
    free(g);
    return 0;
}

/* A panel source for U_ξ: the 16 planes are made on the first call (only
 * when the panels file lacks them) and copied out one by one. */
typedef struct {
    const tensor *w;
    float *u;
} dd_wino_planes;
typedef struct {
    dd_wino_planes *planes;
    size_t xi;
} dd_wino_plane;

static int dd_winograd_source(void *user, float *dst)
{
    dd_wino_plane *p = user;
    const tensor *w = p->planes->w;
    size_t plane = w->shape[0] * w->shape[1];
    if (!p->planes->u) {
        p->planes->u = malloc(WINOGRAD_POSITIONS * plane * sizeof(float));
        if (!p->planes->u || dd_winograd_planes(p->planes->u, w)) return -1;
    }
    memcpy(dst, p->planes->u + p->xi * plane, plane * sizeof *dst);
    return 0;
}

/* Bytes of one bf16 panel, rounded up so that the next stays 64-byte
 * aligned. */
static size_t dd_bf16_panel_bytes(size_t N, size_t K)
{
    return (gemm_bf16_packed_size(N, K) * sizeof(uint16_t) + 63) / 64 * 64;
}

/* bf16 weights: U_ξ made in f32 from them, rounded to bf16 panels in the
 * pool (a second rounding, of the same size as the first). */
static int dd_set_winograd_bf16(deepdanbooru *m, dd_conv *c, const tensor *w)
{
    size_t cout = (size_t)c->cout, cin = (size_t)c->cin, plane = cout * cin, bytes = dd_bf16_panel_bytes(cout, cin);
    float *u = malloc(WINOGRAD_POSITIONS * plane * sizeof *u);
    unsigned char *packed = wp_alloc(&m->pool, WINOGRAD_POSITIONS * bytes);
    if (!u || !packed || dd_winograd_planes(u, w)) {
        free(u);
        return -1;
    }
    for (size_t xi = 0; xi < WINOGRAD_POSITIONS; xi++) {
        uint16_t *dst = (uint16_t *)(void *)(packed + xi * bytes);
        gemm_bf16_pack_f32(dst, u + xi * plane, cout, cin);
        c->wino_panel[xi] = (weight_panel){.data = dst, .N = cout, .K = cin, .elem_bytes = sizeof *dst};
        c->wino[xi] = (linear_weights){.panel = &c->wino_panel[xi], .panel_gemm = m->kt->bf16.gemm_bf16};
    }
    free(u);
    return 0;
}

/* f32 weights: U_ξ into panels through the panel set. */
static int dd_set_winograd_panels(deepdanbooru *m, dd_conv *c, const tensor *w)
{
    dd_wino_planes planes = {.w = w, .u = NULL};
    int bad = 0;
    for (size_t xi = 0; xi < WINOGRAD_POSITIONS && !bad; xi++) {
        dd_wino_plane src = {.planes = &planes, .xi = xi};
        bad = panel_set_add(m->panels, (size_t)c->cout, (size_t)c->cin, NULL, dd_winograd_source, &src,
                            &c->wino_panel[xi], &c->wino[xi]);
    }
    free(planes.u);
    return bad;
}

/* Point c->wino at the 16 matrices: bf16 panels or f32 in the pool, or f32
 * panels (through the panel set); the mapped weights are released. */
static int dd_set_winograd(deepdanbooru *m, dd_conv *c, const tensor *w)
{
    size_t plane = (size_t)c->cout * (size_t)c->cin;
    int bad;
    if (dd_is_bf16(w)) bad = dd_set_winograd_bf16(m, c, w);
    else if (m->panels) bad = dd_set_winograd_panels(m, c, w);
    else {
        float *u = wp_alloc(&m->pool, WINOGRAD_POSITIONS * plane * sizeof *u);
        for (size_t xi = 0; u && xi < WINOGRAD_POSITIONS; xi++) c->wino[xi] = (linear_weights){.f32 = u + xi * plane};
        bad = !u || dd_winograd_planes(u, w);
    }
    weights_release(m->pool.file, w);
    return bad;
}

/* Conv i's weights (w) and bias as the kernels take them. */
static int dd_set_conv(deepdanbooru *m, int i, const tensor *w, int has_bias, fmt_error *err)
{
    dd_conv *c = &m->weights.conv[i];
    char name[32];
    snprintf(name, sizeof name, "n_Conv_%d.weight", i);
    memset(&c->lin, 0, sizeof c->lin);
    int bad = c->winograd                    ? dd_set_winograd(m, c, w)
              : m->panels && !dd_is_bf16(w) ? dd_pack_f32(m, c, w)
                                            : wp_conv(&m->pool, name, w, &c->lin, err);
    if (bad) return fmt_fail(err, "deepdanbooru: out of memory re-laying n_Conv_%d", i);
    size_t cout = (size_t)c->cout;
    snprintf(name, sizeof name, "n_Conv_%d.bias", i);
    return has_bias ? wp_f32(&m->pool, name, 1, &cout, &c->lin.bias, err) : 0;
}

/* Bytes the conv's weights will take from the pool: bf16 panels, or the
 * f32 they are converted or transformed into when not in the panel set. */
static size_t dd_pool_bytes(const deepdanbooru *m, const dd_conv *c, const tensor *w)
{
    size_t cout = w->shape[0], cin = w->shape[1], n = tensor_numel(w);
    if (dd_is_bf16(w))
        return c->winograd ? WINOGRAD_POSITIONS * dd_bf16_panel_bytes(cout, cin) : dd_bf16_panel_bytes(cout, n / cout);
    if (m->panels) return 0;
    if (c->winograd) n = WINOGRAD_POSITIONS * cout * cin;
    else if (w->type == DTYPE_F32 && c->k == 1) n = 0;
    return (n * sizeof(float) + 63) / 64 * 64;
}

/* Point every conv at its weights, converting what must be converted, in
 * one block of the pool. */
static int dd_prepare_weights(deepdanbooru *m, const tensor *w, const int *has_bias, fmt_error *err)
{
    if (m->kt->f32p.preferred && !(m->panels = panel_set_begin(m->pool.file, m->kt)))
        return fmt_fail(err, "deepdanbooru: out of memory");
    size_t bytes = 0;
    for (int i = 0; i < DD_CONVS; i++) bytes += dd_pool_bytes(m, &m->weights.conv[i], &w[i]);
    if (wp_reserve(&m->pool, bytes))
        return fmt_fail(err, "deepdanbooru: cannot allocate %zu MB for weights", bytes >> 20);
    for (int i = 0; i < DD_CONVS; i++)
        if (dd_set_conv(m, i, &w[i], has_bias[i], err)) return -1;
    panel_set_finish(m->panels);
    return 0;
}

static int dd_load_tags(deepdanbooru *m, const weights_file *wf, fmt_error *err)
{
    const uint8_t *data;
    size_t len;
    if (weights_bytes(wf, "tags", &data, &len, err)) return fmt_prefix(err, "deepdanbooru: ");
    m->weights.tag_text = wp_alloc(&m->pool, len + 1);
    m->weights.tags = wp_alloc(&m->pool, (size_t)m->config.n_tags * sizeof *m->weights.tags);
    if (!m->weights.tag_text || !m->weights.tags) return fmt_fail(err, "deepdanbooru: out of memory for tags");
    memcpy(m->weights.tag_text, data, len);
    m->weights.tag_text[len] = 0;
    int n = 0;
    char *p = m->weights.tag_text;
    while (n < m->config.n_tags) {
        m->weights.tags[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    if (n != m->config.n_tags || strchr(p, '\n'))
        return fmt_fail(err, "deepdanbooru: %d tags for %d outputs", n, m->config.n_tags);
    return 0;
}

static int dd_alloc_state(deepdanbooru *m, int threads, fmt_error *err)
{
    dd_state *s = &m->state;
    size_t scratch = 0, head_cin = (size_t)m->weights.conv[DD_CONVS - 1].cin, total = 0;
    s->threads = threads > 1 ? threads : 1;
    for (int i = 0; i < DD_CONVS; i++) {
        const dd_conv *c = &m->weights.conv[i];
        size_t need = c->winograd                  ? winograd_scratch(c->cin, c->cout, s->threads)
                      : c->k > 1 || c->stride > 1 ? conv2d_scratch(c->cin, c->k, s->threads)
                                                  : 0;
        scratch = need > scratch ? need : scratch;
    }
    size_t sizes[8] = {0};
    for (int i = 0; i < 5; i++) sizes[i] = m->config.max_act * sizeof(float);
    sizes[5] = scratch * sizeof(float);
    sizes[6] = head_cin * sizeof(float);
    for (int i = 0; i < 7; i++) total += arena_block_size(sizes[i]);
    if (arena_init(&s->mem, total)) return fmt_fail(err, "deepdanbooru: cannot allocate %zu MB of activations", total >> 20);
    for (int i = 0; i < 5; i++) s->act[i] = arena_alloc(&s->mem, sizes[i]);
    s->scratch = arena_alloc(&s->mem, sizes[5]);
    s->pooled = arena_alloc(&s->mem, sizes[6]);
    return 0;
}

/* The spatial plan: 512 → 256 (stem) → 128 (pool) → /2 at each strided
 * stage. side[i] is the side of block i's input, side[DD_BLOCKS] the last
 * block's output. */
static void dd_block_sides(const deepdanbooru *m, const dd_block *blocks, int side[DD_BLOCKS + 1])
{
    const dd_conv *cv = m->weights.conv;
    side[0] = conv_out_size(conv_out_size(DD_INPUT, 7, 2, 3, 2), 3, 0, 1, 2);
    for (int i = 0; i < DD_BLOCKS; i++) {
        const conv_geometry *g = &cv[blocks[i].b].geo;
        side[i + 1] = conv_out_size(side[i], 3, g->pad_top, g->pad_bottom, blocks[i].stride);
    }
}

static size_t dd_max_activation(const deepdanbooru *m, const dd_block *blocks)
{
    const dd_conv *cv = m->weights.conv;
    int side[DD_BLOCKS + 1], stem = conv_out_size(DD_INPUT, 7, 2, 3, 2);
    dd_block_sides(m, blocks, side);
    size_t mx = (size_t)stem * stem * cv[0].cout;
    for (int i = 0; i < DD_BLOCKS; i++) {
        size_t in = (size_t)side[i] * side[i] * cv[blocks[i].a].cout;
        size_t out = (size_t)side[i + 1] * side[i + 1] * cv[blocks[i].c].cout;
        mx = in > mx ? in : mx;
        mx = out > mx ? out : mx;
    }
    return mx;
}

/* Which 3×3 convs go by Winograd: stride 1, maps of DD_WINOGRAD_MIN_SIDE
 * and more. */
static void dd_mark_winograd(deepdanbooru *m, const dd_block *blocks)
{
    int side[DD_BLOCKS + 1];
    dd_block_sides(m, blocks, side);
    for (int i = 0; i < DD_BLOCKS; i++)
        m->weights.conv[blocks[i].b].winograd = blocks[i].stride == 1 && side[i] >= DD_WINOGRAD_MIN_SIDE;
}

/* Every conv's shape and geometry, checked to chain as the network does,
 * and the config and Winograd plan they give; nothing converted yet. */
static int dd_read_convs(deepdanbooru *m, tensor *w, int *has_bias, fmt_error *err)
{
    dd_block blocks[DD_BLOCKS];
    int head = dd_plan(blocks);
    for (int i = 0; i < DD_CONVS; i++) {
        if (dd_read_conv(&m->pool, i, &w[i], &has_bias[i], err)) return -1;
        dd_conv *c = &m->weights.conv[i];
        c->k = (int)w[i].shape[2], c->cout = (int)w[i].shape[0], c->cin = (int)w[i].shape[1];
        dd_geometry(c, i == 0 ? 2 : 1);
    }
    for (int i = 0; i < DD_BLOCKS; i++) {
        dd_geometry(&m->weights.conv[blocks[i].b], blocks[i].stride);
        if (blocks[i].proj >= 0) dd_geometry(&m->weights.conv[blocks[i].proj], blocks[i].stride);
    }
    if (dd_check_chain(m, blocks, head, has_bias[head], err)) return -1;
    m->config.n_tags = m->weights.conv[head].cout;
    m->config.input = DD_INPUT;
    m->config.max_act = dd_max_activation(m, blocks);
    dd_mark_winograd(m, blocks);
    return 0;
}

int dd_load(deepdanbooru *m, const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err)
{
    memset(m, 0, sizeof *m);
    m->kt = kt;
    weight_pool_init(&m->pool, wf, kt);
    tensor w[DD_CONVS];
    int has_bias[DD_CONVS];
    if (dd_read_convs(m, w, has_bias, err) || dd_prepare_weights(m, w, has_bias, err) || dd_load_tags(m, wf, err) ||
        dd_alloc_state(m, threads, err)) {
        dd_free(m);
        return -1;
    }
    return 0;
}

void dd_free(deepdanbooru *m)
{
    weight_pool_free(&m->pool);
    panel_set_free(m->panels);
    arena_free(&m->state.mem);
    memset(m, 0, sizeof *m);
}

/* ---- forward -------------------------------------------------------------- */

/* y = act(conv(x) + bias [+ residual]); returns the output side length. */
static int dd_conv_run(deepdanbooru *m, const dd_conv *c, float *y, const float *x, int hw, const float *residual,
                       int relu)
{
    gemm_epilogue ep = {.bias = c->lin.bias, .residual = residual, .ldr = (size_t)c->cout, .act = relu ? m->kt->nn.relu : NULL, .act_is_relu = relu};
    if (c->winograd) {
        conv2d_winograd(&m->kt->linalg, y, x, hw, hw, c->cin, c->wino, c->cout, &c->geo, &ep, m->state.scratch,
                        m->state.threads);
        return conv_out_size(hw, 3, c->geo.pad_top, c->geo.pad_bottom, 1);
    }
    conv2d(&m->kt->linalg, y, x, hw, hw, c->cin, &c->lin.w, c->cout, c->k, &c->geo, &ep, m->state.scratch,
           m->state.threads);
    return conv_out_size(hw, c->k, c->geo.pad_top, c->geo.pad_bottom, c->stride);
}

/* One bottleneck block from act[0] into act[4]; returns the new side. */
static int dd_block_run(deepdanbooru *m, const dd_block *b, int hw)
{
    float **a = m->state.act;
    const dd_conv *cv = m->weights.conv;
    const float *shortcut = a[0];
    if (b->proj >= 0) {
        dd_conv_run(m, &cv[b->proj], a[1], a[0], hw, NULL, 0);
        shortcut = a[1];
    }
    dd_conv_run(m, &cv[b->a], a[2], a[0], hw, NULL, 1);
    int out = dd_conv_run(m, &cv[b->b], a[3], a[2], hw, NULL, 1);
    dd_conv_run(m, &cv[b->c], a[4], a[3], out, shortcut, 1);
    float *t = a[0];
    a[0] = a[4], a[4] = t;
    return out;
}

static double dd_conv_flops(const dd_conv *c, int in_hw)
{
    double out = conv_out_size(in_hw, c->k, c->geo.pad_top, c->geo.pad_bottom, c->stride);
    return 2.0 * out * out * c->cout * c->cin * c->k * c->k;
}

/* The direct convolutions' count, also for the layers that go by Winograd
 * (they do 4/9 of it in their 3×3s): rates quoted against it compare with
 * other implementations of the same network. */
double dd_model_flops(const deepdanbooru *m)
{
    const dd_conv *cv = m->weights.conv;
    dd_block blocks[DD_BLOCKS];
    int head = dd_plan(blocks), side[DD_BLOCKS + 1];
    dd_block_sides(m, blocks, side);
    double f = dd_conv_flops(&cv[0], DD_INPUT);
    for (int i = 0; i < DD_BLOCKS; i++) {
        const dd_block *b = &blocks[i];
        if (b->proj >= 0) f += dd_conv_flops(&cv[b->proj], side[i]);
        f += dd_conv_flops(&cv[b->a], side[i]) + dd_conv_flops(&cv[b->b], side[i]) + dd_conv_flops(&cv[b->c], side[i + 1]);
    }
    return f + dd_conv_flops(&cv[head], 1);
}

/* The head as the upstream model runs it: the 1×1 conv at every pixel of
 * the last map (4×4), then the average, into act[1] when it fits (it does
 * at the real size: 16 × 9176 floats). The head is linear, so averaging
 * first needs a sixteenth of the multiply-adds (one GEMV), and that is how
 * it ran; but then each tag's one sum of 4096 products carries its whole
 * rounding error, where the average of sixteen such sums averages theirs
 * away (about a quarter); and on the AVX-512 panels one row is summed in a
 * single chain of 4096 (the GEMV path of gemm_panel_drive), sixteen rows in
 * K blocks of 256 (about a quarter again). At the real size the GEMV put
 * the probabilities 2.2e-6 to 3.4e-6 from float64, 2.7 to 2.8 times PyTorch
 * float32's error, and OpenBLAS's (scalar, avx2) 1.15 to 1.3 times; now
 * 3.0e-7 to 6.8e-7, 0.4 to 0.55 times (tests/test_dd_realsize.c). The
 * weights still come from memory once; the sixteen rows add 1.2 GFLOP to
 * the network's 93: the head alone went from 8 to 17 ms (2 threads, the
 * shared 2-core Zen 5, weights cold), about 3 % of an unloaded forward. */
static void dd_head(deepdanbooru *m, float *logits, int hw)
{
    float **a = m->state.act;
    const dd_conv *h = &m->weights.conv[DD_CONVS - 1];
    size_t pixels = (size_t)hw * (size_t)hw, tags = (size_t)h->cout;
    if (pixels * tags <= m->config.max_act) {
        linear_run(&m->kt->linalg, a[1], a[0], &h->lin.w, pixels, tags, (size_t)h->cin, NULL);
        global_avgpool(logits, a[1], hw, hw, h->cout);
        return;
    }
    global_avgpool(m->state.pooled, a[0], hw, hw, h->cin);
    linear_run(&m->kt->linalg, logits, m->state.pooled, &h->lin.w, 1, tags, (size_t)h->cin, NULL);
}

void dd_forward(deepdanbooru *m, const float *x, float *probs)
{
    dd_logits(m, x, probs, NULL, NULL);
    m->kt->nn.sigmoid(probs, (size_t)m->config.n_tags);
}

void dd_logits(deepdanbooru *m, const float *x, float *logits, dd_block_hook *after_block, void *user)
{
    float **a = m->state.act;
    const dd_conv *cv = m->weights.conv;
    int hw = dd_conv_run(m, &cv[0], a[1], x, DD_INPUT, NULL, 1);
    conv_geometry pool = {.pad_top = 0, .pad_bottom = 1, .pad_left = 0, .pad_right = 1, .stride = 2};
    maxpool2d(a[0], a[1], hw, hw, cv[0].cout, 3, &pool);
    hw = conv_out_size(hw, 3, 0, 1, 2);
    dd_block blocks[DD_BLOCKS];
    dd_plan(blocks);
    for (int i = 0; i < DD_BLOCKS; i++) {
        hw = dd_block_run(m, &blocks[i], hw);
        if (after_block) after_block(user, i, a[0], hw, cv[blocks[i].c].cout);
    }
    dd_head(m, logits, hw);
}
