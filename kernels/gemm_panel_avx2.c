/* The panel GEMMs' epilogue for AVX2 (gemm_panel.h). */
#include "kernels/gemm_panel.h"
#include "kernels/simd_avx2.h"

#include "kernels/gemm_epilogue_simd_body.h"
