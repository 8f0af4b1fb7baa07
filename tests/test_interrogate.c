/* Interrogate CLIP end to end through the public API, against
 * tests/fixtures/make_clip_fixtures.py: the tiny CLIP (converted from its
 * upstream checkpoint) ranks the real category lists (../shared/data,
 * linked into a temporary folder; skipped when absent), the tiny BLIP of
 * tests/fixtures/blip captions, and the whole `clip` line must equal the
 * reference's. Also: the label cache is reused on a second load, the JSON
 * form, embeddings, and set-up errors. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "format/json.h"
#include "tests/test.h"
#include "tests/cli.h"

#define FIX "tests/fixtures/clip/"
#define BLIP_FIX "tests/fixtures/blip/"

static char tmp[256], model[300], cats[300], cache[300];
/* The BLIP fixture seen from tmp: loading writes its .panels file beside
 * the path it was given (engine/runtime/panel_cache.h), which must not be the
 * source tree. */
static char blip_path[300];
static int have_lists;

typedef struct {
    int calls, computed;
} progress_count;

static void count_progress(void *user, const char *what, size_t done, size_t total)
{
    progress_count *p = user;
    (void)what;
    p->calls++;
    if (done == total) p->computed++;
}

static void test_setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/unprompt-interrogate-%ld", (long)getpid());
    snprintf(model, sizeof model, "%s/clip.safetensors", tmp);
    snprintf(cats, sizeof cats, "%s/categories", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    CHECK(mkdir(tmp, 0777) == 0 && mkdir(cats, 0777) == 0);
    unprompt_convert_params p = unprompt_convert_default_params();
    char err[256];
    p.vocab_path = FIX "merges.txt";
    p.config_path = FIX "heads.json";
    CHECK(unprompt_convert(FIX "tiny.pt", model, &p, err, sizeof err) == UNPROMPT_OK);
    char abs_blip[1024];
    snprintf(blip_path, sizeof blip_path, "%s/tiny_blip.safetensors", tmp);
    CHECK(realpath(BLIP_FIX "tiny_blip.safetensors", abs_blip) && symlink(abs_blip, blip_path) == 0);
    const char *shared = test_shared_dir();
    if (!shared) return;
    static const char *const links[][2] = {{"artists.txt", "artists.txt"}, {"flavors.txt", "flavors.top3.txt"},
                                           {"mediums.txt", "mediums.txt"}, {"movements.txt", "movements.txt"}};
    char from[1400], to[600], abs_shared[1024];
    CHECK(realpath(shared, abs_shared) != NULL);
    have_lists = 1;
    for (size_t i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/data/%s", abs_shared, links[i][0]);
        snprintf(to, sizeof to, "%s/%s", cats, links[i][1]);
        /* A list that is not there is a skip; one that cannot be linked is
         * a failed set-up. */
        if (access(from, R_OK) != 0) have_lists = 0;
        else CHECK(symlink(from, to) == 0);
    }
}

static unprompt_clip *load(const char *blip, progress_count *pc)
{
    unprompt_clip_params p = unprompt_clip_default_params();
    p.clip_model = model, p.blip_model = blip, p.categories_dir = cats, p.cache_dir = cache;
    p.threads = 2, p.progress = count_progress, p.progress_user = pc;
    unprompt_clip *ctx = NULL;
    char err[512];
    if (unprompt_clip_load(&ctx, &p, err, sizeof err) != UNPROMPT_OK) fprintf(stderr, "    %s\n", err);
    return ctx;
}

static unsigned char *read_rgb(const char *dir, const char *name, size_t want)
{
    char path[300];
    size_t len = 0;
    snprintf(path, sizeof path, "%s%s.rgb", dir, name);
    unsigned char *rgb = test_read_file(path, &len);
    if (rgb && len != want) {
        free(rgb);
        return NULL;
    }
    return rgb;
}

/* rank_expected.txt: the matches of the CLIP fixture's images (no caption). */
static void test_ranking(void)
{
    if (!have_lists) SKIP("../shared/data (the category lists) is absent");
    progress_count pc = {0, 0};
    unprompt_clip *ctx = load(NULL, &pc);
    CHECK(ctx != NULL && pc.computed == 4); /* every list encoded once */
    char *text = (char *)test_read_file(FIX "rank_expected.txt", NULL);
    static const int dims[2][2] = {{45, 30}, {20, 57}};
    int lines = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; ctx && line; line = strtok(NULL, "\n"), lines++) {
        int n = line[6] - '0', ranks = line[8] - '0';
        const char *want = line + 10;
        unsigned char *rgb = read_rgb(FIX, n ? "image_1" : "image_0", (size_t)dims[n][0] * dims[n][1] * 3);
        unprompt_clip_run_params rp = unprompt_clip_default_run_params();
        rp.include_ranks = ranks;
        unprompt_clip_result r;
        char err[256];
        CHECK(rgb && unprompt_clip_run_rgb(ctx, rgb, dims[n][0], dims[n][1], &rp, &r, err, sizeof err) == UNPROMPT_OK);
        if (rgb) {
            CHECK_STR(r.prompt, want);
            CHECK(r.n_categories == 4 && r.categories[1].n_matches == 3); /* flavors.top3 */
            unprompt_clip_result_free(&r);
        }
        free(rgb);
    }
    CHECK(lines == 4);
    free(text);
    unprompt_clip_free(ctx);
    pc = (progress_count){0, 0}; /* a second load reads the cache */
    ctx = load(NULL, &pc);
    CHECK(ctx != NULL && pc.calls == 0);
    unprompt_clip_free(ctx);
}

/* clip_expected.txt: the whole line, BLIP caption first. */
static void test_full_clip_line(void)
{
    if (!have_lists) SKIP("../shared/data (the category lists) is absent");
    progress_count pc = {0, 0};
    unprompt_clip *ctx = load(blip_path, &pc);
    CHECK(ctx != NULL);
    char *text = (char *)test_read_file(FIX "clip_expected.txt", NULL);
    int lines = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; ctx && line; line = strtok(NULL, "\n"), lines++) {
        char name[64];
        int beams, min, max, ranks, off = 0, w = 0, h = 0;
        if (sscanf(line, "%63[^\t]\t%d\t%d\t%d\t%d\t%n", name, &beams, &min, &max, &ranks, &off) != 5 || !off) {
            CHECK(0);
            continue;
        }
        sscanf(strchr(name, '_') + 1, "%dx%d", &w, &h);
        unsigned char *rgb = read_rgb(BLIP_FIX, name, (size_t)w * h * 3);
        unprompt_clip_run_params rp = {
            .beams = beams, .min_length = min, .max_length = max, .repetition_penalty = 1.0f, .include_ranks = ranks};
        unprompt_clip_result r;
        char err[256];
        CHECK(rgb && unprompt_clip_run_rgb(ctx, rgb, w, h, &rp, &r, err, sizeof err) == UNPROMPT_OK);
        if (rgb) {
            CHECK_STR(r.prompt, line + off);
            unprompt_clip_result_free(&r);
        }
        free(rgb);
    }
    CHECK(lines >= 12);
    free(text);
    unprompt_clip_free(ctx);
}

/* unprompt_clip_run_batch: the images of each setting of clip_expected.txt
 * together (the first one twice) give the reference lines. */
static void test_batch_equals_reference(void)
{
    if (!have_lists) SKIP("../shared/data (the category lists) is absent");
    progress_count pc = {0, 0};
    unprompt_clip *ctx = load(blip_path, &pc);
    CHECK(ctx != NULL);
    char *text = (char *)test_read_file(FIX "clip_expected.txt", NULL);
    enum { MAXN = 8 };
    unprompt_rgb_image im[MAXN + 1];
    unsigned char *px[MAXN];
    char *want[MAXN + 1];
    int prev[4] = {-1, -1, -1, -1}, batches = 0;
    size_t n = 0, checked = 0;
    char *line = text ? strtok(text, "\n") : NULL;
    for (;;) {
        char name[64];
        int set[4] = {-1, -1, -1, -1}, off = 0, w = 0, h = 0;
        if (line && (sscanf(line, "%63[^\t]\t%d\t%d\t%d\t%d\t%n", name, &set[0], &set[1], &set[2], &set[3], &off) != 5 || !off))
            break;
        if (n && (!line || memcmp(set, prev, sizeof set) || n == MAXN)) { /* the previous setting's images */
            im[n] = im[0], want[n] = want[0];
            unprompt_clip_run_params rp = {.beams = prev[0],
                                           .min_length = prev[1],
                                           .max_length = prev[2],
                                           .repetition_penalty = 1.0f,
                                           .include_ranks = prev[3]};
            unprompt_clip_result r[MAXN + 1];
            char err[256];
            int rc = ctx ? unprompt_clip_run_batch(ctx, im, n + 1, &rp, r, err, sizeof err) : -1;
            CHECK(rc == UNPROMPT_OK);
            for (size_t i = 0; rc == UNPROMPT_OK && i <= n; i++, checked++) {
                CHECK_STR(r[i].prompt, want[i]);
                unprompt_clip_result_free(&r[i]);
            }
            for (size_t i = 0; i < n; i++) free(px[i]);
            n = 0, batches++;
        }
        if (!line) break;
        sscanf(strchr(name, '_') + 1, "%dx%d", &w, &h);
        px[n] = read_rgb(BLIP_FIX, name, (size_t)w * h * 3);
        CHECK(px[n] != NULL);
        if (!px[n]) break;
        im[n] = (unprompt_rgb_image){px[n], w, h}, want[n] = line + off;
        memcpy(prev, set, sizeof set), n++;
        line = strtok(NULL, "\n");
    }
    for (size_t i = 0; i < n; i++) free(px[i]);
    CHECK(batches >= 4 && checked >= 16);
    /* refused sizes */
    unprompt_clip_result r[1];
    char err[256];
    CHECK(ctx && unprompt_clip_run_batch(ctx, im, 0, NULL, r, err, sizeof err) == UNPROMPT_ERR_ARGS);
    CHECK(ctx && unprompt_clip_run_batch(ctx, im, UNPROMPT_MAX_BATCH + 1, NULL, r, err, sizeof err) == UNPROMPT_ERR_ARGS);
    free(text);
    unprompt_clip_free(ctx);
}

/* More images than a tower takes in one pass (8): 11 images, the three
 * fixtures in turn, greedy, each line its image's reference. */
static void test_batch_beyond_a_tower_pass(void)
{
    if (!have_lists) SKIP("../shared/data (the category lists) is absent");
    static const char *const names[3] = {"grad_45x37", "noise_20x64", "same_32x32"};
    progress_count pc = {0, 0};
    unprompt_clip *ctx = load(blip_path, &pc);
    char *text = (char *)test_read_file(FIX "clip_expected.txt", NULL);
    CHECK(ctx && text);
    enum { N = 11 };
    unsigned char *px[3] = {NULL, NULL, NULL};
    const char *want[3] = {NULL, NULL, NULL};
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char name[64];
        int set[4], off = 0;
        if (sscanf(line, "%63[^\t]\t%d\t%d\t%d\t%d\t%n", name, &set[0], &set[1], &set[2], &set[3], &off) != 5 || !off) break;
        for (int k = 0; k < 3; k++)
            if (!strcmp(name, names[k]) && set[0] == 1 && set[1] == 12 && set[2] == 24 && set[3] == 0) want[k] = line + off;
    }
    unprompt_rgb_image im[N];
    for (int k = 0; k < 3; k++) {
        int w = 0, h = 0;
        sscanf(strchr(names[k], '_') + 1, "%dx%d", &w, &h);
        px[k] = read_rgb(BLIP_FIX, names[k], (size_t)w * h * 3);
        CHECK(px[k] && want[k]);
        for (int i = k; i < N; i += 3) im[i] = (unprompt_rgb_image){px[k], w, h};
    }
    if (ctx && px[0] && px[1] && px[2] && want[0] && want[1] && want[2]) {
        unprompt_clip_run_params rp = {
            .beams = 1, .min_length = 12, .max_length = 24, .repetition_penalty = 1.0f, .include_ranks = 0};
        unprompt_clip_result r[N];
        char err[256];
        int rc = unprompt_clip_run_batch(ctx, im, N, &rp, r, err, sizeof err);
        CHECK(rc == UNPROMPT_OK);
        for (int i = 0; rc == UNPROMPT_OK && i < N; i++) {
            CHECK_STR(r[i].prompt, want[i % 3]);
            unprompt_clip_result_free(&r[i]);
        }
    }
    for (int k = 0; k < 3; k++) free(px[k]);
    free(text);
    unprompt_clip_free(ctx);
}

static void test_json_and_embeddings(void)
{
    /* a list of our own, so this runs without ../shared too */
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/own", tmp);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/styles.top2.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) fputs("oil painting\nwatercolor \"wash\"\npencil sketch\n", f), fclose(f);
    unprompt_clip_params p = unprompt_clip_default_params();
    p.clip_model = model, p.categories_dir = dir, p.cache_dir = cache;
    unprompt_clip *ctx = NULL;
    char err[512];
    CHECK(unprompt_clip_load(&ctx, &p, err, sizeof err) == UNPROMPT_OK);
    if (!ctx) return;
    CHECK(unprompt_clip_dim(ctx) == 16);
    unsigned char *rgb = read_rgb(FIX, "image_0", 45 * 30 * 3);
    unprompt_clip_result r;
    CHECK(rgb && unprompt_clip_run_rgb(ctx, rgb, 45, 30, NULL, &r, err, sizeof err) == UNPROMPT_OK);
    if (rgb) {
        char *json = unprompt_clip_to_json(&r, "a \"b\".png");
        const char *head = "{\"file\": \"a \\\"b\\\".png\", \"prompt\": \", ";
        CHECK(json && !strncmp(json, head, strlen(head)));
        CHECK(json && strstr(json, "\"caption\": \"\", \"categories\": {\"styles.top2\": [{\"text\": ") != NULL);
        CHECK(r.n_categories == 1 && r.categories[0].n_matches == 2);
        CHECK(r.categories[0].matches[0].score >= r.categories[0].matches[1].score);
        unprompt_string_free(json);
        unprompt_clip_result_free(&r);
    }
    free(rgb);
    int tokens[77];
    size_t n = 0;
    float e[16];
    CHECK(unprompt_clip_embed_text(ctx, "a painting", tokens, &n, e, err, sizeof err) == UNPROMPT_OK);
    double norm = 0;
    for (int i = 0; i < 16; i++) norm += (double)e[i] * e[i];
    CHECK_NEAR(norm, 1.0, 1e-5);
    CHECK(n >= 3 && tokens[0] == 552 && tokens[n - 1] == 553);
    CHECK(unprompt_clip_embed_image(ctx, (const uint8_t *)"not an image", 12, e, err, sizeof err) == UNPROMPT_ERR_FORMAT);
    unprompt_clip_free(ctx);
}

static void test_setup_errors(void)
{
    unprompt_clip_params p = unprompt_clip_default_params();
    unprompt_clip *ctx = NULL;
    char err[512];
    CHECK(unprompt_clip_load(&ctx, &p, err, sizeof err) == UNPROMPT_ERR_ARGS && ctx == NULL);
    p.clip_model = "/nonexistent/clip.safetensors";
    CHECK(unprompt_clip_load(&ctx, &p, err, sizeof err) == UNPROMPT_ERR_MODEL && strstr(err, "/nonexistent") != NULL);
    p.clip_model = BLIP_FIX "tiny_blip.safetensors"; /* a BLIP file where CLIP belongs */
    CHECK(unprompt_clip_load(&ctx, &p, err, sizeof err) == UNPROMPT_ERR_MODEL && strstr(err, "not CLIP") != NULL);
    p.clip_model = model, p.categories_dir = "/nonexistent/categories";
    CHECK(unprompt_clip_load(&ctx, &p, err, sizeof err) != UNPROMPT_OK && strstr(err, "/nonexistent/categories") != NULL);
}

/* The CLI prints what the API computes; `all` appends the DeepBooru tags. */
/* `all --workers 2 --sidecar` killed with SIGKILL mid-run leaves whole
 * sidecars only; --resume completes the set, every sidecar equal to a
 * one-image run. */
static void test_cli_kill_and_resume(void)
{
    enum { N = 120 };
    char dir[600], path[700], cmd[4096], first[700];
    snprintf(dir, sizeof dir, "%s/kill", tmp);
    CHECK(mkdir(dir, 0700) == 0);
    size_t len = 0;
    unsigned char *png = test_read_file("tests/fixtures/deepdanbooru/rgb_37x53.png", &len);
    for (int i = 0; png && i < N; i++) {
        snprintf(path, sizeof path, "%s/%03d.png", dir, i);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(png, 1, len, f) == len && fclose(f) == 0);
    }
    free(png);
    const char *opts = "all -q --min-length 12 --max-length 24 --workers 2 --batch 3 --sidecar --resume";
    snprintf(first, sizeof first, "%s/%03d.txt", dir, 0);
    snprintf(cmd, sizeof cmd,
             "exec 2>/dev/null; %s/engine-run %s --weights %s %s & pid=$!; i=0; "
             "while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.02; i=$((i+1)); done; sleep 0.1; kill -9 $pid; wait $pid",
             cli_build_dir(), opts, tmp, dir, first);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 128 + 9);
    snprintf(cmd, sizeof cmd, "all --min-length 12 --max-length 24 --weights %s %s/000.png", tmp, dir);
    cli_result one = cli_run(cmd);
    CHECK(one.status == 0 && one.out);
    size_t before = 0, after = 0, wrong = 0;
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/%03d.txt", dir, i);
        char *t = (char *)test_read_file(path, NULL);
        before += t != NULL;
        wrong += t && one.out && strcmp(t, one.out);
        free(t);
    }
    CHECK(before > 0 && before < N && wrong == 0);
    snprintf(cmd, sizeof cmd, "%s --weights %s %s", opts, tmp, dir);
    cli_result r = cli_run(cmd);
    CHECK(r.status == 0);
    cli_free(&r);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/%03d.txt", dir, i);
        char *t = (char *)test_read_file(path, NULL);
        after += t != NULL;
        wrong += !t || (one.out && strcmp(t, one.out));
        free(t);
    }
    CHECK(after == N && wrong == 0);
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "    kill -9 after %zu of %d sidecars; --resume wrote the rest\n", before, N);
    cli_free(&one);
}

/* A folder of four images and an undecodable file: --batch 3 (groups of
 * different sizes, read ahead) and --workers 2 print what --batch 1 prints,
 * in the same order, and only the bad file fails. Needs test_cli's weights folder. */
static void test_cli_batches(void)
{
    static const char *const names[] = {"grey_1x20", "pal_64x48", "rgb_37x53", "rgba_300x80"};
    char dir[600], path[700], args[2048];
    snprintf(dir, sizeof dir, "%s/images", tmp);
    CHECK(mkdir(dir, 0700) == 0);
    for (size_t i = 0; i < 4; i++) {
        char from[300];
        snprintf(from, sizeof from, "tests/fixtures/deepdanbooru/%s.png", names[i]);
        snprintf(path, sizeof path, "%s/%s.png", dir, names[i]);
        CHECK(realpath(from, args) && symlink(args, path) == 0);
    }
    snprintf(path, sizeof path, "%s/broken.png", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs("\x89PNG\r\n\x1a\n not really", f) >= 0 && fclose(f) == 0);
    static const char *const cmds[] = {"all", "clip", "caption"};
    for (size_t c = 0; c < 3; c++) {
        cli_result one, three;
        snprintf(args, sizeof args, "%s --jsonl --batch 1 --weights %s --min-length 12 --max-length 24 %s", cmds[c], tmp, dir);
        one = cli_run(args);
        snprintf(args, sizeof args, "%s --jsonl --batch 3 --weights %s --min-length 12 --max-length 24 %s", cmds[c], tmp, dir);
        three = cli_run(args);
        snprintf(args, sizeof args, "%s --jsonl --batch 2 --workers 2 --weights %s --min-length 12 --max-length 24 %s",
                 cmds[c], tmp, dir);
        cli_result two = cli_run(args);
        CHECK(one.status == 1 && three.status == 1 && two.status == 1);
        CHECK(one.out && three.out && strlen(one.out) > 0);
        CHECK_STR(three.out, one.out ? one.out : "");
        CHECK_STR(two.out, one.out ? one.out : ""); /* two workers, written in input order */
        cli_free(&two);
        size_t lines = 0;
        for (const char *p = three.out ? three.out : ""; (p = strchr(p, '\n')); p++) lines++;
        CHECK(lines == 5); /* four results and broken.png's error record */
        CHECK(strstr(three.out, "broken.png\", \"error\": ") != NULL);
        CHECK(three.err && strstr(three.err, "broken.png") != NULL);
        cli_free(&one), cli_free(&three);
    }
    cli_result r = cli_run("clip --batch 0 x.png");
    CHECK(r.status == 2 && strstr(r.err, "--batch") != NULL);
    cli_free(&r);
    test_cli_kill_and_resume();
}

static void test_cli(void)
{
    if (!have_lists) SKIP("../shared/data (the category lists) is absent");
    char path[600], args[2048];
    snprintf(path, sizeof path, "%s/deepdanbooru.safetensors", tmp);
    CHECK(unprompt_convert("tests/fixtures/deepdanbooru/tiny.pt", path, NULL, args, sizeof args) == UNPROMPT_OK);
    snprintf(path, sizeof path, "%s/blip.safetensors", tmp);
    char abs_blip[1024];
    CHECK(realpath(BLIP_FIX "tiny_blip.safetensors", abs_blip) && symlink(abs_blip, path) == 0);
    const char *image = "tests/fixtures/deepdanbooru/rgb_37x53.png";
    size_t len = 0;
    unsigned char *png = test_read_file(image, &len);
    progress_count pc = {0, 0};
    unprompt_clip *ctx = load(path, &pc);
    unprompt_booru *booru = NULL;
    snprintf(path, sizeof path, "%s/deepdanbooru.safetensors", tmp);
    CHECK(unprompt_booru_load(&booru, path, 2, args, sizeof args) == UNPROMPT_OK);
    unprompt_clip_run_params rp = {
        .beams = 1, .min_length = 12, .max_length = 24, .repetition_penalty = 1.0f, .include_ranks = 0};
    unprompt_clip_result cr;
    unprompt_booru_result br;
    if (!png || !ctx || !booru || unprompt_clip_run(ctx, png, len, &rp, &cr, args, sizeof args) != UNPROMPT_OK) {
        CHECK(0);
    } else {
        CHECK(unprompt_booru_run(booru, png, len, NULL, &br, args, sizeof args) == UNPROMPT_OK);
        snprintf(args, sizeof args, "clip --weights %s --min-length 12 --max-length 24 %s", tmp, image);
        cli_result r = cli_run(args);
        CHECK(r.status == 0);
        char want[4096];
        snprintf(want, sizeof want, "%s\n", cr.prompt);
        CHECK_STR(r.out, want);
        cli_free(&r);
        snprintf(args, sizeof args, "all --weights %s --min-length 12 --max-length 24 %s", tmp, image);
        r = cli_run(args);
        snprintf(want, sizeof want, "%s, %s\n", cr.prompt, br.prompt);
        CHECK(r.status == 0);
        CHECK_STR(r.out, want);
        cli_free(&r);
        snprintf(args, sizeof args, "all --json --weights %s --min-length 12 --max-length 24 %s", tmp, image);
        r = cli_run(args);
        fmt_error e;
        json_value *v = json_parse(r.out, strlen(r.out), NULL, &e);
        CHECK(v && json_get(v, "clip") && json_get(json_get(v, "clip"), "categories") && json_get(v, "booru") &&
              json_get(json_get(v, "booru"), "tags") && !json_get(json_get(v, "clip"), "file"));
        snprintf(want, sizeof want, "%s, %s", cr.prompt, br.prompt);
        CHECK(v && json_str(json_get(v, "prompt")) && !strcmp(json_str(json_get(v, "prompt")), want));
        json_free(v);
        cli_free(&r);
        unprompt_booru_result_free(&br);
        unprompt_clip_result_free(&cr);
    }
    free(png);
    unprompt_clip_free(ctx);
    unprompt_booru_free(booru);
    test_cli_batches();
    /* a stored prompt needs no model */
    cli_result r = cli_run("all --weights /nonexistent --prefer-metadata examples/sample.png");
    CHECK(r.status == 0 && strstr(r.out, "lighthouse") != NULL);
    cli_free(&r);
    /* ... also when its pixels cannot be decoded (IDAT garbage, CRCs right) */
    size_t slen = 0;
    unsigned char *sample = test_read_file("examples/sample.png", &slen);
    CHECK(sample && slen > 100);
    for (size_t pos = 8; sample && pos + 12 <= slen;) {
        uint32_t n = (uint32_t)sample[pos] << 24 | (uint32_t)sample[pos + 1] << 16 | (uint32_t)sample[pos + 2] << 8 | sample[pos + 3];
        if (pos + 12 + n > slen) break;
        if (!memcmp(sample + pos + 4, "IDAT", 4)) {
            memset(sample + pos + 8, 0xA5, n);
            uLong crc = crc32(0L, sample + pos + 4, n + 4);
            for (int b = 0; b < 4; b++) sample[pos + 8 + n + b] = (unsigned char)(crc >> (24 - 8 * b));
        }
        pos += 12 + n;
    }
    char broken[700], cmdline[1600];
    snprintf(broken, sizeof broken, "%s/stored_prompt_broken_pixels.png", tmp);
    FILE *bf = fopen(broken, "wb");
    CHECK(bf && sample && fwrite(sample, 1, slen, bf) == slen && fclose(bf) == 0);
    free(sample);
    snprintf(cmdline, sizeof cmdline, "all --weights /nonexistent --prefer-metadata %s", broken);
    r = cli_run(cmdline);
    CHECK(r.status == 0 && strstr(r.out, "lighthouse") != NULL);
    cli_free(&r);
    snprintf(cmdline, sizeof cmdline, "booru --weights %s %s", tmp, broken);
    r = cli_run(cmdline);
    CHECK(r.status == 1); /* the pixels really are undecodable */
    cli_free(&r);
    r = cli_run("clip --weights /nonexistent examples/sample.png");
    CHECK(r.status == 2 && strstr(r.err, "make weights") != NULL);
    cli_free(&r);
    r = cli_run("all --weights /nonexistent --prefer-metadata tests/fixtures/deepdanbooru/rgb_37x53.png");
    CHECK(r.status == 2 && strstr(r.err, "make weights") != NULL);
    cli_free(&r);
    r = cli_run("clip --beams 0 x.png");
    CHECK(r.status == 2 && strstr(r.err, "--beams") != NULL);
    cli_free(&r);
}

int main(void)
{
    RUN(test_setup);
    RUN(test_ranking);
    RUN(test_full_clip_line);
    RUN(test_batch_equals_reference);
    RUN(test_batch_beyond_a_tower_pass);
    RUN(test_json_and_embeddings);
    RUN(test_setup_errors);
    RUN(test_cli);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd)) fprintf(stderr, "  could not remove %s\n", tmp);
    return test_summary("interrogate");
}
