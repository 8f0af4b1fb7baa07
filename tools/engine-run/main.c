/* engine-run: the command-line shell around libunprompt. */
#include <stdio.h>
#include <string.h>

#include "engine/unprompt.h"
#include "tools/engine-run/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "print the generation parameters stored in images (PNG Info)"},
    {"clip", cmd_clip, "caption with BLIP and rank category phrases with CLIP (Interrogate CLIP)"},
    {"booru", cmd_booru, "tag images with DeepDanbooru (Interrogate DeepBooru)"},
    {"all", cmd_all, "one prompt: CLIP interrogation followed by the DeepBooru tags"},
    {"caption", cmd_caption, "the BLIP caption alone"},
    {"embed", cmd_embed, "CLIP image embeddings (JSON)"},
    {"embed-text", cmd_embed_text, "CLIP text embeddings (JSON)"},
    {"convert", cmd_convert, "convert a checkpoint into the engine's safetensors format"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: engine-run COMMAND [options] FILE...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'engine-run COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    unprompt_blas_reexec(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "engine-run: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
