/* PyTorch checkpoints as named tensors: the zip format of torch.save (and
 * TorchScript archives, which share it): <prefix>/data.pkl interpreted by
 * the pickle reader (nothing executed), tensors pointing into the
 * <prefix>/data/<key> storages, which stay where they are (zero-copy for
 * the stored entries torch writes). Pre-1.6 files are refused.
 *
 * Cost: a storage is read once however many tensors share it; a deflated
 * one is inflated once, to no more bytes than its tensors declare for it
 * (the storage's element count in data.pkl) or its zip entry declares, and
 * all inflated bytes together are bounded (ckpt_limits.max_inflated). */
#ifndef UNPROMPT_FORMAT_TORCH_CKPT_H
#define UNPROMPT_FORMAT_TORCH_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/hash.h"
#include "format/pickle.h"
#include "format/zip.h"

#define CKPT_MAX_RANK 8

typedef struct {
    const char *name;      /* dotted state-dict name */
    pk_dtype dtype;
    int rank;
    size_t shape[CKPT_MAX_RANK];
    size_t strides[CKPT_MAX_RANK]; /* elements */
    size_t offset;         /* elements into the storage */
    size_t numel;
    const uint8_t *storage; /* the storage's bytes */
    size_t storage_bytes;
} ckpt_tensor;

typedef struct {
    size_t max_tensors;   /* default 262,144 (as many as a safetensors file holds) */
    size_t max_inflated;  /* bytes inflated from deflated entries, data.pkl
                           * and storages together; default 16 GiB */
} ckpt_limits;

/* A storage as read: in place (stored) or inflated once (owned). */
typedef struct {
    const char *key;
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
} ckpt_storage_;

typedef struct {
    ckpt_tensor *tensors; /* in state-dict order */
    size_t n_tensors;
    const char **tags;    /* a "tags" list of strings beside the tensors, if any */
    size_t n_tags;
    int torchscript;      /* the archive holds TorchScript code */
    char prefix[256];     /* the archive's folder name */
    size_t inflated;      /* bytes inflated (data.pkl and storages) */
    /* private */
    zip_archive zip_;
    pk_doc *doc_;
    ckpt_limits lim_;
    ckpt_storage_ *storages_; /* each distinct storage key, read once */
    size_t n_storages_, cap_storages_, cap_tensors_;
    hash_index storage_index_; /* key -> storages_ */
    hash_index name_index_;    /* tensor name -> tensors */
} torch_ckpt;

ckpt_limits ckpt_default_limits(void);

/* Is this a pre-1.6 (non-zip) torch.save file? */
int torch_ckpt_is_legacy(const uint8_t *data, size_t len);

/* Open a checkpoint held in memory (the caller keeps it mapped until
 * torch_ckpt_close). Returns 0, or -1 with a reason. */
int torch_ckpt_open(torch_ckpt *c, const uint8_t *data, size_t len, fmt_error *err);
/* The same with limits (NULL = defaults). */
int torch_ckpt_open_limits(torch_ckpt *c, const uint8_t *data, size_t len, const ckpt_limits *lim,
                           fmt_error *err);
void torch_ckpt_close(torch_ckpt *c);
/* Tensor by exact name (the first of that name), or NULL; O(1). */
const ckpt_tensor *torch_ckpt_find(const torch_ckpt *c, const char *name);

/* Storage element index of element `index` (row-major over the shape):
 * the tensor may be a strided view into a shared storage. */
size_t ckpt_element_offset(const ckpt_tensor *t, size_t index);

#endif
