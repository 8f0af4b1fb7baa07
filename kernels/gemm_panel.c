/* The blocked driver shared by the packed-weight GEMMs (bf16 and f32
 * panels); see gemm_panel.h.
 *
 * A task is a chunk of ncp panels × a range of row blocks. For each K block,
 * each row block of A is converted once into a small buffer (it stays in
 * L1) and swept across the chunk's panels, whose K-block slices stay in L2.
 * After the last K block of a row block, its rows of the chunk get the
 * epilogue while they are still in cache. */
#include <omp.h>
#include <string.h>

#include "kernels/gemm_panel.h"

size_t gemm_panel_count(size_t N, size_t K, size_t *kpairs)
{
    size_t panels = N / GEMM_PANEL_NR + (N % GEMM_PANEL_NR != 0), kp = K / 2 + (K & 1);
    *kpairs = kp;
    if (kp && panels > SIZE_MAX / 4 / kp / (2 * GEMM_PANEL_NR)) return 0; /* bytes fit too */
    return panels;
}

void gemm_panel_epilogue(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1, const gemm_epilogue *ep)
{
    if (!ep || (!ep->bias && !ep->residual && !ep->act)) return;
    for (size_t i = m0; i < m1; i++) {
        float *row = C + i * ldc;
        if (ep->bias)
            for (size_t j = n0; j < n1; j++) row[j] += ep->bias[j];
        if (ep->residual) {
            const float *res = ep->residual + i * ep->ldr;
            for (size_t j = n0; j < n1; j++) row[j] += res[j];
        }
        if (ep->act) ep->act(row + n0, n1 - n0);
    }
}

void gemm_panel_prep_f32(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc)
{
    float *d = dst;
    for (size_t r = 0; r < rows; r++) {
        memcpy(d + r * lda_dst, A + r * lda, kc * sizeof *d);
        if (kc & 1) d[r * lda_dst + kc] = 0;
    }
}

static void split(size_t n, size_t parts, size_t i, size_t *lo, size_t *hi)
{
    *lo = n * i / parts;
    *hi = n * (i + 1) / parts;
}

/* Whether the tiles can read A where it is instead of from a copy: when
 * the copy would only be a copy (f32 A) of whole k-pairs (K even: no odd
 * tail to pad with zero, and no read past a row), and the row stride is not
 * a multiple of 4 KiB, which would put a tile's rows into the same L1
 * sets, unless there are so few rows (M ≤ 8) that they fit the ways of a
 * set beside the panel's lines. Saves the copy where few panels share it
 * (N = 64 in DeepDanbooru's first stages), and lets a few rows take all of
 * K at once (decoding: BLIP's 3072-wide FFN output). */
#define GEMM_PANEL_ALIASED_ROWS 8
static int a_in_place(const gemm_panel_micro *mk, size_t M, size_t K)
{
    return mk->prep_a == gemm_panel_prep_f32 && K % 2 == 0 &&
           (K * sizeof(float) % 4096 != 0 || M <= GEMM_PANEL_ALIASED_ROWS);
}


/* Whether the tiles apply the epilogue themselves: they can, and it has
 * something to apply that they know (no activation, or a ReLU). */
static int fused_epilogue(const gemm_panel_micro *mk, const gemm_epilogue *ep)
{
    return mk->fuses_epilogue && ep && (ep->bias || ep->residual || ep->act) && (!ep->act || ep->act_is_relu);
}

/* The part of ep that falls on the tile at row m0, column n0. */
static gemm_tile_epilogue tile_epilogue_at(const gemm_epilogue *ep, size_t m0, size_t n0)
{
    gemm_tile_epilogue te = {ep->bias ? ep->bias + n0 : NULL, ep->residual ? ep->residual + m0 * ep->ldr + n0 : NULL,
                             ep->ldr, ep->act != NULL};
    return te;
}

/* One task: panels [p0, p1) × row blocks [mb0, mb1). */
static void drive_task(const gemm_panel_micro *mk, size_t kc, float *C, const float *A, const weight_panel *W,
                       size_t M, size_t p0, size_t p1, size_t mb0, size_t mb1, const gemm_epilogue *ep)
{
    /* one block of rows: each panel is read once, from memory */
    gemm_panel_tile_fn *tile = M <= (size_t)mk->mr && mk->tile_stream ? mk->tile_stream : mk->tile;
    _Alignas(64) unsigned char abuf[GEMM_PANEL_ABUF];
    size_t N = W->N, K = W->K, kpairs = K / 2 + (K & 1), mr = (size_t)mk->mr, wb = (size_t)mk->w_bytes;
    size_t panel_bytes = kpairs * 2 * GEMM_PANEL_NR * wb;
    int in_place = a_in_place(mk, M, K), fused = fused_epilogue(mk, ep);
    size_t n_lo = p0 * GEMM_PANEL_NR, n_hi = p1 * GEMM_PANEL_NR < N ? p1 * GEMM_PANEL_NR : N;
    for (size_t k0 = 0; k0 < K; k0 += kc) {
        size_t kcb = K - k0 < kc ? K - k0 : kc, kp = (kcb + 1) / 2;
        /* Row stride of the buffer: one cache line beyond the block, so the
         * rows do not all fall into the same L1 sets. */
        size_t lda_buf = 2 * kp + 64 / (size_t)mk->a_bytes;
        const unsigned char *wk = (const unsigned char *)W->data + k0 * GEMM_PANEL_NR * wb; /* panel 0 at k0 */
        for (size_t mb = mb0; mb < mb1; mb++) {
            size_t m0 = mb * mr, rows = M - m0 < mr ? M - m0 : mr;
            const float *src = A + m0 * K + k0;
            const void *a = src;
            size_t lda = K;
            if (!in_place) {
                mk->prep_a(abuf, lda_buf, src, K, rows, kcb);
                a = abuf, lda = lda_buf;
            }
            int last = k0 + kcb == K;
            for (size_t p = p0; p < p1; p++) {
                size_t n0 = p * GEMM_PANEL_NR, cols = N - n0 < GEMM_PANEL_NR ? N - n0 : GEMM_PANEL_NR;
                gemm_tile_epilogue te;
                if (last && fused) te = tile_epilogue_at(ep, m0, n0);
                tile(C + m0 * N + n0, N, a, lda, wk + p * panel_bytes, kp, rows, cols, k0 > 0,
                     last && fused ? &te : NULL);
            }
            if (last && !fused) mk->epilogue(C, N, m0, m0 + rows, n_lo, n_hi, ep);
        }
    }
}

/* Task t of chunks × mgroups: column chunk t % chunks, row group t / chunks. */
static void run_task(const gemm_panel_micro *mk, size_t kc, float *C, const float *A, const weight_panel *W, size_t M,
                     size_t t, size_t chunks, size_t mgroups, size_t mblocks, size_t ncp, const gemm_epilogue *ep)
{
    size_t panels = (W->N + GEMM_PANEL_NR - 1) / GEMM_PANEL_NR, c = t % chunks, mb0, mb1;
    split(mblocks, mgroups, t / chunks, &mb0, &mb1);
    drive_task(mk, kc, C, A, W, M, c * ncp, (c + 1) * ncp < panels ? (c + 1) * ncp : panels, mb0, mb1, ep);
}

/* Below this many multiply-adds one thread is faster than waking the team. */
#define GEMM_PANEL_PARALLEL_MIN (1u << 20)
/* With one block of rows (decoding: M is the number of beams) the product
 * reads each weight once and is bound by memory bandwidth, so it is shared
 * by weight bytes instead: from this many weights on, in at least 4 column
 * chunks per thread. */
#define GEMM_PANEL_GEMV_PARALLEL_MIN (1u << 17)
/* Up to this many row blocks (and more than one), threads share the
 * columns only. */
#define GEMM_PANEL_FEW_MBLOCKS 6

void gemm_panel_drive(const gemm_panel_micro *mk, float *C, const float *A, const weight_panel *W, size_t M,
                      const gemm_epilogue *ep)
{
    size_t N = W->N, K = W->K;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        memset(C, 0, M * N * sizeof *C);
        gemm_panel_epilogue(C, N, 0, M, 0, N, ep);
        return;
    }
    size_t panels = (N + GEMM_PANEL_NR - 1) / GEMM_PANEL_NR, mblocks = (M + (size_t)mk->mr - 1) / (size_t)mk->mr;
    size_t ncp = (size_t)mk->ncp, kc = (size_t)mk->kc;
    /* called from inside a parallel region (a convolution's blocks), the
     * product is that thread's alone */
    int team = omp_in_parallel() ? 1 : omp_get_max_threads();
    int nt = (double)M * (double)N * (double)K < GEMM_PANEL_PARALLEL_MIN ? 1 : team;
    if (mblocks == 1 && (double)N * (double)K >= GEMM_PANEL_GEMV_PARALLEL_MIN) {
        nt = team;
        size_t per = panels / (4 * (size_t)nt);
        ncp = per < 1 ? 1 : per < ncp ? per : ncp;
        /* few rows: all of K in one block when A is read in place or fits
         * the buffer, so each panel is read start to end once and a task's
         * panels, adjacent in memory, make one stream */
        size_t lda_buf = K + 1 + 64 / (size_t)mk->a_bytes;
        if (a_in_place(mk, M, K) || M * lda_buf * (size_t)mk->a_bytes <= GEMM_PANEL_ABUF) kc = K + (K & 1);
    } else if (mblocks <= GEMM_PANEL_FEW_MBLOCKS && nt > 1) {
        /* A few row blocks (DeepDanbooru's last feature maps, 4×4 and
         * 8×8 pixels against up to 1024 × 9216 weights): narrower column
         * chunks instead of row groups, so that each weight comes from
         * memory once for all blocks, not once per block (16 × 1024 × 9216:
         * 2.25 → 1.38 ms; the 8×8 layers inside the network, 11.5 → 9.9 ms
         * in all). Isolated, with the weights already in L3, row groups were
         * as fast from 3 blocks on; inside the network the weights are cold.
         * At 16×16 (22 blocks) row groups stay faster. */
        size_t per = panels / (4 * (size_t)nt);
        ncp = per < 1 ? 1 : per < ncp ? per : ncp;
    }
    size_t chunks = (panels + ncp - 1) / ncp;
    /* Tasks: column chunks × row groups, at least 4 per thread when the
     * rows allow. Handed out statically, in order: task t is row group
     * t / chunks, so a thread takes the same rows in every product of the
     * same M, and the rows it wrote in one layer (and the residual it added)
     * are still in its own L2 when the next layer reads them. Dynamic
     * scheduling, which lets a thread that gets less CPU take fewer tasks,
     * scattered the rows between the cores: on the 2-core VM static was
     * faster in 7 of 8 alternated pairs for DeepDanbooru (median 324 →
     * 310 ms), 3 of 4 for the CLIP image tower (574 → 530 ms) and 3 of 3
     * for BLIP's (369–400 → 353–386 ms). */
    size_t want = nt > 1 ? 4 * (size_t)nt : 1, mgroups = 1;
    if (chunks < want) mgroups = (want + chunks - 1) / chunks < mblocks ? (want + chunks - 1) / chunks : mblocks;
    /* and a multiple of the threads when the rows allow: 9 tasks on 2
     * threads leave one idle for a ninth of the time */
    while (chunks < want && (chunks * mgroups) % (size_t)nt && mgroups < mblocks) mgroups++;
    size_t tasks = chunks * mgroups;
    if (nt == 1) { /* no team at all: a nested one of 1 still costs a malloc and a free */
        for (size_t t = 0; t < tasks; t++) run_task(mk, kc, C, A, W, M, t, chunks, mgroups, mblocks, ncp, ep);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t t = 0; t < tasks; t++) run_task(mk, kc, C, A, W, M, t, chunks, mgroups, mblocks, ncp, ep);
}
