#include "format/json.h"
#include "tests/test.h"

static json_value *parse(const char *s, fmt_error *e)
{
    return json_parse(s, strlen(s), NULL, e);
}

static void test_values(void)
{
    fmt_error e;
    json_value *v = parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"d\"}, \"e\": \"\"} ", &e);
    CHECK(v && v->type == JSON_OBJECT && v->count == 3);
    const json_value *a = json_get(v, "a");
    CHECK(a && a->count == 5);
    CHECK(json_at(a, 0)->number == 1.0);
    CHECK(json_at(a, 1)->number == -2500.0);
    CHECK_STR(json_at(a, 1)->str, "-2.5e3");
    CHECK(json_at(a, 2)->type == JSON_TRUE && json_at(a, 3)->type == JSON_FALSE && json_at(a, 4)->type == JSON_NULL);
    CHECK(json_at(a, 5) == NULL);
    CHECK_STR(json_str(json_get(json_get(v, "b"), "c")), "d");
    CHECK_STR(json_str(json_get(v, "e")), "");
    CHECK(json_get(v, "zz") == NULL);
    json_free(v);
}

static void test_big_numbers_keep_their_text(void)
{
    fmt_error e;
    json_value *v = parse("[18446744073709551615, 3141592653, 1.0]", &e);
    CHECK_STR(json_at(v, 0)->str, "18446744073709551615");
    CHECK_STR(json_at(v, 1)->str, "3141592653");
    CHECK_STR(json_at(v, 2)->str, "1.0");
    json_free(v);
    v = parse("[NaN, Infinity, -Infinity]", &e);
    CHECK(v && v->count == 3 && json_at(v, 2)->number < 0);
    json_free(v);
}

static void test_escapes_and_surrogates(void)
{
    fmt_error e;
    json_value *v = parse("\"a\\n\\t\\\"\\\\\\/\\u00e9\\u65e5\\ud83d\\ude00\\ud800x\"", &e);
    CHECK(v != NULL);
    CHECK_STR(json_str(v), "a\n\t\"\\/\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xef\xbf\xbdx");
    json_free(v);
    v = parse("\"nul\\u0000inside\"", &e);
    CHECK(v && v->len == 10 && v->str[3] == '\0');
    json_free(v);
}

static void test_errors(void)
{
    static const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "tru", "01", "1.", "-",
                                "\"abc", "\"\\x\"", "\"\\u12\"", "[1] 2", "{1:2}", "\"a\x01\"", "1e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fmt_error e;
        e.msg[0] = 0;
        json_value *v = parse(bad[i], &e);
        if (v) fprintf(stderr, "    accepted: %s\n", bad[i]);
        CHECK(v == NULL);
        CHECK(strncmp(e.msg, "json: line 1 column ", 20) == 0);
    }
    fmt_error e;
    CHECK(parse("{\n  \"a\": 1\n  \"b\": 2}", &e) == NULL);
    CHECK(strncmp(e.msg, "json: line 3", 12) == 0);
}

static void test_depth_limit(void)
{
    char deep[2001];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = 0;
    fmt_error e;
    CHECK(parse(deep, &e) == NULL);
    CHECK(strstr(e.msg, "nesting too deep") != NULL);
    json_limits lim = json_default_limits();
    lim.max_depth = 1000;
    json_value *v = json_parse(deep, 2000, &lim, &e);
    CHECK(v != NULL);
    json_free(v);
    lim.max_values = 10;
    CHECK(json_parse("[1,2,3,4,5,6,7,8,9,10,11]", 25, &lim, &e) == NULL);
}

static void test_bom_and_writer_roundtrip(void)
{
    fmt_error e;
    const char *src = "\xEF\xBB\xBF{\"k\": [1, \"x\\u0001y\", {\"n\": null}], \"\xc3\xa9\": 2.50}";
    json_value *v = json_parse(src, strlen(src), NULL, &e);
    CHECK(v != NULL);
    buf b;
    buf_init(&b, 0);
    CHECK(json_write_value(&b, v, &e) == 0);
    CHECK_STR(b.data, "{\"k\":[1,\"x\\u0001y\",{\"n\":null}],\"\xc3\xa9\":2.50}");
    buf_free(&b);
    json_free(v);
    buf_init(&b, 0);
    CHECK(json_write_string(&b, "bad \xff utf8\n", 11, &e) == 0);
    CHECK_STR(b.data, "\"bad \xef\xbf\xbd utf8\\n\"");
    buf_free(&b);
}

int main(void)
{
    RUN(test_values);
    RUN(test_big_numbers_keep_their_text);
    RUN(test_escapes_and_surrogates);
    RUN(test_errors);
    RUN(test_depth_limit);
    RUN(test_bom_and_writer_roundtrip);
    return test_summary("json");
}
