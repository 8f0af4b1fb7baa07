/* Building the WebUI's "infotext" (prompt, "Negative prompt:" line,
 * settings line) from parsed fields, as modules/infotext_utils.py writes it. */
#ifndef UNPROMPT_ENGINE_API_INFOTEXT_H
#define UNPROMPT_ENGINE_API_INFOTEXT_H

#include "base/buf.h"
#include "format/gen_params.h"

/* Quote a settings value the WebUI's way: unchanged unless it holds ',', ':'
 * or a newline, then as a JSON string (non-ASCII kept). */
int infotext_quote(buf *out, const char *value, fmt_error *err);
/* prompt \n "Negative prompt: " negative \n "Key: value, Key: value". Lines
 * for absent parts are left out. Returns a malloc'd string or NULL. */
char *infotext_build(const gen_params *p, fmt_error *err);

#endif
