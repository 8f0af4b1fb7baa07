/* The CLIP tokenizer against the Python reference of
 * tests/fixtures/make_clip_tokenizer_fixtures.py (clip.tokenize over
 * simple_tokenizer.py): awkward strings and the category lists with the real
 * merges from ../shared/data (skipped when absent), a tiny synthetic merges list
 * that needs nothing, hand-checked truncation and loader rules, hostile input. */
#include <stdint.h>
#include <time.h>

#include "engine/text/clip_tokenizer.h"
#include "format/png.h"
#include "tests/test.h"

#define FIX "tests/fixtures/clip_tokenizer/"
#define CTX CLIP_TOKENIZER_CONTEXT

/* ---- fixture parsing ----------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "hex\tid id ..." -> NUL-terminated text and ids; returns the id count or -1. */
static int parse_case(const char *line, size_t len, char *text, size_t text_cap, int *ids)
{
    size_t i = 0, t = 0;
    while (i + 1 < len && line[i] != '\t') {
        int a = hexval(line[i]), b = hexval(line[i + 1]);
        if (a < 0 || b < 0 || t + 1 >= text_cap) return -1;
        text[t++] = (char)(a * 16 + b);
        i += 2;
    }
    text[t] = 0;
    if (i >= len || line[i] != '\t') return -1;
    int n = 0;
    const char *p = line + i + 1, *end = line + len;
    while (p < end && n < CTX) {
        char *q;
        long v = strtol(p, &q, 10);
        if (q == p) break;
        ids[n++] = (int)v;
        p = q;
    }
    return n;
}

/* Tokenize and compare with want[0..n) followed by zeros. */
static int same_ids(const clip_tokenizer *tok, const char *text, const int *want, int n)
{
    int got[CTX];
    size_t used = 0;
    if (clip_tokenize(tok, text, got, CTX, &used)) return 0;
    if ((int)used != n) return 0;
    for (int k = 0; k < CTX; k++)
        if (got[k] != (k < n ? want[k] : 0)) return 0;
    return 1;
}

static void print_text(const char *text)
{
    fprintf(stderr, "    text: \"");
    for (const unsigned char *p = (const unsigned char *)text; *p && p - (const unsigned char *)text < 120; p++)
        fprintf(stderr, *p >= 0x20 && *p < 0x7F ? "%c" : "\\x%02x", *p);
    fprintf(stderr, "\"\n");
}

/* Run every "hex\tids" line of buf[0..len) through tok; returns the count. */
static int check_cases(const clip_tokenizer *tok, const char *buf, size_t len)
{
    int count = 0;
    static char text[8192];
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int want[CTX];
        int n = parse_case(p, ll, text, sizeof text, want);
        CHECK(n >= 2);
        if (n >= 2 && !same_ids(tok, text, want, n)) {
            CHECK(!"ids differ from the reference");
            print_text(text);
            int got[CTX];
            size_t used = 0;
            clip_tokenize(tok, text, got, CTX, &used);
            fprintf(stderr, "    got: ");
            for (size_t k = 0; k < used; k++) fprintf(stderr, " %d", got[k]);
            fprintf(stderr, "\n    want:");
            for (int k = 0; k < n; k++) fprintf(stderr, " %d", want[k]);
            fprintf(stderr, "\n");
        }
        count++;
        p += ll + 1;
    }
    return count;
}

/* ---- the synthetic merges (no ../shared needed) ----------------------------- */

static char *synthetic_fixture(size_t *len, const char **merges, size_t *merges_len,
                               const char **cases)
{
    char *buf = (char *)test_read_file(FIX "synthetic.txt", len);
    if (!buf) return NULL;
    char *m = strstr(buf, "merges\n"), *e = strstr(buf, "\nend\n");
    if (!m || !e) {
        free(buf);
        return NULL;
    }
    *merges = m + 7;
    *merges_len = (size_t)(e + 1 - *merges);
    *cases = e + 5;
    return buf;
}

static clip_tokenizer *synthetic_tokenizer(void)
{
    size_t len, ml;
    const char *m, *c;
    char *buf = synthetic_fixture(&len, &m, &ml, &c);
    if (!buf) return NULL;
    clip_tokenizer *tok = NULL;
    fmt_error err;
    if (clip_tokenizer_load(&tok, m, ml, &err)) fprintf(stderr, "    %s\n", err.msg);
    free(buf);
    return tok;
}

static void test_synthetic_against_reference(void)
{
    size_t len, ml;
    const char *m, *cases;
    char *buf = synthetic_fixture(&len, &m, &ml, &cases);
    CHECK(buf != NULL);
    if (!buf) return;
    clip_tokenizer *tok = NULL;
    CHECK(clip_tokenizer_load(&tok, m, ml, NULL) == 0);
    if (tok) CHECK(check_cases(tok, cases, (size_t)(buf + len - cases)) == 12);
    clip_tokenizer_free(tok);
    free(buf);
}

/* Ids worked out by hand from the 18 synthetic merges: 512 + rank for a merge,
 * "c a" given twice (ranks 5 and 17: the later wins), SOT 532, EOT 533. */
static void test_synthetic_by_hand(void)
{
    clip_tokenizer *tok = synthetic_tokenizer();
    CHECK(tok != NULL);
    if (!tok) return;
    CHECK(clip_tokenizer_vocab_size(tok) == 534);
    CHECK(clip_tokenizer_sot(tok) == 532 && clip_tokenizer_eot(tok) == 533);
    int ids[CTX];
    size_t used;
    /* hello -> h e l l o</w> -> he ll o</w> -> hell o</w> -> hello</w> (rank 4) */
    CHECK(clip_tokenize(tok, "  Hello\n", ids, CTX, &used) == 0);
    CHECK(used == 3 && ids[0] == 532 && ids[1] == 516 && ids[2] == 533 && ids[3] == 0 && ids[76] == 0);
    /* cat -> (c a) rank 17 -> "ca" -> (ca t</w>) rank 6 -> id 518 */
    int want_cat[] = {532, 518, 533};
    CHECK(same_ids(tok, "cat", want_cat, 3));
    /* "x" alone: one byte symbol with </w>: 'x' is byte-char index 'x' - '!' */
    int want_x[] = {532, 256 + ('x' - '!'), 533};
    CHECK(same_ids(tok, "x", want_x, 3));
    /* Truncation keeps <|endoftext|> last. */
    CHECK(clip_tokenize(tok, "hello hello hello", ids, 4, &used) == 0);
    CHECK(used == 4 && ids[0] == 532 && ids[1] == 516 && ids[2] == 516 && ids[3] == 533);
    CHECK(clip_tokenize(tok, "hello hello", ids, 4, &used) == 0);
    CHECK(used == 4 && ids[1] == 516 && ids[2] == 516 && ids[3] == 533);
    CHECK(clip_tokenize(tok, "hello", ids, 2, &used) == 0);
    CHECK(used == 2 && ids[0] == 532 && ids[1] == 533);
    CHECK(clip_tokenize(tok, "hello", ids, 1, &used) == -1);
    CHECK(clip_tokenize(tok, NULL, ids, CTX, &used) == -1);
    /* the literal special tokens, in the text */
    int want_sp[] = {532, 516, 533, 532, 533};
    CHECK(same_ids(tok, "hello<|endoftext|><|STARTOFTEXT|>", want_sp, 5));
    clip_tokenizer_free(tok);
}

static void test_loader_rules(void)
{
    clip_tokenizer *tok = NULL;
    fmt_error err;
    CHECK(clip_tokenizer_load(&tok, "", 0, &err) == 0);
    if (tok) CHECK(clip_tokenizer_vocab_size(tok) == 514 && clip_tokenizer_eot(tok) == 513);
    clip_tokenizer_free(tok);
    CHECK(clip_tokenizer_load(&tok, "a b\nc d", 7, &err) == 0); /* no final newline */
    if (tok) CHECK(clip_tokenizer_vocab_size(tok) == 516);
    clip_tokenizer_free(tok);
    const char *bad[] = {"ab\n", "a  b\n", "a b\r\n", " a\n", "a \n", "a b\n\n", "a\tb\n", "a b c\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.msg[0] = 0;
        CHECK(clip_tokenizer_load(&tok, bad[i], strlen(bad[i]), &err) == -1 && tok == NULL);
        CHECK(strstr(err.msg, "clip merges") != NULL);
    }
    const char *vocab = "#version: 0.2\nh e\nl l\n";
    const char *s;
    size_t n;
    CHECK(clip_bpe_merges_from_vocab(vocab, strlen(vocab), &s, &n, &err) == 0);
    CHECK(s == vocab + 14 && n == 8);
    CHECK(clip_bpe_merges_from_vocab("#version\n", 9, &s, &n, &err) == -1);
}

/* Whatever the bytes, the call succeeds with SOT first, EOT at n_used - 1,
 * ids in the vocabulary and zeros after. */
static int well_formed(const clip_tokenizer *tok, const char *text, size_t context)
{
    int ids[CTX];
    size_t used = 0;
    if (clip_tokenize(tok, text, ids, context, &used)) return 0;
    if (used < 2 || used > context || ids[0] != clip_tokenizer_sot(tok)) return 0;
    if (ids[used - 1] != clip_tokenizer_eot(tok)) return 0;
    for (size_t k = 0; k < context; k++)
        if (k < used ? ids[k] < 0 || (size_t)ids[k] >= clip_tokenizer_vocab_size(tok) : ids[k] != 0)
            return 0;
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void hostile_inputs(const clip_tokenizer *tok)
{
    size_t big = CLIP_TOKENIZER_MAX_INPUT + 4096;
    char *s = malloc(big + 1);
    CHECK(s != NULL);
    if (!s) return;
    /* a prefix, then a unit repeated past the input limit */
    static const char *const fills[][2] = {
        {"", "a"}, {"&", "amp;"} /* nested: "&amp;amp;amp;..." */, {"a", "\xcc\x81"}, {"", " "},
        {"", "\xff"}, {"", "\xe2\x80\x9c"}, {"", "<"}, {"", "1"}, {"", "\xc3\xa9"},
        {"", "\xce\xa3"}, {"", "&#x"}, {"", "a\xcc\xa3\xcc\x81"}};
    for (size_t f = 0; f < sizeof fills / sizeof *fills; f++) {
        size_t k = strlen(fills[f][0]), ul = strlen(fills[f][1]);
        memcpy(s, fills[f][0], k);
        for (; k + ul <= big; k += ul) memcpy(s + k, fills[f][1], ul);
        s[k] = 0;
        double t0 = now();
        CHECK(well_formed(tok, s, CTX));
        double dt = now() - t0;
        if (dt > 5.0) {
            fprintf(stderr, "    fill %zu took %.1f s\n", f, dt);
            CHECK(!"bounded work");
        }
    }
    /* random bytes */
    srand(12345);
    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(rand() % 64);
        for (size_t k = 0; k < n; k++) {
            int r = rand() % 6;
            s[k] = (char)(r == 0 ? 0x80 + rand() % 0x80 : r == 1 ? "&#;<>x'"[rand() % 7] : 1 + rand() % 0xFF);
        }
        s[n] = 0;
        CHECK(well_formed(tok, s, (size_t)(2 + i % 76)));
    }
    free(s);
}

static void test_hostile_synthetic(void)
{
    clip_tokenizer *tok = synthetic_tokenizer();
    CHECK(tok != NULL);
    if (tok) hostile_inputs(tok);
    clip_tokenizer_free(tok);
}

/* ---- the real merges -------------------------------------------------------- */

/* Where the real merges are: ../shared/data/bpe_simple_vocab_16e6.txt.gz,
 * or NULL when that file is truly absent (a user's clone). */
static const char *real_merges_path(void)
{
    static char path[1024];
    const char *shared = test_shared_dir();
    if (!shared) return NULL;
    snprintf(path, sizeof path, "%s/data/bpe_simple_vocab_16e6.txt.gz", shared);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    return path;
}

/* Loads the real merges; every failure on the way is a failed check. */
static clip_tokenizer *real_tokenizer(const char *path)
{
    size_t gz_len, text_len, n;
    unsigned char *gz = test_read_file(path, &gz_len);
    char *text = NULL;
    const char *start;
    clip_tokenizer *tok = NULL;
    fmt_error err;
    CHECK(gz != NULL);
    if (!gz) return NULL;
    int inflated = inflate_bounded(gz, gz_len, 16u << 20, 1, &text, &text_len, &err) == 0;
    CHECK(inflated);
    int listed = inflated && clip_bpe_merges_from_vocab(text, text_len, &start, &n, &err) == 0;
    CHECK(listed);
    if (listed) {
        size_t lines = 0;
        for (size_t i = 0; i < n; i++) lines += start[i] == '\n';
        CHECK(lines == 48894);
        if (clip_tokenizer_load(&tok, start, n, &err)) fprintf(stderr, "    %s\n", err.msg);
        CHECK(tok != NULL);
    }
    free(text);
    free(gz);
    return tok;
}

static clip_tokenizer *real;
static const char *real_path;

/* The cases on the real merges skip only when the file is absent; present
 * but unloadable fails them. */
#define NEED_REAL()                                                         \
    do {                                                                    \
        if (!real_path) SKIP("../shared/data/bpe_simple_vocab_16e6.txt.gz absent"); \
        CHECK(real != NULL);                                                \
        if (!real) return;                                                  \
    } while (0)

static void test_real_tokenizer_loads(void)
{
    real_path = real_merges_path();
    if (!real_path) SKIP("../shared/data/bpe_simple_vocab_16e6.txt.gz absent");
    real = real_tokenizer(real_path);
}

static void test_real_vocabulary(void)
{
    NEED_REAL();
    CHECK(clip_tokenizer_vocab_size(real) == 49408);
    CHECK(clip_tokenizer_sot(real) == 49406 && clip_tokenizer_eot(real) == 49407);
    int want[] = {49406, 320, 1125, 539, 320, 2368, 49407}; /* "a photo of a cat" */
    CHECK(same_ids(real, "a photo of a cat", want, 7));
}

static void test_real_cases(void)
{
    NEED_REAL();
    size_t len;
    char *buf = (char *)test_read_file(FIX "cases.txt", &len);
    CHECK(buf != NULL);
    if (buf) CHECK(check_cases(real, buf, len) > 300);
    free(buf);
}

static uint64_t fnv1a_ids(uint64_t h, const int *ids)
{
    for (int k = 0; k < CTX; k++) {
        uint32_t v = (uint32_t)ids[k];
        for (int b = 0; b < 4; b++) h = (h ^ ((v >> (8 * b)) & 0xFF)) * 0x100000001B3ull;
    }
    return h;
}

/* One list: tokenize every line; compare block hashes and sampled ids. */
static void check_list(const char *shared, const char **fix, size_t *phrases, double *secs)
{
    char name[64], path[1024];
    size_t nlines, flagged;
    int off = 0;
    CHECK(sscanf(*fix, "list %63s %zu %zu%n", name, &nlines, &flagged, &off) == 3);
    *fix += off + 1;
    snprintf(path, sizeof path, "%s/data/%s.txt", shared, name);
    size_t len;
    char *data = (char *)test_read_file(path, &len);
    CHECK(data != NULL);
    if (!data) return;
    /* the lines, NUL-terminated in place */
    char **lines = malloc((nlines + 1) * sizeof *lines);
    int(*ids)[CTX] = malloc((nlines + 1) * sizeof *ids);
    size_t n = 0;
    for (char *p = data; p < data + len && n <= nlines;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        if (nl) *nl = 0;
        lines[n++] = p;
        p = nl ? nl + 1 : data + len;
    }
    CHECK(n == nlines);
    double t0 = now();
    for (size_t i = 0; i < n; i++) CHECK(clip_tokenize(real, lines[i], ids[i], CTX, NULL) == 0);
    *secs += now() - t0;
    *phrases += n;
    /* block hashes */
    CHECK(strncmp(*fix, "blocks ", 7) == 0);
    const char *p = *fix + 7;
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) {
        h = fnv1a_ids(h, ids[i]);
        if (i % 4096 == 4095 || i == n - 1) {
            char *q;
            unsigned long long want = strtoull(p, &q, 16);
            if (q == p || want != h) {
                fprintf(stderr, "    %s: lines %zu..%zu differ from the reference\n", name, i / 4096 * 4096 + 1, i + 1);
                CHECK(!"block hash");
            }
            p = q;
            h = 0xCBF29CE484222325ull;
        }
    }
    p = strchr(p, '\n') + 1;
    /* sampled lines */
    while (strncmp(p, "end\n", 4) != 0) {
        char *q;
        size_t i = strtoul(p, &q, 10);
        int want[CTX], k = 0;
        p = q;
        while (*p != '\n' && k < CTX) want[k++] = (int)strtol(p, &q, 10), p = q;
        p++;
        CHECK(i < n);
        if (i >= n) break;
        for (int j = 0; j < CTX; j++) {
            if (ids[i][j] != (j < k ? want[j] : 0)) {
                fprintf(stderr, "    %s line %zu: %s\n", name, i + 1, lines[i]);
                CHECK(!"sampled line differs");
                break;
            }
        }
    }
    *fix = p + 4;
    free(lines);
    free(ids);
    free(data);
}

static void test_category_lists(void)
{
    NEED_REAL();
    const char *shared = test_shared_dir();
    size_t len, phrases = 0;
    double secs = 0;
    char *fix = (char *)test_read_file(FIX "lists.txt", &len);
    CHECK(fix != NULL);
    if (!fix) return;
    const char *p = fix;
    for (int l = 0; l < 4; l++) check_list(shared, &p, &phrases, &secs);
    fprintf(stderr, "    clip_tokenize: %zu phrases in %.3f s (%.0f phrases/s)\n", phrases, secs,
            phrases / secs);
    CHECK(phrases > 100000);
    free(fix);
}

static void test_hostile_real(void)
{
    NEED_REAL();
    hostile_inputs(real);
}

int main(void)
{
    RUN(test_synthetic_against_reference);
    RUN(test_synthetic_by_hand);
    RUN(test_loader_rules);
    RUN(test_hostile_synthetic);
    RUN(test_real_tokenizer_loads);
    RUN(test_real_vocabulary);
    RUN(test_real_cases);
    RUN(test_category_lists);
    RUN(test_hostile_real);
    clip_tokenizer_free(real);
    return test_summary("clip_tokenizer");
}
