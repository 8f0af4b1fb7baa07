/* safetensors reader (over memory) and streaming writer. */
#include "format/safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic.h"
#include "base/buf.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[ST_DTYPE_COUNT] = {
    [ST_F64] = {"F64", 8}, [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2}, [ST_I8] = {"I8", 1}, [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},
};

const char *st_dtype_name(st_dtype t)
{
    return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].name : NULL;
}

size_t st_dtype_size(st_dtype t)
{
    return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].size : 0;
}

int st_dtype_from_name(const char *s, size_t len, st_dtype *out)
{
    for (int i = 0; i < ST_DTYPE_COUNT; i++) {
        if (strlen(dtypes[i].name) == len && memcmp(dtypes[i].name, s, len) == 0) {
            *out = (st_dtype)i;
            return 0;
        }
    }
    return -1;
}

st_limits st_default_limits(void)
{
    st_limits l;
    l.max_header = (size_t)100 << 20;
    l.max_tensors = (size_t)1 << 18;
    return l;
}

/* ---- reader ---- */

#define NAME_SHOWN 80 /* characters of a tensor name quoted in a message */

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A JSON number that is a plain non-negative integer ("0", "17"; not "-1",
 * "1.0", "1e3", "017") fitting in size_t. */
static int json_size(const json_value *v, size_t *out)
{
    if (!v || v->type != JSON_NUMBER || !v->str || v->len == 0) return -1;
    if (v->len > 1 && v->str[0] == '0') return -1;
    size_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->str[i];
        if (c < '0' || c > '9') return -1;
        if (size_mul(n, 10, &n) || size_add(n, (size_t)(c - '0'), &n)) return -1;
    }
    *out = n;
    return 0;
}

static int tensor_fail(fmt_error *err, const char *name, const char *what)
{
    return fmt_fail(err, "safetensors: tensor '%.*s': %s", NAME_SHOWN, name, what);
}

static int read_shape(st_tensor *t, const json_value *shape, fmt_error *err)
{
    if (!shape || shape->type != JSON_ARRAY) return tensor_fail(err, t->name, "shape is not an array");
    if (shape->count > ST_MAX_RANK) {
        char msg[64];
        snprintf(msg, sizeof msg, "rank %zu exceeds %d", shape->count, ST_MAX_RANK);
        return tensor_fail(err, t->name, msg);
    }
    t->rank = (int)shape->count;
    t->numel = 1;
    for (size_t i = 0; i < shape->count; i++) {
        if (json_size(&shape->items[i], &t->shape[i]))
            return tensor_fail(err, t->name, "shape holds something other than a non-negative integer");
        if (size_mul(t->numel, t->shape[i], &t->numel))
            return tensor_fail(err, t->name, "element count overflows");
    }
    if (size_mul(t->numel, st_dtype_size(t->dtype), &t->nbytes))
        return tensor_fail(err, t->name, "byte size overflows");
    return 0;
}

static int read_tensor(st_file *f, st_tensor *t, const char *name, const json_value *v,
                       fmt_error *err)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    if (name[0] == '\0') return fmt_fail(err, "safetensors: empty tensor name");
    if (v->type != JSON_OBJECT) return tensor_fail(err, name, "entry is not an object");
    const json_value *dtype = NULL, *shape = NULL, *offs = NULL;
    for (size_t i = 0; i < v->count; i++) {
        const json_value **slot = !strcmp(v->keys[i], "dtype")          ? &dtype
                                  : !strcmp(v->keys[i], "shape")        ? &shape
                                  : !strcmp(v->keys[i], "data_offsets") ? &offs
                                                                        : NULL;
        if (!slot) continue; /* unknown keys are ignored, as the crate does */
        if (*slot) return tensor_fail(err, name, "duplicate key in its entry");
        *slot = &v->items[i];
    }
    if (!dtype || dtype->type != JSON_STRING) return tensor_fail(err, name, "no dtype string");
    if (st_dtype_from_name(dtype->str, dtype->len, &t->dtype))
        return fmt_fail(err, "safetensors: tensor '%.*s': unknown dtype '%.*s'", NAME_SHOWN, name,
                        (int)(dtype->len > 32 ? 32 : dtype->len), dtype->str);
    if (read_shape(t, shape, err)) return -1;
    size_t begin, end;
    if (!offs || offs->type != JSON_ARRAY || offs->count != 2 || json_size(&offs->items[0], &begin) ||
        json_size(&offs->items[1], &end))
        return tensor_fail(err, name, "data_offsets is not [begin, end] of non-negative integers");
    if (begin > end || end > f->data_len)
        return fmt_fail(err,
                        "safetensors: tensor '%.*s': data_offsets [%zu, %zu] outside the data "
                        "section of %zu bytes",
                        NAME_SHOWN, name, begin, end, f->data_len);
    if (end - begin != t->nbytes)
        return fmt_fail(err,
                        "safetensors: tensor '%.*s': data_offsets [%zu, %zu] hold %zu bytes but "
                        "%s x %zu elements need %zu",
                        NAME_SHOWN, name, begin, end, end - begin, st_dtype_name(t->dtype), t->numel,
                        t->nbytes);
    t->offset = begin;
    t->data = f->data_section + begin;
    return 0;
}

/* Index of a metadata key in f->meta, or SIZE_MAX. */
static size_t meta_find(const st_file *f, const char *key, uint64_t hash)
{
    hash_probe p = hash_index_probe(&f->meta_index, hash);
    size_t i;
    while (hash_probe_next(&p, &i))
        if (!strcmp(f->meta[i].key, key)) return i;
    return SIZE_MAX;
}

static int read_meta(st_file *f, const json_value *m, fmt_error *err)
{
    if (m->type != JSON_OBJECT) return fmt_fail(err, "safetensors: __metadata__ is not an object");
    if (m->count == 0) return 0;
    f->meta = calloc(m->count, sizeof *f->meta);
    if (!f->meta || hash_index_init(&f->meta_index, m->count, err)) return fmt_fail(err, "out of memory");
    for (size_t i = 0; i < m->count; i++) {
        if (m->items[i].type != JSON_STRING)
            return fmt_fail(err, "safetensors: __metadata__ '%.*s' is not a string", NAME_SHOWN,
                            m->keys[i]);
        uint64_t hash = hash_index_key(&f->meta_index, m->keys[i], strlen(m->keys[i]));
        if (meta_find(f, m->keys[i], hash) != SIZE_MAX)
            return fmt_fail(err, "safetensors: __metadata__ key '%.*s' appears twice", NAME_SHOWN,
                            m->keys[i]);
        if (hash_index_add(&f->meta_index, hash, i, err)) return -1;
        f->meta[i].key = m->keys[i];
        f->meta[i].value = m->items[i].str;
        f->meta[i].value_len = m->items[i].len;
        f->n_meta = i + 1;
    }
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

static void warn(st_file *f, const char *fmt, ...) FMT_PRINTF(2, 3);
static void warn(st_file *f, const char *fmt, ...)
{
    if (f->n_warnings++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->warning, sizeof f->warning, fmt, ap);
        va_end(ap);
    }
}

/* Offsets and names once every tensor is read: overlaps are errors; gaps and
 * misaligned tensors are warnings. */
static int check_layout(st_file *f, fmt_error *err)
{
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, by_offset);
    size_t covered = 0, max_end = 0;
    const st_tensor *last = NULL;
    size_t misaligned = 0;
    const char *first_misaligned = NULL;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        if (t->nbytes == 0) continue;
        if (t->offset < max_end)
            return fmt_fail(err, "safetensors: tensors '%.*s' and '%.*s' overlap", NAME_SHOWN / 2,
                            last->name, NAME_SHOWN / 2, t->name);
        max_end = t->offset + t->nbytes;
        covered += t->nbytes;
        last = t;
        if ((size_t)(t->data - f->base) % st_dtype_size(t->dtype) != 0 && misaligned++ == 0)
            first_misaligned = t->name;
    }
    if (covered != f->data_len)
        warn(f, "safetensors: %zu of %zu data bytes belong to no tensor", f->data_len - covered,
             f->data_len);
    if (misaligned)
        warn(f, "safetensors: %zu tensor(s) not aligned to their element size (first '%.*s')",
             misaligned, NAME_SHOWN, first_misaligned);

    f->by_name = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *f->by_name);
    if (!f->by_name) return fmt_fail(err, "out of memory");
    for (size_t i = 0; i < f->n_tensors; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n_tensors, sizeof *f->by_name, by_name);
    for (size_t i = 1; i < f->n_tensors; i++) {
        const char *a = f->by_name[i - 1]->name, *b = f->by_name[i]->name;
        if (!strcmp(a, b))
            return fmt_fail(err, "safetensors: tensor '%.*s' appears twice", NAME_SHOWN, a);
    }
    return 0;
}

static int open_header(st_file *f, const st_limits *lim, fmt_error *err)
{
    if (f->len < 8) return fmt_fail(err, "safetensors: file of %zu bytes is too short", f->len);
    uint64_t n = load_le64(f->base);
    if (n > lim->max_header)
        return fmt_fail(err, "safetensors: header of %llu bytes exceeds the limit of %zu",
                        (unsigned long long)n, lim->max_header);
    if (n > f->len - 8)
        return fmt_fail(err, "safetensors: header of %llu bytes is larger than the file (%zu bytes)",
                        (unsigned long long)n, f->len);
    f->header_len = (size_t)n;
    f->data_section = f->base + 8 + f->header_len;
    f->data_len = f->len - 8 - f->header_len;
    const char *text = (const char *)f->base + 8;
    if (f->header_len == 0 || text[0] != '{')
        return fmt_fail(err, "safetensors: header does not start with '{'");
    json_limits jl = json_default_limits();
    jl.max_depth = 4; /* top level, tensor, shape */
    /* Every value costs a node: bound them by the tensor limit, not by the
     * header's size (a 100 MiB "[0,0,...]" would be 50 M nodes). */
    if (size_mul(lim->max_tensors, 16, &jl.max_values) || size_add(jl.max_values, 65536, &jl.max_values))
        jl.max_values = SIZE_MAX;
    f->json = json_parse(text, f->header_len, &jl, err);
    if (!f->json) return fmt_prefix(err, "safetensors: header: ");
    return 0;
}

int st_open(st_file *f, const uint8_t *data, size_t len, const st_limits *lim, fmt_error *err)
{
    st_limits defaults = st_default_limits();
    if (!lim) lim = &defaults;
    memset(f, 0, sizeof *f);
    f->base = data;
    f->len = len;
    if (open_header(f, lim, err)) goto fail;
    const json_value *root = f->json;
    size_t n = root->count;
    int have_meta = 0;
    for (size_t i = 0; i < root->count; i++) {
        if (strcmp(root->keys[i], "__metadata__") != 0) continue;
        if (have_meta++) {
            fmt_fail(err, "safetensors: __metadata__ appears twice");
            goto fail;
        }
        if (read_meta(f, &root->items[i], err)) goto fail;
        n--;
    }
    if (n > lim->max_tensors) {
        fmt_fail(err, "safetensors: %zu tensors exceed the limit of %zu", n, lim->max_tensors);
        goto fail;
    }
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors) {
        fmt_fail(err, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < root->count; i++) {
        if (!strcmp(root->keys[i], "__metadata__")) continue;
        if (read_tensor(f, &f->tensors[f->n_tensors], root->keys[i], &root->items[i], err)) goto fail;
        f->n_tensors++;
    }
    if (check_layout(f, err)) goto fail;
    return 0;
fail:
    st_close(f);
    return -1;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const st_tensor *t = f->by_name[mid];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const char *st_meta(const st_file *f, const char *key)
{
    if (!f->n_meta) return NULL;
    size_t i = meta_find(f, key, hash_index_key(&f->meta_index, key, strlen(key)));
    return i == SIZE_MAX ? NULL : f->meta[i].value;
}

void st_close(st_file *f)
{
    free(f->tensors);
    free(f->meta);
    hash_index_free(&f->meta_index);
    free(f->by_name);
    json_free(f->json);
    memset(f, 0, sizeof *f);
}

/* ---- writer ---- */

void st_writer_init(st_writer *w)
{
    memset(w, 0, sizeof *w);
}

/* The duplicate checks: tensor names and metadata keys by hash. */
typedef const char *(*name_at_fn)(const st_writer *w, size_t i);
static const char *tensor_name(const st_writer *w, size_t i) { return w->tensors[i].name; }
static const char *meta_key(const st_writer *w, size_t i) { return w->meta_keys[i]; }

/* 1 if `s` is in the index `h` (created on first use) of the names `at`
 * gives, 0 if not (*hash gets its hash, to add it), -1 out of memory. */
static int writer_has(const st_writer *w, hash_index *h, name_at_fn at, const char *s, uint64_t *hash,
                      fmt_error *err)
{
    if (!h->hashes && hash_index_init(h, 0, err)) return -1;
    *hash = hash_index_key(h, s, strlen(s));
    hash_probe p = hash_index_probe(h, *hash);
    size_t i;
    while (hash_probe_next(&p, &i))
        if (!strcmp(at(w, i), s)) return 1;
    return 0;
}

void st_writer_free(st_writer *w)
{
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->tensors);
    free(w->meta_keys);
    free(w->meta_values);
    hash_index_free(&w->names_);
    hash_index_free(&w->keys_);
    memset(w, 0, sizeof *w);
}

static int add(st_writer *w, const char *name, st_dtype dtype, int rank, const size_t *shape,
               const void *data, st_fill_fn fill, void *user, fmt_error *err)
{
    if (!name || !name[0] || !strcmp(name, "__metadata__"))
        return fmt_fail(err, "safetensors: invalid tensor name '%s'", name ? name : "(null)");
    if (!st_dtype_name(dtype)) return tensor_fail(err, name, "invalid dtype");
    if (rank < 0 || rank > ST_MAX_RANK) return tensor_fail(err, name, "rank outside 0..8");
    uint64_t hash;
    int dup = writer_has(w, &w->names_, tensor_name, name, &hash, err);
    if (dup) return dup < 0 ? -1 : tensor_fail(err, name, "added twice");
    st_writer_tensor t;
    memset(&t, 0, sizeof t);
    size_t numel = 1;
    for (int i = 0; i < rank; i++) {
        t.shape[i] = shape[i];
        if (size_mul(numel, shape[i], &numel)) return tensor_fail(err, name, "element count overflows");
    }
    if (size_mul(numel, st_dtype_size(dtype), &t.nbytes))
        return tensor_fail(err, name, "byte size overflows");
    if (t.nbytes && !data && !fill) return tensor_fail(err, name, "no data");
    t.dtype = dtype;
    t.rank = rank;
    t.data = data;
    t.fill = fill;
    t.user = user;
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? w->cap_tensors * 2 : 16;
        st_writer_tensor *p = realloc(w->tensors, cap * sizeof *p);
        if (!p) return fmt_fail(err, "out of memory");
        w->tensors = p;
        w->cap_tensors = cap;
    }
    t.name = str_ndup(name, strlen(name));
    if (!t.name) return fmt_fail(err, "out of memory");
    if (hash_index_add(&w->names_, hash, w->n_tensors, err)) {
        free(t.name);
        return -1;
    }
    w->tensors[w->n_tensors++] = t;
    return 0;
}

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int rank, const size_t *shape,
                  const void *data, fmt_error *err)
{
    return add(w, name, dtype, rank, shape, data, NULL, NULL, err);
}

int st_writer_add_fill(st_writer *w, const char *name, st_dtype dtype, int rank,
                       const size_t *shape, st_fill_fn fill, void *user, fmt_error *err)
{
    if (!fill) return tensor_fail(err, name ? name : "", "no fill function");
    return add(w, name, dtype, rank, shape, NULL, fill, user, err);
}

int st_writer_meta(st_writer *w, const char *key, const char *value, fmt_error *err)
{
    uint64_t hash;
    int dup = writer_has(w, &w->keys_, meta_key, key, &hash, err);
    if (dup)
        return dup < 0 ? -1 : fmt_fail(err, "safetensors: metadata key '%.*s' added twice", NAME_SHOWN, key);
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? w->cap_meta * 2 : 8;
        char **k = realloc(w->meta_keys, cap * sizeof *k);
        if (!k) return fmt_fail(err, "out of memory");
        w->meta_keys = k;
        char **v = realloc(w->meta_values, cap * sizeof *v);
        if (!v) return fmt_fail(err, "out of memory");
        w->meta_values = v;
        w->cap_meta = cap;
    }
    char *k = str_ndup(key, strlen(key)), *v = str_ndup(value, strlen(value));
    if (!k || !v) {
        free(k);
        free(v);
        return fmt_fail(err, "out of memory");
    }
    if (hash_index_add(&w->keys_, hash, w->n_meta, err)) {
        free(k);
        free(v);
        return -1;
    }
    w->meta_keys[w->n_meta] = k;
    w->meta_values[w->n_meta] = v;
    w->n_meta++;
    return 0;
}

static int write_order(const void *a, const void *b)
{
    const st_writer_tensor *x = *(const st_writer_tensor *const *)a;
    const st_writer_tensor *y = *(const st_writer_tensor *const *)b;
    size_t sx = st_dtype_size(x->dtype), sy = st_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The tensors in file order (caller frees). */
static const st_writer_tensor **file_order(const st_writer *w, fmt_error *err)
{
    const st_writer_tensor **idx = malloc((w->n_tensors ? w->n_tensors : 1) * sizeof *idx);
    if (!idx) {
        fmt_fail(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < w->n_tensors; i++) idx[i] = &w->tensors[i];
    qsort(idx, w->n_tensors, sizeof *idx, write_order);
    return idx;
}

static int header_json(const st_writer *w, const st_writer_tensor *const *idx, buf *out, fmt_error *err)
{
    if (buf_append_char(out, '{', err)) return -1;
    int first = 1;
    if (w->n_meta) {
        if (buf_append_str(out, "\"__metadata__\":{", err)) return -1;
        for (size_t i = 0; i < w->n_meta; i++) {
            if ((i && buf_append_char(out, ',', err)) ||
                json_write_string(out, w->meta_keys[i], strlen(w->meta_keys[i]), err) ||
                buf_append_char(out, ':', err) ||
                json_write_string(out, w->meta_values[i], strlen(w->meta_values[i]), err))
                return -1;
        }
        if (buf_append_char(out, '}', err)) return -1;
        first = 0;
    }
    size_t offset = 0;
    for (size_t k = 0; k < w->n_tensors; k++) {
        const st_writer_tensor *t = idx[k];
        if ((!first && buf_append_char(out, ',', err)) ||
            json_write_string(out, t->name, strlen(t->name), err) ||
            buf_printf(out, err, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t->dtype)))
            return -1;
        first = 0;
        for (int i = 0; i < t->rank; i++)
            if (buf_printf(out, err, i ? ",%zu" : "%zu", t->shape[i])) return -1;
        size_t end;
        if (size_add(offset, t->nbytes, &end)) return fmt_fail(err, "safetensors: file size overflows");
        if (buf_printf(out, err, "],\"data_offsets\":[%zu,%zu]}", offset, end)) return -1;
        offset = end;
    }
    return buf_append_char(out, '}', err);
}

static int write_header(const st_writer *w, const st_writer_tensor *const *idx, buf *out, fmt_error *err)
{
    size_t start = out->len;
    if (buf_append(out, "\0\0\0\0\0\0\0\0", 8, err) || header_json(w, idx, out, err)) return -1;
    while ((out->len - start) % 8 != 0)
        if (buf_append_char(out, ' ', err)) return -1;
    uint64_t n = (uint64_t)(out->len - start - 8);
    for (int i = 0; i < 8; i++) out->data[start + (size_t)i] = (char)(uint8_t)(n >> (8 * i));
    return 0;
}

int st_writer_header(const st_writer *w, buf *out, fmt_error *err)
{
    const st_writer_tensor **idx = file_order(w, err);
    if (!idx) return -1;
    int rc = write_header(w, idx, out, err);
    free(idx);
    return rc;
}

#define FILL_CHUNK ((size_t)1 << 20)

static int write_bytes(FILE *out, const void *p, size_t n, fmt_error *err)
{
    if (n && fwrite(p, 1, n, out) != n)
        return fmt_fail(err, "safetensors: write failed: %s", strerror(errno));
    return 0;
}

static int write_tensor(const st_writer_tensor *t, FILE *out, uint8_t **chunk, fmt_error *err)
{
    if (!t->fill) return write_bytes(out, t->data, t->nbytes, err);
    if (!*chunk && t->nbytes) {
        *chunk = malloc(FILL_CHUNK);
        if (!*chunk) return fmt_fail(err, "out of memory");
    }
    for (size_t off = 0; off < t->nbytes; off += FILL_CHUNK) {
        size_t n = t->nbytes - off < FILL_CHUNK ? t->nbytes - off : FILL_CHUNK;
        if (t->fill(t->user, off, *chunk, n, err)) {
            char prefix[NAME_SHOWN + 32];
            snprintf(prefix, sizeof prefix, "safetensors: tensor '%.*s': ", NAME_SHOWN, t->name);
            return fmt_prefix(err, prefix);
        }
        if (write_bytes(out, *chunk, n, err)) return -1;
    }
    return 0;
}

int st_writer_write(const st_writer *w, FILE *out, fmt_error *err)
{
    const st_writer_tensor **idx = file_order(w, err);
    if (!idx) return -1;
    buf h;
    buf_init(&h, 0);
    uint8_t *chunk = NULL;
    int rc = write_header(w, idx, &h, err);
    if (rc == 0) rc = write_bytes(out, h.data, h.len, err);
    for (size_t k = 0; rc == 0 && k < w->n_tensors; k++)
        rc = write_tensor(idx[k], out, &chunk, err);
    free(chunk);
    buf_free(&h);
    free(idx);
    return rc;
}

static int write_cb(FILE *out, void *user, fmt_error *err)
{
    return st_writer_write(user, out, err);
}

int st_write_file(const st_writer *w, const char *path, fmt_error *err)
{
    return atomic_write_file(path, write_cb, (void *)w, err);
}
