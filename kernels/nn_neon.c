/* neon variants of the nn kernels: the shared body over simd_neon.h. */
#include "kernels/simd_neon.h"
#include "kernels/nn_simd_body.h"
