/* The converter's inside: upstream checkpoints → one canonical safetensors
 * file per model. A source (torch zip checkpoint, TorchScript archive or
 * safetensors) becomes a list of named tensors; a per-model mapper
 * (convert_deepdanbooru.c, …) picks and renames them, checks the shapes
 * and writes the config into the metadata; convert.c writes the file. */
#ifndef UNPROMPT_ENGINE_CONVERT_CONVERT_H
#define UNPROMPT_ENGINE_CONVERT_CONVERT_H

#include <stddef.h>

#include "engine/runtime/tensor.h"
#include "base/hash.h"
#include "format/json.h"
#include "format/safetensors.h"
#include "format/torch_ckpt.h"

typedef struct {
    ckpt_tensor *tensors; /* every source tensor, named as in the file */
    size_t n_tensors;
    const char *const *tags; /* a checkpoint's "tags" list, or from --tags */
    size_t n_tags;
    const json_value *config; /* --config FILE parsed: Hugging Face CLIP config.json or
                               * BLIP med_config.json, checked against the shapes and
                               * giving the heads; or {"vision_heads", "text_heads"} */
    const uint8_t *vocab;     /* --vocab file contents (as read: maybe gzip), if given */
    size_t vocab_len;
    const json_value *vocab_json; /* Hugging Face CLIP vocab.json parsed, if given (checked) */
    char sha256[65];         /* of the checkpoint file */
    const char *file_name;
    hash_index names_;       /* tensors by name: convert_find is O(1) */
} convert_source;

#define CONVERT_MAX_PARTS 4

/* One output tensor: a source tensor, or several concatenated along their
 * first dimension (Hugging Face's q, k, v projections → one in_proj). */
typedef struct {
    const ckpt_tensor *parts[CONVERT_MAX_PARTS];
    size_t n_parts;
    int rank;
    size_t shape[CKPT_MAX_RANK];
    char *name;
    st_dtype dtype; /* output */
} convert_entry;

typedef struct {
    convert_entry *entries;
    size_t n, cap;
    st_writer writer;
    dtype weights_dtype; /* for matrices and convolution kernels */
    char **blobs;        /* byte tensors' storage */
    size_t n_blobs;
    ckpt_tensor **views; /* derived views (transposes), owned */
    size_t n_views;
} convert_job;

/* Output `name` from `src`: matrices/kernels (rank ≥ 2) in the job's dtype,
 * vectors (biases, norms) kept in f32. */
int convert_add(convert_job *j, const char *name, const ckpt_tensor *src, fmt_error *err);
/* Output `name` as parts[0..n) concatenated along dimension 0 (every part
 * floating point, of one rank, equal in the other dimensions). */
int convert_add_concat(convert_job *j, const char *name, const ckpt_tensor *const *parts, size_t n,
                       fmt_error *err);
/* A rank-2 tensor seen transposed (swapped shape and strides: no copy); the
 * view lives as long as the job. NULL with a reason if src is not rank 2. */
const ckpt_tensor *convert_transposed(convert_job *j, const ckpt_tensor *src, fmt_error *err);
/* A U8 tensor holding bytes (tag lists, vocabularies); copied. */
int convert_add_bytes(convert_job *j, const char *name, const char *bytes, size_t len, fmt_error *err);
int convert_meta(convert_job *j, const char *key, const char *value, fmt_error *err);

const ckpt_tensor *convert_find(const convert_source *s, const char *name);
/* Blocks under `prefix` ("visual.transformer.resblocks."): 1 + the largest
 * index N of a tensor named prefix + "N." ...; 0 if none, -1 if an index is
 * not a plain decimal number below 100000. */
int convert_count_blocks(const convert_source *s, const char *prefix);
/* An integer from --config (the key at the top level), if present: 1 and
 * *value set, 0 if absent, -1 if present but not a positive integer. */
int convert_config_int(const json_value *obj, const char *key, int *value, fmt_error *err);
/* The value of a rank-0 (or one-element) integer tensor: 0, or -1. */
int convert_scalar_int(const ckpt_tensor *t, long long *value);
/* The --vocab bytes, gunzipped when they are gzip (bounded): malloc'd and
 * NUL-terminated. A text with NUL bytes is refused; no --vocab at all fails
 * with "convert: " + `missing` (which should say what file is needed). */
int convert_vocab_text(const convert_source *s, const char *missing, char **text, size_t *len, fmt_error *err);
/* 0 if `shape` (rank `rank`) is the pattern `dims`: one character per
 * dimension, a digit 1-9 for itself or a letter A-Z for letters[letter - 'A']
 * ("TW" with letters T = 192, W = 64 means [192, 64]; "" a scalar). Else -1:
 * "convert: MODEL: NAME is [..], expected [..]". */
int convert_expect(const char *model, const char *name, int rank, const size_t *shape, const char *dims,
                   const size_t *letters, fmt_error *err);
/* A config number as JSON, shortest form (1e-05 -> "1e-5"). */
void convert_format_number(double v, char *out, size_t size);
/* Do a and b hold the same values (one tensor under two names, or equal
 * shapes and bit-equal elements)? */
int convert_same_values(const ckpt_tensor *a, const ckpt_tensor *b);

/* Model mappers. Each returns 0 or -1 with a reason. */
int convert_deepdanbooru(convert_job *j, const convert_source *s, fmt_error *err);
int convert_is_deepdanbooru(const convert_source *s);
int convert_clip(convert_job *j, const convert_source *s, fmt_error *err);
int convert_is_clip(const convert_source *s);
int convert_blip(convert_job *j, const convert_source *s, fmt_error *err);
int convert_is_blip(const convert_source *s);

#endif
