/* libmicrohttpd glue of `engine-run serve` (serve_http.h). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/engine-run/serve_api.h"
#include "tools/engine-run/serve_base64.h"
#include "tools/engine-run/serve_http.h"
#include "tools/engine-run/serve_page.h"

#define POOL_THREADS 4
#define CONNECTION_LIMIT 512
#define IDLE_TIMEOUT_S 120
#define MAX_CREDENTIALS 4096 /* a decoded Authorization value longer than this is refused */
/* Request bodies held at once, all requests together, at most this many
 * times --max-body; a body that would pass it is answered 503 (each body
 * costs about twice again while parsed and decoded). */
#define BODY_BUDGET_BODIES 8
#define TOO_LARGE "Request Entity Too Large: the body is over --max-body"

struct serve_http {
    serve_http_config cfg;
    struct MHD_Daemon *daemon;
    atomic_size_t in_flight;
    atomic_size_t body_bytes; /* capacity of every body buffer held */
};

typedef enum { ROUTE_NONE, ROUTE_PAGE, ROUTE_PING, ROUTE_PNG_INFO, ROUTE_INTERROGATE } route;
typedef enum { JOB_NONE, JOB_QUEUED, JOB_DONE } job_state;

/* One request, from its first call to its completion. */
typedef struct {
    serve_http *server;
    struct MHD_Connection *conn;
    route route;
    char *body;
    size_t len, cap;
    int too_large, over_budget;
    serve_job job;
    size_t job_bytes; /* the job's image, counted in the body budget while queued */
    atomic_int state; /* job_state */
    double t0;
} request;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- credentials ---- */

/* Equal strings, in time that depends on the lengths only. */
static int same_secret(const char *a, size_t na, const char *b, size_t nb)
{
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int credential_listed(const char *allowed, const char *cred, size_t n)
{
    int found = 0;
    for (const char *p = allowed; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        found |= same_secret(p, len, cred, n);
        p += len + (comma != NULL);
    }
    return found;
}

int serve_auth_ok(const char *allowed, const char *header)
{
    if (!header || strncasecmp(header, "Basic ", 6)) return 0;
    uint8_t *cred = NULL;
    size_t n = 0;
    char err[128];
    if (base64_decode(header + 6, strlen(header + 6), MAX_CREDENTIALS, &cred, &n, err, sizeof err)) return 0;
    int ok = memchr(cred, ':', n) && credential_listed(allowed, (const char *)cred, n);
    free(cred);
    return ok;
}

/* ---- replies ---- */

static enum MHD_Result send_reply(request *r, serve_reply reply)
{
    if (!reply.body) reply = serve_text(500, "text/plain", "out of memory\n", 14);
    if (!reply.body) return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(reply.len, reply.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(reply.body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (reply.status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"unprompt\"");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)reply.status, resp);
    MHD_destroy_response(resp);
    if (r->server->cfg.verbose)
        fprintf(stderr, "engine-run serve: %d after %.1f ms\n", reply.status, now_ms() - r->t0);
    return rc;
}

/* ---- routing ---- */

static route find_route(const char *url, const char *method, serve_reply *reply)
{
    static const struct {
        const char *url, *method;
        route route;
    } routes[] = {{"/", "GET", ROUTE_PAGE},
                  {"/internal/ping", "GET", ROUTE_PING},
                  {"/sdapi/v1/png-info", "POST", ROUTE_PNG_INFO},
                  {"/sdapi/v1/interrogate", "POST", ROUTE_INTERROGATE}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].url)) continue;
        if (!strcmp(method, routes[i].method)) return routes[i].route;
        *reply = serve_error(405, "HTTPException", "Method Not Allowed");
        return ROUTE_NONE;
    }
    *reply = serve_error(404, "HTTPException", "Not Found");
    return ROUTE_NONE;
}

/* The first call of a request: authentication, route, declared size.
 * Returns 1 with *reply set when the request is answered at once. */
static int request_begin(request *r, const char *url, const char *method, serve_reply *reply)
{
    const serve_http_config *cfg = &r->server->cfg;
    r->route = find_route(url, method, reply);
    if (r->route == ROUTE_NONE) return 1;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (cfg->auth && r->route != ROUTE_PING && !serve_auth_ok(cfg->auth, auth)) {
        *reply = serve_error(401, "HTTPException", "Not authenticated");
        return 1;
    }
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > cfg->max_body) {
        *reply = serve_error(413, "HTTPException", TOO_LARGE);
        return 1;
    }
    if (r->route == ROUTE_PAGE)
        *reply = serve_text(200, "text/html; charset=utf-8", serve_page_html, serve_page_html_len);
    if (r->route == ROUTE_PING) *reply = serve_text(200, "application/json", "{}", 2);
    return r->route == ROUTE_PAGE || r->route == ROUTE_PING;
}

/* Reserve `extra` bytes of the server's body budget; 0, or -1 when over it. */
static int budget_take(serve_http *s, size_t extra)
{
    size_t budget = s->cfg.max_body * BODY_BUDGET_BODIES;
    size_t held = atomic_fetch_add(&s->body_bytes, extra);
    if (held + extra <= budget && held + extra >= held) return 0;
    atomic_fetch_sub(&s->body_bytes, extra);
    return -1;
}

static void body_free(request *r)
{
    atomic_fetch_sub(&r->server->body_bytes, r->cap);
    free(r->body);
    r->body = NULL, r->len = r->cap = 0;
}

/* Append a piece of the body; past --max-body or the server's budget the
 * rest is read and dropped. */
static void request_append(request *r, const char *data, size_t n)
{
    size_t max = r->server->cfg.max_body;
    if (r->too_large || r->over_budget || n > max - r->len) {
        r->too_large |= !r->over_budget;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 64 * 1024;
        while (cap < r->len + n + 1) cap = cap > max / 2 ? max + 1 : cap * 2;
        if (budget_take(r->server, cap - r->cap)) {
            r->over_budget = 1;
            return;
        }
        char *p = realloc(r->body, cap);
        if (!p) {
            atomic_fetch_sub(&r->server->body_bytes, cap - r->cap);
            r->over_budget = 1;
            return;
        }
        r->body = p, r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

/* A worker finished the job: wake the connection (any thread). */
static void job_done(serve_job *job, void *user)
{
    (void)job;
    request *r = user;
    atomic_store(&r->state, JOB_DONE);
    MHD_resume_connection(r->conn);
}

/* The whole body is in: answer, or queue the interrogation and suspend. */
static enum MHD_Result request_end(request *r)
{
    const serve_http_config *cfg = &r->server->cfg;
    serve_reply reply;
    if (atomic_load(&r->state) == JOB_DONE) return send_reply(r, serve_interrogate_reply(&r->job));
    if (r->too_large) return send_reply(r, serve_error(413, "HTTPException", TOO_LARGE));
    if (r->over_budget) return send_reply(r, serve_error(503, "HTTPException", "too many request bodies in hand; try again"));
    const char *body = r->body ? r->body : "";
    if (r->route == ROUTE_PNG_INFO) return send_reply(r, serve_png_info(body, r->len, &cfg->info, cfg->max_body));
    if (serve_interrogate_request(body, r->len, cfg->max_body, &r->job, &reply)) return send_reply(r, reply);
    body_free(r); /* the job needs only the decoded image, which takes its own share */
    if (budget_take(r->server, r->job.len))
        return send_reply(r, serve_error(503, "HTTPException", "the server holds too many images; try again"));
    r->job_bytes = r->job.len;
    r->job.done = job_done, r->job.user = r;
    atomic_store(&r->state, JOB_QUEUED);
    MHD_suspend_connection(r->conn);
    if (serve_batch_submit(cfg->batch, &r->job)) {
        r->job.http_status = 503;
        snprintf(r->job.err, sizeof r->job.err, "the server is shutting down");
        job_done(&r->job, r);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    request *r = *con_cls;
    if (!r) {
        serve_http *s = cls;
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        r->server = s, r->conn = conn, r->t0 = now_ms();
        atomic_init(&r->state, JOB_NONE);
        atomic_fetch_add(&s->in_flight, 1);
        *con_cls = r;
        if (s->cfg.verbose) fprintf(stderr, "engine-run serve: %s %s\n", method, url);
        serve_reply reply;
        if (request_begin(r, url, method, &reply)) return send_reply(r, reply);
        return MHD_YES;
    }
    if (*upload_data_size) {
        request_append(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return request_end(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode why)
{
    (void)conn, (void)why;
    serve_http *s = cls;
    request *r = *con_cls;
    if (!r) return;
    serve_job_clear(&r->job);
    atomic_fetch_sub(&s->body_bytes, r->job_bytes);
    body_free(r);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

int serve_http_start(serve_http **out, const serve_http_config *cfg, char *err, size_t err_size)
{
    serve_http *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    s->cfg = *cfg;
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->body_bytes, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    addr.sin_addr.s_addr = htonl(cfg->listen_all ? INADDR_ANY : INADDR_LOOPBACK);
    /* poll(), not epoll: with epoll, libmicrohttpd 0.9.75 missed a client
     * that sent part of a body and closed while another connection was
     * suspended (the request stayed in hand until the idle timeout). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)POOL_THREADS,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, err_size, "cannot listen on %s:%u (in use, or not allowed)",
                 cfg->listen_all ? "0.0.0.0" : "127.0.0.1", cfg->port);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

unsigned serve_http_port(const serve_http *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : s->cfg.port;
}

void serve_http_quiesce(serve_http *s)
{
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

size_t serve_http_in_flight(serve_http *s) { return atomic_load(&s->in_flight); }

void serve_http_stop(serve_http *s)
{
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
