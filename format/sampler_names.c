/* The one table of sampler and scheduler names (see sampler_names.h).
 *
 * Sources: the WebUI's labels, aliases and k-diffusion function names
 * (modules/sd_samplers_kdiffusion.py samplers_k_diffusion, older releases'
 * "_ka"/"_exp" aliases of the Karras and Exponential variants,
 * sd_samplers_timesteps.py, sd_samplers_lcm.py) and schedulers
 * (sd_schedulers.py: names, labels, the alias "SGMUniform"); ComfyUI's
 * KSAMPLER_NAMES / SAMPLER_NAMES / SCHEDULER_NAMES (also Fooocus's);
 * InvokeAI 3+'s scheduler names ("_k": Karras sigmas) and InvokeAI 2's
 * k_* names; NovelAI's k_* names, "ddim_v3" and noise_schedule "native".
 * Names with no WebUI equivalent (ComfyUI's euler_cfg_pp, ipndm, deis,
 * res_multistep, linear_quadratic; InvokeAI's dpmpp_2s, dpmpp_3m, deis,
 * pndm, ddpm, tcd; NovelAI's nai_smea) are left out: they stay as written.
 *
 * Both tables are sorted by the names' ASCII-lowercase bytes; a lookup is
 * a binary search. */
#include "format/sampler_names.h"

#include <string.h>

static const webui_name samplers[] = {
    {"DDIM", "DDIM", NULL},
    {"DDIM CFG++", "DDIM CFG++", NULL},
    {"ddim_cfgpp", "DDIM CFG++", NULL},
    {"ddim_v3", "DDIM", NULL},
    {"DPM adaptive", "DPM adaptive", NULL},
    {"DPM fast", "DPM fast", NULL},
    {"DPM++ 2M", "DPM++ 2M", NULL},
    {"DPM++ 2M SDE", "DPM++ 2M SDE", NULL},
    {"DPM++ 2M SDE Heun", "DPM++ 2M SDE Heun", NULL},
    {"DPM++ 2S a", "DPM++ 2S a", NULL},
    {"DPM++ 3M SDE", "DPM++ 3M SDE", NULL},
    {"DPM++ SDE", "DPM++ SDE", NULL},
    {"DPM2", "DPM2", NULL},
    {"DPM2 a", "DPM2 a", NULL},
    {"dpm_2", "DPM2", NULL},
    {"dpm_2_ancestral", "DPM2 a", NULL},
    {"dpm_adaptive", "DPM adaptive", NULL},
    {"dpm_fast", "DPM fast", NULL},
    {"dpmpp_2m", "DPM++ 2M", NULL},
    {"dpmpp_2m_k", "DPM++ 2M", "Karras"},
    {"dpmpp_2m_sde", "DPM++ 2M SDE", NULL},
    {"dpmpp_2m_sde_gpu", "DPM++ 2M SDE", NULL},
    {"dpmpp_2m_sde_heun", "DPM++ 2M SDE Heun", NULL},
    {"dpmpp_2m_sde_heun_gpu", "DPM++ 2M SDE Heun", NULL},
    {"dpmpp_2m_sde_k", "DPM++ 2M SDE", "Karras"},
    {"dpmpp_2s_ancestral", "DPM++ 2S a", NULL},
    {"dpmpp_3m_sde", "DPM++ 3M SDE", NULL},
    {"dpmpp_3m_sde_gpu", "DPM++ 3M SDE", NULL},
    {"dpmpp_sde", "DPM++ SDE", NULL},
    {"dpmpp_sde_gpu", "DPM++ SDE", NULL},
    {"dpmpp_sde_k", "DPM++ SDE", "Karras"},
    {"Euler", "Euler", NULL},
    {"Euler a", "Euler a", NULL},
    {"euler_a", "Euler a", NULL},
    {"euler_ancestral", "Euler a", NULL},
    {"euler_k", "Euler", "Karras"},
    {"Heun", "Heun", NULL},
    {"heun_k", "Heun", "Karras"},
    {"k_dpm_2", "DPM2", NULL},
    {"k_dpm_2_a", "DPM2 a", NULL},
    {"k_dpm_2_a_ka", "DPM2 a", "Karras"},
    {"k_dpm_2_ancestral", "DPM2 a", NULL},
    {"k_dpm_2_ka", "DPM2", "Karras"},
    {"k_dpm_ad", "DPM adaptive", NULL},
    {"k_dpm_adaptive", "DPM adaptive", NULL},
    {"k_dpm_fast", "DPM fast", NULL},
    {"k_dpmpp_2", "DPM++ 2M", NULL},
    {"k_dpmpp_2_a", "DPM++ 2S a", NULL},
    {"k_dpmpp_2m", "DPM++ 2M", NULL},
    {"k_dpmpp_2m_ka", "DPM++ 2M", "Karras"},
    {"k_dpmpp_2m_sde", "DPM++ 2M SDE", NULL},
    {"k_dpmpp_2m_sde_exp", "DPM++ 2M SDE", "Exponential"},
    {"k_dpmpp_2m_sde_heun", "DPM++ 2M SDE Heun", NULL},
    {"k_dpmpp_2m_sde_heun_exp", "DPM++ 2M SDE Heun", "Exponential"},
    {"k_dpmpp_2m_sde_heun_ka", "DPM++ 2M SDE Heun", "Karras"},
    {"k_dpmpp_2m_sde_ka", "DPM++ 2M SDE", "Karras"},
    {"k_dpmpp_2s_a", "DPM++ 2S a", NULL},
    {"k_dpmpp_2s_a_ka", "DPM++ 2S a", "Karras"},
    {"k_dpmpp_2s_ancestral", "DPM++ 2S a", NULL},
    {"k_dpmpp_3m_sde", "DPM++ 3M SDE", NULL},
    {"k_dpmpp_3m_sde_exp", "DPM++ 3M SDE", "Exponential"},
    {"k_dpmpp_3m_sde_ka", "DPM++ 3M SDE", "Karras"},
    {"k_dpmpp_sde", "DPM++ SDE", NULL},
    {"k_dpmpp_sde_ka", "DPM++ SDE", "Karras"},
    {"k_euler", "Euler", NULL},
    {"k_euler_a", "Euler a", NULL},
    {"k_euler_ancestral", "Euler a", NULL},
    {"k_heun", "Heun", NULL},
    {"k_lcm", "LCM", NULL},
    {"k_lms", "LMS", NULL},
    {"k_lms_ka", "LMS", "Karras"},
    {"kdpm_2", "DPM2", NULL},
    {"kdpm_2_a", "DPM2 a", NULL},
    {"kdpm_2_a_k", "DPM2 a", "Karras"},
    {"kdpm_2_k", "DPM2", "Karras"},
    {"LCM", "LCM", NULL},
    {"LMS", "LMS", NULL},
    {"lms_k", "LMS", "Karras"},
    {"PLMS", "PLMS", NULL},
    {"Restart", "Restart", NULL},
    {"sample_dpm_2", "DPM2", NULL},
    {"sample_dpm_2_ancestral", "DPM2 a", NULL},
    {"sample_dpm_adaptive", "DPM adaptive", NULL},
    {"sample_dpm_fast", "DPM fast", NULL},
    {"sample_dpmpp_2m", "DPM++ 2M", NULL},
    {"sample_dpmpp_2m_sde", "DPM++ 2M SDE", NULL},
    {"sample_dpmpp_2s_ancestral", "DPM++ 2S a", NULL},
    {"sample_dpmpp_3m_sde", "DPM++ 3M SDE", NULL},
    {"sample_dpmpp_sde", "DPM++ SDE", NULL},
    {"sample_euler", "Euler", NULL},
    {"sample_euler_ancestral", "Euler a", NULL},
    {"sample_heun", "Heun", NULL},
    {"sample_lms", "LMS", NULL},
    {"uni_pc", "UniPC", NULL},
    {"uni_pc_bh2", "UniPC", NULL},
    {"UniPC", "UniPC", NULL},
    {"unipc_k", "UniPC", "Karras"},
};

static const webui_name schedulers[] = {
    {"Align Your Steps", "Align Your Steps", NULL},
    {"align_your_steps", "Align Your Steps", NULL},
    {"automatic", "Automatic", NULL},
    {"beta", "Beta", NULL},
    {"ddim", "DDIM", NULL},
    {"ddim_uniform", "DDIM", NULL},
    {"exponential", "Exponential", NULL},
    {"karras", "Karras", NULL},
    {"KL Optimal", "KL Optimal", NULL},
    {"kl_optimal", "KL Optimal", NULL},
    {"native", "Automatic", NULL},
    {"normal", "Normal", NULL},
    {"polyexponential", "Polyexponential", NULL},
    {"SGM Uniform", "SGM Uniform", NULL},
    {"sgm_uniform", "SGM Uniform", NULL},
    {"SGMUniform", "SGM Uniform", NULL},
    {"simple", "Simple", NULL},
    {"uniform", "Uniform", NULL},
};

#define N_SAMPLERS (sizeof samplers / sizeof samplers[0])
#define N_SCHEDULERS (sizeof schedulers / sizeof schedulers[0])
/* Longer than any name in the tables: such input is not looked up. */
#define MAX_NAME 64

static unsigned char lower(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 'A' && u <= 'Z' ? (unsigned char)(u + 32) : u;
}

/* The key (len bytes) against an entry's name, ASCII case folded. */
static int ci_cmp(const char *key, size_t len, const char *name)
{
    size_t i = 0;
    for (; i < len && name[i]; i++)
        if (lower(key[i]) != lower(name[i])) return lower(key[i]) < lower(name[i]) ? -1 : 1;
    if (i < len) return 1;
    return name[i] ? -1 : 0;
}

static const webui_name *find(const webui_name *t, size_t n, const char *key, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ci_cmp(key, len, t[mid].name);
        if (c == 0) return &t[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const webui_name *webui_sampler_table(size_t *n)
{
    *n = N_SAMPLERS;
    return samplers;
}

const webui_name *webui_scheduler_table(size_t *n)
{
    *n = N_SCHEDULERS;
    return schedulers;
}

const char *webui_scheduler_find(const char *name)
{
    size_t len = name ? strnlen(name, MAX_NAME + 1) : MAX_NAME + 1;
    const webui_name *e = len <= MAX_NAME ? find(schedulers, N_SCHEDULERS, name, len) : NULL;
    return e ? e->label : NULL;
}

/* "<sampler> <schedule type>": the WebUI strips a schedule type's name from
 * the end of a sampler's. Labels have at most three words, so only the
 * last three spaces are tried. */
static const webui_name *find_split(const char *name, size_t len, const char **scheduler)
{
    size_t at = len;
    for (int words = 0; words < 3 && at > 0; words++) {
        while (at > 0 && name[at - 1] != ' ') at--;
        if (at == 0) break;
        const webui_name *s = find(schedulers, N_SCHEDULERS, name + at, len - at);
        const webui_name *e = s ? find(samplers, N_SAMPLERS, name, at - 1) : NULL;
        if (e) {
            *scheduler = s->label;
            return e;
        }
        at--;
    }
    return NULL;
}

const webui_name *webui_sampler_find(const char *name, const char **scheduler)
{
    const char *implied = NULL;
    size_t len = name ? strnlen(name, MAX_NAME + 1) : MAX_NAME + 1;
    const webui_name *e = NULL;
    if (len <= MAX_NAME && (e = find(samplers, N_SAMPLERS, name, len)) != NULL) implied = e->scheduler;
    else if (len <= MAX_NAME) e = find_split(name, len, &implied);
    if (scheduler) *scheduler = implied;
    return e;
}

static int set(gen_params *p, const char *key, const char *value, fmt_error *err)
{
    return gen_params_set(p, key, value, strlen(value), err);
}

/* One sampler / schedule type pair of settings. */
static int apply_pair(gen_params *p, const char *skey, const char *tkey, meta_list *warn, fmt_error *err)
{
    const char *v = gen_params_get(p, skey), *implied = NULL;
    if (v) {
        const webui_name *e = webui_sampler_find(v, &implied);
        if (!e) meta_list_warn(warn, "%s \"%.48s\" has no WebUI equivalent: kept as written, left out of txt2img requests", skey, v);
        else if (strcmp(e->label, v) != 0 && set(p, skey, e->label, err)) return -1;
    }
    const char *t = gen_params_get(p, tkey);
    if (!t) return implied ? set(p, tkey, implied, err) : 0;
    const char *label = webui_scheduler_find(t);
    if (!label) meta_list_warn(warn, "%s \"%.48s\" has no WebUI equivalent: kept as written, left out of txt2img requests", tkey, t);
    else if (strcmp(label, t) != 0 && set(p, tkey, label, err)) return -1;
    return 0;
}

int webui_names_apply(gen_params *p, meta_list *warn, fmt_error *err)
{
    if (apply_pair(p, "Sampler", "Schedule type", warn, err)) return -1;
    return apply_pair(p, "Hires sampler", "Hires schedule type", warn, err);
}
