#include "engine/api/infotext.h"

#include <string.h>

#include "format/json.h"

int infotext_quote(buf *out, const char *value, fmt_error *err)
{
    if (!strpbrk(value, ",:\n")) return buf_append_str(out, value, err);
    return json_write_string(out, value, strlen(value), err);
}

static int append_settings(buf *b, const gen_params *p, fmt_error *err)
{
    for (size_t i = 0; i < p->n_settings; i++) {
        if (i && buf_append_str(b, ", ", err)) return -1;
        if (buf_append_str(b, p->settings[i].key, err) || buf_append_str(b, ": ", err) ||
            infotext_quote(b, p->settings[i].value, err))
            return -1;
    }
    return 0;
}

char *infotext_build(const gen_params *p, fmt_error *err)
{
    buf b;
    buf_init(&b, 0);
    int line = 0;
    if (p->prompt) {
        if (buf_append_str(&b, p->prompt, err)) goto fail;
        line = 1;
    }
    if (p->negative_prompt && p->negative_prompt[0]) {
        if ((line && buf_append_char(&b, '\n', err)) ||
            buf_append_str(&b, "Negative prompt: ", err) ||
            buf_append_str(&b, p->negative_prompt, err))
            goto fail;
        line = 1;
    }
    if (p->n_settings) {
        if ((line && buf_append_char(&b, '\n', err)) || append_settings(&b, p, err)) goto fail;
    }
    return buf_take(&b);
fail:
    buf_free(&b);
    return NULL;
}
