/* Batch runs of engine-run over a folder (the tiny DeepDanbooru model keeps
 * them fast): shards are disjoint and cover the set, also when run
 * concurrently; --resume completes an interrupted run; SIGINT finishes the
 * image in hand and exits 130; after kill -9 no sidecar is half-written and
 * --resume completes the set. */
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tests/test.h"
#include "tests/cli.h"
#include "tools/engine-run/batch.h"

#define N_IMAGES 24
#define N_MANY 200

static char *tmp;
static char weights[600], images[600], many[600];
static char *expected[N_IMAGES]; /* sidecar text of image i */

static void test_shard_hash(void)
{
    for (unsigned n = 1; n <= 7; n++) {
        unsigned counts[7] = {0}, bad = 0;
        for (int i = 0; i < 1000; i++) {
            char path[64];
            snprintf(path, sizeof path, "dataset/part%d/img_%05d.png", i % 3, i);
            unsigned owners = 0;
            for (unsigned k = 1; k <= n; k++)
                if (batch_in_shard(path, k, n)) owners++, counts[k - 1]++;
            bad += owners != 1;
        }
        CHECK(bad == 0); /* each path in exactly one shard */
        for (unsigned k = 0; k < n; k++) CHECK(counts[k] > 700 / n && counts[k] < 1300 / n);
    }
    CHECK(batch_in_shard("x", 1, 0)); /* no sharding: everything */
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *data = test_read_file(from, &len);
    FILE *f = fopen(to, "wb");
    if (data && f) fwrite(data, 1, len, f);
    if (f) fclose(f);
    free(data);
}

static void make_folder(const char *dir, int n)
{
    static const char *const src[] = {"rgb_37x53", "rgba_300x80", "grey_1x20", "pal_64x48"};
    mkdir(dir, 0777);
    for (int i = 0; i < n; i++) {
        char from[256], to[700];
        snprintf(from, sizeof from, "tests/fixtures/deepdanbooru/%s.png", src[i % 4]);
        snprintf(to, sizeof to, "%s/img_%03d.png", dir, i);
        copy_file(from, to);
    }
}

static void test_setup(void)
{
    tmp = cli_tmpdir();
    CHECK(tmp != NULL);
    if (!tmp) return;
    snprintf(weights, sizeof weights, "%s/weights", tmp);
    snprintf(images, sizeof images, "%s/images", tmp);
    snprintf(many, sizeof many, "%s/many", tmp);
    mkdir(weights, 0777);
    char model[700], err[256];
    snprintf(model, sizeof model, "%s/deepdanbooru.safetensors", weights);
    CHECK(unprompt_convert("tests/fixtures/deepdanbooru/tiny.pt", model, NULL, err, sizeof err) == UNPROMPT_OK);
    make_folder(images, N_IMAGES);
    make_folder(many, N_MANY);
    char args[2048];
    snprintf(args, sizeof args, "booru --weights %s --sidecar -r %s", weights, images);
    cli_result r = cli_run(args);
    CHECK(r.status == 0);
    cli_free(&r);
    for (int i = 0; i < N_IMAGES; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/img_%03d.txt", images, i);
        expected[i] = (char *)test_read_file(path, NULL);
        CHECK(expected[i] && expected[i][0]);
    }
}

/* Lines of a file, sorted, for set comparisons. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static size_t sorted_lines(char *text, char **lines, size_t cap)
{
    size_t n = 0;
    for (char *l = text ? strtok(text, "\n") : NULL; l && n < cap; l = strtok(NULL, "\n")) lines[n++] = l;
    qsort(lines, n, sizeof *lines, cmp_str);
    return n;
}

static void test_concurrent_shards(void)
{
    char args[4096];
    snprintf(args, sizeof args, "booru --weights %s --json -r %s", weights, images);
    cli_result whole = cli_run(args);
    CHECK(whole.status == 0);
    /* three shards at once, as three machines or a job array would run them */
    char outs[3][700], cmd[6000];
    int n = 0;
    for (int k = 0; k < 3; k++) snprintf(outs[k], sizeof outs[k], "%s/shard%d.jsonl", tmp, k + 1);
    n = snprintf(cmd, sizeof cmd, "cd . && ");
    for (int k = 0; k < 3; k++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, "%s/engine-run booru --weights %s --json --shard %d/3 -r %s > %s & ",
                      cli_build_dir(), weights, k + 1, images, outs[k]);
    snprintf(cmd + n, sizeof cmd - (size_t)n, "wait");
    CHECK(system(cmd) == 0);
    char *all = calloc(1, 1 << 20);
    size_t used = 0, sizes[3];
    for (int k = 0; k < 3; k++) {
        size_t len = 0;
        char *t = (char *)test_read_file(outs[k], &len);
        sizes[k] = len;
        if (t && used + len < (1 << 20)) memcpy(all + used, t, len), used += len;
        free(t);
    }
    CHECK(sizes[0] && sizes[1] && sizes[2]); /* every shard got work */
    char *a[64], *b[64];
    size_t na = sorted_lines(whole.out, a, 64), nb = sorted_lines(all, b, 64);
    CHECK(na == N_IMAGES && nb == N_IMAGES);
    for (size_t i = 0; i < na && i < nb; i++) CHECK_STR(b[i], a[i]); /* same set, no duplicate */
    for (size_t i = 1; i < nb; i++) CHECK(strcmp(b[i - 1], b[i]) != 0);
    free(all);
    cli_free(&whole);
    snprintf(args, sizeof args, "booru --shard 4/3 x.png");
    cli_result r = cli_run(args);
    CHECK(r.status == 2 && strstr(r.err, "--shard") != NULL);
    cli_free(&r);
}

static void test_from_list(void)
{
    char list[700], args[2048];
    snprintf(list, sizeof list, "%s/list.txt", tmp);
    FILE *f = fopen(list, "w");
    if (f) fprintf(f, "%s/img_001.png\n\n%s/img_002.png\r\n%s/missing.png\n", images, images, images), fclose(f);
    snprintf(args, sizeof args, "booru --weights %s --jsonl --from-list - < %s", weights, list);
    cli_result r = cli_run(args);
    CHECK(r.status == 1); /* the missing file is reported, the others done */
    CHECK(strstr(r.err, "missing.png") != NULL);
    char *lines[8];
    /* the missing file has its error record among the results */
    CHECK(sorted_lines(r.out, lines, 8) == 3 && strstr(lines[0], "img_001.png") && strstr(lines[1], "img_002.png") &&
          strstr(lines[2], "missing.png\", \"error\": "));
    cli_free(&r);
}

/* booru with two workers (two models, read-ahead) prints exactly what one
 * prints, in input order; a file that is not an image fails alone. */
static void test_booru_workers(void)
{
    char bad[700], args[2048];
    snprintf(bad, sizeof bad, "%s/zz_not_an_image.png", images);
    FILE *f = fopen(bad, "w");
    if (f) fputs("not a PNG", f), fclose(f);
    snprintf(args, sizeof args, "booru --weights %s --jsonl -r %s", weights, images);
    cli_result one = cli_run(args);
    snprintf(args, sizeof args, "booru --weights %s --jsonl --workers 2 --threads 2 -r %s", weights, images);
    cli_result two = cli_run(args);
    CHECK(one.status == 1 && two.status == 1); /* the bad file */
    CHECK(one.out && two.out && strcmp(one.out, two.out) == 0);
    CHECK(two.err && strstr(two.err, "zz_not_an_image.png") != NULL);
    size_t lines = 0;
    for (const char *p = two.out; p && *p; p++) lines += *p == '\n';
    CHECK(lines == N_IMAGES + 1); /* and the bad file's error record */
    cli_free(&one), cli_free(&two);
    unlink(bad);
    snprintf(args, sizeof args, "booru --workers 0 x.png");
    cli_result r = cli_run(args);
    CHECK(r.status == 2 && strstr(r.err, "--workers") != NULL);
    cli_free(&r);
}

/* info takes the same batch options. */
static void test_info_batch(void)
{
    char dir[700], args[2048], path[800];
    snprintf(dir, sizeof dir, "%s/info", tmp);
    mkdir(dir, 0777);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/s%d.png", dir, i);
        copy_file("examples/sample.png", path);
    }
    snprintf(args, sizeof args, "info --sidecar -r %s", dir);
    cli_result r = cli_run(args);
    CHECK(r.status == 0);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/s1.txt", dir);
    CHECK(unlink(path) == 0);
    snprintf(args, sizeof args, "info --sidecar --resume -r %s", dir);
    r = cli_run(args);
    CHECK(r.status == 0 && strstr(r.err, "2 images already done") != NULL);
    cli_free(&r);
    char *text = (char *)test_read_file(path, NULL);
    CHECK(text && strstr(text, "lighthouse") != NULL);
    free(text);
    int total = 0;
    for (int k = 1; k <= 2; k++) {
        snprintf(args, sizeof args, "info --json --shard %d/2 -r %s", k, dir);
        r = cli_run(args);
        for (const char *p = r.out; (p = strstr(p, "\"file\"")); p++) total++;
        cli_free(&r);
    }
    CHECK(total == 3);
}

/* A folder with nothing to do says so; an image name that cannot be read
 * (a dangling link) is reported and fails the run instead of being left
 * out in silence. */
static void test_empty_and_unreadable(void)
{
    char dir[700], sub[800], args[2048], path[900];
    snprintf(dir, sizeof dir, "%s/empty", tmp);
    mkdir(dir, 0777);
    snprintf(args, sizeof args, "info %s", dir);
    cli_result r = cli_run(args);
    CHECK(r.status == 0 && r.out[0] == 0 && strstr(r.err, "no images") != NULL);
    cli_free(&r);
    snprintf(sub, sizeof sub, "%s/inner", dir);
    mkdir(sub, 0777);
    snprintf(path, sizeof path, "%s/s.png", sub);
    copy_file("examples/sample.png", path);
    r = cli_run(args);
    CHECK(r.status == 0 && strstr(r.err, "-r would look in its 1 subdirectory") != NULL);
    cli_free(&r);
    snprintf(args, sizeof args, "info -r %s", dir);
    r = cli_run(args);
    CHECK(r.status == 0 && strstr(r.out, "lighthouse") != NULL && strstr(r.err, "no images") == NULL);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/gone.png", sub);
    CHECK(symlink("/nonexistent/unprompt.png", path) == 0);
    r = cli_run(args);
    CHECK(r.status == 1 && strstr(r.out, "lighthouse") != NULL && strstr(r.err, "gone.png: No such file") != NULL);
    cli_free(&r);
}

static int count_sidecars(const char *dir, int n, int *truncated)
{
    int found = 0;
    *truncated = 0;
    for (int i = 0; i < n; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/img_%03d.txt", dir, i);
        char *t = (char *)test_read_file(path, NULL);
        if (!t) continue;
        found++;
        if (strcmp(t, expected[i % 4])) (*truncated)++; /* images repeat every 4 */
        free(t);
    }
    return found;
}

static void test_resume(void)
{
    for (int i = 0; i < N_IMAGES; i += 5) { /* lose some outputs */
        char path[700];
        snprintf(path, sizeof path, "%s/img_%03d.txt", images, i);
        unlink(path);
    }
    char args[2048];
    snprintf(args, sizeof args, "booru --weights %s --sidecar --resume -r %s", weights, images);
    cli_result r = cli_run(args);
    CHECK(r.status == 0 && strstr(r.err, "19 images already done") != NULL);
    cli_free(&r);
    int truncated = 0;
    CHECK(count_sidecars(images, N_IMAGES, &truncated) == N_IMAGES && truncated == 0);
}

/* A sidecar run over `many` that the CLI's test hook interrupts with `sig`
 * once `after` images are written (UNPROMPT_TEST_SIGNAL_AFTER): the same
 * point of the run on every machine, however fast. Returns its exit status. */
static int interrupted_run(int sig, int after)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "exec 2>/dev/null; UNPROMPT_TEST_SIGNAL_AFTER=%d:%d %s/engine-run booru --threads 1 --weights %s "
             "--sidecar --resume -r %s",
             after, sig, cli_build_dir(), weights, many);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static void test_interrupt_and_kill(void)
{
    int truncated = 0, before;
    CHECK(interrupted_run(SIGINT, 5) == 130);
    before = count_sidecars(many, N_MANY, &truncated);
    CHECK(before >= 5 && before < N_MANY && truncated == 0); /* the groups in hand finish, no more */
    CHECK(interrupted_run(SIGKILL, 5) == 128 + SIGKILL);
    int after = count_sidecars(many, N_MANY, &truncated);
    CHECK(after > before && after < N_MANY && truncated == 0); /* nothing half-written */
    /* temporaries of the atomic writer (base/atomic.h) an hour old: one
     * of a writer that is gone (a child that exited), one of a live
     * process; and a file of the old "NAME.PID.tmp" form, which is not the
     * writer's: --resume removes the first only */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char dead[800], live[800], other[800], args[2048];
    snprintf(dead, sizeof dead, "%s/.img_%03d.txt.unprompt-%ld-0123456789abcdef.tmp", many, N_MANY - 1, (long)child);
    snprintf(live, sizeof live, "%s/.img_%03d.txt.unprompt-%ld-0123456789abcdef.tmp", many, N_MANY - 1,
             (long)getpid());
    snprintf(other, sizeof other, "%s/img_%03d.txt.%ld.tmp", many, N_MANY - 1, (long)child);
    const char *planted[] = {dead, live, other};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(planted[i], "w");
        if (f) fputs("half", f), fclose(f);
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= 3600;
        ts[1] = ts[0];
        CHECK(utimensat(AT_FDCWD, planted[i], ts, 0) == 0);
    }
    snprintf(args, sizeof args, "booru --weights %s --sidecar --resume -r %s", weights, many);
    cli_result r = cli_run(args);
    CHECK(r.status == 0);
    cli_free(&r);
    CHECK(count_sidecars(many, N_MANY, &truncated) == N_MANY && truncated == 0);
    CHECK(access(dead, F_OK) != 0 && access(live, F_OK) == 0 && access(other, F_OK) == 0);
    unlink(live);
    unlink(other);
}

/* Inputs are read, not mapped: a file truncated while its bytes are in
 * use (which made a mapping fault with SIGBUS) changes nothing. */
static void test_input_truncated(void)
{
    char path[700];
    snprintf(path, sizeof path, "%s/shrinks.png", tmp);
    copy_file("examples/sample.png", path);
    size_t len = 0;
    unsigned char *want = test_read_file(path, &len);
    input_bytes in;
    char err[256];
    CHECK(want && input_open(path, &in, err, sizeof err) == 0 && in.len == len);
    CHECK(truncate(path, 0) == 0);
    CHECK(want && in.data && memcmp(in.data, want, len) == 0); /* every byte still readable */
    input_close(&in);
    free(want);
    unlink(path);
}

/* batch_run_groups on its own: every readable image reaches run() once with
 * its pixels, results are written (here as sidecars) and an unreadable path
 * is counted, with one worker or two; SIGINT during a group lets the groups
 * in hand finish and be written, and the run stops with 130. */
typedef struct {
    pthread_mutex_t lock;
    size_t n_seen, groups, stop_after, bad_pixels;
} group_log;

static int log_group(void *user, batch_item *items, size_t n)
{
    group_log *g = user;
    pthread_mutex_lock(&g->lock);
    g->n_seen += n;
    for (size_t i = 0; i < n; i++) {
        g->bad_pixels += !items[i].rgb || items[i].width < 1 || items[i].height < 1 || items[i].undecodable;
        const char *slash = strrchr(items[i].path, '/');
        items[i].text = strdup(slash ? slash + 1 : items[i].path);
    }
    int stop = ++g->groups == g->stop_after;
    pthread_mutex_unlock(&g->lock);
    if (stop) raise(SIGINT); /* as Ctrl-C in the middle of this group */
    return 0;
}

/* Sidecars "IMAGE.grp" (extension replaced) holding the image's name: how many; removes them. */
static size_t take_group_sidecars(const input_list *in)
{
    size_t found = 0;
    for (size_t i = 0; i < in->count; i++) {
        char *side = sidecar_path(in->paths[i], ".grp");
        char *t = side ? (char *)test_read_file(side, NULL) : NULL;
        const char *slash = strrchr(in->paths[i], '/');
        if (t) CHECK(!strncmp(t, slash + 1, strlen(slash + 1)));
        found += t != NULL;
        free(t);
        if (side) unlink(side);
        free(side);
    }
    return found;
}

static void test_groups(void)
{
    input_list in = {0};
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no_such.png", images);
    inputs_add(&in, images, 0);
    size_t found = in.count;
    CHECK(found == N_IMAGES);
    if (in.count == in.cap) { /* room for one more path, listed third */
        in.cap = in.cap * 2 + 1;
        in.paths = realloc(in.paths, in.cap * sizeof *in.paths);
    }
    memmove(in.paths + 3, in.paths + 2, (in.count - 2) * sizeof *in.paths);
    in.paths[2] = strdup(missing), in.count++;
    batch_options b = {0};
    output_options out = {.sidecar_ext = ".grp", .overwrite = 1, .several = 1};
    static group_log g;
    void *users[2] = {&g, &g};
    pthread_mutex_init(&g.lock, NULL);
    for (size_t workers = 1; workers <= 2; workers++) {
        g.n_seen = g.groups = g.stop_after = g.bad_pixels = 0;
        batch_groups bg = {.group = 5,
                           .workers = workers,
                           .decode = 1,
                           .users = users,
                           .run = log_group,
                           .out = &out};
        CHECK(batch_run_groups(&b, &in, &bg) == 1); /* everything, one unreadable */
        /* 25 inputs by 5: 5 groups for one worker; for two, 6 of 5, 4, 4, 4, 4, 4 */
        CHECK(g.n_seen == found && g.groups == (workers == 1 ? 5 : 6) && g.bad_pixels == 0);
        CHECK(take_group_sidecars(&in) == found);
    }
    g.n_seen = g.groups = g.bad_pixels = 0, g.stop_after = 2;
    batch_groups one = {.group = 3,
                        .workers = 1,
                        .decode = 1,
                        .users = users,
                        .run = log_group,
                        .out = &out};
    CHECK(batch_run_groups(&b, &in, &one) == 130);
    CHECK(g.groups == 2 && g.n_seen == 5); /* two groups of 3, the missing file not passed on */
    size_t written = take_group_sidecars(&in);
    if (written != 5) fprintf(stderr, "    %zu sidecars after the interrupt\n", written);
    CHECK(written == 5);
    pthread_mutex_destroy(&g.lock);
    inputs_free(&in);
}

/* The groups cover the inputs in order, each of 1..group images, sizes
 * within one of each other, and a multiple of the workers when there are
 * images enough. */
static void check_spans(size_t count, size_t group, size_t workers, size_t want_groups, size_t want_largest)
{
    size_t n = batch_group_count(count, group, workers), next = 0, lo = SIZE_MAX, hi = 0;
    CHECK(n == want_groups);
    for (size_t k = 0; k < n; k++) {
        size_t first, len = batch_group_span(count, n, k, &first);
        CHECK(first == next && len >= 1 && len <= group);
        next = first + len;
        lo = len < lo ? len : lo, hi = len > hi ? len : hi;
    }
    CHECK(next == count);
    CHECK(n == 0 || (hi - lo <= 1 && hi == want_largest));
    size_t first;
    CHECK(batch_group_span(count, n, n, &first) == 0 && first == count); /* past the end */
}

static void test_group_spans(void)
{
    check_spans(20, 8, 2, 4, 5);      /* 5 5 5 5, not 8 8 4 */
    check_spans(64, 8, 2, 8, 8);      /* bench's batch_all: unchanged */
    check_spans(70, 8, 2, 10, 7);     /* 9 groups of ≤ 8 → 10 of 7 */
    check_spans(9, 8, 1, 2, 5);       /* 5 4 */
    check_spans(1, 8, 2, 1, 1);       /* one image: one group, one worker idle */
    check_spans(3, 8, 4, 3, 1);       /* fewer images than workers */
    check_spans(0, 8, 2, 0, 0);
    check_spans(25, 3, 1, 9, 3);      /* 3 × 7 + 2 × 2 */
    check_spans(1000001, 8, 2, 125002, 8);
    check_spans(7, 1, 2, 7, 1);       /* booru: one image per group */
}

int main(void)
{
    RUN(test_group_spans);
    RUN(test_shard_hash);
    RUN(test_setup);
    RUN(test_concurrent_shards);
    RUN(test_resume);
    RUN(test_from_list);
    RUN(test_booru_workers);
    RUN(test_info_batch);
    RUN(test_empty_and_unreadable);
    RUN(test_interrupt_and_kill);
    RUN(test_input_truncated);
    RUN(test_groups);
    for (int i = 0; i < N_IMAGES; i++) free(expected[i]);
    if (tmp) cli_rmrf(tmp);
    return test_summary("batch");
}
