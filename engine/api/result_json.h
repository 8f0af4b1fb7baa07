/* The one writer of the library's JSON results. Every object a formatter
 * makes for an image (info, clip, caption, booru, all, embed) begins with
 * result_json_begin's {"file": …}, and a model's part is written by the
 * same function whether it stands alone or is nested in `all`'s object.
 *
 * json_out writes members and elements with ", " between them and ": "
 * after keys; once an append fails (out of memory, or past the buf's
 * limit) every later call does nothing and json_out_take gives NULL. */
#ifndef UNPROMPT_ENGINE_API_RESULT_JSON_H
#define UNPROMPT_ENGINE_API_RESULT_JSON_H

#include <stddef.h>

#include "engine/api/unprompt.h"
#include "base/buf.h"
#include "base/error.h"

typedef struct {
    buf *b;
    fmt_error *e; /* may be NULL */
    int first;    /* nothing written yet in the innermost object or array */
    int failed;
} json_out;

/* "{" into b. */
void json_out_begin(json_out *o, buf *b, fmt_error *e);
/* A member's key (key != NULL) or, in an array, the separator. */
void json_out_key(json_out *o, const char *key);
/* key: "value"; NULL → null. */
void json_out_str(json_out *o, const char *key, const char *value);
/* key: the JSON text as it is (a number, true, …). */
void json_out_raw(json_out *o, const char *key, const char *json);
/* key: a number: an int; a score as "%.6f"; a feature as "%.7g". */
void json_out_int(json_out *o, const char *key, int v);
void json_out_score(json_out *o, const char *key, float v);
void json_out_feature(json_out *o, const char *key, float v);
/* key: and an opening '{' or '['; key NULL: an element of an array. */
void json_out_open(json_out *o, const char *key, char bracket);
/* The closing '}' or ']'. */
void json_out_close(json_out *o, char bracket);
/* The text (malloc'd, free with unprompt_string_free) with the outermost
 * '}' added, or NULL (the buf freed) when an append failed. */
char *json_out_take(json_out *o);

/* {"file": F (null when NULL): how every per-image object begins. */
void result_json_begin(json_out *o, buf *b, const char *file, fmt_error *e);

/* The members of each result: "prompt", "caption", "categories" (clip);
 * "prompt", "tags" (booru). */
void result_json_clip(json_out *o, const unprompt_clip_result *r);
void result_json_booru(json_out *o, const unprompt_booru_result *r);

#endif
