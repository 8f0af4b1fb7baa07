/* How OpenBLAS runs. Which kernels (engine/blas_select.c): a child of this
 * test, started with a given OPENBLAS_CORETYPE, reports what
 * unprompt_blas_core_forced_slow() says there; OpenBLAS reads the variable
 * when it is loaded, so each case needs its own process. And on how many
 * threads: blas_single_thread() leaves no OpenBLAS worker behind to spin. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/unprompt.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "tests/test.h"

static char self[4096];

/* The child's answer with OPENBLAS_CORETYPE=core (NULL: unset), or -1. */
static int forced_slow_with(const char *core)
{
    char cmd[4400];
    if (core) snprintf(cmd, sizeof cmd, "env OPENBLAS_CORETYPE=%s '%s' --child", core, self);
    else snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE '%s' --child", self);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int v = -1;
    if (fscanf(p, "%d", &v) != 1) v = -1;
    pclose(p);
    return v;
}

static void test_forced_haswell(void)
{
#if defined(__x86_64__)
    cpu_features f = cpu_detect();
    int avx512 = f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
    /* Haswell kernels forced from outside: slow exactly on an AVX-512 CPU */
    CHECK(forced_slow_with("Haswell") == avx512);
    /* the AVX-512 kernels, or no variable at all: nothing forced */
    CHECK(forced_slow_with("SkylakeX") == 0);
    CHECK(forced_slow_with(NULL) == 0);
#else
    SKIP("OpenBLAS core types are x86-64's");
#endif
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
    if (argc > 1 && !strcmp(argv[1], "--child")) {
        printf("%d\n", unprompt_blas_core_forced_slow());
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return fprintf(stderr, "blas_select: cannot find /proc/self/exe\n"), 1;
    self[n] = 0;
    RUN(test_single_thread_stops_workers);
    RUN(test_forced_haswell);
    return test_summary("blas_select");
}
