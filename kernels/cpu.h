/* Run-time CPU feature detection (cpuid + xgetbv on x86, HWCAP on ARM). */
#ifndef UNPROMPT_KERNELS_CPU_H
#define UNPROMPT_KERNELS_CPU_H

typedef struct {
    int avx2, fma, f16c;            /* x86 */
    int avx512f, avx512bw, avx512vl, avx512dq, avx512bf16;
    int neon, asimdhp, bf16_arm;    /* aarch64 */
} cpu_features;

/* Detect once; honours UNPROMPT_ISA=scalar|avx2|avx512|neon to cap the level
 * (tests and bench use it to compare variants). */
cpu_features cpu_detect(void);
/* "avx512bf16", "avx512", "avx2", "neon" or "scalar": the best level enabled. */
const char *cpu_level_name(const cpu_features *f);

#endif
