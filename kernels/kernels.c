#include "kernels/kernels.h"

#include <string.h>

static void install_all(kernel_table *t)
{
    t->level = cpu_level_name(&t->cpu);
    nn_install(&t->nn, &t->cpu);
    linalg_install(&t->linalg, &t->cpu);
    bf16_install(&t->bf16, &t->cpu);
    f32_panel_install(&t->f32p, &t->cpu);
}

void kernels_init(kernel_table *t)
{
    memset(t, 0, sizeof *t);
    t->cpu = cpu_detect();
    install_all(t);
}

int kernels_init_level(kernel_table *t, const char *level)
{
    memset(t, 0, sizeof *t);
    cpu_features have = cpu_detect(), want;
    memset(&want, 0, sizeof want);
    if (!strcmp(level, "scalar")) {
        /* nothing */
    } else if (!strcmp(level, "avx2")) {
        if (!(have.avx2 && have.fma)) return -1;
        want.avx2 = want.fma = 1;
        want.f16c = have.f16c;
    } else if (!strcmp(level, "avx512") || !strcmp(level, "avx512bf16") || !strcmp(level, "amx")) {
        if (!cpu_has_avx512(&have)) return -1;
        want = have;
        if (!strcmp(level, "avx512")) {
            want.avx512bf16 = want.bf16_dot_fast = want.amx_bf16 = 0;
        } else if (!strcmp(level, "avx512bf16")) {
            if (!have.avx512bf16) return -1;
            want.bf16_dot_fast = 1; /* named: run vdpbf16ps wherever it exists */
            want.amx_bf16 = 0;
        } else if (!have.amx_bf16) {
            return -1;
        }
    } else if (!strcmp(level, "neon")) {
        if (!have.neon) return -1;
        want = have;
    } else {
        return -1;
    }
    t->cpu = want;
    install_all(t);
    return 0;
}
