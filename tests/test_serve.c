/* engine-run serve through real HTTP clients: curl, and Python's urllib
 * and sockets (tests/serve_client.py), against the tiny random-weight
 * models of the other tests (tests/fixtures/{clip,blip,deepdanbooru}) and
 * two hand-written category lists. Every expected value comes from an
 * independent run of the CLI on the same file (`engine-run info`, `clip`,
 * `booru`): the server must answer exactly what they print. Also: each
 * error and its status, --api-auth, --max-body, 16 concurrent mixed
 * requests, clients that disconnect, that concurrent interrogations are
 * run as groups, and SIGTERM with requests in hand (they finish, exit 0). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "engine/api/unprompt.h"
#include "format/json.h"
#include "tests/test.h"
#include "tests/cli.h"

static const char *const images[] = {"examples/sample.png", "examples/comfyui.png", "tests/fixtures/exif_a1111.jpg",
                                     "tests/fixtures/deepdanbooru/rgb_37x53.png"};
#define N_IMAGES (sizeof images / sizeof images[0])
/* The tiny BLIP has 40 positions: shorter captions than the WebUI's 24..48. */
#define CAPTION_OPTS "--min-length 12 --max-length 24"

static char tmp[256], weights[300];
static char *want_info[N_IMAGES], *want_clip[N_IMAGES], *want_booru[N_IMAGES];

typedef struct {
    pid_t pid;
    unsigned port;
    char log[400];
} server;

static const char *python(void) { return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(cli_write(path, text, strlen(text)) == 0);
}

/* The models, converted into tmp/weights as `make weights` lays them out. */
static void make_weights(void)
{
    char path[600], abs_blip[1024], err[256];
    snprintf(weights, sizeof weights, "%s/weights", tmp);
    snprintf(path, sizeof path, "%s/categories", weights);
    CHECK(mkdir(weights, 0777) == 0 && mkdir(path, 0777) == 0);
    write_text(path, "flavors.top3.txt", "a red fox\nan old castle\nthe sea at night\nmodern art\nsoft light\n");
    write_text(path, "mediums.txt", "oil painting\nphotograph\nwatercolor\n");
    unprompt_convert_params p = unprompt_convert_default_params();
    p.vocab_path = "tests/fixtures/clip/merges.txt", p.config_path = "tests/fixtures/clip/heads.json";
    snprintf(path, sizeof path, "%s/clip.safetensors", weights);
    CHECK(unprompt_convert("tests/fixtures/clip/tiny.pt", path, &p, err, sizeof err) == UNPROMPT_OK);
    snprintf(path, sizeof path, "%s/deepdanbooru.safetensors", weights);
    CHECK(unprompt_convert("tests/fixtures/deepdanbooru/tiny.pt", path, NULL, err, sizeof err) == UNPROMPT_OK);
    snprintf(path, sizeof path, "%s/blip.safetensors", weights);
    CHECK(realpath("tests/fixtures/blip/tiny_blip.safetensors", abs_blip) && symlink(abs_blip, path) == 0);
}

/* What the CLI prints for one file, less the final newline; "" when it
 * prints nothing (info of a file without text). */
static char *cli_line(const char *fmt, const char *image, int want_status)
{
    char args[1200];
    snprintf(args, sizeof args, fmt, weights, image);
    cli_result r = cli_run(args);
    CHECK(r.status == want_status);
    size_t n = strlen(r.out);
    if (n && r.out[n - 1] == '\n') r.out[n - 1] = '\0';
    free(r.err);
    return r.out;
}

static void test_setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/unprompt-serve-%ld", (long)getpid());
    CHECK(mkdir(tmp, 0777) == 0);
    make_weights();
    for (size_t i = 0; i < N_IMAGES; i++) {
        int has_text = strstr(images[i], "rgb_37x53") == NULL;
        want_info[i] = cli_line("info %.0s%s", images[i], has_text ? 0 : 1);
        want_clip[i] = cli_line("clip --weights %s " CAPTION_OPTS " %s", images[i], 0);
        want_booru[i] = cli_line("booru --weights %s %s", images[i], 0);
        CHECK(strlen(want_clip[i]) > 0 && strlen(want_booru[i]) > 0);
        CHECK(has_text == (strlen(want_info[i]) > 0));
    }
}

/* ---- the server under test ---- */

static int server_start(server *s, const char *extra)
{
    static int n;
    char cmd[2048];
    snprintf(s->log, sizeof s->log, "%s/serve-%d.log", tmp, n++);
    snprintf(cmd, sizeof cmd, "exec %s/engine-run serve --port 0 -v --weights %s --threads 2 " CAPTION_OPTS " %s 2>%s",
             cli_build_dir(), weights, extra, s->log);
    s->port = 0;
    if ((s->pid = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int tries = 0; s->pid > 0 && tries < 500 && !s->port; tries++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        char *log = cli_slurp(s->log);
        const char *at = log ? strstr(log, "listening on http://127.0.0.1:") : NULL;
        if (at) s->port = (unsigned)atoi(at + strlen("listening on http://127.0.0.1:"));
        free(log);
    }
    return s->port ? 0 : -1;
}

/* SIGTERM; the exit status (-1: did not exit normally within 20 s). */
static int server_stop(server *s)
{
    int st = 0;
    kill(s->pid, SIGTERM);
    for (int tries = 0; tries < 2000; tries++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    return -1;
}

/* tmp/expect.json for the Python client. */
static void write_expectations(unsigned port, size_t max_body)
{
    buf b;
    buf_init(&b, 0);
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    buf_printf(&b, NULL, "{\"port\": %u, \"max_body\": %zu, \"images\": [", port, max_body);
    for (size_t i = 0; i < N_IMAGES; i++) {
        buf_printf(&b, NULL, "%s{\"path\": \"%s/%s\", \"info\": ", i ? ", " : "", cwd, images[i]);
        json_write_string(&b, want_info[i], strlen(want_info[i]), NULL);
        buf_append_str(&b, ", \"clip\": ", NULL);
        json_write_string(&b, want_clip[i], strlen(want_clip[i]), NULL);
        buf_append_str(&b, ", \"booru\": ", NULL);
        json_write_string(&b, want_booru[i], strlen(want_booru[i]), NULL);
        buf_append_char(&b, '}', NULL);
    }
    buf_append_str(&b, "]}", NULL);
    char path[400];
    snprintf(path, sizeof path, "%s/expect.json", tmp);
    CHECK(b.data && cli_write(path, b.data, b.len) == 0);
    buf_free(&b);
}

/* Run a client script (shell command); each "ok"/"FAIL" line it prints is
 * a check, "note" lines are shown; a "skip WHY" line is copied into
 * `skipped`. Returns the number of checks. */
static int run_script(const char *cmd, char *skipped, size_t skipped_size)
{
    char line[4096];
    FILE *p = popen(cmd, "r");
    int checks = 0;
    CHECK(p != NULL);
    while (p && fgets(line, sizeof line, p)) {
        if (!strncmp(line, "ok ", 3)) checks++;
        else if (!strncmp(line, "FAIL ", 5)) {
            fprintf(stderr, "    %s", line);
            CHECK(0);
            checks++;
        } else if (!strncmp(line, "skip ", 5) && skipped) {
            snprintf(skipped, skipped_size, "%.*s", (int)strcspn(line + 5, "\n"), line + 5);
        } else fprintf(stderr, "    %s", line);
    }
    CHECK(p && pclose(p) == 0);
    return checks;
}

/* tests/serve_client.py MODE [ARG] over tmp/expect.json. */
static int run_client(const char *mode, const char *arg)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s tests/serve_client.py %s %s/expect.json %s", python(), mode, tmp, arg ? arg : "");
    return run_script(cmd, NULL, 0);
}

/* ---- curl ---- */

/* curl's body and status for one request to ROUTE (ARGS in shell syntax). */
static char *curl(unsigned port, const char *args, const char *route, int *status)
{
    char cmd[1600], out[400];
    snprintf(out, sizeof out, "%s/curl.out", tmp);
    snprintf(cmd, sizeof cmd, "curl -s -o %s -w '%%{http_code}' %s http://127.0.0.1:%u%s", out, args, port, route);
    FILE *p = popen(cmd, "r");
    *status = 0;
    if (!p || fscanf(p, "%d", status) != 1) *status = -1;
    if (p) pclose(p);
    char *body = cli_slurp(out);
    unlink(out);
    return body ? body : calloc(1, 1);
}

/* A request body {"image": <file's base64>, "model": MODEL} written to
 * tmp/NAME; MODEL NULL: no model member. */
static void body_file(const char *name, const char *image, const char *model)
{
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "{ printf '{\"image\": \"'; base64 -w0 %s; printf '\"%s%s%s}'; } > %s/%s", image,
             model ? ", \"model\": \"" : "", model ? model : "", model ? "\"" : "", tmp, name);
    CHECK(system(cmd) == 0);
}

static const char *member(const json_value *v, const char *key) { return json_str(json_get(v, key)); }

static void test_curl(void)
{
    server s;
    CHECK(server_start(&s, "") == 0);
    int st;
    char *body = curl(s.port, "", "/internal/ping", &st);
    CHECK(st == 200);
    free(body);
    char args[800];
    for (size_t i = 0; i < N_IMAGES; i++) {
        body_file("info.json", images[i], NULL);
        body_file("clip.json", images[i], "clip");
        body_file("booru.json", images[i], "deepdanbooru");
        const char *const routes[][3] = {{"info.json", "/sdapi/v1/png-info", "info"},
                                         {"clip.json", "/sdapi/v1/interrogate", "caption"},
                                         {"booru.json", "/sdapi/v1/interrogate", "caption"}};
        const char *want[3] = {want_info[i], want_clip[i], want_booru[i]};
        for (int r = 0; r < 3; r++) {
            snprintf(args, sizeof args, "-H 'Content-Type: application/json' --data-binary @%s/%s", tmp, routes[r][0]);
            body = curl(s.port, args, routes[r][1], &st);
            fmt_error e;
            json_value *v = json_parse(body, strlen(body), NULL, &e);
            CHECK(st == 200 && v);
            CHECK_STR(member(v, routes[r][2]) ? member(v, routes[r][2]) : "(missing)", want[r]);
            json_free(v);
            free(body);
        }
    }
    body = curl(s.port, "-d '{\"image\": \"@@\"}'", "/sdapi/v1/png-info", &st);
    CHECK(st == 400 && strstr(body, "\"error\"") && strstr(body, "\"detail\""));
    free(body);
    body = curl(s.port, "-d '{\"image\": \"aGVsbG8=\", \"model\": \"x\"}'", "/sdapi/v1/interrogate", &st);
    CHECK(st == 404 && strstr(body, "Model not found"));
    free(body);
    CHECK(server_stop(&s) == 0);
}

/* ---- Python ---- */

static void test_python_api(void)
{
    server s;
    CHECK(server_start(&s, "--batch 4 --workers 2") == 0);
    write_expectations(s.port, 50u << 20);
    CHECK(run_client("api", NULL) >= 50);
    CHECK(run_client("soak", "80") == 1); /* 80 mixed requests one after another, all as the CLI */
    CHECK(run_client("load", "16") == 2); /* 16 clip at once, png-info meanwhile */
    CHECK(server_stop(&s) == 0);
    /* the 16 concurrent requests were run in groups, not one by one */
    char *log = cli_slurp(s.log);
    int grouped = 0;
    for (const char *p = log ? log : ""; (p = strstr(p, "group of ")); p++)
        if (atoi(p + 9) > 1) grouped = 1;
    CHECK(grouped);
    /* both workers took groups (one that lost a group to the other while
     * gathering must go on waiting, not end) */
    CHECK(log && strstr(log, "worker 0: group") && strstr(log, "worker 1: group"));
    CHECK(log && strstr(log, "stopped"));
    free(log);
}

static void test_auth_and_max_body(void)
{
    server s;
    CHECK(server_start(&s, "--api-auth 'alice:secret,bob:pa:ss' --max-body 300k") == 0);
    write_expectations(s.port, 300 << 10);
    CHECK(run_client("auth", NULL) >= 10);
    CHECK(server_stop(&s) == 0);
    cli_result r = cli_run("serve --api-auth nocolon");
    CHECK(r.status == 2 && strstr(r.err, "--api-auth"));
    cli_free(&r);
    r = cli_run("serve --max-body 0");
    CHECK(r.status == 2);
    cli_free(&r);
    r = cli_run("serve --help");
    CHECK(r.status == 0 && strstr(r.out, "--api-auth") && strstr(r.out, "--max-body") && strstr(r.out, "--listen"));
    cli_free(&r);
}

static int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET, a.sin_port = htons((uint16_t)port), a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* SIGTERM while a request is in hand (half its body sent): no new
 * connection is accepted, the request is finished and answered, the
 * process exits 0. */
static void test_sigterm_drains(void)
{
    server s;
    CHECK(server_start(&s, "") == 0);
    body_file("clip.json", images[0], "clip");
    char path[400], head[300];
    snprintf(path, sizeof path, "%s/clip.json", tmp);
    char *body = cli_slurp(path);
    size_t n = body ? strlen(body) : 0;
    int fd = connect_to(s.port);
    CHECK(body && fd >= 0);
    if (!body || fd < 0) return;
    snprintf(head, sizeof head, "POST /sdapi/v1/interrogate HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    CHECK(send_all(fd, head, strlen(head)) == 0 && send_all(fd, body, n / 2) == 0);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    kill(s.pid, SIGTERM);
    nanosleep(&ts, NULL);
    int late = connect_to(s.port);
    CHECK(late < 0); /* no longer accepting */
    if (late >= 0) close(late);
    CHECK(send_all(fd, body + n / 2, n - n / 2) == 0);
    char reply[8192];
    size_t got = 0;
    for (ssize_t r; got + 1 < sizeof reply && (r = recv(fd, reply + got, sizeof reply - 1 - got, 0)) > 0;) got += (size_t)r;
    reply[got] = '\0';
    close(fd);
    free(body);
    CHECK(!strncmp(reply, "HTTP/1.1 200", 12));
    const char *json = strstr(reply, "\r\n\r\n");
    fmt_error e;
    json_value *v = json ? json_parse(json + 4, strlen(json + 4), NULL, &e) : NULL;
    CHECK_STR(member(v, "caption") ? member(v, "caption") : "(no reply)", want_clip[0]);
    json_free(v);
    int st = 0;
    CHECK(waitpid(s.pid, &st, 0) == s.pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The page in headless chromium (tests/serve_browser.py): a named skip
 * when chromium is missing or cannot start here. */
static void test_page_in_chromium(void)
{
    server s;
    char cmd[1200], skipped[512] = "";
    CHECK(server_start(&s, "") == 0);
    write_expectations(s.port, 50u << 20);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/chromium-profile && %s tests/serve_browser.py %s/expect.json %s/chromium-profile",
             tmp, python(), tmp, tmp);
    int checks = run_script(cmd, skipped, sizeof skipped);
    CHECK(server_stop(&s) == 0);
    if (skipped[0]) SKIP(skipped);
    CHECK(checks >= 9);
}

static void test_cleanup(void)
{
    for (size_t i = 0; i < N_IMAGES; i++) free(want_info[i]), free(want_clip[i]), free(want_booru[i]);
    if (!getenv("TEST_KEEP")) cli_rmrf(strdup(tmp));
}

int main(void)
{
    RUN(test_setup);
    RUN(test_curl);
    RUN(test_python_api);
    RUN(test_auth_and_max_body);
    RUN(test_sigterm_drains);
    RUN(test_page_in_chromium);
    RUN(test_cleanup);
    return test_summary("serve");
}
