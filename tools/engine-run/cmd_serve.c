/* engine-run serve: the WebUI's PNG Info and interrogation API, and a page
 * for a person, over HTTP (serve_http.c, serve_api.c, serve_batch.c,
 * serve_page.c). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/args.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/msg.h"
#include "tools/engine-run/commands.h"
#include "tools/engine-run/serve_batch.h"
#include "tools/engine-run/serve_http.h"

#define DEFAULT_PORT 7860
#define DEFAULT_MAX_BODY (50u << 20)
/* 50 ms: 16 clients started together by a script (Python threads) reach
 * the server over ~20 ms; without a wait the first ran alone, at twice the
 * per-image cost of a group of 8 (real-size models, 2 cores). Next to an
 * interrogation's seconds, nothing. */
#define DEFAULT_BATCH_WAIT_MS 50
/* SIGTERM: how long requests in hand may take to arrive whole, and then
 * their replies to be sent, before the connections are closed. */
#define DRAIN_WAIT_MS 30000

typedef struct {
    cli_common common; /* --weights, --threads */
    serve_http_config http;
    clip_cli_options clip;         /* caption, lists, --batch, --workers: as `engine-run clip` */
    unprompt_booru_params booru;   /* as `engine-run booru` */
    const char *booru_model;
    int batch_wait_ms;
} serve_options;

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run serve [options]\n"
            "\n"
            "Answer the WebUI's HTTP API for PNG Info and interrogation, and serve a page\n"
            "for a person at /:\n"
            "  POST /sdapi/v1/png-info     {\"image\"} -> {\"info\", \"items\", \"parameters\"}\n"
            "  POST /sdapi/v1/interrogate  {\"image\", \"model\": \"clip\"|\"deepdanbooru\"} -> {\"caption\"}\n"
            "  GET  /internal/ping         200\n"
            "\"image\" is base64 or a data: URL. Each model is loaded on its first request and\n"
            "kept; interrogations that arrive together are run together (see --batch).\n"
            "SIGTERM or SIGINT: stop accepting, finish the requests in hand, exit 0.\n"
            "\n"
            "options:\n"
            "  --port N              TCP port (%d; 0: any free port, printed at start)\n"
            "  --listen              listen on every interface (default: 127.0.0.1 only)\n"
            "  --api-auth U:P[,U:P]  require HTTP Basic credentials (401 otherwise) for\n"
            "                        everything but /internal/ping\n"
            "  --max-body BYTES      refuse request bodies over BYTES with 413 (50M; k, M, G\n"
            "                        suffixes)\n"
            "  --batch N             interrogations run together (default 8; 1 to 64): those\n"
            "                        that arrive while a group runs join the next group\n"
            "  --batch-wait MS       a free worker waits up to MS for a whole group (50)\n"
            "  --workers N           groups run at once, each with its own models and\n"
            "                        threads/N threads (default 1)\n"
            "  --threads N           threads for the models (default: all cores)\n"
            "  --weights DIR         model directory (see `engine-run weights` for the search):\n"
            "                        clip.safetensors, blip.safetensors, categories/,\n"
            "                        deepdanbooru.safetensors\n"
            "  -v, --verbose         log each request and each group on stderr\n"
            "\n"
            "Interrogations use the WebUI's default options, as `engine-run clip` and\n"
            "`engine-run booru` do; their options change them here too: --beams,\n"
            "--min-length, --max-length, --repetition-penalty, --categories, --dict-limit,\n"
            "--skip-categories, --clip-model, --blip-model (clip); --threshold, --sort,\n"
            "--underscores, --no-escape, --filter, --booru-model (deepdanbooru).\n"
            "\n"
            "exit status: 0 after SIGTERM/SIGINT, 2 usage or cannot listen.\n",
            DEFAULT_PORT);
}

static int parse_size(const char *v, size_t *out)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = !strcmp(end, "k") || !strcmp(end, "K") ? 10 : !strcmp(end, "M") ? 20 : !strcmp(end, "G") ? 30 : 0;
    if (end == v || (*end && !shift) || v[0] == '-' || n == 0 || n > (1ull << 40) >> shift) return -1;
    *out = (size_t)(n << shift);
    return 0;
}

static int parse_count(const char *v, long lo, long hi, long *out)
{
    char *end;
    long n = v ? strtol(v, &end, 10) : lo - 1;
    if (!v || *end || end == v || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

/* One of serve's own options at argv[*i]: 1 consumed, 0 not one, -1 usage
 * error (reported). */
static int own_option(serve_options *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    long n = 0;
    if (!strcmp(a, "--listen")) return o->http.listen_all = 1;
    if (!strcmp(a, "--verbose")) return o->http.verbose = 1;
    static const char *const with_value[] = {"--port", "--api-auth", "--max-body", "--batch-wait"};
    size_t k = 0;
    while (k < 4 && strcmp(a, with_value[k])) k++;
    if (k == 4) return 0;
    const char *v = cli_option_value(&o->common, argc, argv, i);
    if (!v) return -1;
    int bad = 0;
    if (!strcmp(a, "--port")) bad = parse_count(v, 0, 65535, &n), o->http.port = (unsigned)n;
    else if (!strcmp(a, "--max-body")) bad = parse_size(v, &o->http.max_body);
    else if (!strcmp(a, "--batch-wait")) bad = parse_count(v, 0, 10000, &n), o->batch_wait_ms = (int)n;
    else if (!strchr(v, ':') || v[0] == ',') bad = 1; /* --api-auth */
    else o->http.auth = v;
    if (bad) msg("bad value '%s' for %s (see --help)", v, a);
    return bad ? -1 : 1;
}

/* The option at argv[*i] (cli_parse's handler): serve's own, --weights,
 * --threads, and the caption and tag options of `clip` and `booru`. */
static int serve_option(void *user, int argc, char **argv, int *i)
{
    serve_options *o = user;
    const char *a = argv[*i];
    if (!strcmp(a, "--help")) return 2;
    int r = own_option(o, argc, argv, i);
    if (!r && (!strcmp(a, "--weights") || !strcmp(a, "--threads"))) r = cli_common_option(&o->common, argc, argv, i);
    if (!r) r = clip_parse_option(&o->clip, &o->common, argc, argv, i);
    if (!r) r = booru_parse_option(&o->booru, &o->booru_model, &o->common, argc, argv, i);
    return r;
}

/* The queue's models: paths under the weights directory (not checked: a
 * model that is missing answers 503 when asked for; png-info needs none). */
static int batch_config(const serve_options *o, serve_batch_config *c, char *paths[4])
{
    memset(c, 0, sizeof *c);
    paths[0] = cli_model_path(&o->common, o->clip.clip_model, "clip.safetensors");
    paths[1] = cli_model_path(&o->common, o->clip.blip_model, "blip.safetensors");
    paths[2] = cli_model_path(&o->common, o->clip.categories, "categories");
    paths[3] = cli_model_path(&o->common, o->booru_model, "deepdanbooru.safetensors");
    if (!paths[0] || !paths[1] || !paths[2] || !paths[3]) return -1;
    for (int i = 0; i < 4; i++)
        if (access(paths[i], R_OK)) fprintf(stderr, "engine-run serve: warning: %s is missing; see 'make weights'\n", paths[i]);
    c->clip = o->clip.load;
    c->clip.progress = NULL;
    c->clip.clip_model = paths[0], c->clip.blip_model = paths[1], c->clip.categories_dir = paths[2];
    c->booru_model = paths[3];
    c->clip_run = o->clip.run;
    c->booru_run = o->booru;
    c->batch = o->clip.batch, c->workers = o->clip.workers, c->verbose = o->http.verbose;
    c->gather_ms = o->batch_wait_ms;
    c->threads = cli_worker_threads(&o->common, o->clip.workers);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Serve until SIGTERM or SIGINT (blocked here, so every thread started
 * after inherits the mask and the main thread takes them), then drain. */
static int serve_until_signal(serve_options *o, serve_batch *batch, const sigset_t *stop)
{
    serve_http *http = NULL;
    char err[256];
    o->http.batch = batch;
    if (serve_http_start(&http, &o->http, err, sizeof err)) {
        fprintf(stderr, "engine-run serve: %s\n", err);
        return 2;
    }
    fprintf(stderr, "engine-run serve: listening on http://%s:%u/\n", o->http.listen_all ? "0.0.0.0" : "127.0.0.1",
            serve_http_port(http));
    int sig = 0;
    sigwait(stop, &sig);
    fprintf(stderr, "engine-run serve: %s: finishing %zu requests in hand\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
            serve_http_in_flight(http));
    serve_http_quiesce(http);
    /* requests still arriving finish with the queue running; then the
     * queue's last jobs, and their replies */
    for (long waited = 0; serve_http_in_flight(http) && waited < DRAIN_WAIT_MS; waited += 10) sleep_ms(10);
    serve_batch_drain(batch);
    for (long waited = 0; serve_http_in_flight(http) && waited < DRAIN_WAIT_MS; waited += 10) sleep_ms(10);
    serve_http_stop(http);
    fprintf(stderr, "engine-run serve: stopped\n");
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    serve_options o;
    memset(&o, 0, sizeof o);
    o.common.command = "serve";
    o.http.port = DEFAULT_PORT, o.http.max_body = DEFAULT_MAX_BODY, o.http.info = unprompt_info_default_params();
    clip_cli_init(&o.clip);
    o.batch_wait_ms = DEFAULT_BATCH_WAIT_MS;
    o.booru = unprompt_booru_default_params();
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int n_files = 0;
    if (!files) return 2;
    msg_set_command("serve");
    int st = cli_parse(argc, argv, serve_option, &o, files, &n_files);
    free(files);
    if (st == 1) {
        serve_usage(stdout);
        return 0;
    }
    if (st || n_files) {
        if (!st) msg("takes no files (see --help)");
        return 2;
    }
    serve_batch_config bc;
    char *paths[4] = {NULL}, err[256];
    serve_batch *batch = NULL;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    int status = 2;
    if (batch_config(&o, &bc, paths)) fprintf(stderr, "engine-run serve: out of memory\n");
    else if (serve_batch_start(&batch, &bc, err, sizeof err)) fprintf(stderr, "engine-run serve: %s\n", err);
    else status = serve_until_signal(&o, batch, &stop);
    serve_batch_free(batch);
    for (int i = 0; i < 4; i++) free(paths[i]);
    return status;
}
