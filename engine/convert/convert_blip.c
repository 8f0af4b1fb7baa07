/* BLIP captioner: model_base_caption_capfilt_large.pth / model_large_caption.pth
 * (BLIP's blip_decoder state dict, under "model") → blip.safetensors
 * (weights/FORMAT.md). Names stay as in the checkpoint; only what the
 * captioner runs is kept: the vision transformer and the BERT LM decoder.
 * Dropped: position_ids, the decoder bias (the same Parameter as
 * cls.predictions.bias) and the decoder weight when it is tied to the word
 * embeddings. The config comes from the shapes (heads = width / 64); the
 * bert-base-uncased vocab.txt becomes the U8 tensor tokenizer.vocab. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/convert.h"

#define BLIP_MAX_DIM ((size_t)1 << 20)
#define VIS "visual_encoder."
#define DEC "text_decoder."
#define BERT "text_decoder.bert."

typedef struct {
    int image_size, patch, vision_width, vision_layers, vision_heads, vision_mlp;
    int text_width, text_layers, text_heads, text_intermediate, vocab_size, max_positions;
    int bos_id, sep_id, pad_id;
} blip_config;

static const struct {
    const char *name, *dims; /* W vision width, T 3W, M mlp, P patch, N positions */
} blip_vision_top[] = {
    {VIS "patch_embed.proj.weight", "W3PP"}, {VIS "patch_embed.proj.bias", "W"}, {VIS "cls_token", "11W"},
    {VIS "pos_embed", "1NW"}, {VIS "norm.weight", "W"}, {VIS "norm.bias", "W"},
};

static const struct {
    const char *suffix, *dims;
} blip_vision_block[] = {
    {"norm1.weight", "W"}, {"norm1.bias", "W"},  {"attn.qkv.weight", "TW"}, {"attn.qkv.bias", "T"},
    {"attn.proj.weight", "WW"}, {"attn.proj.bias", "W"}, {"norm2.weight", "W"}, {"norm2.bias", "W"},
    {"mlp.fc1.weight", "MW"}, {"mlp.fc1.bias", "M"}, {"mlp.fc2.weight", "WM"}, {"mlp.fc2.bias", "W"},
};

static const struct {
    const char *name, *dims; /* H text width, V vocab, Q max positions */
} blip_text_top[] = {
    {BERT "embeddings.word_embeddings.weight", "VH"},
    {BERT "embeddings.position_embeddings.weight", "QH"},
    {BERT "embeddings.LayerNorm.weight", "H"},
    {BERT "embeddings.LayerNorm.bias", "H"},
    {DEC "cls.predictions.transform.dense.weight", "HH"},
    {DEC "cls.predictions.transform.dense.bias", "H"},
    {DEC "cls.predictions.transform.LayerNorm.weight", "H"},
    {DEC "cls.predictions.transform.LayerNorm.bias", "H"},
    {DEC "cls.predictions.bias", "V"},
};

static const struct {
    const char *suffix, *dims; /* + W vision width (cross-attention keys/values), I intermediate */
} blip_text_layer[] = {
    {"attention.self.query.weight", "HH"},         {"attention.self.query.bias", "H"},
    {"attention.self.key.weight", "HH"},           {"attention.self.key.bias", "H"},
    {"attention.self.value.weight", "HH"},         {"attention.self.value.bias", "H"},
    {"attention.output.dense.weight", "HH"},       {"attention.output.dense.bias", "H"},
    {"attention.output.LayerNorm.weight", "H"},    {"attention.output.LayerNorm.bias", "H"},
    {"crossattention.self.query.weight", "HH"},    {"crossattention.self.query.bias", "H"},
    {"crossattention.self.key.weight", "HW"},      {"crossattention.self.key.bias", "H"},
    {"crossattention.self.value.weight", "HW"},    {"crossattention.self.value.bias", "H"},
    {"crossattention.output.dense.weight", "HH"},  {"crossattention.output.dense.bias", "H"},
    {"crossattention.output.LayerNorm.weight", "H"}, {"crossattention.output.LayerNorm.bias", "H"},
    {"intermediate.dense.weight", "IH"},           {"intermediate.dense.bias", "I"},
    {"output.dense.weight", "HI"},                 {"output.dense.bias", "H"},
    {"output.LayerNorm.weight", "H"},              {"output.LayerNorm.bias", "H"},
};

int convert_is_blip(const convert_source *s)
{
    return convert_find(s, VIS "patch_embed.proj.weight") != NULL;
}

static const ckpt_tensor *blip_get(const convert_source *s, const char *name, fmt_error *err)
{
    const ckpt_tensor *t = convert_find(s, name);
    if (!t) fmt_fail(err, "convert: blip: %s is missing", name);
    return t;
}

/* A dimension of a tensor that must exist with rank `rank`. */
static int blip_dim(const convert_source *s, const char *name, int rank, int d, int *out, fmt_error *err)
{
    const ckpt_tensor *t = blip_get(s, name, err);
    if (!t) return -1;
    if (t->rank != rank) return fmt_fail(err, "convert: blip: %s has rank %d, expected %d", name, t->rank, rank);
    if (t->shape[d] == 0 || t->shape[d] > BLIP_MAX_DIM)
        return fmt_fail(err, "convert: blip: %s has a dimension of %zu", name, t->shape[d]);
    *out = (int)t->shape[d];
    return 0;
}

static int blip_layers(const convert_source *s, const char *prefix, int *n, fmt_error *err)
{
    *n = convert_count_blocks(s, prefix);
    if (*n < 0) return fmt_fail(err, "convert: blip: a tensor under %s has a bad block number", prefix);
    if (*n == 0) return fmt_fail(err, "convert: blip: no blocks under %s", prefix);
    return 0;
}

static int blip_infer(const convert_source *s, blip_config *c, fmt_error *err)
{
    int positions = 0, grid = 0;
    if (blip_dim(s, VIS "patch_embed.proj.weight", 4, 0, &c->vision_width, err) ||
        blip_dim(s, VIS "patch_embed.proj.weight", 4, 3, &c->patch, err) ||
        blip_dim(s, VIS "pos_embed", 3, 1, &positions, err) ||
        blip_dim(s, VIS "blocks.0.mlp.fc1.weight", 2, 0, &c->vision_mlp, err) ||
        blip_dim(s, BERT "embeddings.word_embeddings.weight", 2, 0, &c->vocab_size, err) ||
        blip_dim(s, BERT "embeddings.word_embeddings.weight", 2, 1, &c->text_width, err) ||
        blip_dim(s, BERT "embeddings.position_embeddings.weight", 2, 0, &c->max_positions, err) ||
        blip_dim(s, BERT "encoder.layer.0.intermediate.dense.weight", 2, 0, &c->text_intermediate, err) ||
        blip_layers(s, VIS "blocks.", &c->vision_layers, err) || blip_layers(s, BERT "encoder.layer.", &c->text_layers, err))
        return -1;
    while ((grid + 1) * (grid + 1) <= positions - 1) grid++;
    if (positions < 2 || grid * grid != positions - 1)
        return fmt_fail(err, "convert: blip: %s has %d positions, not grid^2 + 1", VIS "pos_embed", positions);
    if ((size_t)grid * (size_t)c->patch > BLIP_MAX_DIM) return fmt_fail(err, "convert: blip: image size out of range");
    c->image_size = grid * c->patch;
    c->vision_heads = c->vision_width / 64, c->text_heads = c->text_width / 64;
    return 0;
}

/* --config: BLIP's med_config.json (a BertConfig) must agree with the shapes;
 * it may give the text heads. */
static int blip_apply_config(const json_value *cfg, blip_config *c, fmt_error *err)
{
    static const char *const keys[] = {"hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size",
                                       "max_position_embeddings", "encoder_width"};
    const int actual[] = {c->text_width, c->text_layers, c->text_intermediate, c->vocab_size, c->max_positions,
                          c->vision_width};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int v = 0, rc = convert_config_int(cfg, keys[i], &v, err);
        if (rc < 0) return fmt_prefix(err, "blip: ");
        if (rc > 0 && v != actual[i])
            return fmt_fail(err, "convert: blip: --config has %s = %d, the weights say %d", keys[i], v, actual[i]);
    }
    if (convert_config_int(cfg, "num_attention_heads", &c->text_heads, err) < 0) return fmt_prefix(err, "blip: ");
    return 0;
}

static int blip_check_heads(const char *what, int width, int heads, fmt_error *err)
{
    if (heads < 1 || width % heads)
        return fmt_fail(err, "convert: blip: %s width %d does not split into %d heads (heads = width / 64)", what, width,
                        heads);
    return 0;
}

/* ---- tensors ------------------------------------------------------------------- */

static int blip_take(convert_job *j, const convert_source *s, const char *name, const char *dims, const size_t *letters,
                     fmt_error *err)
{
    const ckpt_tensor *t = blip_get(s, name, err);
    if (!t || convert_expect("blip", name, t->rank, t->shape, dims, letters, err)) return -1;
    return convert_add(j, name, t, err);
}

static int blip_tensors(convert_job *j, const convert_source *s, const blip_config *c, fmt_error *err)
{
    size_t letters[26] = {0};
    size_t grid = (size_t)(c->image_size / c->patch);
    letters['W' - 'A'] = (size_t)c->vision_width, letters['T' - 'A'] = 3 * (size_t)c->vision_width;
    letters['M' - 'A'] = (size_t)c->vision_mlp, letters['P' - 'A'] = (size_t)c->patch;
    letters['N' - 'A'] = grid * grid + 1, letters['H' - 'A'] = (size_t)c->text_width;
    letters['V' - 'A'] = (size_t)c->vocab_size, letters['Q' - 'A'] = (size_t)c->max_positions;
    letters['I' - 'A'] = (size_t)c->text_intermediate;
    char name[192];
    for (size_t i = 0; i < sizeof blip_vision_top / sizeof blip_vision_top[0]; i++)
        if (blip_take(j, s, blip_vision_top[i].name, blip_vision_top[i].dims, letters, err)) return -1;
    for (int b = 0; b < c->vision_layers; b++)
        for (size_t i = 0; i < sizeof blip_vision_block / sizeof blip_vision_block[0]; i++) {
            snprintf(name, sizeof name, VIS "blocks.%d.%s", b, blip_vision_block[i].suffix);
            if (blip_take(j, s, name, blip_vision_block[i].dims, letters, err)) return -1;
        }
    for (size_t i = 0; i < sizeof blip_text_top / sizeof blip_text_top[0]; i++)
        if (blip_take(j, s, blip_text_top[i].name, blip_text_top[i].dims, letters, err)) return -1;
    for (int b = 0; b < c->text_layers; b++)
        for (size_t i = 0; i < sizeof blip_text_layer / sizeof blip_text_layer[0]; i++) {
            snprintf(name, sizeof name, BERT "encoder.layer.%d.%s", b, blip_text_layer[i].suffix);
            if (blip_take(j, s, name, blip_text_layer[i].dims, letters, err)) return -1;
        }
    return 0;
}

/* The LM head's decoder: tied to the word embeddings in BLIP (then the
 * engine uses those); kept only if it differs. Its bias is the same
 * Parameter as cls.predictions.bias. */
static int blip_decoder(convert_job *j, const convert_source *s, fmt_error *err)
{
    const ckpt_tensor *words = convert_find(s, BERT "embeddings.word_embeddings.weight");
    const ckpt_tensor *dec = convert_find(s, DEC "cls.predictions.decoder.weight");
    const ckpt_tensor *bias = convert_find(s, DEC "cls.predictions.bias");
    const ckpt_tensor *dec_bias = convert_find(s, DEC "cls.predictions.decoder.bias");
    if (dec_bias && !convert_same_values(dec_bias, bias))
        return fmt_fail(err, "convert: blip: cls.predictions.decoder.bias differs from cls.predictions.bias");
    if (!dec || convert_same_values(dec, words)) return 0;
    if (dec->rank != 2 || dec->shape[0] != words->shape[0] || dec->shape[1] != words->shape[1])
        return fmt_fail(err, "convert: blip: cls.predictions.decoder.weight does not have the word embeddings' shape");
    return convert_add(j, DEC "cls.predictions.decoder.weight", dec, err);
}

/* ---- tokenizer ----------------------------------------------------------------- */

/* vocab.txt as given: one token a line; the decoder's vocabulary is these
 * plus [DEC] and [ENC]. bos = [DEC] = the line count; [SEP], [PAD] found. */
static int blip_tokenizer(convert_job *j, const convert_source *s, blip_config *c, fmt_error *err)
{
    char *text;
    size_t len;
    if (convert_vocab_text(s, "blip: BLIP needs the BERT vocabulary: --vocab vocab.txt of bert-base-uncased "
                              "(https://huggingface.co/bert-base-uncased; `make weights` fetches it)",
                           &text, &len, err))
        return -1;
    size_t lines = 0;
    long sep = -1, pad = -1;
    for (const char *p = text; p < text + len;) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        if (sep < 0 && l == 5 && !memcmp(p, "[SEP]", 5)) sep = (long)lines;
        if (pad < 0 && l == 5 && !memcmp(p, "[PAD]", 5)) pad = (long)lines;
        lines++;
        p = nl ? nl + 1 : text + len;
    }
    int rc = 0;
    if (lines + 2 != (size_t)c->vocab_size)
        rc = fmt_fail(err, "convert: blip: vocab.txt has %zu tokens + [DEC] + [ENC] = %zu, but the word embeddings "
                           "have %d rows (wrong --vocab file?)", lines, lines + 2, c->vocab_size);
    else if (sep < 0 || pad < 0)
        rc = fmt_fail(err, "convert: blip: vocab.txt has no [SEP] or no [PAD] line: not a BERT vocabulary");
    else
        rc = convert_add_bytes(j, "tokenizer.vocab", text, len, err);
    c->bos_id = (int)lines, c->sep_id = (int)sep, c->pad_id = (int)pad;
    free(text);
    return rc;
}

static int blip_write_config(convert_job *j, const blip_config *c, fmt_error *err)
{
    char text[640];
    snprintf(text, sizeof text,
             "{\"image_size\": %d, \"patch\": %d, \"vision_width\": %d, \"vision_layers\": %d, \"vision_heads\": %d, "
             "\"vision_mlp\": %d, \"vision_eps\": 1e-6, \"text_width\": %d, \"text_layers\": %d, \"text_heads\": %d, "
             "\"text_intermediate\": %d, \"vocab_size\": %d, \"max_positions\": %d, \"text_eps\": 1e-12, "
             "\"bos_id\": %d, \"sep_id\": %d, \"pad_id\": %d}",
             c->image_size, c->patch, c->vision_width, c->vision_layers, c->vision_heads, c->vision_mlp, c->text_width,
             c->text_layers, c->text_heads, c->text_intermediate, c->vocab_size, c->max_positions, c->bos_id, c->sep_id,
             c->pad_id);
    return convert_meta(j, "unprompt.config", text, err);
}

int convert_blip(convert_job *j, const convert_source *s, fmt_error *err)
{
    if (!convert_find(s, BERT "embeddings.word_embeddings.weight"))
        return fmt_fail(err, "convert: blip: no caption decoder (text_decoder.*) in this BLIP checkpoint; use "
                             "model_base_caption_capfilt_large.pth or model_large_caption.pth");
    blip_config c;
    memset(&c, 0, sizeof c);
    if (blip_infer(s, &c, err) || (s->config && blip_apply_config(s->config, &c, err)) ||
        blip_check_heads("vision", c.vision_width, c.vision_heads, err) ||
        blip_check_heads("text", c.text_width, c.text_heads, err) || blip_tokenizer(j, s, &c, err))
        return -1;
    if (blip_tensors(j, s, &c, err) || blip_decoder(j, s, err)) return -1;
    return blip_write_config(j, &c, err);
}
