/* Run-time CPU feature detection (cpuid + xgetbv on x86, HWCAP on ARM). */
#ifndef UNPROMPT_KERNELS_CPU_H
#define UNPROMPT_KERNELS_CPU_H

typedef struct {
    int avx2, fma, f16c;            /* x86 */
    int avx512f, avx512bw, avx512vl, avx512dq, avx512bf16;
    /* vdpbf16ps outruns widening bf16 to f32 for FMAs. AMD's Zen 4/5 only:
     * Intel's cores issue it on one port (Emerald Rapids, bench gemm_bf16:
     * 0.6x the widening kernel), so there the bf16 weights are widened. */
    int bf16_dot_fast;
    /* AMX tiles with TDPBF16PS (Intel Sapphire Rapids on), and the tile
     * state granted to this process by the OS (cpu_detect asks Linux).
     * Both this and bf16_dot_fast are only ever set with avx512bf16. */
    int amx_bf16;
    int neon, asimdhp, bf16_arm;    /* aarch64 */
} cpu_features;

/* Detect once; honours UNPROMPT_ISA=scalar|avx2|avx512|avx512bf16 to cap the level
 * (tests and bench use it to compare variants). */
cpu_features cpu_detect(void);
/* The AVX-512 subsets every AVX-512 kernel here needs: F, BW, DQ and VL. */
int cpu_has_avx512(const cpu_features *f);
/* "amx", "avx512bf16" (only where bf16_dot_fast), "avx512", "avx2", "neon"
 * or "scalar": the best level enabled. */
const char *cpu_level_name(const cpu_features *f);

#endif
