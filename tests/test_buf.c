#include "base/buf.h"
#include "format/meta.h"
#include "tests/test.h"

static void test_buf_append_and_limit(void)
{
    buf b;
    fmt_error e;
    buf_init(&b, 10);
    CHECK(buf_append_str(&b, "hello", &e) == 0);
    CHECK(buf_printf(&b, &e, "%d", 1234) == 0);
    CHECK_STR(b.data, "hello1234");
    CHECK(buf_append_str(&b, "xy", &e) == -1);
    CHECK(strstr(e.msg, "limit") != NULL);
    CHECK(b.len == 9);
    char *s = buf_take(&b);
    CHECK_STR(s, "hello1234");
    free(s);
    CHECK(b.data == NULL);
}

static void test_size_overflow(void)
{
    size_t r;
    CHECK(size_mul((size_t)1 << 40, (size_t)1 << 30, &r) == -1);
    CHECK(size_mul(3, 5, &r) == 0 && r == 15);
    CHECK(size_add(SIZE_MAX, 1, &r) == -1);
}

static void test_latin1(void)
{
    size_t n;
    char *s = latin1_to_utf8("caf\xe9", 4, &n);
    CHECK_STR(s, "caf\xc3\xa9");
    CHECK(n == 5);
    free(s);
}

static void test_meta_list(void)
{
    meta_list m;
    meta_list_init(&m);
    CHECK(meta_list_add(&m, "parameters", 10, "a cat", 5, META_PNG_TEXT, NULL) == 0);
    CHECK(meta_list_find(&m, "parameters") != NULL);
    CHECK(meta_list_find(&m, "prompt") == NULL);
    meta_list_warn(&m, "crc mismatch in %s", "tEXt");
    CHECK(m.n_warnings == 1);
    meta_list_free(&m);
}

int main(void)
{
    RUN(test_buf_append_and_limit);
    RUN(test_size_overflow);
    RUN(test_latin1);
    RUN(test_meta_list);
    return test_summary("buf");
}
