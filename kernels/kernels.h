/* The kernel table: one set of function pointers chosen once, after CPU
 * feature detection (ggml style). The scalar versions (the *_scalar.c file or
 * the plain file) are the specification; SIMD variants are tested against
 * them. Hot loops never test CPU features: callers go through the table.
 *
 * Families and who fills them:
 *   kernels/nn_*.c      activation, normalisation, softmax, attention
 *   kernels/linalg_*.c  GEMM, convolution, pooling, dtype conversion
 *   kernels/gemm_bf16_*.c  GEMM with packed bf16 weights (bf16_install)
 *   kernels/gemm_f32_*.c   GEMM with packed f32 weights (f32_panel_install)
 * Each family provides `void <family>_install(<family>_kernels *k, const cpu_features *f)`
 * (nn_install, linalg_install, bf16_install, f32_panel_install), which sets
 * that family's entries of the kernel_table; kernels_init() calls them all. */
#ifndef UNPROMPT_KERNELS_KERNELS_H
#define UNPROMPT_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/cpu.h"

typedef struct kernel_table kernel_table;

/* Activation / normalisation / attention family: entries declared in
 * kernels/nn.h (struct nn_kernels). GEMM / conv family: kernels/linalg.h
 * (struct linalg_kernels). */
#include "kernels/nn.h"
#include "kernels/linalg.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_f32.h"

struct kernel_table {
    cpu_features cpu;
    const char *level;     /* cpu_level_name(&cpu) */
    nn_kernels nn;
    linalg_kernels linalg;
    bf16_kernels bf16;     /* kernels/gemm_bf16.h */
    f32_panel_kernels f32p; /* kernels/gemm_f32.h */
};

/* Fill the table for this CPU (respecting UNPROMPT_ISA). */
void kernels_init(kernel_table *t);
/* Fill with one explicit level ("scalar", "avx2", "avx512", "avx512bf16",
 * "amx", "neon"); returns -1 if this CPU lacks it. Tests use it to compare variants. */
int kernels_init_level(kernel_table *t, const char *level);

void nn_install(nn_kernels *k, const cpu_features *f);
void linalg_install(linalg_kernels *k, const cpu_features *f);
/* OpenBLAS on one thread, its worker threads stopped. A pthreads OpenBLAS
 * starts workers when it is loaded and whenever its thread count is set;
 * idle, they spin for about 0.1 s (its THREAD_TIMEOUT) and take a core from
 * the OpenMP team: our GEMMs ran at a fifth of their speed for the first
 * 0.1 s of every process. OpenBLAS starts them again if a later call asks
 * for more than one thread (bench's sgemm_peak). */
void blas_single_thread(void);

#endif
