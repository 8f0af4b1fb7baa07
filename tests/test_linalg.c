/* GEMM with epilogues against a naive double loop; convolution and pooling
 * against direct loops; dtype conversions bit for bit. */
#include "kernels/kernels.h"
#include "tests/test.h"
#include "tests/random.h"
#include "tests/conv_ref.h"


static void relu_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

/* Every level's gemv against a double-precision loop and against the
 * scalar level's (OpenBLAS), on ragged shapes: rows not a multiple of 4,
 * K not a multiple of 8 or 16, sizes 1. */
static void test_gemv_levels(void)
{
    static const char *const levels[] = {"scalar", "avx2", "avx512", "avx512bf16", "neon"};
    static const size_t shapes[][2] = {{1, 1}, {1, 17}, {3, 5}, {4, 16}, {5, 31}, {7, 768}, {9, 3072}, {130, 33}, {64, 1},
                                       {577, 64}, {64, 577}}; /* BLIP cross-attention heads */
    kernel_table ref;
    kernels_init_level(&ref, "scalar");
    size_t levels_run = 0;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        kernel_table t;
        if (kernels_init_level(&t, levels[l])) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        levels_run++;
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
            size_t n = shapes[c][0], K = shapes[c][1];
            float *W = rvec(n * K), *x = rvec(K), *y = rvec(n + 1), *yr = rvec(n + 1);
            float guard = y[n];
            t.linalg.gemv(y, W, x, n, K);
            ref.linalg.gemv(yr, W, x, n, K);
            double worst = 0, vs_ref = 0;
            for (size_t i = 0; i < n; i++) {
                double acc = 0;
                for (size_t k = 0; k < K; k++) acc += (double)W[i * K + k] * x[k];
                worst = test_worse(worst, fabs(acc - y[i]));
                vs_ref = test_worse(vs_ref, fabs((double)yr[i] - y[i]));
            }
            CHECK(worst <= 1e-6 * (double)K + 1e-6 && vs_ref <= 2e-6 * (double)K + 1e-6);
            CHECK(y[n] == guard); /* nothing written past n */
            free(W), free(x), free(y), free(yr);
        }
    }
    CHECK(levels_run >= 1);
}

static void test_linear_against_naive(void)
{
    kernel_table t;
    kernels_init(&t);
    static const size_t shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {1, 64, 33}, {257, 33, 65}, {16, 1, 9}, {3, 100, 1}, {64, 64, 64},
                                         {3, 700, 300}, {5, 1000, 100}}; /* few rows: blocked GEMVs */
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        size_t M = shapes[c][0], N = shapes[c][1], K = shapes[c][2];
        float *A = rvec(M * K), *W = rvec(N * K), *bias = rvec(N), *res = rvec(M * N), *C = rvec(M * N);
        for (int variant = 0; variant < 2; variant++) {
            gemm_epilogue ep = {.bias = bias, .residual = res, .ldr = N, .act = relu_ref};
            t.linalg.linear(C, A, W, M, N, K, variant ? &ep : NULL);
            double worst = 0;
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++) {
                    double acc = 0;
                    for (size_t k = 0; k < K; k++) acc += (double)A[i * K + k] * W[j * K + k];
                    if (variant) {
                        acc += bias[j] + res[i * N + j];
                        acc = acc > 0 ? acc : 0;
                    }
                    double e = fabs(acc - C[i * N + j]);
                    worst = test_worse(worst, e);
                }
            CHECK(worst <= 1e-5 * (double)K);
        }
        free(A), free(W), free(bias), free(res), free(C);
    }
}

static void test_conv_against_direct(void)
{
    kernel_table t;
    kernels_init(&t);
    static const struct { int h, w, cin, cout, k; conv_geometry g; } cases[] = {
        {9, 7, 5, 6, 1, {0, 0, 0, 0, 1}},  {9, 7, 5, 6, 1, {0, 0, 0, 0, 2}},  {8, 8, 3, 4, 3, {1, 1, 1, 1, 1}},
        {8, 8, 3, 4, 3, {0, 1, 0, 1, 2}},  {21, 19, 3, 8, 7, {2, 3, 2, 3, 2}}, {5, 30, 2, 3, 3, {1, 1, 1, 1, 1}},
        {1, 1, 4, 2, 3, {1, 1, 1, 1, 1}},  {40, 40, 2, 2, 3, {1, 1, 1, 1, 1}},
        /* receptive fields past 1 MiB per 256 rows: blocks of 128 pixels
         * (4 with a ragged last, exactly 2, and fewer than the threads) */
        {20, 20, 128, 5, 3, {1, 1, 1, 1, 1}}, {16, 16, 120, 3, 3, {1, 1, 1, 1, 1}},
        {13, 13, 120, 5, 3, {0, 1, 0, 1, 2}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int h = cases[c].h, w = cases[c].w, cin = cases[c].cin, cout = cases[c].cout, k = cases[c].k;
        const conv_geometry *g = &cases[c].g;
        int oh = conv_out_size(h, k, g->pad_top, g->pad_bottom, g->stride);
        int ow = conv_out_size(w, k, g->pad_left, g->pad_right, g->stride);
        size_t on = (size_t)oh * ow * cout;
        float *x = rvec((size_t)h * w * cin), *wt = rvec((size_t)cout * k * k * cin), *bias = rvec((size_t)cout);
        float *y = malloc(on * sizeof *y), *scratch = malloc(conv2d_scratch(cin, k, 2) * sizeof(float));
        double *ref = malloc(on * sizeof *ref);
        gemm_epilogue ep = {.bias = bias};
        linear_weights lw = {wt, NULL, NULL};
        conv2d(&t.linalg, y, x, h, w, cin, &lw, cout, k, g, &ep, scratch, 2);
        conv_ref(ref, x, h, w, cin, wt, cout, k, g, bias);
        double worst = 0;
        for (size_t i = 0; i < on; i++) worst = test_worse(worst, fabs(ref[i] - y[i]));
        /* fp32 sums of k·k·cin terms: the rounding bound grows with the length */
        CHECK(worst <= 1e-5 * (double)((k * k * cin + 255) / 256));
        free(x), free(wt), free(bias), free(y), free(scratch), free(ref);
    }
    CHECK(conv_out_size(512, 7, 2, 3, 2) == 256);
    CHECK(conv_out_size(256, 3, 0, 1, 2) == 128);
    CHECK(conv_out_size(2, 7, 0, 0, 1) == 0);
}

static void test_pools(void)
{
    /* 2x3 single channel, 3x3/2 pool with TF padding (0,1,0,1): −inf pads never win. */
    float x[6] = {-5, -1, -3, -4, -2, -6}, y[4];
    conv_geometry g = {.pad_top = 0, .pad_bottom = 1, .pad_left = 0, .pad_right = 1, .stride = 2};
    maxpool2d(y, x, 2, 3, 1, 3, &g);
    CHECK(conv_out_size(2, 3, 0, 1, 2) == 1 && conv_out_size(3, 3, 0, 1, 2) == 1);
    CHECK(y[0] == -1);
    float z[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, avg[3];
    global_avgpool(avg, z, 2, 2, 3);
    CHECK(avg[0] == 5.5f && avg[1] == 6.5f && avg[2] == 7.5f);
}

static uint32_t bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static uint32_t bits(float f);
static void test_conversions(void)
{
    static const char *const levels[] = {"scalar", "avx2", "avx512"};
    kernel_table ref;
    kernels_init_level(&ref, "scalar");
    uint16_t *all = malloc(65536 * sizeof *all), *back = malloc(65536 * sizeof *back);
    float *f = malloc(65536 * sizeof *f), *f2 = malloc(65536 * sizeof *f2);
    for (uint32_t i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    for (size_t l = 0; l < 3; l++) {
        kernel_table t;
        if (kernels_init_level(&t, levels[l]) != 0) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        /* Every half converts to float and back unchanged (NaNs stay NaN). */
        t.linalg.f16_to_f32(f, all, 65536);
        t.linalg.f32_to_f16(back, f, 65536);
        int bad = 0;
        for (uint32_t i = 0; i < 65536; i++) {
            int nan = (i & 0x7C00) == 0x7C00 && (i & 0x3FF);
            if (nan ? !isnan(f[i]) : back[i] != i) bad++;
        }
        CHECK(bad == 0);
        ref.linalg.f16_to_f32(f2, all, 65536);
        int differ = 0; /* same bits, except NaN payloads (hardware quiets them) */
        for (uint32_t i = 0; i < 65536; i++) differ += isnan(f[i]) ? !isnan(f2[i]) : bits(f[i]) != bits(f2[i]);
        CHECK(differ == 0);
        /* bf16: every value round-trips; f32 → bf16 rounds to nearest even. */
        t.linalg.bf16_to_f32(f, all, 65536);
        for (uint32_t i = 0; i < 65536; i++) CHECK(bits(f[i]) == i << 16);
    }
    float in[6];
    uint32_t raw[6] = {0x3F808000u /* tie, even below */, 0x3F818000u /* tie, odd below */, 0x3F808001u,
                       0x7F7FFFFFu /* rounds to inf */, 0x7FC00001u /* NaN */, 0x00000001u /* denormal */};
    memcpy(in, raw, sizeof raw);
    uint16_t out[6];
    ref.linalg.f32_to_bf16(out, in, 6);
    CHECK(out[0] == 0x3F80 && out[1] == 0x3F82 && out[2] == 0x3F81 && out[3] == 0x7F80);
    CHECK((out[4] & 0x7F80) == 0x7F80 && (out[4] & 0x7F));
    CHECK(out[5] == 0x0000);
    /* f32 → f16 ties and overflow */
    float h_in[4] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.0f, 5.9604645e-08f};
    ref.linalg.f32_to_f16(out, h_in, 4);
    CHECK(out[0] == 0x3C00 && out[1] == 0x3C02 && out[2] == 0x7C00 && out[3] == 0x0001);
    free(all), free(back), free(f), free(f2);
}

int main(void)
{
    RUN(test_gemv_levels);
    RUN(test_linear_against_naive);
    RUN(test_conv_against_direct);
    RUN(test_pools);
    RUN(test_conversions);
    return test_summary("linalg");
}
