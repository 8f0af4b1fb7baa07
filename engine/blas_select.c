/* OpenBLAS picks its GEMM kernels when the library is loaded. Debian's
 * 0.3.21 does not recognise recent AMD cores (Zen 4/5) and falls back to its
 * Haswell (AVX2) kernels, although the CPU runs the SkylakeX (AVX-512)
 * kernels at twice the speed (bench sgemm_peak: 178 → 371 GFLOP/s on a
 * 2-core Zen 5). The only switch is OPENBLAS_CORETYPE, read at load time:
 * so set it and execute the program again, once. */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/unprompt.h"
#include "kernels/cpu.h"

/* OpenBLAS runs its Haswell kernels on a CPU that runs its AVX-512 ones. */
static int haswell_on_avx512(void)
{
#if defined(__x86_64__)
    const char *core = openblas_get_corename();
    cpu_features f = cpu_detect();
    return core && !strcasecmp(core, "haswell") && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
#else
    return 0;
#endif
}

int unprompt_blas_reexec(char **argv)
{
#if defined(__x86_64__)
    if (getenv("OPENBLAS_CORETYPE") || getenv("UNPROMPT_NO_BLAS_REEXEC")) return 0;
    if (!haswell_on_avx512()) return 0;
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)) return -1;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with what we have */
    return -1;
#else
    (void)argv;
    return 0;
#endif
}

int unprompt_blas_core_forced_slow(void)
{
    return getenv("OPENBLAS_CORETYPE") != NULL && haswell_on_avx512();
}
