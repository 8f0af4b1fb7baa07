/* engine-run info: PNG Info from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "engine/api/unprompt.h"
#include "format/json.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/commands.h"

typedef enum { INFO_TEXT, INFO_JSON, INFO_TXT2IMG } info_format;

typedef struct {
    cli_common common; /* -r, -q, --json, --sidecar, --overwrite, --shard, --resume, --from-list */
    info_format format;
    int all_chunks; /* --all-chunks: the other text entries after the parameters */
    unprompt_info_params params;
} info_options;

static void info_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run info [options] FILE|DIR|- ...\n"
            "\n"
            "Print the generation parameters stored in images (the WebUI's PNG Info):\n"
            "PNG text chunks (tEXt, zTXt, iTXt, eXIf, also after the image data), JPEG and\n"
            "WebP Exif UserComment, and A1111 stealth info in the alpha channel. Knows the\n"
            "formats of AUTOMATIC1111/Forge/SD.Next, ComfyUI, NovelAI, InvokeAI and Fooocus.\n"
            "\n"
            "options:\n"
            "  --json                one JSON object per image (JSON Lines): file, generator,\n"
            "                        prompt, negative_prompt, settings, raw\n"
            "  --format FMT          text (default: the parameters exactly as stored, ready to\n"
            "                        paste into the WebUI), json, or webui-api (the request\n"
            "                        body for /sdapi/v1/txt2img, to regenerate the image; with\n"
            "                        several files one line each: {\"file\", \"request\": {...}})\n"
            "  -r, --recursive       descend into directories\n"
            "  --sidecar[=EXT]       write IMAGE.EXT (default .txt) next to each image instead\n"
            "                        of printing; images whose sidecar exists are skipped\n"
            "  --overwrite           with --sidecar: redo and replace existing sidecars\n"
            "  --all-chunks          after the parameters, the file's other text entries as the\n"
            "                        WebUI's PNG Info lists them (postprocessing, extras, ...):\n"
            "                        each as an empty line, a \"[keyword]\" line and its text\n"
            "  --no-stealth          do not decode pixels to look for stealth info\n"
            "  --max-inflate MIB     limit per compressed text chunk (default 16)\n"
            "  --max-text MIB        per-file budget (default 16): text decoded from one file,\n"
            "                        summed over chunks, Exif fields and stealth bits, and each\n"
            "                        result printed for it; text past it is skipped with a warning\n"
            "  -q, --quiet           no warnings on stderr, no summary line\n" CLI_BATCH_HELP
            "\n" CLI_CONVENTIONS_HELP
            "\n"
            "text output: with several files each record is a line \"==> FILE <==\", the text\n"
            "and an empty line. Control characters a file's text carries (C0 but tab and\n"
            "newline, DEL, C1, U+2028/9, bidirectional controls) are printed escaped as\n"
            "\\xHH per byte (ESC as \\x1b), in JSON as \\uHHHH; sidecars hold the text\n"
            "exactly as stored.\n"
            "webui-api: sampler and schedule type by the WebUI's names (ComfyUI's\n"
            "dpmpp_2m_sde_gpu as \"DPM++ 2M SDE\", ...; --json's raw keeps the stored\n"
            "names).\n"
            "\n"
            "exit status: 0 all files had parameters, 1 some failed or had none, 2 usage.\n"
            "\n"
            "examples:\n"
            "  engine-run info picture.png\n"
            "  engine-run info --json -r outputs/ > params.jsonl\n"
            "  engine-run info --format webui-api picture.png | curl -s -H 'Content-Type: application/json' \\\n"
            "      -d @- http://127.0.0.1:7860/sdapi/v1/txt2img\n");
}

/* Returns 1 consumed an option, 0 not one of info's, -1 usage error, 2 help. */
static int parse_option(void *user, int argc, char **argv, int *i)
{
    info_options *o = user;
    const char *a = argv[*i];
    if (!strcmp(a, "--help")) return 2;
    if (!strcmp(a, "--threads") || !strcmp(a, "--weights")) return 0; /* no models here */
    int r = cli_common_option(&o->common, argc, argv, i);
    if (r) {
        if (o->common.json) o->format = INFO_JSON, o->common.json = 0;
        return r;
    }
    if (!strcmp(a, "--no-stealth")) o->params.read_stealth = 0;
    else if (!strcmp(a, "--all-chunks")) o->all_chunks = 1;
    else if (!strcmp(a, "--format") || !strcmp(a, "--max-inflate") || !strcmp(a, "--max-text")) {
        const char *v = cli_option_value(&o->common, argc, argv, i);
        if (!v) return -1;
        if (!strcmp(a, "--max-inflate") || !strcmp(a, "--max-text")) {
            char *end;
            long mib = strtol(v, &end, 10);
            if (*end || mib < 1 || mib > 4096) {
                msg("%s takes 1..4096 (MiB)", a);
                return -1;
            }
            if (!strcmp(a, "--max-text")) o->params.max_text = (size_t)mib << 20;
            else o->params.max_inflate = (size_t)mib << 20;
        } else if (!strcmp(v, "text")) o->format = INFO_TEXT;
        else if (!strcmp(v, "json")) o->format = INFO_JSON;
        else if (!strcmp(v, "webui-api")) o->format = INFO_TXT2IMG;
        else {
            msg("unknown format '%s' (text, json, webui-api)", v);
            return -1;
        }
    } else {
        return 0;
    }
    return 1;
}

/* "engine-run info: PATH: warning: MSG" on stderr (msg_file escapes the
 * path and the message: either may hold what a file or its name carries). */
static void print_warnings(const info_options *o, const char *path, const unprompt_info *info)
{
    if (o->common.quiet) return;
    for (size_t i = 0; i < info->n_warnings; i++)
        msg_file(path, "warning: %s", info->warnings[i]);
}

static char *render(const info_options *o, const unprompt_info *info, const char *path)
{
    switch (o->format) {
    case INFO_JSON: return unprompt_info_to_json(info, path);
    case INFO_TXT2IMG: return unprompt_info_to_txt2img_file(info, o->common.out.several ? path : NULL);
    case INFO_TEXT: break;
    }
    return o->all_chunks ? unprompt_info_to_text_all_chunks(info) : unprompt_info_to_text(info);
}

/* Returns 0 ok, 1 failed or no metadata. */
static int info_one(void *user, const char *path)
{
    const info_options *o = user;
    input_bytes in;
    char err[256];
    if (input_open(path, &in, err, sizeof err)) {
        output_error(&o->common.out, path, err);
        return 1;
    }
    unprompt_info info;
    int rc = unprompt_info_read(in.data, in.len, &o->params, &info, err, sizeof err);
    input_close(&in);
    if (rc != UNPROMPT_OK) {
        output_error(&o->common.out, path, err);
        return 1;
    }
    print_warnings(o, path, &info);
    int status = 0;
    if (info.n_raw == 0 || (o->format == INFO_TXT2IMG && !info.infotext)) {
        msg_file(path, "no generation parameters found");
        status = 1;
    }
    if (status == 0 || o->format == INFO_JSON) {
        char *text = render(o, &info, path);
        if (!text) {
            char why[160];
            snprintf(why, sizeof why, "the result is over the per-file budget of %zu MiB (--max-text), or out of memory",
                     info.max_output >> 20);
            output_error(&o->common.out, path, why);
            status = 1;
        } else if (output_result(&o->common.out, path, text, o->format != INFO_TEXT) < 0) {
            status = 1;
        }
        unprompt_string_free(text);
    }
    unprompt_info_free(&info);
    return status;
}

typedef struct {
    info_options *o;
    const input_list *inputs;
} info_job;

static int info_job_run(void *user)
{
    info_job *j = user;
    return batch_run(&j->o->common.batch, j->inputs, info_one, j->o);
}

int cmd_info(int argc, char **argv)
{
    info_options o;
    memset(&o, 0, sizeof o);
    o.common.command = "info";
    o.params = unprompt_info_default_params();
    o.common.files = calloc((size_t)argc, sizeof *o.common.files);
    if (!o.common.files) return 2;
    int status = cli_parse_command(&o.common, argc, argv, parse_option, &o);
    if (status < 0 || status == 3) info_usage(status < 0 ? stdout : stderr);
    if (status == 3) status = 2;
    o.common.out.json = o.format == INFO_JSON;
    if (!status) {
        input_list inputs = {0};
        o.common.out.headers = 1;
        cli_collect_inputs(&o.common, &inputs);
        info_job job = {&o, &inputs};
        status = cli_with_output(&o.common, &inputs, info_job_run, &job);
        inputs_free(&inputs);
    }
    free(o.common.files);
    return status < 0 ? 0 : status;
}
