#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tests/test.h"

static void test_levels(void)
{
    kernel_table t;
    kernels_init(&t);
    CHECK(t.level != NULL);
    CHECK(kernels_init_level(&t, "scalar") == 0);
    CHECK_STR(t.level, "scalar");
    CHECK(kernels_init_level(&t, "no-such-level") == -1);
#if defined(__x86_64__)
    if (kernels_init_level(&t, "avx2") == 0) CHECK_STR(t.level, "avx2");
    CHECK(kernels_init_level(&t, "neon") == -1);
#endif
}

/* "GenuineIntel", "AuthenticAMD", ... from /proc/cpuinfo (not cpuid, which
 * is what the code under test reads), or "" when it names none. */
static void vendor_from_proc(char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "vendor_id", 9)) {
            const char *v = strchr(line, ':');
            if (v) snprintf(out, n, "%s", v + 1 + strspn(v + 1, " \t"));
            out[strcspn(out, "\n")] = 0;
            break;
        }
    fclose(f);
}

/* vdpbf16ps runs only where it outruns widening (AMD); named as a level,
 * it runs wherever the CPU has it, so its kernel stays tested. */
static void test_bf16_dot_only_where_fast(void)
{
#if defined(__x86_64__)
    cpu_features f = cpu_detect();
    if (!f.avx512bf16) SKIP("this CPU has no AVX512_BF16 (or UNPROMPT_ISA caps it)");
    char vendor[64];
    vendor_from_proc(vendor, sizeof vendor);
    if (!*vendor) SKIP("/proc/cpuinfo names no vendor");
    int amd = !strcmp(vendor, "AuthenticAMD");
    kernel_table t;
    kernels_init(&t);
    CHECK(f.bf16_dot_fast == amd);
    CHECK_STR(t.level, amd ? "avx512bf16" : "avx512");
    CHECK_STR(t.bf16.name, t.level);
    CHECK(kernels_init_level(&t, "avx512bf16") == 0);
    CHECK_STR(t.level, "avx512bf16");
    CHECK_STR(t.bf16.name, "avx512bf16");
    CHECK(kernels_init_level(&t, "avx512") == 0);
    CHECK_STR(t.bf16.name, "avx512");
#else
    SKIP("AVX512_BF16 is x86-64's");
#endif
}

int main(void)
{
    RUN(test_levels);
    RUN(test_bf16_dot_only_where_fast);
    return test_summary("cpu");
}
