/* unprompt — recover the prompt behind an AI-generated image.
 *
 * The public C API of libunprompt. Every call returns a status code
 * (UNPROMPT_OK or a negative unprompt_status) and fills a caller-provided
 * error message; the library never prints and keeps no global state.
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
                             anything (decodes the image); default 1 */
} unprompt_info_params;

typedef struct {
    const char *container;       /* "png", "jpeg", "webp" */
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
 * (release with unprompt_string_free) or NULL when out of memory.
 *  - text: what `engine-run info` prints: the infotext, else every raw entry as
 *    "keyword: text" lines; an empty string when the file holds no text.
 *  - json: one JSON Lines object {"file", "generator", "prompt",
 *    "negative_prompt", "settings", "raw"} (file may be NULL → null).
 *  - txt2img: the request body for the WebUI's /sdapi/v1/txt2img endpoint. */
char *unprompt_info_to_text(const unprompt_info *info);
char *unprompt_info_to_json(const unprompt_info *info, const char *file);
char *unprompt_info_to_txt2img(const unprompt_info *info);
void unprompt_string_free(char *s);

#ifdef __cplusplus
}
#endif

#endif
