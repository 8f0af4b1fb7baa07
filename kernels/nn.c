#include "kernels/kernels.h"
void nn_install(nn_kernels *k, const cpu_features *f)
{
    (void)k;
    (void)f;
}
