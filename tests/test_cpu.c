#include <stdio.h>
#include <stdlib.h>
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

#if defined(__x86_64__)
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

/* Whether /proc/cpuinfo's flags line names `flag` (a whole word). */
static int proc_has_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "flags", 5) || !colon) continue;
        for (char *w = strtok(colon + 1, " \t\n"); w && !found; w = strtok(NULL, " \t\n"))
            found = !strcmp(w, flag);
        break;
    }
    fclose(f);
    return found;
}

/* The table for a level named outright: that level, and its bf16 GEMM. */
static void check_named_level(const char *level)
{
    kernel_table t;
    CHECK(kernels_init_level(&t, level) == 0);
    CHECK_STR(t.level, level);
    CHECK_STR(t.bf16.name, level);
}
#endif

/* AMX where the kernel lists it (and, on Linux 5.16 on, grants its tile
 * state); then the bf16 GEMMs run on it, and the level can be named (the
 * avx512bf16 level below it: test_bf16_dot_only_where_fast). */
static void test_amx_where_listed(void)
{
#if defined(__x86_64__) && defined(__linux__)
    if (getenv("UNPROMPT_ISA") && *getenv("UNPROMPT_ISA")) SKIP("UNPROMPT_ISA caps the level");
    int listed = proc_has_flag("amx_tile") && proc_has_flag("amx_bf16") && proc_has_flag("avx512_bf16");
    cpu_features f = cpu_detect();
    CHECK(f.amx_bf16 == listed);
    kernel_table t;
    if (!listed) {
        CHECK(kernels_init_level(&t, "amx") == -1);
        SKIP("this CPU has no AMX-BF16");
    }
    kernels_init(&t);
    CHECK_STR(t.level, "amx");
    check_named_level("amx");
#else
    SKIP("AMX is x86-64's, its permission Linux's");
#endif
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
    CHECK_STR(t.level, f.amx_bf16 ? "amx" : amd ? "avx512bf16" : "avx512");
    CHECK_STR(t.bf16.name, t.level);
    check_named_level("avx512bf16");
    check_named_level("avx512");
#else
    SKIP("AVX512_BF16 is x86-64's");
#endif
}

int main(void)
{
    RUN(test_levels);
    RUN(test_bf16_dot_only_where_fast);
    RUN(test_amx_where_listed);
    return test_summary("cpu");
}
