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

/* The tree is built in one allocation: empty containers have no members,
 * strings and numbers keep their exact text, and a value past the end of a
 * large text still fails cleanly. */
static void test_tree_layout(void)
{
    fmt_error e;
    json_value *v = parse("{\"a\": [], \"b\": {}, \"c\": \"x\\u00e9\\n\", \"d\": [-0, 1e2, NaN, -Infinity]}", &e);
    CHECK(v && v->count == 4);
    const json_value *a = json_get(v, "a"), *b = json_get(v, "b"), *d = json_get(v, "d");
    CHECK(a && a->type == JSON_ARRAY && a->count == 0 && a->items == NULL);
    CHECK(b && b->type == JSON_OBJECT && b->count == 0 && b->keys == NULL && json_get(b, "a") == NULL);
    CHECK(json_get(v, "c")->len == 4);
    CHECK_STR(json_str(json_get(v, "c")), "x\xc3\xa9\n");
    CHECK(d && d->count == 4);
    CHECK_STR(json_at(d, 0)->str, "-0");
    CHECK(json_at(d, 1)->number == 100.0 && json_at(d, 1)->len == 3);
    CHECK(isnan(json_at(d, 2)->number) && isinf(json_at(d, 3)->number) && json_at(d, 3)->number < 0);
    json_free(v);
    json_free(NULL);

    buf big;
    buf_init(&big, 0);
    CHECK(buf_append_char(&big, '[', NULL) == 0);
    for (int i = 0; i < 100000; i++) CHECK(buf_printf(&big, NULL, "{\"k\":\"v%d\"},", i) == 0);
    CHECK(buf_append_str(&big, "{\"k\":tru}]", NULL) == 0);
    CHECK(json_parse(big.data, big.len, NULL, &e) == NULL);
    CHECK(strstr(e.msg, "unexpected character") != NULL);
    big.len -= strlen("{\"k\":tru}]");
    CHECK(buf_append_str(&big, "{\"k\":true}]", NULL) == 0);
    v = json_parse(big.data, big.len, NULL, &e);
    CHECK(v && v->count == 100001);
    CHECK_STR(json_str(json_get(json_at(v, 99999), "k")), "v99999");
    const json_value *t = json_get(json_at(v, 100000), "k");
    CHECK(t && t->type == JSON_TRUE);
    json_free(v);
    buf_free(&big);
}

/* Large objects are looked up through an index: the first member of a
 * repeated key still answers, keys compare as C strings (up to a NUL),
 * and writing the object back keeps every member in order. */
static void test_large_object_lookup(void)
{
    buf src;
    buf_init(&src, 0);
    CHECK(buf_append_char(&src, '{', NULL) == 0);
    for (int i = 0; i < 3000; i++) CHECK(buf_printf(&src, NULL, "\"k%d\":%d,", i % 1000, i) == 0);
    CHECK(buf_append_str(&src, "\"z\\u0000tail\":1,\"z\":2,\"\":3}", NULL) == 0);
    fmt_error e;
    json_value *v = json_parse(src.data, src.len, NULL, &e);
    CHECK(v && v->count == 3003);
    int first = 1;
    for (int i = 0; i < 1000 && v; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        const json_value *x = json_get(v, key);
        first &= x != NULL && x->number == (double)i;
    }
    CHECK(first);
    CHECK(json_get(v, "k1000") == NULL && json_get(v, "k") == NULL);
    CHECK(json_get(v, "z") && json_get(v, "z")->number == 1.0);
    CHECK(json_get(v, "") && json_get(v, "")->number == 3.0);
    buf out;
    buf_init(&out, 0);
    CHECK(json_write_value(&out, v, &e) == 0);
    /* (a key is written up to its NUL) */
    const char *nul_key = strstr(src.data, "\"z\\u0000tail\"");
    size_t head = nul_key ? (size_t)(nul_key - src.data) : 0, cut = strlen("\\u0000tail");
    CHECK(nul_key && out.len == src.len - cut && !memcmp(out.data, src.data, head + 2) &&
          !memcmp(out.data + head + 2, src.data + head + 2 + cut, src.len - head - 2 - cut));
    buf_free(&out);
    json_free(v);
    buf_free(&src);
}

static void test_value_limit_exact(void)
{
    json_limits lim = json_default_limits();
    lim.max_values = 4;
    fmt_error e;
    json_value *v = json_parse("[1,[2]]", 7, &lim, &e);
    CHECK(v && v->count == 2);
    json_free(v);
    CHECK(json_parse("[1,[2],3]", 9, &lim, &e) == NULL);
    CHECK(strstr(e.msg, "too many values") != NULL);
}

int main(void)
{
    RUN(test_values);
    RUN(test_big_numbers_keep_their_text);
    RUN(test_escapes_and_surrogates);
    RUN(test_errors);
    RUN(test_depth_limit);
    RUN(test_bom_and_writer_roundtrip);
    RUN(test_tree_layout);
    RUN(test_large_object_lookup);
    RUN(test_value_limit_exact);
    return test_summary("json");
}
