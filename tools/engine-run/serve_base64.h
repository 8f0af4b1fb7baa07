/* The image field of the WebUI's API requests: standard base64 (RFC 4648),
 * alone or as the payload of a data: URL. A hostile-input reader: the text
 * is only ever read within its length, and the decoded size is checked
 * against a limit before anything is allocated. */
#ifndef UNPROMPT_TOOLS_SERVE_BASE64_H
#define UNPROMPT_TOOLS_SERVE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Decode base64 text into a malloc'd buffer of *out_len bytes (*out is
 * never NULL on success, even for empty input). ASCII whitespace is
 * skipped; '=' padding is optional but, when present, must be right;
 * any other character outside the alphabet is an error. Fails (-1, why
 * in err) when the decoded bytes would exceed max_out. */
int base64_decode(const char *text, size_t len, size_t max_out, uint8_t **out, size_t *out_len, char *err,
                  size_t err_size);

/* The base64 payload of an image field: for "data:[type][;params];base64,"
 * the text after the comma; for anything else, the whole text. *payload
 * points into `text`. Fails (-1, why in err) for a data: URL that is not
 * base64 and for an http(s) URL (the server never fetches). */
int image_field_payload(const char *text, size_t len, const char **payload, size_t *payload_len, char *err,
                        size_t err_size);

#endif
