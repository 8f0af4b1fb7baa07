/* PNG Info: bytes → container metadata → generation parameters → the public
 * unprompt_info. The readers live in format/; this file only orchestrates. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "engine/api/infotext.h"
#include "engine/api/unprompt.h"
#include "format/gen_params.h"
#include "format/image.h"
#include "format/image_format.h"
#include "format/jpeg.h"
#include "format/meta.h"
#include "format/png.h"
#include "format/sampler_names.h"
#include "format/stealth.h"
#include "format/webp.h"

typedef struct {
    meta_list meta;
    gen_params params;
    unprompt_kv *settings;
    unprompt_kv *raw;
    char *infotext;
    const char *warning_ptrs[META_MAX_WARNINGS + 2];
    char extra_warnings[2][FMT_ERROR_MAX + 32];
} info_storage;

unprompt_info_params unprompt_info_default_params(void)
{
    unprompt_info_params p;
    p.max_inflate = (size_t)16 << 20;
    p.read_stealth = 1;
    p.max_text = META_DEFAULT_BUDGET;
    return p;
}

static void set_err(char *err, size_t n, const char *msg)
{
    if (err && n) snprintf(err, n, "%s", msg);
}

/* Run the container's reader. Returns 0, or -1 when nothing was readable. */
static int read_container(const uint8_t *bytes, size_t len, const unprompt_info_params *p,
                          info_storage *s, fmt_error *e)
{
    int rc;
    if (png_is_png(bytes, len)) {
        png_limits lim = png_default_limits();
        lim.max_inflate = p->max_inflate;
        rc = png_read_meta(bytes, len, &lim, &s->meta, NULL, e);
        s->meta.container = "png";
    } else if (jpeg_is_jpeg(bytes, len)) {
        rc = jpeg_read_meta(bytes, len, &s->meta, e);
        s->meta.container = "jpeg";
    } else if (webp_is_webp(bytes, len)) {
        rc = webp_read_meta(bytes, len, &s->meta, e);
        s->meta.container = "webp";
    } else {
        /* Images whose format holds no parameters the WebUI writes: read as
         * images without metadata, the table's name as their container. */
        const image_format *f = image_format_sniff(bytes, len);
        if (!f) return fmt_fail(e, len ? "not a %s file" : "empty file", image_format_labels());
        s->meta.container = f->name;
        return 0;
    }
    if (rc == 0) return 0;
    /* Damaged part way: keep what was read, if anything, as a warning. */
    if (s->meta.count == 0) return -1;
    meta_list_warn(&s->meta, "%s", e->msg);
    return 0;
}

/* A1111's stealth info: only worth reading pixels when no text was found.
 * Streamed: the rows it needs, never the whole image. */
static void read_stealth(const uint8_t *bytes, size_t len, const unprompt_info_params *p,
                         info_storage *s)
{
    if (!p->read_stealth || s->params.generator || strcmp(s->meta.container, "png") != 0)
        return;
    image_limits lim = image_default_limits();
    fmt_error e;
    int rc = stealth_read_png(bytes, len, &lim, p->max_inflate, &s->meta, &e);
    if (rc == -2) meta_list_warn(&s->meta, "pixels not decodable, stealth info not checked: %s", e.msg);
    else if (rc < 0) meta_list_warn(&s->meta, "stealth info: %s", e.msg);
}

/* Other generators' sampler and scheduler names → the WebUI's, so that the
 * infotext and the settings are what the WebUI accepts (raw keeps the
 * names as stored). The WebUI's own text is left as written. */
static int webui_names(info_storage *s, fmt_error *e)
{
    const char *g = s->params.generator;
    if (!g || !strcmp(g, "automatic1111") || !strcmp(g, "unknown")) return 0;
    return webui_names_apply(&s->params, &s->meta, e);
}

static int publish(info_storage *s, unprompt_info *out, fmt_error *e)
{
    const gen_params *gp = &s->params;
    s->settings = calloc(gp->n_settings + 1, sizeof *s->settings);
    s->raw = calloc(s->meta.count + 1, sizeof *s->raw);
    if (!s->settings || !s->raw) return fmt_fail(e, "out of memory");
    for (size_t i = 0; i < gp->n_settings; i++) {
        s->settings[i].key = gp->settings[i].key;
        s->settings[i].value = gp->settings[i].value;
    }
    for (size_t i = 0; i < s->meta.count; i++) {
        s->raw[i].key = s->meta.items[i].keyword;
        s->raw[i].value = s->meta.items[i].text;
    }
    const meta_entry *src = gp->source_keyword ? meta_list_find(&s->meta, gp->source_keyword) : NULL;
    if (gp->generator && !strcmp(gp->generator, "automatic1111") && src) {
        s->infotext = str_ndup(src->text, src->text_len);
    } else if (gp->generator && strcmp(gp->generator, "unknown") != 0) {
        s->infotext = infotext_build(gp, e);
    }
    if (gp->generator && strcmp(gp->generator, "unknown") != 0 && !s->infotext)
        return fmt_fail(e, "out of memory");
    for (int i = 0; i < s->meta.n_warnings; i++) s->warning_ptrs[i] = s->meta.warnings[i];

    memset(out, 0, sizeof *out);
    out->container = s->meta.container;
    out->generator = gp->generator;
    out->prompt = gp->prompt;
    out->negative_prompt = gp->negative_prompt;
    out->settings = s->settings;
    out->n_settings = gp->n_settings;
    out->raw = s->raw;
    out->n_raw = s->meta.count;
    out->infotext = s->infotext;
    out->warnings = s->warning_ptrs;
    out->n_warnings = (size_t)s->meta.n_warnings;
    out->width = s->meta.width;
    out->height = s->meta.height;
    out->max_output = s->meta.budget;
    out->internal_ = s;
    return 0;
}

static void storage_free(info_storage *s)
{
    if (!s) return;
    meta_list_free(&s->meta);
    gen_params_free(&s->params);
    free(s->settings);
    free(s->raw);
    free(s->infotext);
    free(s);
}

int unprompt_info_read(const uint8_t *bytes, size_t len, const unprompt_info_params *params,
                       unprompt_info *out, char *err, size_t err_size)
{
    unprompt_info_params defaults = unprompt_info_default_params();
    if (!params) params = &defaults;
    if (!out || (!bytes && len)) {
        set_err(err, err_size, "invalid arguments");
        return UNPROMPT_ERR_ARGS;
    }
    memset(out, 0, sizeof *out);
    info_storage *s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, err_size, "out of memory");
        return UNPROMPT_ERR_NOMEM;
    }
    meta_list_init(&s->meta);
    if (params->max_text) s->meta.budget = params->max_text;
    gen_params_init(&s->params);
    fmt_error e = {{0}};
    int status = UNPROMPT_ERR_FORMAT;
    if (read_container(bytes, len, params, s, &e)) goto fail;
    status = UNPROMPT_ERR_NOMEM;
    if (gen_params_detect(&s->meta, &s->params, &e)) goto fail;
    read_stealth(bytes, len, params, s);
    if (!s->params.generator && s->meta.count) {
        gen_params_free(&s->params);
        gen_params_init(&s->params);
        if (gen_params_detect(&s->meta, &s->params, &e)) goto fail;
    }
    if (webui_names(s, &e) || publish(s, out, &e)) goto fail;
    return UNPROMPT_OK;
fail:
    set_err(err, err_size, e.msg);
    storage_free(s);
    memset(out, 0, sizeof *out);
    return status;
}

void unprompt_info_free(unprompt_info *info)
{
    if (!info) return;
    storage_free(info->internal_);
    memset(info, 0, sizeof *info);
}

const char *unprompt_info_setting(const unprompt_info *info, const char *key)
{
    for (size_t i = 0; i < info->n_settings; i++)
        if (!strcmp(info->settings[i].key, key)) return info->settings[i].value;
    return NULL;
}
