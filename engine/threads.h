/* How many threads the engine computes with: one OpenMP pool; OpenBLAS is
 * kept single-threaded and called from inside that pool. */
#ifndef UNPROMPT_ENGINE_THREADS_H
#define UNPROMPT_ENGINE_THREADS_H

/* The CPUs this process may run on (affinity mask; ≥ 1). */
int threads_available(void);
/* Use n threads (n ≤ 0: threads_available()). Returns the number set. */
int threads_set(int n);
int threads_get(void);

#endif
