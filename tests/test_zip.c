/* Zip reader: Python-written fixtures, archives assembled here byte by byte
 * (plain and ZIP64, stored and raw-deflated entries), and hostile variants,
 * each refused with a reason. */
#include "tests/test.h"

#include <stdint.h>
#include <zlib.h>

#include "base/buf.h"
#include "format/zip.h"

/* ---- a small zip writer for the tests ---- */

typedef struct {
    const char *name;
    const void *data;
    size_t len;
    int method;
} zsrc;

#define MAX_ENTRIES 8

typedef struct {
    size_t local[MAX_ENTRIES], central[MAX_ENTRIES], data[MAX_ENTRIES];
    size_t cd_offset, cd_size, eocd64, locator, eocd;
} zlayout;

static void put16(buf *b, unsigned v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    buf_append(b, p, 2, NULL);
}
static void put32(buf *b, uint32_t v)
{
    put16(b, v & 0xFFFF);
    put16(b, v >> 16);
}
static void put64(buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}
static void patch16(buf *b, size_t at, unsigned v)
{
    b->data[at] = (char)(uint8_t)v;
    b->data[at + 1] = (char)(uint8_t)(v >> 8);
}
static void patch32(buf *b, size_t at, uint32_t v)
{
    patch16(b, at, v & 0xFFFF);
    patch16(b, at + 2, v >> 16);
}
static uint32_t get32(const buf *b, size_t at)
{
    return load_le32((const uint8_t *)b->data + at);
}

static uint8_t *raw_deflate(const void *src, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len);
    uint8_t *out = malloc(cap);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* zip64: 0 = classic; 1 = every size/offset saturated and carried in ZIP64
 * extra fields, EOCD counts saturated, ZIP64 end record + locator. */
static void build(buf *b, const zsrc *s, size_t n, int zip64, zlayout *L)
{
    buf_init(b, 0);
    uint8_t *comp[MAX_ENTRIES];
    size_t clen[MAX_ENTRIES];
    uint32_t crc[MAX_ENTRIES];
    for (size_t i = 0; i < n; i++) {
        crc[i] = zip_crc32(s[i].data, s[i].len);
        if (s[i].method == ZIP_DEFLATED) {
            comp[i] = raw_deflate(s[i].data, s[i].len, &clen[i]);
        } else {
            comp[i] = malloc(s[i].len ? s[i].len : 1);
            memcpy(comp[i], s[i].data, s[i].len);
            clen[i] = s[i].len;
        }
        size_t nlen = strlen(s[i].name);
        L->local[i] = b->len;
        put32(b, 0x04034b50);
        put16(b, zip64 ? 45 : 20);
        put16(b, 0);
        put16(b, (unsigned)s[i].method);
        put16(b, 0);
        put16(b, 0x5021);
        put32(b, crc[i]);
        put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)clen[i]);
        put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)s[i].len);
        put16(b, (unsigned)nlen);
        put16(b, zip64 ? 20 : 0);
        buf_append(b, s[i].name, nlen, NULL);
        if (zip64) {
            put16(b, 1);
            put16(b, 16);
            put64(b, s[i].len);
            put64(b, clen[i]);
        }
        L->data[i] = b->len;
        buf_append(b, comp[i], clen[i], NULL);
    }
    L->cd_offset = b->len;
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(s[i].name);
        L->central[i] = b->len;
        put32(b, 0x02014b50);
        put16(b, 0x0314);
        put16(b, zip64 ? 45 : 20);
        put16(b, 0);
        put16(b, (unsigned)s[i].method);
        put16(b, 0);
        put16(b, 0x5021);
        put32(b, crc[i]);
        put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)clen[i]);
        put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)s[i].len);
        put16(b, (unsigned)nlen);
        put16(b, zip64 ? 28 : 0);
        put16(b, 0);
        put16(b, 0);
        put16(b, 0);
        put32(b, 0644u << 16);
        put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)L->local[i]);
        buf_append(b, s[i].name, nlen, NULL);
        if (zip64) {
            put16(b, 1);
            put16(b, 24);
            put64(b, s[i].len);
            put64(b, clen[i]);
            put64(b, L->local[i]);
        }
        free(comp[i]);
    }
    L->cd_size = b->len - L->cd_offset;
    L->eocd64 = L->locator = 0;
    if (zip64) {
        L->eocd64 = b->len;
        put32(b, 0x06064b50);
        put64(b, 44);
        put16(b, 45);
        put16(b, 45);
        put32(b, 0);
        put32(b, 0);
        put64(b, n);
        put64(b, n);
        put64(b, L->cd_size);
        put64(b, L->cd_offset);
        L->locator = b->len;
        put32(b, 0x07064b50);
        put32(b, 0);
        put64(b, L->eocd64);
        put32(b, 1);
    }
    L->eocd = b->len;
    put32(b, 0x06054b50);
    put16(b, 0);
    put16(b, 0);
    put16(b, zip64 ? 0xFFFF : (unsigned)n);
    put16(b, zip64 ? 0xFFFF : (unsigned)n);
    put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)L->cd_size);
    put32(b, zip64 ? 0xFFFFFFFFu : (uint32_t)L->cd_offset);
    put16(b, 0);
}

static char pkl_text[2000];
static uint8_t tensor_bytes[64];

static size_t standard(zsrc *s)
{
    if (!pkl_text[0]) {
        for (size_t i = 0; i + 1 < sizeof pkl_text; i++) pkl_text[i] = "stand-in pickle "[i % 16];
        for (size_t i = 0; i < sizeof tensor_bytes; i++) tensor_bytes[i] = (uint8_t)(i * 7);
    }
    s[0] = (zsrc){.name = "archive/data.pkl", .data = pkl_text, .len = strlen(pkl_text), .method = ZIP_DEFLATED};
    s[1] = (zsrc){.name = "archive/data/0", .data = tensor_bytes, .len = sizeof tensor_bytes, .method = ZIP_STORED};
    s[2] = (zsrc){.name = "archive/version", .data = "3\n", .len = 2, .method = ZIP_STORED};
    return 3;
}

static int open_buf(const buf *b, zip_archive *z, const zip_limits *lim, fmt_error *e)
{
    return zip_open(z, (const uint8_t *)b->data, b->len, lim, e);
}

static int has(const fmt_error *e, const char *want)
{
    if (strstr(e->msg, want) && !strncmp(e->msg, "zip: ", 5)) return 1;
    fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", e->msg, want);
    return 0;
}

/* zip_open must refuse `b` with `want` in the message. */
static int open_refused(const buf *b, const char *want)
{
    zip_archive z;
    fmt_error e = {{0}};
    if (open_buf(b, &z, NULL, &e) == 0) {
        fprintf(stderr, "    accepted (wanted \"%s\")\n", want);
        zip_close(&z);
        return 0;
    }
    CHECK(z.entries == NULL && z.count == 0);
    return has(&e, want);
}

/* zip_open accepts, zip_entry_data on `name` refuses with `want`. */
static int data_refused(const buf *b, const char *name, size_t max_len, const char *want)
{
    zip_archive z;
    fmt_error e = {{0}};
    if (open_buf(b, &z, NULL, &e)) {
        fprintf(stderr, "    open failed: %s\n", e.msg);
        return 0;
    }
    const zip_entry *en = zip_find(&z, name);
    const uint8_t *d = (const uint8_t *)"x";
    uint8_t *owned = (uint8_t *)"x";
    size_t len = 99;
    int rc = en ? zip_entry_data(&z, en, &d, &owned, &len, max_len, &e) : 0;
    zip_close(&z);
    if (rc == 0) {
        fprintf(stderr, "    data accepted (wanted \"%s\")\n", want);
        return 0;
    }
    CHECK(d == NULL && owned == NULL && len == 0);
    return has(&e, want);
}

static void check_standard(const zip_archive *z, const uint8_t *base)
{
    fmt_error e;
    CHECK(zip_count(z) == 3);
    CHECK(zip_entry_at(z, 3) == NULL);
    CHECK_STR(zip_entry_at(z, 0)->name, "archive/data.pkl");
    const zip_entry *pkl = zip_find(z, "archive/data.pkl");
    CHECK(pkl && pkl->method == ZIP_DEFLATED && pkl->size == strlen(pkl_text) && pkl->comp_size < pkl->size);
    const uint8_t *d;
    uint8_t *owned;
    size_t len;
    if (pkl) {
        CHECK(zip_entry_data(z, pkl, &d, &owned, &len, 1 << 20, &e) == 0);
        CHECK(owned != NULL && d == owned && len == strlen(pkl_text) && !memcmp(d, pkl_text, len));
        free(owned);
    }
    const zip_entry *t = zip_find(z, "archive/data/0");
    CHECK(t && t->method == ZIP_STORED && t->size == 64);
    if (t) {
        CHECK(zip_entry_data(z, t, &d, &owned, &len, 64, &e) == 0);
        CHECK(owned == NULL && d == base + t->data_offset && len == 64 && !memcmp(d, tensor_bytes, 64));
        CHECK(zip_entry_data(z, t, &d, &owned, &len, 63, &e) == -1 && has(&e, "64 bytes exceed the limit of 63"));
    }
    size_t m;
    CHECK(zip_find_suffix(z, "/data.pkl", &m) == pkl && m == 1);
    CHECK(zip_find_suffix(z, "/version", NULL) == zip_find(z, "archive/version"));
    CHECK(zip_find_suffix(z, "data.pkl/", &m) == NULL && m == 0);
    CHECK(zip_find_suffix(z, "", &m) == zip_entry_at(z, 0) && m == 3);
    CHECK(zip_find(z, "archive/data") == NULL && zip_find(z, "data.pkl") == NULL);
}

static void test_c_built(void)
{
    for (int zip64 = 0; zip64 <= 1; zip64++) {
        zsrc s[MAX_ENTRIES];
        size_t n = standard(s);
        buf b;
        zlayout L;
        build(&b, s, n, zip64, &L);
        zip_archive z;
        fmt_error e;
        CHECK(open_buf(&b, &z, NULL, &e) == 0);
        CHECK(z.zip64 == zip64);
        check_standard(&z, (const uint8_t *)b.data);
        zip_close(&z);
        zip_close(&z);
        buf_free(&b);
    }
}

static void check_fixture(const char *path, int zip64, int aligned)
{
    size_t len;
    uint8_t *p = test_read_file(path, &len);
    CHECK(p != NULL);
    if (!p) return;
    zip_archive z;
    fmt_error e;
    CHECK(zip_open(&z, p, len, NULL, &e) == 0);
    CHECK(zip_count(&z) == 4 && z.zip64 == zip64);
    const zip_entry *t = zip_find(&z, "archive/data/0");
    const uint8_t *d;
    uint8_t *owned;
    size_t n;
    CHECK(t && t->method == ZIP_STORED);
    if (t) {
        if (aligned) CHECK(t->data_offset % 64 == 0);
        CHECK(zip_entry_data(&z, t, &d, &owned, &n, SIZE_MAX, &e) == 0 && owned == NULL && n == 64);
        int ok = 1;
        for (int i = 0; i < 16; i++) {
            float f;
            memcpy(&f, d + 4 * i, 4);
            ok &= f == (float)i * 0.5f;
        }
        CHECK(ok);
    }
    const zip_entry *pkl = zip_find_suffix(&z, "/data.pkl", &n);
    CHECK(pkl && n == 1 && pkl->method == ZIP_DEFLATED);
    if (pkl) {
        CHECK(zip_entry_data(&z, pkl, &d, &owned, &n, 1 << 20, &e) == 0);
        const char *unit = "unprompt test: a stand-in for data.pkl, repeated to compress. ";
        size_t u = strlen(unit);
        int ok = n == 12 * u;
        for (size_t i = 0; ok && i < 12; i++) ok = !memcmp(d + i * u, unit, u);
        CHECK(ok);
        free(owned);
    }
    const zip_entry *v = zip_find(&z, "archive/version");
    CHECK(v && zip_entry_data(&z, v, &d, &owned, &n, 16, &e) == 0 && n == 2 && !memcmp(d, "3\n", 2));
    const zip_entry *bo = zip_find(&z, "archive/byteorder");
    CHECK(bo && zip_entry_data(&z, bo, &d, &owned, &n, 16, &e) == 0 && n == 6 && !memcmp(d, "little", 6));
    zip_close(&z);
    free(p);
}

static void test_python_fixtures(void)
{
    check_fixture("tests/fixtures/zip_torch_like.zip", 0, 1);
    check_fixture("tests/fixtures/zip_force64.zip", 0, 0);
    check_fixture("tests/fixtures/zip_eocd64.zip", 1, 0);
}

static void test_end_record(void)
{
    buf b;
    buf_init(&b, 0);
    zip_archive z;
    fmt_error e;
    /* An empty archive, with and without a comment. */
    put32(&b, 0x06054b50);
    for (int i = 0; i < 9; i++) put16(&b, 0);
    CHECK(open_buf(&b, &z, NULL, &e) == 0 && zip_count(&z) == 0 && zip_find(&z, "a") == NULL);
    zip_close(&z);
    patch16(&b, 20, 5);
    buf_append(&b, "hello", 5, NULL);
    CHECK(open_buf(&b, &z, NULL, &e) == 0 && zip_count(&z) == 0);
    zip_close(&z);
    /* A comment length running past the end: no valid EOCD. */
    patch16(&b, 20, 6);
    CHECK(open_refused(&b, "no end of central directory record"));
    buf_free(&b);
    buf_init(&b, 0);
    buf_append_str(&b, "PK\003\004 this is not really a zip file, only its first bytes", NULL);
    CHECK(open_refused(&b, "no end of central directory record (not a zip file)"));
    b.len = 10;
    CHECK(open_refused(&b, "file of 10 bytes is too short"));
    buf_free(&b);
    /* The EOCD more than 64 KiB before the end is not found. */
    zsrc s[MAX_ENTRIES];
    size_t n = standard(s);
    zlayout L;
    build(&b, s, n, 0, &L);
    patch16(&b, L.eocd + 20, 0);
    size_t at = b.len;
    buf_reserve(&b, 70000, NULL);
    memset(b.data + at, 0, 70000);
    b.len += 70000;
    CHECK(open_refused(&b, "no end of central directory record"));
    buf_free(&b);
}

static void test_central_directory_lies(void)
{
    zsrc s[MAX_ENTRIES];
    size_t n = standard(s);
    buf b;
    zlayout L;
    build(&b, s, n, 0, &L);

    patch32(&b, L.eocd + 16, (uint32_t)b.len); /* central directory past EOF */
    CHECK(open_refused(&b, "central directory (183 bytes at"));
    CHECK(open_refused(&b, "lies outside the file"));
    patch32(&b, L.eocd + 16, (uint32_t)L.cd_offset);
    patch32(&b, L.eocd + 12, (uint32_t)L.cd_size + 1); /* size overlapping the EOCD */
    CHECK(open_refused(&b, "lies outside the file"));
    patch32(&b, L.eocd + 12, (uint32_t)L.cd_size);
    patch32(&b, L.eocd + 16, (uint32_t)L.cd_offset + 1); /* misplaced */
    CHECK(open_refused(&b, "lies outside the file"));
    patch32(&b, L.eocd + 12, (uint32_t)L.cd_size - 1);
    CHECK(open_refused(&b, "bad central directory signature"));
    patch32(&b, L.eocd + 12, (uint32_t)L.cd_size);
    patch32(&b, L.eocd + 16, (uint32_t)L.cd_offset);

    /* Entry counts that lie, both ways. */
    patch16(&b, L.eocd + 8, 4);
    patch16(&b, L.eocd + 10, 4);
    CHECK(open_refused(&b, "4 entries cannot fit in a central directory of 183 bytes"));
    patch16(&b, L.eocd + 8, 2);
    patch16(&b, L.eocd + 10, 2);
    CHECK(open_refused(&b, "central directory has 61 bytes after its 2 entries"));
    patch16(&b, L.eocd + 8, 0xFFFE);
    patch16(&b, L.eocd + 10, 0xFFFE);
    CHECK(open_refused(&b, "65534 entries cannot fit"));
    patch16(&b, L.eocd + 8, 3);
    CHECK(open_refused(&b, "multi-disk"));
    patch16(&b, L.eocd + 10, 3);
    patch16(&b, L.eocd + 4, 1);
    CHECK(open_refused(&b, "multi-disk"));
    patch16(&b, L.eocd + 4, 0);
    patch16(&b, L.central[1] + 34, 1);
    CHECK(open_refused(&b, "multi-disk"));
    patch16(&b, L.central[1] + 34, 0);

    /* Limits. */
    zip_archive z;
    fmt_error e;
    zip_limits lim = zip_default_limits();
    lim.max_entries = 2;
    CHECK(open_buf(&b, &z, &lim, &e) == -1 && has(&e, "3 entries exceed the limit of 2"));
    lim.max_entries = 3;
    CHECK(open_buf(&b, &z, &lim, &e) == 0);
    zip_close(&z);

    /* Name, extra and comment lengths running past the directory. */
    patch16(&b, L.central[2] + 32, 1);
    CHECK(open_refused(&b, "central directory entry runs past the directory"));
    patch16(&b, L.central[2] + 32, 0);
    patch16(&b, L.central[0] + 30, 0xFFFF);
    CHECK(open_refused(&b, "central directory entry runs past the directory"));
    patch16(&b, L.central[0] + 30, 0);
    buf_free(&b);
}

static void test_entry_fields(void)
{
    zsrc s[MAX_ENTRIES];
    size_t n = standard(s);
    buf b;
    zlayout L;
    build(&b, s, n, 0, &L);

    patch16(&b, L.central[1] + 10, 12);
    CHECK(open_refused(&b, "entry 'archive/data/0': compression method 12 (bzip2) is not supported"));
    patch16(&b, L.central[1] + 10, 14);
    CHECK(open_refused(&b, "compression method 14 (lzma) is not supported"));
    patch16(&b, L.central[1] + 10, 77);
    CHECK(open_refused(&b, "compression method 77 (unknown) is not supported"));
    patch16(&b, L.central[1] + 10, 0);
    patch16(&b, L.central[0] + 8, 1);
    CHECK(open_refused(&b, "entry 'archive/data.pkl': encrypted entries are not supported"));
    patch16(&b, L.central[0] + 8, 8); /* data descriptor flag: fine, the CD has the sizes */
    zip_archive z;
    fmt_error e;
    CHECK(open_buf(&b, &z, NULL, &e) == 0);
    zip_close(&z);
    patch16(&b, L.central[0] + 8, 0);
    patch32(&b, L.central[1] + 24, 65);
    CHECK(open_refused(&b, "stored entry whose sizes differ"));
    patch32(&b, L.central[1] + 24, 64);
    b.data[L.central[2] + 46 + 3] = '\0';
    CHECK(open_refused(&b, "name holds a NUL byte"));
    b.data[L.central[2] + 46 + 3] = 'h';
    patch32(&b, L.central[2] + 20, 0xFFFFFFF0u);
    patch32(&b, L.central[2] + 24, 0xFFFFFFF0u);
    CHECK(open_refused(&b, "size or offset beyond the end of the file"));
    patch32(&b, L.central[2] + 20, 2);
    patch32(&b, L.central[2] + 24, 2);
    CHECK(open_buf(&b, &z, NULL, &e) == 0);
    zip_close(&z);
    buf_free(&b);

    /* An empty name. */
    zsrc one[1] = {{.name = "", .data = "x", .len = 1, .method = ZIP_STORED}};
    build(&b, one, 1, 0, &L);
    CHECK(open_refused(&b, "entry with an empty name"));
    buf_free(&b);
}

static void test_local_headers(void)
{
    zsrc s[MAX_ENTRIES];
    size_t n = standard(s);
    buf b;
    zlayout L;
    build(&b, s, n, 0, &L);

    patch32(&b, L.local[1], 0x04034b51);
    CHECK(open_refused(&b, "entry 'archive/data/0': bad local header signature"));
    patch32(&b, L.local[1], 0x04034b50);
    b.data[L.local[1] + 30] = 'X';
    CHECK(open_refused(&b, "local header names a different file"));
    b.data[L.local[1] + 30] = 'a';
    patch16(&b, L.local[1] + 26, 13);
    CHECK(open_refused(&b, "local header names a different file"));
    patch16(&b, L.local[1] + 26, 14);
    patch16(&b, L.local[1] + 8, 8);
    CHECK(open_refused(&b, "local header has a different method"));
    patch16(&b, L.local[1] + 8, 0);
    patch16(&b, L.local[1] + 28, 0xFFFF);
    CHECK(open_refused(&b, "data runs past the central directory"));
    patch16(&b, L.local[1] + 28, 0);
    patch16(&b, L.local[1] + 6, 1);
    CHECK(open_refused(&b, "encrypted"));
    patch16(&b, L.local[1] + 6, 0);
    patch32(&b, L.central[1] + 42, (uint32_t)L.cd_offset - 10);
    CHECK(open_refused(&b, "local header outside the file"));
    patch32(&b, L.central[1] + 42, 0xFFFFFFF0u);
    CHECK(open_refused(&b, "beyond the end of the file"));
    patch32(&b, L.central[1] + 42, (uint32_t)L.local[1]);
    /* Compressed size reaching into the central directory. */
    patch32(&b, L.central[2] + 20, 3);
    patch32(&b, L.central[2] + 24, 3);
    CHECK(open_refused(&b, "data runs past the central directory"));
    patch32(&b, L.central[2] + 20, 2);
    patch32(&b, L.central[2] + 24, 2);
    zip_archive z;
    fmt_error e;
    CHECK(open_buf(&b, &z, NULL, &e) == 0);
    zip_close(&z);
    buf_free(&b);

    /* Duplicate names; two entries sharing one local header. */
    zsrc dup[2] = {{.name = "same", .data = "ab", .len = 2, .method = ZIP_STORED},
                   {.name = "same", .data = "cd", .len = 2, .method = ZIP_STORED}};
    build(&b, dup, 2, 0, &L);
    CHECK(open_refused(&b, "entry 'same' appears twice"));
    patch32(&b, L.central[1] + 42, (uint32_t)L.local[0]);
    patch32(&b, L.central[1] + 16, get32(&b, L.central[0] + 16));
    CHECK(open_refused(&b, "entries 'same' and 'same' overlap"));
    buf_free(&b);
}

static void test_entry_data(void)
{
    zsrc s[MAX_ENTRIES];
    size_t n = standard(s);
    buf b;
    zlayout L;
    build(&b, s, n, 0, &L);
    /* A stored entry with one byte changed: CRC refused, unless not checked. */
    b.data[L.data[1] + 5] ^= 1;
    CHECK(data_refused(&b, "archive/data/0", 1 << 20, "entry 'archive/data/0': CRC-32 mismatch (computed"));
    zip_archive z;
    fmt_error e;
    zip_limits lim = zip_default_limits();
    lim.check_stored_crc = 0;
    CHECK(open_buf(&b, &z, &lim, &e) == 0);
    const uint8_t *d;
    uint8_t *owned;
    size_t len;
    CHECK(zip_entry_data(&z, zip_find(&z, "archive/data/0"), &d, &owned, &len, 64, &e) == 0 && len == 64);
    zip_close(&z);
    b.data[L.data[1] + 5] ^= 1;
    /* A deflated entry whose declared CRC is wrong. */
    uint32_t crc = get32(&b, L.central[0] + 16);
    patch32(&b, L.central[0] + 16, crc ^ 0x80);
    CHECK(data_refused(&b, "archive/data.pkl", 1 << 20, "CRC-32 mismatch"));
    patch32(&b, L.central[0] + 16, crc);
    /* Corrupt and truncated deflate streams. */
    uint32_t csize = get32(&b, L.central[0] + 20);
    char saved = b.data[L.data[0]];
    b.data[L.data[0]] = (char)0xFF; /* block type 3: invalid */
    CHECK(data_refused(&b, "archive/data.pkl", 1 << 20, "corrupt compressed data (invalid block type)"));
    b.data[L.data[0]] = saved;
    patch32(&b, L.central[0] + 20, csize - 4);
    CHECK(data_refused(&b, "archive/data.pkl", 1 << 20, "compressed data is truncated"));
    patch32(&b, L.central[0] + 20, csize);
    /* Declared sizes that disagree with the stream. */
    uint32_t size = get32(&b, L.central[0] + 24);
    patch32(&b, L.central[0] + 24, size + 1);
    CHECK(data_refused(&b, "archive/data.pkl", 1 << 20, "inflates to 1999 bytes, not the declared 2000"));
    patch32(&b, L.central[0] + 24, size - 1);
    CHECK(data_refused(&b, "archive/data.pkl", 1 << 20, "inflates to 1999 bytes, not the declared 1998"));
    patch32(&b, L.central[0] + 24, 1000);
    CHECK(data_refused(&b, "archive/data.pkl", 1 << 20, "inflates to more than its declared size"));
    patch32(&b, L.central[0] + 24, size);
    buf_free(&b);
}

/* 16 MiB of zeros deflate to ~16 KiB: refused by max_len before inflating,
 * and refused when the header understates it (no write past the declared
 * size, never more than that allocated). */
static void test_deflate_bomb(void)
{
    size_t big = (size_t)16 << 20;
    uint8_t *zeros = calloc(big, 1);
    zsrc s[1] = {{.name = "bomb", .data = zeros, .len = big, .method = ZIP_DEFLATED}};
    buf b;
    zlayout L;
    build(&b, s, 1, 0, &L);
    free(zeros);
    CHECK(get32(&b, L.central[0] + 20) < 65536);
    CHECK(data_refused(&b, "bomb", (size_t)1 << 20, "entry 'bomb': 16777216 bytes exceed the limit of 1048576"));
    patch32(&b, L.central[0] + 24, 1000);
    CHECK(data_refused(&b, "bomb", SIZE_MAX, "inflates to more than its declared size"));
    patch32(&b, L.central[0] + 24, (uint32_t)big);
    zip_archive z;
    fmt_error e;
    CHECK(open_buf(&b, &z, NULL, &e) == 0);
    const uint8_t *d;
    uint8_t *owned;
    size_t len;
    CHECK(zip_entry_data(&z, zip_find(&z, "bomb"), &d, &owned, &len, big, &e) == 0 && len == big);
    CHECK(owned && owned[0] == 0 && owned[big - 1] == 0);
    free(owned);
    zip_close(&z);
    buf_free(&b);
}

static void test_zip64_lies(void)
{
    zsrc s[MAX_ENTRIES];
    size_t n = standard(s);
    buf b;
    zlayout L;
    build(&b, s, n, 1, &L);
    patch32(&b, L.locator, 0x07064b51);
    CHECK(open_refused(&b, "ZIP64 sizes but no ZIP64 end record locator"));
    patch32(&b, L.locator, 0x07064b50);
    patch32(&b, L.locator + 8, (uint32_t)L.locator);
    CHECK(open_refused(&b, "ZIP64 end record at"));
    patch32(&b, L.locator + 12, 1);
    CHECK(open_refused(&b, "outside the file"));
    patch32(&b, L.locator + 12, 0);
    patch32(&b, L.locator + 8, (uint32_t)L.eocd64 + 1);
    CHECK(open_refused(&b, "ZIP64 end record at 563 is outside the file"));
    patch32(&b, L.locator + 8, (uint32_t)L.eocd64);
    patch32(&b, L.eocd64, 0x06064b51);
    CHECK(open_refused(&b, "ZIP64 end record has a bad signature"));
    patch32(&b, L.eocd64, 0x06064b50);
    patch32(&b, L.locator + 16, 2);
    CHECK(open_refused(&b, "multi-disk"));
    patch32(&b, L.locator + 16, 1);
    patch32(&b, L.eocd64 + 4, 10);
    CHECK(open_refused(&b, "ZIP64 end record too short"));
    patch32(&b, L.eocd64 + 4, 44);
    /* Entry counts and sizes in the ZIP64 record. */
    patch32(&b, L.eocd64 + 24, 4);
    patch32(&b, L.eocd64 + 32, 4);
    CHECK(open_refused(&b, "central directory truncated"));
    patch32(&b, L.eocd64 + 28, 1);
    patch32(&b, L.eocd64 + 36, 1);
    CHECK(open_refused(&b, "entries exceed the limit"));
    patch32(&b, L.eocd64 + 28, 0);
    patch32(&b, L.eocd64 + 36, 0);
    patch32(&b, L.eocd64 + 24, 3);
    patch32(&b, L.eocd64 + 32, 3);
    patch32(&b, L.eocd64 + 44, 1);
    CHECK(open_refused(&b, "lies outside the file"));
    patch32(&b, L.eocd64 + 44, 0);
    /* The extra field: missing, short. */
    patch16(&b, L.central[1] + 46 + 14, 0x9999);
    CHECK(open_refused(&b, "entry 'archive/data/0': ZIP64 sizes but no ZIP64 extra field"));
    patch16(&b, L.central[1] + 46 + 14, 1);
    patch16(&b, L.central[1] + 46 + 14 + 2, 16);
    CHECK(open_refused(&b, "ZIP64 extra field too short"));
    patch16(&b, L.central[1] + 46 + 14 + 2, 40);
    CHECK(open_refused(&b, "extra field runs past its block"));
    patch16(&b, L.central[1] + 46 + 14 + 2, 24);
    zip_archive z;
    fmt_error e;
    CHECK(open_buf(&b, &z, NULL, &e) == 0 && z.zip64);
    zip_close(&z);
    /* A ZIP64 record is used even when the classic fields are not saturated
     * (miniz, which torch.save uses, writes it that way). */
    patch16(&b, L.eocd + 8, 3);
    patch16(&b, L.eocd + 10, 3);
    patch32(&b, L.eocd + 12, (uint32_t)L.cd_size);
    patch32(&b, L.eocd + 16, (uint32_t)L.cd_offset);
    CHECK(open_buf(&b, &z, NULL, &e) == 0 && z.zip64 && zip_count(&z) == 3);
    zip_close(&z);
    buf_free(&b);
}

/* Every proper prefix of an archive is refused (each copy exactly n bytes,
 * so ASan sees any over-read). */
static void test_truncation_everywhere(void)
{
    for (int zip64 = 0; zip64 <= 1; zip64++) {
        zsrc s[MAX_ENTRIES];
        size_t n = standard(s);
        buf b;
        zlayout L;
        build(&b, s, n, zip64, &L);
        int all_refused = 1;
        for (size_t k = 0; k < b.len; k++) {
            uint8_t *c = malloc(k ? k : 1);
            memcpy(c, b.data, k);
            zip_archive z;
            fmt_error e;
            if (zip_open(&z, c, k, NULL, &e) == 0) {
                all_refused = 0;
                zip_close(&z);
            }
            free(c);
        }
        CHECK(all_refused);
        buf_free(&b);
    }
}

int main(void)
{
    RUN(test_c_built);
    RUN(test_python_fixtures);
    RUN(test_end_record);
    RUN(test_central_directory_lies);
    RUN(test_entry_fields);
    RUN(test_local_headers);
    RUN(test_entry_data);
    RUN(test_deflate_bomb);
    RUN(test_zip64_lies);
    RUN(test_truncation_everywhere);
    return test_summary("zip");
}
