/* Picks the best nn_kernels variant for the CPU once. */
#include "kernels/kernels.h"

void nn_install(nn_kernels *k, const cpu_features *f)
{
    nn_kernels_scalar(k);
#if defined(__x86_64__)
    if (cpu_has_avx512(f)) nn_kernels_avx512(k);
    else if (f->avx2 && f->fma) nn_kernels_avx2(k);
#elif defined(__aarch64__)
    if (f->neon) nn_kernels_neon(k);
#else
    (void)f;
#endif
}
