/* The cost of the checkpoint readers on the worst files they accept: each
 * case builds its file here, at the reader's largest allowed size (or, where
 * that takes more than a second even when linear, as large as runs in about
 * one), and bounds the CPU time (and the memory where the input could
 * multiply it). The bounds are 10-20x what linear code takes under ASan on a
 * loaded machine: only a super-linear algorithm or a hang can exceed them.
 *
 *   safetensors: a header of 262,144 metadata keys and 65,536 tensors
 *                (the duplicate-key check was a scan per key: 0.48 s at
 *                20k keys, 1.9 s at 40k, ~80 s here);
 *   torch zip:   4,096 tensors sharing one 64 MiB deflated storage (each
 *                tensor inflated its own copy: 20 tensors of a 32 MiB one
 *                took 2.3 s and 608 MB);
 *   pickle:      a TorchScript module DAG at the depth limit, each level
 *                naming the one below twice (2^D walks: D = 18 gave 524,287
 *                tensors and 111 MB; D = 20 with 2000-byte names was killed
 *                at 24 GB), names at their bound, dicts of keys that all
 *                collided in the old unkeyed index (32,768 took 1.3 s,
 *                quadratic), memo indices far apart, and calls repeated on
 *                one memoized argument;
 *   zip:         an archive at the entry limit (1,048,576 entries). */
#include <stdint.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "format/pickle.h"
#include "format/safetensors.h"
#include "format/torch_ckpt.h"
#include "format/zip.h"
#include "engine/api/unprompt.h"
#include "tests/test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define COST_SANITIZED 1
#endif
/* ASan's redzones and quarantine make RSS say little about our own
 * allocations: the memory bounds are checked in the plain builds only (the
 * byte counters the readers keep are checked everywhere). */
#ifdef COST_SANITIZED
#define CHECK_RSS 0
#else
#define CHECK_RSS 1
#endif

#define LIT(b, s) buf_append((b), (s), sizeof(s) - 1, NULL)

static double cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

/* A field of /proc/self/status in MiB ("VmRSS:", "VmHWM:"), or -1. */
static double status_mib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, strlen(field))) v = atof(line + strlen(field)) / 1024.0;
    if (f) fclose(f);
    return v;
}

/* Memory is measured as the peak resident set (VmHWM) after resetting it
 * (clear_refs 5), less the resident set at the start: what the reader
 * itself needed, whatever earlier cases peaked at or left in the heap. */
typedef struct {
    double base;
    int ok;
} rss_probe;

static rss_probe rss_start(void)
{
#ifdef __GLIBC__
    malloc_trim(0); /* memory freed by earlier cases back to the system */
#endif
    rss_probe p = {status_mib("VmRSS:"), 0};
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        p.ok = fputs("5", f) >= 0;
        p.ok &= fclose(f) == 0;
    }
    p.ok &= p.base >= 0;
    return p;
}

/* MiB the peak grew by since rss_start, or -1 if unknown. */
static double rss_grew(const rss_probe *p)
{
    double peak = status_mib("VmHWM:");
    return p->ok && peak >= 0 ? peak - p->base : -1;
}

/* A memory bound, checked where it can be measured. */
#define CHECK_MIB(grew, bound)                                 \
    do {                                                       \
        if (CHECK_RSS && (grew) >= 0) CHECK((grew) < (bound)); \
    } while (0)

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

/* ---- safetensors ---------------------------------------------------------- */

#define ST_KEYS ((size_t)1 << 18)
#define ST_TENSORS ((size_t)1 << 16)

/* A header of `keys` metadata entries ("k0000000": "") and `tensors` one-byte
 * U8 tensors, then their data section; `dup` repeats the first key last. */
static void build_safetensors(buf *b, size_t keys, size_t tensors, int dup)
{
    buf_init(b, 0);
    LIT(b, "\0\0\0\0\0\0\0\0{\"__metadata__\":{");
    for (size_t i = 0; i < keys; i++) buf_printf(b, NULL, "%s\"k%07zu\":\"\"", i ? "," : "", i);
    if (dup) LIT(b, ",\"k0000000\":\"again\"");
    LIT(b, "}");
    for (size_t i = 0; i < tensors; i++)
        buf_printf(b, NULL, ",\"t%06zu\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%zu,%zu]}", i, i,
                   i + 1);
    LIT(b, "}");
    while (b->len % 8) buf_append_char(b, ' ', NULL);
    uint64_t n = b->len - 8;
    for (int i = 0; i < 8; i++) b->data[i] = (char)(uint8_t)(n >> (8 * i));
    for (size_t i = 0; i < tensors; i++) buf_append_char(b, (char)i, NULL);
}

static void test_safetensors_many_keys(void)
{
    buf b;
    build_safetensors(&b, ST_KEYS, ST_TENSORS, 0);
    rss_probe rss = rss_start();
    double t0 = cpu_seconds();
    st_file f;
    fmt_error e;
    int rc = st_open(&f, (const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "    %s\n", e.msg);
    size_t found = 0;
    for (size_t i = 0; rc == 0 && i < ST_KEYS; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%07zu", i);
        found += st_meta(&f, key) != NULL;
    }
    for (size_t i = 0; rc == 0 && i < ST_TENSORS; i += 97) {
        char name[32];
        snprintf(name, sizeof name, "t%06zu", i);
        const st_tensor *t = st_find(&f, name);
        CHECK(t && t->offset == i && t->data[0] == (uint8_t)i);
    }
    double secs = cpu_seconds() - t0, grew = rss_grew(&rss);
    CHECK(found == ST_KEYS && f.n_meta == ST_KEYS && f.n_tensors == ST_TENSORS);
    CHECK(rc || st_meta(&f, "k9999999") == NULL);
    fprintf(stderr, "    safetensors: %zu keys + %zu tensors, %.1f MB header: %.3f s, +%.0f MiB\n", ST_KEYS,
            ST_TENSORS, (double)b.len / 1e6, secs, grew);
    CHECK(secs < 20.0);
    /* The JSON tree: ~16x the header (a node, a key and a value each). */
    CHECK_MIB(grew, 48.0 * (double)b.len / 1048576.0 + 64.0);
    if (rc == 0) st_close(&f);
    buf_free(&b);

    /* The same with the first key again at the end: found by hash. */
    build_safetensors(&b, ST_KEYS, 16, 1);
    t0 = cpu_seconds();
    CHECK(st_open(&f, (const uint8_t *)b.data, b.len, NULL, &e) == -1);
    CHECK(strstr(e.msg, "__metadata__ key 'k0000000' appears twice") != NULL);
    CHECK(cpu_seconds() - t0 < 20.0);
    buf_free(&b);
}

/* The writer's duplicate checks, over as many tensors and keys. */
static void test_safetensors_writer_many(void)
{
    st_writer w;
    st_writer_init(&w);
    fmt_error e;
    double t0 = cpu_seconds();
    static const uint8_t byte = 7;
    size_t shape[1] = {1};
    int rc = 0;
    for (size_t i = 0; i < ST_KEYS && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%07zu", i);
        rc = st_writer_add(&w, name, ST_U8, 1, shape, &byte, &e) || st_writer_meta(&w, name, "", &e);
    }
    CHECK(rc == 0 && w.n_tensors == ST_KEYS && w.n_meta == ST_KEYS);
    CHECK(st_writer_add(&w, "t0000000", ST_U8, 1, shape, &byte, &e) == -1);
    CHECK(strstr(e.msg, "added twice") != NULL);
    CHECK(st_writer_meta(&w, "t0262143", "", &e) == -1);
    CHECK(strstr(e.msg, "added twice") != NULL);
    double secs = cpu_seconds() - t0;
    fprintf(stderr, "    safetensors writer: %zu tensors + %zu keys: %.3f s\n", ST_KEYS, ST_KEYS, secs);
    CHECK(secs < 10.0);
    st_writer_free(&w);
}

/* ---- zip archives ---------------------------------------------------------- */

typedef struct {
    const char *name;
    const void *data; /* as stored in the archive */
    size_t len;
    uint64_t size;    /* plain bytes */
    uint32_t crc;
    int method;
} zent;

static void local_header(buf *b, const zent *z)
{
    size_t nl = strlen(z->name);
    put32(b, 0x04034b50u);
    put16(b, 20);
    put16(b, 0);
    put16(b, (unsigned)z->method);
    put32(b, 0); /* time, date */
    put32(b, z->crc);
    put32(b, (uint32_t)z->len);
    put32(b, (uint32_t)z->size);
    put16(b, (unsigned)nl);
    put16(b, 0);
    buf_append(b, z->name, nl, NULL);
}

static void central_header(buf *b, const zent *z, size_t local)
{
    size_t nl = strlen(z->name);
    put32(b, 0x02014b50u);
    put16(b, 20);
    put16(b, 20);
    put16(b, 0);
    put16(b, (unsigned)z->method);
    put32(b, 0);
    put32(b, z->crc);
    put32(b, (uint32_t)z->len);
    put32(b, (uint32_t)z->size);
    put16(b, (unsigned)nl);
    put32(b, 0); /* extra, comment lengths */
    put16(b, 0); /* disk */
    put16(b, 0);
    put32(b, 0);
    put32(b, (uint32_t)local);
    buf_append(b, z->name, nl, NULL);
}

static void end_record(buf *b, size_t count, size_t cd, size_t cd_len)
{
    put32(b, 0x06054b50u);
    put32(b, 0);
    put16(b, (unsigned)(count > 0xFFFF ? 0xFFFF : count));
    put16(b, (unsigned)(count > 0xFFFF ? 0xFFFF : count));
    put32(b, (uint32_t)cd_len);
    put32(b, (uint32_t)cd);
    put16(b, 0);
}

/* A classic (non-ZIP64) archive of n entries. */
static void build_zip(buf *b, const zent *z, size_t n)
{
    buf_init(b, 0);
    size_t local[8];
    for (size_t i = 0; i < n && i < 8; i++) {
        local[i] = b->len;
        local_header(b, &z[i]);
        buf_append(b, z[i].data, z[i].len, NULL);
    }
    size_t cd = b->len;
    for (size_t i = 0; i < n && i < 8; i++) central_header(b, &z[i], local[i]);
    end_record(b, n, cd, b->len - cd);
}

static zent stored(const char *name, const void *data, size_t len)
{
    zent z = {
        .name = name, .data = data, .len = len, .size = len, .crc = (uint32_t)crc32(0, data, (uInt)len), .method = 0};
    return z;
}

/* Raw deflate (level 1) of `copies` copies of a chunk whose first 4 bytes
 * are replaced by the copy's index, appended to `out` without ever holding
 * the plain bytes whole; the entry describes them. */
static zent deflated_chunks(const char *name, buf *out, uint8_t *chunk, size_t clen, size_t copies)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    buf_init(out, 0);
    uLong crc = crc32(0, NULL, 0);
    uint8_t tmp[1 << 16];
    for (size_t c = 0; c < copies; c++) {
        uint32_t mark = (uint32_t)c;
        memcpy(chunk, &mark, 4);
        crc = crc32(crc, chunk, (uInt)clen);
        zs.next_in = chunk;
        zs.avail_in = (uInt)clen;
        int flush = c + 1 == copies ? Z_FINISH : Z_NO_FLUSH, rc;
        do {
            zs.next_out = tmp;
            zs.avail_out = sizeof tmp;
            rc = deflate(&zs, flush);
            buf_append(out, tmp, sizeof tmp - zs.avail_out, NULL);
        } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }
    deflateEnd(&zs);
    zent z = {.name = name,
              .data = out->data,
              .len = out->len,
              .size = (uint64_t)clen * copies,
              .crc = (uint32_t)crc,
              .method = 8};
    return z;
}

/* 1,048,576 entries (the default limit) of empty stored files. */
#define ZIP_ENTRIES ((size_t)1 << 20)

static void test_zip_entry_limit(void)
{
    buf b;
    buf_init(&b, 0);
    CHECK(buf_reserve(&b, ZIP_ENTRIES * 92 + 64, NULL) == 0);
    char name[32];
    for (size_t i = 0; i < ZIP_ENTRIES; i++) {
        snprintf(name, sizeof name, "d/%06zx", i);
        zent z = {.name = name, .data = "", .len = 0, .size = 0, .crc = 0, .method = 0};
        local_header(&b, &z);
    }
    size_t cd = b.len;
    for (size_t i = 0; i < ZIP_ENTRIES; i++) {
        snprintf(name, sizeof name, "d/%06zx", i);
        zent z = {.name = name, .data = "", .len = 0, .size = 0, .crc = 0, .method = 0};
        central_header(&b, &z, i * 38);
    }
    size_t cd_len = b.len - cd;
    /* More than 65,535 entries need the ZIP64 end record. */
    size_t eocd64 = b.len;
    put32(&b, 0x06064b50u);
    put32(&b, 44), put32(&b, 0);
    put16(&b, 45), put16(&b, 45);
    put32(&b, 0), put32(&b, 0);
    put32(&b, (uint32_t)ZIP_ENTRIES), put32(&b, 0);
    put32(&b, (uint32_t)ZIP_ENTRIES), put32(&b, 0);
    put32(&b, (uint32_t)cd_len), put32(&b, 0);
    put32(&b, (uint32_t)cd), put32(&b, 0);
    put32(&b, 0x07064b50u);
    put32(&b, 0);
    put32(&b, (uint32_t)eocd64), put32(&b, 0);
    put32(&b, 1);
    end_record(&b, 0xFFFF, 0xFFFFFFFFu, 0xFFFFFFFFu);

    rss_probe rss = rss_start();
    double t0 = cpu_seconds();
    zip_archive z;
    fmt_error e;
    int rc = zip_open(&z, (const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "    %s\n", e.msg);
    size_t hits = 0;
    for (size_t i = 0; rc == 0 && i < ZIP_ENTRIES; i += 1021) {
        snprintf(name, sizeof name, "d/%06zx", i);
        const zip_entry *ze = zip_find(&z, name);
        hits += ze && ze->local_offset == i * 38;
    }
    double secs = cpu_seconds() - t0, grew = rss_grew(&rss);
    CHECK(hits == (ZIP_ENTRIES + 1020) / 1021);
    fprintf(stderr, "    zip: %zu entries, %.1f MB: %.3f s, +%.0f MiB\n", ZIP_ENTRIES, (double)b.len / 1e6,
            secs, grew);
    CHECK(secs < 15.0);
    CHECK_MIB(grew, 2.0 * (double)b.len / 1048576.0 + 32.0);
    if (rc == 0) zip_close(&z);

    /* One entry over the limit is refused before any is read. */
    zip_limits lim = zip_default_limits();
    lim.max_entries = ZIP_ENTRIES - 1;
    CHECK(zip_open(&z, (const uint8_t *)b.data, b.len, &lim, &e) == -1);
    CHECK(strstr(e.msg, "1048576 entries exceed the limit of 1048575") != NULL);
    /* The last name made a copy of the first: refused, after the sort. */
    memcpy(b.data + b.len - 22 - 20 - 56 - 8, "d/000000", 8);
    memcpy(b.data + cd - 38 + 30, "d/000000", 8);
    t0 = cpu_seconds();
    CHECK(zip_open(&z, (const uint8_t *)b.data, b.len, NULL, &e) == -1);
    CHECK(strstr(e.msg, "entry 'd/000000' appears twice") != NULL);
    CHECK(cpu_seconds() - t0 < 15.0);
    buf_free(&b);
}

/* ---- pickles ---------------------------------------------------------------- */

static void put_str(buf *b, const char *s, size_t n)
{
    buf_append_char(b, 'X', NULL);
    put32(b, (uint32_t)n);
    buf_append(b, s, n, NULL);
}

/* _rebuild_tensor_v2 of `n` F32 elements at `offset` of storage `key`
 * (`numel` elements), with a persistent id of its own each time, as a
 * crafted file would write it; memo 0 and 1 hold the two globals. */
static void put_tensor(buf *b, int first, const char *key, uint32_t numel, uint32_t offset, uint32_t n)
{
    if (first) LIT(b, "ctorch._utils\n_rebuild_tensor_v2\nq\x00");
    else LIT(b, "h\x00");
    LIT(b, "((");
    put_str(b, "storage", 7);
    if (first) LIT(b, "ctorch\nFloatStorage\nq\x01");
    else LIT(b, "h\x01");
    put_str(b, key, strlen(key));
    put_str(b, "cpu", 3);
    buf_append_char(b, 'J', NULL);
    put32(b, numel);
    LIT(b, "tQJ");
    put32(b, offset);
    buf_append_char(b, 'J', NULL);
    put32(b, n);
    LIT(b, "\x85K\x01\x85\x89NtR");
}

/* {"t000000": tensor i, ...}: tensor i is `n` elements at i * step of
 * storage "0" when `keys` is 1, of storage i % keys otherwise. */
static void build_state_dict(buf *b, size_t k, size_t keys, uint32_t numel, uint32_t step, uint32_t n)
{
    buf_init(b, 0);
    LIT(b, "\x80\x02}(");
    for (size_t i = 0; i < k; i++) {
        char name[32], key[32];
        snprintf(name, sizeof name, "t%06zu", i);
        snprintf(key, sizeof key, "%zu", i % keys);
        put_str(b, name, strlen(name));
        put_tensor(b, i == 0, key, numel, (uint32_t)(i * step), n);
    }
    LIT(b, "u.");
}

/* A TorchScript module DAG: levels 0..depth of one class, each holding 'w'
 * (one shared tensor) and `extra` more tensor attributes at level 0; from
 * level 1 two attributes named by `namelen` a's and b's, both the level
 * below. The root is the last level. Memo: 0, 1 the tensor's globals, 2 the
 * tensor, 3 the class, 4 and 5 the names, 6 the level below. */
static void build_dag(buf *b, int depth, size_t namelen, size_t extra)
{
    buf_init(b, 0);
    LIT(b, "\x80\x02");
    put_tensor(b, 1, "0", 1, 0, 1);
    LIT(b, "q\x02" "0");
    char *name = malloc(namelen + 1);
    memset(name, 'a', namelen);
    put_str(b, name, namelen);
    LIT(b, "q\x04" "0");
    memset(name, 'b', namelen);
    put_str(b, name, namelen);
    LIT(b, "q\x05" "0");
    free(name);
    LIT(b, "c__torch__\nM\nq\x03" "0");
    for (int i = 0; i <= depth; i++) {
        LIT(b, "h\x03)\x81}(X\x01\x00\x00\x00wh\x02");
        for (size_t k = 0; i == 0 && k < extra; k++) {
            char key[32];
            snprintf(key, sizeof key, "x%06zu", k);
            put_str(b, key, strlen(key));
            LIT(b, "h\x02");
        }
        if (i) LIT(b, "h\x04h\x06h\x05h\x06");
        LIT(b, "ubq\x06");
        if (i < depth) buf_append_char(b, '0', NULL);
    }
    buf_append_char(b, '.', NULL);
}

typedef struct {
    size_t calls, bytes;
} name_count;

static int count_names(void *ctx, const char *name, const pk_tensor *t)
{
    name_count *n = ctx;
    (void)t;
    n->calls++;
    n->bytes += strlen(name) + 1;
    return 0;
}

/* Containers may nest 256 deep (pk_default_limits): an object and its
 * state dict per level, so 127 levels below the root is the deepest DAG. */
#define DAG_DEPTH 127
#define DAG_NAME 500 /* 127 x 501 bytes: the deepest name just under 64 KiB */

static void test_pickle_dag_walk(void)
{
    buf b;
    fmt_error e;
    build_dag(&b, DAG_DEPTH + 1, 1, 0);
    CHECK(pk_parse((const uint8_t *)b.data, b.len, NULL, &e) == NULL);
    CHECK(strstr(e.msg, "nesting deeper than 256 levels") != NULL);
    buf_free(&b);

    build_dag(&b, DAG_DEPTH, DAG_NAME, 0);
    double t0 = cpu_seconds();
    pk_doc *d = pk_parse((const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(d != NULL);
    if (!d) fprintf(stderr, "    %s\n", e.msg);
    name_count n = {0, 0};
    CHECK(d && pk_walk_tensors(d, count_names, &n, &e) == 0);
    double secs = cpu_seconds() - t0;
    /* Every level once, its 'w' under the first path: k levels down, the
     * name is k (name + '.') prefixes and "w". */
    size_t want = 0;
    for (size_t k = 0; k <= DAG_DEPTH; k++) want += k * (DAG_NAME + 1) + 2;
    CHECK(n.calls == DAG_DEPTH + 1 && n.bytes == want);
    fprintf(stderr, "    pickle DAG: depth %d, %zu-byte names, %zu-byte file: %zu tensors, %.3f s\n",
            DAG_DEPTH, (size_t)DAG_NAME, b.len, n.calls, secs);
    CHECK(secs < 5.0);
    pk_free(d);

    /* The same as a checkpoint: one tensor per level. */
    static const uint8_t storage[4];
    zent z[2] = {stored("m/data.pkl", b.data, b.len), stored("m/data/0", storage, 4)};
    buf zip;
    build_zip(&zip, z, 2);
    torch_ckpt c;
    t0 = cpu_seconds();
    int rc = torch_ckpt_open(&c, (const uint8_t *)zip.data, zip.len, &e);
    CHECK(rc == 0 && c.n_tensors == DAG_DEPTH + 1);
    if (rc) fprintf(stderr, "    %s\n", e.msg);
    CHECK(rc || torch_ckpt_find(&c, "w") == &c.tensors[0]);
    CHECK(cpu_seconds() - t0 < 5.0);
    if (rc == 0) torch_ckpt_close(&c);
    buf_free(&zip);
    buf_free(&b);
}

/* The deepest level's prefix is ~63.6 KB; 300 tensors there would yield
 * 19 MB of names from a 9 KB pickle: over the total bound. */
static void test_pickle_name_bound(void)
{
    buf b;
    fmt_error e;
    build_dag(&b, DAG_DEPTH, DAG_NAME, 300);
    pk_doc *d = pk_parse((const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(d != NULL);
    name_count n = {0, 0};
    double t0 = cpu_seconds();
    CHECK(d && pk_walk_tensors(d, count_names, &n, &e) == -1);
    CHECK(strstr(e.msg, "tensor names exceed") != NULL);
    CHECK(n.bytes <= ((size_t)16 << 20) + 16 * b.len);
    CHECK(cpu_seconds() - t0 < 5.0);
    pk_free(d);
    buf_free(&b);
    /* One level more of names would pass 64 KiB. */
    build_dag(&b, DAG_DEPTH, 520, 0);
    d = pk_parse((const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(d && pk_walk_tensors(d, count_names, &n, &e) == -1);
    CHECK(strstr(e.msg, "tensor name: output exceeds the limit of 65536 bytes") != NULL);
    pk_free(d);
    buf_free(&b);
}

#define DICT_KEYS ((size_t)1 << 18)
#define DICT_BATCH ((size_t)1 << 16)

/* Int keys that all fall in one bucket of an unkeyed FNV-1a table (the
 * pickle dicts' index before it was keyed: FNV-1a of the key's 8 bytes,
 * slot = low bits, at most 2^20 slots here): low 20 bits of the hash = 0.
 * The low bits of FNV-1a's state depend only on low bits, and a byte XORs
 * into the lowest 8, so bytes 0-3 are chosen freely, bytes 4 and 5 steer the
 * state into the bucket (found in a table built backwards from it), bytes 6
 * and 7 are 0. Returns how many keys were written (n, or fewer only if the
 * search ran dry). */
#define FNV_PRIME 0x100000001B3ull
#define FNV_BITS 0xFFFFFull

static size_t fnv_colliding_keys(int64_t *keys, size_t n)
{
    uint64_t inv = FNV_PRIME; /* inverse mod 2^64 by Newton's iteration */
    for (int i = 0; i < 6; i++) inv *= 2 - FNV_PRIME * inv;
    /* State after byte 5 that two zero bytes take to a hash of low bits 0. */
    uint64_t s6 = 0;
    /* steer[s4] = 1 + b4 + 256 * b5 if bytes b4, b5 take state s4 there. */
    uint32_t *steer = calloc(FNV_BITS + 1, sizeof *steer);
    if (!steer) return 0;
    for (unsigned b5 = 0; b5 < 256; b5++) {
        uint64_t s5 = ((s6 * inv) ^ b5) & FNV_BITS;
        for (unsigned b4 = 0; b4 < 256; b4++) steer[((s5 * inv) ^ b4) & FNV_BITS] = 1 + b4 + 256 * b5;
    }
    size_t got = 0;
    const uint64_t basis = 0xCBF29CE484222325ull ^ 3; /* the old table's start for ints */
    for (uint32_t prefix = 0; prefix < (1u << 24) && got < n; prefix++) {
        uint64_t s3 = basis;
        for (int i = 0; i < 3; i++) s3 = (s3 ^ ((prefix >> (8 * i)) & 0xFF)) * FNV_PRIME;
        for (unsigned b3 = 0; b3 < 256 && got < n; b3++) {
            uint32_t t = steer[((s3 ^ b3) * FNV_PRIME) & FNV_BITS];
            if (t) keys[got++] = (int64_t)(prefix | (uint64_t)b3 << 24 | (uint64_t)(t - 1) << 32);
        }
    }
    free(steer);
    return got;
}

/* The old table's hash of an int key, to check the keys above. */
static uint64_t old_fnv(int64_t key)
{
    uint64_t h = 0xCBF29CE484222325ull ^ 3;
    for (int i = 0; i < 8; i++) h = (h ^ (((uint64_t)key >> (8 * i)) & 0xFF)) * FNV_PRIME;
    return h;
}

/* A dict of 262,144 such int keys and one of as many str keys, set in
 * batches of SETITEMS, then the first keys again (overwriting). */
static void test_pickle_dict_keys(void)
{
    int64_t *keys = malloc(DICT_KEYS * sizeof *keys);
    CHECK(keys && fnv_colliding_keys(keys, DICT_KEYS) == DICT_KEYS);
    if (!keys) return;
    size_t same = 0;
    for (size_t i = 0; i < DICT_KEYS; i++) same += (old_fnv(keys[i]) & FNV_BITS) == 0;
    CHECK(same == DICT_KEYS);
    buf b;
    buf_init(&b, 0);
    LIT(&b, "\x80\x02Nq\x00" "0(}");
    for (size_t i = 0; i < DICT_KEYS + DICT_BATCH; i++) {
        if (i % DICT_BATCH == 0) buf_append_char(&b, '(', NULL);
        LIT(&b, "\x8a\x08"); /* LONG1 of 8 bytes */
        uint64_t k = (uint64_t)keys[i % DICT_KEYS];
        put32(&b, (uint32_t)k);
        put32(&b, (uint32_t)(k >> 32));
        LIT(&b, "h\x00");
        if (i % DICT_BATCH == DICT_BATCH - 1) buf_append_char(&b, 'u', NULL);
    }
    free(keys);
    LIT(&b, "}");
    for (size_t i = 0; i < DICT_KEYS + DICT_BATCH; i++) {
        char key[32];
        if (i % DICT_BATCH == 0) buf_append_char(&b, '(', NULL);
        snprintf(key, sizeof key, "k%07zu", i % DICT_KEYS);
        put_str(&b, key, strlen(key));
        LIT(&b, "h\x00");
        if (i % DICT_BATCH == DICT_BATCH - 1) buf_append_char(&b, 'u', NULL);
    }
    LIT(&b, "t.");
    fmt_error e;
    double t0 = cpu_seconds();
    pk_doc *d = pk_parse((const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(d != NULL);
    if (!d) fprintf(stderr, "    %s\n", e.msg);
    const pk_value *ints = d ? pk_at(pk_root(d), 0) : NULL, *strs = d ? pk_at(pk_root(d), 1) : NULL;
    CHECK(ints && ints->count == DICT_KEYS && strs && strs->count == DICT_KEYS);
    size_t hits = 0;
    for (size_t i = 0; strs && i < DICT_KEYS; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%07zu", i);
        hits += pk_get(strs, key) != NULL;
    }
    CHECK(hits == DICT_KEYS);
    double secs = cpu_seconds() - t0;
    fprintf(stderr, "    pickle dicts: 2 x %zu keys, %.1f MB: %.3f s\n", DICT_KEYS, (double)b.len / 1e6, secs);
    CHECK(secs < 20.0);
    pk_free(d);
    buf_free(&b);
}

/* A call that copies its argument, repeated on one memoized 65,536-item
 * list (6 bytes a call): refused once the copies pass the pickle's size
 * plus 1 Mi. */
static void copy_bomb(const char *global, const char *item, int strings)
{
    buf b;
    buf_init(&b, 0);
    LIT(&b, "\x80\x02");
    buf_append_str(&b, global, NULL);
    LIT(&b, "q\x02" "0");
    if (strings) {
        char *s = malloc(65536);
        memset(s, 'x', 65536);
        put_str(&b, s, 65536);
        free(s);
        put_str(&b, "latin1", 6);
        LIT(&b, "\x86q\x01" "0");
    } else {
        LIT(&b, "]q\x01(");
        buf_append_str(&b, item, NULL);
        for (int i = 1; i < 65536; i++) buf_append_char(&b, '2', NULL);
        LIT(&b, "e0h\x01\x85q\x01" "0");
    }
    LIT(&b, "(");
    for (int i = 0; i < 1000; i++) LIT(&b, "h\x02h\x01R");
    LIT(&b, "l.");
    fmt_error e;
    double t0 = cpu_seconds();
    pk_doc *d = pk_parse((const uint8_t *)b.data, b.len, NULL, &e);
    CHECK(d == NULL);
    CHECK(strstr(e.msg, "values copied from earlier ones exceed") != NULL);
    CHECK(cpu_seconds() - t0 < 5.0);
    pk_free(d);
    /* Once is fine. */
    size_t once = b.len - 1000 * 5 - 2;
    memcpy(b.data + once, "h\x02h\x01R.", 6);
    d = pk_parse((const uint8_t *)b.data, once + 6, NULL, &e);
    CHECK(d != NULL);
    if (!d) fprintf(stderr, "    %s: %s\n", global, e.msg);
    pk_free(d);
    buf_free(&b);
}

/* 262,144 memo PUTs at indices spread over the top half of the allowed
 * range (4,194,304): each costs an entry, not an array up to its index (a
 * single PUT at 4,194,303 took a 32 MiB array before). */
static void test_pickle_far_memo(void)
{
    const size_t puts = (size_t)1 << 18, max = (size_t)1 << 22;
    buf b;
    buf_init(&b, 0);
    LIT(&b, "\x80\x02N");
    for (size_t i = 0; i < puts; i++) {
        buf_append_char(&b, 'r', NULL);
        put32(&b, (uint32_t)(max - 1 - i * 7));
    }
    for (size_t i = 0; i < puts; i += 3) {
        buf_append_char(&b, 'j', NULL);
        put32(&b, (uint32_t)(max - 1 - i * 7));
        buf_append_char(&b, '0', NULL);
    }
    LIT(&b, ".");
    fmt_error e;
    rss_probe rss = rss_start();
    double t0 = cpu_seconds();
    pk_doc *d = pk_parse((const uint8_t *)b.data, b.len, NULL, &e);
    double secs = cpu_seconds() - t0, grew = rss_grew(&rss);
    CHECK(d && pk_root(d)->type == PK_NONE);
    if (!d) fprintf(stderr, "    %s\n", e.msg);
    fprintf(stderr, "    pickle memo: %zu PUTs near index %zu, %.1f MB: %.3f s, +%.0f MiB\n", puts, max,
            (double)b.len / 1e6, secs, grew);
    CHECK(secs < 10.0);
    CHECK_MIB(grew, 32.0); /* ~64 bytes an entry: 16 MiB */
    pk_free(d);
    buf_free(&b);
}

static void test_pickle_copies(void)
{
    copy_bomb("cbuiltins\nset\n", "N", 0);
    copy_bomb("ccollections\nOrderedDict\n", "K\x01K\x02\x86", 0);
    copy_bomb("c_codecs\nencode\n", "", 1);
}

/* ---- torch checkpoints -------------------------------------------------------- */

#define SHARED_MIB 64
#define SHARED_TENSORS 4096
#define CHUNK ((size_t)1 << 20)

/* A regression would inflate 4,096 x 64 MiB: let it fail for want of
 * address space rather than take the machine's memory (not under ASan,
 * which reserves terabytes of address space). Returns the old limit. */
static struct rlimit limit_address_space(size_t extra)
{
    struct rlimit old;
    getrlimit(RLIMIT_AS, &old);
#ifndef COST_SANITIZED
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f && fscanf(f, "%lu", &pages) == 1) {
        struct rlimit r = old;
        r.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
        if (old.rlim_cur == RLIM_INFINITY || r.rlim_cur < old.rlim_cur) setrlimit(RLIMIT_AS, &r);
    }
    if (f) fclose(f);
#else
    (void)extra;
#endif
    return old;
}

/* 4,096 tensors, each with a persistent id of its own, all naming one
 * storage of 64 MiB deflated: at the inflate limit set here (the default,
 * 16 GiB, is too large to build; the path is the same). */
static void test_torch_shared_storage(void)
{
    const size_t bytes = (size_t)SHARED_MIB << 20, numel = bytes / 4;
    uint8_t *chunk = calloc(CHUNK, 1);
    buf pkl, deflated, zip;
    build_state_dict(&pkl, SHARED_TENSORS, 1, (uint32_t)numel, (uint32_t)(numel / SHARED_TENSORS), 1);
    zent z[2] = {stored("archive/data.pkl", pkl.data, pkl.len),
                 deflated_chunks("archive/data/0", &deflated, chunk, CHUNK, bytes / CHUNK)};
    build_zip(&zip, z, 2);
    free(chunk);
    ckpt_limits lim = ckpt_default_limits();
    lim.max_inflated = bytes;
    fmt_error e;
    torch_ckpt c;
    rss_probe rss = rss_start();
    double t0 = cpu_seconds();
    struct rlimit old = limit_address_space((size_t)1 << 30);
    int rc = torch_ckpt_open_limits(&c, (const uint8_t *)zip.data, zip.len, &lim, &e);
    setrlimit(RLIMIT_AS, &old);
    double secs = cpu_seconds() - t0, grew = rss_grew(&rss);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "    %s\n", e.msg);
    CHECK(rc || (c.n_tensors == SHARED_TENSORS && c.inflated == bytes));
    size_t same = 0, marked = 0;
    for (size_t i = 0; rc == 0 && i < c.n_tensors; i++) {
        const ckpt_tensor *t = &c.tensors[i];
        same += t->storage == c.tensors[0].storage && t->storage_bytes == bytes;
        size_t at = t->offset * 4;
        if (at % CHUNK == 0) {
            uint32_t v;
            memcpy(&v, t->storage + at, 4);
            marked += v == at / CHUNK;
        }
    }
    CHECK(rc || (same == SHARED_TENSORS && marked == SHARED_MIB));
    fprintf(stderr, "    torch: %d tensors sharing a %d MiB deflated storage (%.0f KB file): %.3f s, +%.0f MiB\n",
            SHARED_TENSORS, SHARED_MIB, (double)zip.len / 1e3, secs, grew);
    CHECK(secs < 10.0);
    CHECK_MIB(grew, 2.0 * SHARED_MIB + 32.0);
    if (rc == 0) torch_ckpt_close(&c);

    /* One byte less of budget: refused before inflating anything. */
    lim.max_inflated = bytes - 1;
    t0 = cpu_seconds();
    CHECK(torch_ckpt_open_limits(&c, (const uint8_t *)zip.data, zip.len, &lim, &e) == -1);
    CHECK(strstr(e.msg, "inflate to more than 67108863 bytes in total") != NULL);
    CHECK(cpu_seconds() - t0 < 1.0);
    buf_free(&zip);
    buf_free(&pkl);

    /* Tensors that declare one element less than the entry holds: a deflated
     * storage never inflates past what its tensors declare. */
    build_state_dict(&pkl, 4, 1, (uint32_t)numel - 1, 1, 1);
    z[0] = stored("archive/data.pkl", pkl.data, pkl.len);
    build_zip(&zip, z, 2);
    CHECK(torch_ckpt_open(&c, (const uint8_t *)zip.data, zip.len, &e) == -1);
    CHECK(strstr(e.msg, "storage archive/data/0 inflates to 67108864 bytes, more than the 67108860 its "
                        "tensors declare") != NULL);
    buf_free(&zip);
    buf_free(&pkl);
    buf_free(&deflated);
}

/* Every tensor of a shared storage sees its own bytes: 64 tensors over two
 * deflated storages of 1,024 floats (value = element index), tensor i
 * reading 16 elements at 16 * (i / 2) of storage i % 2. */
static void test_torch_shared_bytes(void)
{
    float plain[2][1024];
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 1024; i++) plain[s][i] = (float)(i + 10000 * s);
    buf pkl, d0, d1, zip;
    build_state_dict(&pkl, 64, 2, 1024, 8, 16);
    uint8_t chunk[2][4096];
    memcpy(chunk[0], plain[0], 4096);
    memcpy(chunk[1], plain[1], 4096);
    zent z[3] = {stored("a/data.pkl", pkl.data, pkl.len), deflated_chunks("a/data/0", &d0, chunk[0], 4096, 1),
                 deflated_chunks("a/data/1", &d1, chunk[1], 4096, 1)};
    build_zip(&zip, z, 3);
    fmt_error e;
    torch_ckpt c;
    int rc = torch_ckpt_open(&c, (const uint8_t *)zip.data, zip.len, &e);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "    %s\n", e.msg);
    CHECK(rc || (c.n_tensors == 64 && c.inflated == 2 * 4096));
    size_t right = 0;
    for (size_t i = 0; rc == 0 && i < c.n_tensors; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%06zu", i);
        const ckpt_tensor *t = torch_ckpt_find(&c, name);
        CHECK(t == &c.tensors[i] && t->numel == 16 && t->storage == c.tensors[i % 2].storage);
        for (size_t k = 0; t && k < 16; k++) {
            float v;
            memcpy(&v, t->storage + 4 * ckpt_element_offset(t, k), 4);
            /* The first 4 bytes of each storage are its copy's index: 0. */
            float want = (i * 8 + k == 0) ? 0.0f : plain[i % 2][i * 8 + k];
            right += v == want;
        }
    }
    CHECK(right == 64 * 16);
    CHECK(rc || torch_ckpt_find(&c, "t000064") == NULL);
    if (rc == 0) torch_ckpt_close(&c);
    ckpt_limits lim = ckpt_default_limits();
    lim.max_tensors = 63;
    CHECK(torch_ckpt_open_limits(&c, (const uint8_t *)zip.data, zip.len, &lim, &e) == -1);
    CHECK(strstr(e.msg, "more than 63 tensors") != NULL);
    buf_free(&zip);
    buf_free(&d0);
    buf_free(&d1);
    buf_free(&pkl);
}

/* The converter over a source with 262,144 tensors whose names look like
 * CLIP's blocks (numbered up to 99,999, each block missing its attention):
 * every lookup by name is a hash probe, so it fails with a reason in well
 * under a second instead of scanning every name per lookup. */
static void test_convert_many_tensors(void)
{
    enum { TENSORS = 1 << 18 };
    buf b;
    buf_init(&b, 0);
    LIT(&b, "\0\0\0\0\0\0\0\0{");
    for (size_t i = 0; i < TENSORS; i++)
        buf_printf(&b, NULL, "%s\"%stransformer.resblocks.%zu.ln_%zu.weight\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[%zu,%zu]}", i ? "," : "", i % 2 ? "visual." : "", i / 4 % 99999, i / 2 % 2 + 1,
                   4 * i, 4 * i + 4);
    LIT(&b, "}");
    while (b.len % 8) buf_append_char(&b, ' ', NULL);
    uint64_t n = b.len - 8;
    for (int i = 0; i < 8; i++) b.data[i] = (char)(uint8_t)(n >> (8 * i));
    for (size_t i = 0; i < TENSORS; i++) LIT(&b, "\0\0\0\0");
    char dir[] = "/tmp/unprompt-cost-convert-XXXXXX", src[128], out[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(src, sizeof src, "%s/many.safetensors", dir);
    snprintf(out, sizeof out, "%s/out.safetensors", dir);
    FILE *f = fopen(src, "wb");
    CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
    if (f) fclose(f);
    buf_free(&b);
    unprompt_convert_params p = unprompt_convert_default_params();
    p.kind = "clip";
    char err[256] = "";
    double t0 = cpu_seconds();
    CHECK(unprompt_convert(src, out, &p, err, sizeof err) != UNPROMPT_OK);
    double secs = cpu_seconds() - t0;
    fprintf(stderr, "    convert: %d tensors refused in %.3f s: %s\n", TENSORS, secs, err);
    CHECK(secs < 20.0);
    CHECK(err[0] != '\0');
    unlink(src), unlink(out), rmdir(dir);
}

int main(void)
{
    RUN(test_convert_many_tensors);
    RUN(test_safetensors_many_keys);
    RUN(test_safetensors_writer_many);
    RUN(test_zip_entry_limit);
    RUN(test_pickle_dag_walk);
    RUN(test_pickle_name_bound);
    RUN(test_pickle_dict_keys);
    RUN(test_pickle_far_memo);
    RUN(test_pickle_copies);
    RUN(test_torch_shared_storage);
    RUN(test_torch_shared_bytes);
    return test_summary("cost_checkpoint");
}
