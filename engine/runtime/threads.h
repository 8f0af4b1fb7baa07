/* How many threads the engine computes with: one OpenMP pool; OpenBLAS is
 * kept single-threaded and called from inside that pool. */
#ifndef UNPROMPT_ENGINE_RUNTIME_THREADS_H
#define UNPROMPT_ENGINE_RUNTIME_THREADS_H

/* The CPUs this process may run on (affinity mask; ≥ 1). */
int threads_available(void);
/* Use n threads (n ≤ 0: threads_available()). Returns the number set. */
int threads_set(int n);
int threads_get(void);
/* Run the kernels of the calling thread with n threads. OpenMP keeps the
 * team size per thread, so a context records its count at load and sets it
 * on whichever thread calls it (contexts used from several threads at once,
 * one per thread, each keep their own). */
void threads_use(int n);

#endif
