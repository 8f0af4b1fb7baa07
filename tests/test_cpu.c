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

int main(void)
{
    RUN(test_levels);
    return test_summary("cpu");
}
