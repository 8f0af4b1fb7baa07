/* OpenBLAS picks its GEMM kernels when the library is loaded, by the CPU's
 * family and model. Debian's 0.3.21 does not know CPUs newer than itself and
 * falls back to older kernels although the CPU runs better ones:
 *   - Zen 4/5 get its Haswell (AVX2) kernels; the SkylakeX (AVX-512) ones run
 *     twice as fast (bench sgemm_peak: 178 → 371 GFLOP/s on a 2-core Zen 5);
 *   - Emerald Rapids (Intel family 6 model 207) gets its Prescott (SSE3)
 *     kernels: 89 → 452 GFLOP/s on 2 cores.
 * The only switch is OPENBLAS_CORETYPE, read at load time: so set it and
 * execute the program again, once. */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/runtime/blas_select.h"
#include "engine/api/unprompt.h"

/* OpenBLAS's kernel sets of each class, by the names openblas_get_corename()
 * gives (compared without case). */
static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
static const char *const avx2_cores[] = {"Haswell", "Zen"};

static int named_in(const char *core, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(core, names[i])) return 1;
    return 0;
}

const char *blas_core_wanted(const char *current, const cpu_features *f)
{
    if (!current || !f) return NULL;
    int has_avx512 = cpu_has_avx512(f);
    int is_avx512 = named_in(current, avx512_cores, sizeof avx512_cores / sizeof *avx512_cores);
    int is_avx2 = is_avx512 || named_in(current, avx2_cores, sizeof avx2_cores / sizeof *avx2_cores);
    if (has_avx512) return is_avx512 ? NULL : "SkylakeX";
    if (f->avx2 && f->fma) return is_avx2 ? NULL : "Haswell";
    return NULL;
}

/* The kernels OpenBLAS should run instead of the ones it chose, or NULL. */
static const char *better_core(void)
{
#if defined(__x86_64__)
    cpu_features f = cpu_detect();
    return blas_core_wanted(openblas_get_corename(), &f);
#else
    return NULL;
#endif
}

int unprompt_blas_reexec(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("UNPROMPT_NO_BLAS_REEXEC")) return 0;
    const char *core = better_core();
    if (!core) return 0;
    if (setenv("OPENBLAS_CORETYPE", core, 1)) return -1;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with what we have */
    return -1;
}

const char *unprompt_blas_core_forced_slow(void)
{
    return getenv("OPENBLAS_CORETYPE") ? better_core() : NULL;
}
