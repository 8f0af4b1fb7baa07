/* unprompt — recover the prompt behind an AI-generated image.
 *
 * The public C API of libunprompt. Every call returns a status code
 * (UNPROMPT_OK or a negative unprompt_status) and fills a caller-provided
 * error message; the library never prints and keeps no global state (the
 * one process-wide setting it makes is OpenBLAS's thread count: "Threads").
 *
 *   unprompt_info info;
 *   char err[256];
 *   unprompt_info_params p = unprompt_info_default_params();
 *   if (unprompt_info_read(bytes, len, &p, &info, err, sizeof err) == UNPROMPT_OK) {
 *       puts(info.prompt ? info.prompt : "(no prompt)");
 *       unprompt_info_free(&info);
 *   }
 */
#ifndef UNPROMPT_H
#define UNPROMPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    UNPROMPT_OK = 0,
    UNPROMPT_ERR_FORMAT = -1,  /* the input is not a readable file of a known format */
    UNPROMPT_ERR_NOMEM = -2,
    UNPROMPT_ERR_IO = -3,
    UNPROMPT_ERR_ARGS = -4,
    UNPROMPT_ERR_MODEL = -5    /* weights missing or unusable */
} unprompt_status;

typedef struct {
    const char *key;
    const char *value;
} unprompt_kv;

/* ---- PNG Info ---------------------------------------------------------- */

typedef struct {
    size_t max_inflate;   /* per compressed text chunk; default 16 MiB */
    int read_stealth;     /* look for stealth info in pixel LSBs when no text says
                             anything (streams the image's rows); default 1 */
    /* The per-file budget, default 16 MiB: the text decoded from one file
     * (every chunk, Exif field, comment and stealth payload, summed) may
     * not exceed it — text past it is skipped with a warning — and neither
     * may any output a formatter makes for the file. 0: the default. */
    size_t max_text;
} unprompt_info_params;

typedef struct {
    const char *container;       /* "png", "jpeg", "webp", "gif", "bmp", "tiff" (format/image_format.c) */
    const char *generator;       /* "automatic1111", "comfyui", "novelai", "invokeai",
                                    "fooocus", "unknown", or NULL: no metadata at all */
    const char *prompt;          /* NULL when absent */
    const char *negative_prompt; /* NULL when absent */
    const unprompt_kv *settings; /* A1111 key names, string values, file order */
    size_t n_settings;
    const unprompt_kv *raw;      /* every text entry: keyword → text as stored */
    size_t n_raw;
    /* The parameters as the WebUI shows and accepts them: the stored text
     * itself for A1111-style files, an equivalent infotext built from the
     * fields for other generators, NULL when nothing was recognised. */
    const char *infotext;
    const char *const *warnings; /* non-fatal problems (CRC mismatch, ...) */
    size_t n_warnings;
    unsigned width, height;
    size_t max_output;           /* the params' max_text: formatters fail beyond it */
    void *internal_;             /* owned storage; freed by unprompt_info_free */
} unprompt_info;

unprompt_info_params unprompt_info_default_params(void);

/* Read the metadata of one image held in memory. On success *out must be
 * released with unprompt_info_free. A file whose container is damaged part
 * way still succeeds with what was readable and a warning; only an input
 * with no readable structure fails. */
int unprompt_info_read(const uint8_t *bytes, size_t len, const unprompt_info_params *params,
                       unprompt_info *out, char *err, size_t err_size);
void unprompt_info_free(unprompt_info *info);

/* Lookup of one setting by its A1111 key, or NULL. */
const char *unprompt_info_setting(const unprompt_info *info, const char *key);

/* Formatters over one result. Each returns a malloc'd NUL-terminated string
 * (release with unprompt_string_free), or NULL when out of memory or when
 * the output would be longer than info->max_output (the per-file budget).
 *  - text: what `engine-run info` prints: the infotext, else every raw entry as
 *    "keyword: text" lines; an empty string when the file holds no text.
 *  - json: one JSON Lines object {"file", "generator", "prompt",
 *    "negative_prompt", "settings", "raw"} (file may be NULL → null).
 *  - text_all_chunks: the text, then every other text entry (the WebUI's
 *    PNG Info listing: "postprocessing", "extras", …), each as a blank line,
 *    a "[keyword]" line and its text; the entry the text is, left out.
 *  - txt2img: the request body for the WebUI's /sdapi/v1/txt2img endpoint,
 *    sampler and schedule type by the WebUI's names (a generator's name the
 *    WebUI has no equivalent of is left out); _file: wrapped as
 *    {"file": FILE, "request": {...}}, or bare when file is NULL. */
char *unprompt_info_to_text(const unprompt_info *info);
char *unprompt_info_to_text_all_chunks(const unprompt_info *info);
char *unprompt_info_to_json(const unprompt_info *info, const char *file);
char *unprompt_info_to_txt2img(const unprompt_info *info);
char *unprompt_info_to_txt2img_file(const unprompt_info *info, const char *file);
void unprompt_string_free(char *s);

/* ---- Start-up -------------------------------------------------------- */

/* Call first in main(argv): when OpenBLAS chose kernels weaker than the CPU
 * runs (Debian's OpenBLAS 0.3.21 gives Zen 4/5 its Haswell kernels and
 * CPUs it does not know, such as Emerald Rapids, its SSE3 Prescott ones),
 * set OPENBLAS_CORETYPE to SkylakeX (AVX-512) or Haswell (AVX2) and execute
 * the program again: GEMMs run 2-5 times as fast. Returns only when nothing
 * was done (0) or the exec failed (-1). OPENBLAS_CORETYPE or
 * UNPROMPT_NO_BLAS_REEXEC in the environment: no-op. */
int unprompt_blas_reexec(char **argv);
/* When OPENBLAS_CORETYPE came from the environment and holds OpenBLAS to
 * kernels weaker than the CPU runs: the core type it should have named
 * ("SkylakeX" or "Haswell"); its GEMMs (and bench's sgemm_peak) then run at
 * a fraction of the machine's speed. NULL otherwise. */
const char *unprompt_blas_core_forced_slow(void);

/* ---- Weights ----------------------------------------------------------- */

/* Weights are memory-mapped from the converted files. On CPUs with AVX-512
 * the f32 weights of the image towers, the caption decoder and DeepDanbooru
 * are multiplied by the engine's own GEMM in a re-laid form (panels). The
 * first load re-lays them and writes "<model>.panels" beside the model
 * (about the model's size again); later loads map that file, so they start
 * as fast as before and processes share its pages. A directory the process
 * cannot write to only means re-laying at every load. The panels hold the
 * same bytes either way, so results do not depend on whether the file
 * existed (engine/runtime/panel_cache.h).
 *
 * bf16 weights are multiplied with AMX tiles on CPUs that have them (Intel
 * Sapphire Rapids and later), with vdpbf16ps on AMD's AVX512_BF16 CPUs, and
 * widened to f32 elsewhere. For AMX the library asks Linux for the tile
 * state (arch_prctl ARCH_REQ_XCOMP_PERM) when it first detects the CPU,
 * which makes the process's signal frames about 8 KiB larger; Linux refuses
 * while a thread has a smaller sigaltstack, and the library then widens. */

/* ---- Threads ------------------------------------------------------------ */

/* Each context (unprompt_booru, unprompt_clip, unprompt_all) computes with
 * its own thread count, given at load (≤ 0: unprompt_cpu_count()). Every
 * load and run call sets that count as the OpenMP team size of the thread
 * making the call (omp_set_num_threads, which OpenMP keeps per thread) and
 * leaves it so; no other thread's count and nothing else of OpenMP is
 * changed. A call's work is split over that team. A context is used by one
 * thread at a time; contexts on different threads run at once, each with
 * its own team (give them counts that add up to the cores). OpenBLAS is
 * called from inside the team, single-threaded: loading sets its count to 1
 * and stops its worker threads, the one process-wide setting the library
 * makes (OpenBLAS has no per-thread count). unprompt_blas_reexec (above) is
 * the one process-level helper, for main(). */

/* ---- Interrogate DeepBooru --------------------------------------------- */

typedef struct unprompt_booru unprompt_booru; /* a loaded model; one per thread */

/* Load deepdanbooru.safetensors (made by `engine-run convert`). threads ≤ 0:
 * every available core. */
int unprompt_booru_load(unprompt_booru **out, const char *model_path, int threads, char *err, size_t err_size);
void unprompt_booru_free(unprompt_booru *model);
/* Number of tags the model scores, and the name of tag i. */
size_t unprompt_booru_tag_count(const unprompt_booru *model);
const char *unprompt_booru_tag_name(const unprompt_booru *model, size_t i);

/* The WebUI's options, with its defaults. */
typedef struct {
    float threshold;    /* 0.5: tags scoring below are left out */
    int sort_by_score;  /* 0: alphabetical */
    int use_spaces;     /* 1: "short hair", not "short_hair" */
    int use_escape;     /* 1: "\(medium\)" */
    int include_ranks;  /* 0: 1 gives "(tag:0.987)" */
    const char *filter; /* "tag1, tag2": tags to leave out, or NULL */
} unprompt_booru_params;

unprompt_booru_params unprompt_booru_default_params(void);

typedef struct {
    const char *tag;  /* the model's tag, e.g. "short_hair" */
    const char *text; /* as it appears in the prompt */
    float score;
} unprompt_tag;

typedef struct {
    const char *prompt;       /* the tags joined with ", " */
    const unprompt_tag *tags; /* in prompt order */
    size_t n_tags;
    const float *scores;      /* every tag's probability, in model order */
    size_t n_scores;
    void *internal_;
} unprompt_booru_result;

/* Tag an encoded image (PNG, JPEG, WebP, GIF, BMP, TIFF: decoded as the WebUI's Pillow decodes it). */
int unprompt_booru_run(unprompt_booru *model, const uint8_t *bytes, size_t len, const unprompt_booru_params *params,
                       unprompt_booru_result *out, char *err, size_t err_size);
/* Tag 8-bit RGB pixels (width*height*3 bytes, rows top to bottom). */
int unprompt_booru_run_rgb(unprompt_booru *model, const uint8_t *rgb, int width, int height,
                           const unprompt_booru_params *params, unprompt_booru_result *out, char *err,
                           size_t err_size);
void unprompt_booru_result_free(unprompt_booru_result *result);
/* {"file", "prompt", "tags": [{"tag", "score"}…]} (file may be NULL → null). */
char *unprompt_booru_to_json(const unprompt_booru_result *result, const char *file);

/* The CPUs this process may run on (its affinity mask): what threads ≤ 0
 * means in the load functions. */
int unprompt_cpu_count(void);

/* Decode an encoded image (PNG, JPEG, WebP, GIF, BMP, TIFF; the first frame
 * or page) to 8-bit RGB, the bytes of Pillow's Image.open(f).convert("RGB")
 * as the models read it (alpha dropped, palette expanded, CMYK converted);
 * *rgb is freed with unprompt_rgb_free. */
int unprompt_decode_rgb(const uint8_t *bytes, size_t len, uint8_t **rgb, int *width, int *height, char *err,
                        size_t err_size);
void unprompt_rgb_free(uint8_t *rgb);

/* ---- Interrogate CLIP ---------------------------------------------------- */

typedef struct unprompt_clip unprompt_clip; /* loaded models + label embeddings; one per thread */

/* Progress of long one-off work (encoding a category list the first time). */
typedef void (*unprompt_progress_fn)(void *user, const char *what, size_t done, size_t total);

typedef struct {
    const char *clip_model;      /* clip.safetensors (required) */
    const char *blip_model;      /* blip.safetensors, or NULL: no captions */
    const char *categories_dir;  /* the *.txt lists, or NULL: no ranking */
    const char *cache_dir;       /* label embeddings; NULL: "cache" beside clip_model */
    size_t dict_limit;           /* first N lines of each list (1500); 0: all */
    const char *skip_categories; /* "artists, movements": lists to leave out, or NULL */
    int threads;                 /* ≤ 0: every available core */
    unprompt_progress_fn progress;
    void *progress_user;
} unprompt_clip_params;

unprompt_clip_params unprompt_clip_default_params(void);

/* Before loading anything: UNPROMPT_OK when every name in skip_categories
 * ("artists, movements") is a list of categories_dir (a *.txt file's stem),
 * else UNPROMPT_ERR_ARGS naming the first that is not. */
int unprompt_clip_check_skip_categories(const char *categories_dir, const char *skip_categories, char *err,
                                        size_t err_size);

/* Load the models and the label embeddings of every list (computed and
 * cached on first use, with progress). */
int unprompt_clip_load(unprompt_clip **out, const unprompt_clip_params *params, char *err, size_t err_size);
void unprompt_clip_free(unprompt_clip *ctx);
/* Width of the CLIP embeddings (768 for ViT-L/14). */
size_t unprompt_clip_dim(const unprompt_clip *ctx);

/* The WebUI's caption and ranking options, with its defaults. */
typedef struct {
    int beams;                /* 1 */
    int min_length;           /* 24 tokens, prompt included */
    int max_length;           /* 48 */
    float repetition_penalty; /* 1: none */
    int include_ranks;        /* 0; 1 gives "(match:0.123)" */
} unprompt_clip_run_params;

unprompt_clip_run_params unprompt_clip_default_run_params(void);

typedef struct {
    const char *text;
    float score; /* softmax probability over the list, in [0, 1] */
} unprompt_match;

typedef struct {
    const char *name; /* the list's file stem */
    const unprompt_match *matches;
    size_t n_matches;
} unprompt_category_result;

typedef struct {
    const char *prompt;  /* "caption, match, match, ..." */
    const char *caption; /* BLIP's caption ("" without a BLIP model) */
    const int *tokens;   /* caption ids, the prompt's included */
    size_t n_tokens;
    const unprompt_category_result *categories;
    size_t n_categories;
    void *internal_;
} unprompt_clip_result;

/* Interrogate an encoded image (PNG, JPEG, WebP, GIF, BMP, TIFF) or 8-bit RGB pixels. */
int unprompt_clip_run(unprompt_clip *ctx, const uint8_t *bytes, size_t len, const unprompt_clip_run_params *params,
                      unprompt_clip_result *out, char *err, size_t err_size);
int unprompt_clip_run_rgb(unprompt_clip *ctx, const uint8_t *rgb, int width, int height,
                          const unprompt_clip_run_params *params, unprompt_clip_result *out, char *err,
                          size_t err_size);
void unprompt_clip_result_free(unprompt_clip_result *result);

/* 8-bit RGB pixels, rows top to bottom, 3 bytes per pixel. */
typedef struct {
    const uint8_t *rgb;
    int width, height;
} unprompt_rgb_image;

#define UNPROMPT_MAX_BATCH 64

/* Interrogate n images (1 ≤ n ≤ UNPROMPT_MAX_BATCH) at once: out[i] is
 * what unprompt_clip_run_rgb gives image i, but greedy captions (beams 1)
 * are decoded together, so each decoding step reads BLIP's decoder weights
 * once for all n images. The vision towers take them 8 at a time. Costs
 * ≈ 12 MB per image (base BLIP, f32: its pixels, its encoder output, that
 * output in the two forms cross-attention reads, its self-attention
 * cache); with bf16 weights, 21 MB more of projected keys and values. On
 * failure every out[i] is empty. */
int unprompt_clip_run_batch(unprompt_clip *ctx, const unprompt_rgb_image *images, size_t n,
                            const unprompt_clip_run_params *params, unprompt_clip_result *out, char *err,
                            size_t err_size);
/* {"file", "prompt", "caption", "categories": {name: [{"text", "score"}…]}} */
char *unprompt_clip_to_json(const unprompt_clip_result *result, const char *file);
/* {"file", "caption", "tokens": [ids]} */
char *unprompt_caption_to_json(const unprompt_clip_result *result, const char *file);

/* L2-normalised CLIP image features (dim floats) of an encoded image. */
int unprompt_clip_embed_image(unprompt_clip *ctx, const uint8_t *bytes, size_t len, float *features, char *err,
                              size_t err_size);
/* L2-normalised text features of one phrase, and its token ids (SOT … EOT,
 * at most 77; *n_tokens set). */
int unprompt_clip_embed_text(unprompt_clip *ctx, const char *text, int *tokens, size_t *n_tokens, float *features,
                             char *err, size_t err_size);

/* How many tokens the text is, SOT and EOT included, before the cut to 77
 * that unprompt_clip_embed_text makes (counted up to
 * UNPROMPT_CLIP_COUNT_MAX; a byte is at most one token). 0 on failure. */
#define UNPROMPT_CLIP_CONTEXT 77
#define UNPROMPT_CLIP_COUNT_MAX ((size_t)1 << 16)
size_t unprompt_clip_text_tokens(const unprompt_clip *ctx, const char *text);
/* The longest caption the BLIP model can make (its positions, prompt
 * included): the bound of max_length. 0 without a BLIP model. */
int unprompt_clip_max_caption_length(const unprompt_clip *ctx);

/* {"file", "embedding": [dim floats]}: an image's features. */
char *unprompt_embedding_to_json(const float *features, size_t dim, const char *file);
/* {"text", "tokens": [ids], "embedding": [dim floats]}: a phrase's. */
char *unprompt_text_embedding_to_json(const char *text, const int *tokens, size_t n_tokens, const float *features,
                                      size_t dim);

/* ---- All: the CLIP interrogation and the DeepBooru tags in one prompt ---- */

typedef struct unprompt_all unprompt_all; /* the CLIP and DeepBooru contexts; one per thread */

typedef struct {
    unprompt_clip_params clip; /* CLIP, BLIP and the lists, as unprompt_clip_load takes them;
                                * clip.threads serves both models */
    const char *booru_model;   /* deepdanbooru.safetensors (required) */
} unprompt_all_params;

unprompt_all_params unprompt_all_default_params(void);

/* Load the DeepBooru model, then the CLIP models and lists. On failure err
 * is the failing model's message, as unprompt_booru_load or
 * unprompt_clip_load gives it. */
int unprompt_all_load(unprompt_all **out, const unprompt_all_params *params, char *err, size_t err_size);
void unprompt_all_free(unprompt_all *ctx);

typedef struct {
    unprompt_clip_run_params clip;
    unprompt_booru_params booru;
    int prefer_metadata; /* unprompt_all_run: 0; 1 gives a file's stored prompt (PNG Info)
                          * when it has one, without running the models */
} unprompt_all_run_params;

unprompt_all_run_params unprompt_all_default_run_params(void);

typedef struct {
    const char *prompt;          /* the CLIP prompt then the tags: "caption, match, …, tag, …";
                                  * or the prompt stored in the file */
    int from_metadata;           /* 1: prompt is the stored one; clip and booru are empty */
    unprompt_clip_result clip;   /* caption and matches */
    unprompt_booru_result booru; /* tags */
    void *internal_;
} unprompt_all_result;

/* One encoded image (PNG, JPEG, BMP, GIF); with prefer_metadata a file
 * that stores a prompt needs no models (ctx may then be NULL). */
int unprompt_all_run(unprompt_all *ctx, const uint8_t *bytes, size_t len, const unprompt_all_run_params *params,
                     unprompt_all_result *out, char *err, size_t err_size);
/* The prompt stored in the file, as unprompt_all_run gives it with
 * prefer_metadata: UNPROMPT_OK, or UNPROMPT_ERR_FORMAT when the file
 * stores none (or no readable metadata), *out then empty. */
int unprompt_all_run_metadata(const uint8_t *bytes, size_t len, unprompt_all_result *out, char *err,
                              size_t err_size);
/* 8-bit RGB pixels; and n images at once (1 ≤ n ≤ UNPROMPT_MAX_BATCH),
 * captioned together as unprompt_clip_run_batch does, then tagged one by
 * one. On failure every out[i] is empty. prefer_metadata is not used. */
int unprompt_all_run_rgb(unprompt_all *ctx, const uint8_t *rgb, int width, int height,
                         const unprompt_all_run_params *params, unprompt_all_result *out, char *err, size_t err_size);
int unprompt_all_run_batch(unprompt_all *ctx, const unprompt_rgb_image *images, size_t n,
                           const unprompt_all_run_params *params, unprompt_all_result *out, char *err,
                           size_t err_size);
void unprompt_all_result_free(unprompt_all_result *result);
/* {"file", "prompt", "source": "models", "clip": {"prompt", "caption", "categories"},
 *  "booru": {"prompt", "tags"}}; from metadata the same keys:
 * {"file", "prompt", "source": "metadata", "clip": null, "booru": null}. */
char *unprompt_all_to_json(const unprompt_all_result *result, const char *file);
/* unprompt_clip_max_caption_length of its CLIP context. */
int unprompt_all_max_caption_length(const unprompt_all *ctx);

/* ---- Converting upstream checkpoints ---------------------------------- */

typedef struct {
    const char *kind;      /* "clip", "blip", "deepdanbooru", or NULL: detect from the names */
    const char *dtype;     /* weights (matrices, kernels): "f32" (default), "f16", "bf16" */
    const char *tags_path; /* DeepDanbooru tags, one per line, when the checkpoint has none */
    const char *vocab_path; /* tokenizer: CLIP bpe_simple_vocab_16e6.txt.gz or Hugging Face merges.txt;
                             * BLIP bert-base-uncased vocab.txt */
    const char *config_path;     /* Hugging Face config.json (CLIP), BLIP med_config.json, or NULL:
                                  * the config is inferred from the tensor shapes */
    const char *vocab_json_path; /* Hugging Face CLIP vocab.json: optional, checked against the merges */
} unprompt_convert_params;

unprompt_convert_params unprompt_convert_default_params(void);

/* Read a PyTorch checkpoint (torch.save zip, TorchScript) or a safetensors
 * file — never executing anything in it — and write one canonical
 * safetensors model file, atomically (a random temporary beside it, then a
 * rename). An out_path that is one of the inputs (the source, tags, vocab
 * or config file; by path, symlink or hard link) is refused with
 * UNPROMPT_ERR_ARGS before anything is read: an input is never replaced. */
int unprompt_convert(const char *source_path, const char *out_path, const unprompt_convert_params *params,
                     char *err, size_t err_size);

/* ---- What a converted model file is ------------------------------------- */

#define UNPROMPT_VERSION "0.1.0"
const char *unprompt_version(void);

typedef struct {
    char kind[32];      /* unprompt.kind: "clip", "blip", "deepdanbooru" ("" if none) */
    char dtype[8];      /* "f32", "f16", "bf16" */
    char source[256];   /* the upstream checkpoint's file name */
    char converter[16]; /* converter version */
    size_t size;        /* bytes */
    char sha256[65];    /* of the file's bytes, when asked for ("" otherwise) */
} unprompt_model_info;

/* Read a converted model's metadata (the file's SHA-256 too when
 * with_sha256: it reads the whole file). UNPROMPT_ERR_FORMAT when it is not
 * a safetensors file (a checkpoint that needs converting, or damaged). */
int unprompt_model_info_read(const char *path, int with_sha256, unprompt_model_info *out, char *err,
                             size_t err_size);
/* "CLIP", "BLIP", "DeepDanbooru" for a kind; the kind itself otherwise. */
const char *unprompt_model_kind_name(const char *kind);

#ifdef __cplusplus
}
#endif

#endif
