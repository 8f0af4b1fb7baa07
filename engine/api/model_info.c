/* unprompt_model_info: what a converted model file is, from its metadata
 * (weights/FORMAT.md), without loading the model. */
#include <stdio.h>
#include <string.h>

#include "base/sha256.h"
#include "engine/api/unprompt.h"
#include "engine/runtime/weights.h"

static void copy_meta(const weights_file *wf, const char *key, char *dst, size_t cap)
{
    const char *v = weights_meta(wf, key);
    snprintf(dst, cap, "%s", v ? v : "");
}

/* The SHA-256 of the file's bytes, read in blocks (never the whole file). */
static int file_sha256(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    static unsigned char block[1 << 16];
    sha256_ctx c;
    uint8_t digest[32];
    size_t n;
    sha256_init(&c);
    while ((n = fread(block, 1, sizeof block, f)) > 0) sha256_update(&c, block, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return -1;
    sha256_final(&c, digest);
    sha256_to_hex(digest, hex);
    return 0;
}

int unprompt_model_info_read(const char *path, int with_sha256, unprompt_model_info *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    weights_file *wf = NULL;
    fmt_error e = {{0}};
    if (weights_open(&wf, path, &e)) {
        if (err && err_size) snprintf(err, err_size, "%s", e.msg);
        return UNPROMPT_ERR_FORMAT;
    }
    copy_meta(wf, "unprompt.kind", out->kind, sizeof out->kind);
    copy_meta(wf, "unprompt.dtype", out->dtype, sizeof out->dtype);
    copy_meta(wf, "unprompt.source", out->source, sizeof out->source);
    copy_meta(wf, "unprompt.converter", out->converter, sizeof out->converter);
    out->size = weights_size(wf);
    weights_close(wf);
    if (with_sha256 && file_sha256(path, out->sha256)) {
        if (err && err_size) snprintf(err, err_size, "%s: cannot read it", path);
        return UNPROMPT_ERR_IO;
    }
    return UNPROMPT_OK;
}

const char *unprompt_model_kind_name(const char *kind)
{
    if (!strcmp(kind, "clip")) return "CLIP";
    if (!strcmp(kind, "blip")) return "BLIP";
    if (!strcmp(kind, "deepdanbooru")) return "DeepDanbooru";
    if (!strcmp(kind, "label_cache")) return "CLIP label cache";
    return kind[0] ? kind : "unknown";
}

const char *unprompt_version(void) { return UNPROMPT_VERSION; }
