/* NEON variants of the linalg kernels: the Winograd tile transforms
 * (winograd_simd_body.h); GEMM and gemv stay OpenBLAS's. */
#include "kernels/kernels.h"
#include "kernels/simd_neon.h"
#include "kernels/winograd_simd_body.h"

void linalg_kernels_neon(linalg_kernels *k)
{
    linalg_kernels_scalar(k);
    k->winograd_input = winograd_input_neon;
    k->winograd_output = winograd_output_neon;
}
