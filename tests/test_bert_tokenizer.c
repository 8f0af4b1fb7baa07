/* BERT tokenizer (engine/text/bert_tokenizer.c) against the Python re-implementation
 * of transformers 4.30's BertTokenizer + BLIP's additions in
 * tests/fixtures/make_bert_tokenizer_fixtures.py, on its test vocabulary
 * (tests/fixtures/bert/vocab.txt), plus vocabulary errors and hostile input. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "engine/text/bert_tokenizer.h"
#include "engine/text/utf8.h"
#include "tests/test.h"

#include "tests/fixtures/bert/cases.h"

#define VOCAB "tests/fixtures/bert/vocab.txt"

static bert_tokenizer *load_fixture(void)
{
    size_t len;
    unsigned char *v = test_read_file(VOCAB, &len);
    if (!v) return NULL;
    bert_tokenizer *tok = NULL;
    fmt_error err = {{0}};
    if (bert_tokenizer_load(&tok, (const char *)v, len, &err)) fprintf(stderr, "  load: %s\n", err.msg);
    free(v);
    return tok;
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static void test_encode_cases(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    for (size_t c = 0; c < sizeof encode_cases / sizeof encode_cases[0]; c++) {
        int32_t ids[200];
        size_t n = 0;
        CHECK(bert_encode(tok, encode_cases[c].text, encode_cases[c].add_special, ids, 200, &n) == 0);
        int ok = n == encode_cases[c].n && !memcmp(ids, encode_cases[c].ids, n * sizeof ids[0]);
        if (!ok) {
            fprintf(stderr, "  case %s (add_special %d)\n", encode_cases[c].name, encode_cases[c].add_special);
            print_ids("want", encode_cases[c].ids, encode_cases[c].n);
            print_ids("got ", ids, n < 200 ? n : 200);
        }
        CHECK(ok);
    }
    bert_tokenizer_free(tok);
}

static void test_decode_cases(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    for (size_t c = 0; c < sizeof decode_cases / sizeof decode_cases[0]; c++) {
        char out[512];
        fmt_error err = {{0}};
        long len = bert_decode(tok, decode_cases[c].ids, decode_cases[c].n, decode_cases[c].skip, out, sizeof out,
                               &err);
        CHECK(len == (long)strlen(decode_cases[c].text));
        CHECK_STR(out, decode_cases[c].text);
        char *s = bert_decode_alloc(tok, decode_cases[c].ids, decode_cases[c].n, decode_cases[c].skip, &err);
        CHECK_STR(s, decode_cases[c].text);
        free(s);
    }
    bert_tokenizer_free(tok);
}

static void test_caption_cases(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    for (size_t c = 0; c < sizeof caption_cases / sizeof caption_cases[0]; c++) {
        char out[512];
        fmt_error err = {{0}};
        long len = bert_caption(tok, caption_cases[c].ids, caption_cases[c].n, caption_cases[c].prompt, out,
                                sizeof out, &err);
        CHECK(len == (long)strlen(caption_cases[c].text));
        CHECK_STR(out, caption_cases[c].text);
        char *s = bert_caption_alloc(tok, caption_cases[c].ids, caption_cases[c].n, caption_cases[c].prompt, &err);
        CHECK_STR(s, caption_cases[c].text);
        free(s);
    }
    bert_tokenizer_free(tok);
}

/* BLIP's caption flow: prompt ids, then caption from generated ids. */
static void test_blip_flow(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    bert_special_ids sp = bert_specials(tok);
    CHECK(sp.pad == 0 && sp.unk == 100 && sp.cls == 101 && sp.sep == 102 && sp.mask == 103);
    CHECK(sp.bos == BERT_FIX_VOCAB_LINES && sp.enc == BERT_FIX_VOCAB_LINES + 1);
    CHECK(bert_vocab_lines(tok) == BERT_FIX_VOCAB_LINES);
    CHECK(bert_vocab_size(tok) == BERT_FIX_VOCAB_LINES + 2);

    int32_t ids[8];
    size_t n = 0;
    CHECK(bert_encode(tok, "a picture of ", 1, ids, 8, &n) == 0);
    CHECK(n == 5 && ids[0] == 101 && ids[1] == 1037 && ids[2] == 3861 && ids[3] == 1997 && ids[4] == 102);
    CHECK(bert_blip_prompt_ids(tok, "a picture of ", ids, 8, &n) == 0);
    CHECK(n == 4 && ids[0] == sp.bos && ids[1] == 1037 && ids[2] == 3861 && ids[3] == 1997);

    /* the generated sequence: prompt ids, caption ids, [SEP] */
    int32_t gen[16];
    memcpy(gen, ids, 4 * sizeof ids[0]);
    const char *words[] = {"a", "dog", "sitting", "on", "the", "table"};
    for (int i = 0; i < 6; i++) gen[4 + i] = bert_token_to_id(tok, words[i]);
    gen[10] = sp.sep;
    char out[128];
    CHECK(bert_caption(tok, gen, 11, "a picture of ", out, sizeof out, NULL) == 26);
    CHECK_STR(out, "a dog sitting on the table");
    bert_tokenizer_free(tok);
}

static void test_lookup(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    CHECK(bert_token_to_id(tok, "[PAD]") == 0);
    CHECK(bert_token_to_id(tok, "picture") == 3861);
    CHECK(bert_token_to_id(tok, "##s") == 2015);
    CHECK(bert_token_to_id(tok, "[DEC]") == BERT_FIX_VOCAB_LINES);
    CHECK(bert_token_to_id(tok, "[ENC]") == BERT_FIX_VOCAB_LINES + 1);
    CHECK(bert_token_to_id(tok, "Picture") == -1);
    CHECK(bert_token_to_id(tok, "") == -1);
    CHECK_STR(bert_id_to_token(tok, 1037), "a");
    CHECK_STR(bert_id_to_token(tok, 1), "[unused0]");
    CHECK_STR(bert_id_to_token(tok, BERT_FIX_VOCAB_LINES + 1), "[ENC]");
    CHECK(bert_id_to_token(tok, BERT_FIX_VOCAB_LINES + 2) == NULL);
    CHECK(bert_id_to_token(tok, -1) == NULL);
    bert_tokenizer_free(tok);
}

static bert_tokenizer *load_text(const char *text, size_t len, fmt_error *err)
{
    bert_tokenizer *tok = NULL;
    if (bert_tokenizer_load(&tok, text, len, err)) return NULL;
    return tok;
}

#define BASE "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

static void test_vocab_forms(void)
{
    fmt_error err = {{0}};
    /* \r\n and \r end lines too; no final newline; ids = line numbers */
    const char *v = "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\r\n[MASK]\nhello\r\nworld";
    bert_tokenizer *tok = load_text(v, strlen(v), &err);
    CHECK(tok != NULL);
    if (tok) {
        CHECK(bert_vocab_lines(tok) == 7);
        CHECK(bert_token_to_id(tok, "hello") == 5 && bert_token_to_id(tok, "world") == 6);
        CHECK(bert_specials(tok).bos == 7 && bert_specials(tok).enc == 8);
        int32_t ids[8];
        size_t n;
        CHECK(bert_encode(tok, "Hello, WORLD", 1, ids, 8, &n) == 0);
        CHECK(n == 5 && ids[0] == 2 && ids[1] == 5 && ids[2] == 1 && ids[3] == 6 && ids[4] == 3);
        bert_tokenizer_free(tok);
    }
    /* [DEC] already a line keeps its id; [ENC] comes after the last line */
    const char *w = BASE "[DEC]\nx\n";
    tok = load_text(w, strlen(w), &err);
    CHECK(tok != NULL);
    if (tok) {
        CHECK(bert_specials(tok).bos == 5 && bert_specials(tok).enc == 7);
        int32_t ids[] = {5, 6, 7};
        char out[64];
        /* [DEC] is a vocabulary token here, not an added one: decoded in the run */
        CHECK(bert_decode(tok, ids, 3, 0, out, sizeof out, NULL) == 13);
        CHECK_STR(out, "[DEC] x [ENC]");
        CHECK(bert_decode(tok, ids, 3, 1, out, sizeof out, NULL) == 1);
        CHECK_STR(out, "x");
        bert_tokenizer_free(tok);
    }
}

static void test_vocab_errors(void)
{
    fmt_error err = {{0}};
    const char *dup = BASE "a\nb\na\n";
    CHECK(load_text(dup, strlen(dup), &err) == NULL && strstr(err.msg, "repeats"));
    const char *missing = "[PAD]\n[CLS]\n[SEP]\n[MASK]\n";
    CHECK(load_text(missing, strlen(missing), &err) == NULL && strstr(err.msg, "[UNK]"));
    const char *bad = BASE "caf\xc3\n";
    CHECK(load_text(bad, strlen(bad), &err) == NULL && strstr(err.msg, "UTF-8"));
    const char *sur = BASE "\xed\xa0\x80\n";
    CHECK(load_text(sur, strlen(sur), &err) == NULL && strstr(err.msg, "UTF-8"));
    const char nul[] = BASE "a\0b\n";
    CHECK(load_text(nul, sizeof nul - 1, &err) == NULL && strstr(err.msg, "NUL"));
    CHECK(load_text("", 0, &err) == NULL);
    const char *fffd = BASE "\xef\xbf\xbd\n"; /* a real U+FFFD is fine */
    bert_tokenizer *tok = load_text(fffd, strlen(fffd), &err);
    CHECK(tok != NULL);
    bert_tokenizer_free(tok);
}

static void test_output_limits(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    /* encode reports the full count and writes only cap ids */
    int32_t ids[3] = {-7, -7, -7};
    size_t n = 0;
    CHECK(bert_encode(tok, "a picture of a dog", 1, ids, 2, &n) == 0);
    CHECK(n == 7 && ids[0] == 101 && ids[1] == 1037 && ids[2] == -7);
    CHECK(bert_encode(tok, "a picture", 0, NULL, 0, &n) == 0 && n == 2);
    CHECK(bert_encode(tok, NULL, 0, NULL, 0, &n) == -1);
    /* decode cuts at a character boundary and returns the full length */
    int32_t cjk[] = {bert_token_to_id(tok, "中"), bert_token_to_id(tok, "国")}; /* "中 国": 7 bytes */
    char out[8];
    memset(out, 'z', sizeof out);
    CHECK(bert_decode(tok, cjk, 2, 1, out, 6, NULL) == 7);
    CHECK_STR(out, "\xe4\xb8\xad "); /* "中 " + the 2 first bytes of 国 would not fit */
    CHECK(bert_decode(tok, cjk, 2, 1, out, 3, NULL) == 7);
    CHECK_STR(out, "");
    CHECK(bert_decode(tok, cjk, 2, 1, out, 8, NULL) == 7);
    CHECK_STR(out, "\xe4\xb8\xad \xe5\x9b\xbd");
    CHECK(bert_decode(tok, cjk, 2, 1, NULL, 0, NULL) == 7);
    bert_tokenizer_free(tok);
}

/* Hostile input: long words, long texts, random bytes — linear time, no crash. */
static void test_hostile(void)
{
    bert_tokenizer *tok = load_fixture();
    CHECK(tok != NULL);
    if (!tok) return;
    size_t big = (size_t)4 << 20;
    char *s = malloc(big + 1);
    CHECK(s != NULL);
    if (!s) return;
    clock_t t0 = clock();
    /* one 4 MiB word: a single [UNK] */
    memset(s, 'a', big);
    s[big] = 0;
    size_t n = 0;
    int32_t ids[4];
    CHECK(bert_encode(tok, s, 0, ids, 4, &n) == 0 && n == 1 && ids[0] == 100);
    /* 4 MiB of combining marks after one letter: NFD leaves "a" */
    s[0] = 'a';
    for (size_t i = 1; i + 2 <= big; i += 2) s[i] = (char)0xcc, s[i + 1] = (char)0x81;
    s[big - (big - 1) % 2] = 0;
    CHECK(bert_encode(tok, s, 0, ids, 4, &n) == 0 && n == 1 && ids[0] == 1037);
    /* words of 100 letters that WordPiece must walk: every piece matched */
    for (size_t i = 0; i < big; i++) s[i] = (i % 101 == 100) ? ' ' : 'a' + (char)(i % 7);
    s[big] = 0;
    CHECK(bert_encode(tok, s, 0, NULL, 0, &n) == 0 && n == big / 101 * 100 + big % 101);
    /* random bytes */
    uint32_t x = 12345;
    for (size_t i = 0; i < big; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = (char)((x >> 16) & 0xff);
        if (!s[i]) s[i] = ' ';
    }
    s[big] = 0;
    CHECK(bert_encode(tok, s, 1, NULL, 0, &n) == 0 && n >= 2);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 20);
    /* decode of many ids; random ids */
    size_t m = 1 << 16;
    int32_t *many = malloc(m * sizeof *many);
    CHECK(many != NULL);
    if (many) {
        for (size_t i = 0; i < m; i++) {
            x = x * 1103515245u + 12345u;
            many[i] = (int32_t)(x >> 8) % 5000 - 200;
        }
        char *d = bert_decode_alloc(tok, many, m, (int)(x & 1), NULL);
        CHECK(d != NULL);
        free(d);
        free(many);
    }
    free(s);
    bert_tokenizer_free(tok);
}

/* UTF-8 reading as Python's errors='replace' (one U+FFFD per maximal subpart). */
static void test_utf8(void)
{
    static const struct {
        const char *s;
        size_t count;
    } cases[] = {
        {"abc", 3}, {"\xc3\xa9", 1}, {"\xff", 1}, {"\xe2\x82", 1}, {"\xe2\x82x", 2},
        {"\xed\xa0\x80", 3}, {"\xf4\x90\x80\x80", 4}, {"\xc0\xaf", 2}, {"\xf0\x9f\x90", 1},
        {"\xf0\x9f\x90\xb1", 1}, {"\xe0\x80\x80", 3}, {"\xf0\x80\x80\x80", 4}, {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(utf8_count((const unsigned char *)cases[i].s, strlen(cases[i].s)) == cases[i].count);
}

int main(void)
{
    RUN(test_encode_cases);
    RUN(test_decode_cases);
    RUN(test_caption_cases);
    RUN(test_blip_flow);
    RUN(test_lookup);
    RUN(test_vocab_forms);
    RUN(test_vocab_errors);
    RUN(test_output_limits);
    RUN(test_hostile);
    RUN(test_utf8);
    return test_summary("bert_tokenizer");
}
