/* The GEMM epilogue (linalg.h's gemm_epilogue) over a block of C, with the
 * vector vocabulary of simd_<level>.h included before this file: bias, then
 * residual, added in the same order as the scalar gemm_panel_epilogue (so
 * the results are identical), then the activation on the row segment. */

void SIMD_NAME(gemm_panel_epilogue)(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1,
                                           const gemm_epilogue *ep)
{
    if (!ep || (!ep->bias && !ep->residual && !ep->act)) return;
    size_t n = n1 - n0;
    for (size_t i = m0; i < m1; i++) {
        float *row = C + i * ldc + n0;
        const float *b = ep->bias ? ep->bias + n0 : NULL;
        const float *r = ep->residual ? ep->residual + i * ep->ldr + n0 : NULL;
        if (b || r) {
            size_t j = 0;
            for (; j + VL <= n; j += VL) {
                vf v = vload(row + j);
                if (b) v = vadd(v, vload(b + j));
                if (r) v = vadd(v, vload(r + j));
                vstore(row + j, v);
            }
            for (; j < n; j++) {
                if (b) row[j] += b[j];
                if (r) row[j] += r[j];
            }
        }
        if (ep->act) ep->act(row, n);
    }
}
