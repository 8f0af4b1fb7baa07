/* DeepDanbooru: model-resnet_custom_v3.pt → deepdanbooru.safetensors.
 * Names stay as in the checkpoint (n_Conv_N.weight/bias); the tag list
 * becomes the byte tensor "tags" (one per line); the shapes must be the
 * architecture's at some width (the engine derives its config from them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/convert.h"
#include "engine/models/deepdanbooru/deepdanbooru.h"
#include "base/buf.h"

int convert_is_deepdanbooru(const convert_source *s)
{
    return convert_find(s, "n_Conv_0.weight") && convert_find(s, "n_Conv_178.weight");
}

/* The widths divisor that explains n_Conv_0 (64 real channels). */
static int dd_width_div(const convert_source *s)
{
    const ckpt_tensor *stem = convert_find(s, "n_Conv_0.weight");
    if (!stem || stem->rank != 4 || stem->shape[0] == 0 || 64 % stem->shape[0]) return -1;
    return (int)(64 / stem->shape[0]);
}

static int dd_check_layer(const convert_source *s, int i, const dd_layer_shape *want, fmt_error *err)
{
    char name[32];
    snprintf(name, sizeof name, "n_Conv_%d.weight", i);
    const ckpt_tensor *w = convert_find(s, name);
    if (!w) return fmt_fail(err, "convert: deepdanbooru: %s is missing", name);
    if (w->rank != 4 || w->shape[0] != (size_t)want->cout || w->shape[1] != (size_t)want->cin ||
        w->shape[2] != (size_t)want->k || w->shape[3] != (size_t)want->k)
        return fmt_fail(err, "convert: deepdanbooru: %s is not [%d, %d, %d, %d]", name, want->cout, want->cin,
                        want->k, want->k);
    snprintf(name, sizeof name, "n_Conv_%d.bias", i);
    const ckpt_tensor *b = convert_find(s, name);
    if (want->has_bias && (!b || b->rank != 1 || b->shape[0] != (size_t)want->cout))
        return fmt_fail(err, "convert: deepdanbooru: %s is missing or not [%d]", name, want->cout);
    if (!want->has_bias && b) return fmt_fail(err, "convert: deepdanbooru: unexpected %s", name);
    return 0;
}

static int dd_tags(convert_job *j, const convert_source *s, size_t n_tags, fmt_error *err)
{
    if (!s->tags) return fmt_fail(err, "convert: deepdanbooru: the checkpoint has no 'tags' list; give --tags FILE");
    if (s->n_tags != n_tags)
        return fmt_fail(err, "convert: deepdanbooru: %zu tags for %zu outputs", s->n_tags, n_tags);
    buf text;
    buf_init(&text, 0);
    int bad = 0;
    for (size_t i = 0; i < n_tags && !bad; i++) {
        if (!s->tags[i][0] || strchr(s->tags[i], '\n')) {
            buf_free(&text);
            return fmt_fail(err, "convert: deepdanbooru: tag %zu is empty or holds a newline", i);
        }
        bad = (i && buf_append_char(&text, '\n', err)) || buf_append_str(&text, s->tags[i], err);
    }
    bad = bad || convert_add_bytes(j, "tags", text.data ? text.data : "", text.len, err);
    buf_free(&text);
    return bad ? -1 : 0;
}

int convert_deepdanbooru(convert_job *j, const convert_source *s, fmt_error *err)
{
    int div = dd_width_div(s);
    const ckpt_tensor *head = convert_find(s, "n_Conv_178.weight");
    dd_layer_shape shapes[DD_CONVS];
    if (div < 1 || !head || head->rank != 4 || dd_layer_shapes(div, (int)head->shape[0], shapes))
        return fmt_fail(err, "convert: deepdanbooru: n_Conv_0 / n_Conv_178 have unexpected shapes");
    for (int i = 0; i < DD_CONVS; i++)
        if (dd_check_layer(s, i, &shapes[i], err)) return -1;
    for (int i = 0; i < DD_CONVS; i++) {
        char name[32];
        snprintf(name, sizeof name, "n_Conv_%d.weight", i);
        if (convert_add(j, name, convert_find(s, name), err)) return -1;
        snprintf(name, sizeof name, "n_Conv_%d.bias", i);
        const ckpt_tensor *b = convert_find(s, name);
        if (b && convert_add(j, name, b, err)) return -1;
    }
    char config[128];
    snprintf(config, sizeof config, "{\"width_div\": %d, \"n_tags\": %zu, \"input\": %d}", div, head->shape[0], DD_INPUT);
    if (convert_meta(j, "unprompt.config", config, err)) return -1;
    return dd_tags(j, s, head->shape[0], err);
}
