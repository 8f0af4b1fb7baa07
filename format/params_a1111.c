/* AUTOMATIC1111 / Forge / SD.Next infotext, parsed the way the WebUI's
 * parse_generation_parameters does (modules/infotext_utils.py):
 *
 *   prompt lines
 *   Negative prompt: negative lines
 *   Key: value, Key: "quoted, value", Key: value
 *
 * The last line is the settings line only when its `Key: value` pattern
 * matches at least 3 times; otherwise it belongs to the prompt. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/gen_params.h"
#include "format/json.h"

/* Python's str.isspace for the ASCII range. */
static int py_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
}

/* \w of Python's re on str: letters, digits, underscore; non-ASCII bytes of
 * UTF-8 letters are taken as word characters. */
static int word_char(unsigned char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int key_char(unsigned char c)
{
    return word_char(c) || c == ' ' || c == '-' || c == '/';
}

typedef struct {
    size_t key_start, key_end;
    size_t val_start, val_end;
    size_t next; /* where the following search starts */
} param_match;

/* The quoted alternative "(?:\\.|[^\\"])+" followed by ',' or end. */
static int match_quoted(const char *s, size_t n, size_t pos, size_t *end)
{
    if (pos >= n || s[pos] != '"') return 0;
    size_t i = pos + 1, inner = 0;
    while (i < n && s[i] != '"') {
        if (s[i] == '\\') {
            if (i + 1 >= n || s[i + 1] == '\n') return 0;
            i += 2;
        } else {
            i++;
        }
        inner++;
    }
    if (i >= n || inner == 0) return 0;
    i++; /* closing quote */
    if (i < n && s[i] != ',') return 0;
    *end = i;
    return 1;
}

/* One attempt of \s*(\w[\w \-/]+):\s*("…"|[^,]*)(?:,|$) at pos. On failure
 * *resume is the first position where an attempt could succeed: every start
 * in [pos, *resume) skips the same spaces and runs into the same key end, so
 * it fails the same way. That keeps the scan linear (re.findall is quadratic
 * on a long line without ':'). */
static int match_at(const char *s, size_t n, size_t pos, param_match *m, size_t *resume)
{
    size_t i = pos;
    while (i < n && py_space((unsigned char)s[i])) i++;
    if (i >= n || !word_char((unsigned char)s[i])) {
        *resume = i + 1;
        return 0;
    }
    size_t k = i + 1;
    while (k < n && key_char((unsigned char)s[k])) k++;
    if (k - i < 2 || k >= n || s[k] != ':') {
        /* A start inside (i, k) has a shorter key ending at the same k, so
         * it fails too (when s[k] is ':', i failed only by a key of one
         * character, and there is no such start). */
        *resume = k;
        return 0;
    }
    m->key_start = i;
    m->key_end = k;
    size_t v = k + 1;
    while (v < n && py_space((unsigned char)s[v])) v++;
    size_t end;
    if (match_quoted(s, n, v, &end)) {
        m->val_start = v;
        m->val_end = end;
    } else {
        end = v;
        while (end < n && s[end] != ',') end++;
        m->val_start = v;
        m->val_end = end;
    }
    m->next = end < n ? end + 1 : end;
    return 1;
}

/* re.findall: every position is a possible start, continue after each
 * match; positions a failed attempt proved hopeless are stepped over. Each
 * quoted value's scan stops at the first unescaped quote, where the next
 * quoted value could begin at the earliest, so the whole scan is O(n).
 * Each match goes to `fn` (may be NULL); the scan stops after `most`
 * matches (0: all) or when fn fails. Returns the matches, or -1. */
typedef int (*param_fn)(void *ctx, const char *s, const param_match *m, fmt_error *err);

static long find_params(const char *s, size_t n, size_t most, param_fn fn, void *ctx, fmt_error *err)
{
    size_t count = 0, pos = 0;
    while (pos < n && (!most || count < most)) {
        param_match m;
        size_t resume = pos + 1;
        if (match_at(s, n, pos, &m, &resume)) {
            if (fn && fn(ctx, s, &m, err)) return -1;
            count++;
            pos = m.next > pos ? m.next : pos + 1;
        } else {
            pos = resume > pos ? resume : pos + 1;
        }
    }
    return (long)count;
}

/* The WebUI's unquote: json.loads of a "..." value, else the text as is. */
static int set_value(gen_params *p, const char *key, const char *v, size_t len, fmt_error *err)
{
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        fmt_error jerr;
        json_value *j = json_parse(v, len, NULL, &jerr);
        if (j && j->type == JSON_STRING) {
            int rc = gen_params_set(p, key, j->str, j->len, err);
            json_free(j);
            return rc;
        }
        json_free(j);
    }
    return gen_params_set(p, key, v, len, err);
}

/* One "Key: value" of the settings line into p. */
static int set_param(void *ctx, const char *s, const param_match *m, fmt_error *err)
{
    /* An empty value raises in the WebUI's parser and the key is dropped. */
    if (m->val_end == m->val_start) return 0;
    char *key = str_ndup(s + m->key_start, m->key_end - m->key_start);
    if (!key) return fmt_fail(err, "out of memory");
    int rc = set_value(ctx, key, s + m->val_start, m->val_end - m->val_start, err);
    free(key);
    return rc;
}

static void strip(const char **s, size_t *n)
{
    while (*n && py_space((unsigned char)**s)) (*s)++, (*n)--;
    while (*n && py_space((unsigned char)(*s)[*n - 1])) (*n)--;
}

static int append_line(buf *b, int *has, const char *line, size_t n, fmt_error *err)
{
    if (*has && buf_append_char(b, '\n', err)) return -1;
    *has = 1;
    return buf_append(b, line, n, err);
}

int params_parse_a1111(const char *text, size_t len, gen_params *p, fmt_error *err)
{
    const char *s = text;
    size_t n = len;
    strip(&s, &n);
    /* The last line (after the final '\n') may be the settings line. */
    size_t last = n;
    while (last > 0 && s[last - 1] != '\n') last--;
    size_t body_end = n;
    if (find_params(s + last, n - last, 3, NULL, NULL, err) >= 3) body_end = last;
    buf prompt, negative;
    buf_init(&prompt, 0);
    buf_init(&negative, 0);
    int has_p = 0, has_n = 0, negative_seen = 0, rc = 0;
    size_t pos = 0;
    while (pos < body_end && !rc) {
        size_t e = pos;
        while (e < body_end && s[e] != '\n') e++;
        const char *line = s + pos;
        size_t ln = e - pos;
        strip(&line, &ln);
        if (ln >= 16 && !memcmp(line, "Negative prompt:", 16)) {
            negative_seen = 1;
            line += 16;
            ln -= 16;
            strip(&line, &ln);
        }
        rc = negative_seen ? append_line(&negative, &has_n, line, ln, err)
                           : append_line(&prompt, &has_p, line, ln, err);
        pos = e + 1;
    }
    if (!rc) rc = gen_params_set_text(&p->prompt, prompt.data ? prompt.data : "", prompt.len, err);
    if (!rc && negative_seen)
        rc = gen_params_set_text(&p->negative_prompt, negative.data ? negative.data : "", negative.len, err);
    buf_free(&prompt);
    buf_free(&negative);
    if (!rc && body_end < n && find_params(s + last, n - last, 0, set_param, p, err) < 0) rc = -1;
    if (!rc) p->generator = "automatic1111";
    return rc;
}
