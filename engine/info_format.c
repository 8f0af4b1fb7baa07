/* Formatters over unprompt_info: plain text, JSON Lines, txt2img request. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unprompt.h"
#include "format/buf.h"
#include "format/hash.h"
#include "format/json.h"

void unprompt_string_free(char *s)
{
    free(s);
}

static int put_str(buf *b, const char *s, fmt_error *e)
{
    if (!s) return buf_append_str(b, "null", e);
    return json_write_string(b, s, strlen(s), e);
}

char *unprompt_info_to_text(const unprompt_info *info)
{
    buf b;
    buf_init(&b, info->max_output);
    fmt_error e;
    if (info->infotext) {
        if (buf_append_str(&b, info->infotext, &e)) goto fail;
        return buf_take(&b);
    }
    for (size_t i = 0; i < info->n_raw; i++) {
        if (buf_printf(&b, &e, "%s%s: %s", i ? "\n" : "", info->raw[i].key, info->raw[i].value))
            goto fail;
    }
    return buf_take(&b);
fail:
    buf_free(&b);
    return NULL;
}

/* JSON object keys must be unique: a repeated keyword gets " #2", " #3"...
 * repeat[i] is how many entries before i share its keyword; found in one
 * pass by hash (count[] is scratch: repeats so far of each first entry). */
static int count_repeats(const unprompt_info *info, size_t *repeat, size_t *count, fmt_error *e)
{
    hash_index h;
    if (hash_index_init(&h, info->n_raw, e)) return -1;
    int rc = 0;
    for (size_t i = 0; i < info->n_raw && !rc; i++) {
        const char *key = info->raw[i].key;
        uint64_t hash = hash_index_key(&h, key, strlen(key));
        hash_probe p = hash_index_probe(&h, hash);
        size_t j, first = SIZE_MAX;
        while (first == SIZE_MAX && hash_probe_next(&p, &j))
            if (!strcmp(info->raw[j].key, key)) first = j;
        count[i] = 0;
        if (first == SIZE_MAX) {
            repeat[i] = 0;
            rc = hash_index_add(&h, hash, i, e);
        } else {
            repeat[i] = ++count[first];
        }
    }
    hash_index_free(&h);
    return rc;
}

static int put_raw_key(buf *b, const char *key, size_t repeat, fmt_error *e)
{
    if (!repeat) return put_str(b, key, e);
    buf k;
    buf_init(&k, 0);
    int rc = buf_printf(&k, e, "%s #%zu", key, repeat + 1);
    if (!rc) rc = put_str(b, k.data, e);
    buf_free(&k);
    return rc;
}

char *unprompt_info_to_json(const unprompt_info *info, const char *file)
{
    size_t *repeat = NULL, *count = NULL;
    buf b;
    buf_init(&b, info->max_output);
    fmt_error e;
    if (buf_append_str(&b, "{\"file\": ", &e) || put_str(&b, file, &e) ||
        buf_append_str(&b, ", \"generator\": ", &e) || put_str(&b, info->generator, &e) ||
        buf_append_str(&b, ", \"prompt\": ", &e) || put_str(&b, info->prompt, &e) ||
        buf_append_str(&b, ", \"negative_prompt\": ", &e) ||
        put_str(&b, info->negative_prompt, &e) || buf_append_str(&b, ", \"settings\": {", &e))
        goto fail;
    for (size_t i = 0; i < info->n_settings; i++) {
        if ((i && buf_append_str(&b, ", ", &e)) || put_str(&b, info->settings[i].key, &e) ||
            buf_append_str(&b, ": ", &e) || put_str(&b, info->settings[i].value, &e))
            goto fail;
    }
    if (buf_append_str(&b, "}, \"raw\": {", &e)) goto fail;
    size_t n = info->n_raw ? info->n_raw : 1;
    repeat = malloc(n * sizeof *repeat);
    count = malloc(n * sizeof *count);
    if (!repeat || !count || count_repeats(info, repeat, count, &e)) goto fail;
    for (size_t i = 0; i < info->n_raw; i++) {
        if ((i && buf_append_str(&b, ", ", &e)) || put_raw_key(&b, info->raw[i].key, repeat[i], &e) ||
            buf_append_str(&b, ": ", &e) || put_str(&b, info->raw[i].value, &e))
            goto fail;
    }
    if (buf_append_str(&b, "}}", &e)) goto fail;
    free(repeat);
    free(count);
    return buf_take(&b);
fail:
    free(repeat);
    free(count);
    buf_free(&b);
    return NULL;
}

/* ---- txt2img request ---------------------------------------------------- */

/* 1 if s is a plain JSON number (so it can be written unquoted). */
static int is_number(const char *s)
{
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    strtod(s, &end);
    if (*end || errno) return 0;
    if (*s == '+' || *s == '.' || isspace((unsigned char)*s)) return 0;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p)) return 0; /* no inf/nan/hex */
    return !(s[0] == '-' ? (s[1] == '0' && isdigit((unsigned char)s[2])) : (s[0] == '0' && isdigit((unsigned char)s[1])));
}

typedef struct {
    buf *b;
    fmt_error *e;
    int first;
    int failed;
} obj_writer;

static void field_raw(obj_writer *w, const char *name, const char *json_text)
{
    if (w->failed) return;
    if ((!w->first && buf_append_str(w->b, ", ", w->e)) || put_str(w->b, name, w->e) ||
        buf_append_str(w->b, ": ", w->e) || buf_append_str(w->b, json_text, w->e))
        w->failed = 1;
    w->first = 0;
}

static void field_str(obj_writer *w, const char *name, const char *value)
{
    if (w->failed) return;
    if ((!w->first && buf_append_str(w->b, ", ", w->e)) || put_str(w->b, name, w->e) ||
        buf_append_str(w->b, ": ", w->e) || put_str(w->b, value, w->e))
        w->failed = 1;
    w->first = 0;
}

/* A number when the value is numeric, else the string (the WebUI coerces). */
static void field_num(obj_writer *w, const char *name, const char *value)
{
    if (!value) return;
    if (is_number(value)) field_raw(w, name, value);
    else field_str(w, name, value);
}

/* "512x768" → two numbers. Returns 0 if well formed. */
static int split_size(const char *v, char *wbuf, char *hbuf, size_t n)
{
    const char *x = v ? strchr(v, 'x') : NULL;
    if (!x || (size_t)(x - v) >= n || strlen(x + 1) >= n) return -1;
    memcpy(wbuf, v, (size_t)(x - v));
    wbuf[x - v] = '\0';
    strcpy(hbuf, x + 1);
    return is_number(wbuf) && is_number(hbuf) ? 0 : -1;
}

static void field_size(obj_writer *w, const unprompt_info *info, const char *key,
                       const char *wname, const char *hname)
{
    char ws[32], hs[32];
    if (split_size(unprompt_info_setting(info, key), ws, hs, sizeof ws) == 0) {
        field_raw(w, wname, ws);
        field_raw(w, hname, hs);
    }
}

typedef struct {
    const char *setting;
    const char *field;
} mapping;

static const mapping plain_fields[] = {
    {"Steps", "steps"},
    {"Sampler", "sampler_name"},
    {"Schedule type", "scheduler"},
    {"CFG scale", "cfg_scale"},
    {"Seed", "seed"},
    {"Variation seed", "subseed"},
    {"Variation seed strength", "subseed_strength"},
    {"Denoising strength", "denoising_strength"},
    {"Hires upscale", "hr_scale"},
    {"Hires steps", "hr_second_pass_steps"},
    {"Hires upscaler", "hr_upscaler"},
    {"Hires sampler", "hr_sampler_name"},
    {"Hires schedule type", "hr_scheduler"},
    {"Hires prompt", "hr_prompt"},
    {"Hires negative prompt", "hr_negative_prompt"},
};

static const mapping override_fields[] = {
    {"Model", "sd_model_checkpoint"},
    {"Clip skip", "CLIP_stop_at_last_layers"},
    {"VAE", "sd_vae"},
    {"ENSD", "eta_noise_seed_delta"},
};

static int put_overrides(buf *b, const unprompt_info *info, fmt_error *e)
{
    obj_writer w = {b, e, 1, 0};
    if (buf_append_str(b, ", \"override_settings\": {", e)) return -1;
    for (size_t i = 0; i < sizeof override_fields / sizeof override_fields[0]; i++) {
        const char *v = unprompt_info_setting(info, override_fields[i].setting);
        if (!v) continue;
        if (!strcmp(override_fields[i].field, "sd_model_checkpoint")) field_str(&w, override_fields[i].field, v);
        else field_num(&w, override_fields[i].field, v);
    }
    if (w.failed || buf_append_str(b, "}", e)) return -1;
    return 0;
}

char *unprompt_info_to_txt2img(const unprompt_info *info)
{
    buf b;
    buf_init(&b, info->max_output);
    fmt_error e;
    obj_writer w = {&b, &e, 1, 0};
    if (buf_append_char(&b, '{', &e)) goto fail;
    field_str(&w, "prompt", info->prompt ? info->prompt : "");
    field_str(&w, "negative_prompt", info->negative_prompt ? info->negative_prompt : "");
    for (size_t i = 0; i < sizeof plain_fields / sizeof plain_fields[0]; i++) {
        const char *v = unprompt_info_setting(info, plain_fields[i].setting);
        if (!v) continue;
        if (!strcmp(plain_fields[i].field, "hr_scale")) field_raw(&w, "enable_hr", "true");
        field_num(&w, plain_fields[i].field, v);
    }
    field_size(&w, info, "Size", "width", "height");
    if (unprompt_info_setting(info, "Hires resize") && !unprompt_info_setting(info, "Hires upscale"))
        field_raw(&w, "enable_hr", "true");
    field_size(&w, info, "Hires resize", "hr_resize_x", "hr_resize_y");
    field_size(&w, info, "Seed resize from", "seed_resize_from_w", "seed_resize_from_h");
    if (w.failed || put_overrides(&b, info, &e) || buf_append_char(&b, '}', &e)) goto fail;
    return buf_take(&b);
fail:
    buf_free(&b);
    return NULL;
}
