/* engine-run info: PNG Info from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unprompt.h"
#include "tools/engine-run/commands.h"
#include "tools/engine-run/inputs.h"
#include "tools/engine-run/output.h"

typedef enum { INFO_TEXT, INFO_JSON, INFO_TXT2IMG } info_format;

typedef struct {
    info_format format;
    int recursive;
    int quiet;
    output_options out;
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
            "                        body for /sdapi/v1/txt2img, to regenerate the image)\n"
            "  -r, --recursive       descend into directories\n"
            "  --sidecar[=EXT]       write IMAGE.EXT (default .txt) next to each image instead\n"
            "                        of printing; existing files are kept unless --overwrite\n"
            "  --overwrite           replace existing sidecar files\n"
            "  --no-stealth          do not decode pixels to look for stealth info\n"
            "  --max-inflate MIB     limit per compressed text chunk (default 16)\n"
            "  -q, --quiet           no warnings on stderr\n"
            "\n"
            "exit status: 0 all files had parameters, 1 some failed or had none, 2 usage.\n"
            "\n"
            "examples:\n"
            "  engine-run info picture.png\n"
            "  engine-run info --json -r outputs/ > params.jsonl\n"
            "  engine-run info --format webui-api picture.png | curl -s -H 'Content-Type: application/json' \\\n"
            "      -d @- http://127.0.0.1:7860/sdapi/v1/txt2img\n");
}

/* Returns 1 consumed an option, 0 a file argument, -1 usage error, 2 help. */
static int parse_option(info_options *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 2;
    if (!strcmp(a, "--json")) o->format = INFO_JSON;
    else if (!strcmp(a, "-r") || !strcmp(a, "--recursive")) o->recursive = 1;
    else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) o->quiet = 1;
    else if (!strcmp(a, "--overwrite")) o->out.overwrite = 1;
    else if (!strcmp(a, "--no-stealth")) o->params.read_stealth = 0;
    else if (!strcmp(a, "--sidecar")) o->out.sidecar_ext = ".txt";
    else if (!strncmp(a, "--sidecar=", 10) && a[10]) o->out.sidecar_ext = a + 10;
    else if (!strcmp(a, "--format") || !strcmp(a, "--max-inflate")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "engine-run info: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (!strcmp(a, "--max-inflate")) {
            char *end;
            long mib = strtol(v, &end, 10);
            if (*end || mib < 1 || mib > 4096) {
                fprintf(stderr, "engine-run info: --max-inflate takes 1..4096 (MiB)\n");
                return -1;
            }
            o->params.max_inflate = (size_t)mib << 20;
        } else if (!strcmp(v, "text")) o->format = INFO_TEXT;
        else if (!strcmp(v, "json")) o->format = INFO_JSON;
        else if (!strcmp(v, "webui-api")) o->format = INFO_TXT2IMG;
        else {
            fprintf(stderr, "engine-run info: unknown format '%s' (text, json, webui-api)\n", v);
            return -1;
        }
    } else if (a[0] == '-' && a[1]) {
        fprintf(stderr, "engine-run info: unknown option '%s' (see --help)\n", a);
        return -1;
    } else {
        return 0;
    }
    return 1;
}

static void print_warnings(const info_options *o, const char *path, const unprompt_info *info)
{
    if (o->quiet) return;
    for (size_t i = 0; i < info->n_warnings; i++)
        fprintf(stderr, "engine-run: %s: warning: %s\n", path, info->warnings[i]);
}

static char *render(const info_options *o, const unprompt_info *info, const char *path)
{
    switch (o->format) {
    case INFO_JSON: return unprompt_info_to_json(info, path);
    case INFO_TXT2IMG: return unprompt_info_to_txt2img(info);
    case INFO_TEXT: break;
    }
    return unprompt_info_to_text(info);
}

/* Returns 0 ok, 1 failed or no metadata. */
static int info_one(const info_options *o, const char *path)
{
    input_bytes in;
    char err[256];
    if (input_open(path, &in, err, sizeof err)) {
        fprintf(stderr, "engine-run: %s: %s\n", path, err);
        return 1;
    }
    unprompt_info info;
    int rc = unprompt_info_read(in.data, in.len, &o->params, &info, err, sizeof err);
    input_close(&in);
    if (rc != UNPROMPT_OK) {
        fprintf(stderr, "engine-run: %s: %s\n", path, err);
        return 1;
    }
    print_warnings(o, path, &info);
    int status = 0;
    if (info.n_raw == 0 || (o->format == INFO_TXT2IMG && !info.infotext)) {
        fprintf(stderr, "engine-run: %s: no generation parameters found\n", path);
        status = 1;
    }
    if (status == 0 || o->format == INFO_JSON) {
        char *text = render(o, &info, path);
        if (!text) {
            fprintf(stderr, "engine-run: %s: out of memory\n", path);
            status = 1;
        } else if (output_result(&o->out, path, text, o->format != INFO_TEXT) < 0) {
            status = 1;
        }
        unprompt_string_free(text);
    }
    unprompt_info_free(&info);
    return status;
}

int cmd_info(int argc, char **argv)
{
    info_options o;
    memset(&o, 0, sizeof o);
    o.params = unprompt_info_default_params();
    input_list inputs = {0};
    char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0;
    if (!files) return 2;
    for (int i = 1; i < argc; i++) {
        int r = parse_option(&o, argc, argv, &i);
        if (r == 2) {
            info_usage(stdout);
            free(files);
            return 0;
        }
        if (r < 0) {
            free(files);
            return 2;
        }
        if (r == 0) files[n_files++] = argv[i];
    }
    if (n_files == 0) {
        info_usage(stderr);
        free(files);
        return 2;
    }
    for (int i = 0; i < n_files; i++) inputs_add(&inputs, files[i], o.recursive);
    free(files);
    o.out.several = inputs.count + (size_t)inputs.errors > 1;
    int failed = inputs.errors;
    for (size_t i = 0; i < inputs.count; i++) failed += info_one(&o, inputs.paths[i]);
    inputs_free(&inputs);
    return failed ? 1 : 0;
}
