/* unprompt_convert: read a checkpoint, map it, write canonical safetensors. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/convert/convert.h"
#include "engine/runtime/mapped_file.h"
#include "engine/api/unprompt.h"
#include "format/png.h"
#include "base/sha256.h"

#define CONVERTER_VERSION "1"

/* ---- element conversion --------------------------------------------------- */

static float half_bits_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 31, m = h & 0x3FF, bits;
    if (e == 0 && m == 0) bits = sign;
    else if (e == 0) { /* subnormal */
        int shift = 0;
        while (!(m & 0x400)) m <<= 1, shift++;
        bits = sign | (uint32_t)(113 - shift) << 23 | (m & 0x3FF) << 13;
    } else if (e == 31) bits = sign | 0x7F800000u | m << 13;
    else bits = sign | (e + 112) << 23 | m << 13;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float read_element(const ckpt_tensor *t, size_t index)
{
    size_t off = ckpt_element_offset(t, index);
    const uint8_t *p = t->storage + off * pk_dtype_size(t->dtype);
    float f = 0;
    switch (t->dtype) {
    case PK_DT_F32: memcpy(&f, p, 4); break;
    case PK_DT_F64: {
        double d;
        memcpy(&d, p, 8);
        f = (float)d;
        break;
    }
    case PK_DT_F16: f = half_bits_to_float((uint16_t)(p[0] | p[1] << 8)); break;
    case PK_DT_BF16: {
        uint32_t bits = (uint32_t)(p[0] | p[1] << 8) << 16;
        memcpy(&f, &bits, 4);
        break;
    }
    default: break; /* refused before writing */
    }
    return f;
}

static uint16_t float_to_bf16_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);                  /* nearest even */
}

static uint16_t float_to_half_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7FFFFFFF;
    if (ax > 0x7F800000) return (uint16_t)(sign | 0x7E00);
    if (ax >= 0x477FF000) return (uint16_t)(sign | 0x7C00); /* rounds to ≥ 65520: inf */
    if (ax < 0x38800000) {                                    /* subnormal half */
        float a;
        memcpy(&a, &ax, 4);
        float scaled = a * 16777216.0f; /* 2^24: units of the smallest subnormal */
        uint32_t q = (uint32_t)scaled;
        float rem = scaled - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t e = (ax >> 23) - 112, m = ax & 0x7FFFFF;
    uint32_t h = e << 10 | m >> 13, rest = m & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static int is_contiguous(const ckpt_tensor *t)
{
    size_t expect = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != expect) return 0;
        expect *= t->shape[d];
    }
    return 1;
}

/* Elements [first, first + count) of `t` (row-major over its shape) as f32. */
static void read_run(const ckpt_tensor *t, size_t first, size_t count, float *out)
{
    if (!is_contiguous(t)) {
        for (size_t i = 0; i < count; i++) out[i] = read_element(t, first + i);
        return;
    }
    const uint8_t *p = t->storage + (t->offset + first) * pk_dtype_size(t->dtype);
    switch (t->dtype) {
    case PK_DT_F32: memcpy(out, p, count * 4); break;
    case PK_DT_F16:
        for (size_t i = 0; i < count; i++) out[i] = half_bits_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case PK_DT_BF16:
        for (size_t i = 0; i < count; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&out[i], &bits, 4);
        }
        break;
    default:
        for (size_t i = 0; i < count; i++) out[i] = read_element(t, first + i);
        break;
    }
}

/* `count` elements of one source tensor from its element `first`, written
 * as the entry's dtype at dst. */
static int same_dtype(pk_dtype in, st_dtype out)
{
    return (in == PK_DT_F32 && out == ST_F32) || (in == PK_DT_F16 && out == ST_F16) ||
           (in == PK_DT_BF16 && out == ST_BF16);
}

static void fill_part(const ckpt_tensor *t, st_dtype out, size_t first, size_t count, uint8_t *dst)
{
    if (same_dtype(t->dtype, out) && is_contiguous(t)) { /* the common case: a copy */
        size_t es = st_dtype_size(out);
        memcpy(dst, t->storage + (t->offset + first) * es, count * es);
        return;
    }
    float tmp[1024];
    while (count) {
        size_t n = count < 1024 ? count : 1024;
        read_run(t, first, n, tmp);
        if (out == ST_F32) memcpy(dst, tmp, n * 4);
        else
            for (size_t i = 0; i < n; i++) {
                uint16_t h = out == ST_BF16 ? float_to_bf16_bits(tmp[i]) : float_to_half_bits(tmp[i]);
                dst[2 * i] = (uint8_t)h, dst[2 * i + 1] = (uint8_t)(h >> 8);
            }
        dst += n * st_dtype_size(out), first += n, count -= n;
    }
}

/* Fill callback: bytes [offset, offset+n) of the output tensor, which is
 * its parts one after the other. */
static int fill_entry(void *user, size_t offset, uint8_t *dst, size_t n, fmt_error *err)
{
    const convert_entry *e = user;
    size_t es = st_dtype_size(e->dtype), first = offset / es, count = n / es, base = 0;
    (void)err;
    for (size_t k = 0; k < e->n_parts && count; k++) {
        const ckpt_tensor *t = e->parts[k];
        if (first < base + t->numel) {
            size_t from = first - base, m = t->numel - from < count ? t->numel - from : count;
            fill_part(t, e->dtype, from, m, dst);
            dst += m * es, first += m, count -= m;
        }
        base += t->numel;
    }
    return 0;
}

/* ---- the job ---------------------------------------------------------------- */

static int is_float(pk_dtype d) { return d == PK_DT_F32 || d == PK_DT_F16 || d == PK_DT_BF16 || d == PK_DT_F64; }

int convert_add_concat(convert_job *j, const char *name, const ckpt_tensor *const *parts, size_t n,
                       fmt_error *err)
{
    if (n == 0 || n > CONVERT_MAX_PARTS) return fmt_fail(err, "convert: %s: %zu parts", name, n);
    size_t rows = 0;
    for (size_t k = 0; k < n; k++) {
        const ckpt_tensor *t = parts[k];
        if (!is_float(t->dtype))
            return fmt_fail(err, "convert: %s is %s, not floating point", t->name, pk_dtype_name(t->dtype));
        if (t->rank != parts[0]->rank || (n > 1 && t->rank == 0))
            return fmt_fail(err, "convert: %s: parts of different ranks", name);
        for (int d = 1; d < t->rank; d++)
            if (t->shape[d] != parts[0]->shape[d])
                return fmt_fail(err, "convert: %s: %s does not match %s in dimension %d", name, t->name,
                                parts[0]->name, d);
        if (t->rank) rows += t->shape[0];
    }
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 256;
        convert_entry *grown = realloc(j->entries, cap * sizeof *grown);
        if (!grown) return fmt_fail(err, "convert: out of memory");
        j->entries = grown, j->cap = cap;
    }
    convert_entry *e = &j->entries[j->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return fmt_fail(err, "convert: out of memory");
    j->n++;
    for (size_t k = 0; k < n; k++) e->parts[k] = parts[k];
    e->n_parts = n;
    e->rank = parts[0]->rank;
    for (int d = 0; d < e->rank; d++) e->shape[d] = parts[0]->shape[d];
    if (e->rank) e->shape[0] = rows;
    e->dtype = ST_F32;
    if (e->rank >= 2 && j->weights_dtype == DTYPE_BF16) e->dtype = ST_BF16;
    if (e->rank >= 2 && j->weights_dtype == DTYPE_F16) e->dtype = ST_F16;
    return 0;
}

int convert_add(convert_job *j, const char *name, const ckpt_tensor *src, fmt_error *err)
{
    return convert_add_concat(j, name, &src, 1, err);
}

const ckpt_tensor *convert_transposed(convert_job *j, const ckpt_tensor *src, fmt_error *err)
{
    if (src->rank != 2) {
        fmt_fail(err, "convert: %s has rank %d, cannot be transposed", src->name, src->rank);
        return NULL;
    }
    ckpt_tensor **grown = realloc(j->views, (j->n_views + 1) * sizeof *grown);
    ckpt_tensor *v = malloc(sizeof *v);
    if (grown) j->views = grown;
    if (!grown || !v) {
        free(v);
        fmt_fail(err, "convert: out of memory");
        return NULL;
    }
    *v = *src;
    v->shape[0] = src->shape[1], v->shape[1] = src->shape[0];
    v->strides[0] = src->strides[1], v->strides[1] = src->strides[0];
    j->views[j->n_views++] = v;
    return v;
}

int convert_add_bytes(convert_job *j, const char *name, const char *bytes, size_t len, fmt_error *err)
{
    char **grown = realloc(j->blobs, (j->n_blobs + 1) * sizeof *grown);
    if (!grown) return fmt_fail(err, "convert: out of memory");
    j->blobs = grown;
    char *copy = malloc(len ? len : 1);
    if (!copy) return fmt_fail(err, "convert: out of memory");
    memcpy(copy, bytes, len);
    j->blobs[j->n_blobs++] = copy;
    size_t shape[1] = {len};
    return st_writer_add(&j->writer, name, ST_U8, 1, shape, copy, err);
}

int convert_meta(convert_job *j, const char *key, const char *value, fmt_error *err)
{
    return st_writer_meta(&j->writer, key, value, err);
}

/* The first tensor of each name, found by hash (a checkpoint may hold
 * 262,144 tensors; the mappers look up hundreds of names). */
const ckpt_tensor *convert_find(const convert_source *s, const char *name)
{
    hash_probe p = hash_index_probe(&s->names_, hash_index_key(&s->names_, name, strlen(name)));
    size_t i, first = SIZE_MAX;
    while (hash_probe_next(&p, &i))
        if (i < first && !strcmp(s->tensors[i].name, name)) first = i;
    return first == SIZE_MAX ? NULL : &s->tensors[first];
}

static int index_names(convert_source *s, fmt_error *err)
{
    if (hash_index_init(&s->names_, s->n_tensors, err)) return -1;
    for (size_t i = 0; i < s->n_tensors; i++) {
        const char *n = s->tensors[i].name;
        if (hash_index_add(&s->names_, hash_index_key(&s->names_, n, strlen(n)), i, err)) return -1;
    }
    return 0;
}

int convert_count_blocks(const convert_source *s, const char *prefix)
{
    size_t plen = strlen(prefix);
    long most = -1;
    for (size_t i = 0; i < s->n_tensors; i++) {
        const char *n = s->tensors[i].name;
        if (strncmp(n, prefix, plen)) continue;
        n += plen;
        long v = 0;
        int digits = 0;
        while (*n >= '0' && *n <= '9' && digits < 6) v = v * 10 + (*n++ - '0'), digits++;
        if (!digits || *n != '.' || v >= 100000 || (digits > 1 && n[-digits] == '0')) return -1;
        if (v > most) most = v;
    }
    return (int)(most + 1);
}

int convert_config_int(const json_value *obj, const char *key, int *value, fmt_error *err)
{
    const json_value *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_NUMBER || v->number < 1 || v->number > 1e9 || v->number != (double)(int)v->number)
        return fmt_fail(err, "convert: config: \"%s\" is not a positive integer", key);
    *value = (int)v->number;
    return 1;
}

int convert_scalar_int(const ckpt_tensor *t, long long *value)
{
    size_t es = t ? pk_dtype_size(t->dtype) : 0;
    if (!t || t->numel != 1 || !es || t->offset >= t->storage_bytes / es) return -1;
    const uint8_t *p = t->storage + t->offset * es;
    if (t->dtype == PK_DT_I64) {
        int64_t v;
        memcpy(&v, p, 8);
        *value = v;
    } else if (t->dtype == PK_DT_I32) {
        int32_t v;
        memcpy(&v, p, 4);
        *value = v;
    } else
        return -1;
    return 0;
}

static int shape_text(char *out, size_t size, int rank, const size_t *shape)
{
    size_t used = 0;
    int n = snprintf(out, size, "[");
    for (int d = 0; d < rank && n >= 0 && (used += (size_t)n) < size; d++)
        n = snprintf(out + used, size - used, d ? ", %zu" : "%zu", shape[d]);
    if (n >= 0 && (used += (size_t)n) < size) snprintf(out + used, size - used, "]");
    return 0;
}

int convert_expect(const char *model, const char *name, int rank, const size_t *shape, const char *dims,
                   const size_t *letters, fmt_error *err)
{
    size_t want[CKPT_MAX_RANK];
    int want_rank = (int)strlen(dims), same = want_rank == rank;
    if (want_rank > CKPT_MAX_RANK) return fmt_fail(err, "convert: %s: bad shape pattern for %s", model, name);
    for (int d = 0; d < want_rank; d++) {
        char c = dims[d];
        want[d] = c >= '1' && c <= '9' ? (size_t)(c - '0') : c >= 'A' && c <= 'Z' ? letters[c - 'A'] : 0;
        if (same && shape[d] != want[d]) same = 0;
    }
    if (same) return 0;
    char got_text[96], want_text[96];
    shape_text(got_text, sizeof got_text, rank, shape);
    shape_text(want_text, sizeof want_text, want_rank, want);
    return fmt_fail(err, "convert: %s: %s is %s, expected %s", model, name, got_text, want_text);
}

void convert_format_number(double v, char *out, size_t size)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.9g", v);
    char *e = strchr(tmp, 'e');
    if (e && (e[1] == '-' || e[1] == '+')) { /* 1e-05 -> 1e-5, as JSON writers print it */
        char *digits = e + 2;
        while (digits[0] == '0' && digits[1]) memmove(digits, digits + 1, strlen(digits));
    }
    snprintf(out, size, "%s", tmp);
}

int convert_same_values(const ckpt_tensor *a, const ckpt_tensor *b)
{
    if (a->rank != b->rank || a->numel != b->numel) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    int same_view = a->storage == b->storage && a->offset == b->offset && a->dtype == b->dtype;
    for (int d = 0; d < a->rank && same_view; d++)
        if (a->shape[d] > 1 && a->strides[d] != b->strides[d]) same_view = 0;
    if (same_view) return 1; /* tied: one tensor under two names */
    for (size_t i = 0; i < a->numel; i++) {
        float x = read_element(a, i), y = read_element(b, i);
        if (memcmp(&x, &y, sizeof x)) return 0;
    }
    return 1;
}

#define CONVERT_MAX_VOCAB ((size_t)64 << 20) /* a tokenizer text, inflated: 64 MiB */

int convert_vocab_text(const convert_source *s, const char *missing, char **text, size_t *len, fmt_error *err)
{
    *text = NULL, *len = 0;
    if (!s->vocab) return fmt_fail(err, "convert: %s", missing);
    if (s->vocab_len >= 2 && s->vocab[0] == 0x1f && s->vocab[1] == 0x8b) {
        if (inflate_bounded(s->vocab, s->vocab_len, CONVERT_MAX_VOCAB, 1, text, len, err))
            return fmt_prefix(err, "convert: --vocab: ");
    } else {
        if (s->vocab_len > CONVERT_MAX_VOCAB) return fmt_fail(err, "convert: --vocab: larger than 64 MiB");
        if (!(*text = malloc(s->vocab_len + 1))) return fmt_fail(err, "convert: out of memory");
        memcpy(*text, s->vocab, s->vocab_len);
        (*text)[s->vocab_len] = 0;
        *len = s->vocab_len;
    }
    if (strlen(*text) != *len) {
        free(*text), *text = NULL;
        return fmt_fail(err, "convert: --vocab: not a text file (NUL bytes)");
    }
    return 0;
}

static void convert_job_free(convert_job *j)
{
    for (size_t i = 0; i < j->n; i++) free(j->entries[i].name);
    free(j->entries);
    for (size_t i = 0; i < j->n_blobs; i++) free(j->blobs[i]);
    free(j->blobs);
    for (size_t i = 0; i < j->n_views; i++) free(j->views[i]);
    free(j->views);
    st_writer_free(&j->writer);
}

static int convert_write(convert_job *j, const char *out_path, fmt_error *err)
{
    for (size_t i = 0; i < j->n; i++) {
        const convert_entry *e = &j->entries[i];
        if (st_writer_add_fill(&j->writer, e->name, e->dtype, e->rank, e->shape, fill_entry, (void *)e, err))
            return -1;
    }
    return st_write_file(&j->writer, out_path, err);
}

/* ---- sources ---------------------------------------------------------------- */

typedef struct {
    mapped_file file;
    torch_ckpt ckpt;
    int is_ckpt;
    st_file st;
    int is_st;
    ckpt_tensor *st_tensors;
} loaded_source;

static int st_to_pk_dtype(st_dtype d, pk_dtype *out)
{
    switch (d) {
    case ST_F32: *out = PK_DT_F32; return 0;
    case ST_F16: *out = PK_DT_F16; return 0;
    case ST_BF16: *out = PK_DT_BF16; return 0;
    case ST_F64: *out = PK_DT_F64; return 0;
    case ST_I64: *out = PK_DT_I64; return 0;
    case ST_I32: *out = PK_DT_I32; return 0;
    case ST_U8: *out = PK_DT_U8; return 0;
    default: return -1;
    }
}

/* A safetensors source (Hugging Face model.safetensors): contiguous tensors. */
static int load_safetensors(loaded_source *l, convert_source *s, fmt_error *err)
{
    if (st_open(&l->st, l->file.data, l->file.len, NULL, err)) return -1;
    l->is_st = 1;
    l->st_tensors = calloc(l->st.n_tensors ? l->st.n_tensors : 1, sizeof *l->st_tensors);
    if (!l->st_tensors) return fmt_fail(err, "convert: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < l->st.n_tensors; i++) {
        const st_tensor *t = &l->st.tensors[i];
        ckpt_tensor *c = &l->st_tensors[n];
        if (st_to_pk_dtype(t->dtype, &c->dtype) || t->rank > CKPT_MAX_RANK) continue; /* not a weight */
        c->name = t->name, c->rank = t->rank, c->numel = t->numel;
        size_t stride = 1;
        for (int d = t->rank - 1; d >= 0; d--) c->shape[d] = t->shape[d], c->strides[d] = stride, stride *= t->shape[d];
        c->storage = t->data, c->storage_bytes = t->nbytes;
        n++;
    }
    s->tensors = l->st_tensors, s->n_tensors = n;
    return 0;
}

static int load_source(loaded_source *l, convert_source *s, const char *path, fmt_error *err)
{
    memset(l, 0, sizeof *l);
    if (mapped_file_open(&l->file, path, err)) return -1;
    sha256_hex(l->file.data, l->file.len, s->sha256);
    const char *slash = strrchr(path, '/');
    s->file_name = slash ? slash + 1 : path;
    const uint8_t *d = l->file.data;
    size_t len = l->file.len;
    if (len >= 4 && !memcmp(d, "PK\x03\x04", 4)) {
        if (torch_ckpt_open(&l->ckpt, d, len, err)) return -1;
        l->is_ckpt = 1;
        s->tensors = l->ckpt.tensors, s->n_tensors = l->ckpt.n_tensors;
        s->tags = l->ckpt.tags, s->n_tags = l->ckpt.n_tags;
        return index_names(s, err);
    }
    if (len >= 9 && d[8] == '{') return load_safetensors(l, s, err) || index_names(s, err) ? -1 : 0;
    if (torch_ckpt_is_legacy(d, len)) return torch_ckpt_open(&l->ckpt, d, len, err); /* its message */
    return fmt_fail(err, "%s: neither a PyTorch checkpoint (zip) nor a safetensors file", path);
}

static void unload_source(loaded_source *l)
{
    if (l->is_ckpt) torch_ckpt_close(&l->ckpt);
    if (l->is_st) st_close(&l->st);
    free(l->st_tensors);
    mapped_file_close(&l->file);
}

/* --tags FILE: one tag per line (a trailing newline is not an extra tag). */
static int read_lines(const char *path, char **text, const char ***lines, size_t *n, fmt_error *err)
{
    mapped_file m;
    if (mapped_file_open(&m, path, err)) return -1;
    *text = malloc(m.len + 1);
    *lines = malloc((m.len + 1) * sizeof **lines);
    if (!*text || !*lines) {
        mapped_file_close(&m);
        return fmt_fail(err, "convert: out of memory");
    }
    memcpy(*text, m.data, m.len);
    (*text)[m.len] = 0;
    mapped_file_close(&m);
    *n = 0;
    for (char *p = *text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = 0;
        (*lines)[(*n)++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

/* --config FILE / vocab.json: a JSON object (config.json is a few KiB,
 * CLIP's vocab.json 1.6 MiB). */
static int read_json_object(const char *path, json_value **out, fmt_error *err)
{
    mapped_file m;
    if (mapped_file_open(&m, path, err)) return -1;
    if (m.len > ((size_t)1 << 24)) {
        mapped_file_close(&m);
        return fmt_fail(err, "%s: larger than 16 MiB", path);
    }
    *out = json_parse((const char *)m.data, m.len, NULL, err);
    mapped_file_close(&m);
    if (!*out) return -1;
    if ((*out)->type != JSON_OBJECT) return fmt_fail(err, "%s: not a JSON object", path);
    return 0;
}

/* ---- public entry ------------------------------------------------------------ */

unprompt_convert_params unprompt_convert_default_params(void)
{
    unprompt_convert_params p = {.kind = NULL,
                                 .dtype = "f32",
                                 .tags_path = NULL,
                                 .vocab_path = NULL,
                                 .config_path = NULL,
                                 .vocab_json_path = NULL};
    return p;
}

static int convert_run(convert_job *j, convert_source *s, const char *kind, fmt_error *err)
{
    if (!kind) {
        if (convert_is_deepdanbooru(s)) kind = "deepdanbooru";
        else if (convert_is_clip(s)) kind = "clip";
        else if (convert_is_blip(s)) kind = "blip";
        else return fmt_fail(err, "convert: cannot tell which model this is (use --kind clip|blip|deepdanbooru)");
    }
    if (convert_meta(j, "unprompt.kind", kind, err) || convert_meta(j, "unprompt.source", s->file_name, err) ||
        convert_meta(j, "unprompt.source_sha256", s->sha256, err) ||
        convert_meta(j, "unprompt.dtype", dtype_name(j->weights_dtype), err) ||
        convert_meta(j, "unprompt.converter", CONVERTER_VERSION, err))
        return -1;
    if (!strcmp(kind, "deepdanbooru")) return convert_deepdanbooru(j, s, err);
    if (!strcmp(kind, "clip")) return convert_clip(j, s, err);
    if (!strcmp(kind, "blip")) return convert_blip(j, s, err);
    return fmt_fail(err, "convert: unknown model kind '%s'", kind);
}

/* The output must not be one of the inputs, by any name: the same file
 * (st_dev, st_ino) as an input, through a symlink or a hard link or the
 * same path, is refused before anything is read or written. */
static int output_is_input(const char *out_path, const char *source_path, const unprompt_convert_params *p,
                           fmt_error *err)
{
    const char *inputs[] = {source_path, p->vocab_path, p->config_path, p->vocab_json_path, p->tags_path};
    struct stat out_st, out_lst, in;
    int have = stat(out_path, &out_st) == 0, have_l = lstat(out_path, &out_lst) == 0;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        if (!inputs[i]) continue;
        int same = !strcmp(inputs[i], out_path);
        if (!same && (have || have_l) && stat(inputs[i], &in) == 0)
            same = (have && out_st.st_dev == in.st_dev && out_st.st_ino == in.st_ino) ||
                   (have_l && out_lst.st_dev == in.st_dev && out_lst.st_ino == in.st_ino);
        if (same)
            return fmt_fail(err, "convert: the output '%s' is the input '%s' (the same file, by name or link); "
                                 "nothing written: give -o a new name",
                            out_path, inputs[i]);
    }
    return 0;
}

int unprompt_convert(const char *source_path, const char *out_path, const unprompt_convert_params *p, char *err,
                     size_t err_size)
{
    unprompt_convert_params def = unprompt_convert_default_params();
    if (!p) p = &def;
    fmt_error e = {{0}};
    convert_job j;
    memset(&j, 0, sizeof j);
    st_writer_init(&j.writer);
    convert_source s;
    memset(&s, 0, sizeof s);
    loaded_source l;
    char *tag_text = NULL;
    const char **tag_lines = NULL;
    mapped_file vocab = {NULL, 0};
    json_value *config = NULL, *vocab_json = NULL;
    int rc = UNPROMPT_ERR_ARGS;
    if (output_is_input(out_path, source_path, p, &e)) {
    } else if (dtype_parse(p->dtype ? p->dtype : "f32", &j.weights_dtype)) {
        snprintf(e.msg, sizeof e.msg, "convert: --dtype takes f32, f16 or bf16");
    } else if (p->vocab_path && mapped_file_open(&vocab, p->vocab_path, &e)) {
        fmt_prefix(&e, "convert: --vocab: ");
    } else if (p->config_path && read_json_object(p->config_path, &config, &e)) {
        fmt_prefix(&e, "convert: --config: ");
    } else if (p->vocab_json_path && read_json_object(p->vocab_json_path, &vocab_json, &e)) {
        fmt_prefix(&e, "convert: vocab.json: ");
    } else if (load_source(&l, &s, source_path, &e)) {
        rc = UNPROMPT_ERR_FORMAT;
        unload_source(&l);
    } else {
        rc = UNPROMPT_ERR_FORMAT;
        s.vocab = vocab.data, s.vocab_len = vocab.len, s.config = config, s.vocab_json = vocab_json;
        if (p->tags_path && !read_lines(p->tags_path, &tag_text, &tag_lines, &s.n_tags, &e))
            s.tags = tag_lines;
        if ((!p->tags_path || tag_lines) && !convert_run(&j, &s, p->kind, &e)) {
            rc = convert_write(&j, out_path, &e) ? UNPROMPT_ERR_IO : UNPROMPT_OK;
        }
        unload_source(&l);
    }
    hash_index_free(&s.names_);
    free(tag_text);
    free(tag_lines);
    if (vocab.data) mapped_file_close(&vocab);
    json_free(config);
    json_free(vocab_json);
    convert_job_free(&j);
    if (rc != UNPROMPT_OK && err && err_size) snprintf(err, err_size, "%s", e.msg);
    return rc;
}
