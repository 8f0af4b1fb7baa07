/* Winograd F(2×2, 3×3) convolution: the weight transform, the scalar tile
 * transforms and the driver (see winograd.h). */
#include <omp.h>
#include <string.h>

#include "kernels/winograd.h"

/* ---- weights: U = G g Gᵀ ---------------------------------------------------- */

/* G·v for a 3-vector: (v0, (v0 + v1 + v2)/2, (v0 - v1 + v2)/2, v2). */
static void g_times(double out[4], double v0, double v1, double v2)
{
    out[0] = v0;
    out[1] = (v0 + v1 + v2) * 0.5;
    out[2] = (v0 - v1 + v2) * 0.5;
    out[3] = v2;
}

void winograd_weights(float *u, const float *w, size_t cout, size_t cin)
{
    size_t plane = cout * cin;
    for (size_t o = 0; o < cout; o++)
        for (size_t i = 0; i < cin; i++) {
            const float *g = w + o * 9 * cin + i; /* g[(3·ky + kx)·cin] */
            double t[4][3], r[4];                 /* t = G g: 4 × 3 */
            for (int kx = 0; kx < 3; kx++) {
                g_times(r, g[kx * cin], g[(3 + kx) * cin], g[(6 + kx) * cin]);
                for (int a = 0; a < 4; a++) t[a][kx] = r[a];
            }
            for (int a = 0; a < 4; a++) { /* (G g) Gᵀ, row a */
                g_times(r, t[a][0], t[a][1], t[a][2]);
                for (int b = 0; b < 4; b++) u[(size_t)(4 * a + b) * plane + o * cin + i] = (float)r[b];
            }
        }
}

/* ---- tile transforms (scalar reference) ------------------------------------- */

void winograd_input_scalar(float *v, size_t ldv, const float *const d[16], size_t c)
{
    for (size_t ch = 0; ch < c; ch++) {
        float t[16]; /* Bᵀ d */
        for (int j = 0; j < 4; j++) {
            float d0 = d[j][ch], d1 = d[4 + j][ch], d2 = d[8 + j][ch], d3 = d[12 + j][ch];
            t[j] = d0 - d2, t[4 + j] = d1 + d2, t[8 + j] = d2 - d1, t[12 + j] = d1 - d3;
        }
        for (int i = 0; i < 4; i++) { /* (Bᵀ d) B */
            const float *r = t + 4 * i;
            v[(size_t)(4 * i) * ldv + ch] = r[0] - r[2];
            v[(size_t)(4 * i + 1) * ldv + ch] = r[1] + r[2];
            v[(size_t)(4 * i + 2) * ldv + ch] = r[2] - r[1];
            v[(size_t)(4 * i + 3) * ldv + ch] = r[1] - r[3];
        }
    }
}

void winograd_output_scalar(float *const y[4], const float *m, size_t ldm, size_t c, const float *bias,
                            const float *const res[4], int relu)
{
    for (size_t ch = 0; ch < c; ch++) {
        float s[8]; /* Aᵀ m: 2 × 4 */
        for (int j = 0; j < 4; j++) {
            float m0 = m[(size_t)j * ldm + ch], m1 = m[(size_t)(4 + j) * ldm + ch];
            float m2 = m[(size_t)(8 + j) * ldm + ch], m3 = m[(size_t)(12 + j) * ldm + ch];
            s[j] = m0 + m1 + m2, s[4 + j] = m1 - m2 - m3;
        }
        for (int i = 0; i < 2; i++) {
            const float *r = s + 4 * i;
            float o[2] = {r[0] + r[1] + r[2], r[1] - r[2] - r[3]}; /* (Aᵀ m) A */
            for (int j = 0; j < 2; j++) {
                int p = 2 * i + j;
                if (!y[p]) continue;
                float z = o[j];
                if (bias) z += bias[ch];
                if (res[p]) z += res[p][ch];
                if (relu) z = z > 0 ? z : 0;
                y[p][ch] = z;
            }
        }
    }
}

/* ---- driver ------------------------------------------------------------------ */

/* Tiles per block: the block's transformed inputs and products (16 rows of
 * Cin and of Cout floats per tile) fill about 1 MiB, between 16 and 256
 * tiles. */
#define WINOGRAD_BLOCK_BYTES ((size_t)1 << 20)

static size_t block_tiles(int cin, int cout)
{
    size_t per_tile = WINOGRAD_POSITIONS * ((size_t)cin + (size_t)cout) * sizeof(float);
    size_t n = WINOGRAD_BLOCK_BYTES / per_tile / 16 * 16;
    return n < 16 ? 16 : n > 256 ? 256 : n;
}

/* The zero row padding reads from, rounded to whole cache lines. */
static size_t zero_floats(int cin) { return ((size_t)cin + 15) / 16 * 16; }

/* Floats from one position's matrix to the next in a block (V_ξ: tb rows
 * of c): one cache line more than the rows need, so that the 16 rows the
 * transforms of a tile store (or load) never lie a multiple of 4 KiB
 * apart, in the same L1 set. With tb · c · 4 bytes a multiple of 4 KiB
 * (32 tiles of 256 channels), the 16 streams fought over 8 ways. */
static size_t plane_floats(size_t tb, int c) { return tb * (size_t)c + 16; }

static size_t thread_floats(int cin, int cout)
{
    size_t tb = block_tiles(cin, cout);
    return WINOGRAD_POSITIONS * (plane_floats(tb, cin) + plane_floats(tb, cout));
}

size_t winograd_scratch(int cin, int cout, int threads)
{
    return zero_floats(cin) + (size_t)(threads > 1 ? threads : 1) * thread_floats(cin, cout);
}

typedef struct {
    const float *x;
    float *y;
    int h, w, cin, cout, oh, ow, pad_top, pad_left;
    size_t tiles_x;
    const float *zero; /* cin zeros */
} wino_layer;

/* The 16 input rows of a tile: pixels of x, or the zero row outside. */
static void tile_inputs(const float *d[16], const wino_layer *L, size_t tile)
{
    int y0 = (int)(tile / L->tiles_x) * 2 - L->pad_top, x0 = (int)(tile % L->tiles_x) * 2 - L->pad_left;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int iy = y0 + i, ix = x0 + j;
            d[4 * i + j] = iy < 0 || iy >= L->h || ix < 0 || ix >= L->w
                               ? L->zero
                               : L->x + ((size_t)iy * (size_t)L->w + (size_t)ix) * (size_t)L->cin;
        }
}

/* The 2×2 output pixels of a tile and their residual rows (NULL outside). */
static void tile_outputs(float *yp[4], const float *rp[4], const wino_layer *L, size_t tile, const gemm_epilogue *ep)
{
    int oy0 = (int)(tile / L->tiles_x) * 2, ox0 = (int)(tile % L->tiles_x) * 2;
    for (int p = 0; p < 4; p++) {
        int oy = oy0 + p / 2, ox = ox0 + p % 2;
        size_t pix = (size_t)oy * (size_t)L->ow + (size_t)ox;
        int inside = oy < L->oh && ox < L->ow;
        yp[p] = inside ? L->y + pix * (size_t)L->cout : NULL;
        rp[p] = inside && ep && ep->residual ? ep->residual + pix * ep->ldr : NULL;
    }
}

/* Tiles [first, first + n): transform, 16 products, transform back. */
static void winograd_block(const linalg_kernels *lk, const wino_layer *L, const linear_weights *u,
                           const gemm_epilogue *ep, float *V, float *M, size_t tb, size_t first, size_t n)
{
    size_t cin = (size_t)L->cin, cout = (size_t)L->cout, ldv = plane_floats(tb, L->cin), ldm = plane_floats(tb, L->cout);
    for (size_t i = 0; i < n; i++) {
        const float *d[16];
        tile_inputs(d, L, first + i);
        lk->winograd_input(V + i * cin, ldv, d, cin);
    }
    for (size_t xi = 0; xi < WINOGRAD_POSITIONS; xi++)
        linear_run(lk, M + xi * ldm, V + xi * ldv, &u[xi], n, cout, cin, NULL);
    int relu = ep && ep->act && ep->act_is_relu;
    for (size_t i = 0; i < n; i++) {
        float *yp[4];
        const float *rp[4];
        tile_outputs(yp, rp, L, first + i, ep);
        lk->winograd_output(yp, M + i * cout, ldm, cout, ep ? ep->bias : NULL, rp, relu);
        if (ep && ep->act && !relu)
            for (int p = 0; p < 4; p++)
                if (yp[p]) ep->act(yp[p], cout);
    }
}

void conv2d_winograd(const linalg_kernels *lk, float *y, const float *x, int h, int w, int cin,
                     const linear_weights u[WINOGRAD_POSITIONS], int cout, const conv_geometry *g,
                     const gemm_epilogue *ep, float *scratch, int threads)
{
    wino_layer L = {x, y, h, w, cin, cout, conv_out_size(h, 3, g->pad_top, g->pad_bottom, 1),
                    conv_out_size(w, 3, g->pad_left, g->pad_right, 1), g->pad_top, g->pad_left, 0, scratch};
    if (L.oh <= 0 || L.ow <= 0 || cout <= 0) return;
    L.tiles_x = ((size_t)L.ow + 1) / 2;
    size_t tiles = L.tiles_x * (((size_t)L.oh + 1) / 2), tb = block_tiles(cin, cout);
    memset(scratch, 0, (size_t)cin * sizeof *scratch);
    float *base = scratch + zero_floats(cin);
    int nt = threads > 1 ? threads : 1;
    /* static, in order: thread t takes the t-th run of tiles, the same
     * rows of the image it had in the layers before (gemm_panel.c) */
#pragma omp parallel num_threads(nt)
    {
        size_t t = (size_t)omp_get_thread_num(), n = (size_t)omp_get_num_threads();
        size_t lo = tiles * t / n, hi = tiles * (t + 1) / n;
        float *V = base + t * thread_floats(cin, cout), *M = V + WINOGRAD_POSITIONS * plane_floats(tb, cin);
        for (size_t b = lo; b < hi; b += tb)
            winograd_block(lk, &L, u, ep, V, M, tb, b, hi - b < tb ? hi - b : tb);
    }
}
