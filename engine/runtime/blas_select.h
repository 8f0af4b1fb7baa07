/* Which OpenBLAS kernels this CPU should run (engine/runtime/blas_select.c). */
#ifndef UNPROMPT_ENGINE_RUNTIME_BLAS_SELECT_H
#define UNPROMPT_ENGINE_RUNTIME_BLAS_SELECT_H

#include "kernels/cpu.h"

/* The OPENBLAS_CORETYPE to ask for when OpenBLAS's own choice, `current`
 * (openblas_get_corename()), is weaker than what a CPU of features `f` runs:
 * "SkylakeX" (AVX-512) or "Haswell" (AVX2 + FMA). NULL when `current` is
 * already of the CPU's class, or unknown (NULL). */
const char *blas_core_wanted(const char *current, const cpu_features *f);

#endif
