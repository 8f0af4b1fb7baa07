#include "kernels/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* cpuid leaf 0 names the vendor in ebx, edx, ecx. */
static int vendor_is_amd(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    return b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u; /* "Auth" "enti" "cAMD" */
}

/* Linux keeps AMX's 8 KiB of tile data out of a process until it asks
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); the first tile
 * instruction would otherwise kill it with SIGILL. Asking again is a no-op.
 * Whether the process may use the tiles. */
static int amx_permitted(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}

static void detect_x86(cpu_features *f)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int osxsave = (c >> 27) & 1;
    f->fma = (c >> 12) & 1;
    f->f16c = (c >> 29) & 1;
    if (!osxsave) return;
    unsigned long long xcr0 = xgetbv0();
    int ymm_ok = (xcr0 & 0x6) == 0x6;
    int zmm_ok = (xcr0 & 0xE6) == 0xE6;
    if (!ymm_ok) {
        f->fma = f->f16c = 0;
        return;
    }
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = (b >> 5) & 1;
    int amx = ((d >> 22) & 1) && ((d >> 24) & 1); /* AMX-BF16, AMX-TILE */
    if (zmm_ok) {
        f->avx512f = (b >> 16) & 1;
        f->avx512dq = (b >> 17) & 1;
        f->avx512bw = (b >> 30) & 1;
        f->avx512vl = (b >> 31) & 1;
        __cpuid_count(7, 1, a, b, c, d);
        f->avx512bf16 = (a >> 5) & 1;
        f->bf16_dot_fast = f->avx512bf16 && vendor_is_amd();
        int tiles_ok = (xcr0 & 0x60000) == 0x60000;   /* XTILECFG, XTILEDATA */
        f->amx_bf16 = amx && tiles_ok && f->avx512bf16 && amx_permitted();
    }
}
#endif

#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1 << 14)
#endif
static void detect_arm(cpu_features *f)
{
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    f->neon = 1; /* Advanced SIMD is mandatory on AArch64 */
    f->asimdhp = (hw & HWCAP_ASIMDHP) != 0;
    f->bf16_arm = (hw2 & HWCAP2_BF16) != 0;
}
#endif

static void cap_level(cpu_features *f, const char *cap)
{
    if (!strcmp(cap, "scalar")) {
        memset(f, 0, sizeof *f);
    } else if (!strcmp(cap, "avx2")) {
        f->avx512f = f->avx512bw = f->avx512vl = f->avx512dq = f->avx512bf16 = f->bf16_dot_fast = f->amx_bf16 = 0;
    } else if (!strcmp(cap, "avx512")) {
        f->avx512bf16 = f->bf16_dot_fast = f->amx_bf16 = 0;
    } else if (!strcmp(cap, "avx512bf16")) {
        f->amx_bf16 = 0;
    }
}

cpu_features cpu_detect(void)
{
    cpu_features f;
    memset(&f, 0, sizeof f);
#if defined(__x86_64__) || defined(__i386__)
    detect_x86(&f);
#endif
#if defined(__aarch64__)
    detect_arm(&f);
#endif
    const char *cap = getenv("UNPROMPT_ISA");
    if (cap && *cap) cap_level(&f, cap);
    return f;
}

int cpu_has_avx512(const cpu_features *f)
{
    return f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq;
}

const char *cpu_level_name(const cpu_features *f)
{
    int avx512 = cpu_has_avx512(f);
    if (avx512 && f->amx_bf16) return "amx";
    if (avx512 && f->bf16_dot_fast) return "avx512bf16";
    if (avx512) return "avx512";
    if (f->avx2 && f->fma) return "avx2";
    if (f->neon) return "neon";
    return "scalar";
}
