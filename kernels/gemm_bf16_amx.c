/* bf16 GEMM micro-kernel on AMX (TDPBF16PS: Intel Sapphire Rapids and later).
 *
 * A tile call computes up to 32 rows × 32 columns of C as four 16 × 16 f32
 * accumulator tiles: tmm0 rows 0-15 × columns 0-15, tmm1 rows 0-15 × 16-31,
 * tmm2 and tmm3 the same for rows 16-31. Per step of 16 k-pairs (32 k) it
 * loads two A tiles (tmm4-5: 16 rows × 32 bf16 each) and two B tiles
 * (tmm6-7: 16 k-pairs × 16 columns × 2 bf16) and issues four TDPBF16PS. One
 * k-pair of a panel is 128 bytes, columns 0-15 then 16-31 (gemm_bf16.h), so
 * a B tile is the panel itself read with a row stride of 128 bytes: the
 * weights are used as packed, with no copy.
 *
 * A is rounded to bf16 per row block as in the avx512bf16 variant, each row
 * padded with zeros to a multiple of 32 k. A K block whose k-pairs are not a
 * multiple of 16 ends with a step whose B tile comes from a zero-padded copy
 * of its last k-pairs (the panel may end there). Blocks of fewer than 32
 * rows configure shorter tiles; tiles of fewer than 32 columns (the last
 * panel of a ragged N) go through a buffer. The epilogue is the driver's
 * separate pass. The products are
 * bf16 × bf16, exact in f32, accumulated in f32 as vdpbf16ps does, in
 * another order.
 *
 * The tile state must have been granted to the process (cpu.c asks Linux
 * for it when it finds AMX). Each tile call loads the configuration for its
 * rows: a few dozen cycles against the ≥ 1,000 of a K block's products. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 32
#define KC 512 /* k per cache block */
#define TILE_ROWS 16
#define STEP_PAIRS 16                    /* k-pairs per step: the rows of a B tile */
#define PAIR_BYTES (GEMM_PANEL_NR * 2 * 2) /* one k-pair of a bf16 panel */

/* GCC's tile intrinsics are asm statements that take the address in a
 * register and do not tell the compiler they read or write memory there. A
 * local buffer filled for a tile load (or read after a tile store) must be
 * handed to an asm that may read and write it, or its stores may be dropped
 * as dead (seen: the K tail's zeros missing, NaN in its columns). */
static inline void tiles_touch(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* LDTILECFG's 64-byte operand (palette 1). */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* The tiles for a block of `rows` (1-32) rows: tmm0, tmm1 and tmm4 hold its
 * first 16 rows, tmm2, tmm3 and tmm5 the rest (unconfigured when none);
 * the B tiles tmm6-7 16 k-pairs. */
static void load_tile_config(size_t rows)
{
    _Alignas(64) tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    uint8_t first = (uint8_t)(rows < TILE_ROWS ? rows : TILE_ROWS), second = (uint8_t)(rows - first);
    static const int first_tiles[] = {0, 1, 4}, second_tiles[] = {2, 3, 5}, b_tiles[] = {6, 7};
    for (int i = 0; i < 3; i++) {
        c.colsb[first_tiles[i]] = 64, c.rows[first_tiles[i]] = first;
        if (second) c.colsb[second_tiles[i]] = 64, c.rows[second_tiles[i]] = second;
    }
    for (int i = 0; i < 2; i++) c.colsb[b_tiles[i]] = 64, c.rows[b_tiles[i]] = STEP_PAIRS;
    _tile_loadconfig(&c);
}

/* rows × kc floats of A → bf16 rows of lda_dst elements, zero from kc to
 * the next multiple of 32 (within the driver's 32 elements of slack). */
static void prep_a_amx(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc)
{
    uint16_t *d = dst;
    size_t padded = (kc + 31) & ~(size_t)31, even = (kc + 1) & ~(size_t)1;
    gemm_bf16_prep_a_avx512bf16(dst, lda_dst, A, lda, rows, kc);
    for (size_t r = 0; r < rows; r++) memset(d + r * lda_dst + even, 0, (padded - even) * sizeof *d);
}

/* One step: 32 k of A (a, rows lda_bytes apart) against 16 k-pairs of B
 * (b, k-pairs PAIR_BYTES apart), into tmm0-1 and, with two, tmm2-3. */
static inline __attribute__((always_inline)) void step(const uint16_t *a, size_t lda_bytes, const uint8_t *b,
                                                       int two)
{
    _tile_loadd(4, a, lda_bytes);
    _tile_loadd(6, b, PAIR_BYTES);
    _tile_loadd(7, b + PAIR_BYTES / 2, PAIR_BYTES);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (two) {
        _tile_loadd(5, (const uint8_t *)a + TILE_ROWS * lda_bytes, lda_bytes);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
}

/* The accumulators to or from c (ldc_bytes apart): tmm0-1, and tmm2-3 with two. */
static inline __attribute__((always_inline)) void load_c(const float *c, size_t ldc_bytes, int two)
{
    _tile_loadd(0, c, ldc_bytes);
    _tile_loadd(1, c + 16, ldc_bytes);
    if (two) {
        _tile_loadd(2, (const uint8_t *)c + TILE_ROWS * ldc_bytes, ldc_bytes);
        _tile_loadd(3, (const uint8_t *)(c + 16) + TILE_ROWS * ldc_bytes, ldc_bytes);
    }
}

static inline __attribute__((always_inline)) void store_c(float *c, size_t ldc_bytes, int two)
{
    _tile_stored(0, c, ldc_bytes);
    _tile_stored(1, c + 16, ldc_bytes);
    if (two) {
        _tile_stored(2, (uint8_t *)c + TILE_ROWS * ldc_bytes, ldc_bytes);
        _tile_stored(3, (uint8_t *)(c + 16) + TILE_ROWS * ldc_bytes, ldc_bytes);
    }
}

/* rows × cols of src (lds apart) to dst (ldd apart). */
static void copy_block(float *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) memcpy(dst + r * ldd, src + r * lds, cols * sizeof *dst);
}

static void tile(float *C, size_t ldc, const void *a, size_t lda, const void *panel, size_t kpairs, size_t rows,
                 size_t cols, int accumulate, const gemm_tile_epilogue *te)
{
    (void)te; /* the driver's separate pass applies the epilogue */
    _Alignas(64) float buf[MR * GEMM_PANEL_NR];
    int whole = cols == GEMM_PANEL_NR, two = rows > TILE_ROWS;
    float *c = whole ? C : buf;
    size_t ldc_bytes = (whole ? ldc : GEMM_PANEL_NR) * sizeof(float), lda_bytes = lda * sizeof(uint16_t);
    load_tile_config(rows);
    if (accumulate) {
        if (!whole) {
            memset(buf, 0, sizeof buf);
            copy_block(buf, GEMM_PANEL_NR, C, ldc, rows, cols);
            tiles_touch(buf);
        }
        load_c(c, ldc_bytes, two);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        if (two) {
            _tile_zero(2);
            _tile_zero(3);
        }
    }
    const uint16_t *ap = a;
    const uint8_t *w = panel;
    size_t q = 0;
    for (; q + STEP_PAIRS <= kpairs; q += STEP_PAIRS) step(ap + 2 * q, lda_bytes, w + q * PAIR_BYTES, two);
    if (q < kpairs) {
        _Alignas(64) uint8_t tail[STEP_PAIRS * PAIR_BYTES];
        memset(tail, 0, sizeof tail);
        memcpy(tail, w + q * PAIR_BYTES, (kpairs - q) * PAIR_BYTES);
        tiles_touch(tail);
        step(ap + 2 * q, lda_bytes, tail, two);
    }
    store_c(c, ldc_bytes, two);
    if (!whole) {
        tiles_touch(buf);
        copy_block(C, ldc, buf, GEMM_PANEL_NR, rows, cols);
    }
}

_Static_assert(MR * (KC + 32) * 2 <= GEMM_PANEL_ABUF && MR <= GEMM_PANEL_MAX_MR, "a block of A fits the driver's buffer");

static void gemm(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep)
{
    /* K blocks of 512: a 32-row block of A as bf16 is 34 KiB (L1), a chunk
     * of 16 panels 512 KiB (L2). */
    static const gemm_panel_micro mk = {"amx", MR, KC, 16, 2, 2, prep_a_amx, tile, gemm_panel_epilogue_avx512, 0, NULL};
    gemm_panel_drive(&mk, C, A, W, M, ep);
}

void bf16_kernels_amx(bf16_kernels *k)
{
    k->gemm_bf16 = gemm;
    k->name = "amx";
}
