/* How OpenBLAS runs. Which kernels (engine/runtime/blas_select.c): the decision on
 * made-up CPUs, then children of this test, started with a given
 * OPENBLAS_CORETYPE, report what unprompt_blas_core_forced_slow() says there
 * and which kernels unprompt_blas_reexec() leaves them on; OpenBLAS reads the
 * variable when it is loaded, so each case needs its own process. And on how many
 * threads: blas_single_thread() leaves no OpenBLAS worker behind to spin. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/runtime/blas_select.h"
#include "engine/api/unprompt.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "tests/test.h"

static char self[4096];

/* What a child of this test, started with OPENBLAS_CORETYPE=core (NULL:
 * unset), prints after `args`; "" when it could not be run. */
static void child_says(const char *core, const char *args, char *out, size_t n)
{
    char cmd[4400];
    if (core) snprintf(cmd, sizeof cmd, "env OPENBLAS_CORETYPE=%s '%s' %s", core, self, args);
    else snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE '%s' %s", self, args);
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (!fgets(out, (int)n, p)) out[0] = 0;
    pclose(p);
    out[strcspn(out, "\n")] = 0;
}

/* The decision alone, on made-up CPUs. */
static void test_core_wanted_by_cpu_class(void)
{
    cpu_features avx512 = {.avx2 = 1, .fma = 1, .avx512f = 1, .avx512bw = 1, .avx512vl = 1, .avx512dq = 1};
    cpu_features avx2 = {.avx2 = 1, .fma = 1};
    cpu_features sse = {0};
    cpu_features avx512f_only = {.avx2 = 1, .fma = 1, .avx512f = 1}; /* Knights Landing: no BW/DQ/VL */
    /* Zen 4/5 on Debian's 0.3.21: Haswell; Emerald Rapids: Prescott */
    CHECK(!strcmp(blas_core_wanted("Haswell", &avx512), "SkylakeX"));
    CHECK(!strcmp(blas_core_wanted("Prescott", &avx512), "SkylakeX"));
    CHECK(!strcmp(blas_core_wanted("Zen", &avx512), "SkylakeX"));
    CHECK(!strcmp(blas_core_wanted("Prescott", &avx2), "Haswell"));
    CHECK(!strcmp(blas_core_wanted("Sandybridge", &avx2), "Haswell"));
    CHECK(!strcmp(blas_core_wanted("Prescott", &avx512f_only), "Haswell"));
    /* already of the CPU's class, in OpenBLAS's spelling or not */
    CHECK(blas_core_wanted("SkylakeX", &avx512) == NULL);
    CHECK(blas_core_wanted("Cooperlake", &avx512) == NULL);
    CHECK(blas_core_wanted("sapphirerapids", &avx512) == NULL);
    CHECK(blas_core_wanted("Haswell", &avx2) == NULL);
    CHECK(blas_core_wanted("Zen", &avx2) == NULL);
    CHECK(blas_core_wanted("SkylakeX", &avx2) == NULL);
    /* nothing better to run, or nothing known */
    CHECK(blas_core_wanted("Prescott", &sse) == NULL);
    CHECK(blas_core_wanted(NULL, &avx512) == NULL);
}

/* The class of kernels this machine should run: "avx512", "avx2" or "". */
static const char *machine_class(void)
{
#if defined(__x86_64__)
    cpu_features f = cpu_detect();
    if (cpu_has_avx512(&f)) return "avx512";
    if (f.avx2 && f.fma) return "avx2";
#endif
    return "";
}

static void test_forced_slow_core(void)
{
    const char *cls = machine_class();
    if (!*cls) SKIP("OpenBLAS core types are x86-64's with AVX2 or better");
    char said[256];
    /* SSE3 kernels forced from outside: slow on any AVX2 machine */
    child_says("Prescott", "--forced", said, sizeof said);
    CHECK(!strcmp(said, !strcmp(cls, "avx512") ? "SkylakeX" : "Haswell"));
    /* Haswell kernels: slow exactly on an AVX-512 CPU */
    child_says("Haswell", "--forced", said, sizeof said);
    CHECK(!strcmp(said, !strcmp(cls, "avx512") ? "SkylakeX" : "-"));
    /* the AVX-512 kernels, or no variable at all: nothing forced */
    child_says("SkylakeX", "--forced", said, sizeof said);
    CHECK(!strcmp(said, "-"));
    child_says(NULL, "--forced", said, sizeof said);
    CHECK(!strcmp(said, "-"));
}

/* Started without OPENBLAS_CORETYPE, a program that calls
 * unprompt_blas_reexec first ends up on kernels of its CPU's class, whatever
 * OpenBLAS would have chosen by itself. */
static void test_reexec_reaches_the_cpu_class(void)
{
    if (!*machine_class()) SKIP("OpenBLAS core types are x86-64's with AVX2 or better");
    char said[256];
    child_says(NULL, "--reexec", said, sizeof said);
    CHECK(said[0] != 0);
    cpu_features f = cpu_detect();
    CHECK(blas_core_wanted(said, &f) == NULL);
    /* and an explicit choice is left alone */
    child_says("Prescott", "--reexec", said, sizeof said);
    CHECK(!strcasecmp(said, "Prescott"));
}

/* Threads of this process. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

extern int blas_thread_shutdown_(void) __attribute__((weak));

/* Runs first, before anything starts OpenMP's threads: a pthreads OpenBLAS
 * on a machine of several CPUs has started its workers at load time, and
 * asking for its thread count again starts them anew; blas_single_thread()
 * stops them, and a product on one thread still works after it. */
static void test_single_thread_stops_workers(void)
{
    if (!blas_thread_shutdown_) SKIP("this OpenBLAS has no worker pool to stop (not the pthreads build)");
    openblas_set_num_threads(2);
    int before = thread_count();
    if (before < 2) SKIP("OpenBLAS started no worker threads (one CPU?)");
    blas_single_thread();
    CHECK(thread_count() == 1);
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4] = {0};
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    CHECK(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
    CHECK(thread_count() == 1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--forced")) {
        const char *core = unprompt_blas_core_forced_slow();
        printf("%s\n", core ? core : "-");
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--reexec")) {
        unprompt_blas_reexec(argv);
        printf("%s\n", openblas_get_corename());
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return fprintf(stderr, "blas_select: cannot find /proc/self/exe\n"), 1;
    self[n] = 0;
    RUN(test_single_thread_stops_workers);
    RUN(test_core_wanted_by_cpu_class);
    RUN(test_forced_slow_core);
    RUN(test_reexec_reaches_the_cpu_class);
    return test_summary("blas_select");
}
