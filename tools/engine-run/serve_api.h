/* The WebUI's API routes over the library: request bodies in, JSON
 * replies out. No HTTP here (serve_http.c carries the bytes), so each
 * handler is a function from a body to a reply. */
#ifndef UNPROMPT_TOOLS_SERVE_API_H
#define UNPROMPT_TOOLS_SERVE_API_H

#include <stddef.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/serve_batch.h"

typedef struct {
    int status;               /* HTTP status */
    char *body;               /* malloc'd (free()), NULL only when out of memory */
    size_t len;
    const char *content_type; /* static */
} serve_reply;

/* {"error": error, "detail": detail} with the status. */
serve_reply serve_error(int status, const char *error, const char *detail);
/* A static text body (copied). */
serve_reply serve_text(int status, const char *content_type, const char *text, size_t len);

/* POST /sdapi/v1/png-info: {"image"} → {"info", "items", "parameters"}. */
serve_reply serve_png_info(const char *body, size_t len, const unprompt_info_params *params, size_t max_image);

/* POST /sdapi/v1/interrogate, first half: read {"image", "model"} into
 * job (model and the decoded bytes, which the job then owns: release with
 * serve_job_clear). Returns 0, or -1 with the error reply to send. */
int serve_interrogate_request(const char *body, size_t len, size_t max_image, serve_job *job, serve_reply *reply);
/* Second half, once the queue has run the job: {"caption"} or the error. */
serve_reply serve_interrogate_reply(const serve_job *job);
void serve_job_clear(serve_job *job);

#endif
