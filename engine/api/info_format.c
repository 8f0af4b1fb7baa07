/* Formatters over unprompt_info: plain text, JSON Lines, txt2img request
 * (the JSON ones over result_json.h's writer). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/result_json.h"
#include "engine/api/unprompt.h"
#include "base/buf.h"
#include "base/hash.h"
#include "format/sampler_names.h"

void unprompt_string_free(char *s)
{
    free(s);
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

/* Is raw entry i the one the infotext was taken from (left out of the
 * listing)? The first entry holding exactly that text. */
static size_t infotext_entry(const unprompt_info *info)
{
    for (size_t i = 0; info->infotext && i < info->n_raw; i++)
        if (!strcmp(info->raw[i].value, info->infotext)) return i;
    return SIZE_MAX;
}

char *unprompt_info_to_text_all_chunks(const unprompt_info *info)
{
    buf b;
    buf_init(&b, info->max_output);
    fmt_error e;
    size_t skip = infotext_entry(info);
    int any = info->infotext != NULL;
    if (any && buf_append_str(&b, info->infotext, &e)) goto fail;
    for (size_t i = 0; i < info->n_raw; i++) {
        if (i == skip) continue;
        if (buf_printf(&b, &e, "%s[%s]\n%s", any ? "\n\n" : "", info->raw[i].key, info->raw[i].value)) goto fail;
        any = 1;
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

/* A raw entry's key, " #2"… added to a repeated one. */
static void raw_member(json_out *o, const unprompt_kv *kv, size_t repeat)
{
    buf k;
    buf_init(&k, 0);
    if (repeat && buf_printf(&k, o->e, "%s #%zu", kv->key, repeat + 1)) o->failed = 1;
    json_out_str(o, repeat ? k.data : kv->key, kv->value);
    buf_free(&k);
}

char *unprompt_info_to_json(const unprompt_info *info, const char *file)
{
    buf b;
    buf_init(&b, info->max_output);
    fmt_error e;
    json_out o;
    result_json_begin(&o, &b, file, &e);
    json_out_str(&o, "generator", info->generator);
    json_out_str(&o, "prompt", info->prompt);
    json_out_str(&o, "negative_prompt", info->negative_prompt);
    json_out_open(&o, "settings", '{');
    for (size_t i = 0; i < info->n_settings; i++) json_out_str(&o, info->settings[i].key, info->settings[i].value);
    json_out_close(&o, '}');
    json_out_open(&o, "raw", '{');
    size_t n = info->n_raw ? info->n_raw : 1;
    size_t *repeat = malloc(n * sizeof *repeat), *count = malloc(n * sizeof *count);
    if (o.failed || !repeat || !count || count_repeats(info, repeat, count, &e)) o.failed = 1;
    for (size_t i = 0; i < info->n_raw && !o.failed; i++) raw_member(&o, &info->raw[i], repeat[i]);
    free(repeat);
    free(count);
    json_out_close(&o, '}');
    return json_out_take(&o);
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

/* A number when the value is numeric, else the string (the WebUI coerces). */
static void field_num(json_out *o, const char *name, const char *value)
{
    if (!value) return;
    if (is_number(value)) json_out_raw(o, name, value);
    else json_out_str(o, name, value);
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

static void field_size(json_out *o, const unprompt_info *info, const char *key, const char *wname, const char *hname)
{
    char ws[32], hs[32];
    if (split_size(unprompt_info_setting(info, key), ws, hs, sizeof ws) == 0) {
        json_out_raw(o, wname, ws);
        json_out_raw(o, hname, hs);
    }
}

typedef struct {
    const char *setting;
    const char *field;
} mapping;

static const mapping plain_fields[] = {
    {"Steps", "steps"},
    {"CFG scale", "cfg_scale"},
    {"Seed", "seed"},
    {"Variation seed", "subseed"},
    {"Variation seed strength", "subseed_strength"},
    {"Denoising strength", "denoising_strength"},
    {"Hires upscale", "hr_scale"},
    {"Hires steps", "hr_second_pass_steps"},
    {"Hires upscaler", "hr_upscaler"},
    {"Hires prompt", "hr_prompt"},
    {"Hires negative prompt", "hr_negative_prompt"},
};

static const mapping override_fields[] = {
    {"Model", "sd_model_checkpoint"},
    {"Clip skip", "CLIP_stop_at_last_layers"},
    {"VAE", "sd_vae"},
    {"ENSD", "eta_noise_seed_delta"},
};

static void put_overrides(json_out *o, const unprompt_info *info)
{
    json_out_open(o, "override_settings", '{');
    for (size_t i = 0; i < sizeof override_fields / sizeof override_fields[0]; i++) {
        const char *v = unprompt_info_setting(info, override_fields[i].setting);
        if (!v) continue;
        if (!strcmp(override_fields[i].field, "sd_model_checkpoint")) json_out_str(o, override_fields[i].field, v);
        else field_num(o, override_fields[i].field, v);
    }
    json_out_close(o, '}');
}

/* The sampler and schedule type by the WebUI's labels (format/sampler_names.h).
 * A name the table does not know is left out (the WebUI would refuse it or
 * fall back to its default), unless the WebUI itself wrote it: an
 * extension's sampler it may know. */
static void put_sampler(json_out *o, const unprompt_info *info, const char *skey, const char *tkey,
                        const char *sfield, const char *tfield)
{
    int own = info->generator && !strcmp(info->generator, "automatic1111");
    const char *s = unprompt_info_setting(info, skey), *t = unprompt_info_setting(info, tkey);
    const char *implied = NULL;
    const webui_name *e = s ? webui_sampler_find(s, &implied) : NULL;
    if (e) json_out_str(o, sfield, e->label);
    else if (s && own) json_out_str(o, sfield, s);
    const char *label = t ? webui_scheduler_find(t) : implied;
    if (label) json_out_str(o, tfield, label);
    else if (t && own) json_out_str(o, tfield, t);
}

char *unprompt_info_to_txt2img(const unprompt_info *info)
{
    return unprompt_info_to_txt2img_file(info, NULL);
}

char *unprompt_info_to_txt2img_file(const unprompt_info *info, const char *file)
{
    buf b;
    buf_init(&b, info->max_output);
    fmt_error e;
    json_out o;
    if (file) {
        result_json_begin(&o, &b, file, &e);
        json_out_open(&o, "request", '{');
    } else {
        json_out_begin(&o, &b, &e);
    }
    json_out_str(&o, "prompt", info->prompt ? info->prompt : "");
    json_out_str(&o, "negative_prompt", info->negative_prompt ? info->negative_prompt : "");
    for (size_t i = 0; i < sizeof plain_fields / sizeof plain_fields[0]; i++) {
        const char *v = unprompt_info_setting(info, plain_fields[i].setting);
        if (!v) continue;
        if (!strcmp(plain_fields[i].field, "hr_scale")) json_out_raw(&o, "enable_hr", "true");
        field_num(&o, plain_fields[i].field, v);
    }
    put_sampler(&o, info, "Sampler", "Schedule type", "sampler_name", "scheduler");
    put_sampler(&o, info, "Hires sampler", "Hires schedule type", "hr_sampler_name", "hr_scheduler");
    field_size(&o, info, "Size", "width", "height");
    if (unprompt_info_setting(info, "Hires resize") && !unprompt_info_setting(info, "Hires upscale"))
        json_out_raw(&o, "enable_hr", "true");
    field_size(&o, info, "Hires resize", "hr_resize_x", "hr_resize_y");
    field_size(&o, info, "Seed resize from", "seed_resize_from_w", "seed_resize_from_h");
    put_overrides(&o, info);
    if (file) json_out_close(&o, '}');
    return json_out_take(&o);
}
