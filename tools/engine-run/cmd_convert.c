/* engine-run convert: upstream checkpoint → canonical safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unprompt.h"
#include "tools/engine-run/commands.h"

static void convert_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run convert SRC -o OUT.safetensors [options]\n"
            "\n"
            "Convert a checkpoint once into the file the engine memory-maps. SRC is a PyTorch\n"
            "checkpoint (torch.save zip or TorchScript archive, read without executing any of\n"
            "it) or a safetensors file. The model is recognised from its tensor names.\n"
            "\n"
            "options:\n"
            "  -o, --output FILE     where to write (atomically: never a half-written file)\n"
            "  --dtype f32|f16|bf16  storage of the weight matrices (default f32); vectors stay f32\n"
            "  --kind clip|blip|deepdanbooru   skip detection\n"
            "  --tags FILE           DeepDanbooru tags, one per line, if the checkpoint has none\n"
            "  --vocab FILE          tokenizer vocabulary (BLIP: bert-base-uncased vocab.txt)\n"
            "  --config FILE         Hugging Face config.json\n"
            "\n"
            "examples:\n"
            "  engine-run convert model-resnet_custom_v3.pt -o weights/deepdanbooru.safetensors\n"
            "  engine-run convert model-resnet_custom_v3.pt --dtype bf16 -o weights/deepdanbooru.safetensors\n");
}

int cmd_convert(int argc, char **argv)
{
    unprompt_convert_params p = unprompt_convert_default_params();
    const char *src = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return convert_usage(stdout), 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) slot = &out;
        else if (!strcmp(a, "--dtype")) slot = &p.dtype;
        else if (!strcmp(a, "--kind")) slot = &p.kind;
        else if (!strcmp(a, "--tags")) slot = &p.tags_path;
        else if (!strcmp(a, "--vocab")) slot = &p.vocab_path;
        else if (!strcmp(a, "--config")) slot = &p.config_path;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "engine-run convert: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (src) {
            fprintf(stderr, "engine-run convert: one source file at a time\n");
            return 2;
        } else {
            src = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "engine-run convert: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!src || !out) {
        convert_usage(stderr);
        return 2;
    }
    char err[256];
    if (unprompt_convert(src, out, &p, err, sizeof err) != UNPROMPT_OK) {
        fprintf(stderr, "engine-run convert: %s\n", err);
        return 1;
    }
    return 0;
}
