/* DeepBooru tag selection and formatting, following modules/deepbooru.py;
 * expected lines are worked out by hand from that file's rules. */
#include "engine/models/deepdanbooru/booru_tags.h"
#include "tests/test.h"

static const char *const names[] = {"solo",       "1girl",  "rating:safe", "acrylic_paint_(medium)",
                                    "short_hair", "back\\slash", "looking_at_viewer", "zzz", ":d"};
static const float probs[] = {0.9f, 0.97f, 0.99f, 0.6f, 0.5f, 0.7f, 0.49999f, 0.8f, 0.8f};
#define N (sizeof names / sizeof names[0])

static char *line(booru_tag_options o)
{
    booru_tag_result r;
    if (booru_tags_select(&r, names, probs, N, &o)) return NULL;
    char *s = r.prompt ? strdup(r.prompt) : NULL;
    booru_tag_result_free(&r);
    return s;
}

static void test_defaults_alphabetical_spaces_escapes(void)
{
    char *s = line(booru_tag_default_options());
    /* >= 0.5 kept (short_hair at exactly 0.5), rating:* dropped, byte order. */
    CHECK_STR(s, "1girl, :d, acrylic paint \\(medium\\), back\\\\slash, short hair, solo, zzz");
    free(s);
}

static void test_score_sort_with_ranks_is_stable(void)
{
    booru_tag_options o = booru_tag_default_options();
    o.sort_by_score = 1, o.include_ranks = 1;
    char *s = line(o);
    /* zzz and :d tie at 0.8: list order (zzz first) is kept. */
    CHECK_STR(s, "(1girl:0.970), (solo:0.900), (zzz:0.800), (:d:0.800), (back\\\\slash:0.700), "
                 "(acrylic paint \\(medium\\):0.600), (short hair:0.500)");
    free(s);
}

static void test_raw_form_and_filter(void)
{
    booru_tag_options o = booru_tag_default_options();
    o.use_spaces = 0, o.use_escape = 0;
    o.filter = " short hair,solo ,  , nothing";
    char *s = line(o);
    CHECK_STR(s, "1girl, :d, acrylic_paint_(medium), back\\slash, zzz");
    free(s);
}

static void test_threshold_zero_lists_all_but_ratings(void)
{
    booru_tag_options o = booru_tag_default_options();
    o.threshold = 0;
    booru_tag_result r;
    CHECK(booru_tags_select(&r, names, probs, N, &o) == 0);
    CHECK(r.count == N - 1);
    CHECK_STR(r.tags[0].name, "1girl");
    CHECK(r.tags[0].index == 1 && r.tags[0].score == 0.97f);
    booru_tag_result_free(&r);
}

static void test_nothing_above_threshold_is_empty(void)
{
    booru_tag_options o = booru_tag_default_options();
    o.threshold = 0.999f;
    char *s = line(o);
    CHECK_STR(s, "");
    free(s);
}

int main(void)
{
    RUN(test_defaults_alphabetical_spaces_escapes);
    RUN(test_score_sort_with_ranks_is_stable);
    RUN(test_raw_form_and_filter);
    RUN(test_threshold_zero_lists_all_but_ratings);
    RUN(test_nothing_above_threshold_is_empty);
    return test_summary("booru_tags");
}
