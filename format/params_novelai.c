/* NovelAI: PNG `Description` holds the prompt, `Comment` a JSON object with
 * the settings (`uc` is the negative prompt, `scale` the CFG scale). */
#include <string.h>

#include "format/params_json_util.h"

static const key_map novelai_keys[] = {
    {"steps", "Steps"}, {"sampler", "Sampler"}, {"scale", "CFG scale"}, {"seed", "Seed"},
    {"strength", "Denoising strength"}, {"noise", "Noise"}, {"cfg_rescale", "CFG rescale"},
    {"noise_schedule", "Schedule type"},
};

int params_parse_novelai(const char *description, size_t desc_len, const char *comment_json,
                         size_t comment_len, gen_params *p, fmt_error *err)
{
    json_value *c = NULL;
    if (comment_json) {
        c = json_parse(comment_json, comment_len, NULL, err);
        if (!c || c->type != JSON_OBJECT) {
            json_free(c);
            return fmt_fail(err, "novelai: Comment is not a JSON object");
        }
        if (!json_get(c, "uc") && !json_get(c, "steps") && !json_get(c, "scale")) {
            json_free(c);
            return fmt_fail(err, "novelai: Comment lacks NovelAI fields");
        }
    } else if (!description) {
        return fmt_fail(err, "novelai: no Description or Comment");
    }
    int rc = 0;
    if (json_str(json_get(c, "prompt"))) rc = params_take_string(&p->prompt, json_get(c, "prompt"), err);
    else if (description) rc = gen_params_set_text(&p->prompt, description, desc_len, err);
    if (!rc) rc = params_take_string(&p->negative_prompt, json_get(c, "uc"), err);
    if (!rc && c) rc = params_map_keys(c, novelai_keys, 3, p, err);
    if (!rc && c) rc = gen_params_set_json(p, "Seed", json_get(c, "seed"), err);
    if (!rc && c) rc = params_set_size(p, "Size", json_get(c, "width"), json_get(c, "height"), err);
    if (!rc && c) rc = params_map_keys(c, novelai_keys + 4, sizeof novelai_keys / sizeof novelai_keys[0] - 4, p, err);
    json_free(c);
    if (!rc) p->generator = "novelai";
    return rc;
}
