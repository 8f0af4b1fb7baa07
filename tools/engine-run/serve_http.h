/* The HTTP side of `engine-run serve`, on libmicrohttpd: a pool of
 * threads reads requests, checks --api-auth and --max-body, and routes
 * them. png-info and ping are answered on the pool's thread; an
 * interrogation is queued (serve_batch.h) and its connection suspended
 * until a worker has run it, so no pool thread ever waits for a model. */
#ifndef UNPROMPT_TOOLS_SERVE_HTTP_H
#define UNPROMPT_TOOLS_SERVE_HTTP_H

#include <stddef.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/serve_batch.h"

typedef struct {
    int listen_all;          /* 0: 127.0.0.1 only; 1: every interface (IPv4) */
    unsigned port;           /* 0: any free port (serve_http_port tells) */
    const char *auth;        /* "user:pass[,user:pass...]" or NULL: no authentication */
    size_t max_body;         /* request bodies over it: 413 */
    serve_batch *batch;      /* where interrogations go */
    unprompt_info_params info;
    int verbose;             /* one stderr line per request */
} serve_http_config;

typedef struct serve_http serve_http;

/* Listen and serve. The config's strings and queue must outlive the server. */
int serve_http_start(serve_http **out, const serve_http_config *cfg, char *err, size_t err_size);
unsigned serve_http_port(const serve_http *s);
/* Stop accepting connections (those open are still served). */
void serve_http_quiesce(serve_http *s);
/* Requests begun and not yet finished. */
size_t serve_http_in_flight(serve_http *s);
/* Close every connection and free. */
void serve_http_stop(serve_http *s);

/* Does an Authorization header value carry one of the credentials of
 * `allowed` ("user:pass[,user:pass...]")? Basic scheme only. */
int serve_auth_ok(const char *allowed, const char *header);

#endif
