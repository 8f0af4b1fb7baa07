/* Engine runtime: tensor views, the arena, thread control. */
#include <stdint.h>

#include "engine/runtime/arena.h"
#include "engine/runtime/tensor.h"
#include "engine/runtime/threads.h"
#include "tests/test.h"

static void test_tensor_views_share_data(void)
{
    float data[2 * 3 * 4];
    for (int i = 0; i < 24; i++) data[i] = (float)i;
    tensor t, s, tr, r;
    CHECK(tensor_init(&t, data, DTYPE_F32, 3, (size_t[]){2, 3, 4}) == 0);
    CHECK(tensor_numel(&t) == 24 && tensor_nbytes(&t) == 96 && tensor_is_contiguous(&t));
    CHECK(t.stride[0] == 12 && t.stride[1] == 4 && t.stride[2] == 1);
    CHECK(tensor_slice(&s, &t, 1, 1, 2) == 0);
    CHECK(*(float *)tensor_at(&s, (size_t[]){1, 0, 3}) == 12 + 4 + 3);
    CHECK(!tensor_is_contiguous(&s));
    CHECK(tensor_reshape(&r, &s, 1, (size_t[]){16}) == -1); /* a strided view cannot be reshaped */
    CHECK(tensor_transpose(&tr, &t, 1, 2) == 0);
    CHECK(tr.shape[1] == 4 && tr.shape[2] == 3);
    CHECK(*(float *)tensor_at(&tr, (size_t[]){1, 3, 2}) == 12 + 2 * 4 + 3);
    CHECK(tensor_at(&tr, (size_t[]){1, 4, 0}) == NULL);
    CHECK(tensor_reshape(&r, &t, 2, (size_t[]){6, 4}) == 0 && r.data == data && r.stride[0] == 4);
    CHECK(tensor_reshape(&r, &t, 2, (size_t[]){5, 4}) == -1);
    CHECK(tensor_slice(&s, &t, 2, 3, 2) == -1);
    CHECK(tensor_slice(&s, &t, 3, 0, 1) == -1);
}

static void test_tensor_limits_and_dtypes(void)
{
    tensor t;
    CHECK(tensor_init(&t, NULL, DTYPE_F32, 5, (size_t[]){1, 1, 1, 1, 1}) == -1);
    CHECK(tensor_init(&t, NULL, DTYPE_F32, 2, (size_t[]){SIZE_MAX / 2, 3}) == -1);
    CHECK(tensor_init(&t, NULL, DTYPE_BF16, 1, (size_t[]){10}) == 0 && tensor_nbytes(&t) == 20);
    dtype d;
    CHECK(dtype_parse("bf16", &d) == 0 && d == DTYPE_BF16);
    CHECK(dtype_parse("F16", &d) == 0 && d == DTYPE_F16);
    CHECK(dtype_parse("f64", &d) == -1);
    CHECK_STR(dtype_name(DTYPE_F32), "f32");
}

static void test_arena_alignment_marks_and_exhaustion(void)
{
    arena a;
    CHECK(arena_init(&a, 1000) == 0);
    CHECK(a.cap == 1024);
    void *p = arena_alloc(&a, 1);
    float *f = arena_floats(&a, 10);
    CHECK(p && f && ((uintptr_t)p % ARENA_ALIGN) == 0 && ((uintptr_t)f % ARENA_ALIGN) == 0);
    CHECK((char *)f - (char *)p == 64);
    size_t mark = arena_mark(&a);
    CHECK(arena_alloc(&a, 800) != NULL);
    CHECK(arena_alloc(&a, 200) == NULL); /* exhausted: NULL, not a crash */
    arena_reset(&a, mark);
    CHECK(arena_alloc(&a, 800) != NULL);
    CHECK(a.peak == 64 + 64 + 832);
    CHECK(arena_floats(&a, SIZE_MAX / 2) == NULL);
    CHECK(arena_block_size(SIZE_MAX) == SIZE_MAX);
    arena_free(&a);
    CHECK(a.base == NULL && a.cap == 0);
}

static void test_threads_follow_setting(void)
{
    int avail = threads_available();
    CHECK(avail >= 1);
    CHECK(threads_set(1) == 1 && threads_get() == 1);
    CHECK(threads_set(0) == avail && threads_get() == avail);
}

int main(void)
{
    RUN(test_tensor_views_share_data);
    RUN(test_tensor_limits_and_dtypes);
    RUN(test_arena_alignment_marks_and_exhaustion);
    RUN(test_threads_follow_setting);
    return test_summary("runtime");
}
