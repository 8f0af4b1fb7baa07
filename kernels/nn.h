/* Activation, normalisation, softmax and attention kernels (placeholder:
 * the entries arrive with the kernels work). */
#ifndef UNPROMPT_KERNELS_NN_H
#define UNPROMPT_KERNELS_NN_H
typedef struct {
    int reserved_;
} nn_kernels;
#endif
