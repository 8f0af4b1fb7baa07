/* The panel GEMMs' epilogue for AVX-512 (gemm_panel.h). */
#include "kernels/gemm_panel.h"
#include "kernels/simd_avx512.h"

#include "kernels/gemm_epilogue_simd_body.h"
