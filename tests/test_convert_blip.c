/* BLIP conversion: the tiny blip_decoder checkpoint of
 * tests/fixtures/make_convert_fixtures.py (torch.save({"model": state_dict,
 * ...}), LM decoder tied to the word embeddings) converted and compared with
 * what the script computed with PyTorch (per tensor SHA-256 of the f32 / f16 /
 * bf16 output, the config, the vocabulary bytes); the tied decoder is dropped,
 * an untied one kept; broken or inconsistent inputs are refused. */
#include "tests/convert_fixture.h"
#include "tests/cli.h"

static char out_f32[256], tmp_src[256], tmp_out[256], tmp_text[256];

static unprompt_convert_params params(const char *vocab)
{
    unprompt_convert_params p = unprompt_convert_default_params();
    p.vocab_path = vocab;
    return p;
}

static void check_converted(const char *out, int which)
{
    fx_out o;
    CHECK(fx_open_out(&o, out) == 0);
    if (!o.ok) return;
    CHECK(fx_check_expected(&o.st, FX "blip_expected.txt", which) == 0);
    CHECK(fx_check_config(&o.st, FX "blip_expected_config.json") == 0);
    CHECK_STR(st_meta(&o.st, "unprompt.kind"), "blip");
    CHECK_STR(st_meta(&o.st, "unprompt.source"), "blip.pth");
    CHECK_STR(st_meta(&o.st, "unprompt.dtype"), which == FX_F32 ? "f32" : which == FX_F16 ? "f16" : "bf16");
    size_t len = 0;
    uint8_t *pth = test_read_file(FX "blip.pth", &len);
    char hex[65] = "";
    if (pth) sha256_hex(pth, len, hex);
    CHECK_STR(st_meta(&o.st, "unprompt.source_sha256"), hex);
    free(pth);
    fx_close_out(&o);
}

static void test_caption_checkpoint(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "blip_vocab.txt"); /* kind detected from the names */
    CHECK(fx_convert(FX "blip.pth", out_f32, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(out_f32, FX_F32);
}

static void test_f16_and_bf16_outputs(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "blip_vocab.txt");
    p.dtype = "f16";
    CHECK(fx_convert(FX "blip.pth", tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(tmp_out, FX_F16);
    p.dtype = "bf16";
    p.kind = "blip";
    CHECK(fx_convert(FX "blip.pth", tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(tmp_out, FX_BF16);
    unlink(tmp_out);
}

/* f32 → f32 is a copy: each kept tensor holds the checkpoint's bytes. */
static void test_bits_equal_the_source(void)
{
    fx_source s;
    fx_out o;
    CHECK(fx_load(&s, FX "blip.pth") == 0 && fx_open_out(&o, out_f32) == 0);
    if (!s.t || !o.ok) return;
    size_t same = 0, floats = 0;
    for (size_t i = 0; i < o.st.n_tensors; i++) {
        const st_tensor *t = &o.st.tensors[i];
        const fx_tensor *src = fx_get(&s, t->name);
        if (t->dtype != ST_F32) continue;
        floats++;
        same += src && fx_nbytes(src) == t->nbytes && !memcmp(src->data, t->data, t->nbytes);
    }
    CHECK(floats == 65 && same == floats);
    /* what the captioner does not use is gone */
    CHECK(fx_get(&s, "text_decoder.cls.predictions.decoder.weight") != NULL);
    CHECK(st_find(&o.st, "text_decoder.cls.predictions.decoder.weight") == NULL);
    CHECK(st_find(&o.st, "text_decoder.cls.predictions.decoder.bias") == NULL);
    CHECK(st_find(&o.st, "text_decoder.bert.embeddings.position_ids") == NULL);
    fx_close_out(&o);
    fx_free(&s);
}

/* A decoder weight that is not the word embeddings is kept (the engine
 * then uses it); an equal copy (not shared) is still recognised as tied. */
static void test_untied_decoder_kept(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "blip_vocab.txt");
    fx_source s;
    CHECK(fx_load(&s, FX "blip.pth") == 0);
    if (!s.t) return;
    fx_tensor *dec = fx_get(&s, "text_decoder.cls.predictions.decoder.weight");
    size_t shape[2] = {32, 64};
    fx_reshape(dec, 2, shape); /* other values */
    CHECK(fx_write(&s, tmp_src) == 0);
    CHECK(fx_convert(tmp_src, tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    fx_out o;
    CHECK(fx_open_out(&o, tmp_out) == 0);
    const st_tensor *t = o.ok ? st_find(&o.st, "text_decoder.cls.predictions.decoder.weight") : NULL;
    CHECK(t && t->nbytes == 32 * 64 * 4 && !memcmp(t->data, dec->data, t->nbytes));
    fx_close_out(&o);
    fx_free(&s);

    fx_load(&s, FX "blip.pth"); /* written as two separate but equal tensors */
    CHECK(fx_write(&s, tmp_src) == 0);
    CHECK(fx_convert(tmp_src, tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    CHECK(fx_open_out(&o, tmp_out) == 0);
    CHECK(o.ok && fx_check_expected(&o.st, FX "blip_expected.txt", FX_F32) == 0);
    fx_close_out(&o);
    fx_free(&s);
    unlink(tmp_src), unlink(tmp_out);
}

static void expect_refused(const fx_source *s, const unprompt_convert_params *p, const char *reason)
{
    char err[256] = "";
    unlink(tmp_out);
    CHECK(fx_write(s, tmp_src) == 0);
    CHECK(fx_convert(tmp_src, tmp_out, p, err, sizeof err) == UNPROMPT_ERR_FORMAT);
    if (!strstr(err, reason)) fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", err, reason);
    CHECK(strstr(err, reason) != NULL);
    CHECK(access(tmp_out, F_OK) != 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) fputs(text, f), fclose(f);
}

static void test_broken_checkpoints_refused(void)
{
    unprompt_convert_params p = params(FX "blip_vocab.txt");
    fx_source s;
    CHECK(fx_load(&s, FX "blip.pth") == 0);
    if (!s.t) return;
    fx_drop(&s, "text_decoder.bert.encoder.layer.0.crossattention.self.value.bias");
    expect_refused(&s, &p, "layer.0.crossattention.self.value.bias is missing");
    fx_free(&s);

    fx_load(&s, FX "blip.pth");
    size_t kv[2] = {64, 48};
    fx_reshape(fx_get(&s, "text_decoder.bert.encoder.layer.0.crossattention.self.key.weight"), 2, kv);
    expect_refused(&s, &p, "crossattention.self.key.weight is [64, 48], expected [64, 64]");
    fx_free(&s);

    fx_load(&s, FX "blip.pth");
    size_t pos[3] = {1, 20, 64};
    fx_reshape(fx_get(&s, "visual_encoder.pos_embed"), 3, pos);
    expect_refused(&s, &p, "not grid^2 + 1");
    fx_free(&s);

    fx_load(&s, FX "blip.pth"); /* vision block 1 missing while block 2 exists */
    for (size_t i = 0; i < s.n; i++) {
        char *at = strstr(s.t[i].name, "visual_encoder.blocks.1.");
        if (at) at[strlen("visual_encoder.blocks.")] = '2';
    }
    expect_refused(&s, &p, "visual_encoder.blocks.1.norm1.weight is missing");
    fx_free(&s);

    fx_load(&s, FX "blip.pth"); /* a BLIP without the caption decoder (e.g. retrieval) */
    for (size_t i = 0; i < s.n; i++)
        if (!strncmp(s.t[i].name, "text_decoder.", 13)) memcpy(s.t[i].name, "text_encoder.", 13);
    expect_refused(&s, &p, "no caption decoder");
    fx_free(&s);

    fx_load(&s, FX "blip.pth");
    size_t bias[1] = {32};
    fx_reshape(fx_get(&s, "text_decoder.cls.predictions.decoder.bias"), 1, bias);
    expect_refused(&s, &p, "decoder.bias differs");
    fx_free(&s);
}

static void test_vocabulary_checked(void)
{
    fx_source s;
    CHECK(fx_load(&s, FX "blip.pth") == 0);
    if (!s.t) return;
    unprompt_convert_params p = params(NULL);
    expect_refused(&s, &p, "--vocab vocab.txt of bert-base-uncased");
    p = params(tmp_text);
    write_text(tmp_text, "[PAD]\n[SEP]\na\n");
    expect_refused(&s, &p, "vocab.txt has 3 tokens + [DEC] + [ENC] = 5, but the word embeddings have 32 rows");
    write_text(tmp_text, "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP ]\n[MASK]\n!\n,\n.\na\nan\nthe\nof\npicture\ncat\ndog\n"
                         "sitting\non\ntable\nwith\nwoman\nman\npainting\nred\nblue\n##s\n##ing\n##ed\ncafe\nx\n");
    expect_refused(&s, &p, "no [SEP]");
    p = params(FX "blip_vocab.txt");
    p.config_path = tmp_text; /* BLIP's med_config.json must agree with the weights */
    write_text(tmp_text, "{\"hidden_size\": 64, \"num_hidden_layers\": 12, \"encoder_width\": 64}");
    expect_refused(&s, &p, "num_hidden_layers = 12, the weights say 1");
    write_text(tmp_text, "{\"hidden_size\": 64, \"num_attention_heads\": 5}");
    expect_refused(&s, &p, "text width 64 does not split into 5 heads");
    fx_free(&s);
    unlink(tmp_text), unlink(tmp_src);
}

static void test_cli(void)
{
    char args[1024];
    snprintf(args, sizeof args, "convert " FX "blip.pth " FX "blip_vocab.txt -o %s", tmp_out);
    cli_result r = cli_run(args);
    CHECK(r.status == 0);
    fx_out a, b;
    CHECK(fx_open_out(&a, tmp_out) == 0 && fx_open_out(&b, out_f32) == 0);
    CHECK(a.ok && b.ok && fx_same_tensors(&a.st, &b.st));
    fx_close_out(&a), fx_close_out(&b);
    cli_free(&r);
    snprintf(args, sizeof args, "convert " FX "blip.pth -o %s", tmp_out);
    r = cli_run(args);
    CHECK(r.status == 1 && strstr(r.err, "vocab.txt") && strstr(r.err, "bert-base-uncased"));
    cli_free(&r);
    snprintf(args, sizeof args, "convert " FX "blip.pth --vocab /nonexistent/vocab.txt -o %s", tmp_out);
    r = cli_run(args);
    CHECK(r.status == 2 && strstr(r.err, "/nonexistent/vocab.txt"));
    cli_free(&r);
    unlink(tmp_out);
}

int main(void)
{
    long pid = (long)getpid();
    snprintf(out_f32, sizeof out_f32, "/tmp/unprompt-cb-%ld.safetensors", pid);
    snprintf(tmp_src, sizeof tmp_src, "/tmp/unprompt-cb-%ld-src.safetensors", pid);
    snprintf(tmp_out, sizeof tmp_out, "/tmp/unprompt-cb-%ld-out.safetensors", pid);
    snprintf(tmp_text, sizeof tmp_text, "/tmp/unprompt-cb-%ld.txt", pid);
    RUN(test_caption_checkpoint);
    RUN(test_f16_and_bf16_outputs);
    RUN(test_bits_equal_the_source);
    RUN(test_untied_decoder_kept);
    RUN(test_broken_checkpoints_refused);
    RUN(test_vocabulary_checked);
    RUN(test_cli);
    unlink(out_f32);
    return test_summary("convert_blip");
}
