/* avx512 variants of the nn kernels: the shared body over simd_avx512.h. */
#include "kernels/simd_avx512.h"
#include "kernels/nn_simd_body.h"
