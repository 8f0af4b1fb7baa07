/* CLIP conversion: the tiny CLIP of tests/fixtures/make_convert_fixtures.py
 * in OpenAI's TorchScript form, as an OpenAI-named state dict and as Hugging
 * Face tensors + config.json, each converted and compared with what the
 * script computed with PyTorch from the same weights (per tensor SHA-256 of
 * the f32 / f16 / bf16 output bytes, the config); HF and OpenAI sources give
 * identical tensors; converted bytes equal the source bytes after the
 * documented concatenation / transposition; the real BPE merges file (when
 * ../shared/data has it) gives exactly simple_tokenizer's merges; broken,
 * inconsistent or unsupported inputs are refused with a reason and leave no
 * output behind. */
#include <zlib.h>

#include "tests/convert_fixture.h"
#include "tests/cli.h"

static char out_jit[256], out_sd[256], out_hf[256], out_f16[256], out_bf16[256], tmp_src[256], tmp_out[256];
static char tmp_text[256];

static unprompt_convert_params params(const char *vocab)
{
    unprompt_convert_params p = unprompt_convert_default_params();
    p.vocab_path = vocab;
    return p;
}

static void test_torchscript_walk_gives_state_dict_names(void)
{
    size_t len = 0, list_len = 0;
    uint8_t *pt = test_read_file(FX "clip_jit.pt", &len);
    char *list = (char *)test_read_file(FX "clip_jit_state_dict.txt", &list_len);
    torch_ckpt ck;
    fmt_error e;
    CHECK(pt && list && torch_ckpt_open(&ck, pt, len, &e) == 0);
    if (!pt || !list) return;
    CHECK(ck.torchscript == 1);
    size_t names = 0, found = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        char name[200], shape[64], got[64] = "scalar";
        if (sscanf(line, "%199s %63s", name, shape) != 2) continue;
        names++;
        const ckpt_tensor *t = torch_ckpt_find(&ck, name);
        if (!t) {
            fprintf(stderr, "    %s: not found by the TorchScript walk\n", name);
            continue;
        }
        size_t used = 0;
        for (int d = 0; d < t->rank; d++) used += (size_t)snprintf(got + used, sizeof got - used, d ? "x%zu" : "%zu", t->shape[d]);
        if (!strcmp(got, shape)) found++;
    }
    CHECK(names == 53 && found == names);
    /* the walk may add tensor attributes that are not in state_dict() (the text
     * blocks' attn_mask): nothing else */
    CHECK(ck.n_tensors >= names && ck.n_tensors <= names + 1);
    torch_ckpt_close(&ck);
    free(pt), free(list);
}

static void check_metadata(const st_file *st, const char *src, const char *dtype)
{
    size_t len = 0;
    uint8_t *bytes = test_read_file(src, &len);
    char hex[65] = "";
    if (bytes) sha256_hex(bytes, len, hex);
    free(bytes);
    const char *slash = strrchr(src, '/');
    CHECK_STR(st_meta(st, "unprompt.kind"), "clip");
    CHECK_STR(st_meta(st, "unprompt.source"), slash + 1);
    CHECK_STR(st_meta(st, "unprompt.source_sha256"), hex);
    CHECK_STR(st_meta(st, "unprompt.dtype"), dtype);
    CHECK(st_meta(st, "unprompt.converter") != NULL);
}

static void check_converted(const char *out, const char *src, int which)
{
    fx_out o;
    CHECK(fx_open_out(&o, out) == 0);
    if (!o.ok) return;
    CHECK(fx_check_expected(&o.st, FX "clip_expected.txt", which) == 0);
    CHECK(fx_check_config(&o.st, FX "clip_expected_config.json") == 0);
    check_metadata(&o.st, src, which == FX_F32 ? "f32" : which == FX_F16 ? "f16" : "bf16");
    fx_close_out(&o);
}

static void test_torchscript_archive(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "clip_bpe.txt.gz"); /* kind detected from the names */
    CHECK(fx_convert(FX "clip_jit.pt", out_jit, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(out_jit, FX "clip_jit.pt", FX_F32);
}

static void test_openai_state_dict(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "clip_merges.txt");
    p.kind = "clip";
    CHECK(fx_convert(FX "clip_sd.pt", out_sd, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(out_sd, FX "clip_sd.pt", FX_F32);
}

static void test_hugging_face_safetensors(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "clip_merges.txt");
    p.config_path = FX "clip_config.json";
    p.vocab_json_path = FX "clip_vocab.json";
    CHECK(fx_convert(FX "clip_hf.safetensors", out_hf, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(out_hf, FX "clip_hf.safetensors", FX_F32);
    p.config_path = NULL; /* the config inferred from the shapes is the same */
    CHECK(fx_convert(FX "clip_hf.safetensors", tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    fx_out o;
    CHECK(fx_open_out(&o, tmp_out) == 0 && fx_check_config(&o.st, FX "clip_expected_config.json") == 0);
    fx_close_out(&o);
    unlink(tmp_out);
}

static void test_all_sources_give_the_same_tensors(void)
{
    fx_out a, b, c;
    CHECK(fx_open_out(&a, out_jit) == 0 && fx_open_out(&b, out_sd) == 0 && fx_open_out(&c, out_hf) == 0);
    CHECK(a.ok && b.ok && c.ok && fx_same_tensors(&a.st, &b.st) && fx_same_tensors(&a.st, &c.st));
    CHECK(a.ok && c.ok && !strcmp(st_meta(&a.st, "unprompt.config"), st_meta(&c.st, "unprompt.config")));
    fx_close_out(&a), fx_close_out(&b), fx_close_out(&c);
}

static void test_f16_and_bf16_outputs(void)
{
    char err[256];
    unprompt_convert_params p = params(FX "clip_bpe.txt.gz");
    p.dtype = "f16";
    CHECK(fx_convert(FX "clip_jit.pt", out_f16, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(out_f16, FX "clip_jit.pt", FX_F16);
    p.dtype = "bf16";
    CHECK(fx_convert(FX "clip_jit.pt", out_bf16, &p, err, sizeof err) == UNPROMPT_OK);
    check_converted(out_bf16, FX "clip_jit.pt", FX_BF16);
    p = params(FX "clip_merges.txt"); /* HF → bf16: the same bytes */
    p.dtype = "bf16";
    CHECK(fx_convert(FX "clip_hf.safetensors", tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    fx_out a, b;
    CHECK(fx_open_out(&a, out_bf16) == 0 && fx_open_out(&b, tmp_out) == 0);
    CHECK(a.ok && b.ok && fx_same_tensors(&a.st, &b.st));
    fx_close_out(&a), fx_close_out(&b);
    unlink(tmp_out);
}

/* f16 source → f16 output: every tensor's bytes are the source's, moved
 * only as FORMAT.md says (HF q|k|v stacked, HF projections transposed). */
static void test_bits_equal_the_source(void)
{
    fx_source jit, hf;
    fx_out o;
    CHECK(fx_load(&jit, FX "clip_jit.pt") == 0 && fx_load(&hf, FX "clip_hf.safetensors") == 0);
    CHECK(fx_open_out(&o, out_f16) == 0);
    if (!o.ok || !jit.t || !hf.t) return;
    size_t same = 0, matrices = 0;
    for (size_t i = 0; i < o.st.n_tensors; i++) {
        const st_tensor *t = &o.st.tensors[i];
        const fx_tensor *s = fx_get(&jit, t->name);
        if (t->dtype != ST_F16) continue;
        matrices++;
        if (s && s->dtype == ST_F16 && fx_nbytes(s) == t->nbytes && !memcmp(s->data, t->data, t->nbytes)) same++;
    }
    CHECK(matrices == 18 && same == matrices);
    /* Hugging Face: in_proj = q, k, v one after the other */
    const st_tensor *in_proj = st_find(&o.st, "visual.transformer.resblocks.1.attn.in_proj_weight");
    const char *qkv[] = {"vision_model.encoder.layers.1.self_attn.q_proj.weight",
                         "vision_model.encoder.layers.1.self_attn.k_proj.weight",
                         "vision_model.encoder.layers.1.self_attn.v_proj.weight"};
    for (int k = 0; k < 3 && in_proj; k++) {
        const fx_tensor *s = fx_get(&hf, qkv[k]);
        CHECK(s && fx_nbytes(s) * 3 == in_proj->nbytes && !memcmp((const uint8_t *)in_proj->data + k * fx_nbytes(s), s->data, fx_nbytes(s)));
    }
    /* Hugging Face: proj[i][j] = visual_projection.weight[j][i] */
    const st_tensor *proj = st_find(&o.st, "visual.proj");
    const fx_tensor *vp = fx_get(&hf, "visual_projection.weight");
    CHECK(proj && vp && proj->shape[0] == 64 && proj->shape[1] == 48 && vp->shape[0] == 48 && vp->shape[1] == 64);
    size_t transposed = 0;
    for (size_t r = 0; proj && vp && r < 64; r++)
        for (size_t c = 0; c < 48; c++)
            transposed += !memcmp((const uint8_t *)proj->data + 2 * (r * 48 + c), (const uint8_t *)vp->data + 2 * (c * 64 + r), 2);
    CHECK(transposed == 64 * 48);
    fx_close_out(&o);
    fx_free(&jit), fx_free(&hf);
}

/* ---- the real merges file ------------------------------------------------------- */

static char *gunzip_file(const char *path, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 22, n = 0;
    char *p = malloc(cap);
    int r;
    while (p && (r = gzread(f, p + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap) p = realloc(p, cap *= 2);
    }
    gzclose(f);
    if (len) *len = n;
    return p;
}

static void check_real_merges(const char *out, const char *want_line)
{
    unsigned long want_count = 0, want_bytes = 0;
    char want_sha[65] = "";
    sscanf(want_line, "%lu %lu %64s", &want_count, &want_bytes, want_sha);
    fx_out o;
    CHECK(fx_open_out(&o, out) == 0);
    if (!o.ok) return;
    const st_tensor *m = st_find(&o.st, "tokenizer.bpe_merges");
    char hex[65] = "";
    if (m) sha256_hex(m->data, m->nbytes, hex);
    CHECK(m && m->nbytes == want_bytes && !strcmp(hex, want_sha));
    size_t lines = 1;
    for (size_t i = 0; m && i < m->nbytes; i++) lines += ((const char *)m->data)[i] == '\n';
    CHECK(lines == want_count && want_count == 48894);
    CHECK(m && m->nbytes > 4 && !memcmp(m->data, "i n\n", 4));
    CHECK(m && m->nbytes > 12 && !memcmp((const char *)m->data + m->nbytes - 12, "\njeky ll</w>", 12));
    fx_close_out(&o);
}

static void test_real_bpe_merges(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared data absent");
    char gz[512];
    snprintf(gz, sizeof gz, "%s/data/bpe_simple_vocab_16e6.txt.gz", shared);
    char *want = (char *)test_read_file(FX "bpe_real.txt", NULL);
    fx_source s;
    CHECK(want && fx_load(&s, FX "clip_sd.pt") == 0);
    if (!want || !s.t) return;
    size_t rows[2] = {49408, 64};
    fx_reshape(fx_get(&s, "token_embedding.weight"), 2, rows); /* the real vocabulary size */
    CHECK(fx_write(&s, tmp_src) == 0);
    char err[256];
    unprompt_convert_params p = params(gz);
    CHECK(fx_convert(tmp_src, tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    check_real_merges(tmp_out, want);
    /* the same merges as an uncompressed Hugging Face-style merges.txt holding
     * every line of the file: only the first 48,894 merges are taken */
    size_t len = 0;
    char *text = gunzip_file(gz, &len);
    const char *body = text ? memchr(text, '\n', len) : NULL;
    FILE *f = fopen(tmp_text, "wb");
    CHECK(body && f);
    if (body && f) {
        fputs("#version: 0.2\n", f);
        fwrite(body + 1, 1, len - (size_t)(body + 1 - text), f);
    }
    if (f) fclose(f);
    p = params(tmp_text);
    CHECK(fx_convert(tmp_src, tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    check_real_merges(tmp_out, want);
    p = params(FX "clip_bpe.txt.gz"); /* 14 merges for 49408 tokens */
    CHECK(fx_convert(tmp_src, tmp_out, &p, err, sizeof err) == UNPROMPT_ERR_FORMAT);
    CHECK(strstr(err, "14 merges") != NULL);
    free(text), free(want);
    fx_free(&s);
    unlink(tmp_src), unlink(tmp_out), unlink(tmp_text);
}

/* ---- refusals --------------------------------------------------------------------- */

/* Convert a hand-edited source: it must be refused with `reason` in the
 * message, and leave no output. */
static void expect_refused(const fx_source *s, const unprompt_convert_params *p, const char *reason)
{
    char err[256] = "";
    unlink(tmp_out);
    CHECK(fx_write(s, tmp_src) == 0);
    int rc = fx_convert(tmp_src, tmp_out, p, err, sizeof err);
    CHECK(rc == UNPROMPT_ERR_FORMAT);
    if (!strstr(err, reason)) fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", err, reason);
    CHECK(strstr(err, reason) != NULL);
    CHECK(access(tmp_out, F_OK) != 0);
}

static void test_missing_and_misshapen_tensors_refused(void)
{
    unprompt_convert_params p = params(FX "clip_merges.txt");
    fx_source s;
    CHECK(fx_load(&s, FX "clip_sd.pt") == 0);
    if (!s.t) return;
    CHECK(fx_drop(&s, "visual.ln_post.bias") == 0);
    expect_refused(&s, &p, "visual.ln_post.bias is missing");
    fx_free(&s);

    fx_load(&s, FX "clip_sd.pt");
    size_t bad[2] = {190, 64};
    fx_reshape(fx_get(&s, "visual.transformer.resblocks.1.attn.in_proj_weight"), 2, bad);
    expect_refused(&s, &p, "resblocks.1.attn.in_proj_weight is [190, 64], expected [192, 64]");
    fx_free(&s);

    fx_load(&s, FX "clip_sd.pt"); /* block 1 renamed to 2: block 1 is missing */
    for (size_t i = 0; i < s.n; i++) {
        char *at = strstr(s.t[i].name, "visual.transformer.resblocks.1.");
        if (at) at[strlen("visual.transformer.resblocks.")] = '2';
    }
    expect_refused(&s, &p, "visual.transformer.resblocks.1.ln_1.weight is missing");
    fx_free(&s);

    fx_load(&s, FX "clip_sd.pt");
    size_t pos[2] = {18, 64};
    fx_reshape(fx_get(&s, "visual.positional_embedding"), 2, pos);
    expect_refused(&s, &p, "not grid^2 + 1");
    fx_free(&s);

    fx_load(&s, FX "clip_sd.pt");
    fx_tensor *t = fx_get(&s, "token_embedding.weight");
    t->dtype = ST_I64;
    size_t rows[2] = {528, 64};
    fx_reshape(t, 2, rows);
    expect_refused(&s, &p, "not floating point");
    fx_free(&s);

    fx_load(&s, FX "clip_sd.pt"); /* an OpenAI scalar that disagrees with the shapes */
    size_t scalar[1] = {0};
    fx_add(&s, "input_resolution", ST_I64, 0, scalar);
    int64_t res = 64;
    memcpy(fx_get(&s, "input_resolution")->owned, &res, 8);
    expect_refused(&s, &p, "input_resolution is 64, the weights say 32");
    fx_free(&s);

    fx_load(&s, FX "clip_hf.safetensors"); /* Hugging Face: k does not stack with q and v */
    size_t k[2] = {64, 32};
    fx_reshape(fx_get(&s, "text_model.encoder.layers.0.self_attn.k_proj.weight"), 2, k);
    expect_refused(&s, &p, "do not stack");
    fx_free(&s);

    fx_load(&s, FX "clip_hf.safetensors");
    fx_drop(&s, "vision_model.encoder.layers.1.self_attn.v_proj.bias");
    expect_refused(&s, &p, "vision_model.encoder.layers.1.self_attn.v_proj.bias is missing");
    fx_free(&s);
}

static void test_resnet_clip_refused(void)
{
    unprompt_convert_params p = params(FX "clip_merges.txt");
    fx_source s;
    CHECK(fx_load(&s, FX "clip_sd.pt") == 0);
    if (!s.t) return;
    fx_drop(&s, "visual.conv1.weight"), fx_drop(&s, "visual.proj");
    size_t conv[4] = {8, 3, 3, 3}, attn[2] = {48, 64};
    fx_add(&s, "visual.layer1.0.conv1.weight", ST_F16, 4, conv);
    fx_add(&s, "visual.attnpool.c_proj.weight", ST_F16, 2, attn);
    expect_refused(&s, &p, "ResNet CLIP");
    fx_free(&s);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) fputs(text, f), fclose(f);
}

static void test_config_and_tokenizer_checked(void)
{
    char err[256];
    fx_source s;
    CHECK(fx_load(&s, FX "clip_hf.safetensors") == 0);
    unprompt_convert_params p = params(FX "clip_merges.txt");
    p.config_path = tmp_text;
    write_text(tmp_text, "{\"vision_config\": {\"hidden_size\": 128}, \"text_config\": {}}");
    expect_refused(&s, &p, "vision_config.hidden_size = 128, the weights say 64");
    write_text(tmp_text, "{\"vision_config\": {\"hidden_act\": \"gelu\"}, \"text_config\": {}}");
    expect_refused(&s, &p, "quick_gelu");
    write_text(tmp_text, "{\"text_config\": {\"num_attention_heads\": 3}, \"vision_config\": {}}");
    expect_refused(&s, &p, "text width 64 does not split into 3 heads");
    write_text(tmp_text, "{\"architectures\": [\"BertModel\"]}");
    expect_refused(&s, &p, "not a CLIP config.json");
    write_text(tmp_text, "{\"vision_heads\": 2, \"text_heads\": 4}"); /* for OpenAI-named files */
    CHECK(fx_convert(FX "clip_sd.pt", tmp_out, &p, err, sizeof err) == UNPROMPT_OK);
    fx_out o;
    CHECK(fx_open_out(&o, tmp_out) == 0);
    const char *cfg = o.ok ? st_meta(&o.st, "unprompt.config") : NULL;
    CHECK(cfg && strstr(cfg, "\"vision_heads\": 2,") && strstr(cfg, "\"text_heads\": 4,"));
    fx_close_out(&o);

    p = params(FX "clip_merges.txt");
    p.vocab_json_path = tmp_text;
    write_text(tmp_text, "{\"a\": 0}");
    expect_refused(&s, &p, "vocab.json has 1 entries");
    p = params(FX "blip_vocab.txt"); /* not merges */
    expect_refused(&s, &p, "#version");
    write_text(tmp_text, "#version: 0.2\ni n\nt h\n");
    p = params(tmp_text);
    expect_refused(&s, &p, "2 merges make 512 + 2 + 2 = 516 tokens, but token_embedding has 528 rows");
    write_text(tmp_text, "#version: 0.2\ni n\nt  h\n");
    expect_refused(&s, &p, "line 3 is not a merge");
    p = params(NULL);
    expect_refused(&s, &p, "--vocab bpe_simple_vocab_16e6.txt.gz");
    fx_free(&s);
    unlink(tmp_text), unlink(tmp_out), unlink(tmp_src);
}

/* ---- the command line ------------------------------------------------------------ */

static void test_cli(void)
{
    char args[1024];
    snprintf(args, sizeof args, "convert " FX "clip_hf.safetensors " FX "clip_config.json " FX "clip_merges.txt " FX
             "clip_vocab.json -o %s", tmp_out);
    cli_result r = cli_run(args);
    CHECK(r.status == 0);
    fx_out a, b;
    CHECK(fx_open_out(&a, tmp_out) == 0 && fx_open_out(&b, out_hf) == 0);
    CHECK(a.ok && b.ok && fx_same_tensors(&a.st, &b.st));
    fx_close_out(&a), fx_close_out(&b);
    cli_free(&r);

    snprintf(args, sizeof args, "convert " FX "clip_jit.pt --dtype bf16 -o %s", tmp_out);
    r = cli_run(args);
    CHECK(r.status == 1 && strstr(r.err, "--vocab bpe_simple_vocab_16e6.txt.gz") && strstr(r.err, "merges.txt"));
    cli_free(&r);
    snprintf(args, sizeof args, "convert " FX "clip_jit.pt " FX "clip_sd.pt -o %s", tmp_out);
    r = cli_run(args);
    CHECK(r.status == 2 && strstr(r.err, "two checkpoints"));
    cli_free(&r);
    r = cli_run("convert " FX "clip_jit.pt " FX "clip_bpe.txt.gz");
    CHECK(r.status == 2 && strstr(r.err, "-o OUT.safetensors"));
    cli_free(&r);
    r = cli_run("convert --help");
    CHECK(r.status == 0 && strstr(r.out, "ViT-L-14.pt") && strstr(r.out, "bpe_simple_vocab_16e6.txt.gz") &&
          strstr(r.out, "model_base_caption_capfilt_large.pth") && strstr(r.out, "vocab.txt") &&
          strstr(r.out, "--config"));
    cli_free(&r);
    unlink(tmp_out);
}

int main(void)
{
    long pid = (long)getpid();
    snprintf(out_jit, sizeof out_jit, "/tmp/unprompt-cc-%ld-jit.safetensors", pid);
    snprintf(out_sd, sizeof out_sd, "/tmp/unprompt-cc-%ld-sd.safetensors", pid);
    snprintf(out_hf, sizeof out_hf, "/tmp/unprompt-cc-%ld-hf.safetensors", pid);
    snprintf(out_f16, sizeof out_f16, "/tmp/unprompt-cc-%ld-f16.safetensors", pid);
    snprintf(out_bf16, sizeof out_bf16, "/tmp/unprompt-cc-%ld-bf16.safetensors", pid);
    snprintf(tmp_src, sizeof tmp_src, "/tmp/unprompt-cc-%ld-src.safetensors", pid);
    snprintf(tmp_out, sizeof tmp_out, "/tmp/unprompt-cc-%ld-out.safetensors", pid);
    snprintf(tmp_text, sizeof tmp_text, "/tmp/unprompt-cc-%ld.txt", pid);
    RUN(test_torchscript_walk_gives_state_dict_names);
    RUN(test_torchscript_archive);
    RUN(test_openai_state_dict);
    RUN(test_hugging_face_safetensors);
    RUN(test_all_sources_give_the_same_tensors);
    RUN(test_f16_and_bf16_outputs);
    RUN(test_bits_equal_the_source);
    RUN(test_real_bpe_merges);
    RUN(test_missing_and_misshapen_tensors_refused);
    RUN(test_resnet_clip_refused);
    RUN(test_config_and_tokenizer_checked);
    RUN(test_cli);
    unlink(out_jit), unlink(out_sd), unlink(out_hf), unlink(out_f16), unlink(out_bf16);
    return test_summary("convert_clip");
}
