/* Interrogate all through the public API (unprompt_all_*): its prompt is
 * the CLIP prompt then the DeepBooru tags, as the two calls give them; the
 * batch form gives each image what one run gives it; with prefer_metadata
 * a stored prompt needs no models; the JSON nests each model's object
 * (without its "file") under "clip" and "booru". The tiny CLIP, BLIP and
 * DeepDanbooru fixtures, and the real category lists of ../shared/data
 * (skipped when absent). */
#include <sys/stat.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "format/json.h"
#include "tests/test.h"

#define IMG "tests/fixtures/deepdanbooru/"

static char tmp[256], clip_path[300], blip_path[300], booru_path[300], cats[300], cache[300];
static int have_lists;
static unprompt_all *ctx;

static void test_setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/unprompt-all-%ld", (long)getpid());
    snprintf(clip_path, sizeof clip_path, "%s/clip.safetensors", tmp);
    snprintf(blip_path, sizeof blip_path, "%s/blip.safetensors", tmp);
    snprintf(booru_path, sizeof booru_path, "%s/deepdanbooru.safetensors", tmp);
    snprintf(cats, sizeof cats, "%s/categories", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    CHECK(mkdir(tmp, 0777) == 0 && mkdir(cats, 0777) == 0);
    unprompt_convert_params p = unprompt_convert_default_params();
    char err[256], abs[1024];
    p.vocab_path = "tests/fixtures/clip/merges.txt";
    p.config_path = "tests/fixtures/clip/heads.json";
    CHECK(unprompt_convert("tests/fixtures/clip/tiny.pt", clip_path, &p, err, sizeof err) == UNPROMPT_OK);
    CHECK(unprompt_convert(IMG "tiny.pt", booru_path, NULL, err, sizeof err) == UNPROMPT_OK);
    /* linked: loading writes its .panels file beside the path it was given */
    CHECK(realpath("tests/fixtures/blip/tiny_blip.safetensors", abs) && symlink(abs, blip_path) == 0);
    const char *shared = test_shared_dir();
    if (!shared) return;
    static const char *const lists[] = {"artists", "flavors", "mediums", "movements"};
    char from[1400], to[600];
    have_lists = realpath(shared, abs) != NULL;
    for (size_t i = 0; have_lists && i < 4; i++) {
        snprintf(from, sizeof from, "%s/data/%s.txt", abs, lists[i]);
        snprintf(to, sizeof to, "%s/%s.txt", cats, lists[i]);
        if (access(from, R_OK) != 0) have_lists = 0;
        else CHECK(symlink(from, to) == 0);
    }
}

static unprompt_all_params params(void)
{
    unprompt_all_params p = unprompt_all_default_params();
    p.clip.clip_model = clip_path, p.clip.blip_model = blip_path, p.clip.categories_dir = cats;
    p.clip.cache_dir = cache, p.clip.threads = 2, p.booru_model = booru_path;
    return p;
}

static unprompt_all_run_params run_params(void)
{
    unprompt_all_run_params rp = unprompt_all_default_run_params();
    rp.clip.min_length = 12, rp.clip.max_length = 24;
    return rp;
}

/* The prompt is CLIP's then the tags', each as its own call gives it. */
static void test_run_joins_clip_and_tags(void)
{
    if (!have_lists) SKIP("../shared/data (the category lists) is absent");
    unprompt_all_params p = params();
    char err[512];
    CHECK(unprompt_all_load(&ctx, &p, err, sizeof err) == UNPROMPT_OK);
    unprompt_clip *clip = NULL;
    unprompt_booru *booru = NULL;
    CHECK(unprompt_clip_load(&clip, &p.clip, err, sizeof err) == UNPROMPT_OK);
    CHECK(unprompt_booru_load(&booru, booru_path, 2, err, sizeof err) == UNPROMPT_OK);
    size_t len = 0;
    unsigned char *png = test_read_file(IMG "rgb_37x53.png", &len);
    unprompt_all_run_params rp = run_params();
    rp.booru.threshold = 0.3f;
    unprompt_all_result r;
    unprompt_clip_result cr;
    unprompt_booru_result br;
    if (!ctx || !clip || !booru || !png) {
        CHECK(0);
    } else {
        CHECK(unprompt_all_run(ctx, png, len, &rp, &r, err, sizeof err) == UNPROMPT_OK);
        CHECK(unprompt_clip_run(clip, png, len, &rp.clip, &cr, err, sizeof err) == UNPROMPT_OK);
        CHECK(unprompt_booru_run(booru, png, len, &rp.booru, &br, err, sizeof err) == UNPROMPT_OK);
        char want[8192];
        snprintf(want, sizeof want, "%s%s%s", cr.prompt, br.prompt[0] ? ", " : "", br.prompt);
        CHECK_STR(r.prompt, want);
        CHECK(!r.from_metadata && r.clip.caption[0] && r.clip.n_categories == 4 && r.booru.n_tags > 0);
        CHECK_STR(r.clip.caption, cr.caption);
        CHECK_STR(r.booru.prompt, br.prompt);
        /* the JSON nests each model's object as its own formatter writes it, less "file" */
        char *all = unprompt_all_to_json(&r, "a \"b\".png"), *cj = unprompt_clip_to_json(&cr, NULL),
             *bj = unprompt_booru_to_json(&br, NULL);
        const char *head = "{\"file\": null, ";
        CHECK(all && cj && bj && !strncmp(cj, head, strlen(head)) && !strncmp(bj, head, strlen(head)));
        if (all && cj && bj) {
            static char expect[1 << 16];
            char prompt[8200];
            buf pb;
            buf_init(&pb, 0);
            CHECK(json_write_string(&pb, want, strlen(want), NULL) == 0);
            snprintf(prompt, sizeof prompt, "%s", pb.data ? pb.data : "");
            buf_free(&pb);
            snprintf(expect, sizeof expect, "{\"file\": \"a \\\"b\\\".png\", \"prompt\": %s, \"source\": \"models\", \"clip\": {%s, \"booru\": {%s}",
                     prompt, cj + strlen(head), bj + strlen(head));
            CHECK_STR(all, expect);
        }
        unprompt_string_free(all), unprompt_string_free(cj), unprompt_string_free(bj);
        unprompt_all_result_free(&r);
        unprompt_clip_result_free(&cr);
        unprompt_booru_result_free(&br);
        CHECK(r.prompt == NULL && r.internal_ == NULL);
    }
    free(png);
    unprompt_clip_free(clip);
    unprompt_booru_free(booru);
}

/* n images at once: each gets what one run gives it. */
static void test_batch_equals_one_by_one(void)
{
    if (!ctx) SKIP("no models (see the previous case)");
    static const char *const names[] = {"grey_1x20", "pal_64x48", "rgb_37x53", "rgba_300x80"};
    unprompt_rgb_image im[4];
    uint8_t *rgb[4] = {NULL};
    char err[512], path[300];
    for (size_t i = 0; i < 4; i++) {
        size_t len = 0;
        snprintf(path, sizeof path, IMG "%s.png", names[i]);
        unsigned char *png = test_read_file(path, &len);
        CHECK(png && unprompt_decode_rgb(png, len, &rgb[i], &im[i].width, &im[i].height, err, sizeof err) == UNPROMPT_OK);
        im[i].rgb = rgb[i];
        free(png);
    }
    unprompt_all_run_params rp = run_params();
    unprompt_all_result many[4], one;
    CHECK(unprompt_all_run_batch(ctx, im, 4, &rp, many, err, sizeof err) == UNPROMPT_OK);
    for (size_t i = 0; i < 4; i++) {
        CHECK(unprompt_all_run_rgb(ctx, im[i].rgb, im[i].width, im[i].height, &rp, &one, err, sizeof err) == UNPROMPT_OK);
        CHECK_STR(many[i].prompt, one.prompt);
        unprompt_all_result_free(&one);
        unprompt_all_result_free(&many[i]);
        unprompt_rgb_free(rgb[i]);
    }
    CHECK(unprompt_all_run_batch(ctx, im, 0, &rp, many, err, sizeof err) == UNPROMPT_ERR_ARGS);
    im[1].rgb = NULL; /* a bad image fails the batch, every result empty */
    CHECK(unprompt_all_run_batch(ctx, im, 2, &rp, many, err, sizeof err) != UNPROMPT_OK);
    CHECK(many[0].prompt == NULL && many[0].internal_ == NULL && many[1].prompt == NULL);
}

/* A stored prompt needs no models; a file without one does. */
static void test_prefer_metadata(void)
{
    size_t len = 0, plen = 0;
    unsigned char *sample = test_read_file("examples/sample.png", &len), *plain = test_read_file(IMG "rgb_37x53.png", &plen);
    unprompt_all_run_params rp = run_params();
    rp.prefer_metadata = 1;
    unprompt_all_result r;
    char err[256];
    CHECK(sample && unprompt_all_run(NULL, sample, len, &rp, &r, err, sizeof err) == UNPROMPT_OK);
    CHECK(r.from_metadata && r.prompt && strstr(r.prompt, "lighthouse") && r.clip.prompt == NULL && r.booru.prompt == NULL);
    char *json = unprompt_all_to_json(&r, NULL);
    fmt_error e;
    json_value *v = json ? json_parse(json, strlen(json), NULL, &e) : NULL;
    CHECK(v && json_get(v, "file") && json_get(v, "file")->type == JSON_NULL);
    CHECK(v && json_str(json_get(v, "source")) && !strcmp(json_str(json_get(v, "source")), "metadata"));
    CHECK(v && json_str(json_get(v, "prompt")) && !strcmp(json_str(json_get(v, "prompt")), r.prompt));
    /* the same keys as a record from the models: clip and booru are null */
    CHECK(v && json_get(v, "clip") && json_get(v, "clip")->type == JSON_NULL);
    CHECK(v && json_get(v, "booru") && json_get(v, "booru")->type == JSON_NULL);
    json_free(v);
    unprompt_string_free(json);
    unprompt_all_result_free(&r);
    CHECK(plain && unprompt_all_run_metadata(plain, plen, &r, err, sizeof err) == UNPROMPT_ERR_FORMAT);
    CHECK(r.prompt == NULL && !r.from_metadata);
    CHECK(plain && unprompt_all_run(NULL, plain, plen, &rp, &r, err, sizeof err) == UNPROMPT_ERR_ARGS);
    rp.prefer_metadata = 0; /* the stored prompt is not looked at */
    CHECK(sample && unprompt_all_run(NULL, sample, len, &rp, &r, err, sizeof err) == UNPROMPT_ERR_ARGS);
    free(sample), free(plain);
}

static void test_load_errors(void)
{
    unprompt_all_params p = params();
    unprompt_all *c = (unprompt_all *)&p;
    char err[512];
    p.booru_model = NULL;
    CHECK(unprompt_all_load(&c, &p, err, sizeof err) == UNPROMPT_ERR_ARGS && c == NULL);
    p.booru_model = "/nonexistent/deepdanbooru.safetensors";
    CHECK(unprompt_all_load(&c, &p, err, sizeof err) == UNPROMPT_ERR_MODEL && c == NULL && strstr(err, "/nonexistent"));
    p = params();
    p.clip.clip_model = "/nonexistent/clip.safetensors";
    CHECK(unprompt_all_load(&c, &p, err, sizeof err) == UNPROMPT_ERR_MODEL && c == NULL && strstr(err, "/nonexistent"));
    unprompt_all_free(NULL);
}

int main(void)
{
    RUN(test_setup);
    RUN(test_run_joins_clip_and_tags);
    RUN(test_batch_equals_one_by_one);
    RUN(test_prefer_metadata);
    RUN(test_load_errors);
    unprompt_all_free(ctx);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd)) fprintf(stderr, "  could not remove %s\n", tmp);
    return test_summary("all");
}
