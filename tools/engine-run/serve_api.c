/* The WebUI's png-info and interrogate routes (serve_api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/json.h"
#include "tools/engine-run/serve_api.h"
#include "tools/engine-run/serve_base64.h"

#define JSON_TYPE "application/json"

static serve_reply reply_from_buf(int status, buf *b, int failed)
{
    serve_reply r = {status, NULL, 0, JSON_TYPE};
    if (failed) {
        buf_free(b);
        return serve_error(500, "MemoryError", "out of memory writing the reply");
    }
    r.len = b->len;
    r.body = buf_take(b);
    return r;
}

serve_reply serve_text(int status, const char *content_type, const char *text, size_t len)
{
    serve_reply r = {status, malloc(len ? len : 1), len, content_type};
    if (r.body) memcpy(r.body, text, len);
    return r;
}

serve_reply serve_error(int status, const char *error, const char *detail)
{
    buf b;
    buf_init(&b, 0);
    int bad = buf_append_str(&b, "{\"error\": ", NULL) || json_write_string(&b, error, strlen(error), NULL) ||
              buf_append_str(&b, ", \"detail\": ", NULL) || json_write_string(&b, detail, strlen(detail), NULL) ||
              buf_append_char(&b, '}', NULL);
    serve_reply r = {status, NULL, 0, JSON_TYPE};
    if (bad) {
        buf_free(&b);
        return r;
    }
    r.len = b.len;
    r.body = buf_take(&b);
    return r;
}

/* The decoded image of a request body's "image" member. Returns 0, or -1
 * with the error reply. A missing or null image is the WebUI's 404. */
static int request_image(const json_value *req, size_t max_image, uint8_t **bytes, size_t *len, serve_reply *reply)
{
    char err[256], detail[320];
    const json_value *image = json_get(req, "image");
    const char *payload;
    size_t payload_len;
    if (!image || image->type == JSON_NULL) {
        *reply = serve_error(404, "HTTPException", "Image not found");
        return -1;
    }
    if (image->type != JSON_STRING) {
        *reply = serve_error(422, "RequestValidationError", "image: a string is required (base64 or a data: URL)");
        return -1;
    }
    if (image_field_payload(image->str, image->len, &payload, &payload_len, err, sizeof err) ||
        base64_decode(payload, payload_len, max_image, bytes, len, err, sizeof err)) {
        snprintf(detail, sizeof detail, "Invalid encoded image: %s", err);
        *reply = serve_error(400, "HTTPException", detail);
        return -1;
    }
    return 0;
}

/* Parse a request body as one JSON object; NULL with the error reply. */
static json_value *request_object(const char *body, size_t len, serve_reply *reply)
{
    fmt_error e;
    json_limits lim = json_default_limits();
    lim.max_depth = 32;
    json_value *v = json_parse(body, len, &lim, &e);
    if (!v) {
        *reply = serve_error(400, "JSONDecodeError", e.msg);
        return NULL;
    }
    if (v->type != JSON_OBJECT) {
        json_free(v);
        *reply = serve_error(422, "RequestValidationError", "the body must be a JSON object");
        return NULL;
    }
    return v;
}

/* "items": every stored text entry except the parameters themselves (a PNG's
 * "parameters" chunk, or the Exif UserComment they were read from). */
static int write_items(buf *b, const unprompt_info *info)
{
    int bad = buf_append_str(b, ", \"items\": {", NULL), first = 1;
    for (size_t i = 0; !bad && i < info->n_raw; i++) {
        const unprompt_kv *kv = &info->raw[i];
        if (!strcmp(kv->key, "parameters") || (info->infotext && !strcmp(kv->value, info->infotext))) continue;
        bad = (!first && buf_append_str(b, ", ", NULL)) || json_write_string(b, kv->key, strlen(kv->key), NULL) ||
              buf_append_str(b, ": ", NULL) || json_write_string(b, kv->value, strlen(kv->value), NULL);
        first = 0;
    }
    return bad || buf_append_char(b, '}', NULL);
}

static int write_member(buf *b, int first, const char *key, const char *value)
{
    return (!first && buf_append_str(b, ", ", NULL)) || json_write_string(b, key, strlen(key), NULL) ||
           buf_append_str(b, ": ", NULL) || json_write_string(b, value, strlen(value), NULL);
}

/* "parameters": the prompt, the negative prompt and the settings under
 * the WebUI's names (string values); {} when nothing was recognised. */
static int write_parameters(buf *b, const unprompt_info *info)
{
    int bad = buf_append_str(b, ", \"parameters\": {", NULL);
    if (!bad && info->generator) {
        bad = write_member(b, 1, "Prompt", info->prompt ? info->prompt : "") ||
              write_member(b, 0, "Negative prompt", info->negative_prompt ? info->negative_prompt : "");
        for (size_t i = 0; !bad && i < info->n_settings; i++)
            bad = write_member(b, 0, info->settings[i].key, info->settings[i].value);
    }
    return bad || buf_append_char(b, '}', NULL);
}

static serve_reply png_info_reply(const unprompt_info *info)
{
    char *text = unprompt_info_to_text(info);
    if (!text) return serve_error(413, "HTTPException", "the stored text is over the per-file budget");
    buf b;
    buf_init(&b, 0);
    int bad = buf_append_str(&b, "{\"info\": ", NULL) || json_write_string(&b, text, strlen(text), NULL) ||
              write_items(&b, info) || write_parameters(&b, info) || buf_append_char(&b, '}', NULL);
    unprompt_string_free(text);
    return reply_from_buf(200, &b, bad);
}

serve_reply serve_png_info(const char *body, size_t len, const unprompt_info_params *params, size_t max_image)
{
    serve_reply reply;
    json_value *req = request_object(body, len, &reply);
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (!req) return reply;
    int bad = request_image(req, max_image, &bytes, &n, &reply);
    json_free(req);
    if (bad) return reply;
    unprompt_info info;
    char err[256], detail[320];
    if (unprompt_info_read(bytes, n, params, &info, err, sizeof err) != UNPROMPT_OK) {
        free(bytes);
        snprintf(detail, sizeof detail, "Invalid encoded image: %s", err);
        return serve_error(400, "HTTPException", detail);
    }
    free(bytes);
    reply = png_info_reply(&info);
    unprompt_info_free(&info);
    return reply;
}

int serve_interrogate_request(const char *body, size_t len, size_t max_image, serve_job *job, serve_reply *reply)
{
    json_value *req = request_object(body, len, reply);
    if (!req) return -1;
    const json_value *model = json_get(req, "model");
    const char *name = model && model->type != JSON_NULL ? json_str(model) : "clip";
    int rc = -1;
    if (!name) *reply = serve_error(422, "RequestValidationError", "model: a string is required");
    else if (!request_image(req, max_image, &job->bytes, &job->len, reply)) {
        /* as the WebUI: the image is decoded before the model is looked up */
        rc = 0;
        if (!strcmp(name, "clip")) job->model = SERVE_MODEL_CLIP;
        else if (!strcmp(name, "deepdanbooru")) job->model = SERVE_MODEL_BOORU;
        else rc = -1, *reply = serve_error(404, "HTTPException", "Model not found");
    }
    json_free(req);
    if (rc) serve_job_clear(job);
    return rc;
}

serve_reply serve_interrogate_reply(const serve_job *job)
{
    if (job->http_status != 200 || !job->caption)
        return serve_error(job->http_status == 200 ? 500 : job->http_status, "HTTPException", job->err);
    buf b;
    buf_init(&b, 0);
    int bad = buf_append_str(&b, "{\"caption\": ", NULL) ||
              json_write_string(&b, job->caption, strlen(job->caption), NULL) || buf_append_char(&b, '}', NULL);
    return reply_from_buf(200, &b, bad);
}

void serve_job_clear(serve_job *job)
{
    free(job->bytes);
    free(job->caption);
    job->bytes = NULL, job->caption = NULL, job->len = 0;
}
