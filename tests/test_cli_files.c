/* What engine-run does to files other than reading its inputs: it writes
 * only the output it names, through base/atomic.c (an exclusive random
 * temporary, then rename), never over an input; it refuses FIFOs and
 * devices before reading them; a directory walk enters each folder once
 * (links back into the tree end, with one warning); a second SIGINT ends a
 * run at once with status 130; a SIGBUS says what happened.
 *
 * Commands run in a child with a time limit that only a hang reaches, and
 * the child's CPU time is bounded where the old code was super-linear. */
#define _GNU_SOURCE /* wait4, pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/atomic.h"
#include "tests/test.h"
#include "tests/cli.h"

static char *tmp;

/* ---- running the CLI in a child ------------------------------------------------ */

typedef struct {
    int status;  /* exit status, or -1 */
    int signal;  /* the signal that ended it, or 0 */
    int timed_out;
    double cpu_s; /* user + system */
    long max_rss_kb;
    char *out, *err;
} run_result;

typedef struct {
    pid_t pid;
    char out[700], err[700];
} child;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void nap(void)
{
    struct timespec t = {0, 5 * 1000 * 1000};
    nanosleep(&t, NULL);
}

/* `sh -c CMD` in its own process group, stdin from `in` (or /dev/null),
 * stdout and stderr to files. In CMD, $E is the engine-run binary. */
static child spawn(const char *cmd, int in)
{
    static int counter;
    child c;
    snprintf(c.out, sizeof c.out, "%s/run-%d.out", tmp, counter);
    snprintf(c.err, sizeof c.err, "%s/run-%d.err", tmp, counter++);
    char engine[PATH_MAX + 1200], build[PATH_MAX];
    const char *runner = getenv("UNPROMPT_RUNNER");
    if (!realpath(cli_build_dir(), build)) snprintf(build, sizeof build, "%s", cli_build_dir());
    snprintf(engine, sizeof engine, "%s%s%s/engine-run", runner ? runner : "", runner ? " " : "", build);
    fflush(stdout), fflush(stderr);
    c.pid = fork();
    if (c.pid == 0) {
        setpgid(0, 0);
        int o = open(c.out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(c.err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int i = in >= 0 ? in : open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || i < 0) _exit(127);
        dup2(i, 0), dup2(o, 1), dup2(e, 2);
        setenv("E", engine, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return c;
}

/* Wait for the child at most `limit_s` seconds (then kill its group and
 * say so): a hang fails the test instead of stalling the suite. */
static run_result finish(child *c, double limit_s)
{
    run_result r = {.status = -1, .signal = 0, .timed_out = 0, .cpu_s = 0, .max_rss_kb = 0, .out = NULL, .err = NULL};
    struct rusage ru;
    int st = 0;
    double t0 = now_s();
    pid_t w;
    while ((w = wait4(c->pid, &st, WNOHANG, &ru)) == 0) {
        if (now_s() - t0 > limit_s) {
            r.timed_out = 1;
            kill(-c->pid, SIGKILL);
            w = wait4(c->pid, &st, 0, &ru);
            break;
        }
        nap();
    }
    if (w == c->pid) {
        if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
        if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
        r.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
                  (double)ru.ru_stime.tv_usec * 1e-6;
        r.max_rss_kb = ru.ru_maxrss;
    }
    r.out = cli_slurp(c->out);
    r.err = cli_slurp(c->err);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    unlink(c->out), unlink(c->err);
    return r;
}

static run_result run(const char *cmd, double limit_s)
{
    child c = spawn(cmd, -1);
    return finish(&c, limit_s);
}

static void run_free(run_result *r)
{
    free(r->out), free(r->err);
}

/* Generous: the commands take milliseconds; only a hang comes near. */
#define HANG_S 60.0

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *data = test_read_file(from, &len);
    CHECK(data && cli_write(to, data, len) == 0);
    free(data);
}

static int same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmp, name);
}

/* Names in `dir` other than "." and "..", for "nothing else was left". */
static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

/* ---- the atomic writer on its own ------------------------------------------------ */

static int fail_after_some(FILE *out, void *user, fmt_error *err)
{
    (void)user;
    fputs("half of it", out);
    return fmt_fail(err, "the source went away");
}

static void test_atomic_writer(void)
{
    char dir[700], target[800], victim[800], link[900], old1[900], old2[900];
    path_in(dir, sizeof dir, "atomic");
    CHECK(mkdir(dir, 0777) == 0);
    snprintf(target, sizeof target, "%s/out.txt", dir);
    snprintf(victim, sizeof victim, "%s/victim", tmp);
    CHECK(cli_write(victim, "precious", 8) == 0);
    /* the temporaries of the old schemes, planted as links to the victim */
    snprintf(old1, sizeof old1, "%s.tmp.%ld", target, (long)getpid());
    snprintf(old2, sizeof old2, "%s.%ld.tmp", target, (long)getpid());
    CHECK(symlink(victim, old1) == 0 && symlink(victim, old2) == 0);
    fmt_error e;
    CHECK(atomic_write_bytes(target, "new\n", 4, &e) == 0);
    char *t = cli_slurp(target);
    CHECK_STR(t, "new\n");
    free(t);
    t = cli_slurp(victim);
    CHECK_STR(t, "precious");
    free(t);
    CHECK(entries(dir) == 3); /* out.txt and the two links: no temporary left */
    /* a failing write: the target keeps its content, the temporary is gone */
    CHECK(atomic_write_file(target, fail_after_some, NULL, &e) == -1 && strstr(e.msg, "went away"));
    t = cli_slurp(target);
    CHECK_STR(t, "new\n");
    free(t);
    CHECK(entries(dir) == 3);
    /* a symlink at the target is replaced, not written through */
    snprintf(link, sizeof link, "%s/link.txt", dir);
    CHECK(symlink(victim, link) == 0);
    CHECK(atomic_write_bytes(link, "mine", 4, &e) == 0);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
    t = cli_slurp(victim);
    CHECK_STR(t, "precious");
    free(t);
    /* no folder: nothing created */
    snprintf(link, sizeof link, "%s/no-such-dir/x.txt", dir);
    CHECK(atomic_write_bytes(link, "x", 1, &e) == -1 && strstr(e.msg, "cannot create"));
    CHECK(atomic_write_bytes(dir, "x", 1, &e) == -1); /* a folder is not replaced */
    CHECK(entries(dir) == 4);
}

static void test_temp_names(void)
{
    long pid = 0;
    CHECK(atomic_is_temp_name(".img.txt.unprompt-123-0123456789abcdef.tmp", &pid) && pid == 123);
    CHECK(atomic_is_temp_name(".a.unprompt-1-ffffffffffffffff.tmp", NULL));
    CHECK(!atomic_is_temp_name(".unprompt-1-ffffffffffffffff.tmp", NULL));       /* no name */
    CHECK(!atomic_is_temp_name("img.txt.unprompt-1-ffffffffffffffff.tmp", NULL)); /* not hidden */
    CHECK(!atomic_is_temp_name(".img.txt.unprompt-1-ffffffffffffffg.tmp", NULL));
    CHECK(!atomic_is_temp_name(".img.txt.unprompt--0123456789abcdef.tmp", NULL));
    CHECK(!atomic_is_temp_name(".img.txt.unprompt-0-0123456789abcdef.tmp", NULL));
    CHECK(!atomic_is_temp_name(".img.txt.unprompt-12345678901-0123456789abcdef.tmp", NULL));
    CHECK(!atomic_is_temp_name("img.txt.123.tmp", NULL)); /* the old scheme's: not ours to remove */
    CHECK(!atomic_is_temp_name(".img.txt", NULL));
}

static void make_file(const char *dir, const char *name, int age_s)
{
    char p[1000];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    CHECK(cli_write(p, "half", 4) == 0);
    if (age_s) {
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= age_s;
        ts[1] = ts[0];
        CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
    }
}

static int exists_in(const char *dir, const char *name)
{
    char p[1000];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

/* Orphans: only this writer's names, old, writer gone, regular files. */
static void test_orphans(void)
{
    char dir[700], dead[64], live[64], fresh[64], linked[64], target[800];
    path_in(dir, sizeof dir, "orphans");
    CHECK(mkdir(dir, 0777) == 0);
    pid_t kid = fork();
    if (kid == 0) _exit(0);
    waitpid(kid, NULL, 0);
    snprintf(dead, sizeof dead, ".a.txt.unprompt-%ld-0123456789abcdef.tmp", (long)kid);
    snprintf(live, sizeof live, ".b.txt.unprompt-%ld-0123456789abcdef.tmp", (long)getpid());
    snprintf(fresh, sizeof fresh, ".c.txt.unprompt-%ld-0123456789abcdef.tmp", (long)kid);
    snprintf(linked, sizeof linked, ".d.txt.unprompt-%ld-0123456789abcdef.tmp", (long)kid);
    make_file(dir, dead, 3600);
    make_file(dir, live, 3600);
    make_file(dir, fresh, 0);
    make_file(dir, "a.txt.999999.tmp", 3600); /* looks like a temporary, is not ours */
    make_file(dir, "a.txt", 3600);
    snprintf(target, sizeof target, "%s/%s", dir, linked);
    CHECK(symlink("a.txt", target) == 0);
    CHECK(atomic_remove_orphans(dir, ATOMIC_ORPHAN_AGE_S) == 1);
    CHECK(!exists_in(dir, dead));
    CHECK(exists_in(dir, live) && exists_in(dir, fresh) && exists_in(dir, linked));
    CHECK(exists_in(dir, "a.txt.999999.tmp") && exists_in(dir, "a.txt"));
}

/* ---- sidecars ----------------------------------------------------------------- */

/* Links planted where the old writers put their temporaries (the pid is
 * the shell's, which exec keeps) and at names of the new pattern: the
 * victim is untouched and the sidecar is what info prints. */
static void test_sidecar_planted_links(void)
{
    char dir[700], cmd[4000];
    path_in(dir, sizeof dir, "side");
    CHECK(mkdir(dir, 0777) == 0);
    char img[800], victim[800], side[800];
    snprintf(img, sizeof img, "%s/img.png", dir);
    snprintf(victim, sizeof victim, "%s/victim", tmp);
    snprintf(side, sizeof side, "%s/img.txt", dir);
    copy_file("examples/sample.png", img);
    CHECK(cli_write(victim, "precious", 8) == 0);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info %s", img);
    run_result want = run(cmd, HANG_S);
    CHECK(want.status == 0 && strstr(want.out, "lighthouse"));
    snprintf(cmd, sizeof cmd,
             "for n in img.txt.$$.tmp img.txt.tmp.$$ .img.txt.$$.tmp .img.txt.unprompt-$$-0000000000000000.tmp "
             ".img.txt.unprompt-$$-ffffffffffffffff.tmp .img.txt.unprompt-$$-0123456789abcdef.tmp; do "
             "ln -s %s %s/$n || exit 9; done; exec \"$E\" info --sidecar %s",
             victim, dir, img);
    run_result r = run(cmd, HANG_S);
    CHECK(r.status == 0);
    char *v = cli_slurp(victim), *s = cli_slurp(side);
    CHECK_STR(v, "precious");
    CHECK_STR(s, want.out);
    struct stat st;
    CHECK(lstat(side, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(entries(dir) == 2 + 6); /* the image, its sidecar, the planted links: no temporary */
    free(v), free(s);
    run_free(&r), run_free(&want);
}

/* A sidecar never replaces an input: an image's extension is refused, an
 * image named like a sidecar is not written over, nor a named input. */
static void test_sidecar_not_over_input(void)
{
    char dir[700], cmd[4000], a_png[800], a_txt[800], x_txt[800];
    path_in(dir, sizeof dir, "inputs");
    CHECK(mkdir(dir, 0777) == 0);
    snprintf(a_png, sizeof a_png, "%s/a.png", dir);
    snprintf(a_txt, sizeof a_txt, "%s/a.txt", dir); /* a PNG named .txt, given as an input too */
    snprintf(x_txt, sizeof x_txt, "%s/x.txt", dir);
    copy_file("examples/sample.png", a_png);
    copy_file("examples/sample.png", a_txt);
    copy_file("examples/sample.png", x_txt);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info --sidecar=png --overwrite %s", a_png);
    run_result r = run(cmd, HANG_S);
    CHECK(r.status == 2 && strstr(r.err, "an image's"));
    run_free(&r);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info --sidecar --overwrite %s %s %s", a_png, a_txt, x_txt);
    r = run(cmd, HANG_S);
    CHECK(r.status == 1 && count(r.err, "would replace an input") == 3);
    CHECK(same_bytes(a_txt, "examples/sample.png") && same_bytes(x_txt, "examples/sample.png"));
    run_free(&r);
    /* an input given by a link's name: that name is not replaced either */
    char lnk[800], b_png[800];
    snprintf(lnk, sizeof lnk, "%s/b.txt", dir);
    snprintf(b_png, sizeof b_png, "%s/b.png", dir);
    CHECK(symlink("x.txt", lnk) == 0);
    copy_file("examples/sample.png", b_png);
    snprintf(cmd, sizeof cmd, "cd %s && exec \"$E\" info --sidecar --overwrite b.png b.txt", dir);
    r = run(cmd, HANG_S);
    CHECK(r.status == 1 && count(r.err, "would replace an input") == 2);
    if (r.status != 1) fprintf(stderr, "%s", r.err);
    struct stat st;
    CHECK(lstat(lnk, &st) == 0 && S_ISLNK(st.st_mode) && same_bytes(x_txt, "examples/sample.png"));
    run_free(&r);
}

/* ---- inputs that are not files --------------------------------------------------- */

static void test_fifo_and_devices(void)
{
    char fifo[700], dir[700], cmd[4000], inner[800], img[800];
    path_in(fifo, sizeof fifo, "pipe.png");
    CHECK(mkfifo(fifo, 0644) == 0);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info %s", fifo);
    run_result r = run(cmd, HANG_S);
    CHECK(!r.timed_out && r.status == 1 && strstr(r.err, "pipe.png: not a regular file (a FIFO)"));
    run_free(&r);
    r = run("exec \"$E\" info /dev/zero", HANG_S);
    CHECK(!r.timed_out && r.status == 1 && strstr(r.err, "/dev/zero: not a regular file (a character device)"));
    CHECK(r.cpu_s < 1.0 && r.max_rss_kb < 200 * 1024); /* was: 4 GiB read, 33 s */
    run_free(&r);
    /* a FIFO with an image's name inside a folder: reported, the rest done */
    path_in(dir, sizeof dir, "withfifo");
    CHECK(mkdir(dir, 0777) == 0);
    snprintf(inner, sizeof inner, "%s/b.png", dir);
    snprintf(img, sizeof img, "%s/a.png", dir);
    CHECK(mkfifo(inner, 0644) == 0);
    copy_file("examples/sample.png", img);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info %s", dir);
    r = run(cmd, HANG_S);
    CHECK(!r.timed_out && r.status == 1 && strstr(r.out, "lighthouse") && strstr(r.err, "b.png: not a regular file"));
    run_free(&r);
    /* as a model: refused without waiting for a writer */
    snprintf(cmd, sizeof cmd, "exec \"$E\" booru --booru-model %s %s", fifo, img);
    r = run(cmd, HANG_S);
    CHECK(!r.timed_out && r.status == 2 && strstr(r.err, "not a regular"));
    run_free(&r);
}

/* ---- directory walks ------------------------------------------------------------- */

/* x -> . and y -> . beside an image, and a link back to the top from a
 * subfolder: the walk ends, lists each image once, warns once. */
static void test_walk_loops(void)
{
    char d[700], sub[800], p[900], cmd[4000];
    path_in(d, sizeof d, "loop");
    snprintf(sub, sizeof sub, "%s/sub", d);
    CHECK(mkdir(d, 0777) == 0 && mkdir(sub, 0777) == 0);
    snprintf(p, sizeof p, "%s/a.png", d);
    copy_file("examples/sample.png", p);
    snprintf(p, sizeof p, "%s/b.png", sub);
    copy_file("examples/sample.png", p);
    snprintf(p, sizeof p, "%s/x", d);
    CHECK(symlink(".", p) == 0);
    snprintf(p, sizeof p, "%s/y", d);
    CHECK(symlink(".", p) == 0);
    snprintf(p, sizeof p, "%s/up", sub);
    CHECK(symlink("..", p) == 0);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info -r %s", d);
    run_result r = run(cmd, HANG_S);
    CHECK(!r.timed_out && r.status == 0);
    CHECK(count(r.out, "a lighthouse") == 2 && count(r.out, "/a.png <==\n") == 1 && count(r.out, "/b.png <==\n") == 1);
    CHECK(count(r.err, "already walked") == 1 && strstr(r.err, "2 more like it"));
    CHECK(r.cpu_s < 2.0);
    run_free(&r);
}

/* Folders with two ways into the next, as deep as a walk goes (64): each
 * holds a subfolder "a" and a link "b" to it, so 2^63 paths lead to the
 * image at the bottom; each folder is entered once. */
static void test_walk_shared_folders(void)
{
    enum { LEVELS = 63 };
    char p[1200], cmd[4000];
    size_t n = (size_t)snprintf(p, sizeof p, "%s/dag", tmp);
    CHECK(mkdir(p, 0777) == 0);
    for (int i = 0; i < LEVELS; i++) {
        snprintf(p + n, sizeof p - n, "/b");
        CHECK(symlink("a", p) == 0);
        n += (size_t)snprintf(p + n, sizeof p - n, "/a");
        CHECK(mkdir(p, 0777) == 0);
    }
    snprintf(p + n, sizeof p - n, "/img.png");
    copy_file("examples/sample.png", p);
    snprintf(cmd, sizeof cmd, "exec \"$E\" info -r %s/dag", tmp);
    run_result r = run(cmd, HANG_S);
    CHECK(!r.timed_out && r.status == 0 && count(r.out, "a lighthouse") == 1);
    CHECK(count(r.err, "already walked") == 1 && strstr(r.err, "62 more like it"));
    CHECK(r.cpu_s < 2.0); /* measured: 0.01 s */
    run_free(&r);
}

/* ---- convert never writes over its input ------------------------------------------ */

static void test_convert_self(void)
{
    char dir[700], pt[800], soft[800], hard[800], tags[800], cmd[4000], out[800];
    path_in(dir, sizeof dir, "conv");
    CHECK(mkdir(dir, 0777) == 0);
    snprintf(pt, sizeof pt, "%s/model.pt", dir);
    snprintf(soft, sizeof soft, "%s/link.pt", dir);
    snprintf(hard, sizeof hard, "%s/hard.pt", dir);
    snprintf(tags, sizeof tags, "%s/tags.txt", dir);
    copy_file("tests/fixtures/deepdanbooru/tiny.pt", pt);
    copy_file("tests/fixtures/deepdanbooru/tags.txt", tags);
    CHECK(symlink("model.pt", soft) == 0 && link(pt, hard) == 0);
    const char *outs[] = {pt, soft, hard};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "exec \"$E\" convert %s -o %s", pt, outs[i]);
        run_result r = run(cmd, HANG_S);
        CHECK(r.status == 2 && strstr(r.err, "is the input") && strstr(r.err, "nothing written"));
        CHECK(same_bytes(pt, "tests/fixtures/deepdanbooru/tiny.pt"));
        run_free(&r);
    }
    snprintf(cmd, sizeof cmd, "exec \"$E\" convert %s --tags %s -o %s", pt, tags, tags);
    run_result r = run(cmd, HANG_S);
    CHECK(r.status == 2 && same_bytes(tags, "tests/fixtures/deepdanbooru/tags.txt"));
    run_free(&r);
    CHECK(entries(dir) == 4); /* no temporary left anywhere */
    snprintf(out, sizeof out, "%s/model.safetensors", dir);
    snprintf(cmd, sizeof cmd, "exec \"$E\" convert %s -o %s", pt, out);
    r = run(cmd, HANG_S);
    CHECK(r.status == 0 && entries(dir) == 5);
    run_free(&r);
    /* the load-error hint names a new file, not the checkpoint */
    snprintf(cmd, sizeof cmd, "exec \"$E\" booru --booru-model %s examples/sample.png", pt);
    r = run(cmd, HANG_S);
    char want[2000];
    snprintf(want, sizeof want, "convert %s -o %s/model.safetensors", pt, dir);
    CHECK(r.status == 2 && strstr(r.err, want));
    run_free(&r);
}

/* ---- signals -------------------------------------------------------------------- */

/* Has `pid`, once it is engine-run itself, a handler for `sig` (its SigCgt
 * mask)? The shell that execs it may catch SIGINT too: a signal sent to the
 * shell would be lost. */
static int catches(pid_t pid, int sig)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    char *s = cli_slurp(path);
    if (!s || strncmp(s, "Name:\tengine-run\n", 17) != 0) {
        free(s);
        return 0;
    }
    const char *line = strstr(s, "SigCgt:");
    unsigned long long mask = line ? strtoull(line + 7, NULL, 16) : 0;
    free(s);
    return (int)((mask >> (sig - 1)) & 1);
}

/* Poll until cond(arg) or the limit; 1 if it came. */
static int await(int (*cond)(const void *), const void *arg, double limit_s)
{
    double t0 = now_s();
    while (!cond(arg)) {
        if (now_s() - t0 > limit_s) return 0;
        nap();
    }
    return 1;
}

static int handler_installed(const void *arg)
{
    return catches(*(const pid_t *)arg, SIGINT);
}

static int first_said(const void *arg)
{
    char *e = cli_slurp(arg);
    int said = e && strstr(e, "interrupt again");
    free(e);
    return said;
}

/* `info -` reading a pipe that stays open: the image in hand never ends,
 * so only the second SIGINT can stop the run. No sleep decides anything:
 * each step waits for the process to show it is ready. */
static void test_second_signal(void)
{
    if (getenv("UNPROMPT_RUNNER")) SKIP("signals go to the runner");
    for (int closes = 0; closes <= 1; closes++) {
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0); /* the child keeps only its stdin */
        child c = spawn("exec \"$E\" info -", p[0]);
        close(p[0]);
        CHECK(await(handler_installed, &c.pid, HANG_S));
        kill(c.pid, SIGINT);
        CHECK(await(first_said, c.err, HANG_S));
        if (closes) close(p[1]); /* the image in hand ends (empty): the run stops by itself */
        else kill(c.pid, SIGINT);
        run_result r = finish(&c, HANG_S);
        CHECK(!r.timed_out && r.status == 130);
        CHECK(closes ? strstr(r.err, "interrupted after 1 of 1") != NULL : strstr(r.err, "stopping now") != NULL);
        if (!closes) close(p[1]);
        run_free(&r);
    }
}

static int bus_handler_installed(const void *arg)
{
    return catches(*(const pid_t *)arg, SIGBUS);
}

/* SIGBUS (a mapped model truncated under the run): a message, then the
 * process dies of the signal as before. */
static void test_sigbus_message(void)
{
    if (getenv("UNPROMPT_RUNNER")) SKIP("signals go to the runner");
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    child c = spawn("exec \"$E\" info -", p[0]);
    close(p[0]);
    CHECK(await(handler_installed, &c.pid, HANG_S) && await(bus_handler_installed, &c.pid, HANG_S));
    kill(c.pid, SIGBUS);
    run_result r = finish(&c, HANG_S);
    CHECK(!r.timed_out && r.signal == SIGBUS && strstr(r.err, "truncated while in use (SIGBUS)"));
    close(p[1]);
    run_free(&r);
}

int main(void)
{
    tmp = cli_tmpdir();
    if (!tmp) {
        fprintf(stderr, "no temporary directory\n");
        return 1;
    }
    RUN(test_atomic_writer);
    RUN(test_temp_names);
    RUN(test_orphans);
    RUN(test_sidecar_planted_links);
    RUN(test_sidecar_not_over_input);
    RUN(test_fifo_and_devices);
    RUN(test_walk_loops);
    RUN(test_walk_shared_folders);
    RUN(test_convert_self);
    RUN(test_second_signal);
    RUN(test_sigbus_message);
    cli_rmrf(tmp);
    return test_summary("cli_files");
}
