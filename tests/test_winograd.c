/* Winograd F(2×2, 3×3): each level's tile transforms against the scalar
 * ones bit for bit, and conv2d_winograd against the direct convolution in
 * double, with every epilogue, ragged maps, asymmetric padding, several
 * blocks per thread, one and two threads, f32 and packed weights. */
#include "kernels/kernels.h"
#include "kernels/winograd.h"
#include "tests/conv_ref.h"
#include "tests/test.h"
#define TEST_RANDOM_SEED 0x9E3779B97F4A7C15ull
#include "tests/random.h"

static const char *const levels[] = {"scalar", "avx2", "avx512", "avx512bf16", "amx", "neon"};
#define LEVELS (sizeof levels / sizeof levels[0])


static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

static void tile_transforms_on(const kernel_table *t, size_t c)
{
    float *in = rvec(16 * c), *v = rvec(16 * c), *vr = rvec(16 * c), *m = rvec(16 * c), *bias = rvec(c);
    float *res = rvec(4 * c), *y = calloc(4 * c, sizeof *y), *yr = calloc(4 * c, sizeof *yr);
    const float *d[16];
    for (int p = 0; p < 16; p++) d[p] = in + (size_t)((p * 7) % 16) * c; /* rows in any order */
    t->linalg.winograd_input(v, c, d, c);
    winograd_input_scalar(vr, c, d, c);
    CHECK(same_bits(v, vr, 16 * c));
    for (int variant = 0; variant < 4; variant++) {
        float *yp[4], *yrp[4];
        const float *rp[4];
        for (int p = 0; p < 4; p++) {
            int skip = variant == 3 && p % 2; /* the right column outside the image */
            yp[p] = skip ? NULL : y + p * c, yrp[p] = skip ? NULL : yr + p * c;
            rp[p] = variant >= 2 ? res + p * c : NULL;
        }
        const float *b = variant ? bias : NULL;
        t->linalg.winograd_output(yp, m, c, c, b, rp, variant & 1);
        winograd_output_scalar(yrp, m, c, c, b, rp, variant & 1);
        CHECK(same_bits(y, yr, 4 * c));
    }
    free(in), free(v), free(vr), free(m), free(bias), free(res), free(y), free(yr);
}

static void test_tile_transforms_match_scalar(void)
{
    static const size_t channels[] = {1, 5, 8, 16, 23, 64, 100};
    size_t levels_run = 0;
    for (size_t l = 0; l < LEVELS; l++) {
        kernel_table t;
        if (kernels_init_level(&t, levels[l])) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        levels_run++;
        for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) tile_transforms_on(&t, channels[i]);
    }
    CHECK(levels_run >= 1);
}

/* The transforms by hand on one channel: a 4×4 tile of ones is the sum of
 * the 3×3 window, and U of a filter with a single 1 at the centre. */
static void test_transforms_by_hand(void)
{
    float w[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, u[16];
    winograd_weights(u, w, 1, 1);
    static const float centre[16] = {0, 0, 0, 0, 0, 0.25f, -0.25f, 0, 0, -0.25f, 0.25f, 0, 0, 0, 0, 0};
    CHECK(same_bits(u, centre, 16));
    float ones[16], v[16], y[4];
    for (int i = 0; i < 16; i++) ones[i] = (float)(i + 1); /* pixel (i, j) = 4i + j + 1 */
    const float *d[16];
    for (int p = 0; p < 16; p++) d[p] = ones + p;
    winograd_input_scalar(v, 1, d, 1);
    float mv[16];
    for (int i = 0; i < 16; i++) mv[i] = v[i] * u[i];
    float *yp[4] = {y, y + 1, y + 2, y + 3};
    const float *rp[4] = {NULL, NULL, NULL, NULL};
    winograd_output_scalar(yp, mv, 1, 1, NULL, rp, 0);
    /* the centre filter copies pixels (1,1), (1,2), (2,1), (2,2) */
    CHECK(y[0] == 6 && y[1] == 7 && y[2] == 10 && y[3] == 11);
}

static void halve(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= 0.5f;
}
static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

typedef struct {
    int h, w, cin, cout;
    conv_geometry g;
} conv_case;

/* The 16 products' weights for level t: packed when it prefers panels. */
static float *winograd_operands(const kernel_table *t, const float *wt, int cin, int cout,
                                linear_weights lw[WINOGRAD_POSITIONS], weight_panel panel[WINOGRAD_POSITIONS])
{
    size_t plane = (size_t)cout * (size_t)cin, packed = gemm_f32_packed_size((size_t)cout, (size_t)cin);
    float *u = malloc(WINOGRAD_POSITIONS * plane * sizeof *u);
    winograd_weights(u, wt, (size_t)cout, (size_t)cin);
    if (!t->f32p.preferred) {
        for (int xi = 0; xi < WINOGRAD_POSITIONS; xi++) lw[xi] = (linear_weights){u + xi * plane, NULL, NULL};
        return u;
    }
    float *p = malloc(WINOGRAD_POSITIONS * packed * sizeof *p);
    for (int xi = 0; xi < WINOGRAD_POSITIONS; xi++)
        gemm_f32_use_packed(&t->f32p, p + xi * packed, u + xi * plane, (size_t)cout, (size_t)cin, &panel[xi], &lw[xi]);
    free(u);
    return p;
}

/* Worst |y - direct| over the epilogues and thread counts of one case. */
static double conv_case_error(const kernel_table *t, const conv_case *c)
{
    int oh = conv_out_size(c->h, 3, c->g.pad_top, c->g.pad_bottom, 1);
    int ow = conv_out_size(c->w, 3, c->g.pad_left, c->g.pad_right, 1);
    size_t on = (size_t)oh * (size_t)ow * (size_t)c->cout;
    float *x = rvec((size_t)c->h * c->w * c->cin), *wt = rvec((size_t)c->cout * 9 * c->cin);
    float *bias = rvec((size_t)c->cout), *res = rvec(on), *y = malloc(on * sizeof *y);
    float *scratch = malloc(winograd_scratch(c->cin, c->cout, 2) * sizeof *scratch);
    double *ref = malloc((on ? on : 1) * sizeof *ref), worst = 0;
    linear_weights lw[WINOGRAD_POSITIONS];
    weight_panel panel[WINOGRAD_POSITIONS];
    float *owned = winograd_operands(t, wt, c->cin, c->cout, lw, panel);
    conv_ref(ref, x, c->h, c->w, c->cin, wt, c->cout, 3, &c->g, NULL);
    const gemm_epilogue eps[] = {{.bias = NULL},
                                 {.bias = bias, .act = relu, .act_is_relu = 1},
                                 {.bias = bias, .residual = res, .ldr = (size_t)c->cout, .act = relu, .act_is_relu = 1},
                                 {.bias = NULL, .residual = res, .ldr = (size_t)c->cout, .act = halve}};
    for (size_t e = 0; e < sizeof eps / sizeof eps[0]; e++)
        for (int threads = 1; threads <= 2; threads++) {
            for (size_t i = 0; i < on; i++) y[i] = NAN;
            conv2d_winograd(&t->linalg, y, x, c->h, c->w, c->cin, lw, c->cout, &c->g, &eps[e], scratch, threads);
            for (size_t i = 0; i < on; i++) {
                size_t co = i % (size_t)c->cout;
                double want = ref[i] + (eps[e].bias ? eps[e].bias[co] : 0) + (eps[e].residual ? res[i] : 0);
                if (eps[e].act == relu) want = want > 0 ? want : 0;
                if (eps[e].act == halve) want *= 0.5;
                double err = fabs(want - y[i]);
                worst = test_worse(worst, err);
            }
        }
    free(x), free(wt), free(bias), free(res), free(y), free(scratch), free(ref), free(owned);
    return worst;
}

static void test_conv_against_direct(void)
{
    static const conv_case cases[] = {
        {.h = 8,
         .w = 8,
         .cin = 3,
         .cout = 4,
         .g = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .stride = 1}},
        {.h = 7,
         .w = 5,
         .cin = 5,
         .cout = 6,
         .g = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .stride = 1}}, /* odd: half tiles */
        {.h = 1,
         .w = 9,
         .cin = 4,
         .cout = 3,
         .g = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .stride = 1}},
        {.h = 3,
         .w = 3,
         .cin = 1,
         .cout = 1,
         .g = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .stride = 1}},
        {.h = 6,
         .w = 6,
         .cin = 16,
         .cout = 32,
         .g = {.pad_top = 0, .pad_bottom = 0, .pad_left = 0, .pad_right = 0, .stride = 1}},
        {.h = 9,
         .w = 6,
         .cin = 17,
         .cout = 19,
         .g = {.pad_top = 0, .pad_bottom = 2, .pad_left = 1, .pad_right = 0, .stride = 1}}, /* no padding; asymmetric */
        {.h = 16,
         .w = 16,
         .cin = 64,
         .cout = 64,
         .g = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .stride = 1}},
        {.h = 20,
         .w = 20,
         .cin = 200,
         .cout = 150,
         .g =
             {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .stride = 1}}, /* several blocks a thread */
        {.h = 2,
         .w = 2,
         .cin = 3,
         .cout = 3,
         .g = {.pad_top = 0, .pad_bottom = 0, .pad_left = 0, .pad_right = 0, .stride = 1}}, /* no output at all */
    };
    size_t levels_run = 0;
    for (size_t l = 0; l < LEVELS; l++) {
        kernel_table t;
        if (kernels_init_level(&t, levels[l])) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        levels_run++;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            double worst = conv_case_error(&t, &cases[i]);
            /* the bound of the direct path (test_linalg.c): fp32 sums of
             * 9·cin terms, 1e-5 per 256 (measured worst: 4.5e-5 at 1800) */
            double bound = 1e-5 * (double)((9 * cases[i].cin + 255) / 256);
            if (!(worst <= bound))
                fprintf(stderr, "  %s case %zu: worst %.3g > %.3g\n", levels[l], i, worst, bound);
            CHECK(worst <= bound);
        }
    }
    CHECK(levels_run >= 1);
}

int main(void)
{
    RUN(test_transforms_by_hand);
    RUN(test_tile_transforms_match_scalar);
    RUN(test_conv_against_direct);
    return test_summary("winograd");
}
