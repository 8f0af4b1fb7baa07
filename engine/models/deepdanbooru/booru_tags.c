/* Threshold, sort, filter and format DeepBooru tags (see booru_tags.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/deepdanbooru/booru_tags.h"
#include "base/buf.h"

booru_tag_options booru_tag_default_options(void)
{
    booru_tag_options o = {
        .threshold = 0.5f, .sort_by_score = 0, .use_spaces = 1, .use_escape = 1, .include_ranks = 0, .filter = NULL};
    return o;
}

/* The filter list: comma-separated, each entry trimmed, spaces → '_'. */
static int tag_filtered(const char *tag, const char *filter)
{
    if (!filter) return 0;
    size_t tlen = strlen(tag);
    const char *p = filter;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r' || *a == '\f' || *a == '\v')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r' || b[-1] == '\f' || b[-1] == '\v')) b--;
        if ((size_t)(b - a) == tlen) {
            size_t i = 0;
            while (i < tlen && (a[i] == ' ' ? '_' : a[i]) == tag[i]) i++;
            if (i == tlen) return 1;
        }
        if (!*end) return 0;
        p = end + 1;
    }
}

static char *format_tag(const char *tag, float score, const booru_tag_options *opt)
{
    buf b;
    buf_init(&b, 0);
    int fail = opt->include_ranks ? buf_append_char(&b, '(', NULL) : 0;
    for (const char *c = tag; *c && !fail; c++) {
        char ch = opt->use_spaces && *c == '_' ? ' ' : *c;
        if (opt->use_escape && (ch == '\\' || ch == '(' || ch == ')')) fail |= buf_append_char(&b, '\\', NULL);
        fail |= buf_append_char(&b, ch, NULL);
    }
    if (opt->include_ranks && !fail) fail = buf_printf(&b, NULL, ":%.3f)", (double)score);
    if (fail) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* qsort is not stable; ties fall back to the tag list order, which is what
 * Python's stable sort keeps. */
static int by_name(const void *a, const void *b)
{
    const booru_tag *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}
static int by_score(const void *a, const void *b)
{
    const booru_tag *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int booru_tags_select(booru_tag_result *out, const char *const *names, const float *probs, size_t n,
                      const booru_tag_options *opt)
{
    memset(out, 0, sizeof *out);
    out->tags = malloc((n ? n : 1) * sizeof *out->tags);
    if (!out->tags) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(probs[i] >= opt->threshold)) continue; /* the WebUI skips p < threshold (and NaN) */
        if (!strncmp(names[i], "rating:", 7)) continue;
        out->tags[out->count++] = (booru_tag){.index = i, .name = names[i], .score = probs[i], .text = NULL};
    }
    qsort(out->tags, out->count, sizeof *out->tags, opt->sort_by_score ? by_score : by_name);
    size_t kept = 0;
    buf line;
    buf_init(&line, 0);
    int fail = buf_append(&line, "", 0, NULL);
    for (size_t i = 0; i < out->count && !fail; i++) {
        booru_tag t = out->tags[i];
        if (tag_filtered(names[t.index], opt->filter)) continue;
        t.text = format_tag(names[t.index], t.score, opt);
        if (!t.text) fail = 1;
        else {
            if (kept) fail |= buf_append_str(&line, ", ", NULL);
            fail |= buf_append_str(&line, t.text, NULL);
            out->tags[kept++] = t;
        }
    }
    out->count = kept;
    out->prompt = buf_take(&line);
    if (fail) {
        booru_tag_result_free(out);
        return -1;
    }
    return 0;
}

void booru_tag_result_free(booru_tag_result *r)
{
    for (size_t i = 0; r->tags && i < r->count; i++) free(r->tags[i].text);
    free(r->tags);
    free(r->prompt);
    memset(r, 0, sizeof *r);
}
