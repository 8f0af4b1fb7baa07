/* Sampler and scheduler names as the WebUI accepts them.
 *
 * Each generator names its samplers its own way: ComfyUI and Fooocus
 * "dpmpp_2m_sde_gpu", "uni_pc_bh2"; k-diffusion "sample_dpmpp_2m"; InvokeAI
 * "k_lms", "euler_k"; NovelAI "k_euler_ancestral". The WebUI knows a sampler
 * by its label ("DPM++ 2M SDE", "UniPC", "Euler a": the samplers_k_diffusion,
 * samplers_timesteps and samplers_lcm lists) and a schedule type by its
 * label ("Karras", "SGM Uniform": modules/sd_schedulers.py). One table in
 * sampler_names.c maps every known name (case-insensitively, by binary
 * search) onto those labels. */
#ifndef UNPROMPT_FORMAT_SAMPLER_NAMES_H
#define UNPROMPT_FORMAT_SAMPLER_NAMES_H

#include <stddef.h>

#include "base/error.h"
#include "format/gen_params.h"
#include "format/meta.h"

typedef struct {
    const char *name;      /* as a generator writes it */
    const char *label;     /* the WebUI's label */
    const char *scheduler; /* the schedule type the name implies ("Karras" for
                              "k_lms_ka", "euler_k"), or NULL */
} webui_name;

/* The WebUI's sampler for a generator's sampler name: an exact entry, else
 * the WebUI's own rule for a name ending in " <schedule type>" ("DPM++ 2M
 * Karras" → "DPM++ 2M" with "Karras"). NULL if unknown. For a split name
 * the entry's scheduler is replaced: *scheduler gets the schedule type
 * implied (or NULL); scheduler may be NULL. */
const webui_name *webui_sampler_find(const char *name, const char **scheduler);
/* The WebUI's schedule-type label for a scheduler name, or NULL. */
const char *webui_scheduler_find(const char *name);

/* The tables themselves, sorted case-insensitively (for tests). */
const webui_name *webui_sampler_table(size_t *n);
const webui_name *webui_scheduler_table(size_t *n);

/* Rewrite the settings "Sampler" / "Schedule type" and "Hires sampler" /
 * "Hires schedule type" of a non-WebUI generator to the WebUI's labels,
 * adding the schedule type a sampler name implies when none is set. A name
 * with no WebUI equivalent is kept with a warning in `warn`. Returns 0, -1
 * when out of memory. */
int webui_names_apply(gen_params *p, meta_list *warn, fmt_error *err);

#endif
