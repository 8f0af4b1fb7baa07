/* A tiny test harness. Each tests/test_*.c is one program:
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(test_something); return test_summary("png"); }
 *
 * A test case passes when all of its checks pass. test_summary() prints
 * "<name>: N passed, N failed, N skipped" and returns the exit status;
 * tests/run.sh adds the lines up.
 *
 * Failures are never lost: a CHECK that fails outside any case (set-up code
 * in main) counts as a failed case of its own. Skips are only for what is
 * truly absent: SKIP("why") ends the running case as skipped (../shared test
 * data missing, as in a user's clone); TEST_SKIP_PART(what, why) counts a
 * named skip for a part of a case that cannot run here (a kernel level this
 * CPU lacks) and lets the case go on. The summary line names what was
 * skipped, so a level that never ran is visible. */
#ifndef UNPROMPT_TESTS_TEST_H
#define UNPROMPT_TESTS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed, test_skipped;
static int test_case_failed, test_case_skipped, test_in_case;
static const char *test_case_name = "";
static char test_skip_names[512];

/* A failed check: fails the running case, or, outside any case, counts as
 * a failed case by itself. */
static inline void test_note_failure(void)
{
    if (test_in_case) {
        test_case_failed = 1;
    } else {
        test_failed++;
        fprintf(stderr, "not ok (a check outside any case)\n");
    }
}

/* Remember a skipped part's name once for the summary line. */
static inline void test_note_skip_name(const char *what)
{
    size_t have = strlen(test_skip_names), n = strlen(what);
    for (const char *p = test_skip_names; (p = strstr(p, what)) != NULL; p += n)
        if ((p == test_skip_names || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) return;
    if (have + n + 3 < sizeof test_skip_names)
        snprintf(test_skip_names + have, sizeof test_skip_names - have, "%s%s", have ? ", " : "", what);
}

#define TEST_SKIP_PART(what, why)                                                  \
    do {                                                                           \
        fprintf(stderr, "  SKIP %s: %s: %s\n", test_case_name, (what), (why));      \
        test_skipped++;                                                            \
        test_note_skip_name(what);                                                 \
    } while (0)

/* A kernel level (kernels_init_level) this CPU cannot run: a named skip. */
static inline void test_skip_level(const char *level)
{
    char what[64];
    snprintf(what, sizeof what, "level %s", level);
    TEST_SKIP_PART(what, "not runnable on this CPU");
}
#define TEST_SKIP_LEVEL(level) test_skip_level(level)

/* Fill kernel table t for `level` (kernels/kernels.h), or skip the running
 * case when this CPU lacks it: for cases that run one level each. */
#define INIT_LEVEL_OR_SKIP(t, level)                                    \
    do {                                                                \
        if (kernels_init_level(&(t), (level)) != 0) {                   \
            static char why_[96];                                       \
            snprintf(why_, sizeof why_, "this CPU lacks %s", (level)); \
            SKIP(why_);                                                 \
        }                                                               \
    } while (0)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "  FAIL %s (%s:%d): %s\n", test_case_name, __FILE__, __LINE__, \
                    #cond);                                                                \
            test_note_failure();                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_STR(got, want)                                                                 \
    do {                                                                                     \
        const char *g_ = (got), *w_ = (want);                                                \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                             \
            fprintf(stderr, "  FAIL %s (%s:%d): %s\n    got:  %s%s%s\n    want: %s%s%s\n",   \
                    test_case_name, __FILE__, __LINE__, #got, g_ ? "\"" : "",                \
                    g_ ? g_ : "(null)", g_ ? "\"" : "", w_ ? "\"" : "", w_ ? w_ : "(null)", \
                    w_ ? "\"" : "");                                                         \
            test_note_failure();                                                             \
        }                                                                                    \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                                          \
    do {                                                                                    \
        double g_ = (got), w_ = (want);                                                     \
        if (!(fabs(g_ - w_) <= (tol))) {                                                    \
            fprintf(stderr, "  FAIL %s (%s:%d): %s = %.9g, want %.9g (tol %g)\n",           \
                    test_case_name, __FILE__, __LINE__, #got, g_, w_, (double)(tol));       \
            test_note_failure();                                                            \
        }                                                                                   \
    } while (0)

#define SKIP(why)                                                                    \
    do {                                                                             \
        fprintf(stderr, "  SKIP %s: %s\n", test_case_name, why);                     \
        test_case_skipped = 1;                                                       \
        return;                                                                      \
    } while (0)

/* TEST_ONLY=a,b runs only the cases whose name contains one of the
 * comma-separated words (to look closer at one case under a debugger or a
 * sanitizer; name the case that makes a file's fixtures too). */
/* The worse of a running worst error and a new one, NaN the worst of all
 * and kept once seen: `e > worst ? e : worst` and fmax() skip a NaN, so a
 * kernel that wrote NaN would pass a bound on the largest error. */
static inline double test_worse(double worst, double e)
{
    return isnan(worst) || e <= worst ? worst : e;
}

static inline int test_selected(const char *name)
{
    const char *only = getenv("TEST_ONLY");
    if (!only || !*only) return 1;
    for (const char *w = only; *w;) {
        size_t n = strcspn(w, ",");
        for (const char *p = name; n > 0 && *p; p++)
            if (strncmp(p, w, n) == 0) return 1;
        w += n + (w[n] == ',');
    }
    return 0;
}

#define RUN(fn)                                                  \
    do {                                                         \
        test_case_name = #fn;                                    \
        if (!test_selected(#fn)) break;                          \
        test_case_failed = 0;                                    \
        test_case_skipped = 0;                                   \
        if (getenv("TEST_VERBOSE")) fprintf(stderr, "run %s\n", #fn); \
        test_in_case = 1;                                        \
        fn();                                                    \
        test_in_case = 0;                                        \
        if (test_case_failed) {                                  \
            test_failed++;                                       \
            fprintf(stderr, "not ok %s\n", #fn);                 \
        } else if (test_case_skipped) {                          \
            test_skipped++;                                      \
            test_note_skip_name(#fn);                            \
        } else {                                                 \
            test_passed++;                                       \
        }                                                        \
    } while (0)

static inline int test_summary(const char *name)
{
    printf("%s: %d passed, %d failed, %d skipped%s%s%s\n", name, test_passed, test_failed, test_skipped,
           test_skip_names[0] ? " (" : "", test_skip_names, test_skip_names[0] ? ")" : "");
    return test_failed ? 1 : 0;
}

/* Read a whole file (NULL if missing), NUL-terminated. Tests only. */
static inline unsigned char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = malloc(cap);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char *q = realloc(p, cap * 2);
            if (!q) { free(p); p = NULL; break; }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p) p[n] = 0; /* n < cap: the buffer grows when it fills */
    if (len) *len = n;
    return p;
}

/* Where ../shared lives: $UNPROMPT_SHARED, else "../shared". NULL if absent. */
static inline const char *test_shared_dir(void)
{
    const char *d = getenv("UNPROMPT_SHARED");
    if (!d) d = "../shared";
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/SPEC.md", d);
    FILE *f = fopen(probe, "rb");
    if (!f) return NULL;
    fclose(f);
    return d;
}

#endif
