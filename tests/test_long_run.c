/* The memory of a long dataset run: `engine-run all` (tiny CLIP, BLIP and
 * DeepDanbooru models, small category lists written here) over 1000 images
 * must peak where a run over 100 images peaks. A buffer kept per image or
 * per group would grow the peak with the count; the allocator's noise from
 * run to run is well under the bound. Runs twice, with one worker and with
 * two (each its own models and groups), --batch 8 and the read-ahead. */
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tests/test.h"
#include "tests/cli.h"

extern char **environ;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LONG_RUN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LONG_RUN_SANITIZED 1
#endif

#ifdef LONG_RUN_SANITIZED
/* Under ASan the runs are there for its checks over many images, ~10×
 * slower: fewer of them, and the peaks are not compared. Its allocator,
 * even with the quarantine off, settles only after ~200 images (2 workers:
 * 51.9 MB at 20, 54.3 at 200, 54.9 at 800), so the comparison would
 * measure ASan's warm-up rather than ours. */
#define FEW 20
#define MANY 200
#define COMPARE_PEAKS 0
#else
#define COMPARE_PEAKS 1
#define FEW 100
#define MANY 1000
#endif
/* Peak RSS may differ by this much between the two runs. Leaking one
 * decoded 37×53 test image per image would add 5 MB over the 900 more.
 * The peak depends on timing (which of the pipeline's buffers, images
 * read ahead and pre-processed tensors of up to ~3 MB, are alive at the
 * same moment): one run over 100 images may never meet the worst moment,
 * while a run over 1000 almost always does. So the short run is taken FEW_RUNS times and its highest peak
 * compared. Measured with one worker (Winograd DeepDanbooru, 2 threads):
 * single 100-image runs peaked at 19.1 or at 20.6–20.8 MB, 1000-image runs
 * at 20.7–21.0 MB, 3000 at 21.0 MB; it settles, it does not grow. */
#define RSS_SLACK_KB 1536
#define FEW_RUNS 3

static char *tmp;
static char weights[600], cats[700], few[600], many[600];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* n links to one small PNG in a new folder. */
static void link_folder(const char *dir, int n)
{
    char image[1024], path[800];
    CHECK(mkdir(dir, 0777) == 0 && realpath("tests/fixtures/deepdanbooru/rgb_37x53.png", image));
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/img_%04d.png", dir, i);
        CHECK(symlink(image, path) == 0);
    }
}

static void test_setup(void)
{
#ifdef LONG_RUN_SANITIZED
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
#endif
    tmp = cli_tmpdir();
    CHECK(tmp != NULL);
    if (!tmp) return;
    snprintf(weights, sizeof weights, "%s/weights", tmp);
    snprintf(cats, sizeof cats, "%s/categories", weights);
    CHECK(mkdir(weights, 0777) == 0 && mkdir(cats, 0777) == 0);
    char path[800], err[256], blip[1024];
    unprompt_convert_params p = unprompt_convert_default_params();
    p.vocab_path = "tests/fixtures/clip/merges.txt";
    p.config_path = "tests/fixtures/clip/heads.json";
    snprintf(path, sizeof path, "%s/clip.safetensors", weights);
    CHECK(unprompt_convert("tests/fixtures/clip/tiny.pt", path, &p, err, sizeof err) == UNPROMPT_OK);
    snprintf(path, sizeof path, "%s/deepdanbooru.safetensors", weights);
    CHECK(unprompt_convert("tests/fixtures/deepdanbooru/tiny.pt", path, NULL, err, sizeof err) == UNPROMPT_OK);
    snprintf(path, sizeof path, "%s/blip.safetensors", weights);
    CHECK(realpath("tests/fixtures/blip/tiny_blip.safetensors", blip) && symlink(blip, path) == 0);
    static const char *const lists[][2] = {{"artists.txt", "Alice Example\nBob Sample\nCarol Test\n"},
                                           {"flavors.top3.txt", "highly detailed\nsoft light\ntrending\nmoody\n"},
                                           {"mediums.txt", "oil painting\nphotograph\npencil sketch\n"},
                                           {"movements.txt", "impressionism\ncubism\nart nouveau\n"}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", cats, lists[i][0]);
        write_text(path, lists[i][1]);
    }
    snprintf(few, sizeof few, "%s/few", tmp);
    snprintf(many, sizeof many, "%s/many", tmp);
    link_folder(few, FEW);
    link_folder(many, MANY);
}

/* engine-run all over dir: its exit status, output lines and peak RSS (KB). */
static int run_all(const char *dir, const char *workers, long *lines, long *rss_kb)
{
    char exe[600], out[700];
    snprintf(exe, sizeof exe, "%s/engine-run", cli_build_dir());
    snprintf(out, sizeof out, "%s/out.jsonl", tmp);
    char *argv[] = {exe, "all", "-q", "--jsonl", "--batch", "8", "--workers", (char *)workers, "--threads", "2",
                    "--min-length", "6", "--max-length", "10", "--weights", weights, (char *)dir, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int st = -1;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (posix_spawn(&pid, exe, &fa, NULL, argv, environ) == 0 && wait4(pid, &st, 0, &ru) == pid)
        st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    posix_spawn_file_actions_destroy(&fa);
    *rss_kb = ru.ru_maxrss;
    *lines = 0;
    char *text = cli_slurp(out);
    for (const char *p = text ? text : ""; (p = strchr(p, '\n')); p++) ++*lines;
    free(text);
    return st;
}

static void check_flat(const char *workers)
{
    long lines_few = 0, lines_many = 0, rss_few = 0, rss_many = 0, rss;
    for (int i = 0; i < FEW_RUNS; i++) {
        CHECK(run_all(few, workers, &lines_few, &rss) == 0 && lines_few == FEW);
        rss_few = rss > rss_few ? rss : rss_few;
    }
    CHECK(run_all(many, workers, &lines_many, &rss_many) == 0 && lines_many == MANY);
    fprintf(stderr, "  long_run: --workers %s, peak RSS %ld KB over %d images (highest of %d runs), %ld KB over %d\n",
            workers, rss_few, FEW, FEW_RUNS, rss_many, MANY);
    CHECK(rss_few > 0 && (!COMPARE_PEAKS || rss_many - rss_few <= RSS_SLACK_KB));
}

static void test_flat_one_worker(void) { check_flat("1"); }
static void test_flat_two_workers(void) { check_flat("2"); }

int main(void)
{
    RUN(test_setup);
    RUN(test_flat_one_worker);
    RUN(test_flat_two_workers);
    if (tmp) cli_rmrf(tmp);
    return test_summary("long_run");
}
