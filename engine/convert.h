/* The converter's inside: upstream checkpoints → one canonical safetensors
 * file per model. A source (torch zip checkpoint, TorchScript archive or
 * safetensors) becomes a list of named tensors; a per-model mapper
 * (convert_deepdanbooru.c, …) picks and renames them, checks the shapes
 * and writes the config into the metadata; convert.c writes the file. */
#ifndef UNPROMPT_ENGINE_CONVERT_H
#define UNPROMPT_ENGINE_CONVERT_H

#include <stddef.h>

#include "engine/tensor.h"
#include "format/safetensors.h"
#include "format/torch_ckpt.h"

typedef struct {
    ckpt_tensor *tensors; /* every source tensor, named as in the file */
    size_t n_tensors;
    const char *const *tags; /* a checkpoint's "tags" list, or from --tags */
    size_t n_tags;
    const char *config_json; /* Hugging Face config.json, if given */
    const char *vocab;       /* --vocab file contents, if given */
    size_t vocab_len;
    char sha256[65];         /* of the checkpoint file */
    const char *file_name;
} convert_source;

typedef struct {
    const ckpt_tensor *src;
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
} convert_job;

/* Output `name` from `src`: matrices/kernels (rank ≥ 2) in the job's dtype,
 * vectors (biases, norms) kept in f32. */
int convert_add(convert_job *j, const char *name, const ckpt_tensor *src, fmt_error *err);
/* A U8 tensor holding bytes (tag lists, vocabularies); copied. */
int convert_add_bytes(convert_job *j, const char *name, const char *bytes, size_t len, fmt_error *err);
int convert_meta(convert_job *j, const char *key, const char *value, fmt_error *err);

const ckpt_tensor *convert_find(const convert_source *s, const char *name);

/* Model mappers. Each returns 0 or -1 with a reason. */
int convert_deepdanbooru(convert_job *j, const convert_source *s, fmt_error *err);
int convert_is_deepdanbooru(const convert_source *s);

#endif
