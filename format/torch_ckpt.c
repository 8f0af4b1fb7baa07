/* torch.save zip checkpoints → named tensors (see torch_ckpt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/torch_ckpt.h"

#define CKPT_MAX_PICKLE ((size_t)1 << 30) /* data.pkl, inflated */

ckpt_limits ckpt_default_limits(void)
{
    ckpt_limits l;
    l.max_tensors = (size_t)1 << 18;
    /* 16 GiB where size_t can hold it (a 32-bit build: all it can address). */
    l.max_inflated = SIZE_MAX > 0xFFFFFFFFu ? (size_t)((uint64_t)1 << 34) : SIZE_MAX;
    return l;
}

int torch_ckpt_is_legacy(const uint8_t *data, size_t len)
{
    /* Legacy files are a bare pickle stream (protocol 2) starting with the
     * magic number 0x1950a86a20f9469cfc6c as a LONG1. */
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    return len >= sizeof magic && !memcmp(data, magic, sizeof magic);
}

static int ckpt_fail(fmt_error *err) { return fmt_prefix(err, "checkpoint: "); }

/* An entry's bytes; a deflated one is inflated to at most `most` bytes and
 * counts against the inflate budget, checked before inflating (an entry
 * over `most` is refused by zip_entry_data, with its own message). */
static int ckpt_entry(torch_ckpt *c, const zip_entry *e, size_t most, const uint8_t **data,
                      uint8_t **owned, size_t *len, fmt_error *err)
{
    size_t room = c->lim_.max_inflated - c->inflated;
    if (e->method != ZIP_STORED && e->size > room && e->size <= most)
        return fmt_fail(err, "checkpoint: deflated entries inflate to more than %zu bytes in total",
                        c->lim_.max_inflated);
    if (zip_entry_data(&c->zip_, e, data, owned, len, most, err)) return ckpt_fail(err);
    if (*owned) c->inflated += *len;
    return 0;
}

static const ckpt_storage_ *storage_cached(const torch_ckpt *c, const char *key, uint64_t hash)
{
    hash_probe p = hash_index_probe(&c->storage_index_, hash);
    size_t i;
    while (hash_probe_next(&p, &i))
        if (!strcmp(c->storages_[i].key, key)) return &c->storages_[i];
    return NULL;
}

/* Read a storage the first time a tensor names it: a deflated one is
 * inflated to at most the bytes its declared element count needs. */
static int storage_read(torch_ckpt *c, const pk_storage *s, size_t declared, uint64_t hash,
                        fmt_error *err)
{
    char name[512];
    int n = snprintf(name, sizeof name, "%s/data/%s", c->prefix, s->key);
    if (n < 0 || (size_t)n >= sizeof name) return fmt_fail(err, "checkpoint: storage key too long");
    const zip_entry *e = zip_find(&c->zip_, name);
    if (!e) return fmt_fail(err, "checkpoint: storage %s is missing from the archive", name);
    if (e->method != ZIP_STORED && e->size > declared)
        return fmt_fail(err, "checkpoint: storage %s inflates to %llu bytes, more than the %zu its "
                             "tensors declare", name, (unsigned long long)e->size, declared);
    if (c->n_storages_ == c->cap_storages_) {
        size_t cap = c->cap_storages_ ? 2 * c->cap_storages_ : 16;
        ckpt_storage_ *grown = realloc(c->storages_, cap * sizeof *grown);
        if (!grown) return fmt_fail(err, "checkpoint: out of memory");
        c->storages_ = grown, c->cap_storages_ = cap;
    }
    ckpt_storage_ *st = &c->storages_[c->n_storages_];
    memset(st, 0, sizeof *st);
    st->key = s->key; /* in the pickle's arena, freed with it */
    if (ckpt_entry(c, e, SIZE_MAX - 1, &st->data, &st->owned, &st->len, err)) return -1;
    c->n_storages_++;
    return hash_index_add(&c->storage_index_, hash, c->n_storages_ - 1, err);
}

/* The bytes of a tensor's storage, which must hold what it declares. */
static int ckpt_storage(torch_ckpt *c, const pk_storage *s, const uint8_t **data, size_t *len,
                        fmt_error *err)
{
    size_t declared;
    if (size_mul((size_t)s->numel, pk_dtype_size(s->dtype), &declared))
        return fmt_fail(err, "checkpoint: storage %s is too large", s->key);
    uint64_t hash = hash_index_key(&c->storage_index_, s->key, strlen(s->key));
    const ckpt_storage_ *st = storage_cached(c, s->key, hash);
    if (!st) {
        if (storage_read(c, s, declared, hash, err)) return -1;
        st = &c->storages_[c->n_storages_ - 1];
    }
    if (st->len < declared)
        return fmt_fail(err, "checkpoint: storage %s/data/%s holds %zu bytes, its tensors need %zu",
                        c->prefix, s->key, st->len, declared);
    *data = st->data;
    *len = st->len;
    return 0;
}

typedef struct {
    torch_ckpt *c;
    fmt_error *err;
} walk_ctx;

static int add_tensor(void *ctx, const char *name, const pk_tensor *t)
{
    walk_ctx *w = ctx;
    torch_ckpt *c = w->c;
    if (t->rank > CKPT_MAX_RANK) return fmt_fail(w->err, "checkpoint: %s has rank %d", name, t->rank);
    if (c->n_tensors >= c->lim_.max_tensors)
        return fmt_fail(w->err, "checkpoint: more than %zu tensors", c->lim_.max_tensors);
    if (c->n_tensors == c->cap_tensors_) {
        size_t cap = c->cap_tensors_ ? 2 * c->cap_tensors_ : 64;
        ckpt_tensor *grown = realloc(c->tensors, cap * sizeof *grown);
        if (!grown) return fmt_fail(w->err, "checkpoint: out of memory");
        c->tensors = grown, c->cap_tensors_ = cap;
    }
    ckpt_tensor *o = &c->tensors[c->n_tensors];
    memset(o, 0, sizeof *o);
    size_t nlen = strlen(name);
    if (!(o->name = str_ndup(name, nlen))) return fmt_fail(w->err, "checkpoint: out of memory");
    c->n_tensors++;
    o->dtype = t->storage.dtype, o->rank = t->rank, o->offset = (size_t)t->offset, o->numel = (size_t)t->numel;
    for (int i = 0; i < t->rank; i++) o->shape[i] = (size_t)t->shape[i], o->strides[i] = (size_t)t->strides[i];
    if (ckpt_storage(c, &t->storage, &o->storage, &o->storage_bytes, w->err)) return -1;
    return hash_index_add(&c->name_index_, hash_index_key(&c->name_index_, name, nlen), c->n_tensors - 1,
                          w->err);
}

/* The folder every entry sits in: the part of ".../data.pkl" before it. */
static int ckpt_find_pickle(torch_ckpt *c, const zip_entry **pkl, fmt_error *err)
{
    size_t matches = 0;
    *pkl = zip_find_suffix(&c->zip_, "/data.pkl", &matches);
    if (!*pkl) return fmt_fail(err, "checkpoint: no data.pkl in the archive (not a PyTorch checkpoint)");
    if (matches > 1) return fmt_fail(err, "checkpoint: %zu data.pkl entries in the archive", matches);
    size_t plen = (*pkl)->name_len - strlen("/data.pkl");
    if (plen == 0 || plen >= sizeof c->prefix) return fmt_fail(err, "checkpoint: bad archive folder name");
    memcpy(c->prefix, (*pkl)->name, plen);
    c->prefix[plen] = 0;
    return 0;
}

static int ckpt_check_byteorder(torch_ckpt *c, fmt_error *err)
{
    char name[300];
    snprintf(name, sizeof name, "%s/byteorder", c->prefix);
    const zip_entry *e = zip_find(&c->zip_, name);
    if (!e) return 0; /* older writers: always little-endian */
    const uint8_t *d;
    uint8_t *owned = NULL;
    size_t len;
    if (ckpt_entry(c, e, 64, &d, &owned, &len, err)) return -1;
    int little = len == 6 && !memcmp(d, "little", 6);
    free(owned);
    return little ? 0 : fmt_fail(err, "checkpoint: big-endian storages are not supported");
}

static int ckpt_read_tags(torch_ckpt *c, const pk_value *sd, fmt_error *err)
{
    const pk_value *tags = pk_get(sd, "tags");
    if (!tags) return 0;
    if (tags->type != PK_LIST && tags->type != PK_TUPLE) return fmt_fail(err, "checkpoint: 'tags' is not a list");
    c->tags = malloc((tags->count ? tags->count : 1) * sizeof *c->tags);
    if (!c->tags) return fmt_fail(err, "checkpoint: out of memory");
    for (size_t i = 0; i < tags->count; i++) {
        const char *s = pk_str(tags->items[i]);
        if (!s) return fmt_fail(err, "checkpoint: tag %zu is not a string", i);
        c->tags[c->n_tags++] = s;
    }
    return 0;
}

/* data.pkl interpreted; notes whether the archive holds TorchScript code. */
static int ckpt_read_pickle(torch_ckpt *c, const zip_entry *pkl, fmt_error *err)
{
    const uint8_t *pdata;
    uint8_t *powned = NULL;
    size_t plen;
    if (ckpt_entry(c, pkl, CKPT_MAX_PICKLE, &pdata, &powned, &plen, err)) return -1;
    char code[300];
    snprintf(code, sizeof code, "%s/code/", c->prefix);
    size_t clen = strlen(code);
    for (size_t i = 0; i < zip_count(&c->zip_); i++)
        if (!strncmp(zip_entry_at(&c->zip_, i)->name, code, clen)) c->torchscript = 1;
    c->doc_ = pk_parse(pdata, plen, NULL, err);
    free(powned);
    return c->doc_ ? 0 : ckpt_fail(err);
}

static int ckpt_open(torch_ckpt *c, const uint8_t *data, size_t len, fmt_error *err)
{
    if (torch_ckpt_is_legacy(data, len))
        return fmt_fail(err, "checkpoint: a legacy (pre-1.6) PyTorch file; re-save it with a recent PyTorch: "
                             "torch.save(torch.load('old.pt'), 'new.pt')");
    if (hash_index_init(&c->storage_index_, 0, err) || hash_index_init(&c->name_index_, 0, err)) return -1;
    zip_limits lim = zip_default_limits();
    lim.check_stored_crc = 0; /* gigabytes of weights; the SHA-256 of the file is checked instead */
    if (zip_open(&c->zip_, data, len, &lim, err)) return ckpt_fail(err);
    const zip_entry *pkl;
    if (ckpt_find_pickle(c, &pkl, err) || ckpt_check_byteorder(c, err) || ckpt_read_pickle(c, pkl, err))
        return -1;
    const pk_value *sd = pk_find_state_dict(pk_root(c->doc_));
    if (!sd) return fmt_fail(err, "checkpoint: no state dict (a dict of tensors, 'state_dict' or 'model')");
    walk_ctx w = {c, err};
    if (pk_walk_tensors(c->doc_, add_tensor, &w, err)) return -1;
    return ckpt_read_tags(c, sd, err);
}

int torch_ckpt_open_limits(torch_ckpt *c, const uint8_t *data, size_t len, const ckpt_limits *lim,
                           fmt_error *err)
{
    memset(c, 0, sizeof *c);
    c->lim_ = lim ? *lim : ckpt_default_limits();
    if (ckpt_open(c, data, len, err)) {
        torch_ckpt_close(c);
        return -1;
    }
    return 0;
}

int torch_ckpt_open(torch_ckpt *c, const uint8_t *data, size_t len, fmt_error *err)
{
    return torch_ckpt_open_limits(c, data, len, NULL, err);
}

void torch_ckpt_close(torch_ckpt *c)
{
    for (size_t i = 0; i < c->n_tensors; i++) free((char *)c->tensors[i].name);
    free(c->tensors);
    free(c->tags);
    for (size_t i = 0; i < c->n_storages_; i++) free(c->storages_[i].owned);
    free(c->storages_);
    hash_index_free(&c->storage_index_);
    hash_index_free(&c->name_index_);
    pk_free(c->doc_);
    zip_close(&c->zip_);
    memset(c, 0, sizeof *c);
}

const ckpt_tensor *torch_ckpt_find(const torch_ckpt *c, const char *name)
{
    hash_probe p = hash_index_probe(&c->name_index_, hash_index_key(&c->name_index_, name, strlen(name)));
    size_t i, first = SIZE_MAX;
    while (hash_probe_next(&p, &i))
        if (i < first && !strcmp(c->tensors[i].name, name)) first = i;
    return first == SIZE_MAX ? NULL : &c->tensors[first];
}

size_t ckpt_element_offset(const ckpt_tensor *t, size_t index)
{
    size_t off = t->offset;
    for (int d = t->rank - 1; d >= 0; d--) {
        size_t dim = t->shape[d] ? t->shape[d] : 1;
        off += (index % dim) * t->strides[d];
        index /= dim;
    }
    return off;
}
