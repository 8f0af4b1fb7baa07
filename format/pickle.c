/* The pickle interpreter: a stack machine over the opcode stream that builds
 * nodes instead of objects and knows a short list of globals by name.
 * Semantics follow CPython's Lib/pickle.py (_Unpickler) and PyTorch's
 * torch/_utils.py rebuild functions; nothing is ever called or imported. */
#include "format/pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"

/* ---- arena ------------------------------------------------------------ */

typedef struct pk_chunk pk_chunk;
struct pk_chunk {
    pk_chunk *next;
    size_t cap, used;
    unsigned char *mem;
};

typedef struct {
    pk_chunk *head;
    size_t total, limit, next_size;
} pk_arena;

static void arena_free(pk_arena *a)
{
    pk_chunk *c = a->head;
    while (c) {
        pk_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

static pk_chunk *chunk_new(pk_arena *a, size_t size)
{
    size_t need, bytes, hdr = (sizeof(pk_chunk) + 15) & ~(size_t)15;
    if (size_add(a->total, size, &need) || need > a->limit) return NULL;
    if (size_add(size, hdr + 16, &bytes)) return NULL;
    pk_chunk *c = malloc(bytes);
    if (!c) return NULL;
    uintptr_t base = ((uintptr_t)c + hdr + 15) & ~(uintptr_t)15;
    c->mem = (unsigned char *)base;
    c->cap = size;
    c->used = 0;
    a->total = need;
    return c;
}

/* Zeroed, 16-byte aligned; NULL when the limit is hit or malloc fails.
 * Large blocks get a chunk of their own behind the current one, so the
 * current chunk keeps serving small allocations. */
static void *arena_alloc(pk_arena *a, size_t n)
{
    if (n > SIZE_MAX - 15) return NULL;
    n = n ? (n + 15) & ~(size_t)15 : 16;
    pk_chunk *c = a->head;
    if (c && n > a->next_size / 4) {
        pk_chunk *big = chunk_new(a, n);
        if (!big) return NULL;
        big->next = c->next;
        c->next = big;
        c = big;
    } else if (!c || c->cap - c->used < n) {
        c = chunk_new(a, a->next_size > n ? a->next_size : n);
        if (!c) c = chunk_new(a, n); /* near the limit: exactly what is needed */
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
        if (a->next_size < ((size_t)4 << 20)) a->next_size *= 2;
    }
    void *p = c->mem + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

/* ---- nodes -------------------------------------------------------------- */

/* What an allowed global is. */
typedef enum {
    G_NONE,
    G_ORDERED_DICT,
    G_REBUILD_TENSOR,    /* torch._utils._rebuild_tensor (old) */
    G_REBUILD_TENSOR_V2,
    G_REBUILD_PARAMETER,
    G_REBUILD_PARAMETER_STATE,
    G_REBUILD_FROM_TYPE_V2,
    G_STORAGE_TYPE,      /* torch.FloatStorage, ... (dtype in the node) */
    G_TENSOR_TYPE,       /* torch.Tensor */
    G_PARAMETER_TYPE,    /* torch.nn.parameter.Parameter */
    G_RESTORE_TYPE_TAG,  /* torch.jit._pickle.restore_type_tag */
    G_BUILD_LIST,        /* torch.jit._pickle.build_intlist, ... */
    G_SET,               /* builtins.set (protocol 2 sets) */
    G_CODECS_ENCODE,     /* _codecs.encode (protocol 2 bytes) */
    G_BYTES,             /* builtins.bytes (protocol 2 empty bytes) */
    G_DEVICE,            /* torch.device (TorchScript device attributes) */
    G_SCRIPT_CLASS,      /* __torch__.* */
} global_kind;

typedef struct {
    pk_value v;          /* first: a pk_value * is a pk_node * */
    size_t id;
    size_t cap;          /* LIST/DICT/SET: allocated items */
    hash_index *index;   /* DICT past DICT_SCAN keys: its scalar keys */
    global_kind kind;    /* GLOBAL */
    pk_dtype dtype;      /* GLOBAL of G_STORAGE_TYPE */
    int ordered;         /* DICT made by OrderedDict(): BUILD allowed */
} pk_node;

/* A dict's hash index, in the arena; its slots are malloc'ed (hash.h) and
 * freed with the document, and counted against the arena's byte limit. */
typedef struct pk_index pk_index;
struct pk_index {
    hash_index h; /* first: a hash_index * is a pk_index * */
    size_t charged;
    pk_index *next;
};

struct pk_doc {
    pk_arena arena;
    pk_value *root;
    size_t nodes;
    size_t len;         /* bytes of the pickle read (up to STOP) */
    hash_seed seed;     /* of every dict index */
    pk_index *indexes;
};

typedef struct {
    const uint8_t *p;
    size_t len, pos, op_pos;
    pk_limits lim;
    pk_doc *doc;
    pk_value **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    pk_value **memo;           /* the dense part of the memo (see memo_put) */
    size_t memo_cap, memo_len; /* memo_len: entries set, dense and far */
    hash_index far;            /* memo indices past the dense part -> far_* */
    size_t *far_idx;
    pk_value **far_val;
    size_t n_far, cap_far;
    size_t copied, copy_limit; /* see charge_copy */
    fmt_error *err;
} parser;

static int perr(parser *P, const char *fmt, ...) FMT_PRINTF(2, 3);
static int perr(parser *P, const char *fmt, ...)
{
    char msg[FMT_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fmt_fail(P->err, "pickle: %s (byte %zu)", msg, P->op_pos);
}

static pk_node *new_node(parser *P, pk_type t)
{
    if (P->doc->nodes >= P->lim.max_nodes) {
        perr(P, "more than %zu values", P->lim.max_nodes);
        return NULL;
    }
    pk_node *n = arena_alloc(&P->doc->arena, sizeof *n);
    if (!n) {
        perr(P, "values exceed the memory limit of %zu bytes", P->lim.max_bytes);
        return NULL;
    }
    n->v.type = t;
    n->id = P->doc->nodes++;
    return n;
}

/* Values copied out of earlier ones (set(list), OrderedDict(list),
 * _codecs.encode(str)): one such call can be repeated on a memoized
 * argument for a few bytes each, so the copies in total are bounded by the
 * pickle's size (list items and string bytes alike). */
#define COPY_SLACK ((size_t)1 << 20)

static int charge_copy(parser *P, size_t n)
{
    if (size_add(P->copied, n, &P->copied) || P->copied > P->copy_limit)
        return perr(P, "values copied from earlier ones exceed %zu (the pickle's size + %zu)",
                    P->copy_limit, COPY_SLACK);
    return 0;
}

static void *palloc(parser *P, size_t n)
{
    void *p = arena_alloc(&P->doc->arena, n);
    if (!p) perr(P, "values exceed the memory limit of %zu bytes", P->lim.max_bytes);
    return p;
}

static void *palloc_array(parser *P, size_t count, size_t size)
{
    size_t n;
    if (size_mul(count, size, &n)) {
        perr(P, "array size overflow");
        return NULL;
    }
    return palloc(P, n);
}

static const char *pstrdup(parser *P, const char *s, size_t n)
{
    size_t total;
    if (size_add(n, 1, &total)) {
        perr(P, "string size overflow");
        return NULL;
    }
    char *d = palloc(P, total);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- dtypes ------------------------------------------------------------- */

static const struct {
    const char *storage, *name;
    size_t size;
} dtypes[] = {
    [PK_DT_F32] = {"FloatStorage", "F32", 4},   [PK_DT_F16] = {"HalfStorage", "F16", 2},
    [PK_DT_BF16] = {"BFloat16Storage", "BF16", 2}, [PK_DT_F64] = {"DoubleStorage", "F64", 8},
    [PK_DT_I64] = {"LongStorage", "I64", 8},    [PK_DT_I32] = {"IntStorage", "I32", 4},
    [PK_DT_I16] = {"ShortStorage", "I16", 2},   [PK_DT_I8] = {"CharStorage", "I8", 1},
    [PK_DT_U8] = {"ByteStorage", "U8", 1},      [PK_DT_BOOL] = {"BoolStorage", "BOOL", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *pk_dtype_name(pk_dtype d)
{
    return (unsigned)d < N_DTYPES ? dtypes[d].name : "?";
}

size_t pk_dtype_size(pk_dtype d)
{
    return (unsigned)d < N_DTYPES ? dtypes[d].size : 0;
}

const char *pk_type_name(pk_type t)
{
    static const char *names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple",
                                  "list", "dict", "set", "global", "storage", "tensor", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* ---- opcodes ------------------------------------------------------------ */

static const struct {
    uint8_t op;
    const char *name;
} opnames[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"},
    {'F', "FLOAT"}, {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"},
    {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"},
    {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"},
    {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
    {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"},
    {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
    {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"},
    {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"},
    {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"},
    {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"},
    {0x8a, "LONG1"}, {0x8b, "LONG4"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
    {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"},
    {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};

static const char *op_name(uint8_t op)
{
    for (size_t i = 0; i < sizeof opnames / sizeof opnames[0]; i++)
        if (opnames[i].op == op) return opnames[i].name;
    return NULL;
}

/* ---- reading -------------------------------------------------------------- */

static int need(parser *P, size_t n, const char *what)
{
    if (P->len - P->pos < n)
        return perr(P, "truncated: %s needs %zu bytes, %zu remain", what, n, P->len - P->pos);
    return 0;
}

static uint64_t read_le(parser *P, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)P->p[P->pos + i] << (8 * i);
    P->pos += n;
    return v;
}

/* Python decodes pickled str as UTF-8 with 'surrogatepass': well-formed
 * UTF-8 where encoded surrogates (U+D800-DFFF) are also accepted. */
static int utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i - 1 < k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF) return 0;
        i += k + 1;
    }
    return 1;
}

/* ---- the stack ------------------------------------------------------------ */

static size_t floor_of(const parser *P)
{
    return P->nmarks ? P->marks[P->nmarks - 1] : 0;
}

static int push(parser *P, pk_value *v)
{
    if (!v) return -1;
    if (P->sp == P->scap) {
        if (P->sp >= P->lim.max_stack)
            return perr(P, "stack deeper than %zu values", P->lim.max_stack);
        size_t cap = P->scap ? P->scap * 2 : 64, bytes;
        if (cap > P->lim.max_stack) cap = P->lim.max_stack;
        if (size_mul(cap, sizeof(pk_value *), &bytes)) return perr(P, "stack size overflow");
        pk_value **s = realloc(P->stack, bytes);
        if (!s) return perr(P, "out of memory");
        P->stack = s;
        P->scap = cap;
    }
    P->stack[P->sp++] = v;
    return 0;
}

static pk_value *pop(parser *P)
{
    if (P->sp <= floor_of(P)) {
        perr(P, "stack underflow");
        return NULL;
    }
    return P->stack[--P->sp];
}

static pk_value *top(parser *P)
{
    if (P->sp <= floor_of(P)) {
        perr(P, "stack underflow");
        return NULL;
    }
    return P->stack[P->sp - 1];
}

/* The values from stack position `at` up (NULL while nothing was ever pushed:
 * no arithmetic on a null pointer). */
static pk_value **stack_from(parser *P, size_t at)
{
    return P->stack ? P->stack + at : NULL;
}

/* The value just below a closed MARK (what APPENDS/SETITEMS/ADDITEMS extend). */
static pk_value *below_mark(parser *P, size_t start)
{
    if (start <= floor_of(P)) {
        perr(P, "stack underflow");
        return NULL;
    }
    return P->stack[start - 1];
}

/* Close the innermost MARK: the values above it are stack[*start .. sp). */
static int pop_mark(parser *P, size_t *start)
{
    if (P->nmarks == 0) return perr(P, "no MARK to close");
    *start = P->marks[--P->nmarks];
    return 0;
}

/* ---- containers --------------------------------------------------------- */

static pk_value *new_seq(parser *P, pk_type t, pk_value *const *items, size_t n)
{
    pk_node *node = new_node(P, t);
    if (!node) return NULL;
    if (n) {
        node->v.items = palloc_array(P, n, sizeof(pk_value *));
        if (!node->v.items) return NULL;
        memcpy(node->v.items, items, n * sizeof(pk_value *));
    }
    node->v.count = node->cap = n;
    return &node->v;
}

static int grow(parser *P, pk_node *n, size_t extra)
{
    size_t want;
    if (size_add(n->v.count, extra, &want)) return perr(P, "container size overflow");
    if (want <= n->cap) return 0;
    size_t cap = n->cap < 4 ? 4 : n->cap;
    while (cap < want) {
        if (size_mul(cap, 2, &cap)) return perr(P, "container size overflow");
    }
    pk_value **items = palloc_array(P, cap, sizeof(pk_value *));
    if (!items) return -1;
    if (n->v.count) memcpy(items, n->v.items, n->v.count * sizeof(pk_value *));
    n->v.items = items;
    if (n->v.type == PK_DICT) {
        pk_value **keys = palloc_array(P, cap, sizeof(pk_value *));
        if (!keys) return -1;
        if (n->v.count) memcpy(keys, n->v.keys, n->v.count * sizeof(pk_value *));
        n->v.keys = keys;
    }
    n->cap = cap;
    return 0;
}

static int seq_append(parser *P, pk_value *seq, pk_value *const *items, size_t n)
{
    pk_node *s = (pk_node *)seq;
    if (grow(P, s, n)) return -1;
    if (n) memcpy(s->v.items + s->v.count, items, n * sizeof(pk_value *));
    s->v.count += n;
    return 0;
}

/* Dicts up to this many keys are searched by a scan, larger ones by hash. */
#define DICT_SCAN 8

/* Keys deduplicated like Python's: str, bytes, int/bool (1 == True), None.
 * Other hashable keys (tuples, floats, objects) are kept as given. */
static int scalar_key(const pk_value *k)
{
    return k->type == PK_STR || k->type == PK_BYTES || k->type == PK_INT ||
           k->type == PK_BOOL || k->type == PK_NONE;
}

/* The hash of a scalar key under a dict's seed: str and bytes by their
 * bytes, int and bool by value (1 == True), None by a constant. Keys of
 * different types may share a hash; key_eq tells them apart. */
static uint64_t key_hash(const hash_index *h, const pk_value *k)
{
    switch (k->type) {
    case PK_STR:
    case PK_BYTES: return hash_index_key(h, k->str, k->len);
    case PK_INT:
    case PK_BOOL: return hash_u64(h->seed, (uint64_t)k->i);
    default: return hash_u64(h->seed, 0x4e6f6e65u);
    }
}

/* Scalar keys only (see scalar_key). */
static int key_eq(const pk_value *a, const pk_value *b)
{
    int ai = a->type == PK_INT || a->type == PK_BOOL, bi = b->type == PK_INT || b->type == PK_BOOL;
    if (ai || bi) return ai && bi && a->i == b->i;
    if (a->type != b->type) return 0;
    if (a->type == PK_NONE) return 1;
    return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

/* Index of a scalar key in a dict, or SIZE_MAX: a scan while the dict is
 * small, its keyed hash index after that. */
static size_t dict_find(const pk_node *d, const pk_value *k)
{
    if (!d->index) {
        for (size_t i = 0; i < d->v.count; i++)
            if (scalar_key(d->v.keys[i]) && key_eq(d->v.keys[i], k)) return i;
        return SIZE_MAX;
    }
    hash_probe p = hash_index_probe(d->index, key_hash(d->index, k));
    size_t at;
    while (hash_probe_next(&p, &at))
        if (key_eq(d->v.keys[at], k)) return at;
    return SIZE_MAX;
}

/* The index's slots count against the arena's byte limit. */
static int charge_index(parser *P, pk_index *x)
{
    size_t bytes = x->h.hashes ? (x->h.mask + 1) * (sizeof *x->h.hashes + sizeof *x->h.values) : 0;
    pk_arena *a = &P->doc->arena;
    a->total += bytes - x->charged;
    x->charged = bytes;
    if (a->total > a->limit) return perr(P, "values exceed the memory limit of %zu bytes", a->limit);
    return 0;
}

static int index_add(parser *P, pk_node *d, size_t at)
{
    hash_index *h = d->index;
    if (hash_index_add(h, key_hash(h, d->v.keys[at]), at, P->err)) return fmt_prefix(P->err, "pickle: ");
    return charge_index(P, (pk_index *)h);
}

/* A dict past DICT_SCAN keys gets an index of its scalar keys, under the
 * document's random seed; the document frees every index. */
static int dict_index(parser *P, pk_node *d)
{
    pk_index *x = palloc(P, sizeof *x);
    if (!x) return -1;
    x->h.seed = P->doc->seed;
    x->next = P->doc->indexes;
    P->doc->indexes = x;
    d->index = &x->h;
    for (size_t i = 0; i < d->v.count; i++)
        if (scalar_key(d->v.keys[i]) && index_add(P, d, i)) return -1;
    return 0;
}

static int dict_set(parser *P, pk_value *dict, pk_value *k, pk_value *v)
{
    pk_node *d = (pk_node *)dict;
    if (k->type == PK_LIST || k->type == PK_DICT || k->type == PK_SET)
        return perr(P, "unhashable dict key (a %s)", pk_type_name(k->type));
    int scalar = scalar_key(k);
    if (scalar) {
        size_t at = dict_find(d, k);
        if (at != SIZE_MAX) {
            d->v.items[at] = v;
            return 0;
        }
    }
    if (grow(P, d, 1)) return -1;
    size_t at = d->v.count++;
    d->v.keys[at] = k;
    d->v.items[at] = v;
    if (!d->index) return d->v.count > DICT_SCAN ? dict_index(P, d) : 0;
    return scalar ? index_add(P, d, at) : 0;
}

static int dict_set_pairs(parser *P, pk_value *dict, pk_value *const *kv, size_t n, const char *op)
{
    if (n % 2) return perr(P, "%s with an odd number of values (%zu)", op, n);
    for (size_t i = 0; i < n; i += 2)
        if (dict_set(P, dict, kv[i], kv[i + 1])) return -1;
    return 0;
}

/* ---- globals ------------------------------------------------------------ */

static const struct {
    const char *module, *name;
    global_kind kind;
} allowed[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"torch._utils", "_rebuild_tensor", G_REBUILD_TENSOR},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER},
    {"torch._utils", "_rebuild_parameter_with_state", G_REBUILD_PARAMETER_STATE},
    {"torch._tensor", "_rebuild_from_type_v2", G_REBUILD_FROM_TYPE_V2},
    {"torch", "Tensor", G_TENSOR_TYPE},
    {"torch._tensor", "Tensor", G_TENSOR_TYPE},
    {"torch.nn.parameter", "Parameter", G_PARAMETER_TYPE},
    {"torch.jit._pickle", "restore_type_tag", G_RESTORE_TYPE_TAG},
    {"torch.jit._pickle", "build_intlist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_doublelist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_boollist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_tensorlist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_genericlist", G_BUILD_LIST},
    {"builtins", "set", G_SET},
    {"__builtin__", "set", G_SET},
    {"_codecs", "encode", G_CODECS_ENCODE},
    {"builtins", "bytes", G_BYTES},
    {"__builtin__", "bytes", G_BYTES},
    {"torch", "device", G_DEVICE},
};

static int name_is(const char *want, const char *s, size_t n)
{
    return strlen(want) == n && memcmp(want, s, n) == 0;
}

static int ident_chars(const char *s, size_t n, int dots)
{
    if (n == 0 || n > 1024) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (dots && c == '.')))
            return 0;
    }
    return 1;
}

/* Printable, bounded copy of a name for an error message. */
static void show(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    if (o + 4 >= cap && n > o) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static pk_value *make_global(parser *P, const char *mod, size_t mlen, const char *name, size_t nlen)
{
    global_kind kind = G_NONE;
    pk_dtype dtype = PK_DT_F32;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && kind == G_NONE; i++)
        if (name_is(allowed[i].module, mod, mlen) && name_is(allowed[i].name, name, nlen))
            kind = allowed[i].kind;
    if (kind == G_NONE && name_is("torch", mod, mlen)) {
        for (size_t d = 0; d < N_DTYPES; d++)
            if (name_is(dtypes[d].storage, name, nlen)) {
                kind = G_STORAGE_TYPE;
                dtype = (pk_dtype)d;
            }
    }
    if (kind == G_NONE && (name_is("__torch__", mod, mlen) ||
                           (mlen > 10 && memcmp(mod, "__torch__.", 10) == 0)) &&
        ident_chars(mod, mlen, 1) && ident_chars(name, nlen, 0))
        kind = G_SCRIPT_CLASS;
    if (kind == G_NONE) {
        char m[80], n[80];
        show(m, sizeof m, mod, mlen);
        show(n, sizeof n, name, nlen);
        perr(P, "global '%s %s' is not allowed", m, n);
        return NULL;
    }
    pk_node *g = new_node(P, PK_GLOBAL);
    if (!g) return NULL;
    g->kind = kind;
    g->dtype = dtype;
    g->v.module = pstrdup(P, mod, mlen);
    g->v.name = pstrdup(P, name, nlen);
    if (!g->v.module || !g->v.name) return NULL;
    return &g->v;
}

static global_kind kind_of(const pk_value *v)
{
    return v && v->type == PK_GLOBAL ? ((const pk_node *)v)->kind : G_NONE;
}

static const char *global_desc(const pk_value *g, char *out, size_t cap)
{
    snprintf(out, cap, "'%s %s'", g->module, g->name);
    return out;
}

/* ---- torch rebuild functions -------------------------------------------- */

static int get_int(parser *P, const pk_value *v, const char *what, int64_t *out)
{
    if (v->type != PK_INT && v->type != PK_BOOL)
        return perr(P, "%s is a %s, not an int", what, pk_type_name(v->type));
    *out = v->i;
    return 0;
}

static int int_tuple(parser *P, const pk_value *v, const char *what, int64_t **out, size_t *n)
{
    if (v->type != PK_TUPLE && v->type != PK_LIST)
        return perr(P, "tensor %s is a %s, not a tuple", what, pk_type_name(v->type));
    if (v->count > PK_MAX_RANK)
        return perr(P, "tensor %s has %zu dimensions (at most %d)", what, v->count, PK_MAX_RANK);
    *n = v->count;
    *out = NULL;
    if (!v->count) return 0;
    *out = palloc_array(P, v->count, sizeof(int64_t));
    if (!*out) return -1;
    for (size_t i = 0; i < v->count; i++) {
        if (get_int(P, v->items[i], what, &(*out)[i])) return -1;
        if ((*out)[i] < 0) return perr(P, "tensor %s has a negative entry", what);
    }
    return 0;
}

/* _rebuild_tensor(storage, offset, size, stride) and
 * _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]). */
static pk_value *rebuild_tensor(parser *P, const pk_value *args, int v2)
{
    size_t n = args->count;
    if (v2 ? (n != 6 && n != 7) : n != 4) {
        perr(P, "%s takes %s arguments, got %zu", v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor",
             v2 ? "6 or 7" : "4", n);
        return NULL;
    }
    pk_value *const *a = args->items;
    if (a[0]->type != PK_STORAGE) {
        perr(P, "tensor storage is a %s, not a persistent storage", pk_type_name(a[0]->type));
        return NULL;
    }
    pk_tensor *t = palloc(P, sizeof *t);
    if (!t) return NULL;
    t->storage = *a[0]->storage;
    int64_t *shape, *strides;
    size_t rank, srank;
    if (get_int(P, a[1], "tensor offset", &t->offset)) return NULL;
    if (t->offset < 0) {
        perr(P, "tensor offset %lld is negative", (long long)t->offset);
        return NULL;
    }
    if (int_tuple(P, a[2], "shape", &shape, &rank) ||
        int_tuple(P, a[3], "strides", &strides, &srank))
        return NULL;
    if (rank != srank) {
        perr(P, "tensor shape has %zu dimensions but strides %zu", rank, srank);
        return NULL;
    }
    int64_t numel = 1, last = t->offset; /* last: highest element index addressed */
    for (size_t i = 0; i < rank; i++) {
        if (shape[i] != 0 && numel > INT64_MAX / shape[i]) {
            perr(P, "tensor has more than 2^63 elements");
            return NULL;
        }
        numel *= shape[i];
    }
    if (numel > 0) {
        for (size_t i = 0; i < rank; i++) {
            int64_t span = shape[i] - 1;
            if (span && strides[i] > (INT64_MAX - last) / span) {
                perr(P, "tensor strides overflow");
                return NULL;
            }
            last += span * strides[i];
        }
        if (last >= t->storage.numel) {
            perr(P, "tensor (offset %lld, %lld elements) extends past its storage '%s' of %lld "
                 "elements", (long long)t->offset, (long long)numel, t->storage.key,
                 (long long)t->storage.numel);
            return NULL;
        }
    }
    t->numel = numel;
    t->rank = (int)rank;
    t->shape = shape;
    t->strides = strides;
    if (v2) {
        int64_t rg = 0;
        if (get_int(P, a[4], "requires_grad", &rg)) return NULL;
        t->requires_grad = rg != 0;
    }
    pk_node *node = new_node(P, PK_TENSOR);
    if (!node) return NULL;
    node->v.tensor = t;
    return &node->v;
}

/* _rebuild_parameter(data, requires_grad, hooks[, state]) */
static pk_value *rebuild_parameter(parser *P, const pk_value *args, int with_state)
{
    size_t want = with_state ? 4 : 3;
    if (args->count != want) {
        perr(P, "_rebuild_parameter%s takes %zu arguments, got %zu", with_state ? "_with_state" : "",
             want, args->count);
        return NULL;
    }
    const pk_value *data = args->items[0];
    if (data->type != PK_TENSOR) {
        perr(P, "parameter data is a %s, not a tensor", pk_type_name(data->type));
        return NULL;
    }
    int64_t rg = 0;
    if (get_int(P, args->items[1], "requires_grad", &rg)) return NULL;
    pk_tensor *t = palloc(P, sizeof *t);
    pk_node *node = t ? new_node(P, PK_TENSOR) : NULL;
    if (!node) return NULL;
    *t = *data->tensor;
    t->requires_grad = rg != 0;
    t->is_parameter = 1;
    node->v.tensor = t;
    return &node->v;
}

static pk_value *call(parser *P, const pk_value *fn, const pk_value *args);

/* _rebuild_from_type_v2(func, new_type, args, state): func(*args), retyped.
 * Only tensor rebuilds may be wrapped (no recursion through itself). */
static pk_value *rebuild_from_type(parser *P, const pk_value *args)
{
    if (args->count != 4) {
        perr(P, "_rebuild_from_type_v2 takes 4 arguments, got %zu", args->count);
        return NULL;
    }
    pk_value *const *a = args->items;
    global_kind fk = kind_of(a[0]), tk = kind_of(a[1]);
    char desc[160];
    if (fk != G_REBUILD_TENSOR && fk != G_REBUILD_TENSOR_V2 && fk != G_REBUILD_PARAMETER &&
        fk != G_REBUILD_PARAMETER_STATE) {
        perr(P, "_rebuild_from_type_v2 of %s is not supported",
             a[0]->type == PK_GLOBAL ? global_desc(a[0], desc, sizeof desc) : pk_type_name(a[0]->type));
        return NULL;
    }
    if (tk != G_TENSOR_TYPE && tk != G_PARAMETER_TYPE) {
        perr(P, "_rebuild_from_type_v2 to %s is not supported",
             a[1]->type == PK_GLOBAL ? global_desc(a[1], desc, sizeof desc) : pk_type_name(a[1]->type));
        return NULL;
    }
    if (a[2]->type != PK_TUPLE) {
        perr(P, "_rebuild_from_type_v2 arguments are a %s, not a tuple", pk_type_name(a[2]->type));
        return NULL;
    }
    pk_value *r = call(P, a[0], a[2]);
    if (r && tk == G_PARAMETER_TYPE && !r->tensor->is_parameter) {
        pk_tensor *t = palloc(P, sizeof *t);
        if (!t) return NULL;
        *t = *r->tensor;
        t->is_parameter = 1;
        r->tensor = t;
    }
    return r;
}

/* A protocol-2 bytes object: _codecs.encode(text, 'latin1'). */
static pk_value *codecs_encode(parser *P, const pk_value *args)
{
    if (args->count != 2 || args->items[0]->type != PK_STR || args->items[1]->type != PK_STR ||
        !(strcmp(args->items[1]->str, "latin1") == 0 || strcmp(args->items[1]->str, "latin-1") == 0)) {
        perr(P, "_codecs.encode is only supported as encode(str, 'latin1')");
        return NULL;
    }
    const pk_value *s = args->items[0];
    if (charge_copy(P, s->len)) return NULL;
    char *out = palloc(P, s->len + 1);
    pk_node *node = out ? new_node(P, PK_BYTES) : NULL;
    if (!node) return NULL;
    size_t o = 0;
    const uint8_t *u = (const uint8_t *)s->str;
    for (size_t i = 0; i < s->len;) {
        if (u[i] < 0x80) {
            out[o++] = (char)u[i++];
        } else if ((u[i] & 0xE0) == 0xC0 && i + 1 < s->len && u[i] <= 0xC3) {
            out[o++] = (char)(((u[i] & 0x1F) << 6) | (u[i + 1] & 0x3F));
            i += 2;
        } else {
            perr(P, "_codecs.encode: text is not latin-1");
            return NULL;
        }
    }
    node->v.str = out;
    node->v.len = o;
    return &node->v;
}

/* REDUCE: fn(*args) for the callable globals; everything else refused. */
static pk_value *call(parser *P, const pk_value *fn, const pk_value *args)
{
    char desc[160];
    if (fn->type != PK_GLOBAL) {
        perr(P, "REDUCE on a %s (only allowed globals can be called)", pk_type_name(fn->type));
        return NULL;
    }
    if (args->type != PK_TUPLE) {
        perr(P, "REDUCE arguments are a %s, not a tuple", pk_type_name(args->type));
        return NULL;
    }
    size_t n = args->count;
    pk_value *const *a = args->items;
    switch (kind_of(fn)) {
    case G_ORDERED_DICT: {
        if (n > 1 || (n == 1 && a[0]->type != PK_LIST)) break;
        if (n == 1 && charge_copy(P, a[0]->count)) return NULL;
        pk_node *d = new_node(P, PK_DICT);
        if (!d) return NULL;
        d->ordered = 1;
        for (size_t i = 0; n == 1 && i < a[0]->count; i++) {
            const pk_value *kv = a[0]->items[i];
            if (kv->type != PK_TUPLE || kv->count != 2) {
                perr(P, "OrderedDict item is not a (key, value) tuple");
                return NULL;
            }
            if (dict_set(P, &d->v, kv->items[0], kv->items[1])) return NULL;
        }
        return &d->v;
    }
    case G_REBUILD_TENSOR: return rebuild_tensor(P, args, 0);
    case G_REBUILD_TENSOR_V2: return rebuild_tensor(P, args, 1);
    case G_REBUILD_PARAMETER: return rebuild_parameter(P, args, 0);
    case G_REBUILD_PARAMETER_STATE: return rebuild_parameter(P, args, 1);
    case G_REBUILD_FROM_TYPE_V2: return rebuild_from_type(P, args);
    case G_RESTORE_TYPE_TAG:
        if (n != 2 || a[1]->type != PK_STR) break;
        return a[0];
    case G_BUILD_LIST:
        if (n != 1 || a[0]->type != PK_LIST) break;
        return a[0];
    case G_SET:
        if (n == 0) return new_seq(P, PK_SET, NULL, 0);
        if (n != 1 || (a[0]->type != PK_LIST && a[0]->type != PK_TUPLE)) break;
        if (charge_copy(P, a[0]->count)) return NULL;
        return new_seq(P, PK_SET, a[0]->items, a[0]->count);
    case G_CODECS_ENCODE: return codecs_encode(P, args);
    case G_BYTES: {
        if (n != 0) break;
        pk_node *b = new_node(P, PK_BYTES);
        if (!b) return NULL;
        b->v.str = "";
        return &b->v;
    }
    case G_DEVICE: {
        if (n != 1 || a[0]->type != PK_STR) break;
        pk_node *o = new_node(P, PK_OBJECT);
        if (!o) return NULL;
        o->v.module = fn->module;
        o->v.name = fn->name;
        o->v.state = a[0];
        return &o->v;
    }
    default:
        perr(P, "global %s cannot be called", global_desc(fn, desc, sizeof desc));
        return NULL;
    }
    perr(P, "unexpected arguments (%zu) to global %s", n, global_desc(fn, desc, sizeof desc));
    return NULL;
}

/* BINPERSID: torch's ('storage', StorageType, key, location, numel). */
static pk_value *persistent_load(parser *P, const pk_value *pid)
{
    if (pid->type != PK_TUPLE || pid->count != 5 || pid->items[0]->type != PK_STR ||
        strcmp(pid->items[0]->str, "storage") != 0) {
        perr(P, "persistent id is not ('storage', type, key, location, numel)");
        return NULL;
    }
    pk_value *const *a = pid->items;
    if (kind_of(a[1]) != G_STORAGE_TYPE) {
        perr(P, "persistent storage type is a %s, not a torch storage type",
             pk_type_name(a[1]->type));
        return NULL;
    }
    if (a[2]->type != PK_STR || !ident_chars(a[2]->str, a[2]->len, 0) || a[2]->len > 64) {
        perr(P, "storage key must be 1 to 64 characters [A-Za-z0-9_]");
        return NULL;
    }
    if (a[3]->type != PK_STR) {
        perr(P, "storage location is a %s, not a str", pk_type_name(a[3]->type));
        return NULL;
    }
    pk_storage *s = palloc(P, sizeof *s);
    if (!s) return NULL;
    s->dtype = ((const pk_node *)a[1])->dtype;
    s->key = a[2]->str;
    s->location = a[3]->str;
    if (get_int(P, a[4], "storage size", &s->numel)) return NULL;
    if (s->numel < 0 || s->numel > INT64_MAX / (int64_t)pk_dtype_size(s->dtype)) {
        perr(P, "storage size %lld is out of range", (long long)s->numel);
        return NULL;
    }
    pk_node *node = new_node(P, PK_STORAGE);
    if (!node) return NULL;
    node->v.storage = s;
    return &node->v;
}

/* ---- memo --------------------------------------------------------------- */

/* The memo is an array while its indices are dense (as picklers write
 * them): it may reach past the highest index by at most twice the entries
 * plus MEMO_SLACK. An index further out goes to a keyed hash index, so a
 * PUT at index 4,000,000 costs one entry, not a 32 MB array. */
#define MEMO_SLACK 1024

static int memo_far_find(const parser *P, size_t idx, size_t *at)
{
    hash_probe p = hash_index_probe(&P->far, hash_u64(P->far.seed, idx));
    while (hash_probe_next(&p, at))
        if (P->far_idx[*at] == idx) return 1;
    return 0;
}

static int memo_grow_dense(parser *P, size_t idx)
{
    size_t cap = P->memo_cap ? P->memo_cap : 64, bytes;
    while (cap <= idx)
        if (size_mul(cap, 2, &cap)) return perr(P, "memo size overflow");
    if (cap > P->lim.max_memo) cap = P->lim.max_memo;
    if (size_mul(cap, sizeof(pk_value *), &bytes)) return perr(P, "memo size overflow");
    pk_value **m = realloc(P->memo, bytes);
    if (!m) return perr(P, "out of memory");
    memset(m + P->memo_cap, 0, (cap - P->memo_cap) * sizeof *m);
    P->memo = m;
    P->memo_cap = cap;
    return 0;
}

static int memo_add_far(parser *P, size_t idx, pk_value *v)
{
    if (P->n_far == P->cap_far) {
        size_t cap = P->cap_far ? 2 * P->cap_far : 16, bytes;
        if (size_mul(cap, sizeof(pk_value *) + sizeof(size_t), &bytes)) return perr(P, "memo size overflow");
        size_t *ix = realloc(P->far_idx, cap * sizeof *ix);
        if (ix) P->far_idx = ix;
        pk_value **vs = ix ? realloc(P->far_val, cap * sizeof *vs) : NULL;
        if (!vs) return perr(P, "out of memory");
        P->far_val = vs;
        P->cap_far = cap;
    }
    P->far_idx[P->n_far] = idx;
    P->far_val[P->n_far] = v;
    if (hash_index_add(&P->far, hash_u64(P->far.seed, idx), P->n_far, P->err)) return fmt_prefix(P->err, "pickle: ");
    P->n_far++;
    return 0;
}

static int memo_put(parser *P, size_t idx)
{
    pk_value *v = top(P);
    if (!v) return -1;
    if (idx >= P->lim.max_memo)
        return perr(P, "memo index %zu exceeds the limit of %zu", idx, P->lim.max_memo);
    size_t at;
    if (idx < P->memo_cap && P->memo[idx]) {
        P->memo[idx] = v;
    } else if (P->n_far && memo_far_find(P, idx, &at)) {
        P->far_val[at] = v;
    } else {
        size_t dense = 2 * P->memo_len + MEMO_SLACK; /* memo_len <= max_memo: no overflow */
        if (idx >= P->memo_cap && idx < dense && memo_grow_dense(P, idx)) return -1;
        if (idx < P->memo_cap) P->memo[idx] = v;
        else if (memo_add_far(P, idx, v)) return -1;
        P->memo_len++;
    }
    return 0;
}

static int memo_get(parser *P, size_t idx)
{
    size_t at;
    if (idx < P->memo_cap && P->memo[idx]) return push(P, P->memo[idx]);
    if (P->n_far && memo_far_find(P, idx, &at)) return push(P, P->far_val[at]);
    return perr(P, "memo index %zu is not set", idx);
}

/* ---- after STOP: no cycles, bounded depth ------------------------------- */

static int is_container(const pk_value *v)
{
    return v->type == PK_TUPLE || v->type == PK_LIST || v->type == PK_DICT || v->type == PK_SET ||
           (v->type == PK_OBJECT && v->state);
}

static pk_value *child(const pk_value *v, size_t k)
{
    switch (v->type) {
    case PK_TUPLE:
    case PK_LIST:
    case PK_SET: return k < v->count ? v->items[k] : NULL;
    case PK_DICT:
        if (k < v->count) return v->keys[k];
        if (k < 2 * v->count) return v->items[k - v->count];
        return k == 2 * v->count ? v->state : NULL;
    case PK_OBJECT: return k == 0 ? v->state : NULL;
    default: return NULL;
    }
}

/* Iterative DFS from the root over containers: a container met again while
 * it is still open is a cycle; a path with more than max_depth containers is
 * too deep. Each container is expanded once (its height is remembered). */
static int check_graph(parser *P, pk_value *root)
{
    if (!is_container(root)) return 0;
    size_t n = P->doc->nodes, maxd = P->lim.max_depth;
    if (maxd > 0xFFFFFFF0u) maxd = 0xFFFFFFF0u;
    unsigned char *color = calloc(n, 1);
    uint32_t *height = calloc(n, sizeof *height);
    struct frame {
        pk_value *v;
        size_t next;
        uint32_t h;
    } *st = calloc((maxd < n ? maxd : n) + 1, sizeof *st);
    int rc = 0;
    if (!color || !height || !st) {
        rc = perr(P, "out of memory");
        goto done;
    }
    size_t d = 0;
    st[d].v = root;
    color[((pk_node *)root)->id] = 1;
    if (maxd == 0) {
        rc = perr(P, "nesting deeper than %zu levels", P->lim.max_depth);
        goto done;
    }
    d = 1;
    while (d > 0) {
        struct frame *f = &st[d - 1];
        pk_value *c = child(f->v, f->next++);
        if (!c) {
            size_t id = ((pk_node *)f->v)->id;
            color[id] = 2;
            height[id] = f->h + 1;
            d--;
            if (d > 0 && st[d - 1].h < height[id]) st[d - 1].h = height[id];
            continue;
        }
        if (!is_container(c)) continue;
        size_t id = ((pk_node *)c)->id;
        if (color[id] == 1) {
            rc = perr(P, "self-referential structure: a %s contains itself", pk_type_name(c->type));
            goto done;
        }
        if (color[id] == 2) {
            if (d + height[id] > maxd) {
                rc = perr(P, "nesting deeper than %zu levels", P->lim.max_depth);
                goto done;
            }
            if (f->h < height[id]) f->h = height[id];
            continue;
        }
        if (d + 1 > maxd) {
            rc = perr(P, "nesting deeper than %zu levels", P->lim.max_depth);
            goto done;
        }
        color[id] = 1;
        st[d].v = c;
        st[d].next = 0;
        st[d].h = 0;
        d++;
    }
done:
    free(color);
    free(height);
    free(st);
    return rc;
}

/* ---- the interpreter loop ----------------------------------------------- */

static int op_string(parser *P, pk_type t, size_t lenbytes, const char *opname)
{
    if (need(P, lenbytes, opname)) return -1;
    uint64_t n = read_le(P, lenbytes);
    if (n > P->len - P->pos)
        return perr(P, "%s of %llu bytes runs past the end of the data", opname,
                    (unsigned long long)n);
    const uint8_t *s = P->p + P->pos;
    P->pos += (size_t)n;
    if (t == PK_STR && !utf8_ok(s, (size_t)n)) return perr(P, "%s is not valid UTF-8", opname);
    pk_node *node = new_node(P, t);
    if (!node) return -1;
    node->v.str = pstrdup(P, (const char *)s, (size_t)n);
    node->v.len = (size_t)n;
    if (!node->v.str) return -1;
    return push(P, &node->v);
}

static int op_int(parser *P, int64_t i, pk_type t)
{
    pk_node *node = new_node(P, t);
    if (!node) return -1;
    node->v.i = i;
    return push(P, &node->v);
}

static int op_long1(parser *P)
{
    if (need(P, 1, "LONG1")) return -1;
    size_t n = P->p[P->pos++];
    if (need(P, n, "LONG1")) return -1;
    const uint8_t *b = P->p + P->pos;
    P->pos += n;
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    int neg = n > 0 && (b[n - 1] & 0x80);
    if (n < 8 && neg) v |= ~(uint64_t)0 << (8 * n);
    if (n > 8) {
        /* Fits only if the extra bytes are the sign extension of bit 63. */
        uint8_t ext = (v >> 63) ? 0xFF : 0x00;
        for (size_t i = 8; i < n; i++)
            if (b[i] != ext)
                return perr(P, "LONG1 integer of %zu bytes does not fit in 64 bits", n);
    }
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return op_int(P, s, PK_INT);
}

static int op_global(parser *P)
{
    const char *line[2];
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = P->p + P->pos;
        const uint8_t *nl = memchr(s, '\n', P->len - P->pos);
        if (!nl) return perr(P, "truncated: GLOBAL name has no newline");
        line[k] = (const char *)s;
        n[k] = (size_t)(nl - s);
        P->pos += n[k] + 1;
    }
    return push(P, make_global(P, line[0], n[0], line[1], n[1]));
}

static int op_tuple_n(parser *P, size_t n)
{
    if (P->sp - floor_of(P) < n) return perr(P, "stack underflow");
    P->sp -= n;
    return push(P, new_seq(P, PK_TUPLE, stack_from(P, P->sp), n));
}

static int step(parser *P, uint8_t op, int *stop)
{
    size_t start = 0;
    pk_value *a, *b, *c;
    switch (op) {
    case 0x80: /* PROTO */
        if (need(P, 1, "PROTO")) return -1;
        if (P->p[P->pos] < 2 || P->p[P->pos] > 5)
            return perr(P, "protocol %u is not supported (2 to 5 are)", P->p[P->pos]);
        P->pos++;
        return 0;
    case 0x95: { /* FRAME */
        if (need(P, 8, "FRAME")) return -1;
        uint64_t n = read_le(P, 8);
        if (n > P->len - P->pos)
            return perr(P, "FRAME of %llu bytes runs past the end of the data",
                        (unsigned long long)n);
        return 0;
    }
    case '.': /* STOP */
        if (!(a = pop(P))) return -1;
        P->doc->root = a;
        *stop = 1;
        return 0;
    case '(': /* MARK */
        if (P->nmarks == P->mcap) {
            if (P->nmarks >= P->lim.max_marks)
                return perr(P, "more than %zu nested MARKs", P->lim.max_marks);
            size_t cap = P->mcap ? P->mcap * 2 : 16, bytes;
            if (cap > P->lim.max_marks) cap = P->lim.max_marks;
            if (size_mul(cap, sizeof(size_t), &bytes)) return perr(P, "MARK stack overflow");
            size_t *m = realloc(P->marks, bytes);
            if (!m) return perr(P, "out of memory");
            P->marks = m;
            P->mcap = cap;
        }
        P->marks[P->nmarks++] = P->sp;
        return 0;
    case '0': /* POP: the top value, or the innermost MARK if nothing is above it */
        if (P->sp > floor_of(P)) {
            P->sp--;
            return 0;
        }
        if (pop_mark(P, &start)) return perr(P, "stack underflow");
        P->sp = start;
        return 0;
    case '1': /* POP_MARK */
        if (pop_mark(P, &start)) return -1;
        P->sp = start;
        return 0;
    case '2': /* DUP */
        if (!(a = top(P))) return -1;
        return push(P, a);
    case '}': return push(P, new_seq(P, PK_DICT, NULL, 0));
    case ']': return push(P, new_seq(P, PK_LIST, NULL, 0));
    case ')': return push(P, new_seq(P, PK_TUPLE, NULL, 0));
    case 0x8f: return push(P, new_seq(P, PK_SET, NULL, 0)); /* EMPTY_SET */
    case 0x85: return op_tuple_n(P, 1);
    case 0x86: return op_tuple_n(P, 2);
    case 0x87: return op_tuple_n(P, 3);
    case 't': /* TUPLE */
    case 'l': /* LIST */
        if (pop_mark(P, &start)) return -1;
        a = new_seq(P, op == 't' ? PK_TUPLE : PK_LIST, stack_from(P, start), P->sp - start);
        P->sp = start;
        return push(P, a);
    case 'd': /* DICT */
        if (pop_mark(P, &start)) return -1;
        if (!(a = new_seq(P, PK_DICT, NULL, 0))) return -1;
        if (dict_set_pairs(P, a, stack_from(P, start), P->sp - start, "DICT")) return -1;
        P->sp = start;
        return push(P, a);
    case 'a': /* APPEND */
        if (!(b = pop(P)) || !(a = top(P))) return -1;
        if (a->type != PK_LIST) return perr(P, "APPEND to a %s", pk_type_name(a->type));
        return seq_append(P, a, &b, 1);
    case 'e':    /* APPENDS */
    case 0x90: { /* ADDITEMS */
        if (pop_mark(P, &start) || !(a = below_mark(P, start))) return -1;
        pk_type want = op == 'e' ? PK_LIST : PK_SET;
        if (a->type != want)
            return perr(P, "%s to a %s", op == 'e' ? "APPENDS" : "ADDITEMS", pk_type_name(a->type));
        if (seq_append(P, a, stack_from(P, start), P->sp - start)) return -1;
        P->sp = start;
        return 0;
    }
    case 's': /* SETITEM */
        if (!(c = pop(P)) || !(b = pop(P)) || !(a = top(P))) return -1;
        if (a->type != PK_DICT) return perr(P, "SETITEM on a %s", pk_type_name(a->type));
        return dict_set(P, a, b, c);
    case 'u': /* SETITEMS */
        if (pop_mark(P, &start) || !(a = below_mark(P, start))) return -1;
        if (a->type != PK_DICT) return perr(P, "SETITEMS on a %s", pk_type_name(a->type));
        if (dict_set_pairs(P, a, stack_from(P, start), P->sp - start, "SETITEMS")) return -1;
        P->sp = start;
        return 0;
    case 'N': return push(P, new_seq(P, PK_NONE, NULL, 0));
    case 0x88: return op_int(P, 1, PK_BOOL);
    case 0x89: return op_int(P, 0, PK_BOOL);
    case 'J': { /* BININT */
        if (need(P, 4, "BININT")) return -1;
        uint32_t u = (uint32_t)read_le(P, 4);
        int32_t s;
        memcpy(&s, &u, sizeof s);
        return op_int(P, s, PK_INT);
    }
    case 'K':
        if (need(P, 1, "BININT1")) return -1;
        return op_int(P, (int64_t)read_le(P, 1), PK_INT);
    case 'M':
        if (need(P, 2, "BININT2")) return -1;
        return op_int(P, (int64_t)read_le(P, 2), PK_INT);
    case 0x8a: return op_long1(P);
    case 'G': { /* BINFLOAT: big-endian IEEE double */
        if (need(P, 8, "BINFLOAT")) return -1;
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | P->p[P->pos + i];
        P->pos += 8;
        pk_node *node = new_node(P, PK_FLOAT);
        if (!node) return -1;
        memcpy(&node->v.f, &u, sizeof u);
        return push(P, &node->v);
    }
    case 'X': return op_string(P, PK_STR, 4, "BINUNICODE");
    case 0x8c: return op_string(P, PK_STR, 1, "SHORT_BINUNICODE");
    case 0x8d: return op_string(P, PK_STR, 8, "BINUNICODE8");
    case 'B': return op_string(P, PK_BYTES, 4, "BINBYTES");
    case 'C': return op_string(P, PK_BYTES, 1, "SHORT_BINBYTES");
    case 0x8e: return op_string(P, PK_BYTES, 8, "BINBYTES8");
    case 'q':
        if (need(P, 1, "BINPUT")) return -1;
        return memo_put(P, (size_t)read_le(P, 1));
    case 'r':
        if (need(P, 4, "LONG_BINPUT")) return -1;
        return memo_put(P, (size_t)read_le(P, 4));
    case 0x94: return memo_put(P, P->memo_len); /* MEMOIZE */
    case 'h':
        if (need(P, 1, "BINGET")) return -1;
        return memo_get(P, (size_t)read_le(P, 1));
    case 'j':
        if (need(P, 4, "LONG_BINGET")) return -1;
        return memo_get(P, (size_t)read_le(P, 4));
    case 'c': return op_global(P);
    case 0x93: /* STACK_GLOBAL */
        if (!(b = pop(P)) || !(a = pop(P))) return -1;
        if (a->type != PK_STR || b->type != PK_STR)
            return perr(P, "STACK_GLOBAL needs two str, got %s and %s", pk_type_name(a->type),
                        pk_type_name(b->type));
        return push(P, make_global(P, a->str, a->len, b->str, b->len));
    case 'R': /* REDUCE */
        if (!(b = pop(P)) || !(a = pop(P))) return -1;
        return push(P, call(P, a, b));
    case 0x81: { /* NEWOBJ: cls.__new__(cls, *args), TorchScript classes only */
        char desc[160];
        if (!(b = pop(P)) || !(a = pop(P))) return -1;
        if (kind_of(a) != G_SCRIPT_CLASS) {
            if (a->type == PK_GLOBAL)
                return perr(P, "NEWOBJ of global %s is not allowed", global_desc(a, desc, sizeof desc));
            return perr(P, "NEWOBJ of a %s", pk_type_name(a->type));
        }
        if (b->type != PK_TUPLE)
            return perr(P, "NEWOBJ arguments are a %s, not a tuple", pk_type_name(b->type));
        pk_node *o = new_node(P, PK_OBJECT);
        if (!o) return -1;
        o->v.module = a->module;
        o->v.name = a->name;
        return push(P, &o->v);
    }
    case 'b': /* BUILD */
        if (!(b = pop(P)) || !(a = top(P))) return -1;
        if (a->type != PK_OBJECT && !(a->type == PK_DICT && ((pk_node *)a)->ordered))
            return perr(P, "BUILD on a %s is not supported", pk_type_name(a->type));
        if (a->state) return perr(P, "BUILD applied twice to one %s", pk_type_name(a->type));
        a->state = b;
        return 0;
    case 'Q': /* BINPERSID */
        if (!(a = pop(P))) return -1;
        return push(P, persistent_load(P, a));
    default: {
        const char *name = op_name(op);
        if (name) {
            if (op >= 0x20 && op < 0x7F)
                return perr(P, "opcode %s (0x%02x '%c') is not supported", name, op, op);
            return perr(P, "opcode %s (0x%02x) is not supported", name, op);
        }
        return perr(P, "unknown opcode 0x%02x", op);
    }
    }
}

pk_limits pk_default_limits(void)
{
    pk_limits l;
    l.max_stack = (size_t)1 << 20;
    l.max_marks = 1024;
    l.max_memo = (size_t)1 << 22;
    l.max_nodes = (size_t)1 << 24;
    l.max_bytes = (size_t)1 << 30;
    l.max_depth = 256;
    return l;
}

pk_doc *pk_parse(const uint8_t *data, size_t len, const pk_limits *lim, fmt_error *err)
{
    parser P;
    memset(&P, 0, sizeof P);
    P.p = data;
    P.len = data ? len : 0;
    P.lim = lim ? *lim : pk_default_limits();
    P.err = err;
    if (size_add(P.len, COPY_SLACK, &P.copy_limit)) P.copy_limit = SIZE_MAX;
    P.doc = calloc(1, sizeof *P.doc);
    if (!P.doc) {
        fmt_fail(err, "pickle: out of memory");
        return NULL;
    }
    P.doc->seed = hash_seed_random();
    P.far.seed = P.doc->seed;
    P.doc->arena.limit = P.lim.max_bytes;
    P.doc->arena.next_size = (size_t)64 << 10;
    int rc = 0, stop = 0;
    while (!stop) {
        P.op_pos = P.pos;
        if (P.pos >= P.len) {
            rc = perr(&P, "truncated: no STOP opcode");
            break;
        }
        uint8_t op = P.p[P.pos++];
        if ((rc = step(&P, op, &stop)) != 0) break;
    }
    P.doc->len = P.pos;
    if (!rc) rc = check_graph(&P, P.doc->root);
    free(P.stack);
    free(P.marks);
    free(P.memo);
    free(P.far_idx);
    free(P.far_val);
    hash_index_free(&P.far);
    if (rc) {
        pk_free(P.doc);
        return NULL;
    }
    return P.doc;
}

const pk_value *pk_root(const pk_doc *doc)
{
    return doc ? doc->root : NULL;
}

size_t pk_node_count(const pk_doc *doc)
{
    return doc ? doc->nodes : 0;
}

void pk_free(pk_doc *doc)
{
    if (!doc) return;
    for (pk_index *x = doc->indexes; x; x = x->next) hash_index_free(&x->h);
    arena_free(&doc->arena);
    free(doc);
}

/* ---- accessors ---------------------------------------------------------- */

const pk_value *pk_get(const pk_value *v, const char *key)
{
    if (v && v->type == PK_OBJECT) v = v->state;
    if (!v || v->type != PK_DICT || !key) return NULL;
    pk_value k;
    memset(&k, 0, sizeof k);
    k.type = PK_STR;
    k.str = key;
    k.len = strlen(key);
    size_t at = dict_find((const pk_node *)v, &k);
    return at == SIZE_MAX ? NULL : v->items[at];
}

const pk_value *pk_at(const pk_value *v, size_t i)
{
    if (!v || (v->type != PK_TUPLE && v->type != PK_LIST && v->type != PK_SET) || i >= v->count)
        return NULL;
    return v->items[i];
}

const char *pk_str(const pk_value *v)
{
    return v && v->type == PK_STR ? v->str : NULL;
}

/* ---- state dicts -------------------------------------------------------- */

static int holds_tensor(const pk_value *d)
{
    for (size_t i = 0; i < d->count; i++)
        if (d->items[i]->type == PK_TENSOR) return 1;
    return 0;
}

const pk_value *pk_find_state_dict(const pk_value *root)
{
    const pk_value *v = root;
    for (int level = 0; v && level <= 4; level++) {
        if (v->type == PK_OBJECT) return v;
        if (v->type != PK_DICT) return NULL;
        if (holds_tensor(v)) return v;
        const pk_value *next = pk_get(v, "state_dict");
        if (!next) next = pk_get(v, "model");
        v = next;
    }
    return NULL;
}

#define WALK_MAX_DEPTH 1024
#define WALK_MAX_NAME ((size_t)64 << 10)
/* Bytes of names yielded in total: this much plus so many per pickle byte. */
#define WALK_NAMES_SLACK ((size_t)16 << 20)
#define WALK_NAMES_PER_BYTE 16

typedef struct {
    pk_tensor_fn fn;
    void *ctx;
    buf name;
    unsigned char *seen;       /* a bit per node: objects already walked */
    size_t names, names_limit; /* bytes of names yielded so far, and the bound */
    fmt_error *err;
} walker;

static int walk_yield(walker *w, const pk_value *key, const pk_tensor *t)
{
    size_t base = w->name.len;
    if (buf_append(&w->name, key->str, key->len, w->err))
        return fmt_prefix(w->err, "pickle: tensor name: ");
    if (size_add(w->names, w->name.len + 1, &w->names) || w->names > w->names_limit)
        return fmt_fail(w->err, "pickle: tensor names exceed %zu bytes in total", w->names_limit);
    int rc = w->fn(w->ctx, w->name.data, t);
    w->name.len = base;
    w->name.data[base] = '\0';
    return rc;
}

/* 1 the first time the walk meets a node, 0 after. */
static int first_visit(walker *w, const pk_value *v)
{
    size_t id = ((const pk_node *)v)->id;
    unsigned bit = 1u << (id % 8);
    if (w->seen[id / 8] & bit) return 0;
    w->seen[id / 8] |= (unsigned char)bit;
    return 1;
}

static int walk_object(walker *w, const pk_value *obj, int depth)
{
    if (!first_visit(w, obj)) return 0;
    if (depth > WALK_MAX_DEPTH)
        return fmt_fail(w->err, "pickle: modules nested deeper than %d levels", WALK_MAX_DEPTH);
    const pk_value *st = obj->state;
    if (!st || st->type != PK_DICT) return 0;
    /* Tensors (parameters, then buffers, in attribute order) before
     * submodules, as Module.state_dict() lists them. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < st->count; i++) {
            const pk_value *k = st->keys[i], *v = st->items[i];
            if (k->type != PK_STR) continue;
            int rc = 0;
            if (pass == 0 && v->type == PK_TENSOR) {
                rc = walk_yield(w, k, v->tensor);
            } else if (pass == 1 && v->type == PK_OBJECT) {
                size_t base = w->name.len;
                if (buf_append(&w->name, k->str, k->len, w->err) ||
                    buf_append_char(&w->name, '.', w->err))
                    return fmt_prefix(w->err, "pickle: tensor name: ");
                rc = walk_object(w, v, depth + 1);
                w->name.len = base;
                w->name.data[base] = '\0';
            }
            if (rc) return rc;
        }
    }
    return 0;
}

static int walk_start(walker *w, const pk_doc *doc, fmt_error *err)
{
    memset(w, 0, sizeof *w);
    w->err = err;
    buf_init(&w->name, WALK_MAX_NAME);
    if (size_mul(doc->len, WALK_NAMES_PER_BYTE, &w->names_limit) ||
        size_add(w->names_limit, WALK_NAMES_SLACK, &w->names_limit))
        w->names_limit = SIZE_MAX;
    w->seen = calloc(doc->nodes / 8 + 1, 1);
    if (!w->seen || buf_reserve(&w->name, 64, err)) {
        free(w->seen);
        return fmt_fail(err, "pickle: out of memory");
    }
    w->name.data[0] = '\0';
    return 0;
}

int pk_walk_tensors(const pk_doc *doc, pk_tensor_fn fn, void *ctx, fmt_error *err)
{
    const pk_value *root = pk_root(doc), *sd = pk_find_state_dict(root);
    if (!sd)
        return fmt_fail(err, "pickle: no state dict found (the root is a %s)",
                        root ? pk_type_name(root->type) : "nothing");
    walker w;
    if (walk_start(&w, doc, err)) return -1;
    w.fn = fn;
    w.ctx = ctx;
    int rc = 0;
    if (sd->type == PK_OBJECT) {
        rc = walk_object(&w, sd, 0);
    } else {
        for (size_t i = 0; i < sd->count && rc == 0; i++)
            if (sd->keys[i]->type == PK_STR && sd->items[i]->type == PK_TENSOR)
                rc = walk_yield(&w, sd->keys[i], sd->items[i]->tensor);
    }
    free(w.seen);
    buf_free(&w.name);
    return rc;
}
