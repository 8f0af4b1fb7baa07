/* Generation-parameter parsers and generator detection. Expected fields are
 * worked out by hand from each generator's format (the WebUI's
 * parse_generation_parameters, ComfyUI's API graph, ...). */
#include "format/gen_params.h"
#include "tests/test.h"

static gen_params a1111(const char *text)
{
    gen_params p;
    fmt_error e;
    gen_params_init(&p);
    CHECK(params_parse_a1111(text, strlen(text), &p, &e) == 0);
    return p;
}

static void test_a1111_duck(void)
{
    gen_params p = a1111("photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, "
                         "Seed: 235284042, Size: 512x400, Model hash: c0d1994c73, Model: realistic_realisticVisionV20_v20");
    CHECK_STR(p.generator, "automatic1111");
    CHECK_STR(p.prompt, "photo of a duck");
    CHECK_STR(p.negative_prompt, "monochrome");
    CHECK(p.n_settings == 7);
    CHECK_STR(p.settings[0].key, "Steps");
    CHECK_STR(p.settings[6].key, "Model");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "5");
    CHECK_STR(gen_params_get(&p, "Size"), "512x400");
    CHECK_STR(gen_params_get(&p, "Model"), "realistic_realisticVisionV20_v20");
    gen_params_free(&p);
}

static void test_a1111_multiline_and_crlf(void)
{
    gen_params p = a1111("  line one\nline two  \nNegative prompt: n1\nn2\nSteps: 1, Sampler: Euler, CFG scale: 7\n\n");
    CHECK_STR(p.prompt, "line one\nline two");
    CHECK_STR(p.negative_prompt, "n1\nn2");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "7");
    gen_params_free(&p);
    p = a1111("a cat\r\nNegative prompt: dog\r\nSteps: 20, Sampler: Euler a, Seed: 5\r\n");
    CHECK_STR(p.prompt, "a cat");
    CHECK_STR(p.negative_prompt, "dog");
    CHECK_STR(gen_params_get(&p, "Sampler"), "Euler a");
    CHECK_STR(gen_params_get(&p, "Seed"), "5");
    gen_params_free(&p);
}

static void test_a1111_empty_and_negative_only(void)
{
    gen_params p = a1111("Negative prompt: bad hands\nSteps: 1, Sampler: Euler, Seed: 2");
    CHECK_STR(p.prompt, "");
    CHECK_STR(p.negative_prompt, "bad hands");
    gen_params_free(&p);
    p = a1111("Steps: 1, Sampler: Euler, Seed: 2");
    CHECK_STR(p.prompt, "");
    CHECK(p.negative_prompt == NULL);
    CHECK(p.n_settings == 3);
    gen_params_free(&p);
    p = a1111("");
    CHECK_STR(p.prompt, "");
    CHECK(p.n_settings == 0);
    gen_params_free(&p);
}

static void test_a1111_settings_lookalike_stays_prompt(void)
{
    /* Two `key: value` pairs only: the last line is still prompt. */
    gen_params p = a1111("portrait\nlighting: soft, mood: calm");
    CHECK_STR(p.prompt, "portrait\nlighting: soft, mood: calm");
    CHECK(p.n_settings == 0);
    gen_params_free(&p);
    /* Such a line before the settings line is prompt too. */
    p = a1111("style: anime, quality: high, detail: max\nSteps: 3, Sampler: Euler, Seed: 4");
    CHECK_STR(p.prompt, "style: anime, quality: high, detail: max");
    CHECK(p.n_settings == 3);
    gen_params_free(&p);
}

static void test_a1111_quoted_values(void)
{
    gen_params p = a1111("x\nSteps: 20, Lora hashes: \"a: 1, b: 2\", Hashes: \"{\\\"vae\\\": \\\"x\\\", \\\"model\\\": \\\"y\\\"}\", "
                         "Note: \"say \\\"hi\\\", ok\", TI: {\"t\": \"1\"}, Seed: 1");
    CHECK_STR(gen_params_get(&p, "Lora hashes"), "a: 1, b: 2");
    CHECK_STR(gen_params_get(&p, "Hashes"), "{\"vae\": \"x\", \"model\": \"y\"}");
    CHECK_STR(gen_params_get(&p, "Note"), "say \"hi\", ok");
    CHECK_STR(gen_params_get(&p, "TI"), "{\"t\": \"1\"}");
    CHECK_STR(gen_params_get(&p, "Seed"), "1");
    gen_params_free(&p);
}

static void test_a1111_regex_corners(void)
{
    /* Empty values are dropped (the WebUI's parser raises on them), a later
     * duplicate wins, a value keeps its trailing space, one-letter keys do
     * not match the key pattern. */
    gen_params p = a1111("y\nSteps: 20 , Empty: , Sampler: Euler, A: b, Seed: 1, Seed: 9");
    CHECK_STR(gen_params_get(&p, "Steps"), "20 ");
    CHECK(gen_params_get(&p, "Empty") == NULL);
    CHECK(gen_params_get(&p, "A") == NULL);
    CHECK_STR(gen_params_get(&p, "Seed"), "9");
    gen_params_free(&p);
    p = a1111("\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe7\x8c\xab, caf\xc3\xa9\nSteps: 1, Sampler: Euler, Seed: 2");
    CHECK_STR(p.prompt, "\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe7\x8c\xab, caf\xc3\xa9");
    gen_params_free(&p);
}

static gen_params comfy(const char *prompt, const char *workflow, int expect)
{
    gen_params p;
    fmt_error e;
    gen_params_init(&p);
    int rc = params_parse_comfyui(prompt, prompt ? strlen(prompt) : 0, workflow, workflow ? strlen(workflow) : 0, &p, &e);
    if (rc != expect) fprintf(stderr, "    comfyui: %s\n", e.msg);
    CHECK(rc == expect);
    return p;
}

static void test_comfyui_through_intermediate_nodes(void)
{
    const char *g =
        "{\"10\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 18446744073709551615, \"steps\": 30, \"cfg\": 7.5,"
        " \"sampler_name\": \"euler\", \"scheduler\": \"normal\", \"denoise\": 0.6, \"model\": [\"2\", 0],"
        " \"positive\": [\"5\", 0], \"negative\": [\"6\", 1], \"latent_image\": [\"7\", 0]}},"
        " \"1\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": \"sdxl.safetensors\"}},"
        " \"2\": {\"class_type\": \"LoraLoader\", \"inputs\": {\"model\": [\"1\", 0], \"clip\": [\"1\", 1], \"lora_name\": \"x\"}},"
        " \"3\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": [\"9\", 0], \"clip\": [\"2\", 1]}},"
        " \"4\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"extra detail\", \"clip\": [\"2\", 1]}},"
        " \"5\": {\"class_type\": \"ConditioningCombine\", \"inputs\": {\"conditioning_1\": [\"3\", 0], \"conditioning_2\": [\"4\", 0]}},"
        " \"6\": {\"class_type\": \"ControlNetApplyAdvanced\", \"inputs\": {\"positive\": [\"5\", 0], \"negative\": [\"8\", 0], \"strength\": 1}},"
        " \"7\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 1024, \"height\": 768, \"batch_size\": 1}},"
        " \"8\": {\"class_type\": \"CLIPTextEncodeSDXL\", \"inputs\": {\"text_g\": \"ugly\", \"text_l\": \"ugly\", \"clip\": [\"2\", 1]}},"
        " \"9\": {\"class_type\": \"PrimitiveNode\", \"inputs\": {\"value\": \"a castle\"}},"
        " \"11\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 1, \"steps\": 5, \"cfg\": 1, \"sampler_name\": \"x\","
        " \"scheduler\": \"y\", \"denoise\": 1, \"model\": [\"1\", 0], \"positive\": [\"4\", 0], \"negative\": [\"4\", 0], \"latent_image\": [\"7\", 0]}}}";
    gen_params p = comfy(g, NULL, 0);
    CHECK_STR(p.generator, "comfyui");
    CHECK_STR(p.prompt, "a castle\nextra detail");
    CHECK_STR(p.negative_prompt, "ugly");
    CHECK_STR(gen_params_get(&p, "Seed"), "18446744073709551615");
    CHECK_STR(gen_params_get(&p, "Steps"), "30");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "7.5");
    CHECK_STR(gen_params_get(&p, "Sampler"), "euler");
    CHECK_STR(gen_params_get(&p, "Schedule type"), "normal");
    CHECK_STR(gen_params_get(&p, "Size"), "1024x768");
    CHECK_STR(gen_params_get(&p, "Model"), "sdxl.safetensors");
    CHECK_STR(gen_params_get(&p, "Denoising strength"), "0.6");
    gen_params_free(&p);
}

static void test_comfyui_cycle_and_custom_sampler(void)
{
    const char *cyc =
        "{\"1\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 5, \"steps\": 2, \"positive\": [\"2\", 0], \"negative\": [\"3\", 0]}},"
        " \"2\": {\"class_type\": \"ConditioningConcat\", \"inputs\": {\"conditioning_to\": [\"3\", 0]}},"
        " \"3\": {\"class_type\": \"ConditioningConcat\", \"inputs\": {\"conditioning_to\": [\"2\", 0]}}}";
    gen_params p = comfy(cyc, NULL, 0);
    CHECK(p.prompt == NULL);
    CHECK_STR(gen_params_get(&p, "Seed"), "5");
    gen_params_free(&p);
    const char *custom =
        "{\"13\": {\"class_type\": \"SamplerCustomAdvanced\", \"inputs\": {\"noise\": [\"25\", 0], \"guider\": [\"22\", 0],"
        " \"sampler\": [\"16\", 0], \"sigmas\": [\"17\", 0], \"latent_image\": [\"5\", 0]}},"
        " \"25\": {\"class_type\": \"RandomNoise\", \"inputs\": {\"noise_seed\": 42}},"
        " \"22\": {\"class_type\": \"CFGGuider\", \"inputs\": {\"cfg\": 3.5, \"model\": [\"12\", 0], \"positive\": [\"6\", 0], \"negative\": [\"7\", 0]}},"
        " \"16\": {\"class_type\": \"KSamplerSelect\", \"inputs\": {\"sampler_name\": \"euler\"}},"
        " \"17\": {\"class_type\": \"BasicScheduler\", \"inputs\": {\"scheduler\": \"simple\", \"steps\": 20, \"denoise\": 1.0, \"model\": [\"12\", 0]}},"
        " \"12\": {\"class_type\": \"UNETLoader\", \"inputs\": {\"unet_name\": \"flux1-dev.safetensors\"}},"
        " \"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a fox\"}},"
        " \"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"\"}},"
        " \"5\": {\"class_type\": \"EmptySD3LatentImage\", \"inputs\": {\"width\": 512, \"height\": 512}}}";
    p = comfy(custom, NULL, 0);
    CHECK_STR(p.prompt, "a fox");
    CHECK(p.negative_prompt == NULL);
    CHECK_STR(gen_params_get(&p, "Seed"), "42");
    CHECK_STR(gen_params_get(&p, "Steps"), "20");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "3.5");
    CHECK_STR(gen_params_get(&p, "Sampler"), "euler");
    CHECK_STR(gen_params_get(&p, "Schedule type"), "simple");
    CHECK_STR(gen_params_get(&p, "Model"), "flux1-dev.safetensors");
    CHECK_STR(gen_params_get(&p, "Size"), "512x512");
    gen_params_free(&p);
}

static void test_comfyui_workflow_only_and_garbage(void)
{
    const char *wf =
        "{\"nodes\": [{\"id\": 3, \"type\": \"KSampler\", \"inputs\": [{\"name\": \"positive\", \"link\": 4},"
        " {\"name\": \"negative\", \"link\": 6}], \"widgets_values\": [99, \"fixed\", 25, 8, \"dpmpp_2m\", \"karras\", 1]},"
        " {\"id\": 6, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"a tree\"]},"
        " {\"id\": 7, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"blurry\"]}],"
        " \"links\": [[4, 6, 0, 3, 1, \"CONDITIONING\"], [6, 7, 0, 3, 2, \"CONDITIONING\"]]}";
    gen_params p = comfy(NULL, wf, 0);
    CHECK_STR(p.prompt, "a tree");
    CHECK_STR(p.negative_prompt, "blurry");
    CHECK_STR(gen_params_get(&p, "Seed"), "99");
    CHECK_STR(gen_params_get(&p, "Steps"), "25");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "8");
    gen_params_free(&p);
    p = comfy("{\"1\": {\"class_type\": \"SaveImage\", \"inputs\": {}}}", NULL, -1);
    gen_params_free(&p);
    p = comfy("not json", "[1, 2", -1);
    gen_params_free(&p);
}

static void test_novelai(void)
{
    const char *c = "{\"prompt\": \"1girl, forest\", \"steps\": 28, \"height\": 1216, \"width\": 832, \"scale\": 5.0,"
                    " \"seed\": 123, \"strength\": 0.7, \"noise\": 0.0, \"sampler\": \"k_euler_ancestral\", \"uc\": \"lowres\"}";
    gen_params p;
    fmt_error e;
    gen_params_init(&p);
    CHECK(params_parse_novelai("1girl", 5, c, strlen(c), &p, &e) == 0);
    CHECK_STR(p.generator, "novelai");
    CHECK_STR(p.prompt, "1girl, forest");
    CHECK_STR(p.negative_prompt, "lowres");
    CHECK_STR(gen_params_get(&p, "Steps"), "28");
    CHECK_STR(gen_params_get(&p, "Sampler"), "k_euler_ancestral");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "5.0");
    CHECK_STR(gen_params_get(&p, "Seed"), "123");
    CHECK_STR(gen_params_get(&p, "Size"), "832x1216");
    gen_params_free(&p);
    CHECK(params_parse_novelai(NULL, 0, "{\"a\": 1}", 8, &p, &e) == -1);
    gen_params_free(&p);
}

static void detect(meta_list *m, gen_params *p)
{
    fmt_error e;
    CHECK(gen_params_detect(m, p, &e) == 0);
}

static void add(meta_list *m, const char *k, const char *v, meta_source s)
{
    CHECK(meta_list_add(m, k, strlen(k), v, strlen(v), s, NULL) == 0);
}

static void test_invokeai_three_forms(void)
{
    meta_list m;
    gen_params p;
    meta_list_init(&m);
    add(&m, "invokeai_metadata", "{\"positive_prompt\": \"a ship\", \"negative_prompt\": \"fog\", \"seed\": 7,"
        " \"steps\": 30, \"cfg_scale\": 7.5, \"scheduler\": \"euler\", \"width\": 768, \"height\": 512,"
        " \"model\": {\"model_name\": \"sd15\", \"hash\": \"abc\"}, \"app_version\": \"3.4.0\"}", META_PNG_TEXT);
    detect(&m, &p);
    CHECK_STR(p.generator, "invokeai");
    CHECK_STR(p.prompt, "a ship");
    CHECK_STR(p.negative_prompt, "fog");
    CHECK_STR(gen_params_get(&p, "Sampler"), "euler");
    CHECK_STR(gen_params_get(&p, "Size"), "768x512");
    CHECK_STR(gen_params_get(&p, "Model"), "sd15");
    CHECK_STR(gen_params_get(&p, "Version"), "3.4.0");
    gen_params_free(&p);
    meta_list_free(&m);

    meta_list_init(&m);
    add(&m, "sd-metadata", "{\"model_weights\": \"stable-diffusion-1.5\", \"app_version\": \"2.3.0\", \"image\": {\"prompt\":"
        " [{\"prompt\": \"a dog [cat, blurry] in snow\", \"weight\": 1.0}], \"steps\": 50, \"cfg_scale\": 7.5, \"seed\": 42,"
        " \"sampler\": \"k_lms\", \"width\": 512, \"height\": 512}}", META_PNG_TEXT);
    detect(&m, &p);
    CHECK_STR(p.prompt, "a dog  in snow");
    CHECK_STR(p.negative_prompt, "cat, blurry");
    CHECK_STR(gen_params_get(&p, "Steps"), "50");
    CHECK_STR(gen_params_get(&p, "Model"), "stable-diffusion-1.5");
    gen_params_free(&p);
    meta_list_free(&m);

    meta_list_init(&m);
    add(&m, "Dream", "\"a forest [dark]\" -s 50 -S 3357757885 -W 512 -H 768 -C 7.5 -A k_lms", META_PNG_TEXT);
    detect(&m, &p);
    CHECK_STR(p.generator, "invokeai");
    CHECK_STR(p.prompt, "a forest");
    CHECK_STR(p.negative_prompt, "dark");
    CHECK_STR(gen_params_get(&p, "Seed"), "3357757885");
    CHECK_STR(gen_params_get(&p, "Size"), "512x768");
    CHECK_STR(gen_params_get(&p, "Sampler"), "k_lms");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "7.5");
    gen_params_free(&p);
    meta_list_free(&m);
}

static void test_fooocus_and_detection_order(void)
{
    meta_list m;
    gen_params p;
    meta_list_init(&m);
    add(&m, "parameters", "{\"prompt\": \"a lake\", \"negative_prompt\": \"\", \"styles\": \"['Fooocus V2']\","
        " \"performance\": \"Speed\", \"resolution\": \"(1152, 896)\", \"guidance_scale\": 4, \"sharpness\": 2,"
        " \"sampler\": \"dpmpp_2m_sde_gpu\", \"scheduler\": \"karras\", \"seed\": \"123\", \"base_model\": \"juggernautXL\","
        " \"version\": \"Fooocus v2.1.865\", \"metadata_scheme\": \"fooocus\"}", META_PNG_TEXT);
    add(&m, "fooocus_scheme", "fooocus", META_PNG_TEXT);
    detect(&m, &p);
    CHECK_STR(p.generator, "fooocus");
    CHECK_STR(p.prompt, "a lake");
    CHECK_STR(p.negative_prompt, "");
    CHECK_STR(gen_params_get(&p, "Size"), "1152x896");
    CHECK_STR(gen_params_get(&p, "CFG scale"), "4");
    CHECK_STR(gen_params_get(&p, "Model"), "juggernautXL");
    gen_params_free(&p);
    meta_list_free(&m);

    /* A camera's UserComment is not a prompt; an A1111 one is. */
    meta_list_init(&m);
    add(&m, "UserComment", "Shot on holiday", META_EXIF);
    detect(&m, &p);
    CHECK_STR(p.generator, "unknown");
    CHECK(p.prompt == NULL);
    gen_params_free(&p);
    meta_list_free(&m);
    meta_list_init(&m);
    add(&m, "UserComment", "a cat\nSteps: 2, Sampler: Euler, Seed: 3", META_EXIF);
    detect(&m, &p);
    CHECK_STR(p.generator, "automatic1111");
    CHECK_STR(p.source_keyword, "UserComment");
    gen_params_free(&p);
    meta_list_free(&m);
    /* NovelAI's stealth payload: its PNG chunks as one JSON object. */
    meta_list_init(&m);
    add(&m, "parameters", "{\"Description\": \"1girl\", \"Software\": \"NovelAI\", \"Source\": \"NovelAI Diffusion V3\","
        " \"Comment\": \"{\\\"prompt\\\": \\\"1girl, smile\\\", \\\"uc\\\": \\\"bad\\\", \\\"steps\\\": 28}\"}", META_STEALTH);
    detect(&m, &p);
    CHECK_STR(p.generator, "novelai");
    CHECK_STR(p.prompt, "1girl, smile");
    CHECK_STR(p.negative_prompt, "bad");
    CHECK_STR(gen_params_get(&p, "Steps"), "28");
    CHECK_STR(gen_params_get(&p, "Model"), "NovelAI Diffusion V3");
    gen_params_free(&p);
    meta_list_free(&m);
    /* No text at all: no generator. */
    meta_list_init(&m);
    detect(&m, &p);
    CHECK(p.generator == NULL);
    gen_params_free(&p);
    meta_list_free(&m);
}

int main(void)
{
    RUN(test_a1111_duck);
    RUN(test_a1111_multiline_and_crlf);
    RUN(test_a1111_empty_and_negative_only);
    RUN(test_a1111_settings_lookalike_stays_prompt);
    RUN(test_a1111_quoted_values);
    RUN(test_a1111_regex_corners);
    RUN(test_comfyui_through_intermediate_nodes);
    RUN(test_comfyui_cycle_and_custom_sampler);
    RUN(test_comfyui_workflow_only_and_garbage);
    RUN(test_novelai);
    RUN(test_invokeai_three_forms);
    RUN(test_fooocus_and_detection_order);
    return test_summary("params");
}
