/* DeepDanbooru (TorchDeepDanbooru's model-resnet_custom_v3): a ResNet of
 * bottleneck blocks over NHWC images, 179 convolutions, sigmoid per tag.
 *
 * Config-driven: the channel widths come from the weight shapes and the tag
 * count from the last convolution, so a narrow variant of the same topology
 * (the test fixture) runs through the same code. Layers are read by their
 * checkpoint names, n_Conv_0 … n_Conv_178. */
#ifndef UNPROMPT_ENGINE_MODELS_DEEPDANBOORU_DEEPDANBOORU_H
#define UNPROMPT_ENGINE_MODELS_DEEPDANBOORU_DEEPDANBOORU_H

#include <stddef.h>

#include "engine/runtime/arena.h"
#include "engine/runtime/model_weights.h"
#include "engine/runtime/weights.h"
#include "kernels/kernels.h"
#include "kernels/winograd.h"

#define DD_CONVS 179
#define DD_INPUT 512 /* the WebUI resizes to 512×512 */
/* The smallest feature map (side) whose 3×3 convs go by Winograd: from
 * 16×16 (64 tiles, 32 a thread) the 16 products are still tall enough. */
#define DD_WINOGRAD_MIN_SIDE 16

typedef struct {
    int k, stride;
    conv_geometry geo;
    int cin, cout;
    /* [cout][k][k][cin] (wp_conv): f32 or packed panels; the bias [cout],
     * or NULL (the head has none) */
    layer_linear lin;
    /* A 3×3 stride-1 conv on maps of DD_WINOGRAD_MIN_SIDE and more runs
     * as Winograd F(2×2, 3×3) (kernels/winograd.h) on the 16 transformed
     * matrices instead (f32, or bf16 panels for bf16 weights), and lin.w
     * is unused. */
    int winograd;
    linear_weights wino[WINOGRAD_POSITIONS];
    weight_panel wino_panel[WINOGRAD_POSITIONS];
} dd_conv;

typedef struct {
    int n_tags;
    int input;       /* DD_INPUT */
    size_t max_act;  /* floats of the largest activation */
} dd_config;

typedef struct {
    dd_conv conv[DD_CONVS];
    const char **tags; /* n_tags names, pointing into tag_text (both the pool's) */
    char *tag_text;
} dd_weights;

typedef struct {
    arena mem;
    float *act[5];  /* block input, projection, two branch temporaries, output */
    float *scratch; /* im2col, per thread */
    float *pooled;  /* [4096-ish] global average of the last activation */
    int threads;
} dd_state;

typedef struct {
    dd_config config;
    dd_weights weights;
    dd_state state;
    const kernel_table *kt;
    weight_pool pool;         /* what loading converted, packed, re-laid or transformed */
    struct panel_set *panels; /* f32 weights re-laid where the level prefers it (engine/runtime/panel_cache.h) */
} deepdanbooru;

/* The architecture itself: the [cout, cin, k, k] of every n_Conv_i of
 * model-resnet_custom_v3 with widths divided by width_div (1 = the real
 * model) and n_tags outputs; has_bias[i] is 0 only for the head. Used to
 * make random models of the real shape (bench) and narrow ones (tests). */
typedef struct {
    int cout, cin, k, has_bias;
} dd_layer_shape;
int dd_layer_shapes(int width_div, int n_tags, dd_layer_shape shapes[DD_CONVS]);

/* Fill *m from an open converted file (kept open by the caller while the
 * model lives), to run with the kernels *kt (kept alive by the caller) on
 * `threads` threads (less than 1: one). Changes no process-wide state.
 * -1 with a reason on a missing or inconsistent layer (m then holds
 * nothing to free). */
int dd_load(deepdanbooru *m, const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err);
void dd_free(deepdanbooru *m);


/* Floating-point operations of one dd_forward (2 per multiply-add). */
double dd_model_flops(const deepdanbooru *m);

/* probs[n_tags] = sigmoid(network(x)), x = NHWC [input][input][3] in [0,1]. */
void dd_forward(deepdanbooru *m, const float *x, float *probs);
/* The logits (before the sigmoid), calling after_block(user, i, y, side,
 * channels), when not NULL, with each of the 57 bottleneck blocks' outputs
 * (NHWC) as it is made: a view for comparing the layers with a reference
 * (tests/test_dd_realsize.c). dd_forward is this and the sigmoid. */
typedef void dd_block_hook(void *user, int block, const float *y, int side, int channels);
void dd_logits(deepdanbooru *m, const float *x, float *logits, dd_block_hook *after_block, void *user);

#endif
