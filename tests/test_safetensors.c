/* safetensors: the Python-written fixture, writer -> reader round trips,
 * atomic output, and hostile headers each refused with a reason. */
#include "tests/test.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "format/safetensors.h"

static float load_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* An 8-byte size + the header text + `data_len` bytes of 0xAB. */
static uint8_t *make_file(const char *header, size_t data_len, size_t *len)
{
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    uint8_t *p = malloc(*len ? *len : 1);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(p + 8, header, h);
    memset(p + 8 + h, 0xAB, data_len);
    return p;
}

/* Open `header` + data; expect failure with `want` in the message. */
static int refused(const char *header, size_t data_len, const char *want)
{
    size_t len;
    uint8_t *p = make_file(header, data_len, &len);
    st_file f;
    fmt_error e = {{0}};
    int rc = st_open(&f, p, len, NULL, &e);
    free(p);
    if (rc == 0) {
        fprintf(stderr, "    accepted: %s\n", header);
        st_close(&f);
        return 0;
    }
    if (!strstr(e.msg, want)) {
        fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", e.msg, want);
        return 0;
    }
    if (strncmp(e.msg, "safetensors: ", 13) != 0) {
        fprintf(stderr, "    message \"%s\" lacks the prefix\n", e.msg);
        return 0;
    }
    return 1;
}

static void test_dtypes(void)
{
    static const char *names[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};
    static const size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1};
    for (int i = 0; i < ST_DTYPE_COUNT; i++) {
        st_dtype t;
        CHECK_STR(st_dtype_name((st_dtype)i), names[i]);
        CHECK(st_dtype_size((st_dtype)i) == sizes[i]);
        CHECK(st_dtype_from_name(names[i], strlen(names[i]), &t) == 0 && t == (st_dtype)i);
    }
    st_dtype t;
    CHECK(st_dtype_from_name("f32", 3, &t) == -1);
    CHECK(st_dtype_from_name("F3", 2, &t) == -1);
    CHECK(st_dtype_from_name("F8_E4M3", 7, &t) == -1);
    CHECK(st_dtype_name(ST_DTYPE_COUNT) == NULL && st_dtype_size(ST_DTYPE_COUNT) == 0);
}

static void test_python_fixture(void)
{
    size_t len;
    uint8_t *p = test_read_file("tests/fixtures/st_small.safetensors", &len);
    CHECK(p != NULL);
    if (!p) return;
    st_file f;
    fmt_error e;
    CHECK(st_open(&f, p, len, NULL, &e) == 0);
    CHECK(f.n_tensors == 11);
    CHECK(f.n_warnings == 0);
    CHECK(f.header_len % 8 == 0);
    CHECK_STR(st_meta(&f, "format"), "pt");
    CHECK_STR(st_meta(&f, "note"), "caf\xc3\xa9 \"quoted\"");
    CHECK(st_meta(&f, "absent") == NULL);
    CHECK(f.n_meta == 2);

    const st_tensor *w = st_find(&f, "model.w");
    CHECK(w && w->dtype == ST_F32 && w->rank == 2 && w->shape[0] == 2 && w->shape[1] == 3);
    CHECK(w && w->numel == 6 && w->nbytes == 24);
    if (w) {
        CHECK(load_f32(w->data) == 0.5f && load_f32(w->data + 8) == 2.25f);
        CHECK(load_f32(w->data + 20) == 1e-3f);
        CHECK((size_t)(w->data - p) % 4 == 0);
    }
    const st_tensor *s = st_find(&f, "scalar");
    CHECK(s && s->dtype == ST_I64 && s->rank == 0 && s->numel == 1 && s->nbytes == 8);
    if (s) {
        int64_t v;
        memcpy(&v, s->data, 8);
        CHECK(v == -1234567890123LL);
    }
    const st_tensor *b = st_find(&f, "model.b");
    CHECK(b && b->dtype == ST_F16 && b->nbytes == 6 && b->data[0] == 0x00 && b->data[1] == 0x3E);
    const st_tensor *bf = st_find(&f, "model.bf");
    CHECK(bf && bf->dtype == ST_BF16 && bf->data[0] == 0x80 && bf->data[1] == 0x3F);
    const st_tensor *m = st_find(&f, "mask");
    CHECK(m && m->dtype == ST_BOOL && m->shape[0] == 4 && m->data[0] == 1 && m->data[3] == 1);
    const st_tensor *em = st_find(&f, "empty");
    CHECK(em && em->rank == 2 && em->shape[0] == 0 && em->shape[1] == 3 && em->numel == 0 && em->nbytes == 0);
    const st_tensor *i8 = st_find(&f, "i8");
    CHECK(i8 && i8->dtype == ST_I8 && (int8_t)i8->data[0] == -1 && i8->data[2] == 127);
    CHECK(st_find(&f, "model") == NULL && st_find(&f, "") == NULL && st_find(&f, "zzz") == NULL);
    /* Data order: offsets never decrease. */
    for (size_t i = 1; i < f.n_tensors; i++) CHECK(f.tensors[i - 1].offset <= f.tensors[i].offset);
    /* Every dtype is present once except F32 (twice). */
    int seen[ST_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < f.n_tensors; i++) seen[f.tensors[i].dtype]++;
    for (int i = 0; i < ST_DTYPE_COUNT; i++) CHECK(seen[i] == (i == ST_F32 ? 2 : 1));
    st_close(&f);
    st_close(&f); /* twice is harmless */
    free(p);
}

/* fill callback: element i of an F32 tensor is i * 0.25; fails at `fail_at`. */
typedef struct {
    size_t fail_at;
    int calls;
} fill_ctx;

static int fill_ramp(void *user, size_t offset, uint8_t *dst, size_t n, fmt_error *err)
{
    fill_ctx *c = user;
    c->calls++;
    if (offset >= c->fail_at) return fmt_fail(err, "source went away");
    for (size_t i = 0; i < n; i++) {
        size_t byte = offset + i;
        float v = (float)(byte / 4) * 0.25f;
        uint8_t q[4];
        memcpy(q, &v, 4);
        dst[i] = q[byte % 4];
    }
    return 0;
}

static const char *tmp_dir(void)
{
    const char *d = getenv("UNPROMPT_BUILD");
    return d ? d : "/tmp";
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

#define BIG_N 700000 /* 2.8 MB: the fill callback is called in several chunks */

static void test_roundtrip(void)
{
    st_writer w;
    fmt_error e;
    st_writer_init(&w);
    float a[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[3] = {0x3C00, 0x4000, 0xC000};
    double d[1] = {-0.125};
    uint8_t flags[5] = {1, 0, 1, 1, 0};
    size_t sa[2] = {2, 3}, sh[1] = {3}, sd[3] = {1, 1, 1}, sf[1] = {5}, sbig[2] = {BIG_N / 100, 100},
           sz[2] = {0, 7};
    fill_ctx fc = {SIZE_MAX, 0};
    /* Added out of order: the file sorts by element size, then name. */
    CHECK(st_writer_add(&w, "half", ST_F16, 1, sh, h, &e) == 0);
    CHECK(st_writer_add(&w, "flags", ST_BOOL, 1, sf, flags, &e) == 0);
    CHECK(st_writer_add(&w, "weight", ST_F32, 2, sa, a, &e) == 0);
    CHECK(st_writer_add_fill(&w, "big", ST_F32, 2, sbig, fill_ramp, &fc, &e) == 0);
    CHECK(st_writer_add(&w, "dbl", ST_F64, 3, sd, d, &e) == 0);
    CHECK(st_writer_add(&w, "none", ST_F32, 2, sz, NULL, &e) == 0);
    CHECK(st_writer_add(&w, "scalar", ST_F64, 0, NULL, d, &e) == 0);
    CHECK(st_writer_meta(&w, "config", "{\"width\": 768}\n\ttab \x01 ctl", &e) == 0);
    CHECK(st_writer_meta(&w, "source_sha256", "abc123", &e) == 0);

    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/test_st_roundtrip.safetensors", tmp_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    remove(path);
    CHECK(st_write_file(&w, path, &e) == 0);
    CHECK(fc.calls >= 3);
    CHECK(!file_exists(tmp));

    size_t len;
    uint8_t *p = test_read_file(path, &len);
    CHECK(p != NULL);
    if (!p) {
        st_writer_free(&w);
        return;
    }
    st_file f;
    CHECK(st_open(&f, p, len, NULL, &e) == 0);
    CHECK(f.n_warnings == 0);
    CHECK(f.header_len % 8 == 0);
    CHECK(f.n_tensors == 7);
    CHECK_STR(st_meta(&f, "config"), "{\"width\": 768}\n\ttab \x01 ctl");
    CHECK_STR(st_meta(&f, "source_sha256"), "abc123");
    CHECK_STR(f.meta[0].key, "config"); /* metadata keeps the order added */
    /* File order: F64 (dbl, scalar), F32 (big, none, weight), F16, BOOL. */
    static const char *order[] = {"dbl", "scalar", "big", "none", "weight", "half", "flags"};
    for (size_t i = 0; i < 7 && i < f.n_tensors; i++) {
        CHECK_STR(f.tensors[i].name, order[i]);
        CHECK((size_t)(f.tensors[i].data - p) % st_dtype_size(f.tensors[i].dtype) == 0);
    }
    const st_tensor *t = st_find(&f, "weight");
    CHECK(t && t->nbytes == sizeof a && memcmp(t->data, a, sizeof a) == 0);
    t = st_find(&f, "half");
    CHECK(t && t->dtype == ST_F16 && memcmp(t->data, h, sizeof h) == 0);
    t = st_find(&f, "dbl");
    CHECK(t && t->rank == 3 && memcmp(t->data, d, 8) == 0);
    t = st_find(&f, "scalar");
    CHECK(t && t->rank == 0 && t->nbytes == 8);
    t = st_find(&f, "flags");
    CHECK(t && t->dtype == ST_BOOL && memcmp(t->data, flags, 5) == 0);
    t = st_find(&f, "none");
    CHECK(t && t->nbytes == 0 && t->shape[1] == 7);
    t = st_find(&f, "big");
    CHECK(t && t->numel == BIG_N);
    if (t) {
        int ok = 1;
        for (size_t i = 0; i < BIG_N; i += 997) ok &= load_f32(t->data + 4 * i) == (float)i * 0.25f;
        CHECK(ok && load_f32(t->data + 4 * (BIG_N - 1)) == (float)(BIG_N - 1) * 0.25f);
    }
    /* The same bytes through a stream and through st_writer_header. */
    FILE *mem = tmpfile();
    CHECK(mem != NULL);
    if (mem) {
        CHECK(st_writer_write(&w, mem, &e) == 0);
        CHECK((size_t)ftell(mem) == len);
        rewind(mem);
        uint8_t *q = malloc(len);
        CHECK(q && fread(q, 1, len, mem) == len && memcmp(p, q, len) == 0);
        free(q);
        fclose(mem);
    }
    buf hb;
    buf_init(&hb, 0);
    CHECK(st_writer_header(&w, &hb, &e) == 0);
    CHECK(hb.len == 8 + f.header_len && memcmp(hb.data, p, hb.len) == 0);
    buf_free(&hb);
    st_close(&f);
    free(p);
    remove(path);
    st_writer_free(&w);
}

static void test_empty_file_roundtrip(void)
{
    st_writer w;
    fmt_error e;
    st_writer_init(&w);
    buf b;
    buf_init(&b, 0);
    CHECK(st_writer_header(&w, &b, &e) == 0);
    CHECK(b.len == 16 && memcmp(b.data + 8, "{}      ", 8) == 0);
    st_file f;
    CHECK(st_open(&f, (const uint8_t *)b.data, b.len, NULL, &e) == 0);
    CHECK(f.n_tensors == 0 && f.n_meta == 0 && st_find(&f, "x") == NULL);
    st_close(&f);
    buf_free(&b);
    st_writer_free(&w);
}

static void test_atomic_write_failure(void)
{
    st_writer w;
    fmt_error e;
    st_writer_init(&w);
    size_t shape[1] = {BIG_N};
    fill_ctx fc = {(size_t)2 << 20, 0}; /* fails on the third chunk */
    CHECK(st_writer_add_fill(&w, "stream", ST_F32, 1, shape, fill_ramp, &fc, &e) == 0);
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/test_st_atomic.safetensors", tmp_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *old = fopen(path, "wb");
    CHECK(old != NULL);
    if (old) {
        fputs("previous", old);
        fclose(old);
    }
    CHECK(st_write_file(&w, path, &e) == -1);
    CHECK(strstr(e.msg, "tensor 'stream'") && strstr(e.msg, "source went away"));
    CHECK(!file_exists(tmp));
    size_t n;
    uint8_t *p = test_read_file(path, &n);
    CHECK(p && n == 8 && memcmp(p, "previous", 8) == 0);
    free(p);
    remove(path);
    /* A directory that does not exist: refused before anything is written. */
    CHECK(st_write_file(&w, "/nonexistent-dir/x.safetensors", &e) == -1);
    CHECK(strstr(e.msg, "cannot create") != NULL);
    st_writer_free(&w);
}

static void test_writer_refusals(void)
{
    st_writer w;
    fmt_error e;
    st_writer_init(&w);
    float a[1] = {0};
    size_t one[1] = {1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t huge[3] = {(size_t)1 << 32, (size_t)1 << 32, 16};
    size_t big[1] = {SIZE_MAX / 2};
    CHECK(st_writer_add(&w, "a", ST_F32, 1, one, a, &e) == 0);
    CHECK(st_writer_add(&w, "a", ST_F32, 1, one, a, &e) == -1 && strstr(e.msg, "added twice"));
    CHECK(st_writer_add(&w, "__metadata__", ST_F32, 1, one, a, &e) == -1 && strstr(e.msg, "invalid tensor name"));
    CHECK(st_writer_add(&w, "", ST_F32, 1, one, a, &e) == -1 && strstr(e.msg, "invalid tensor name"));
    CHECK(st_writer_add(&w, "r", ST_F32, 9, nine, a, &e) == -1 && strstr(e.msg, "rank"));
    CHECK(st_writer_add(&w, "h", ST_F32, 3, huge, a, &e) == -1 && strstr(e.msg, "element count overflows"));
    CHECK(st_writer_add(&w, "b", ST_F32, 1, big, a, &e) == -1 && strstr(e.msg, "byte size overflows"));
    CHECK(st_writer_add(&w, "n", ST_F32, 1, one, NULL, &e) == -1 && strstr(e.msg, "no data"));
    CHECK(st_writer_add(&w, "d", ST_DTYPE_COUNT, 1, one, a, &e) == -1 && strstr(e.msg, "invalid dtype"));
    CHECK(st_writer_add_fill(&w, "f", ST_F32, 1, one, NULL, NULL, &e) == -1 && strstr(e.msg, "no fill"));
    CHECK(st_writer_meta(&w, "k", "v", &e) == 0);
    CHECK(st_writer_meta(&w, "k", "w", &e) == -1 && strstr(e.msg, "added twice"));
    CHECK(w.n_tensors == 1 && w.n_meta == 1);
    st_writer_free(&w);
}

static void test_hostile_headers(void)
{
    /* The header itself. */
    CHECK(refused("{not json", 0, "header: json: line 1 column 2"));
    CHECK(refused("[1, 2]", 0, "does not start with '{'"));
    CHECK(refused("", 0, "does not start with '{'"));
    CHECK(refused(" {}", 0, "does not start with '{'"));
    CHECK(refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[[[[1]]]],\"data_offsets\":[0,4]}}", 4,
                  "nesting too deep"));
    CHECK(refused("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ 'k' is not a string"));
    CHECK(refused("{\"__metadata__\":[]}", 0, "__metadata__ is not an object"));
    CHECK(refused("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice"));
    CHECK(refused("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "key 'k' appears twice"));
    /* Tensor entries. */
    CHECK(refused("{\"t\":[]}", 0, "tensor 't': entry is not an object"));
    CHECK(refused("{\"\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}", 1, "empty tensor name"));
    CHECK(refused("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype string"));
    CHECK(refused("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                  "unknown dtype 'F8_E4M3'"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "duplicate key"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "shape is not an array"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                  "shape holds something other than a non-negative integer"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "non-negative integer"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 4, "non-negative integer"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "non-negative integer"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                  "rank 9 exceeds 8"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
                  "non-negative integer"));
    /* Shape overflow: the element count, then the byte count. */
    CHECK(refused("{\"t\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}",
                  4, "element count overflows"));
    CHECK(refused("{\"t\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
                  "byte size overflows"));
    /* A zero dimension makes any other size legal, and empty. */
    size_t len;
    uint8_t *p = make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[0,18446744073709551615],\"data_offsets\":[4,4]}}",
                           4, &len);
    st_file f;
    fmt_error e;
    CHECK(st_open(&f, p, len, NULL, &e) == 0 && f.n_tensors == 1 && f.tensors[0].nbytes == 0);
    st_close(&f);
    free(p);
    /* Offsets. */
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets is not"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "data_offsets is not"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4, "data_offsets is not"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets is not"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}", 16,
                  "data_offsets [0, 100] outside the data section of 16 bytes"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 16, "outside the data section"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551615,3]}}", 16,
                  "outside the data section"));
    CHECK(refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16,
                  "data_offsets [0, 12] hold 12 bytes but F32 x 4 elements need 16"));
    CHECK(refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                  24, "tensors 'a' and 'b' overlap"));
    CHECK(refused("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[5,6]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                  16, "tensors 'a' and 'b' overlap"));
    CHECK(refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
                  32, "tensor 'a' appears twice"));
}

static void test_header_size(void)
{
    st_file f;
    fmt_error e;
    uint8_t tiny[7] = {0};
    CHECK(st_open(&f, tiny, sizeof tiny, NULL, &e) == -1 && strstr(e.msg, "too short"));
    CHECK(st_open(&f, tiny, 0, NULL, &e) == -1 && strstr(e.msg, "too short"));
    size_t len;
    uint8_t *p = make_file("{}", 0, &len);
    p[0] = 3; /* 3 > the 2 bytes that follow */
    CHECK(st_open(&f, p, len, NULL, &e) == -1 && strstr(e.msg, "larger than the file"));
    memset(p, 0xFF, 8); /* 2^64 - 1 */
    CHECK(st_open(&f, p, len, NULL, &e) == -1 && strstr(e.msg, "exceeds the limit"));
    memset(p, 0, 8);
    p[3] = 0x10; /* 256 MiB */
    CHECK(st_open(&f, p, len, NULL, &e) == -1 && strstr(e.msg, "exceeds the limit of 104857600"));
    free(p);
    /* Limits. */
    st_limits lim = st_default_limits();
    lim.max_header = 8;
    p = make_file("{\"__metadata__\":{}}", 0, &len);
    CHECK(st_open(&f, p, len, &lim, &e) == -1 && strstr(e.msg, "header of 19 bytes exceeds the limit of 8"));
    free(p);
    lim = st_default_limits();
    lim.max_tensors = 1;
    p = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                  "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, &len);
    CHECK(st_open(&f, p, len, &lim, &e) == -1 && strstr(e.msg, "2 tensors exceed the limit of 1"));
    lim.max_tensors = 2;
    CHECK(st_open(&f, p, len, &lim, &e) == 0);
    st_close(&f);
    free(p);
}

static void test_warnings(void)
{
    st_file f;
    fmt_error e;
    size_t len;
    /* A gap between tensors and trailing bytes: read, with one warning each. */
    uint8_t *p = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]},"
                           "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}     ",
                           20, &len);
    CHECK(st_open(&f, p, len, NULL, &e) == 0);
    CHECK(f.n_warnings == 1 && strstr(f.warning, "14 of 20 data bytes belong to no tensor"));
    CHECK_STR(f.tensors[0].name, "b");
    CHECK(st_find(&f, "a") && st_find(&f, "a")->data == p + 8 + f.header_len + 8);
    st_close(&f);
    free(p);
    /* A header of odd length leaves the F32 data misaligned. */
    p = make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, &len);
    CHECK((len - 4) % 4 != 0);
    CHECK(st_open(&f, p, len, NULL, &e) == 0);
    CHECK(f.n_warnings == 1 && strstr(f.warning, "1 tensor(s) not aligned to their element size (first 'w')"));
    st_close(&f);
    free(p);
    /* Zero-size tensors anywhere overlap nothing. */
    p = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                  "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]},"
                  "\"y\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},\"x\":{}}", 4, &len);
    CHECK(st_open(&f, p, len, NULL, &e) == -1 && strstr(e.msg, "'x': no dtype"));
    free(p);
    p = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4],\"extra\":[1]},"
                  "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]},"
                  "\"y\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}", 4, &len);
    CHECK(st_open(&f, p, len, NULL, &e) == 0 && f.n_tensors == 3 && f.n_warnings == 0);
    st_close(&f);
    free(p);
}

/* Every truncation of a valid file is refused (no crash, no over-read: each
 * copy is exactly n bytes, so ASan sees any). */
static void test_truncation_everywhere(void)
{
    size_t len;
    uint8_t *p = test_read_file("tests/fixtures/st_small.safetensors", &len);
    CHECK(p != NULL);
    if (!p) return;
    int all_refused = 1;
    for (size_t n = 0; n < len; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, p, n);
        st_file f;
        fmt_error e;
        if (st_open(&f, c, n, NULL, &e) == 0) {
            all_refused = 0;
            fprintf(stderr, "    truncated to %zu bytes: accepted\n", n);
            st_close(&f);
        }
        free(c);
    }
    CHECK(all_refused);
    free(p);
}

int main(void)
{
    RUN(test_dtypes);
    RUN(test_python_fixture);
    RUN(test_roundtrip);
    RUN(test_empty_file_roundtrip);
    RUN(test_atomic_write_failure);
    RUN(test_writer_refusals);
    RUN(test_hostile_headers);
    RUN(test_header_size);
    RUN(test_warnings);
    RUN(test_truncation_everywhere);
    return test_summary("safetensors");
}
