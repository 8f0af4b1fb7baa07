/* tools/fetch-weights (`make weights`) without the internet: manifests whose
 * URLs are file:// paths to the tiny fixture checkpoints (so curl, resume,
 * the SHA-256 checks and the conversions all run for real), unreachable
 * hosts (it must fail fast and say why), and broken manifests. Also checks
 * that the real weights/manifest parses and names every file the converter
 * needs. Nothing here touches the network or a name server: every host
 * that is not a file:// path is reached through a refused local proxy
 * (127.0.0.1:9), and nothing is timed. */
#include <sys/stat.h>

#include "base/sha256.h"
#include "tests/test.h"
#include "tests/cli.h"

static char *dir;        /* a scratch weights directory */
static char fixtures[1024];

typedef struct {
    int status;
    char *out; /* stdout + stderr */
} run_result;

/* Every URL that is not file:// goes to a local port that refuses: curl
 * never resolves a name (a proxy resolves for it) and fails at once. */
#define NO_NETWORK "ALL_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 "

static run_result fetch(const char *manifest, const char *args)
{
    static int counter;
    run_result r = {-1, NULL};
    char log[512], cmd[4096];
    snprintf(log, sizeof log, "%s/log-%d", dir, counter++);
    snprintf(cmd, sizeof cmd,
             NO_NETWORK "UNPROMPT_MANIFEST='%s' ENGINE_RUN='%s/engine-run' FETCH_CONNECT_TIMEOUT=5 sh tools/fetch-weights '%s/w' %s "
             ">'%s' 2>&1",
             manifest, cli_build_dir(), dir, args, log);
    int st = system(cmd);
    if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
    r.out = cli_slurp(log);
    if (!r.out) r.out = calloc(1, 1);
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "%s", r.out);
    return r;
}

static int exists(const char *sub)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/w/%s", dir, sub);
    return stat(path, &st) == 0;
}

static void file_sha(const char *path, char hex[65])
{
    size_t len = 0;
    uint8_t *p = test_read_file(path, &len);
    hex[0] = 0;
    if (p) sha256_hex(p, len, hex);
    free(p);
}

/* A manifest of the fixtures: clip and deepdanbooru with their real
 * SHA-256, the rest '-' (recorded at first download). `clip_sha` replaces
 * the CLIP file's hash when not NULL. */
static void write_manifest(const char *path, const char *clip_sha)
{
    char clip[65], dd[65];
    file_sha("tests/fixtures/convert/clip_jit.pt", clip);
    file_sha("tests/fixtures/deepdanbooru/tiny.pt", dd);
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "# test manifest\n\n");
    fprintf(f, "clip         clip_jit.pt %s  http://127.0.0.1:9/unreachable.pt file://%s/convert/clip_jit.pt\n",
            clip_sha ? clip_sha : clip, fixtures);
    fprintf(f, "clip-vocab   bpe.txt.gz  -  file://%s/convert/clip_bpe.txt.gz\n", fixtures);
    fprintf(f, "blip         blip.pth    -  file://%s/convert/blip.pth\n", fixtures);
    fprintf(f, "blip-vocab   vocab.txt   -  file://%s/convert/blip_vocab.txt\n", fixtures);
    fprintf(f, "deepdanbooru tiny.pt     %s file://%s/deepdanbooru/tiny.pt\n", dd, fixtures);
    fprintf(f, "category     artists.txt -  file://%s/deepdanbooru/tags.txt\n", fixtures);
    fprintf(f, "category     mediums.txt -  file://%s/convert/blip_vocab.txt\n", fixtures);
    fclose(f);
}

static void test_downloads_checks_and_converts(void)
{
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/manifest", dir);
    write_manifest(manifest, NULL);
    run_result r = fetch(manifest, "");
    CHECK(r.status == 0);
    CHECK(exists("clip.safetensors") && exists("blip.safetensors") && exists("deepdanbooru.safetensors"));
    CHECK(exists("categories/artists.txt") && exists("categories/mediums.txt"));
    CHECK(strstr(r.out, "cannot reach http://127.0.0.1:9/unreachable.pt") != NULL); /* then the next URL */
    CHECK(strstr(r.out, "NOTE: blip.pth has no published SHA-256; recorded") != NULL);
    CHECK(exists("downloads/blip.pth.sha256") && !exists("downloads/clip_jit.pt.sha256"));
    free(r.out);

    /* the converted CLIP is what engine-run convert makes of the fixture */
    char out[1024], cmd[2048];
    snprintf(out, sizeof out, "%s/direct.safetensors", dir);
    snprintf(cmd, sizeof cmd, "convert tests/fixtures/convert/clip_jit.pt --vocab tests/fixtures/convert/clip_bpe.txt.gz -o %s", out);
    cli_result c = cli_run(cmd);
    CHECK(c.status == 0);
    cli_free(&c);
    size_t la = 0, lb = 0;
    snprintf(cmd, sizeof cmd, "%s/w/clip.safetensors", dir);
    uint8_t *a = test_read_file(out, &la), *b = test_read_file(cmd, &lb);
    CHECK(a && b && la == lb && !memcmp(a, b, la)); /* same source name and SHA-256: the same file */
    free(a), free(b);

    r = fetch(manifest, ""); /* again: nothing downloaded or converted */
    CHECK(r.status == 0 && strstr(r.out, "blip.pth: already downloaded, SHA-256 ok") &&
          strstr(r.out, "clip.safetensors: up to date") && !strstr(r.out, "converting"));
    free(r.out);
}

static void test_resumes_a_partial_download(void)
{
    char manifest[1024], part[1024];
    snprintf(manifest, sizeof manifest, "%s/manifest", dir);
    snprintf(part, sizeof part, "%s/w/downloads/tiny.pt", dir);
    size_t len = 0;
    uint8_t *pt = test_read_file("tests/fixtures/deepdanbooru/tiny.pt", &len);
    unlink(part);
    strcat(part, ".part");
    CHECK(pt && cli_write(part, pt, len / 3) == 0); /* an interrupted download */
    free(pt);
    run_result r = fetch(manifest, "deepdanbooru");
    CHECK(r.status == 0 && strstr(r.out, "tiny.pt: SHA-256 ok") && !exists("downloads/tiny.pt.part"));
    CHECK(!strstr(r.out, "converting") || strstr(r.out, "deepdanbooru.safetensors"));
    free(r.out);
}

static void test_checksum_mismatch_refused(void)
{
    char manifest[1024], path[1024];
    snprintf(manifest, sizeof manifest, "%s/manifest", dir);
    /* a recorded ('-') file changed since its first download */
    snprintf(path, sizeof path, "%s/w/downloads/vocab.txt", dir);
    FILE *f = fopen(path, "a");
    if (f) fputs("tampered\n", f), fclose(f);
    run_result r = fetch(manifest, "blip");
    CHECK(r.status == 4 && strstr(r.out, "SHA-256 mismatch for vocab.txt") && exists("downloads/vocab.txt.bad"));
    free(r.out);
    r = fetch(manifest, "blip"); /* the next run downloads it afresh */
    CHECK(r.status == 0 && strstr(r.out, "vocab.txt: SHA-256 ok"));
    free(r.out);

    /* a published hash the download does not have: nothing converted */
    snprintf(path, sizeof path, "%s/w/clip.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/w/downloads/clip_jit.pt", dir);
    unlink(path);
    write_manifest(manifest, "0000000000000000000000000000000000000000000000000000000000000000");
    r = fetch(manifest, "clip");
    CHECK(r.status == 4 && strstr(r.out, "SHA-256 mismatch for clip_jit.pt: expected 0000") &&
          !exists("clip.safetensors") && !exists("downloads/clip_jit.pt"));
    free(r.out);
}

static void test_offline_fails_fast(void)
{
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/offline", dir);
    FILE *f = fopen(manifest, "w");
    if (!f) return;
    fputs("clip x.pt - https://unprompt-test.invalid/x.pt http://127.0.0.1:9/x.pt\n", f);
    fputs("clip-vocab y.gz - https://unprompt-test.invalid/y.gz\n", f);
    fclose(f);
    run_result r = fetch(manifest, "");
    CHECK(r.status == 3);
    CHECK(strstr(r.out, "no network") && strstr(r.out, "needs the internet") && strstr(r.out, "downloads/"));
    /* Fast: one quick look per URL of the first file, no retries, and the
     * second file never tried. */
    size_t looks = 0;
    for (const char *p = r.out; (p = strstr(p, "cannot reach ")) != NULL; p++) looks++;
    CHECK(looks == 2);
    CHECK(!strstr(r.out, "Will retry") && !strstr(r.out, "downloading y.gz"));
    CHECK(strstr(r.out, "  y.gz: download (size not in the manifest)") != NULL); /* but in the plan */
    free(r.out);
}

static void test_bad_manifests_refused(void)
{
    static const struct {
        const char *line, *reason;
    } cases[] = {
        {"clip a.pt 1234 file:///x\n", ":1: SHA-256 must be 64 lowercase hex digits"},
        {"# c\n\nfoo a.pt - file:///x\n", ":3: unknown role 'foo'"},
        {"clip ../a.pt - file:///x\n", "bad file name '../a.pt'"},
        {"clip a.pt - ftp://host/a.pt\n", "bad URL 'ftp://host/a.pt'"},
        {"clip a.pt -\n", "expected ROLE FILE SHA256 URL"},
        {"clip a.pt - size=12x file:///x\n", "size= takes a number of bytes"},
    };
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/bad", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(manifest, "w");
        if (!f) return;
        fputs(cases[i].line, f);
        fclose(f);
        run_result r = fetch(manifest, "");
        CHECK(r.status == 2 && strstr(r.out, cases[i].reason));
        free(r.out);
    }
    run_result r = fetch(manifest, "bogus");
    CHECK(r.status == 2 && strstr(r.out, "unknown model 'bogus'"));
    free(r.out);
}

/* The shipped manifest: well-formed (checked with every download stubbed
 * out by an unreachable proxy) and complete. */
static void test_real_manifest(void)
{
    size_t len = 0;
    char *m = (char *)test_read_file("weights/manifest", &len);
    CHECK(m != NULL);
    if (!m) return;
    static const char *const need[] = {
        "\nclip ", "\nclip-vocab ", "\nblip ", "\nblip-vocab ", "\ndeepdanbooru ",
        "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
        "/BLIP/models/model_base_caption_capfilt_large.pth", "bert-base-uncased/resolve/main/vocab.txt",
        "TorchDeepDanbooru/releases/download/v1/model-resnet_custom_v3.pt", "bpe_simple_vocab_16e6.txt.gz",
        "clip_interrogator/data/artists.txt", "clip_interrogator/data/flavors.txt",
        "clip_interrogator/data/mediums.txt", "clip_interrogator/data/movements.txt"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (!strstr(m, need[i])) fprintf(stderr, "    weights/manifest lacks %s\n", need[i]);
        CHECK(strstr(m, need[i]) != NULL);
    }
    free(m);
    char cmd[4096], log[512];
    snprintf(log, sizeof log, "%s/real.log", dir);
    snprintf(cmd, sizeof cmd, NO_NETWORK "ENGINE_RUN='%s/engine-run' sh tools/fetch-weights '%s/real' categories >'%s' 2>&1; echo $? >>'%s'",
             cli_build_dir(), dir, log, log);
    char dest[1024];
    snprintf(dest, sizeof dest, "%s/real", dir);
    mkdir(dest, 0755);
    snprintf(dest, sizeof dest, "cp weights/manifest '%s/real/manifest'", dir);
    CHECK(system(dest) == 0);
    CHECK(system(cmd) == 0);
    char *out = cli_slurp(log);
    CHECK(out && strstr(out, "no network") && !strstr(out, "manifest:") && strstr(out, "\n3\n")); /* parsed, then offline */
    /* before anything starts: the files, the download size and the disk needed */
    const char *plan = out ? strstr(out, "fetch-weights: download: about ") : NULL;
    CHECK(plan && strstr(plan, "disk needed: about ") && plan < strstr(out, "no network"));
    CHECK(out && strstr(out, "  artists.txt: download about") && strstr(out, "  movements.txt: download about"));
    CHECK(out && !strstr(out, "ViT-L-14.pt")); /* only the files of the models asked for */
    free(out);
}

int main(void)
{
    dir = cli_tmpdir();
    char *cwd = getcwd(NULL, 0);
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures", cwd ? cwd : ".");
    free(cwd);
    RUN(test_downloads_checks_and_converts);
    RUN(test_resumes_a_partial_download);
    RUN(test_checksum_mismatch_refused);
    RUN(test_offline_fails_fast);
    RUN(test_bad_manifests_refused);
    RUN(test_real_manifest);
    cli_rmrf(dir);
    return test_summary("fetch_weights");
}
