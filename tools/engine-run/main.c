/* engine-run: the command-line shell around libunprompt. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/commands.h"
#include "tools/engine-run/msg.h"

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
    {"weights", cmd_weights, "list the models found, and where they were looked for"},
    {"serve", cmd_serve, "answer the WebUI's PNG Info and interrogate API over HTTP, with a page"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: engine-run COMMAND [options] FILE...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'engine-run COMMAND --help' describes a command's options;\n"
               "'engine-run --version' prints the version.\n");
}

/* SIGBUS: a memory-mapped file (the weights, a cache, a checkpoint being
 * converted) was truncated or replaced under the process. Inputs are read,
 * not mapped, so this is never an image's fault: say what happened, then
 * die of the signal as before (the handler is reset on entry). */
static void on_sigbus(int sig)
{
    static const char msg[] = "engine-run: fatal: a memory-mapped model, cache or checkpoint file was truncated "
                              "while in use (SIGBUS); replace model files by renaming a new file into place\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    raise(sig);
}

static void catch_sigbus(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int main(int argc, char **argv)
{
    unprompt_blas_reexec(argv);
    catch_sigbus();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("engine-run (unprompt) %s\n", unprompt_version());
        return fflush(stdout) ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            msg_set_command(commands[i].name);
            return commands[i].run(argc - 1, argv + 1);
        }
    msg("unknown command '%s'", argv[1]);
    usage(stderr);
    return 2;
}
