/* bf16-weight GEMM: weight packing, the scalar reference (the
 * specification), the blocked driver the SIMD micro-kernels plug into, and
 * the dispatch. */
#include <omp.h>
#include <string.h>

#include "kernels/kernels.h"

/* ---- packing ---------------------------------------------------------------- */

size_t gemm_bf16_packed_size(size_t N, size_t K)
{
    size_t panels = N / GEMM_BF16_NR + (N % GEMM_BF16_NR != 0), kp = K / 2 + (K & 1);
    if (kp && panels > SIZE_MAX / kp / (2 * GEMM_BF16_NR)) return 0;
    return panels * kp * 2 * GEMM_BF16_NR;
}

/* Column n, k-pair q, element e of panel-major storage (see gemm_bf16.h). */
static inline size_t packed_index(size_t n, size_t q, size_t e, size_t kpairs)
{
    return ((n / GEMM_BF16_NR * kpairs + q) * GEMM_BF16_NR + n % GEMM_BF16_NR) * 2 + e;
}

void gemm_bf16_pack(uint16_t *dst, const uint16_t *w_bf16, size_t N, size_t K)
{
    size_t kpairs = K / 2 + (K & 1);
    for (size_t n0 = 0; n0 < N; n0 += GEMM_BF16_NR) /* writes dst in order */
        for (size_t q = 0; q < kpairs; q++)
            for (size_t n = n0; n < n0 + GEMM_BF16_NR; n++)
                for (size_t k = 2 * q; k < 2 * q + 2; k++) *dst++ = n < N && k < K ? w_bf16[n * K + k] : 0;
}

void gemm_bf16_pack_f32(uint16_t *dst, const float *w, size_t N, size_t K)
{
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    size_t kpairs = K / 2 + (K & 1);
    memset(dst, 0, gemm_bf16_packed_size(N, K) * sizeof *dst);
    uint16_t chunk[256];
    for (size_t n = 0; n < N; n++)
        for (size_t k0 = 0; k0 < K; k0 += 256) {
            size_t len = K - k0 < 256 ? K - k0 : 256;
            s.f32_to_bf16(chunk, w + n * K + k0, len);
            for (size_t k = k0; k < k0 + len; k++) dst[packed_index(n, k / 2, k & 1, kpairs)] = chunk[k - k0];
        }
}

/* ---- scalar reference --------------------------------------------------------- */

static float widen(uint16_t h)
{
    uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static void epilogue_rows(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1, const gemm_epilogue *ep)
{
    if (!ep) return;
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

/* Widen each weight to f32 and accumulate in f32, k in order. */
static void gemm_bf16_scalar(float *C, const float *A, const bf16_panel *W, size_t M, const gemm_epilogue *ep)
{
    size_t N = W->N, K = W->K, kpairs = K / 2 + (K & 1);
    for (size_t i = 0; i < M; i++)
        for (size_t n = 0; n < N; n++) {
            float acc = 0;
            for (size_t k = 0; k < K; k++) acc += A[i * K + k] * widen(W->data[packed_index(n, k / 2, k & 1, kpairs)]);
            C[i * N + n] = acc;
        }
    epilogue_rows(C, N, 0, M, 0, N, ep);
}

/* ---- the blocked driver --------------------------------------------------------
 * A task is a chunk of ncp panels × a range of row blocks. For each K block,
 * each row block of A is converted once into a small buffer (it stays in
 * L1) and swept across the chunk's panels, whose K-block slices stay in L2.
 * After the last K block of a row block, its rows of the chunk get the
 * epilogue while they are still in cache. */

void gemm_bf16_prep_f32(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc)
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

/* One task: panels [p0, p1) × row blocks [mb0, mb1). */
#define GEMM_BF16_ABUF (GEMM_BF16_MAX_MR * (GEMM_BF16_MAX_KC + 32) * 4)

static void drive_task(const gemm_bf16_micro *mk, size_t kc, float *C, const float *A, const bf16_panel *W, size_t M,
                       size_t p0, size_t p1, size_t mb0, size_t mb1, const gemm_epilogue *ep)
{
    _Alignas(64) unsigned char abuf[GEMM_BF16_ABUF];
    size_t N = W->N, K = W->K, kpairs = K / 2 + (K & 1), mr = (size_t)mk->mr;
    size_t panel_len = kpairs * 2 * GEMM_BF16_NR;
    size_t n_lo = p0 * GEMM_BF16_NR, n_hi = p1 * GEMM_BF16_NR < N ? p1 * GEMM_BF16_NR : N;
    for (size_t k0 = 0; k0 < K; k0 += kc) {
        size_t kcb = K - k0 < kc ? K - k0 : kc, kp = (kcb + 1) / 2;
        /* Row stride of the buffer: one cache line beyond the block, so the
         * rows do not all fall into the same L1 sets. */
        size_t lda_buf = 2 * kp + 64 / (size_t)mk->a_bytes;
        const uint16_t *wk = W->data + k0 * GEMM_BF16_NR; /* k-pair k0/2 of panel 0 */
        for (size_t mb = mb0; mb < mb1; mb++) {
            size_t m0 = mb * mr, rows = M - m0 < mr ? M - m0 : mr;
            mk->prep_a(abuf, lda_buf, A + m0 * K + k0, K, rows, kcb);
            for (size_t p = p0; p < p1; p++) {
                size_t cols = N - p * GEMM_BF16_NR < GEMM_BF16_NR ? N - p * GEMM_BF16_NR : GEMM_BF16_NR;
                mk->tile(C + m0 * N + p * GEMM_BF16_NR, N, abuf, lda_buf, wk + p * panel_len, kp, rows, cols, k0 > 0);
            }
            if (k0 + kcb == K) epilogue_rows(C, N, m0, m0 + rows, n_lo, n_hi, ep);
        }
    }
}

/* Below this many multiply-adds one thread is faster than waking the team. */
#define GEMM_BF16_PARALLEL_MIN (1u << 20)
/* With one block of rows (decoding: M is the number of beams) the product
 * reads each weight once and is bound by memory bandwidth, so it is shared
 * by weight bytes instead: from this many weights on, in at least 4 column
 * chunks per thread. */
#define GEMM_BF16_GEMV_PARALLEL_MIN (1u << 17)

void gemm_bf16_drive(const gemm_bf16_micro *mk, float *C, const float *A, const bf16_panel *W, size_t M,
                     const gemm_epilogue *ep)
{
    size_t N = W->N, K = W->K;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        memset(C, 0, M * N * sizeof *C);
        epilogue_rows(C, N, 0, M, 0, N, ep);
        return;
    }
    size_t panels = (N + GEMM_BF16_NR - 1) / GEMM_BF16_NR, mblocks = (M + (size_t)mk->mr - 1) / (size_t)mk->mr;
    size_t ncp = (size_t)mk->ncp, kc = (size_t)mk->kc;
    int nt = (double)M * (double)N * (double)K < GEMM_BF16_PARALLEL_MIN ? 1 : omp_get_max_threads();
    if (mblocks == 1 && (double)N * (double)K >= GEMM_BF16_GEMV_PARALLEL_MIN) {
        nt = omp_get_max_threads();
        size_t per = panels / (4 * (size_t)nt);
        ncp = per < 1 ? 1 : per < ncp ? per : ncp;
        /* few rows: all of K in one block when A fits the buffer, so each
         * panel is read start to end once */
        size_t lda_buf = K + 1 + 64 / (size_t)mk->a_bytes;
        if (M * lda_buf * (size_t)mk->a_bytes <= GEMM_BF16_ABUF) kc = K + (K & 1);
    }
    size_t chunks = (panels + ncp - 1) / ncp;
    /* Tasks: column chunks × row groups, at least 4 per thread when the
     * rows allow, handed out dynamically: on a machine shared with other
     * work a thread that gets less CPU takes fewer tasks. */
    size_t want = nt > 1 ? 4 * (size_t)nt : 1, mgroups = 1;
    if (chunks < want) mgroups = (want + chunks - 1) / chunks < mblocks ? (want + chunks - 1) / chunks : mblocks;
    size_t tasks = chunks * mgroups;
#pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (size_t t = 0; t < tasks; t++) {
        size_t c = t % chunks, mb0, mb1;
        split(mblocks, mgroups, t / chunks, &mb0, &mb1);
        drive_task(mk, kc, C, A, W, M, c * ncp, (c + 1) * ncp < panels ? (c + 1) * ncp : panels, mb0, mb1, ep);
    }
}

/* ---- dispatch ------------------------------------------------------------------ */

void bf16_kernels_scalar(bf16_kernels *k)
{
    k->gemm_bf16 = gemm_bf16_scalar;
    k->name = "scalar";
}

void bf16_install(bf16_kernels *k, const cpu_features *f)
{
    bf16_kernels_scalar(k);
#if defined(__x86_64__)
    int avx512 = f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq;
    if (avx512 && f->avx512bf16) bf16_kernels_avx512bf16(k);
    else if (avx512) bf16_kernels_avx512(k);
    else if (f->avx2 && f->fma) bf16_kernels_avx2(k);
#else
    (void)f;
#endif
}
