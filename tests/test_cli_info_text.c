/* engine-run info: sampler names the WebUI accepts (issue #24 item 1) and
 * safe, readable text output (item 6): escaped control characters, a header
 * per record with several files, --all-chunks, webui-api naming each file.
 *
 * The expected sampler and schedule-type names are the WebUI's own tables,
 * spelled out here from modules/sd_samplers_kdiffusion.py (v1.10:
 * samplers_k_diffusion: label, k-diffusion function, aliases),
 * sd_samplers_timesteps.py, sd_samplers_lcm.py and sd_schedulers.py, not
 * taken from the program. */
#include "tests/test.h"
#include "tests/cli.h"

#include <stdarg.h>

#include "format/json.h"
#include "format/png_write.h"
#include "format/sampler_names.h"

/* ---- the WebUI's tables ------------------------------------------------- */

typedef struct {
    const char *label, *funcname, *aliases[2];
} webui_sampler_row;

static const webui_sampler_row webui_samplers[] = {
    {"DPM++ 2M", "sample_dpmpp_2m", {"k_dpmpp_2m"}},
    {"DPM++ SDE", "sample_dpmpp_sde", {"k_dpmpp_sde"}},
    {"DPM++ 2M SDE", "sample_dpmpp_2m_sde", {"k_dpmpp_2m_sde"}},
    {"DPM++ 2M SDE Heun", NULL /* shares sample_dpmpp_2m_sde */, {"k_dpmpp_2m_sde_heun"}},
    {"DPM++ 2S a", "sample_dpmpp_2s_ancestral", {"k_dpmpp_2s_a"}},
    {"DPM++ 3M SDE", "sample_dpmpp_3m_sde", {"k_dpmpp_3m_sde"}},
    {"Euler a", "sample_euler_ancestral", {"k_euler_a", "k_euler_ancestral"}},
    {"Euler", "sample_euler", {"k_euler"}},
    {"LMS", "sample_lms", {"k_lms"}},
    {"Heun", "sample_heun", {"k_heun"}},
    {"DPM2", "sample_dpm_2", {"k_dpm_2"}},
    {"DPM2 a", "sample_dpm_2_ancestral", {"k_dpm_2_a"}},
    {"DPM fast", "sample_dpm_fast", {"k_dpm_fast"}},
    {"DPM adaptive", "sample_dpm_adaptive", {"k_dpm_ad"}},
    {"Restart", NULL, {"restart"}},
    {"DDIM", NULL, {"ddim"}},
    {"DDIM CFG++", NULL, {"ddim_cfgpp"}},
    {"PLMS", NULL, {"plms"}},
    {"UniPC", NULL, {"unipc"}},
    {"LCM", NULL, {"k_lcm"}},
};

/* sd_schedulers.py: name, label, aliases. */
static const char *const webui_schedulers[][3] = {
    {"automatic", "Automatic", NULL},    {"uniform", "Uniform", NULL},
    {"karras", "Karras", NULL},          {"exponential", "Exponential", NULL},
    {"polyexponential", "Polyexponential", NULL},
    {"sgm_uniform", "SGM Uniform", "SGMUniform"},
    {"kl_optimal", "KL Optimal", NULL},  {"align_your_steps", "Align Your Steps", NULL},
    {"simple", "Simple", NULL},          {"normal", "Normal", NULL},
    {"ddim", "DDIM", NULL},              {"beta", "Beta", NULL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *sampler_of(const char *name, const char **scheduler)
{
    const webui_name *e = webui_sampler_find(name, scheduler);
    return e ? e->label : NULL;
}

static void test_webui_names_are_their_own(void)
{
    const char *sched;
    for (size_t i = 0; i < COUNT(webui_samplers); i++) {
        const webui_sampler_row *r = &webui_samplers[i];
        CHECK_STR(sampler_of(r->label, &sched), r->label);
        CHECK(sched == NULL);
        if (r->funcname) CHECK_STR(sampler_of(r->funcname, NULL), r->label);
        for (int a = 0; a < 2 && r->aliases[a]; a++) CHECK_STR(sampler_of(r->aliases[a], NULL), r->label);
    }
    CHECK_STR(sampler_of("sample_dpmpp_2m_sde", NULL), "DPM++ 2M SDE");
    for (size_t i = 0; i < COUNT(webui_schedulers); i++) {
        for (int k = 0; k < 3; k++)
            if (webui_schedulers[i][k]) CHECK_STR(webui_scheduler_find(webui_schedulers[i][k]), webui_schedulers[i][1]);
    }
}

/* get_sampler_and_scheduler: a name ending in " <schedule type>" (its
 * label, name or alias) is that sampler with that schedule type. */
static void test_sampler_with_schedule_suffix(void)
{
    const char *sched = NULL;
    CHECK_STR(sampler_of("DPM++ 2M Karras", &sched), "DPM++ 2M");
    CHECK_STR(sched, "Karras");
    CHECK_STR(sampler_of("DPM++ 2M SDE Heun Exponential", &sched), "DPM++ 2M SDE Heun");
    CHECK_STR(sched, "Exponential");
    CHECK_STR(sampler_of("Euler a SGM Uniform", &sched), "Euler a");
    CHECK_STR(sched, "SGM Uniform");
    CHECK_STR(sampler_of("Euler a SGMUniform", &sched), "Euler a");
    CHECK_STR(sched, "SGM Uniform");
    CHECK_STR(sampler_of("UniPC Align Your Steps", &sched), "UniPC");
    CHECK_STR(sched, "Align Your Steps");
    CHECK(sampler_of("Karras", NULL) == NULL);
    CHECK(sampler_of("Euler Karras Karras", NULL) == NULL);
}

/* The names other generators write (issue #24's list, ComfyUI's KSampler
 * names, NovelAI, InvokeAI) and names with no WebUI equivalent. */
static void test_generator_names(void)
{
    const char *sched;
    static const char *const pairs[][2] = {
        {"dpmpp_2m_sde_gpu", "DPM++ 2M SDE"}, {"sample_dpmpp_2m", "DPM++ 2M"}, {"dpmpp_sde", "DPM++ SDE"},
        {"uni_pc_bh2", "UniPC"},              {"uni_pc", "UniPC"},             {"k_lms", "LMS"},
        {"euler", "Euler"},                   {"k_euler_ancestral", "Euler a"}, {"euler_ancestral", "Euler a"},
        {"dpmpp_2m", "DPM++ 2M"},             {"dpmpp_2s_ancestral", "DPM++ 2S a"},
        {"dpm_2_ancestral", "DPM2 a"},        {"dpmpp_3m_sde_gpu", "DPM++ 3M SDE"}, {"lcm", "LCM"},
        {"k_dpmpp_2s_ancestral", "DPM++ 2S a"}, {"DPM++ 2m sde", "DPM++ 2M SDE"},
    };
    for (size_t i = 0; i < COUNT(pairs); i++) {
        CHECK_STR(sampler_of(pairs[i][0], &sched), pairs[i][1]);
        CHECK(sched == NULL);
    }
    CHECK_STR(sampler_of("euler_k", &sched), "Euler"); /* InvokeAI: Karras sigmas */
    CHECK_STR(sched, "Karras");
    CHECK_STR(webui_scheduler_find("ddim_uniform"), "DDIM");
    CHECK(sampler_of("res_multistep", NULL) == NULL);
    CHECK(sampler_of("", NULL) == NULL);
    CHECK(sampler_of(NULL, NULL) == NULL);
    CHECK(webui_scheduler_find("linear_quadratic") == NULL);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(sampler_of(longname, NULL) == NULL);
}

/* Every entry of both tables is found (they are sorted as the binary
 * search needs) and names a label the WebUI has. */
static void test_tables_are_sorted_and_closed(void)
{
    size_t n;
    const webui_name *t = webui_sampler_table(&n);
    for (size_t i = 0; i < n; i++) {
        const char *sched = "unset";
        CHECK(webui_sampler_find(t[i].name, &sched) == &t[i]);
        int known = 0;
        for (size_t k = 0; k < COUNT(webui_samplers); k++) known |= !strcmp(t[i].label, webui_samplers[k].label);
        CHECK(known);
        CHECK(!t[i].scheduler || webui_scheduler_find(t[i].scheduler) != NULL);
    }
    t = webui_scheduler_table(&n);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(webui_scheduler_find(t[i].name), t[i].label);
        int known = 0;
        for (size_t k = 0; k < COUNT(webui_schedulers); k++) known |= !strcmp(t[i].label, webui_schedulers[k][1]);
        CHECK(known);
    }
}

/* ---- through the CLI ------------------------------------------------------ */

/* A 4x4 PNG with tEXt chunks: keyword, text, keyword, text, …, NULL. */
static int write_png(const char *path, ...)
{
    buf b;
    fmt_error e;
    uint8_t px[4 * 4 * 3] = {0};
    buf_init(&b, 0);
    int rc = png_write_begin(&b, 4, 4, 2, &e);
    va_list ap;
    va_start(ap, path);
    const char *kw;
    while (!rc && (kw = va_arg(ap, const char *)) != NULL) {
        const char *text = va_arg(ap, const char *);
        rc = png_write_text(&b, kw, text, strlen(text), &e);
    }
    va_end(ap);
    if (!rc) rc = png_write_pixels(&b, px, 4, 4, 3, &e);
    if (!rc) rc = png_write_end(&b, &e);
    if (!rc) rc = cli_write(path, b.data, b.len);
    buf_free(&b);
    return rc;
}

static json_value *parse_json(const char *s)
{
    fmt_error e;
    json_value *v = json_parse(s, strlen(s), NULL, &e);
    if (!v) fprintf(stderr, "    json: %s\n    in: %s\n", e.msg, s);
    return v;
}

static const char *member(const json_value *v, const char *key)
{
    return json_str(json_get(v, key));
}

static cli_result run_on(const char *opts, const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "info %s '%s'", opts, path);
    return cli_run(cmd);
}

/* The request's sampler_name and scheduler (NULL when absent). */
static void check_request(const char *path, const char *sampler, const char *scheduler)
{
    cli_result r = run_on("--format webui-api", path);
    CHECK(r.status == 0);
    json_value *v = parse_json(r.out);
    CHECK(v != NULL);
    if (sampler) CHECK_STR(member(v, "sampler_name"), sampler);
    else CHECK(json_get(v, "sampler_name") == NULL);
    if (scheduler) CHECK_STR(member(v, "scheduler"), scheduler);
    else CHECK(json_get(v, "scheduler") == NULL);
    CHECK(json_get(v, "file") == NULL);
    json_free(v);
    cli_free(&r);
}

static const char comfy_graph[] =
    "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 7, \"steps\": 20, \"cfg\": 5.0, "
    "\"sampler_name\": \"%s\", \"scheduler\": \"%s\", \"denoise\": 1.0, \"model\": [\"4\", 0], "
    "\"positive\": [\"6\", 0], \"negative\": [\"7\", 0], \"latent_image\": [\"5\", 0]}}, "
    "\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": \"m.safetensors\"}}, "
    "\"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 512, \"height\": 512, \"batch_size\": 1}}, "
    "\"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a cat\", \"clip\": [\"4\", 1]}}, "
    "\"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a dog\", \"clip\": [\"4\", 1]}}}";

static void test_comfyui_names_in_request_infotext_and_json(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512], graph[2048];
    snprintf(path, sizeof path, "%s/comfy.png", dir);
    snprintf(graph, sizeof graph, comfy_graph, "dpmpp_2m_sde_gpu", "karras");
    CHECK(write_png(path, "prompt", graph, NULL) == 0);
    check_request(path, "DPM++ 2M SDE", "Karras");
    cli_result r = run_on("", path);
    CHECK(r.status == 0);
    CHECK(strstr(r.out, "Sampler: DPM++ 2M SDE, Schedule type: Karras") != NULL);
    CHECK(strstr(r.out, "dpmpp") == NULL);
    cli_free(&r);
    r = run_on("--json", path);
    json_value *v = parse_json(r.out);
    CHECK_STR(member(json_get(v, "settings"), "Sampler"), "DPM++ 2M SDE");
    CHECK_STR(member(json_get(v, "settings"), "Schedule type"), "Karras");
    const char *raw = member(json_get(v, "raw"), "prompt");
    CHECK(raw && strstr(raw, "\"sampler_name\": \"dpmpp_2m_sde_gpu\"") != NULL); /* as stored */
    json_free(v);
    cli_free(&r);

    /* ComfyUI's uni_pc_bh2 with ddim_uniform, and names the WebUI lacks. */
    snprintf(graph, sizeof graph, comfy_graph, "uni_pc_bh2", "ddim_uniform");
    CHECK(write_png(path, "prompt", graph, NULL) == 0);
    check_request(path, "UniPC", "DDIM");
    snprintf(graph, sizeof graph, comfy_graph, "res_multistep", "linear_quadratic");
    CHECK(write_png(path, "prompt", graph, NULL) == 0);
    check_request(path, NULL, NULL);
    r = run_on("", path);
    CHECK(strstr(r.out, "Sampler: res_multistep") != NULL);
    CHECK(strstr(r.err, "warning: Sampler \"res_multistep\" has no WebUI equivalent") != NULL);
    CHECK(strstr(r.err, "warning: Schedule type \"linear_quadratic\" has no WebUI equivalent") != NULL);
    cli_free(&r);
    cli_rmrf(dir);
}

static void test_other_generators_names(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof path, "%s/nai.png", dir);
    CHECK(write_png(path, "Software", "NovelAI", "Description", "a fox", "Comment",
                    "{\"steps\": 28, \"sampler\": \"k_euler_ancestral\", \"noise_schedule\": \"karras\", "
                    "\"scale\": 5, \"seed\": 1, \"uc\": \"blurry\", \"width\": 832, \"height\": 1216}",
                    NULL) == 0);
    check_request(path, "Euler a", "Karras");
    snprintf(path, sizeof path, "%s/invoke.png", dir);
    CHECK(write_png(path, "invokeai_metadata",
                    "{\"positive_prompt\": \"a fox\", \"negative_prompt\": \"\", \"steps\": 30, "
                    "\"scheduler\": \"euler_k\", \"cfg_scale\": 7, \"seed\": 2, \"width\": 512, \"height\": 512}",
                    NULL) == 0);
    check_request(path, "Euler", "Karras");
    CHECK(write_png(path, "sd-metadata",
                    "{\"model_weights\": \"sd-1.5\", \"image\": {\"prompt\": \"a fox\", \"sampler\": \"k_lms\", "
                    "\"steps\": 30, \"cfg_scale\": 7, \"seed\": 2, \"width\": 512, \"height\": 512}}",
                    NULL) == 0);
    check_request(path, "LMS", NULL);
    snprintf(path, sizeof path, "%s/fooocus.png", dir);
    CHECK(write_png(path, "parameters",
                    "{\"prompt\": \"a fox\", \"negative_prompt\": \"\", \"sampler\": \"dpmpp_2m_sde_gpu\", "
                    "\"scheduler\": \"karras\", \"steps\": 30, \"guidance_scale\": 4, \"seed\": \"3\", "
                    "\"resolution\": \"(1152, 896)\"}",
                    NULL) == 0);
    check_request(path, "DPM++ 2M SDE", "Karras");
    /* Fooocus's A1111 scheme writes "DPM++ 2M SDE Karras" as the sampler. */
    CHECK(write_png(path, "fooocus_scheme", "a1111", "parameters",
                    "a fox\nSteps: 30, Sampler: DPM++ 2M SDE Karras, CFG scale: 4, Seed: 3", NULL) == 0);
    check_request(path, "DPM++ 2M SDE", "Karras");
    /* The WebUI's own older text: kept as stored, split in the request. */
    snprintf(path, sizeof path, "%s/a1111.png", dir);
    CHECK(write_png(path, "parameters", "a fox\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 4",
                    NULL) == 0);
    check_request(path, "DPM++ 2M", "Karras");
    cli_result r = run_on("", path);
    CHECK_STR(r.out, "a fox\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 4\n");
    cli_free(&r);
    cli_rmrf(dir);
}

/* ---- item 6: text output ---------------------------------------------------- */

static int has_raw_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) return 1;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return 1;
    }
    return 0;
}

static void test_control_characters_escaped(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof path, "%s/esc.png", dir);
    /* tEXt is Latin-1: byte 0x9B is U+009B (CSI), C1. */
    CHECK(write_png(path, "parameters",
                    "red \x1b[31mtext\x07\tend\r\x7f\x9b" "2J\nSteps: 1, Sampler: Euler, Seed: 1", NULL) == 0);
    cli_result r = run_on("", path);
    CHECK(r.status == 0);
    CHECK_STR(r.out, "red \\x1b[31mtext\\x07\tend\\x0d\\x7f\\xc2\\x9b2J\nSteps: 1, Sampler: Euler, Seed: 1\n");
    cli_free(&r);
    r = run_on("--json", path);
    CHECK(!has_raw_controls(r.out));
    CHECK(strstr(r.out, "\"red \\u001b[31mtext\\u0007\\tend\\r\\u007f\\u009b2J\"") != NULL);
    json_value *v = parse_json(r.out);
    CHECK_STR(member(v, "prompt"), "red \x1b[31mtext\x07\tend\r\x7f\xc2\x9b" "2J");
    json_free(v);
    cli_free(&r);
    r = run_on("--format webui-api", path);
    CHECK(!has_raw_controls(r.out));
    v = parse_json(r.out);
    CHECK_STR(member(v, "prompt"), "red \x1b[31mtext\x07\tend\r\x7f\xc2\x9b" "2J");
    json_free(v);
    cli_free(&r);
    /* Sidecars keep the stored text. */
    r = run_on("--sidecar", path);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/esc.txt", dir);
    char *s = cli_slurp(path);
    CHECK_STR(s, "red \x1b[31mtext\x07\tend\r\x7f\xc2\x9b" "2J\nSteps: 1, Sampler: Euler, Seed: 1\n");
    free(s);
    /* A file name with ESC in it, in the header and on stderr. */
    snprintf(path, sizeof path, "%s/bad\x1b]0;x\x07name.png", dir);
    CHECK(write_png(path, "parameters", "q\nSteps: 1, Sampler: Euler, Seed: 1", NULL) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "info '%s' '%s/none.png'", path, dir);
    r = cli_run(cmd);
    CHECK(!has_raw_controls(r.out));
    CHECK(strstr(r.out, "/bad\\x1b]0;x\\x07name.png <==\n") != NULL);
    CHECK(!has_raw_controls(r.err));
    cli_free(&r);
    snprintf(path, sizeof path, "%s/bad\x1b]0;x\x07name.jpg", dir);
    CHECK(cli_write(path, "not a jpeg", 10) == 0);
    r = run_on("", path);
    CHECK(r.status == 1);
    CHECK(!has_raw_controls(r.err));
    CHECK(strstr(r.err, "/bad\\x1b]0;x\\x07name.jpg: ") != NULL);
    cli_free(&r);
    cli_rmrf(dir);
}

static void test_several_files_have_headers(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char a[512], b[512], cmd[1200], want[2048];
    snprintf(a, sizeof a, "%s/a.png", dir);
    snprintf(b, sizeof b, "%s/b.png", dir);
    CHECK(write_png(a, "parameters", "first\nNegative prompt: x\nSteps: 1, Sampler: Euler, Seed: 1", NULL) == 0);
    CHECK(write_png(b, "parameters", "second\nSteps: 2, Sampler: Euler, Seed: 2", NULL) == 0);
    snprintf(cmd, sizeof cmd, "info %s %s", a, b);
    cli_result r = cli_run(cmd);
    CHECK(r.status == 0);
    snprintf(want, sizeof want,
             "==> %s <==\nfirst\nNegative prompt: x\nSteps: 1, Sampler: Euler, Seed: 1\n\n"
             "==> %s <==\nsecond\nSteps: 2, Sampler: Euler, Seed: 2\n\n",
             a, b);
    CHECK_STR(r.out, want);
    cli_free(&r);
    /* One file: the stored text alone. */
    r = run_on("", a);
    CHECK_STR(r.out, "first\nNegative prompt: x\nSteps: 1, Sampler: Euler, Seed: 1\n");
    cli_free(&r);
    /* webui-api: one line per file, {"file": FILE, "request": {...}}. */
    snprintf(cmd, sizeof cmd, "info --format webui-api %s %s", a, b);
    r = cli_run(cmd);
    CHECK(r.status == 0);
    char *nl = strchr(r.out, '\n');
    CHECK(nl != NULL);
    if (nl) {
        *nl = '\0';
        json_value *v = parse_json(r.out);
        CHECK(v && v->type == JSON_OBJECT && v->count == 2 && !strcmp(v->keys[0], "file"));
        CHECK_STR(member(v, "file"), a);
        const json_value *req = json_get(v, "request");
        CHECK(req && req->type == JSON_OBJECT);
        CHECK_STR(member(req, "prompt"), "first");
        CHECK_STR(member(req, "sampler_name"), "Euler");
        json_free(v);
        v = parse_json(nl + 1);
        CHECK(v && v->count == 2);
        CHECK_STR(member(v, "file"), b);
        CHECK_STR(member(json_get(v, "request"), "prompt"), "second");
        json_free(v);
    }
    cli_free(&r);
    cli_rmrf(dir);
}

static void test_all_chunks(void)
{
    char *dir = cli_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof path, "%s/up.png", dir);
    CHECK(write_png(path, "parameters", "a fox\nSteps: 20, Sampler: Euler, Seed: 5", "postprocessing",
                    "Postprocess upscale by: 2, Postprocess upscaler: R-ESRGAN 4x+", "extras", "more\ntext", NULL) == 0);
    cli_result r = run_on("", path);
    CHECK_STR(r.out, "a fox\nSteps: 20, Sampler: Euler, Seed: 5\n");
    cli_free(&r);
    r = run_on("--all-chunks", path);
    CHECK(r.status == 0);
    CHECK_STR(r.out, "a fox\nSteps: 20, Sampler: Euler, Seed: 5\n\n"
                     "[postprocessing]\nPostprocess upscale by: 2, Postprocess upscaler: R-ESRGAN 4x+\n\n"
                     "[extras]\nmore\ntext\n");
    cli_free(&r);
    /* Other generators: the built infotext, then every stored entry. */
    snprintf(path, sizeof path, "%s/comfy.png", dir);
    char graph[2048];
    snprintf(graph, sizeof graph, comfy_graph, "euler", "normal");
    CHECK(write_png(path, "prompt", graph, NULL) == 0);
    r = run_on("--all-chunks", path);
    CHECK(strncmp(r.out, "a cat\nNegative prompt: a dog\nSteps: 20, Sampler: Euler, Schedule type: Normal", 76) == 0);
    CHECK(strstr(r.out, "\n\n[prompt]\n{\"3\": {\"class_type\": \"KSampler\"") != NULL);
    cli_free(&r);
    r = cli_run("info --help");
    CHECK(strstr(r.out, "--all-chunks") != NULL);
    CHECK(strstr(r.out, "\\x1b") != NULL);
    CHECK(strstr(r.out, "==> FILE <==") != NULL);
    cli_free(&r);
    cli_rmrf(dir);
}

/* The real WebUI output whose parameters come after six other chunks. */
static void test_shared_all_chunks(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared test data absent");
    char path[1024];
    snprintf(path, sizeof path, "%s/testdata/metadata/text_after_idat.png", shared);
    cli_result plain = run_on("", path), all = run_on("--all-chunks", path);
    CHECK(plain.status == 0 && all.status == 0);
    size_t n = strlen(plain.out);
    CHECK(n > 1 && strncmp(all.out, plain.out, n - 1) == 0);
    CHECK(strncmp(all.out + n - 1, "\n\n[", 3) == 0);
    CHECK(strstr(all.out, "\n[parameters]\n") == NULL);
    cli_free(&plain);
    cli_free(&all);
}

int main(void)
{
    RUN(test_webui_names_are_their_own);
    RUN(test_sampler_with_schedule_suffix);
    RUN(test_generator_names);
    RUN(test_tables_are_sorted_and_closed);
    RUN(test_comfyui_names_in_request_infotext_and_json);
    RUN(test_other_generators_names);
    RUN(test_control_characters_escaped);
    RUN(test_several_files_have_headers);
    RUN(test_all_chunks);
    RUN(test_shared_all_chunks);
    return test_summary("cli_info_text");
}
