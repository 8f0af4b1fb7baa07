/* What the AVX-512 panel micro-kernels (gemm_f32_avx512.c,
 * gemm_bf16_avx512.c, gemm_bf16_avx512bf16.c) share: full unrolling of the
 * row loops (their trip counts are constants once inlined, so the
 * accumulators live in registers), and the end of a tile: `rows` rows of
 * accumulators, c0 for columns 0–15 and c1 for 16–31, stored into C (only
 * the first `cols` columns) or added to what C holds, with the tile's
 * epilogue when it has one, and a prefetch of the residual it will add.
 * Include after <immintrin.h> in a file compiled for AVX-512. */
#ifndef UNPROMPT_KERNELS_GEMM_TILE_AVX512_H
#define UNPROMPT_KERNELS_GEMM_TILE_AVX512_H

#include <stddef.h>

#include "kernels/gemm_panel.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GEMM_TILE_SANITIZED 1
#endif
#endif

#if defined(GEMM_TILE_SANITIZED)
/* Under ASan the row loops stay loops: the same operations on accumulators
 * in memory, which clang compiles in seconds instead of many minutes. */
#define UNROLL
#elif defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif

/* Called before the products: asks for the residual rows the epilogue will
 * add, so that their loads (from memory: each is read once) overlap the
 * FMAs instead of stalling the end of a short tile (K = 64 in DeepDanbooru's
 * first stage). */
static inline __attribute__((always_inline)) void tile_prefetch_residual(const int rows, const gemm_tile_epilogue *te)
{
    if (!te || !te->residual) return;
    UNROLL
    for (int r = 0; r < rows; r++) {
        const char *res = (const char *)(te->residual + (size_t)r * te->ldr);
        _mm_prefetch(res, _MM_HINT_T0);
        _mm_prefetch(res + 64, _MM_HINT_T0);
    }
}

/* How far ahead a stream tile (gemm_panel.h) asks for its panel: 8 KiB, 64
 * k-steps of a 32-column f32 panel. On the 2-core VM, 8 rows against cold
 * 3072 × 768 f32 weights: 27-32 GB/s without, 50-64 GB/s with (one row:
 * 41-50 → 54-68 GB/s). */
#define GEMM_TILE_STREAM_AHEAD 8192

/* The two cache lines of a panel step (32 columns × 4 bytes: one k of an
 * f32 panel, one k-pair of a bf16 one) GEMM_TILE_STREAM_AHEAD bytes on,
 * when stream is set. */
static inline __attribute__((always_inline)) void tile_prefetch_stream(const int stream, const void *w)
{
    if (!stream) return;
    const char *p = (const char *)w + GEMM_TILE_STREAM_AHEAD;
    _mm_prefetch(p, _MM_HINT_T0);
    _mm_prefetch(p + 64, _MM_HINT_T0);
}

/* A micro-kernel file's two tiles (gemm_panel.h), `tile` and `tile_stream`,
 * from its always-inline any(stream, C, ldc, a, lda, panel, kpairs, rows,
 * cols, accumulate, te). */
#define GEMM_TILE_ENTRY_POINTS(any)                                                                              \
    static void tile(float *C, size_t ldc, const void *a, size_t lda, const void *panel, size_t kpairs,          \
                     size_t rows, size_t cols, int accumulate, const gemm_tile_epilogue *te)                     \
    {                                                                                                            \
        any(0, C, ldc, a, lda, panel, kpairs, rows, cols, accumulate, te);                                       \
    }                                                                                                            \
    static void tile_stream(float *C, size_t ldc, const void *a, size_t lda, const void *panel, size_t kpairs,   \
                            size_t rows, size_t cols, int accumulate, const gemm_tile_epilogue *te)              \
    {                                                                                                            \
        any(1, C, ldc, a, lda, panel, kpairs, rows, cols, accumulate, te);                                       \
    }

/* The tile's epilogue (gemm_panel.h) on the accumulators of a whole tile
 * (32 columns), in the order of gemm_panel_epilogue: bias, residual, ReLU
 * (max(x, 0) returns its second operand for NaN and for -0, like
 * x > 0 ? x : 0). */
static inline __attribute__((always_inline)) void tile_epilogue_avx512(const int rows, __m512 *c0, __m512 *c1,
                                                                       const gemm_tile_epilogue *te)
{
    if (te->bias) {
        __m512 b0 = _mm512_loadu_ps(te->bias), b1 = _mm512_loadu_ps(te->bias + 16);
        UNROLL
        for (int r = 0; r < rows; r++) c0[r] = _mm512_add_ps(c0[r], b0), c1[r] = _mm512_add_ps(c1[r], b1);
    }
    if (te->residual) {
        UNROLL
        for (int r = 0; r < rows; r++) {
            const float *res = te->residual + (size_t)r * te->ldr;
            c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(res));
            c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(res + 16));
        }
    }
    if (te->relu) {
        const __m512 zero = _mm512_setzero_ps();
        UNROLL
        for (int r = 0; r < rows; r++) c0[r] = _mm512_max_ps(c0[r], zero), c1[r] = _mm512_max_ps(c1[r], zero);
    }
}

/* A tile narrower than 32 columns (the last panel of a ragged N) finished
 * from a buffer of its accumulators in scalar code, with the same
 * operations in the same order as the vector path, so the same bits. Kept
 * out of line, and the whole tiles free of masked loads and stores: under
 * ASan every masked access is checked lane by lane, and clang took many
 * minutes over the unrolled tiles. */
static __attribute__((noinline)) void tile_finish_narrow(float *C, size_t ldc, const float *buf, int rows, size_t cols,
                                                         int accumulate, const gemm_tile_epilogue *te)
{
    for (int r = 0; r < rows; r++) {
        float *cr = C + (size_t)r * ldc;
        for (size_t j = 0; j < cols; j++) {
            float v = buf[(size_t)r * GEMM_PANEL_NR + j];
            if (accumulate) v = v + cr[j];
            if (te && te->bias) v = v + te->bias[j];
            if (te && te->residual) v = v + te->residual[(size_t)r * te->ldr + j];
            if (te && te->relu) v = v > 0 ? v : 0;
            cr[j] = v;
        }
    }
}

static inline __attribute__((always_inline)) void tile_store_avx512(const int rows, float *C, size_t ldc, __m512 *c0,
                                                                    __m512 *c1, size_t cols, int accumulate,
                                                                    const gemm_tile_epilogue *te)
{
    if (cols < GEMM_PANEL_NR) {
        _Alignas(64) float buf[GEMM_PANEL_MAX_MR * GEMM_PANEL_NR];
        UNROLL
        for (int r = 0; r < rows; r++) {
            _mm512_store_ps(buf + r * GEMM_PANEL_NR, c0[r]);
            _mm512_store_ps(buf + r * GEMM_PANEL_NR + 16, c1[r]);
        }
        tile_finish_narrow(C, ldc, buf, rows, cols, accumulate, te);
        return;
    }
    if (accumulate) {
        UNROLL
        for (int r = 0; r < rows; r++) {
            const float *cr = C + (size_t)r * ldc;
            c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(cr));
            c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(cr + 16));
        }
    }
    if (te) tile_epilogue_avx512(rows, c0, c1, te);
    UNROLL
    for (int r = 0; r < rows; r++) {
        _mm512_storeu_ps(C + (size_t)r * ldc, c0[r]);
        _mm512_storeu_ps(C + (size_t)r * ldc + 16, c1[r]);
    }
}

#endif
