/* engine-run convert: upstream checkpoint (+ tokenizer / config files) →
 * canonical safetensors. Extra files may be given as options or simply
 * listed after the checkpoint; they are told apart by their names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/args.h"
#include "tools/engine-run/commands.h"
#include "tools/engine-run/msg.h"

static void convert_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run convert SRC [FILE...] -o OUT.safetensors [options]\n"
            "\n"
            "Convert an upstream checkpoint once into the file the engine memory-maps. SRC is a\n"
            "PyTorch checkpoint (torch.save zip or TorchScript archive, read without executing any\n"
            "of it) or a safetensors file. The model is recognised from its tensor names.\n"
            "\n"
            "  CLIP ViT      SRC: ViT-L-14.pt (OpenAI TorchScript), an OpenAI-named state dict .pt,\n"
            "                     or Hugging Face model.safetensors (+ its config.json)\n"
            "                needs: bpe_simple_vocab_16e6.txt.gz (openai/CLIP, clip/) or merges.txt\n"
            "  BLIP caption  SRC: model_base_caption_capfilt_large.pth or model_large_caption.pth\n"
            "                needs: vocab.txt of bert-base-uncased\n"
            "  DeepDanbooru  SRC: model-resnet_custom_v3.pt (its tags are inside)\n"
            "\n"
            "Extra FILEs after SRC are told apart by name: *vocab.json -> --vocab-json, other\n"
            "*.json -> --config, *tags.txt -> --tags, other *.txt and *.txt.gz -> --vocab.\n"
            "\n"
            "options:\n"
            "  -o, --output FILE     where to write (atomically: never a half-written file)\n"
            "  --dtype f32|f16|bf16  storage of the weight matrices (default f32); vectors stay f32\n"
            "  --kind clip|blip|deepdanbooru   skip detection\n"
            "  --vocab FILE          tokenizer: CLIP merges (gzip or text) or BERT vocab.txt\n"
            "  --vocab-json FILE     Hugging Face CLIP vocab.json: checked against the merges\n"
            "  --config FILE         Hugging Face config.json (else the config comes from the shapes)\n"
            "  --tags FILE           DeepDanbooru tags, one per line, if the checkpoint has none\n"
            "\n"
            "examples:\n"
            "  engine-run convert ViT-L-14.pt bpe_simple_vocab_16e6.txt.gz -o weights/clip.safetensors\n"
            "  engine-run convert model.safetensors config.json merges.txt -o weights/clip.safetensors\n"
            "  engine-run convert model_base_caption_capfilt_large.pth --vocab vocab.txt -o weights/blip.safetensors\n"
            "  engine-run convert model-resnet_custom_v3.pt --dtype bf16 -o weights/deepdanbooru.safetensors\n"
            "\n"
            "`make weights` downloads all of these and runs the conversions.\n");
}

/* The library's reason without a leading "convert: " (the prefix names the command already). */
static const char *convert_reason(const char *err)
{
    return strncmp(err, "convert: ", 9) ? err : err + 9;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Where a file listed after SRC goes, by its name; NULL: SRC itself. */
static const char **extra_slot(const char *path, unprompt_convert_params *p)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (ends_with(base, "vocab.json")) return &p->vocab_json_path;
    if (ends_with(base, ".json")) return &p->config_path;
    if (ends_with(base, "tags.txt")) return &p->tags_path;
    if (ends_with(base, ".txt") || ends_with(base, ".txt.gz")) return &p->vocab_path;
    return NULL;
}

static int place_file(const char *path, const char **src, unprompt_convert_params *p)
{
    const char **slot = extra_slot(path, p);
    if (!slot && !*src) {
        *src = path;
        return 0;
    }
    if (!slot) {
        msg("two checkpoints given ('%s' and '%s'); one model at a time", *src, path);
        return 2;
    }
    if (*slot) {
        msg("'%s' and '%s' play the same part; give one", *slot, path);
        return 2;
    }
    *slot = path;
    return 0;
}

typedef struct {
    unprompt_convert_params p;
    const char *out;
} convert_options;

static int convert_option(void *user, int argc, char **argv, int *i)
{
    convert_options *o = user;
    const char *a = argv[*i];
    const char **slot = NULL;
    if (!strcmp(a, "--help")) return 2;
    if (!strcmp(a, "--output")) slot = &o->out;
    else if (!strcmp(a, "--dtype")) slot = &o->p.dtype;
    else if (!strcmp(a, "--kind")) slot = &o->p.kind;
    else if (!strcmp(a, "--tags")) slot = &o->p.tags_path;
    else if (!strcmp(a, "--vocab")) slot = &o->p.vocab_path;
    else if (!strcmp(a, "--vocab-json")) slot = &o->p.vocab_json_path;
    else if (!strcmp(a, "--config")) slot = &o->p.config_path;
    else return 0;
    if (*i + 1 >= argc) {
        msg("%s needs a value", a);
        return -1;
    }
    *slot = argv[++*i];
    return 1;
}

/* What was recognised and written, from the file written. */
static void convert_report(const char *src, const char *out)
{
    unprompt_model_info info;
    char err[256];
    if (unprompt_model_info_read(out, 0, &info, err, sizeof err) != UNPROMPT_OK) {
        msg_file(out, "written, but cannot be read back: %s", err);
        return;
    }
    printf("recognised: %s: a %s model\n", src, unprompt_model_kind_name(info.kind));
    printf("wrote: %s: kind %s, dtype %s, %.1f MB (converter %s)\n", out, info.kind, info.dtype,
           (double)info.size / 1e6, info.converter);
}

int cmd_convert(int argc, char **argv)
{
    convert_options o = {unprompt_convert_default_params(), NULL};
    const char *src = NULL;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int n_files = 0;
    if (!files) return 2;
    int st = cli_parse(argc, argv, convert_option, &o, files, &n_files);
    for (int i = 0; !st && i < n_files; i++) st = place_file(files[i], &src, &o.p);
    free(files);
    if (st == 1) return convert_usage(stdout), 0;
    if (st) return 2;
    if (!src || !o.out) {
        msg("%s (see engine-run convert --help)", !src ? "no checkpoint given" : "no output file: -o OUT.safetensors");
        return 2;
    }
    char err[512];
    int rc = unprompt_convert(src, o.out, &o.p, err, sizeof err);
    if (rc != UNPROMPT_OK) {
        msg_file(src, "%s", convert_reason(err));
        return rc == UNPROMPT_ERR_ARGS ? 2 : 1;
    }
    convert_report(src, o.out);
    return fflush(stdout) ? 1 : 0;
}
