/* engine-run as a Unix tool (issue 24): the option conventions (--opt=value,
 * --, bundled short flags, -o FILE, embed-text -, blank lines of
 * --from-list, one error prefix), the progress line on a terminal, --sidecar
 * skipping finished images, what scripts see of failures (JSON error
 * records, the summary line, one record shape for `all`, named webui-api
 * requests), the mistakes caught before any work, and where the weights are
 * looked for.
 *
 * The expected values come from the test's own set-up (how many images it
 * made, what it wrote into sidecars, the SHA-256 it computes of a model),
 * never from an earlier run of the program. */
#define _GNU_SOURCE /* posix_openpt & co. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/sha256.h"
#include "engine/api/unprompt.h"
#include "format/json.h"
#include "tests/test.h"
#include "tests/cli.h"

#define IMG "tests/fixtures/deepdanbooru/"

static char *tmp;
static char weights[600], images[600], engine[PATH_MAX + 64], root[PATH_MAX];
#define N_IMAGES 5

/* ---- running the CLI ----------------------------------------------------------- */

/* `sh -c CMD` from the source tree, where $E is engine-run (absolute) and
 * $T the test's folder; stdout and stderr captured. */
static cli_result sh(const char *fmt, ...)
{
    static int counter;
    char cmd[16384], body[6000], out[700], err[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(out, sizeof out, "%s/sh-%d.out", tmp, counter);
    snprintf(err, sizeof err, "%s/sh-%d.err", tmp, counter++);
    snprintf(cmd, sizeof cmd, "E='%s'; T='%s'; export E T; cd '%s' && ( %s ) >'%s' 2>'%s' </dev/null", engine, tmp,
             root, body, out, err);
    cli_result r = {-1, NULL, NULL};
    int st = system(cmd);
    if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
    r.out = cli_slurp(out);
    r.err = cli_slurp(err);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    unlink(out), unlink(err);
    return r;
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *data = test_read_file(from, &len);
    CHECK(data && cli_write(to, data, len) == 0);
    free(data);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static size_t count_str(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void write_text(const char *path, const char *text) { CHECK(cli_write(path, text, strlen(text)) == 0); }

static void test_setup(void)
{
    tmp = cli_tmpdir();
    CHECK(tmp && getcwd(root, sizeof root));
    if (!tmp) return;
    char build[PATH_MAX];
    const char *runner = getenv("UNPROMPT_RUNNER");
    if (!realpath(cli_build_dir(), build)) snprintf(build, sizeof build, "%s", cli_build_dir());
    snprintf(engine, sizeof engine, "%s%s%s/engine-run", runner ? runner : "", runner ? " " : "", build);
    snprintf(weights, sizeof weights, "%s/weights", tmp);
    snprintf(images, sizeof images, "%s/images", tmp);
    CHECK(mkdir(weights, 0777) == 0 && mkdir(images, 0777) == 0);
    char path[800], err[256], abs[PATH_MAX];
    snprintf(path, sizeof path, "%s/deepdanbooru.safetensors", weights);
    CHECK(unprompt_convert(IMG "tiny.pt", path, NULL, err, sizeof err) == UNPROMPT_OK);
    unprompt_convert_params p = unprompt_convert_default_params();
    p.vocab_path = "tests/fixtures/clip/merges.txt";
    p.config_path = "tests/fixtures/clip/heads.json";
    snprintf(path, sizeof path, "%s/clip.safetensors", weights);
    CHECK(unprompt_convert("tests/fixtures/clip/tiny.pt", path, &p, err, sizeof err) == UNPROMPT_OK);
    snprintf(path, sizeof path, "%s/blip.safetensors", weights);
    CHECK(realpath("tests/fixtures/blip/tiny_blip.safetensors", abs) && symlink(abs, path) == 0);
    snprintf(path, sizeof path, "%s/categories", weights);
    CHECK(mkdir(path, 0777) == 0);
    snprintf(path, sizeof path, "%s/categories/colors.txt", weights);
    write_text(path, "red\nblue\ngreen\n");
    snprintf(path, sizeof path, "%s/categories/things.txt", weights);
    write_text(path, "a cat\na dog\na house\n");
    static const char *const src[] = {"rgb_37x53", "rgba_300x80", "grey_1x20", "pal_64x48"};
    for (int i = 0; i < N_IMAGES; i++) {
        char from[256];
        snprintf(from, sizeof from, IMG "%s.png", src[i % 4]);
        snprintf(path, sizeof path, "%s/img_%d.png", images, i);
        copy_file(from, path);
    }
}

/* ---- item 5: conventions ------------------------------------------------------ */

static void test_version_and_equals(void)
{
    cli_result r = sh("$E --version");
    unsigned a, b, c;
    CHECK(r.status == 0 && sscanf(r.out, "engine-run (unprompt) %u.%u.%u\n", &a, &b, &c) == 3);
    cli_free(&r);
    /* --opt=value and --opt value are the same option */
    cli_result spaced = sh("$E booru --weights %s --threshold 0 --sort score --json %s/img_0.png", weights, images);
    cli_result equals = sh("$E booru --weights=%s --threshold=0 --sort=score --json %s/img_0.png", weights, images);
    cli_result dflt = sh("$E booru --weights=%s --json %s/img_0.png", weights, images);
    CHECK(spaced.status == 0 && equals.status == 0 && spaced.out[0]);
    CHECK_STR(equals.out, spaced.out);
    CHECK(strcmp(dflt.out, spaced.out) != 0); /* the values were applied: threshold 0 lists more tags */
    cli_free(&spaced), cli_free(&equals), cli_free(&dflt);
    r = sh("$E booru --json=yes %s/img_0.png", images);
    CHECK(r.status == 2 && strstr(r.err, "--json takes no value") != NULL);
    cli_free(&r);
}

static void test_double_dash_and_bundles(void)
{
    char path[800];
    snprintf(path, sizeof path, "%s/-weird.png", tmp);
    copy_file("examples/sample.png", path);
    cli_result r = sh("cd $T && $E info -- -weird.png");
    CHECK(r.status == 0 && strstr(r.out, "lighthouse") != NULL);
    cli_free(&r);
    r = sh("cd $T && $E info -weird.png");
    CHECK(r.status == 2 && r.out[0] == 0);
    cli_free(&r);
    /* -rq: recursive and quiet (no summary line though there are two files) */
    snprintf(path, sizeof path, "%s/tree", tmp);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/tree/sub", tmp);
    mkdir(path, 0777);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/tree/sub/s%d.png", tmp, i);
        copy_file("examples/sample.png", path);
    }
    r = sh("$E info -rq $T/tree");
    CHECK(r.status == 0 && count_str(r.out, "Steps: 28,") == 2 && r.err[0] == 0);
    cli_free(&r);
    r = sh("$E info -r $T/tree");
    CHECK(r.status == 0 && strstr(r.err, "engine-run info: 2 done, 0 failed, 0 skipped\n") != NULL);
    cli_free(&r);
    r = sh("$E info -rx $T/tree");
    CHECK(r.status == 2 && strstr(r.err, "unknown option '-x'") != NULL);
    cli_free(&r);
}

/* Entries of a folder other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void test_output_file(void)
{
    char dir[700], out[800];
    snprintf(dir, sizeof dir, "%s/outdir", tmp);
    mkdir(dir, 0777);
    snprintf(out, sizeof out, "%s/results.jsonl", dir);
    cli_result r = sh("$E info --json -o %s examples/sample.png examples/sample.png", out);
    char *text = cli_slurp(out);
    CHECK(r.status == 0 && r.out[0] == 0 && text && count_lines(text) == 2 &&
          count_str(text, "{\"file\": \"examples/sample.png\"") == 2);
    CHECK(dir_entries(dir) == 1); /* no temporary left beside it */
    free(text), cli_free(&r);
    r = sh("$E booru --weights %s -o%s %s/img_1.png", weights, out, images); /* -oFILE, replaces */
    text = cli_slurp(out);
    CHECK(r.status == 0 && r.out[0] == 0 && text && count_lines(text) == 1 && !strstr(text, "lighthouse"));
    free(text), cli_free(&r);
    /* an input is never the output */
    char victim[800];
    snprintf(victim, sizeof victim, "%s/victim.png", dir);
    copy_file("examples/sample.png", victim);
    r = sh("$E info -o %s %s", victim, victim);
    size_t before = 0, after = 0;
    unsigned char *orig = test_read_file("examples/sample.png", &before), *now = test_read_file(victim, &after);
    CHECK(r.status == 2 && strstr(r.err, "one of the inputs") != NULL);
    CHECK(orig && now && before == after && !memcmp(orig, now, before));
    free(orig), free(now), cli_free(&r);
    r = sh("$E info -o %s --sidecar examples/sample.png", out);
    CHECK(r.status == 2 && strstr(r.err, "give one") != NULL);
    cli_free(&r);
}

static void test_stdin_texts_and_lists(void)
{
    cli_result args = sh("$E embed-text --weights %s 'a red cat' 'blue dog'", weights);
    cli_result in = sh("printf 'a red cat\\n\\n   \\nblue dog\\n' | $E embed-text --weights %s -", weights);
    CHECK(args.status == 0 && count_lines(args.out) == 2 && strstr(args.out, "\"text\": \"a red cat\"") != NULL);
    CHECK_STR(in.out, args.out);
    CHECK(in.status == 0);
    cli_free(&args), cli_free(&in);
    char list[700];
    snprintf(list, sizeof list, "%s/list.txt", tmp);
    write_text(list, "\n   \nexamples/sample.png\n\t\r\n\n");
    cli_result r = sh("$E info --from-list %s", list);
    CHECK(r.status == 0 && strstr(r.out, "lighthouse") != NULL && r.err[0] == 0);
    cli_free(&r);
}

static void test_error_prefix(void)
{
    cli_result r = sh("$E info /nonexistent/x.png");
    CHECK(r.status == 1);
    CHECK_STR(r.err, "engine-run info: /nonexistent/x.png: No such file or directory\n");
    cli_free(&r);
    char bad[700];
    snprintf(bad, sizeof bad, "%s/garbage.pt", tmp);
    write_text(bad, "not a checkpoint at all");
    r = sh("$E convert %s -o $T/garbage.safetensors", bad);
    char want[800];
    snprintf(want, sizeof want, "engine-run convert: %s: ", bad);
    CHECK(r.status != 0 && !strncmp(r.err, want, strlen(want)) && strstr(r.err, "convert: convert") == NULL);
    cli_free(&r);
    r = sh("$E booru --weights %s --bogus x.png", weights);
    CHECK(r.status == 2 && !strncmp(r.err, "engine-run booru: unknown option '--bogus'", 42));
    cli_free(&r);
}

/* ---- item 2: the progress line -------------------------------------------------- */

/* Run CMD with stdout and stderr on a pseudo-terminal; returns what the
 * terminal received (malloc'd) or NULL when no pty can be had. */
static char *run_on_pty(const char *cmd)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) return NULL;
    const char *name = ptsname(m);
    if (!name) return NULL;
    char slave[256];
    snprintf(slave, sizeof slave, "%s", name);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int s = open(slave, O_RDWR);
        if (s < 0) _exit(127);
        dup2(s, 1), dup2(s, 2);
        if (chdir(root)) _exit(127);
        setenv("E", engine, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    buf b;
    buf_init(&b, 1 << 22);
    char chunk[4096];
    for (;;) {
        ssize_t n = read(m, chunk, sizeof chunk);
        if (n <= 0) break; /* EIO once the child's side is closed */
        if (buf_append(&b, chunk, (size_t)n, NULL)) break;
    }
    waitpid(pid, NULL, 0);
    close(m);
    return buf_take(&b);
}

/* What a terminal shows at the end: CR returns to the line's start, ESC [ K
 * erases to its end, LF (ONLCR gives CR LF) moves down. */
static char *screen(const char *raw)
{
    char *out = calloc(strlen(raw) + 2, 1);
    size_t line_start = 0, col = 0, len = 0;
    for (const char *p = raw; out && *p; p++) {
        if (*p == '\r') col = 0;
        else if (*p == '\n') out[len++] = '\n', line_start = len, col = 0, out[len] = 0; /* the line stays */
        else if (p[0] == '\033' && p[1] == '[' && p[2] == 'K') out[len = line_start + col] = 0, p += 2;
        else {
            out[line_start + col] = *p;
            col++;
            if (line_start + col > len) len = line_start + col, out[len] = 0;
        }
    }
    return out;
}

static void test_progress_on_a_terminal(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "$E booru --weights %s --threads 1 %s", weights, images);
    char *raw = run_on_pty(cmd);
    if (!raw) {
        TEST_SKIP_PART("progress", "no pseudo-terminal");
        return;
    }
    char *s = screen(raw);
    CHECK(s && strstr(raw, "images/s") != NULL);  /* the line was shown, */
    CHECK(s && strstr(s, "images/s") == NULL);    /* and nothing of it is left */
    CHECK(s && strstr(raw, "\r\033[K") != NULL);
    /* every result on a line of its own, starting with its file */
    size_t results = 0;
    for (char *l = s ? strtok(s, "\n") : NULL; l; l = strtok(NULL, "\n"))
        if (strstr(l, "img_")) {
            results++;
            CHECK(!strncmp(l, images, strlen(images)));
        }
    CHECK(results == N_IMAGES);
    char want[128];
    snprintf(want, sizeof want, "engine-run booru: %d done, 0 failed, 0 skipped", N_IMAGES);
    CHECK(count_str(raw, want) == 1); /* the final line once */
    free(s), free(raw);
}

/* ---- item 3: --sidecar skips finished images ---------------------------------------- */

static void test_sidecar_skips(void)
{
    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/side", tmp);
    mkdir(dir, 0777);
    for (int i = 0; i < 4; i++) {
        /* undecodable: computing any of them would fail the run */
        snprintf(path, sizeof path, "%s/bad_%d.png", dir, i);
        write_text(path, "not an image");
        snprintf(path, sizeof path, "%s/bad_%d.txt", dir, i);
        write_text(path, "KEEP\n");
    }
    cli_result r = sh("$E booru --weights %s --sidecar %s", weights, dir);
    CHECK(r.status == 0);
    CHECK(strstr(r.err, "4 images already done") != NULL);
    CHECK(strstr(r.err, "engine-run booru: 0 done, 0 failed, 4 skipped\n") != NULL);
    cli_free(&r);
    char *t = cli_slurp(path);
    CHECK(t && !strcmp(t, "KEEP\n"));
    free(t);
    r = sh("$E booru --weights %s --sidecar --overwrite %s", weights, dir); /* computed: each fails */
    CHECK(r.status == 1 && strstr(r.err, "0 done, 4 failed, 0 skipped") != NULL);
    cli_free(&r);
    r = sh("$E booru --weights %s --sidecar --overwrite --resume %s", weights, dir);
    CHECK(r.status == 2);
    cli_free(&r);
}

/* ---- item 4: what scripts see ------------------------------------------------------ */

static json_value *parse_line(const char *line, size_t len)
{
    fmt_error e;
    return json_parse(line, len, NULL, &e);
}

static void test_json_errors_and_summary(void)
{
    char bad[700];
    snprintf(bad, sizeof bad, "%s/broken.png", tmp);
    write_text(bad, "not an image");
    cli_result r = sh("$E booru --weights %s --json %s/img_0.png %s /nonexistent/gone.png", weights, images, bad);
    CHECK(r.status == 1 && count_lines(r.out) == 3);
    int errors = 0, results = 0;
    for (char *l = strtok(r.out, "\n"); l; l = strtok(NULL, "\n")) {
        json_value *v = parse_line(l, strlen(l));
        CHECK(v && json_str(json_get(v, "file")));
        if (json_get(v, "error")) {
            errors++;
            CHECK(json_str(json_get(v, "error"))[0] != 0);
        } else {
            results++;
            CHECK(json_get(v, "tags") != NULL);
        }
        json_free(v);
    }
    CHECK(errors == 2 && results == 1);
    CHECK(strstr(r.err, "engine-run booru: 1 done, 2 failed, 0 skipped\n") != NULL);
    cli_free(&r);
    r = sh("$E booru --weights %s %s/img_0.png", weights, images); /* one file: no summary */
    CHECK(r.status == 0 && r.err[0] == 0);
    cli_free(&r);
    r = sh("$E info --format webui-api examples/sample.png examples/sample.png");
    CHECK(r.status == 0 && count_lines(r.out) == 2);
    for (char *l = strtok(r.out, "\n"); l; l = strtok(NULL, "\n")) {
        json_value *v = parse_line(l, strlen(l));
        CHECK(v && json_str(json_get(v, "file")) && !strcmp(json_str(json_get(v, "file")), "examples/sample.png"));
        CHECK(v && json_get(json_get(v, "request"), "prompt") != NULL);
        json_free(v);
    }
    cli_free(&r);
    r = sh("$E info --format webui-api examples/sample.png"); /* one file: the bare request body */
    json_value *v = parse_line(r.out, strlen(r.out));
    CHECK(v && json_get(v, "prompt") && !json_get(v, "file"));
    json_free(v), cli_free(&r);
}

static int same_keys(const json_value *a, const json_value *b)
{
    if (!a || !b || a->type != JSON_OBJECT || b->type != JSON_OBJECT || a->count != b->count) return 0;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->keys[i], b->keys[i])) return 0;
    return 1;
}

static void test_all_one_shape(void)
{
    cli_result r = sh("$E all --weights %s --max-length 12 --min-length 4 --prefer-metadata --json "
                      "examples/sample.png %s/img_0.png", weights, images);
    CHECK(r.status == 0 && count_lines(r.out) == 2);
    char *second = strchr(r.out, '\n');
    json_value *meta = parse_line(r.out, second ? (size_t)(second - r.out) : 0);
    json_value *model = second ? parse_line(second + 1, strlen(second + 1)) : NULL;
    CHECK(same_keys(meta, model));
    CHECK(meta && json_str(json_get(meta, "source")) && !strcmp(json_str(json_get(meta, "source")), "metadata"));
    CHECK(model && json_str(json_get(model, "source")) && !strcmp(json_str(json_get(model, "source")), "models"));
    CHECK(meta && json_get(meta, "clip") && json_get(meta, "clip")->type == JSON_NULL);
    CHECK(model && json_get(model, "clip") && json_get(model, "clip")->type == JSON_OBJECT);
    json_free(meta), json_free(model), cli_free(&r);
}

/* ---- item 7: mistakes caught up front ------------------------------------------------ */

static void test_up_front_checks(void)
{
    cli_result r = sh("$E caption --weights %s --min-length 30 --max-length 20 %s/img_0.png", weights, images);
    CHECK(r.status == 2 && strstr(r.err, "--max-length 20 is below --min-length 30") != NULL && r.out[0] == 0);
    cli_free(&r);
    r = sh("$E clip --weights %s --skip-categories colors,colours %s/img_0.png", weights, images);
    CHECK(r.status == 2 && strstr(r.err, "'colours' matches no list") != NULL && r.out[0] == 0);
    cli_free(&r);
    r = sh("$E clip --weights %s --skip-categories ' colors' --max-length 12 --min-length 4 --json %s/img_0.png",
           weights, images);
    CHECK(r.status == 0 && strstr(r.out, "\"things\"") != NULL && strstr(r.out, "\"colors\"") == NULL);
    cli_free(&r);
    r = sh("$E info --overwrite examples/sample.png");
    CHECK(r.status == 2 && strstr(r.err, "--overwrite") != NULL && strstr(r.err, "--sidecar") != NULL);
    cli_free(&r);
    /* the tiny BLIP has far fewer positions than the 512 the option allows */
    r = sh("$E caption --weights %s --max-length 500 %s/img_0.png", weights, images);
    CHECK(r.status == 2 && strstr(r.err, "--max-length 500 is beyond the BLIP model's") != NULL && r.out[0] == 0);
    cli_free(&r);
    /* CLIP text cut at 77 tokens: said; 80 one-letter words are 80 tokens + 2 */
    char text[400] = "";
    for (int i = 0; i < 80; i++) strcat(text, i ? " a" : "a");
    r = sh("$E embed-text --weights %s '%s'", weights, text);
    CHECK(r.status == 0 && strstr(r.err, "82 tokens") != NULL && strstr(r.err, "first 77") != NULL);
    cli_free(&r);
    r = sh("$E embed-text --weights %s 'a short one'", weights);
    CHECK(r.status == 0 && r.err[0] == 0);
    cli_free(&r);
}

static void test_model_mistakes(void)
{
    char pt[700];
    snprintf(pt, sizeof pt, "%s/model.pth", tmp);
    copy_file(IMG "tiny.pt", pt);
    cli_result r = sh("$E booru --booru-model %s %s/img_0.png", pt, images);
    char want[800];
    snprintf(want, sizeof want, "engine-run convert %s -o %s/model.safetensors", pt, tmp);
    CHECK(r.status == 2 && strstr(r.err, "needs converting") != NULL && strstr(r.err, want) != NULL);
    cli_free(&r);
    /* a checkpoint named .safetensors: the suggestion is another name */
    snprintf(pt, sizeof pt, "%s/ckpt.safetensors", tmp);
    copy_file(IMG "tiny.pt", pt);
    r = sh("$E booru --booru-model %s %s/img_0.png", pt, images);
    snprintf(want, sizeof want, "-o %s/ckpt-converted.safetensors", tmp);
    CHECK(r.status == 2 && strstr(r.err, want) != NULL);
    cli_free(&r);
    /* one model's file given as another's: both named */
    r = sh("$E booru --booru-model %s/clip.safetensors %s/img_0.png", weights, images);
    CHECK(r.status == 2 && strstr(r.err, "CLIP") != NULL && strstr(r.err, "DeepDanbooru") != NULL);
    cli_free(&r);
    r = sh("$E caption --weights %s --blip-model %s/deepdanbooru.safetensors %s/img_0.png", weights, weights, images);
    CHECK(r.status == 2 && strstr(r.err, "DeepDanbooru") != NULL && strstr(r.err, "BLIP") != NULL);
    cli_free(&r);
}

/* ---- item 8: where the weights are found -------------------------------------------- */

static void sha256_file(const char *path, char hex[65])
{
    size_t len = 0;
    unsigned char *data = test_read_file(path, &len);
    hex[0] = 0;
    if (data) sha256_hex(data, len, hex);
    free(data);
}

static void test_weights_lookup(void)
{
    char xdg[700], empty[700], path[800], cwd[700], hex[65];
    snprintf(xdg, sizeof xdg, "%s/xdg", tmp);
    snprintf(empty, sizeof empty, "%s/emptyweights", tmp);
    snprintf(cwd, sizeof cwd, "%s/cwd", tmp);
    CHECK(mkdir(xdg, 0777) == 0 && mkdir(empty, 0777) == 0 && mkdir(cwd, 0777) == 0);
    snprintf(path, sizeof path, "%s/unprompt", xdg);
    CHECK(mkdir(path, 0777) == 0);
    snprintf(path, sizeof path, "%s/unprompt/deepdanbooru.safetensors", xdg);
    char from[800];
    snprintf(from, sizeof from, "%s/deepdanbooru.safetensors", weights);
    copy_file(from, path);
    sha256_file(path, hex);
    /* $UNPROMPT_WEIGHTS has no model, ./weights none: $XDG_DATA_HOME/unprompt's is used */
    const char *env = "UNPROMPT_WEIGHTS=$T/emptyweights XDG_DATA_HOME=$T/xdg HOME=/nonexistent";
    cli_result r = sh("cd $T/cwd && %s $E booru %s/img_0.png", env, images);
    CHECK(r.status == 0 && r.out[0] != 0);
    cli_free(&r);
    r = sh("cd $T/cwd && %s $E weights", env);
    const char *u = strstr(r.out, "emptyweights"), *w = strstr(r.out, "./weights"), *x = strstr(r.out, "/xdg/unprompt");
    CHECK(r.status == 1 && u && w && x && u < w && w < x); /* the order looked in; clip is missing */
    char want[900];
    snprintf(want, sizeof want, "deepdanbooru.safetensors: %s\n", path);
    CHECK(strstr(r.out, want) != NULL && strstr(r.out, "model DeepDanbooru") != NULL);
    CHECK(hex[0] && strstr(r.out, hex) != NULL);
    CHECK(strstr(r.out, "clip.safetensors: not found") != NULL);
    cli_free(&r);
    /* with HOME only: ~/.local/share/unprompt */
    r = sh("cd $T/cwd && mkdir -p home/.local/share && ln -s $T/xdg/unprompt home/.local/share/unprompt && "
           "unset UNPROMPT_WEIGHTS XDG_DATA_HOME; HOME=$T/cwd/home $E booru %s/img_0.png", images);
    CHECK(r.status == 0 && r.out[0] != 0);
    cli_free(&r);
    /* --weights: only there */
    r = sh("cd $T/cwd && XDG_DATA_HOME=$T/xdg $E booru --weights $T/emptyweights %s/img_0.png", images);
    CHECK(r.status == 2 && strstr(r.err, "emptyweights/deepdanbooru.safetensors") != NULL);
    cli_free(&r);
}

static void test_install_prefix_and_convert_report(void)
{
    char bin[700], share[700];
    snprintf(bin, sizeof bin, "%s/prefix/bin", tmp);
    snprintf(share, sizeof share, "%s/prefix/share/unprompt", tmp);
    cli_result r = sh("mkdir -p %s %s && cp %s/engine-run %s/ && cp %s/deepdanbooru.safetensors %s/", bin, share,
                      cli_build_dir(), bin, weights, share);
    CHECK(r.status == 0);
    cli_free(&r);
    if (getenv("UNPROMPT_RUNNER")) return; /* the copy runs under the runner: not this test's concern */
    r = sh("cd $T/cwd && unset UNPROMPT_WEIGHTS XDG_DATA_HOME; HOME=/nonexistent %s/engine-run booru %s/img_0.png",
           bin, images);
    CHECK(r.status == 0 && r.out[0] != 0);
    cli_free(&r);
    r = sh("$E convert " IMG "tiny.pt -o $T/reconverted.safetensors");
    CHECK(r.status == 0 && strstr(r.out, "recognised: " IMG "tiny.pt: a DeepDanbooru model") != NULL);
    CHECK(strstr(r.out, "wrote: ") && strstr(r.out, "reconverted.safetensors: kind deepdanbooru, dtype f32"));
    cli_free(&r);
}

int main(void)
{
    RUN(test_setup);
    RUN(test_version_and_equals);
    RUN(test_double_dash_and_bundles);
    RUN(test_output_file);
    RUN(test_stdin_texts_and_lists);
    RUN(test_error_prefix);
    RUN(test_progress_on_a_terminal);
    RUN(test_sidecar_skips);
    RUN(test_json_errors_and_summary);
    RUN(test_all_one_shape);
    RUN(test_up_front_checks);
    RUN(test_model_mistakes);
    RUN(test_weights_lookup);
    RUN(test_install_prefix_and_convert_report);
    if (tmp) cli_rmrf(tmp);
    return test_summary("cli_run");
}
