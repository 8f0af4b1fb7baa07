/* Cost of the JSON readers at their limits (issue 21), and the exactness of
 * their fast paths.
 *
 * Each cost case builds the worst graph it knows for one walk at the largest
 * input a reader accepts: the 16 MiB per-chunk text cap, within
 * json_default_limits() (4,000,000 values, depth 256). It asserts a CPU
 * bound (clock()) that only a super-linear walk or a hang could exceed,
 * and, outside AddressSanitizer (whose shadow and quarantine inflate the
 * resident size), a bound on the growth of the peak resident size. The
 * linear code takes ~0.1-0.5 s per case here under ASan; the old walks took
 * minutes to hours on the same inputs.
 *
 * The exactness cases hold graphs whose output was recorded from the walks
 * before they were made linear, and compare json_get's index with a plain
 * scan and text_join with the old strstr de-duplication on random input. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "base/buf.h"
#include "format/gen_params.h"
#include "format/json.h"
#include "format/text_join.h"
#include "tests/test.h"

#ifndef COST_TEXT_CAP
/* The largest text a file may carry: the per-file budget, less room for a
 * keyword (format/meta.h). */
#define COST_TEXT_CAP (META_DEFAULT_BUDGET - 64)
#endif

#if defined(__SANITIZE_ADDRESS__)
#define COST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COST_ASAN 1
#endif
#endif
#ifndef COST_ASAN
#define COST_ASAN 0
#endif

/* ---- measuring ------------------------------------------------------------ */

#define COST_CPU_LIMIT 60.0 /* seconds per case, whatever the machine */
#define COST_PARSES 10.0    /* and at most this many parses of the same text... */
#define COST_SLACK 2.0      /* ...plus this many seconds */
#define COST_ALARM 120      /* a case still running then has hung */

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double cpu_since(clock_t t0)
{
    return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* CPU seconds one json_parse of the text takes: the linear baseline the
 * walks are measured against (it scales with the machine, its load and the
 * sanitizers as they do). */
static double parse_seconds(const buf *b)
{
    clock_t t0 = clock();
    json_value *v = json_parse(b->data, b->len, NULL, NULL);
    double secs = cpu_since(t0);
    CHECK(v != NULL);
    json_free(v);
    return secs;
}

typedef struct {
    clock_t t0;
    long rss0_kb;
} cost_mark;

static cost_mark cost_start(void)
{
    cost_mark m = {clock(), peak_rss_kb()};
    return m;
}

/* Check the CPU time since the mark against COST_CPU_LIMIT and against
 * COST_PARSES parses of `text` plus COST_SLACK (the parse is timed only
 * when the slack alone does not cover the case), and, outside ASan (whose
 * shadow and quarantine inflate it), the growth of the peak resident size
 * against max_mb. */
static void cost_check(const char *what, cost_mark m, const buf *text, double max_mb)
{
    double secs = cpu_since(m.t0);
    double grew_mb = (double)(peak_rss_kb() - m.rss0_kb) / 1024.0;
    double parse = secs < COST_SLACK ? 0 : parse_seconds(text);
    fprintf(stderr, "    %s: %.2f MiB, %.3f s CPU", what, (double)text->len / (1 << 20), secs);
    if (parse > 0) fprintf(stderr, " (one json_parse: %.3f s)", parse);
    fprintf(stderr, ", peak RSS +%.0f MiB\n", grew_mb);
    CHECK(secs < COST_CPU_LIMIT);
    CHECK(secs < COST_PARSES * parse + COST_SLACK);
    if (!COST_ASAN) CHECK(grew_mb < max_mb);
}

/* Run a cost case in a child process: its peak resident size is then its
 * own, and a hang ends at the alarm. */
static void in_child(void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(COST_ALARM);
        test_case_failed = 0;
        fn();
        exit(test_case_failed ? 1 : 0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- building inputs ------------------------------------------------------ */

static void put(buf *b, const char *s)
{
    CHECK(buf_append_str(b, s, NULL) == 0);
}

/* The decimal digits of n at dst (NUL-terminated); their count. */
static size_t digits(char *dst, size_t n)
{
    char t[24];
    size_t k = 0;
    do t[k++] = (char)('0' + n % 10), n /= 10;
    while (n);
    for (size_t i = 0; i < k; i++) dst[i] = t[k - 1 - i];
    dst[k] = '\0';
    return k;
}

/* pre, n in decimal, post: the building block of the large inputs (much
 * cheaper than snprintf under the sanitizers). */
static void put3(buf *b, const char *pre, size_t n, const char *post)
{
    char d[24];
    size_t k = digits(d, n);
    CHECK(buf_append_str(b, pre, NULL) == 0 && buf_append(b, d, k, NULL) == 0 && buf_append_str(b, post, NULL) == 0);
}

/* How many copies of a `unit`-byte piece fit in the cap after `fixed` bytes. */
static size_t fit(size_t fixed, size_t unit)
{
    return fixed < COST_TEXT_CAP ? (COST_TEXT_CAP - fixed) / unit : 0;
}

static gen_params run_comfy(const buf *prompt, const buf *workflow, int expect)
{
    gen_params p;
    fmt_error e;
    gen_params_init(&p);
    e.msg[0] = '\0';
    int rc = params_parse_comfyui(prompt ? prompt->data : NULL, prompt ? prompt->len : 0,
                                  workflow ? workflow->data : NULL, workflow ? workflow->len : 0, &p, &e);
    if (rc != expect) fprintf(stderr, "    comfyui: %s\n", e.msg);
    CHECK(rc == expect);
    return p;
}

static gen_params comfy_str(const char *prompt, const char *workflow, int expect)
{
    buf pb, wb;
    buf_init(&pb, 0);
    buf_init(&wb, 0);
    if (prompt) put(&pb, prompt);
    if (workflow) put(&wb, workflow);
    gen_params p = run_comfy(prompt ? &pb : NULL, workflow ? &wb : NULL, expect);
    buf_free(&pb);
    buf_free(&wb);
    return p;
}

/* ---- cost: the editor's workflow ------------------------------------------ */

/* One KSampler whose inputs are all named "positive" but link nowhere, then
 * the real two; the links table as long again. The old wf_source scanned
 * every link for every such input: inputs x links. */
static void workflow_inputs_times_links(void)
{
    static const char head[] = "{\"nodes\":[{\"id\":1,\"type\":\"KSampler\",\"inputs\":[";
    static const char mid[] =
        "{\"name\":\"positive\",\"link\":7},{\"name\":\"negative\",\"link\":8}],"
        "\"widgets_values\":[99,\"fixed\",25,8,\"dpmpp_2m\",\"karras\",1]},"
        "{\"id\":2,\"type\":\"CLIPTextEncode\",\"widgets_values\":[\"a tree\"]},"
        "{\"id\":3,\"type\":\"CLIPTextEncode\",\"widgets_values\":[\"blurry\"]}],\"links\":[";
    static const char tail[] = "[7,2,0,1,0,\"C\"],[8,3,0,1,1,\"C\"]]}";
    char in[64], link[64];
    size_t in_len = (size_t)snprintf(in, sizeof in, "{\"name\":\"positive\",\"link\":%d},", 10000000);
    size_t link_len = (size_t)snprintf(link, sizeof link, "[%d,9,0,1,0,\"C\"],", 20000000);
    size_t n = fit(sizeof head + sizeof mid + sizeof tail, in_len + link_len);
    buf b;
    buf_init(&b, 0);
    put(&b, head);
    for (size_t i = 0; i < n; i++) {
        put3(&b, "{\"name\":\"positive\",\"link\":", 10000000 + i, "},");
    }
    put(&b, mid);
    for (size_t i = 0; i < n; i++) {
        put3(&b, "[", 20000000 + i, ",9,0,1,0,\"C\"],");
    }
    put(&b, tail);
    CHECK(b.len <= COST_TEXT_CAP);
    cost_mark m = cost_start();
    gen_params p = run_comfy(NULL, &b, 0);
    cost_check("workflow, KSampler with 2 x 270k dangling inputs and links", m, &b, 400);
    CHECK_STR(p.prompt, "a tree");
    CHECK_STR(p.negative_prompt, "blurry");
    CHECK_STR(gen_params_get(&p, "Steps"), "25");
    gen_params_free(&p);
    buf_free(&b);
}

/* Text encoders and no sampler: every text is joined once. Every fifth
 * repeats the one four before it. The old de-duplication searched the
 * growing prompt for each text: quadratic. */
static void workflow_many_text_encoders(void)
{
    static const char head[] = "{\"nodes\":[";
    static const char tail[] = "{\"id\":0,\"type\":\"Note\"}]}";
    char node[96];
    size_t unit = (size_t)snprintf(node, sizeof node,
                                   "{\"id\":%d,\"type\":\"CLIPTextEncode\",\"widgets_values\":[\"t%d\"]},",
                                   1000000, 1000000);
    size_t n = fit(sizeof head + sizeof tail, unit);
    buf b, want;
    buf_init(&b, 0);
    buf_init(&want, 0);
    put(&b, head);
    for (size_t i = 0; i < n; i++) {
        size_t text = i % 5 == 4 ? i - 4 : i;
        put3(&b, "{\"id\":", 1000000 + i, ",\"type\":\"CLIPTextEncode\",\"widgets_values\":[");
        put3(&b, "\"t", 1000000 + text, "\"]},");
        if (i % 5 == 4) continue;
        if (want.len) put(&want, "\n");
        put3(&want, "t", 1000000 + text, "");
    }
    put(&b, tail);
    CHECK(b.len <= COST_TEXT_CAP);
    cost_mark m = cost_start();
    gen_params p = run_comfy(NULL, &b, 0);
    cost_check("workflow, 280k text encoders without a sampler", m, &b, 400);
    CHECK(p.prompt && !strcmp(p.prompt, want.data));
    gen_params_free(&p);
    buf_free(&want);
    buf_free(&b);
}

/* ---- cost: the API prompt graph ------------------------------------------- */

#define FANOUT 4096

/* The sampler, a combine node fanning out to FANOUT encoders (17 texts),
 * a negative encoder. */
static void put_fanout_nodes(buf *b)
{
    char t[96];
    put(b, "\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"seed\":5,\"steps\":20,\"cfg\":7,"
           "\"sampler_name\":\"euler\",\"scheduler\":\"normal\",\"positive\":[\"2\",0],"
           "\"negative\":[\"3\",0]}},\"3\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"bad\"}},"
           "\"2\":{\"class_type\":\"ConditioningCombine\",\"inputs\":{");
    for (int k = 0; k < FANOUT; k++) {
        snprintf(t, sizeof t, "%s\"conditioning_%d\":[\"%d\",0]", k ? "," : "", k, 10 + k);
        put(b, t);
    }
    put(b, "}}");
    for (int k = 0; k < FANOUT; k++) {
        snprintf(t, sizeof t, ",\"%d\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"p%d\"}}", 10 + k,
                 k % 17);
        put(b, t);
    }
}

static const char fanout_prompt[] = "p0\np1\np2\np3\np4\np5\np6\np7\np8\np9\np10\np11\np12\np13\np14\np15\np16";

/* A million dummy keys before the real nodes: every node lookup by id
 * scanned them all (json_get), once per link followed. */
static void prompt_dummy_keys_and_fanout(void)
{
    buf nodes, b;
    buf_init(&nodes, 0);
    buf_init(&b, 0);
    put_fanout_nodes(&nodes);
    char key[32];
    size_t unit = (size_t)snprintf(key, sizeof key, "\"d%07d\":0,", 1000000);
    size_t n = fit(nodes.len + 3, unit);
    put(&b, "{");
    for (size_t i = 0; i < n; i++) {
        put3(&b, "\"d", 1000000 + i, "\":0,");
    }
    put(&b, nodes.data);
    put(&b, "}");
    CHECK(b.len <= COST_TEXT_CAP);
    cost_mark m = cost_start();
    gen_params p = run_comfy(&b, NULL, 0);
    cost_check("prompt, 1.2M dummy keys and a 4096-way fan-out", m, &b, 600);
    CHECK_STR(p.prompt, fanout_prompt);
    CHECK_STR(p.negative_prompt, "bad");
    CHECK_STR(gen_params_get(&p, "Steps"), "20");
    gen_params_free(&p);
    buf_free(&nodes);
    buf_free(&b);
}

/* Every fan-out link reaches one shared node with a million inputs: the old
 * walk scanned its inputs once per arrival. */
static void prompt_shared_wide_node(void)
{
    buf b;
    buf_init(&b, 0);
    char t[64];
    put(&b, "{\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"seed\":5,\"positive\":[\"2\",0],"
            "\"negative\":[\"2\",0]}},\"2\":{\"class_type\":\"ConditioningCombine\",\"inputs\":{");
    for (int k = 0; k < FANOUT; k++) {
        snprintf(t, sizeof t, "%s\"conditioning_%d\":[\"3\",0]", k ? "," : "", k);
        put(&b, t);
    }
    put(&b, "}},\"4\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"a cat\"}},"
            "\"3\":{\"class_type\":\"ConditioningZeroOut\",\"inputs\":{");
    static const char tail[] = "\"conditioning\":[\"4\",0]}}}";
    size_t unit = (size_t)snprintf(t, sizeof t, "\"a%07d\":0,", 1000000);
    size_t n = fit(b.len + sizeof tail, unit);
    for (size_t i = 0; i < n; i++) {
        put3(&b, "\"a", 1000000 + i, "\":0,");
    }
    put(&b, tail);
    CHECK(b.len <= COST_TEXT_CAP);
    cost_mark m = cost_start();
    gen_params p = run_comfy(&b, NULL, 0);
    cost_check("prompt, a 1.2M-input node shared by 4096 links", m, &b, 600);
    CHECK_STR(p.prompt, "a cat");
    CHECK_STR(p.negative_prompt, "a cat");
    gen_params_free(&p);
    buf_free(&b);
}

/* Thousands of encoders take their text from one primitive node holding
 * most of the cap: the old walk searched the prompt for it once per
 * encoder. */
static void prompt_shared_giant_text(void)
{
    buf b;
    buf_init(&b, 0);
    char t[96];
    put(&b, "{\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"seed\":5,\"positive\":[\"2\",0],"
            "\"negative\":[\"2\",0]}},\"2\":{\"class_type\":\"ConditioningCombine\",\"inputs\":{");
    for (int k = 0; k < FANOUT; k++) {
        snprintf(t, sizeof t, "%s\"conditioning_%d\":[\"%d\",0]", k ? "," : "", k, 10 + k);
        put(&b, t);
    }
    put(&b, "}}");
    for (int k = 0; k < FANOUT; k++) {
        snprintf(t, sizeof t, ",\"%d\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":[\"3\",0]}}", 10 + k);
        put(&b, t);
    }
    put(&b, ",\"3\":{\"class_type\":\"PrimitiveNode\",\"inputs\":{\"value\":\"");
    size_t n = fit(b.len + 8, 1);
    size_t at = b.len;
    CHECK(buf_reserve(&b, n, NULL) == 0);
    for (size_t i = 0; i < n; i++) b.data[at + i] = (char)('a' + i % 26);
    b.len += n;
    put(&b, "\"}}}");
    CHECK(b.len <= COST_TEXT_CAP);
    cost_mark m = cost_start();
    gen_params p = run_comfy(&b, NULL, 0);
    cost_check("prompt, a 16 MiB text shared by 4096 encoders", m, &b, 400);
    CHECK(p.prompt && strlen(p.prompt) == n && !memcmp(p.prompt, b.data + at, n));
    gen_params_free(&p);
    buf_free(&b);
}

/* The largest object json_default_limits() allow inside the cap, every key
 * looked up: one hash per key, not a scan. */
static void json_lookup_every_key(void)
{
    buf b;
    buf_init(&b, 0);
    char key[32];
    size_t unit = (size_t)snprintf(key, sizeof key, "\"k%07d\":1,", 1000000);
    size_t n = fit(8, unit);
    put(&b, "{");
    for (size_t i = 0; i < n; i++) {
        put3(&b, "\"k", 1000000 + i, "\":");
        put3(&b, "", i % 10, ",");
    }
    b.data[b.len - 1] = '}';
    cost_mark m = cost_start();
    fmt_error e;
    json_value *v = json_parse(b.data, b.len, NULL, &e);
    CHECK(v && v->count == n);
    size_t found = 0;
    for (size_t i = 0; v && i < n; i++) {
        key[0] = 'k';
        digits(key + 1, 1000000 + i);
        const json_value *x = json_get(v, key);
        found += x && x->number == (double)(i % 10);
    }
    CHECK(found == n);
    CHECK(json_get(v, "k0") == NULL);
    cost_check("json, 1.3M keys each looked up", m, &b, 600);
    json_free(v);
    buf_free(&b);
}

/* ---- cost: the other JSON-era parsers ------------------------------------ */

/* InvokeAI's Dream line with options filling the cap, and a Fooocus JSON
 * whose styles fill it (re-serialised into one setting): one pass each. */
static void other_parsers_at_the_cap(void)
{
    buf b;
    buf_init(&b, 0);
    put(&b, "\"a [b [c] d] e\"");
    while (b.len + 16 <= COST_TEXT_CAP) put(&b, " -s 1 -W 64 -A x");
    meta_list m;
    meta_list_init(&m);
    CHECK(meta_list_add(&m, "Dream", 5, b.data, b.len, META_PNG_TEXT, NULL) == 0);
    gen_params p;
    gen_params_init(&p);
    cost_mark mark = cost_start();
    CHECK(params_parse_invokeai(&m, &p, NULL) == 0);
    cost_check("invokeai, a Dream line of 1M options", mark, &b, 64);
    CHECK_STR(gen_params_get(&p, "Steps"), "1");
    CHECK(p.prompt && p.negative_prompt);
    gen_params_free(&p);
    meta_list_free(&m);

    b.len = 0;
    put(&b, "{\"prompt\": \"a lighthouse\", \"styles\": [\"s\"");
    while (b.len + 16 <= COST_TEXT_CAP) put(&b, ",\"Fooocus V2\"");
    put(&b, "]}");
    gen_params_init(&p);
    mark = cost_start();
    CHECK(params_parse_fooocus(b.data, b.len, &p, NULL) == 0);
    cost_check("fooocus, 1.2M styles", mark, &b, 256);
    CHECK_STR(p.prompt, "a lighthouse");
    const char *styles = gen_params_get(&p, "Styles");
    CHECK(styles && strlen(styles) == b.len - strlen("{\"prompt\": \"a lighthouse\", \"styles\": }"));
    gen_params_free(&p);
    buf_free(&b);
}

/* ---- exactness ------------------------------------------------------------ */

/* Graphs whose prompts were recorded from the walks before this change. */
static void test_comfy_same_as_before(void)
{
    /* SDXL: text_l a run of text_g's lines; a combine of overlapping texts. */
    gen_params p = comfy_str(
        "{\"9\": {\"class_type\": \"KSamplerAdvanced\", \"inputs\": {\"noise_seed\": 7, \"steps\": 4,"
        " \"positive\": [\"5\", 0], \"negative\": [\"6\", 0]}},"
        " \"4\": {\"class_type\": \"CLIPTextEncodeSDXL\", \"inputs\": {\"text_g\": \"masterpiece\\nbest quality\\na red fox\","
        " \"text_l\": \"best quality\\na red fox\"}},"
        " \"5\": {\"class_type\": \"ConditioningCombine\", \"inputs\": {\"conditioning_1\": [\"4\", 0],"
        " \"conditioning_2\": [\"7\", 0], \"conditioning_3\": [\"8\", 0], \"conditioning_4\": [\"4\", 0],"
        " \"conditioning_5\": [\"10\", 0], \"conditioning_6\": [\"11\", 0]}},"
        " \"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a red fox\\nin snow\"}},"
        " \"8\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"fox\"}},"
        " \"10\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"in snow\\nfox\"}},"
        " \"11\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"best quality\\na red fox\\na red fox\"}},"
        " \"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": [\"12\", 0]}},"
        " \"12\": {\"class_type\": \"PrimitiveNode\", \"inputs\": {\"value\": \"ugly\\n\"}}}",
        NULL, 0);
    CHECK_STR(p.prompt, "masterpiece\nbest quality\na red fox\na red fox\nin snow\nfox");
    CHECK_STR(p.negative_prompt, "ugly\n");
    CHECK_STR(gen_params_get(&p, "Seed"), "7");
    gen_params_free(&p);

    /* One encoder feeding both sides; a primitive shared by two encoders;
     * a cycle; the lowest numeric id is the sampler used. */
    p = comfy_str(
        "{\"20\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 1, \"positive\": [\"3\", 0], \"negative\": [\"3\", 0]}},"
        " \"9\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 2, \"positive\": [\"4\", 0], \"negative\": [\"1\", 0]}},"
        " \"a\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 3, \"positive\": [\"3\", 0], \"negative\": [\"3\", 0]}},"
        " \"4\": {\"class_type\": \"ConditioningConcat\", \"inputs\": {\"conditioning_to\": [\"1\", 0],"
        " \"conditioning_from\": [\"2\", 0], \"cond\": [\"4\", 0]}},"
        " \"1\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": [\"5\", 0]}},"
        " \"2\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": [\"5\", 0]}},"
        " \"3\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"unused\"}},"
        " \"5\": {\"class_type\": \"PrimitiveNode\", \"inputs\": {\"value\": \"a\\nb\"}}}",
        NULL, 0);
    CHECK_STR(p.prompt, "a\nb");
    CHECK_STR(p.negative_prompt, "a\nb");
    CHECK_STR(gen_params_get(&p, "Seed"), "2");
    gen_params_free(&p);

    /* Workflow: duplicate link and node ids (the first counts), a dangling
     * input before the real one. */
    p = comfy_str(NULL,
                  "{\"nodes\": [{\"id\": 3, \"type\": \"KSamplerAdvanced\", \"inputs\": [{\"name\": \"positive\", \"link\": 40},"
                  " {\"name\": \"positive\", \"link\": 4}, {\"name\": \"negative\", \"link\": 6},"
                  " {\"name\": \"negative\", \"link\": 5}], \"widgets_values\": [1]},"
                  " {\"id\": 6, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"a tree\"]},"
                  " {\"id\": 6, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"a bush\"]},"
                  " {\"id\": 7, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"blurry\"]}],"
                  " \"links\": [[4, 6, 0, 3, 1, \"C\"], [4, 7, 0, 3, 1, \"C\"], [6, 9, 0, 3, 2],"
                  " [6, 7, 0, 3, 2, \"C\"], [5, 7, 0, 3, 2, \"C\"]]}",
                  0);
    CHECK_STR(p.prompt, "a tree");
    CHECK(p.negative_prompt == NULL);
    gen_params_free(&p);

    /* Workflow without a sampler: texts once each, line runs included. */
    p = comfy_str(NULL,
                  "{\"nodes\": [{\"id\": 1, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"x\\ny\"]},"
                  " {\"id\": 2, \"type\": \"CLIPTextEncodeSDXL\", \"widgets_values\": [\"y\"]},"
                  " {\"id\": 3, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"x\\ny\"]},"
                  " {\"id\": 4, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"y\\nz\"]},"
                  " {\"id\": 5, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"y\\ny\"]},"
                  " {\"id\": 6, \"type\": \"CLIPTextEncode\", \"widgets_values\": [\"\"]}]}",
                  0);
    CHECK_STR(p.prompt, "x\ny\ny\nz");
    gen_params_free(&p);
}

/* json_get against a scan for the first equal key (as C strings), on
 * objects around the size where the index starts, with repeated keys, an
 * empty key and keys holding NUL. */
static void test_json_get_matches_scan(void)
{
    static const char *const names[] = {"a", "b", "", "a\\u0000x", "ab", "ba", "c", "d", "e", "f", "g", "h"};
    size_t nn = sizeof names / sizeof names[0];
    uint64_t r = 88172645463325252ull;
    for (size_t count = 0; count < 40; count++) {
        for (int round = 0; round < 8; round++) {
            buf b;
            buf_init(&b, 0);
            put(&b, "{");
            for (size_t i = 0; i < count; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                char t[48];
                snprintf(t, sizeof t, "%s\"%s\":%zu", i ? "," : "", names[r % nn], i);
                put(&b, t);
            }
            put(&b, "}");
            json_value *v = json_parse(b.data, b.len, NULL, NULL);
            CHECK(v && v->count == count);
            static const char *const probe[] = {"a", "b", "", "ab", "ba", "c", "h", "zz", "a\x01"};
            for (size_t k = 0; v && k < sizeof probe / sizeof probe[0]; k++) {
                const json_value *want = NULL;
                for (size_t i = 0; i < v->count && !want; i++)
                    if (!strcmp(v->keys[i], probe[k])) want = &v->items[i];
                CHECK(json_get(v, probe[k]) == want);
            }
            json_free(v);
            buf_free(&b);
        }
    }
    CHECK(json_get(NULL, "a") == NULL);
}

/* The old de-duplication: skip a text found in the joined text at line
 * boundaries, else append it on a line of its own. */
static void old_add(buf *out, const char *s)
{
    if (!*s) return;
    if (out->data) {
        const char *hit = strstr(out->data, s);
        size_t n = strlen(s);
        while (hit) {
            int starts = hit == out->data || hit[-1] == '\n';
            int ends = hit[n] == '\0' || hit[n] == '\n';
            if (starts && ends) return;
            hit = strstr(hit + 1, s);
        }
    }
    if (out->len) put(out, "\n");
    put(out, s);
}

/* text_join against old_add on random texts of a few short lines, so that
 * pieces repeat, span earlier pieces and sit inside them. */
static void test_text_join_matches_strstr(void)
{
    static const char *const lines[] = {"a", "b", "ab", "", "a b"};
    uint64_t r = 0x2545F4914F6CDD1Dull;
    for (int round = 0; round < 3000; round++) {
        buf old;
        buf_init(&old, 0);
        text_join j;
        CHECK(text_join_init(&j, 0, NULL) == 0);
        int pieces = 1 + round % 12;
        for (int k = 0; k < pieces; k++) {
            char s[64] = "";
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            int nl = 1 + (int)(r % 4);
            for (int i = 0; i < nl; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                if (i) strcat(s, "\n");
                strcat(s, lines[r % 5]);
            }
            old_add(&old, s);
            CHECK(text_join_add(&j, s, strlen(s), NULL) == 0);
        }
        CHECK(j.text.len == old.len && (!old.len || !memcmp(j.text.data, old.data, old.len)));
        text_join_free(&j);
        buf_free(&old);
    }
}

/* The cost cases, each in a process of its own. */
static void test_workflow_inputs_times_links(void) { in_child(workflow_inputs_times_links); }
static void test_workflow_many_text_encoders(void) { in_child(workflow_many_text_encoders); }
static void test_prompt_dummy_keys_and_fanout(void) { in_child(prompt_dummy_keys_and_fanout); }
static void test_prompt_shared_wide_node(void) { in_child(prompt_shared_wide_node); }
static void test_prompt_shared_giant_text(void) { in_child(prompt_shared_giant_text); }
static void test_json_lookup_every_key(void) { in_child(json_lookup_every_key); }
static void test_other_parsers_at_the_cap(void) { in_child(other_parsers_at_the_cap); }

int main(void)
{
    RUN(test_comfy_same_as_before);
    RUN(test_json_get_matches_scan);
    RUN(test_text_join_matches_strstr);
    RUN(test_json_lookup_every_key);
    RUN(test_workflow_inputs_times_links);
    RUN(test_workflow_many_text_encoders);
    RUN(test_prompt_dummy_keys_and_fanout);
    RUN(test_prompt_shared_wide_node);
    RUN(test_prompt_shared_giant_text);
    RUN(test_other_parsers_at_the_cap);
    return test_summary("cost_json");
}
