/* Thread count: OpenMP's. OpenBLAS runs single-threaded inside the
 * kernels' own OpenMP split (see kernels/linalg.c). */
#define _GNU_SOURCE
#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include "engine/runtime/threads.h"
#include "engine/api/unprompt.h"
#include "kernels/kernels.h"

int threads_available(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int threads_count(int n) { return n > 0 ? n : threads_available(); }

int threads_set(int n)
{
    n = threads_count(n);
    omp_set_num_threads(n);
    blas_single_thread(); /* kernels split work over OpenMP threads */
    return n;
}

int threads_get(void) { return omp_get_max_threads(); }

void threads_use(int n) { omp_set_num_threads(n > 0 ? n : 1); }

int unprompt_cpu_count(void) { return threads_available(); }
