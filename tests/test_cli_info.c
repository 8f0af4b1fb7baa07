/* engine-run info, end to end: the shipped samples, the real generator
 * outputs in ../shared/testdata/metadata, batches, exit codes, sidecars,
 * standard input and the txt2img request. */
#include "tests/test.h"
#include "tests/cli.h"

#include <sys/stat.h>

#include "format/json.h"
#include "format/png_write.h"

/* The text tools/make-sample.c stores in examples/sample.png, spelled out
 * here independently so a change to either side is caught. */
static const char sample_text[] =
    "a lighthouse on a cliff at sunset, dramatic clouds, (oil painting:1.2), by Ivan Aivazovsky\n"
    "Negative prompt: blurry, lowres, watermark\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, "
    "Size: 768x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, "
    "Clip skip: 2, Hires upscale: 2, Hires steps: 12, Hires upscaler: Latent, "
    "Lora hashes: \"lighthouse_v2: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a\", Version: v1.10.1";

static json_value *parse_line(const char *s)
{
    fmt_error e;
    json_value *v = json_parse(s, strlen(s), NULL, &e);
    if (!v) fprintf(stderr, "    json: %s\n    in: %s\n", e.msg, s);
    return v;
}

static const char *setting(const json_value *v, const char *key)
{
    return json_str(json_get(json_get(v, "settings"), key));
}

static void test_sample_plain_text_is_exact(void)
{
    cli_result r = cli_run("info examples/sample.png");
    CHECK(r.status == 0);
    size_t n = strlen(sample_text);
    CHECK(strlen(r.out) == n + 1);
    CHECK(strncmp(r.out, sample_text, n) == 0);
    CHECK(r.out[n] == '\n');
    CHECK(r.err[0] == '\0');
    cli_free(&r);
}

static void test_sample_json(void)
{
    cli_result r = cli_run("info --json examples/sample.png");
    CHECK(r.status == 0);
    json_value *v = parse_line(r.out);
    CHECK(v != NULL);
    CHECK_STR(json_str(json_get(v, "file")), "examples/sample.png");
    CHECK_STR(json_str(json_get(v, "generator")), "automatic1111");
    CHECK_STR(json_str(json_get(v, "prompt")),
              "a lighthouse on a cliff at sunset, dramatic clouds, (oil painting:1.2), by Ivan Aivazovsky");
    CHECK_STR(json_str(json_get(v, "negative_prompt")), "blurry, lowres, watermark");
    CHECK_STR(setting(v, "Steps"), "28");
    CHECK_STR(setting(v, "Sampler"), "DPM++ 2M");
    CHECK_STR(setting(v, "Schedule type"), "Karras");
    CHECK_STR(setting(v, "CFG scale"), "6.5");
    CHECK_STR(setting(v, "Seed"), "3141592653");
    CHECK_STR(setting(v, "Size"), "768x512");
    CHECK_STR(setting(v, "Lora hashes"), "lighthouse_v2: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a");
    CHECK_STR(setting(v, "Version"), "v1.10.1");
    CHECK_STR(json_str(json_get(json_get(v, "raw"), "parameters")), sample_text);
    json_free(v);
    cli_free(&r);
}

static double num(const json_value *v)
{
    return v && v->type == JSON_NUMBER ? v->number : -12345.0;
}

static void test_sample_webui_api(void)
{
    cli_result r = cli_run("info --format webui-api examples/sample.png");
    CHECK(r.status == 0);
    json_value *v = parse_line(r.out);
    CHECK(v != NULL);
    CHECK_STR(json_str(json_get(v, "prompt")),
              "a lighthouse on a cliff at sunset, dramatic clouds, (oil painting:1.2), by Ivan Aivazovsky");
    CHECK_STR(json_str(json_get(v, "negative_prompt")), "blurry, lowres, watermark");
    CHECK(num(json_get(v, "steps")) == 28);
    CHECK_STR(json_str(json_get(v, "sampler_name")), "DPM++ 2M");
    CHECK_STR(json_str(json_get(v, "scheduler")), "Karras");
    CHECK(num(json_get(v, "cfg_scale")) == 6.5);
    CHECK(num(json_get(v, "seed")) == 3141592653.0);
    CHECK(num(json_get(v, "width")) == 768);
    CHECK(num(json_get(v, "height")) == 512);
    CHECK(num(json_get(v, "denoising_strength")) == 0.45);
    CHECK(json_get(v, "enable_hr") && json_get(v, "enable_hr")->type == JSON_TRUE);
    CHECK(num(json_get(v, "hr_scale")) == 2);
    CHECK(num(json_get(v, "hr_second_pass_steps")) == 12);
    CHECK_STR(json_str(json_get(v, "hr_upscaler")), "Latent");
    const json_value *ov = json_get(v, "override_settings");
    CHECK_STR(json_str(json_get(ov, "sd_model_checkpoint")), "v1-5-pruned-emaonly");
    CHECK(num(json_get(ov, "CLIP_stop_at_last_layers")) == 2);
    json_free(v);
    cli_free(&r);
}

static void test_comfyui_sample(void)
{
    cli_result r = cli_run("info --json examples/comfyui.png");
    CHECK(r.status == 0);
    json_value *v = parse_line(r.out);
    CHECK_STR(json_str(json_get(v, "generator")), "comfyui");
    CHECK_STR(json_str(json_get(v, "prompt")), "a lighthouse on a cliff at sunset, dramatic clouds");
    CHECK_STR(json_str(json_get(v, "negative_prompt")), "blurry, lowres");
    CHECK_STR(setting(v, "Steps"), "28");
    CHECK_STR(setting(v, "Seed"), "3141592653");
    CHECK_STR(setting(v, "CFG scale"), "6.5");
    CHECK_STR(setting(v, "Size"), "768x512");
    json_free(v);
    cli_free(&r);
    /* Plain output is an infotext the WebUI can read back. */
    r = cli_run("info examples/comfyui.png");
    CHECK(r.status == 0);
    const char *head = "a lighthouse on a cliff at sunset, dramatic clouds\nNegative prompt: blurry, lowres\n";
    CHECK(strncmp(r.out, head, strlen(head)) == 0);
    CHECK(strstr(r.out, "Steps: 28") != NULL);
    cli_free(&r);
}

static void test_stdin(void)
{
    cli_result r = cli_run("info - < examples/sample.png");
    CHECK(r.status == 0);
    CHECK(strncmp(r.out, sample_text, strlen(sample_text)) == 0);
    cli_free(&r);
}

static int write_png_with_text(const char *path, const char *keyword, const char *text)
{
    buf b;
    fmt_error e;
    uint8_t px[4 * 4 * 3] = {0};
    buf_init(&b, 0);
    int rc = png_write_begin(&b, 4, 4, 2, &e);
    if (!rc && keyword) rc = png_write_text(&b, keyword, text, strlen(text), &e);
    if (!rc) rc = png_write_pixels(&b, px, 4, 4, 3, &e);
    if (!rc) rc = png_write_end(&b, &e);
    if (!rc) rc = cli_write(path, b.data, b.len);
    buf_free(&b);
    return rc;
}

static void test_batch_with_bad_files(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char p[512], cmd[1024];
    snprintf(p, sizeof p, "%s/a.png", dir);
    CHECK(write_png_with_text(p, "parameters", "first prompt\nSteps: 1, Sampler: Euler, Seed: 1") == 0);
    snprintf(p, sizeof p, "%s/b.png", dir);
    CHECK(cli_write(p, "this is not a png", 17) == 0);
    snprintf(p, sizeof p, "%s/c.png", dir);
    CHECK(write_png_with_text(p, NULL, NULL) == 0);
    snprintf(p, sizeof p, "%s/notes.md", dir);
    CHECK(cli_write(p, "# ignored", 9) == 0);
    snprintf(p, sizeof p, "%s/sub", dir);
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/sub/d.png", dir);
    CHECK(write_png_with_text(p, "parameters", "nested prompt\nSteps: 2, Sampler: Euler, Seed: 2") == 0);

    snprintf(cmd, sizeof cmd, "info %s", dir);
    cli_result r = cli_run(cmd);
    CHECK(r.status == 1);
    snprintf(p, sizeof p, "==> %s/a.png <==\nfirst prompt\nSteps: 1, Sampler: Euler, Seed: 1\n\n", dir);
    CHECK_STR(r.out, p);
    snprintf(p, sizeof p, "engine-run info: %s/b.png: ", dir);
    CHECK(strstr(r.err, p) != NULL);
    snprintf(p, sizeof p, "engine-run info: %s/c.png: no generation parameters found", dir);
    CHECK(strstr(r.err, p) != NULL);
    CHECK(strstr(r.err, "notes.md") == NULL);
    CHECK(strstr(r.out, "nested") == NULL);
    cli_free(&r);

    snprintf(cmd, sizeof cmd, "info -r --json %s", dir);
    r = cli_run(cmd);
    CHECK(r.status == 1);
    CHECK(strstr(r.out, "nested prompt") != NULL);
    /* --json still reports a file without parameters, with null fields. */
    snprintf(p, sizeof p, "{\"file\": \"%s/c.png\", \"generator\": null, \"prompt\": null", dir);
    CHECK(strstr(r.out, p) != NULL);
    cli_free(&r);
    cli_rmrf(dir);
}

static void test_usage_errors(void)
{
    cli_result r = cli_run("info");
    CHECK(r.status == 2);
    CHECK(strstr(r.err, "usage: engine-run info") != NULL);
    cli_free(&r);
    r = cli_run("info --bogus examples/sample.png");
    CHECK(r.status == 2);
    CHECK(strstr(r.err, "unknown option '--bogus'") != NULL);
    cli_free(&r);
    r = cli_run("info --format yaml examples/sample.png");
    CHECK(r.status == 2);
    cli_free(&r);
    r = cli_run("info --help");
    CHECK(r.status == 0);
    CHECK(strstr(r.out, "webui-api") != NULL);
    cli_free(&r);
    r = cli_run("info /nonexistent/x.png examples/sample.png");
    CHECK(r.status == 1);
    CHECK(strstr(r.err, "engine-run info: /nonexistent/x.png: No such file or directory") != NULL);
    CHECK(strstr(r.out, "==> examples/sample.png <==\na lighthouse") != NULL);
    cli_free(&r);
    r = cli_run("frobnicate");
    CHECK(r.status == 2);
    cli_free(&r);
}

static void test_sidecar(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char img[512], txt[512], cmd[1024];
    snprintf(img, sizeof img, "%s/pic.png", dir);
    snprintf(txt, sizeof txt, "%s/pic.txt", dir);
    CHECK(write_png_with_text(img, "parameters", "sidecar prompt\nSteps: 3, Sampler: Euler, Seed: 3") == 0);
    snprintf(cmd, sizeof cmd, "info --sidecar %s", img);
    cli_result r = cli_run(cmd);
    CHECK(r.status == 0);
    CHECK(r.out[0] == '\0');
    cli_free(&r);
    char *s = cli_slurp(txt);
    CHECK_STR(s, "sidecar prompt\nSteps: 3, Sampler: Euler, Seed: 3\n");
    free(s);
    /* An existing sidecar is kept... */
    CHECK(cli_write(txt, "edited by hand\n", 15) == 0);
    r = cli_run(cmd);
    CHECK(r.status == 0);
    cli_free(&r);
    s = cli_slurp(txt);
    CHECK_STR(s, "edited by hand\n");
    free(s);
    /* ...unless --overwrite; other extensions with --sidecar=EXT. */
    snprintf(cmd, sizeof cmd, "info --sidecar --overwrite %s", img);
    r = cli_run(cmd);
    cli_free(&r);
    s = cli_slurp(txt);
    CHECK_STR(s, "sidecar prompt\nSteps: 3, Sampler: Euler, Seed: 3\n");
    free(s);
    snprintf(cmd, sizeof cmd, "info --sidecar=.json --json %s", img);
    r = cli_run(cmd);
    cli_free(&r);
    snprintf(txt, sizeof txt, "%s/pic.json", dir);
    s = cli_slurp(txt);
    CHECK(s && strstr(s, "\"prompt\": \"sidecar prompt\"") != NULL);
    free(s);
    /* No temporary file is left behind. */
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir);
    FILE *p = popen(cmd, "r");
    char line[32] = "";
    CHECK(p && fgets(line, sizeof line, p));
    if (p) pclose(p);
    CHECK(atoi(line) == 0);
    cli_rmrf(dir);
}

/* The real generator outputs: expected values from ../shared/data/README.md. */
static void check_duck(const char *file)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared test data absent");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "info --json %s/testdata/metadata/%s", shared, file);
    cli_result r = cli_run(cmd);
    CHECK(r.status == 0);
    json_value *v = parse_line(r.out);
    CHECK(v != NULL);
    CHECK_STR(json_str(json_get(v, "generator")), "automatic1111");
    CHECK_STR(json_str(json_get(v, "prompt")), "photo of a duck");
    CHECK_STR(json_str(json_get(v, "negative_prompt")), "monochrome");
    CHECK_STR(setting(v, "Steps"), "15");
    CHECK_STR(setting(v, "Sampler"), "UniPC");
    CHECK_STR(setting(v, "CFG scale"), "5");
    CHECK_STR(setting(v, "Seed"), "235284042");
    CHECK_STR(setting(v, "Size"), "512x400");
    CHECK_STR(setting(v, "Model hash"), "c0d1994c73");
    CHECK_STR(setting(v, "Model"), "realistic_realisticVisionV20_v20");
    json_free(v);
    cli_free(&r);
}

static void test_shared_a1111_png(void) { check_duck("automatic1111_cropped.png"); }
static void test_shared_a1111_jpeg(void) { check_duck("automatic1111_cropped.jpg"); }
/* Its `parameters` chunk comes after IDAT, behind six other text chunks. */
static void test_shared_text_after_idat(void) { check_duck("text_after_idat.png"); }

static void test_shared_broken_files(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared test data absent");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "info %s/testdata/metadata/empty_file.png", shared);
    cli_result r = cli_run(cmd);
    CHECK(r.status == 1);
    CHECK(strstr(r.err, "empty_file.png: ") != NULL);
    CHECK(r.out[0] == '\0');
    cli_free(&r);
    /* Only date chunks: shown raw, generator "unknown", exit 0. */
    snprintf(cmd, sizeof cmd, "info %s/testdata/metadata/empty_image.png", shared);
    r = cli_run(cmd);
    CHECK(r.status == 0);
    CHECK(strstr(r.out, "date:create: 2025-03-27T21:10:17+00:00") != NULL);
    cli_free(&r);
    snprintf(cmd, sizeof cmd, "info --json %s/testdata/metadata/empty_image.png", shared);
    r = cli_run(cmd);
    CHECK(strstr(r.out, "\"generator\": \"unknown\"") != NULL);
    cli_free(&r);
    /* A JPEG with no metadata at all: exit 1, one clear line. */
    snprintf(cmd, sizeof cmd, "info %s/testdata/metadata/empty_image.jpg", shared);
    r = cli_run(cmd);
    CHECK(r.status == 1);
    CHECK(strstr(r.err, "empty_image.jpg: no generation parameters found") != NULL);
    cli_free(&r);
}

int main(void)
{
    RUN(test_sample_plain_text_is_exact);
    RUN(test_sample_json);
    RUN(test_sample_webui_api);
    RUN(test_comfyui_sample);
    RUN(test_stdin);
    RUN(test_batch_with_bad_files);
    RUN(test_usage_errors);
    RUN(test_sidecar);
    RUN(test_shared_a1111_png);
    RUN(test_shared_a1111_jpeg);
    RUN(test_shared_text_after_idat);
    RUN(test_shared_broken_files);
    return test_summary("cli_info");
}
