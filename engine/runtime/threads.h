/* How many threads the engine computes with: one OpenMP pool; OpenBLAS is
 * kept single-threaded and called from inside that pool. A context (model,
 * API handle) resolves its count once (threads_count) and sets it on the
 * calling thread at every call (threads_use); the library never sets the
 * process-wide default (threads_set is the tools' own). */
#ifndef UNPROMPT_ENGINE_RUNTIME_THREADS_H
#define UNPROMPT_ENGINE_RUNTIME_THREADS_H

/* The CPUs this process may run on (affinity mask; ≥ 1). */
int threads_available(void);
/* The count a context runs with: n, or threads_available() when n ≤ 0. */
int threads_count(int n);
/* For tools and tests, never called by the library: the calling thread's
 * count becomes n (n ≤ 0: threads_available()) and OpenBLAS is made
 * single-threaded (process-wide). Returns n. */
int threads_set(int n);
int threads_get(void);
/* Run the kernels of the calling thread with n threads. OpenMP keeps the
 * team size per thread, so a context records its count at load and sets it
 * on whichever thread calls it (contexts used from several threads at once,
 * one per thread, each keep their own). */
void threads_use(int n);

#endif
