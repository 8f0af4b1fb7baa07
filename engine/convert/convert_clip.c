/* CLIP (ViT): OpenAI's TorchScript archive (ViT-L-14.pt), an OpenAI-named
 * state dict, or Hugging Face CLIPModel tensors (model.safetensors +
 * config.json) → clip.safetensors with OpenAI's state-dict names
 * (weights/FORMAT.md). Hugging Face names are looked up through a table;
 * its q/k/v projections are concatenated into in_proj_*, its projection
 * Linears transposed. The config comes from config.json when given, else
 * from the shapes as OpenAI's build_model() infers it (heads = width / 64).
 * The BPE merges (bpe_simple_vocab_16e6.txt.gz or merges.txt) become the
 * U8 tensor tokenizer.bpe_merges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/convert.h"
#include "base/buf.h"

#define CLIP_MERGES_USED (49152 - 256 - 2) /* simple_tokenizer: lines [1 : 49152-256-2+1] */
#define CLIP_MAX_DIM ((size_t)1 << 20)

typedef struct {
    int embed_dim, image_size, patch, vision_width, vision_layers, vision_heads;
    int context_length, vocab_size, text_width, text_layers, text_heads;
    double eps;
} clip_config;

typedef struct {
    convert_job *j;
    const convert_source *s;
    int hf; /* Hugging Face names */
} clip_map;

/* The source of one canonical tensor: one tensor, a transposed view, or
 * q/k/v to concatenate. */
typedef struct {
    const ckpt_tensor *parts[3];
    size_t n;
    int rank;
    size_t shape[CKPT_MAX_RANK];
} clip_src;

/* ---- Hugging Face names ------------------------------------------------------ */

static const struct {
    const char *openai, *hf;
    int transpose;
} hf_top[] = {
    {"visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight", 0},
    {"visual.class_embedding", "vision_model.embeddings.class_embedding", 0},
    {"visual.positional_embedding", "vision_model.embeddings.position_embedding.weight", 0},
    {"visual.ln_pre.weight", "vision_model.pre_layrnorm.weight", 0},
    {"visual.ln_pre.bias", "vision_model.pre_layrnorm.bias", 0},
    {"visual.ln_post.weight", "vision_model.post_layernorm.weight", 0},
    {"visual.ln_post.bias", "vision_model.post_layernorm.bias", 0},
    {"visual.proj", "visual_projection.weight", 1},
    {"token_embedding.weight", "text_model.embeddings.token_embedding.weight", 0},
    {"positional_embedding", "text_model.embeddings.position_embedding.weight", 0},
    {"ln_final.weight", "text_model.final_layer_norm.weight", 0},
    {"ln_final.bias", "text_model.final_layer_norm.bias", 0},
    {"text_projection", "text_projection.weight", 1},
    {"logit_scale", "logit_scale", 0},
};

static const struct {
    const char *openai, *hf;
} hf_towers[] = {
    {"visual.transformer.resblocks.", "vision_model.encoder.layers."},
    {"transformer.resblocks.", "text_model.encoder.layers."},
};

static const struct {
    const char *openai, *hf;
} hf_block[] = {
    {"ln_1.", "layer_norm1."},
    {"ln_2.", "layer_norm2."},
    {"attn.out_proj.", "self_attn.out_proj."},
    {"mlp.c_fc.", "mlp.fc1."},
    {"mlp.c_proj.", "mlp.fc2."},
};

/* Hugging Face name(s) of a canonical block tensor "PREFIX{i}.REST". */
static int hf_block_names(const char *hf_prefix, const char *index_rest, char names[3][160], size_t *n,
                          int *transpose)
{
    const char *dot = strchr(index_rest, '.');
    if (!dot) return -1;
    int ilen = (int)(dot - index_rest);
    const char *rest = dot + 1;
    *transpose = 0;
    if (!strcmp(rest, "attn.in_proj_weight") || !strcmp(rest, "attn.in_proj_bias")) {
        const char *what = strcmp(rest, "attn.in_proj_weight") ? "bias" : "weight";
        for (int k = 0; k < 3; k++)
            snprintf(names[k], sizeof names[k], "%s%.*s.self_attn.%c_proj.%s", hf_prefix, ilen, index_rest, "qkv"[k],
                     what);
        *n = 3;
        return 0;
    }
    for (size_t i = 0; i < sizeof hf_block / sizeof hf_block[0]; i++) {
        size_t l = strlen(hf_block[i].openai);
        if (!strncmp(rest, hf_block[i].openai, l)) {
            snprintf(names[0], sizeof names[0], "%s%.*s.%s%s", hf_prefix, ilen, index_rest, hf_block[i].hf, rest + l);
            *n = 1;
            return 0;
        }
    }
    return -1;
}

static int hf_names(const char *canon, char names[3][160], size_t *n, int *transpose)
{
    for (size_t i = 0; i < sizeof hf_top / sizeof hf_top[0]; i++)
        if (!strcmp(canon, hf_top[i].openai)) {
            snprintf(names[0], sizeof names[0], "%s", hf_top[i].hf);
            *n = 1, *transpose = hf_top[i].transpose;
            return 0;
        }
    for (size_t i = 0; i < sizeof hf_towers / sizeof hf_towers[0]; i++) {
        size_t l = strlen(hf_towers[i].openai);
        if (!strncmp(canon, hf_towers[i].openai, l)) return hf_block_names(hf_towers[i].hf, canon + l, names, n, transpose);
    }
    return -1;
}

/* ---- lookup -------------------------------------------------------------------- */

static int clip_find(clip_map *m, const char *canon, clip_src *out, fmt_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m->hf) {
        const ckpt_tensor *t = convert_find(m->s, canon);
        if (!t) return fmt_fail(err, "convert: clip: %s is missing", canon);
        out->parts[0] = t, out->n = 1, out->rank = t->rank;
        memcpy(out->shape, t->shape, sizeof out->shape);
        return 0;
    }
    char names[3][160];
    size_t n = 0;
    int transpose = 0;
    if (hf_names(canon, names, &n, &transpose)) return fmt_fail(err, "convert: clip: no Hugging Face name for %s", canon);
    for (size_t k = 0; k < n; k++) {
        const ckpt_tensor *t = convert_find(m->s, names[k]);
        if (!t) return fmt_fail(err, "convert: clip: %s is missing (Hugging Face names)", names[k]);
        if (transpose && !(t = convert_transposed(m->j, t, err))) return fmt_prefix(err, "convert: clip: ");
        out->parts[k] = t;
    }
    const ckpt_tensor *first = out->parts[0];
    out->n = n, out->rank = first->rank;
    memcpy(out->shape, first->shape, sizeof out->shape);
    for (size_t k = 1; k < n; k++) {
        const ckpt_tensor *t = out->parts[k];
        if (t->rank != first->rank || (t->rank >= 2 && t->shape[1] != first->shape[1]) || t->rank < 1 || t->rank > 2)
            return fmt_fail(err, "convert: clip: %s and %s do not stack into %s", names[0], names[k], canon);
        out->shape[0] += t->shape[0];
    }
    return 0;
}

/* Look up `canon`, check its shape against `dims` (see convert_expect), add it. */
static int clip_take(clip_map *m, const char *canon, const char *dims, const size_t *letters, fmt_error *err)
{
    clip_src src;
    if (clip_find(m, canon, &src, err) ||
        convert_expect("clip", canon, src.rank, src.shape, dims, letters, err))
        return -1;
    return convert_add_concat(m->j, canon, src.parts, src.n, err);
}

/* Shape of a canonical tensor that must have rank `rank`. */
static int clip_shape(clip_map *m, const char *canon, int rank, size_t *shape, fmt_error *err)
{
    clip_src src;
    if (clip_find(m, canon, &src, err)) return -1;
    if (src.rank != rank) return fmt_fail(err, "convert: clip: %s has rank %d, expected %d", canon, src.rank, rank);
    for (int d = 0; d < rank; d++) {
        if (src.shape[d] == 0 || src.shape[d] > CLIP_MAX_DIM)
            return fmt_fail(err, "convert: clip: %s has a dimension of %zu", canon, src.shape[d]);
        shape[d] = src.shape[d];
    }
    return 0;
}

/* ---- config ------------------------------------------------------------------- */

static int isqrt_exact(size_t n, size_t *root)
{
    size_t r = 0;
    while ((r + 1) * (r + 1) <= n) r++;
    *root = r;
    return r * r == n ? 0 : -1;
}

static int clip_layers(clip_map *m, int vision, int *layers, fmt_error *err)
{
    const char *prefix = m->hf ? hf_towers[vision ? 0 : 1].hf : hf_towers[vision ? 0 : 1].openai;
    int n = convert_count_blocks(m->s, prefix);
    if (n < 0) return fmt_fail(err, "convert: clip: a tensor under %s has a bad block number", prefix);
    if (n == 0) return fmt_fail(err, "convert: clip: no transformer blocks (%s0. ...)", prefix);
    *layers = n;
    return 0;
}

/* The shapes say (OpenAI's build_model). */
static int clip_infer(clip_map *m, clip_config *c, fmt_error *err)
{
    size_t conv[4] = {0}, vpos[2] = {0}, vproj[2] = {0}, tok[2] = {0}, tpos[2] = {0}, tproj[2] = {0}, grid = 0;
    if (clip_shape(m, "visual.conv1.weight", 4, conv, err) || clip_shape(m, "visual.positional_embedding", 2, vpos, err) ||
        clip_shape(m, "visual.proj", 2, vproj, err) || clip_shape(m, "token_embedding.weight", 2, tok, err) ||
        clip_shape(m, "positional_embedding", 2, tpos, err) || clip_shape(m, "text_projection", 2, tproj, err))
        return -1;
    if (conv[1] != 3 || conv[2] != conv[3])
        return fmt_fail(err, "convert: clip: visual.conv1.weight is not [width, 3, patch, patch]");
    if (vpos[0] < 2 || isqrt_exact(vpos[0] - 1, &grid))
        return fmt_fail(err, "convert: clip: visual.positional_embedding has %zu rows, not grid^2 + 1", vpos[0]);
    if (grid * conv[2] > CLIP_MAX_DIM) return fmt_fail(err, "convert: clip: image size out of range");
    c->vision_width = (int)conv[0], c->patch = (int)conv[2], c->image_size = (int)(grid * conv[2]);
    c->embed_dim = (int)tproj[1];
    c->vocab_size = (int)tok[0], c->text_width = (int)tok[1], c->context_length = (int)tpos[0];
    c->vision_heads = c->vision_width / 64, c->text_heads = c->text_width / 64;
    c->eps = 1e-5;
    return clip_layers(m, 1, &c->vision_layers, err) || clip_layers(m, 0, &c->text_layers, err) ? -1 : 0;
}

/* One key of a Hugging Face sub-config that must agree with the weights. */
static int hf_agree(const json_value *obj, const char *obj_name, const char *key, int actual, fmt_error *err)
{
    int v = 0, rc = convert_config_int(obj, key, &v, err);
    if (rc < 0) return fmt_prefix(err, "clip: ");
    if (rc > 0 && v != actual)
        return fmt_fail(err, "convert: clip: config.json has %s%s%s = %d, the weights say %d", obj_name,
                        *obj_name ? "." : "", key, v, actual);
    return 0;
}

static int hf_tower(const json_value *tc, const char *name, int width, int layers, int *heads, double *eps,
                    fmt_error *err)
{
    if (!tc) return 0;
    if (tc->type != JSON_OBJECT) return fmt_fail(err, "convert: clip: config.json: %s is not an object", name);
    if (hf_agree(tc, name, "hidden_size", width, err) || hf_agree(tc, name, "num_hidden_layers", layers, err) ||
        hf_agree(tc, name, "intermediate_size", 4 * width, err))
        return -1;
    const char *act = json_str(json_get(tc, "hidden_act"));
    if (act && strcmp(act, "quick_gelu"))
        return fmt_fail(err, "convert: clip: config.json: %s.hidden_act is \"%.40s\"; only OpenAI's quick_gelu CLIP "
                             "is supported", name, act);
    if (convert_config_int(tc, "num_attention_heads", heads, err) < 0) return fmt_prefix(err, "clip: ");
    const json_value *e = json_get(tc, "layer_norm_eps");
    if (e && e->type != JSON_NULL) {
        if (e->type != JSON_NUMBER || !(e->number > 0 && e->number < 1))
            return fmt_fail(err, "convert: clip: config.json: %s.layer_norm_eps is not a small positive number", name);
        if (*eps > 0 && *eps != e->number)
            return fmt_fail(err, "convert: clip: config.json: the towers' layer_norm_eps differ");
        *eps = e->number;
    }
    return 0;
}

static const json_value *hf_sub(const json_value *cfg, const char *key, const char *key_dict)
{
    const json_value *v = json_get(cfg, key);
    if (!v || v->type == JSON_NULL) v = json_get(cfg, key_dict);
    return v && v->type != JSON_NULL ? v : NULL;
}

/* --config: a Hugging Face CLIPConfig (text_config / vision_config), or an
 * object with "vision_heads" / "text_heads" for an OpenAI-named file. */
static int clip_apply_config(const json_value *cfg, clip_config *c, fmt_error *err)
{
    const json_value *vc = hf_sub(cfg, "vision_config", "vision_config_dict");
    const json_value *tc = hf_sub(cfg, "text_config", "text_config_dict");
    if (!vc && !tc && !json_get(cfg, "vision_heads") && !json_get(cfg, "text_heads"))
        return fmt_fail(err, "convert: clip: --config is not a CLIP config.json (no vision_config / text_config)");
    double eps = 0;
    if (hf_agree(cfg, "", "projection_dim", c->embed_dim, err) ||
        hf_tower(vc, "vision_config", c->vision_width, c->vision_layers, &c->vision_heads, &eps, err) ||
        hf_agree(vc, "vision_config", "patch_size", c->patch, err) ||
        hf_agree(vc, "vision_config", "image_size", c->image_size, err) ||
        hf_tower(tc, "text_config", c->text_width, c->text_layers, &c->text_heads, &eps, err) ||
        hf_agree(tc, "text_config", "max_position_embeddings", c->context_length, err) ||
        hf_agree(tc, "text_config", "vocab_size", c->vocab_size, err))
        return -1;
    if (convert_config_int(cfg, "vision_heads", &c->vision_heads, err) < 0 ||
        convert_config_int(cfg, "text_heads", &c->text_heads, err) < 0)
        return fmt_prefix(err, "clip: ");
    if (eps > 0) c->eps = eps;
    return 0;
}

static int clip_check_heads(const char *tower, int width, int heads, fmt_error *err)
{
    if (heads < 1 || width % heads)
        return fmt_fail(err, "convert: clip: %s width %d does not split into %d heads (heads = width / 64 unless "
                             "--config gives them)", tower, width, heads);
    return 0;
}

/* OpenAI's TorchScript archives carry input_resolution, context_length and
 * vocab_size as scalar tensors: they must agree with the shapes. */
static int clip_check_scalars(clip_map *m, const clip_config *c, fmt_error *err)
{
    static const char *const keys[] = {"input_resolution", "context_length", "vocab_size"};
    const int want[] = {c->image_size, c->context_length, c->vocab_size};
    for (int i = 0; i < 3 && !m->hf; i++) {
        const ckpt_tensor *t = convert_find(m->s, keys[i]);
        long long v;
        if (!t) continue;
        if (convert_scalar_int(t, &v)) return fmt_fail(err, "convert: clip: %s is not an integer scalar", keys[i]);
        if (v != want[i]) return fmt_fail(err, "convert: clip: %s is %lld, the weights say %d", keys[i], v, want[i]);
    }
    return 0;
}

static int clip_write_config(convert_job *j, const clip_config *c, fmt_error *err)
{
    char eps[32], text[512];
    convert_format_number(c->eps, eps, sizeof eps);
    snprintf(text, sizeof text,
             "{\"embed_dim\": %d, \"image_size\": %d, \"patch\": %d, \"vision_width\": %d, \"vision_layers\": %d, "
             "\"vision_heads\": %d, \"context_length\": %d, \"vocab_size\": %d, \"text_width\": %d, "
             "\"text_layers\": %d, \"text_heads\": %d, \"eps\": %s}",
             c->embed_dim, c->image_size, c->patch, c->vision_width, c->vision_layers, c->vision_heads,
             c->context_length, c->vocab_size, c->text_width, c->text_layers, c->text_heads, eps);
    return convert_meta(j, "unprompt.config", text, err);
}

/* ---- tensors ------------------------------------------------------------------- */

static const struct {
    const char *suffix, *dims; /* W width, T 3W, F 4W */
} clip_block[] = {
    {"ln_1.weight", "W"},      {"ln_1.bias", "W"},       {"attn.in_proj_weight", "TW"}, {"attn.in_proj_bias", "T"},
    {"attn.out_proj.weight", "WW"}, {"attn.out_proj.bias", "W"}, {"ln_2.weight", "W"},  {"ln_2.bias", "W"},
    {"mlp.c_fc.weight", "FW"}, {"mlp.c_fc.bias", "F"},   {"mlp.c_proj.weight", "WF"},   {"mlp.c_proj.bias", "W"},
};

static const struct {
    int vision;
    const char *name, *dims; /* + P patch, N positions, E embed, V vocab, C context */
} clip_top[] = {
    {1, "visual.conv1.weight", "W3PP"}, {1, "visual.class_embedding", "W"}, {1, "visual.positional_embedding", "NW"},
    {1, "visual.ln_pre.weight", "W"},   {1, "visual.ln_pre.bias", "W"},     {1, "visual.ln_post.weight", "W"},
    {1, "visual.ln_post.bias", "W"},    {1, "visual.proj", "WE"},           {0, "token_embedding.weight", "VW"},
    {0, "positional_embedding", "CW"},  {0, "ln_final.weight", "W"},        {0, "ln_final.bias", "W"},
    {0, "text_projection", "WE"},       {0, "logit_scale", ""},
};

static int clip_tower(clip_map *m, int vision, const clip_config *c, fmt_error *err)
{
    size_t letters[26] = {0};
    size_t w = (size_t)(vision ? c->vision_width : c->text_width);
    size_t grid = (size_t)(c->image_size / c->patch);
    letters['W' - 'A'] = w, letters['T' - 'A'] = 3 * w, letters['F' - 'A'] = 4 * w;
    letters['P' - 'A'] = (size_t)c->patch, letters['N' - 'A'] = grid * grid + 1;
    letters['E' - 'A'] = (size_t)c->embed_dim, letters['V' - 'A'] = (size_t)c->vocab_size;
    letters['C' - 'A'] = (size_t)c->context_length;
    for (size_t i = 0; i < sizeof clip_top / sizeof clip_top[0]; i++)
        if (clip_top[i].vision == vision && clip_take(m, clip_top[i].name, clip_top[i].dims, letters, err)) return -1;
    int layers = vision ? c->vision_layers : c->text_layers;
    for (int b = 0; b < layers; b++)
        for (size_t i = 0; i < sizeof clip_block / sizeof clip_block[0]; i++) {
            char name[160];
            snprintf(name, sizeof name, "%s%d.%s", hf_towers[vision ? 0 : 1].openai, b, clip_block[i].suffix);
            if (clip_take(m, name, clip_block[i].dims, letters, err)) return -1;
        }
    return 0;
}

/* ---- tokenizer ----------------------------------------------------------------- */

/* "first second": two non-empty tokens, one space, no other whitespace. */
static int is_merge(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    if (!sp || sp == line || sp == line + len - 1 || memchr(sp + 1, ' ', (size_t)(line + len - sp - 1))) return 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\t' || line[i] == '\r' || line[i] == '\n') return 0;
    return 1;
}

/* The merges simple_tokenizer uses: after the "#version" line, the next
 * 48,894 lines (fewer in a tiny test file), joined by "\n". */
static int clip_merges(const char *text, size_t len, buf *out, size_t *count, fmt_error *err)
{
    const char *p = text, *end = text + len;
    const char *nl = memchr(p, '\n', len);
    size_t first_len = nl ? (size_t)(nl - p) : len;
    char first[160];
    snprintf(first, sizeof first, "%.*s", (int)(first_len < 159 ? first_len : 159), p);
    if (!strstr(first, "#version"))
        return fmt_fail(err, "convert: clip: --vocab is not CLIP's BPE merges (no \"#version\" header line); give "
                             "bpe_simple_vocab_16e6.txt.gz or Hugging Face merges.txt");
    p = nl ? nl + 1 : end;
    *count = 0;
    while (p < end && *count < CLIP_MERGES_USED) {
        nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && p[l - 1] == '\r') l--;
        if (!l && (!nl || nl + 1 == end)) break; /* the final newline */
        if (!is_merge(p, l))
            return fmt_fail(err, "convert: clip: --vocab line %zu is not a merge (\"first second\")", *count + 2);
        if ((*count && buf_append_char(out, '\n', err)) || buf_append(out, p, l, err)) return -1;
        (*count)++;
        p = nl ? nl + 1 : end;
    }
    if (*count == 0) return fmt_fail(err, "convert: clip: --vocab holds no merges");
    return 0;
}

/* vocab.json (optional): the token ids the merges imply. */
static int clip_check_vocab_json(const json_value *v, const char *merges, size_t merges_len, size_t count,
                                 int vocab_size, fmt_error *err)
{
    if (v->type != JSON_OBJECT || v->count != (size_t)vocab_size)
        return fmt_fail(err, "convert: clip: vocab.json has %zu entries, the model %d tokens", v->count, vocab_size);
    const json_value *sot = json_get(v, "<|startoftext|>"), *eot = json_get(v, "<|endoftext|>");
    if (!sot || !eot || sot->number != vocab_size - 2 || eot->number != vocab_size - 1)
        return fmt_fail(err, "convert: clip: vocab.json: <|startoftext|> / <|endoftext|> are not the last two ids");
    /* the first and the last merge: their joined token has id 512 + rank */
    const char *last = merges;
    for (const char *q = merges; q < merges + merges_len; q++)
        if (*q == '\n') last = q + 1;
    const char *lines[2] = {merges, last};
    size_t ranks[2] = {0, count - 1};
    for (int k = 0; k < 2; k++) {
        char token[256];
        size_t n = 0;
        for (const char *q = lines[k]; q < merges + merges_len && *q != '\n' && n + 1 < sizeof token; q++)
            if (*q != ' ') token[n++] = *q;
        token[n] = 0;
        const json_value *id = json_get(v, token);
        if (!id || id->type != JSON_NUMBER || id->number != (double)(512 + ranks[k]))
            return fmt_fail(err, "convert: clip: vocab.json does not match the merges (token \"%.60s\")", token);
    }
    return 0;
}

static int clip_tokenizer(convert_job *j, const convert_source *s, int vocab_size, fmt_error *err)
{
    char *text;
    size_t len, count = 0;
    if (convert_vocab_text(s, "clip: CLIP needs its BPE merges: --vocab bpe_simple_vocab_16e6.txt.gz (openai/CLIP, "
                              "clip/; `make weights` fetches it) or Hugging Face merges.txt",
                           &text, &len, err))
        return -1;
    buf merges;
    buf_init(&merges, 0);
    int rc = clip_merges(text, len, &merges, &count, err);
    free(text);
    if (!rc && 512 + count + 2 != (size_t)vocab_size)
        rc = fmt_fail(err, "convert: clip: %zu merges make 512 + %zu + 2 = %zu tokens, but token_embedding has %d rows "
                           "(wrong --vocab file?)", count, count, 512 + count + 2, vocab_size);
    if (!rc && s->vocab_json) rc = clip_check_vocab_json(s->vocab_json, merges.data, merges.len, count, vocab_size, err);
    if (!rc) rc = convert_add_bytes(j, "tokenizer.bpe_merges", merges.data, merges.len, err);
    buf_free(&merges);
    return rc;
}

/* ---- entry ---------------------------------------------------------------------- */

static int is_resnet(const convert_source *s)
{
    return convert_find(s, "visual.layer1.0.conv1.weight") || convert_find(s, "visual.attnpool.c_proj.weight");
}

static int is_hf(const convert_source *s)
{
    return convert_find(s, "vision_model.embeddings.patch_embedding.weight") ||
           convert_find(s, "text_model.embeddings.token_embedding.weight");
}

int convert_is_clip(const convert_source *s)
{
    return is_resnet(s) || is_hf(s) || (convert_find(s, "visual.conv1.weight") && convert_find(s, "text_projection"));
}

int convert_clip(convert_job *j, const convert_source *s, fmt_error *err)
{
    if (is_resnet(s))
        return fmt_fail(err, "convert: clip: this is a ResNet CLIP (RN50, RN101, ...); only the ViT CLIPs (ViT-B/32, "
                             "ViT-B/16, ViT-L/14) are supported");
    clip_map m = {j, s, is_hf(s)};
    clip_config c;
    memset(&c, 0, sizeof c);
    if (clip_infer(&m, &c, err) || (s->config && clip_apply_config(s->config, &c, err)) ||
        clip_check_heads("vision", c.vision_width, c.vision_heads, err) ||
        clip_check_heads("text", c.text_width, c.text_heads, err) || clip_check_scalars(&m, &c, err))
        return -1;
    if (clip_tokenizer(j, s, c.vocab_size, err)) return -1;
    return clip_tower(&m, 1, &c, err) || clip_tower(&m, 0, &c, err) ? -1 : clip_write_config(j, &c, err);
}
