/* avx2 variants of the nn kernels: the shared body over simd_avx2.h. */
#include "kernels/simd_avx2.h"
#include "kernels/nn_simd_body.h"
