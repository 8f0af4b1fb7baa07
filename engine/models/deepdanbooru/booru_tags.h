/* DeepBooru post-processing, as the WebUI's modules/deepbooru.py does it:
 * keep tags with probability >= threshold, drop "rating:*", sort by name
 * (byte order = code-point order) or by descending score (stable), remove
 * filtered tags (compared in underscore form), then per tag: underscores to
 * spaces, backslash-escape \ ( ), and "(tag:0.987)" when ranks are asked. */
#ifndef UNPROMPT_ENGINE_MODELS_DEEPDANBOORU_BOORU_TAGS_H
#define UNPROMPT_ENGINE_MODELS_DEEPDANBOORU_BOORU_TAGS_H

#include <stddef.h>

typedef struct {
    float threshold;     /* 0.5 */
    int sort_by_score;   /* 0: alphabetical (the WebUI default) */
    int use_spaces;      /* 1 */
    int use_escape;      /* 1 */
    int include_ranks;   /* 0 */
    const char *filter;  /* "tag1, tag2" or NULL */
} booru_tag_options;

booru_tag_options booru_tag_default_options(void);

typedef struct {
    size_t index;     /* into the model's tag list */
    const char *name; /* the model's tag, e.g. "short_hair" (not owned) */
    float score;
    char *text;       /* as printed (spaces, escapes, rank) */
} booru_tag;

typedef struct {
    booru_tag *tags; /* in output order */
    size_t count;
    char *prompt;    /* tags joined with ", " */
} booru_tag_result;

/* Select and format. names[i] is the tag of probs[i]. Returns 0, or -1 on
 * allocation failure. */
int booru_tags_select(booru_tag_result *out, const char *const *names, const float *probs, size_t n,
                      const booru_tag_options *opt);
void booru_tag_result_free(booru_tag_result *r);

#endif
