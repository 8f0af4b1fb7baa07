/* Helpers for the converter tests (test_convert_*.c): the expected-output
 * lists that tests/fixtures/make_convert_fixtures.py writes, and hand-edited
 * sources (a fixture's tensors, some dropped / renamed / reshaped, written
 * back as safetensors) for the refusal tests. */
#ifndef UNPROMPT_TESTS_CONVERT_FIXTURE_H
#define UNPROMPT_TESTS_CONVERT_FIXTURE_H

#include <unistd.h>

#include "engine/runtime/mapped_file.h"
#include "engine/api/unprompt.h"
#include "format/json.h"
#include "format/safetensors.h"
#include "base/sha256.h"
#include "format/torch_ckpt.h"
#include "tests/test.h"

#define FX "tests/fixtures/convert/"

enum { FX_F32, FX_F16, FX_BF16 };

/* A converted file, mapped. */
typedef struct {
    mapped_file m;
    st_file st;
    int ok;
} fx_out;

static inline int fx_open_out(fx_out *o, const char *path)
{
    fmt_error e;
    memset(o, 0, sizeof *o);
    if (mapped_file_open(&o->m, path, &e)) {
        fprintf(stderr, "    %s\n", e.msg);
        return -1;
    }
    if (st_open(&o->st, o->m.data, o->m.len, NULL, &e)) {
        fprintf(stderr, "    %s\n", e.msg);
        mapped_file_close(&o->m);
        return -1;
    }
    o->ok = 1;
    return 0;
}

static inline void fx_close_out(fx_out *o)
{
    if (!o->ok) return;
    st_close(&o->st);
    mapped_file_close(&o->m);
    o->ok = 0;
}

/* Convert, printing the reason on failure. */
static inline int fx_convert(const char *src, const char *out, const unprompt_convert_params *p, char *err,
                             size_t err_size)
{
    int rc = unprompt_convert(src, out, p, err, err_size);
    if (rc && getenv("TEST_VERBOSE")) fprintf(stderr, "    convert %s: %s\n", src, err);
    return rc;
}

/* Every line of EXPECTED ("name shape sha_f32 sha_f16 sha_bf16", the last
 * line "tokenizer.X bytes sha") matches the file: the tensor exists with that
 * shape, the dtype FORMAT.md gives it and those bytes; and the file holds
 * nothing else. Returns the number of mismatches (printed). */
static inline int fx_check_expected(const st_file *st, const char *expected_path, int which)
{
    size_t len = 0;
    char *text = (char *)test_read_file(expected_path, &len);
    if (!text) {
        fprintf(stderr, "    cannot read %s\n", expected_path);
        return 1;
    }
    int bad = 0;
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[256], shape[64], h[3][65];
        lines++;
        int fields = sscanf(line, "%255s %63s %64s %64s %64s", name, shape, h[0], h[1], h[2]);
        const st_tensor *t = st_find(st, name);
        if (!t) {
            fprintf(stderr, "    %s: missing from the output\n", name);
            bad++;
            continue;
        }
        char hex[65];
        sha256_hex(t->data, t->nbytes, hex);
        if (fields == 3) { /* a byte tensor */
            if (t->dtype != ST_U8 || t->nbytes != strtoul(shape, NULL, 10) || strcmp(hex, h[0])) {
                fprintf(stderr, "    %s: U8 bytes differ (%zu bytes)\n", name, t->nbytes);
                bad++;
            }
            continue;
        }
        char got[64] = "";
        size_t used = 0;
        for (int d = 0; d < t->rank; d++) used += (size_t)snprintf(got + used, sizeof got - used, d ? "x%zu" : "%zu", t->shape[d]);
        if (!t->rank) snprintf(got, sizeof got, "scalar");
        st_dtype want = t->rank < 2 || which == FX_F32 ? ST_F32 : which == FX_F16 ? ST_F16 : ST_BF16;
        if (fields != 5 || strcmp(got, shape) || t->dtype != want || strcmp(hex, h[which])) {
            fprintf(stderr, "    %s: shape %s (want %s), dtype %s (want %s), bytes %s\n", name, got, shape,
                    st_dtype_name(t->dtype), st_dtype_name(want), strcmp(hex, h[which]) ? "differ" : "equal");
            bad++;
        }
    }
    if (st->n_tensors != lines) {
        fprintf(stderr, "    the output has %zu tensors, %zu expected\n", st->n_tensors, lines);
        bad++;
    }
    free(text);
    return bad;
}

/* unprompt.config holds the expected keys, in order, with equal numbers. */
static inline int fx_check_config(const st_file *st, const char *expected_path)
{
    size_t len = 0;
    char *want_text = (char *)test_read_file(expected_path, &len);
    const char *got_text = st_meta(st, "unprompt.config");
    fmt_error e;
    json_value *want = want_text ? json_parse(want_text, len, NULL, &e) : NULL;
    json_value *got = got_text ? json_parse(got_text, strlen(got_text), NULL, &e) : NULL;
    int bad = !want || !got || want->count != got->count;
    for (size_t i = 0; !bad && i < want->count; i++)
        if (strcmp(want->keys[i], got->keys[i]) || got->items[i].type != JSON_NUMBER ||
            got->items[i].number != want->items[i].number)
            bad = 1;
    if (bad) fprintf(stderr, "    config: got %s\n    want %s", got_text ? got_text : "(none)", want_text ? want_text : "");
    json_free(want), json_free(got);
    free(want_text);
    return bad;
}

/* Every tensor of a and b: same names, dtypes, shapes and bytes. */
static inline int fx_same_tensors(const st_file *a, const st_file *b)
{
    if (a->n_tensors != b->n_tensors) return 0;
    for (size_t i = 0; i < a->n_tensors; i++) {
        const st_tensor *x = &a->tensors[i], *y = st_find(b, x->name);
        if (!y || x->dtype != y->dtype || x->rank != y->rank || x->nbytes != y->nbytes ||
            memcmp(x->shape, y->shape, sizeof x->shape) || memcmp(x->data, y->data, x->nbytes))
            return 0;
    }
    return 1;
}

/* ---- hand-edited sources ------------------------------------------------------ */

typedef struct {
    char name[200];
    st_dtype dtype;
    int rank;
    size_t shape[ST_MAX_RANK];
    const void *data;
    void *owned; /* replacement bytes */
} fx_tensor;

typedef struct {
    fx_tensor *t;
    size_t n;
    mapped_file m;
    torch_ckpt ck;
    st_file st;
    int is_ckpt, is_st;
} fx_source;

static inline st_dtype fx_st_dtype(pk_dtype d)
{
    switch (d) {
    case PK_DT_F16: return ST_F16;
    case PK_DT_BF16: return ST_BF16;
    case PK_DT_F64: return ST_F64;
    case PK_DT_I64: return ST_I64;
    case PK_DT_I32: return ST_I32;
    case PK_DT_U8: return ST_U8;
    default: return ST_F32;
    }
}

/* The contiguous tensors of a checkpoint or safetensors file. */
static inline int fx_load(fx_source *s, const char *path)
{
    fmt_error e;
    memset(s, 0, sizeof *s);
    if (mapped_file_open(&s->m, path, &e)) return -1;
    size_t n = 0;
    if (s->m.len > 4 && !memcmp(s->m.data, "PK", 2)) {
        if (torch_ckpt_open(&s->ck, s->m.data, s->m.len, &e)) return -1;
        s->is_ckpt = 1, n = s->ck.n_tensors;
    } else {
        if (st_open(&s->st, s->m.data, s->m.len, NULL, &e)) return -1;
        s->is_st = 1, n = s->st.n_tensors;
    }
    s->t = calloc(n + 16, sizeof *s->t);
    for (size_t i = 0; i < n; i++) {
        fx_tensor *o = &s->t[s->n++];
        if (s->is_ckpt) {
            const ckpt_tensor *c = &s->ck.tensors[i];
            snprintf(o->name, sizeof o->name, "%s", c->name);
            o->dtype = fx_st_dtype(c->dtype), o->rank = c->rank;
            memcpy(o->shape, c->shape, sizeof(size_t) * (size_t)c->rank);
            o->data = c->storage + c->offset * pk_dtype_size(c->dtype); /* the fixtures' tensors are contiguous */
        } else {
            const st_tensor *c = &s->st.tensors[i];
            snprintf(o->name, sizeof o->name, "%s", c->name);
            o->dtype = c->dtype, o->rank = c->rank;
            memcpy(o->shape, c->shape, sizeof c->shape);
            o->data = c->data;
        }
    }
    return 0;
}

static inline fx_tensor *fx_get(fx_source *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name)) return &s->t[i];
    return NULL;
}

static inline int fx_drop(fx_source *s, const char *name)
{
    fx_tensor *t = fx_get(s, name);
    if (!t) return -1;
    free(t->owned);
    *t = s->t[--s->n];
    return 0;
}

static inline size_t fx_nbytes(const fx_tensor *t)
{
    size_t n = st_dtype_size(t->dtype);
    for (int d = 0; d < t->rank; d++) n *= t->shape[d];
    return n;
}

/* Give `t` a new shape and fresh bytes (a repeating pattern). */
static inline void fx_reshape(fx_tensor *t, int rank, const size_t *shape)
{
    free(t->owned);
    t->rank = rank;
    memcpy(t->shape, shape, sizeof(size_t) * (size_t)rank);
    size_t n = fx_nbytes(t);
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + 1) & 0x3f; /* small finite values */
    t->owned = p, t->data = p;
}

static inline fx_tensor *fx_add(fx_source *s, const char *name, st_dtype dtype, int rank, const size_t *shape)
{
    fx_tensor *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    fx_reshape(t, rank, shape);
    return t;
}

static inline int fx_write(const fx_source *s, const char *path)
{
    st_writer w;
    fmt_error e;
    st_writer_init(&w);
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++)
        rc = st_writer_add(&w, s->t[i].name, s->t[i].dtype, s->t[i].rank, s->t[i].shape, s->t[i].data, &e);
    if (!rc) rc = st_write_file(&w, path, &e);
    if (rc) fprintf(stderr, "    fx_write: %s\n", e.msg);
    st_writer_free(&w);
    return rc;
}

static inline void fx_free(fx_source *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->t[i].owned);
    free(s->t);
    if (s->is_ckpt) torch_ckpt_close(&s->ck);
    if (s->is_st) st_close(&s->st);
    if (s->m.data) mapped_file_close(&s->m);
    memset(s, 0, sizeof *s);
}

#endif
