/* A pickle interpreter that never executes anything: protocols 2-5, the
 * opcodes and globals that PyTorch checkpoints (torch.save's zip format,
 * `data.pkl`) and TorchScript archives (`data.pkl`, `constants.pkl`) use.
 *
 * It builds a tree of values. Python's plain types become plain nodes; the few
 * callables a checkpoint needs are interpreted, not called:
 *   collections.OrderedDict()               -> PK_DICT
 *   torch._utils._rebuild_tensor(_v2)(...)  -> PK_TENSOR (storage key, dtype,
 *   torch._utils._rebuild_parameter(...)       offset, shape, strides)
 *   torch._tensor._rebuild_from_type_v2     -> the tensor it wraps
 *   BINPERSID ('storage', torch.XStorage, key, location, numel) -> PK_STORAGE
 *   __torch__.* classes (NEWOBJ + BUILD)    -> PK_OBJECT with its attributes
 *   torch.jit._pickle.restore_type_tag / build_*list -> the value itself
 *   builtins.set, _codecs.encode, builtins.bytes (protocol 2's set and bytes)
 *   torch.device('cpu')                     -> PK_OBJECT "torch device", state "cpu"
 * Any other global ("pickle: global 'posix system' is not allowed") or opcode
 * is an error. Memo references are shared nodes, as in Python; a structure
 * that contains itself is refused, so the result is a DAG of bounded depth
 * that can be walked recursively (shared nodes may be reached more than once).
 *
 * Cost: every opcode does work bounded by the bytes it reads and the values
 * it pops, so parsing is linear in the pickle. Dict keys are found through a
 * hash index keyed with a random per-document seed (base/hash.h), so keys
 * a file chooses cannot collide on purpose; so are memo indices far past
 * the others (the memo is an array only while its indices are dense, so a
 * PUT at index 4,000,000 costs one entry). The few calls that copy an
 * earlier value (builtins.set(list), OrderedDict(list), _codecs.encode) and
 * could be repeated on one memoized argument copy at most the pickle's size
 * + 1 Mi items or bytes in total.
 *
 * No I/O: bytes in, tree out. All nodes live in one arena: pk_free() frees
 * everything. */
#ifndef UNPROMPT_FORMAT_PICKLE_H
#define UNPROMPT_FORMAT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum {
    PK_NONE,
    PK_BOOL,    /* i: 0 or 1 */
    PK_INT,     /* i */
    PK_FLOAT,   /* f */
    PK_STR,     /* str/len: UTF-8, NUL-terminated */
    PK_BYTES,   /* str/len: raw bytes, NUL-terminated */
    PK_TUPLE,   /* items/count */
    PK_LIST,    /* items/count */
    PK_DICT,    /* keys/items/count in insertion order; state: an OrderedDict's
                 * BUILD state (its __dict__, e.g. {'_metadata': ...}) or NULL */
    PK_SET,     /* items/count in insertion order */
    PK_GLOBAL,  /* module/name: an allowed global, referenced but not called */
    PK_STORAGE, /* storage: a persistent id resolved to a storage reference */
    PK_TENSOR,  /* tensor */
    PK_OBJECT,  /* module/name: a TorchScript class (__torch__.*); state: BUILD
                 * state (usually a dict of attributes), NULL if never built */
} pk_type;

typedef enum {
    PK_DT_F32, PK_DT_F16, PK_DT_BF16, PK_DT_F64,
    PK_DT_I64, PK_DT_I32, PK_DT_I16, PK_DT_I8, PK_DT_U8, PK_DT_BOOL,
} pk_dtype;

#define PK_MAX_RANK 64

typedef struct {
    pk_dtype dtype;       /* from the storage type: torch.HalfStorage -> F16 */
    const char *key;      /* the archive entry is <prefix>/data/<key> */
    const char *location; /* "cpu", "cuda:0", ... */
    int64_t numel;        /* elements (not bytes); numel * element size fits int64 */
} pk_storage;

typedef struct {
    pk_storage storage;
    int64_t offset;          /* in elements */
    int64_t numel;           /* product of shape */
    int rank;                /* 0..PK_MAX_RANK */
    const int64_t *shape;    /* rank entries, each >= 0 */
    const int64_t *strides;  /* rank entries, each >= 0, in elements */
    int requires_grad;
    int is_parameter;        /* rebuilt through _rebuild_parameter* */
} pk_tensor;
/* Every element the tensor addresses lies inside its storage (checked). */

typedef struct pk_value pk_value;
struct pk_value {
    pk_type type;
    int64_t i;
    double f;
    const char *str;
    size_t len;
    size_t count;
    pk_value **items;
    pk_value **keys;
    pk_value *state;
    const char *module, *name;
    const pk_storage *storage; /* PK_STORAGE */
    const pk_tensor *tensor;   /* PK_TENSOR */
};

typedef struct {
    size_t max_stack;  /* values on the unpickling stack; default 1,048,576 */
    size_t max_marks;  /* open MARKs; default 1024 */
    size_t max_memo;   /* memo index bound; default 4,194,304 */
    size_t max_nodes;  /* values created in total; default 16,777,216 */
    size_t max_bytes;  /* arena bytes (nodes, strings, arrays); default 1 GiB */
    size_t max_depth;  /* nesting of containers below the root; default 256 */
} pk_limits;

typedef struct pk_doc pk_doc; /* a parsed pickle: its root and its arena */

pk_limits pk_default_limits(void);

/* Interpret `data` up to its STOP opcode (bytes after STOP are ignored).
 * NULL limits = defaults. Returns a document to free with pk_free, or NULL
 * with err set ("pickle: BINUNICODE of 65535 bytes runs past the end of the
 * data (byte 3)"). */
pk_doc *pk_parse(const uint8_t *data, size_t len, const pk_limits *lim, fmt_error *err);
const pk_value *pk_root(const pk_doc *doc);
size_t pk_node_count(const pk_doc *doc);
void pk_free(pk_doc *doc);

/* Accessors, all NULL-safe. */
/* Dict entry by string key, or an object's attribute (its dict state). */
const pk_value *pk_get(const pk_value *v, const char *key);
/* Element of a tuple, list or set. */
const pk_value *pk_at(const pk_value *v, size_t i);
/* The text of a PK_STR, else NULL. */
const char *pk_str(const pk_value *v);
const char *pk_type_name(pk_type t);
const char *pk_dtype_name(pk_dtype d);   /* "F32", "F16", "BF16", ... as safetensors */
size_t pk_dtype_size(pk_dtype d);        /* bytes per element */

/* Where a checkpoint's tensors are: the root if it is a TorchScript module
 * object or a dict holding a tensor directly; otherwise the dict under
 * "state_dict", else under "model" (repeatedly, up to 4 levels). Returns
 * NULL if none of these applies. Other entries (a "tags" list, ...) can be
 * fetched from the same dict with pk_get. */
const pk_value *pk_find_state_dict(const pk_value *root);

/* Called once per tensor with its dotted name. Return 0 to go on; a
 * non-zero return stops the walk and is returned by pk_walk_tensors. */
typedef int (*pk_tensor_fn)(void *ctx, const char *name, const pk_tensor *t);

/* Walk pk_find_state_dict(pk_root(doc)), yielding (name, tensor) in order:
 *  - a dict: each string key whose value is a tensor (other values, such as
 *    a "tags" list, are skipped; non-string keys too);
 *  - a TorchScript module object: its tensor attributes, then each attribute
 *    holding an object, recursively with "attr." prefixes -- the names of the
 *    module's state_dict() (non-tensor attributes like "training" skipped).
 *    data.pkl cannot tell a buffer from a plain tensor attribute, so the
 *    latter (rare: not in state_dict()) is yielded too; tensors inside list
 *    or dict attributes are not.
 * Each object is walked once: a submodule that several attributes share
 * (the pickle's memo makes a DAG) is listed under the first name that
 * reaches it only, as Module.named_parameters() lists a shared parameter
 * once. So the walk costs one visit per object whatever the sharing, and the
 * names it builds are bounded: each at most 64 KiB, all together at most
 * 16 MiB + 16 bytes per byte of the pickle.
 * Returns 0, the callback's non-zero value, or -1 with err set (no state dict
 * found, a name over its bound, modules nested over 1024 deep). */
int pk_walk_tensors(const pk_doc *doc, pk_tensor_fn fn, void *ctx, fmt_error *err);

#endif
