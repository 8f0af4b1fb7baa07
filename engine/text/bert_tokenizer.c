/* BERT WordPiece tokenizer (bert-base-uncased + BLIP's [DEC]/[ENC]); see
 * bert_tokenizer.h. The Python it mirrors, step by step:
 *
 *   PreTrainedTokenizer.tokenize: lower-case every character that is not
 *     part of a special-token literal, split the text on those literals.
 *   BasicTokenizer.tokenize on each other piece: _clean_text (drop C*,
 *     U+0000, U+FFFD; whitespace -> ' '), spaces around CJK ideographs, split
 *     on whitespace, per word lower() (a no-op by now), NFD and drop Mn,
 *     split off every punctuation character.
 *   WordpieceTokenizer.tokenize: a word over 100 code points is [UNK]; else
 *     greedy longest prefix in the vocabulary, continuations as "##piece";
 *     any unmatched remainder makes the whole word [UNK].
 *
 * Here it runs as one pass over the code points: a word never needs to be
 * held beyond 100 code points (longer is [UNK] whatever it holds). NFD's
 * canonical reordering matters only for the few non-Mn code points with a
 * combining class (Mn marks are dropped anyway, and dropping a mark of
 * non-zero class before sorting leaves the others' order as it was), so it is
 * an insertion into the current run of such code points. */
#include <stdlib.h>
#include <string.h>

#include "engine/text/bert_tokenizer.h"
#include "engine/text/unicode.h"
#include "engine/text/utf8.h"
#include "base/buf.h"

#define VOCAB_MAX_BYTES ((size_t)64 << 20)
#define VOCAB_MAX_LINES ((size_t)1 << 22)
#define WORD_MAX 100 /* WordpieceTokenizer.max_input_chars_per_word */
#define DECODE_MAX_BYTES ((size_t)64 << 20)

/* Special tokens in the order Hugging Face registers them: the five of the
 * vocabulary, then BLIP's bos_token and additional special token. */
enum { SP_UNK, SP_SEP, SP_PAD, SP_CLS, SP_MASK, SP_DEC, SP_ENC, SP_COUNT };
static const char *const special_names[SP_COUNT] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]",
                                                    "[MASK]", "[DEC]", "[ENC]"};

struct bert_tokenizer {
    char *text;        /* every token, NUL-terminated */
    size_t *offset;    /* token id -> its offset in text */
    uint32_t *length;  /* token id -> its length in bytes */
    size_t lines;      /* tokens read from vocab.txt */
    size_t count;      /* lines + appended special tokens */
    size_t max_len;    /* longest token, bytes */
    int32_t *table;    /* open-addressing hash: slot -> id or -1 */
    size_t table_mask;
    int32_t special[SP_COUNT];
};

/* ---- vocabulary ---------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t lookup(const bert_tokenizer *tok, const char *s, size_t n)
{
    for (size_t i = hash_bytes(s, n) & tok->table_mask;; i = (i + 1) & tok->table_mask) {
        int32_t id = tok->table[i];
        if (id < 0) return -1;
        if (tok->length[id] == n && !memcmp(tok->text + tok->offset[id], s, n)) return id;
    }
}

/* Insert id; returns the id already holding the same text, or -1. */
static int32_t insert(bert_tokenizer *tok, int32_t id)
{
    const char *s = tok->text + tok->offset[id];
    size_t n = tok->length[id];
    size_t i = hash_bytes(s, n) & tok->table_mask;
    for (; tok->table[i] >= 0; i = (i + 1) & tok->table_mask) {
        int32_t o = tok->table[i];
        if (tok->length[o] == n && !memcmp(tok->text + tok->offset[o], s, n)) return o;
    }
    tok->table[i] = id;
    return -1;
}

static int check_utf8(const char *s, size_t len, fmt_error *err)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        const unsigned char *p = (const unsigned char *)s + i;
        size_t k = utf8_next(p, len - i, &cp);
        if (cp == UTF8_REPLACEMENT && !(k == 3 && p[0] == 0xEF))
            return fmt_fail(err, "bert vocab: invalid UTF-8 at byte %zu", i);
        if (cp == 0) return fmt_fail(err, "bert vocab: NUL byte at byte %zu", i);
        i += k;
    }
    return 0;
}

/* Split into lines as Python's text mode does (\n, \r\n, \r), copying each
 * NUL-terminated into tok->text; room is left for the appended tokens. */
static int split_lines(bert_tokenizer *tok, const char *s, size_t len, fmt_error *err)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))) lines++;
    }
    if (len && s[len - 1] != '\n' && s[len - 1] != '\r') lines++;
    if (lines > VOCAB_MAX_LINES) return fmt_fail(err, "bert vocab: %zu lines (limit %zu)", lines, VOCAB_MAX_LINES);
    size_t slots = lines + 2;
    tok->text = malloc(len + 1 + 2 * 8);
    tok->offset = malloc(slots * sizeof *tok->offset);
    tok->length = malloc(slots * sizeof *tok->length);
    if (!tok->text || !tok->offset || !tok->length) return fmt_fail(err, "bert vocab: out of memory");
    size_t at = 0, line = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        int end = i == len ? i > start : (s[i] == '\n' || s[i] == '\r');
        if (!end) continue;
        size_t n = i - start;
        memcpy(tok->text + at, s + start, n);
        tok->text[at + n] = 0;
        tok->offset[line] = at;
        tok->length[line] = (uint32_t)n;
        if (n > tok->max_len) tok->max_len = n;
        at += n + 1;
        line++;
        if (i < len && s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') i++;
        start = i + 1;
    }
    tok->lines = tok->count = line;
    return 0;
}

/* [DEC] and [ENC] go after the last line unless present (then they keep
 * their line, as add_special_tokens does for a token already in the vocab). */
static int add_specials(bert_tokenizer *tok, fmt_error *err)
{
    size_t at = tok->count ? tok->offset[tok->count - 1] + tok->length[tok->count - 1] + 1 : 0;
    for (int k = 0; k < SP_COUNT; k++) {
        const char *name = special_names[k];
        size_t n = strlen(name);
        int32_t id = lookup(tok, name, n);
        if (id < 0 && k < SP_DEC) return fmt_fail(err, "bert vocab: no %s line", name);
        if (id < 0) {
            id = (int32_t)tok->count++;
            memcpy(tok->text + at, name, n + 1);
            tok->offset[id] = at;
            tok->length[id] = (uint32_t)n;
            at += n + 1;
            insert(tok, id);
        }
        tok->special[k] = id;
    }
    return 0;
}

int bert_tokenizer_load(bert_tokenizer **out, const char *vocab_txt, size_t len, fmt_error *err)
{
    *out = NULL;
    if (len > VOCAB_MAX_BYTES) return fmt_fail(err, "bert vocab: %zu bytes (limit %zu)", len, VOCAB_MAX_BYTES);
    if (check_utf8(vocab_txt, len, err)) return -1;
    bert_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return fmt_fail(err, "bert vocab: out of memory");
    if (split_lines(tok, vocab_txt, len, err)) goto fail;
    size_t slots = 16;
    while (slots < 2 * (tok->count + 2)) slots *= 2;
    tok->table = malloc(slots * sizeof *tok->table);
    if (!tok->table) {
        fmt_fail(err, "bert vocab: out of memory");
        goto fail;
    }
    memset(tok->table, 0xFF, slots * sizeof *tok->table);
    tok->table_mask = slots - 1;
    for (size_t i = 0; i < tok->count; i++) {
        int32_t dup = insert(tok, (int32_t)i);
        if (dup >= 0) {
            fmt_fail(err, "bert vocab: line %zu repeats line %d (\"%.40s\")", i + 1, dup + 1,
                     tok->text + tok->offset[i]);
            goto fail;
        }
    }
    if (add_specials(tok, err)) goto fail;
    *out = tok;
    return 0;
fail:
    bert_tokenizer_free(tok);
    return -1;
}

void bert_tokenizer_free(bert_tokenizer *tok)
{
    if (!tok) return;
    free(tok->text);
    free(tok->offset);
    free(tok->length);
    free(tok->table);
    free(tok);
}

size_t bert_vocab_lines(const bert_tokenizer *tok) { return tok->lines; }
size_t bert_vocab_size(const bert_tokenizer *tok) { return tok->count; }

bert_special_ids bert_specials(const bert_tokenizer *tok)
{
    const int32_t *s = tok->special;
    bert_special_ids ids = {.pad = s[SP_PAD],
                            .unk = s[SP_UNK],
                            .cls = s[SP_CLS],
                            .sep = s[SP_SEP],
                            .mask = s[SP_MASK],
                            .bos = s[SP_DEC],
                            .enc = s[SP_ENC]};
    return ids;
}

int32_t bert_token_to_id(const bert_tokenizer *tok, const char *token)
{
    return lookup(tok, token, strlen(token));
}

const char *bert_id_to_token(const bert_tokenizer *tok, int32_t id)
{
    if (id < 0 || (size_t)id >= tok->count) return NULL;
    return tok->text + tok->offset[id];
}

static int is_special_id(const bert_tokenizer *tok, int32_t id)
{
    for (int k = 0; k < SP_COUNT; k++)
        if (tok->special[k] == id) return 1;
    return 0;
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct {
    int32_t *ids;
    size_t cap, n;
} id_sink;

static void put_id(id_sink *s, int32_t id)
{
    if (s->n < s->cap) s->ids[s->n] = id;
    s->n++;
}

/* The word being built: punctuation-free, after NFD and mark stripping. */
typedef struct {
    const bert_tokenizer *tok;
    id_sink *out;
    uint32_t cp[WORD_MAX];
    uint8_t ccc[WORD_MAX];
    size_t n;         /* code points so far (only the first WORD_MAX are kept) */
    size_t run_start; /* canonical reordering applies from here on */
} word_state;

/* Greedy longest-match-first over cp[0..n), n <= WORD_MAX. */
static void wordpiece(word_state *w)
{
    const bert_tokenizer *tok = w->tok;
    char text[WORD_MAX * 4], key[2 + WORD_MAX * 4];
    size_t off[WORD_MAX + 1];
    int32_t pieces[WORD_MAX];
    size_t np = 0;
    off[0] = 0;
    for (size_t i = 0; i < w->n; i++) off[i + 1] = off[i] + utf8_encode(w->cp[i], (unsigned char *)text + off[i]);
    key[0] = key[1] = '#';
    for (size_t start = 0; start < w->n;) {
        size_t pre = start ? 2 : 0, end = w->n;
        memcpy(key + 2, text + off[start], off[w->n] - off[start]);
        int32_t id = -1;
        for (; end > start; end--) {
            size_t len = pre + off[end] - off[start];
            if (len > tok->max_len) continue; /* no token is that long */
            id = lookup(tok, key + 2 - pre, len);
            if (id >= 0) break;
        }
        if (id < 0) {
            put_id(w->out, tok->special[SP_UNK]);
            return;
        }
        pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np; i++) put_id(w->out, pieces[i]);
}

static void word_flush(word_state *w)
{
    if (w->n > WORD_MAX) put_id(w->out, w->tok->special[SP_UNK]);
    else if (w->n) wordpiece(w);
    w->n = w->run_start = 0;
}

static void word_append(word_state *w, uint32_t cp)
{
    int ccc = uc_ccc(cp); /* never an Mn mark here (feed_decomposed drops them) */
    if (w->n < WORD_MAX) {
        size_t p = w->n;
        while (ccc && p > w->run_start && w->ccc[p - 1] > ccc) { /* stable sort by class */
            w->cp[p] = w->cp[p - 1];
            w->ccc[p] = w->ccc[p - 1];
            p--;
        }
        w->cp[p] = cp;
        w->ccc[p] = (uint8_t)ccc;
    }
    w->n++;
    if (!ccc) w->run_start = w->n;
}

/* One code point of NFD output: marks go, punctuation stands alone. */
static void feed_decomposed(word_state *w, uint32_t cp)
{
    switch (uc_bert_class(cp)) {
    case UC_BERT_MARK: return;
    case UC_BERT_MARK0: w->run_start = w->n; return; /* a starter for reordering, then dropped */
    case UC_BERT_SPACE: word_flush(w); return;
    case UC_BERT_PUNCT:
        word_flush(w);
        word_append(w, cp);
        word_flush(w);
        return;
    default: word_append(w, cp);
    }
}

/* One lower-cased code point of the text. */
static void feed(word_state *w, uint32_t cp)
{
    int cls = uc_bert_class(cp);
    if (cls == UC_BERT_DROP) return;
    if (cls == UC_BERT_SPACE) {
        word_flush(w);
        return;
    }
    int cjk = uc_is_cjk(cp);
    if (cjk) word_flush(w);
    uint32_t d[4];
    size_t nd = uc_decompose(cp, d); /* NFD of one code point */
    for (size_t i = 0; i < nd; i++) feed_decomposed(w, d[i]);
    if (cjk) word_flush(w);
}

/* str.lower() of one code point into out: 1 code point, or 2 for U+0130. */
static int lower(uint32_t cp, uint32_t out[2])
{
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = uc_lower(cp);
    return 1;
}

/* BasicTokenizer + WordpieceTokenizer over text[0..len) (no special literal). */
static void encode_piece(const bert_tokenizer *tok, const char *text, size_t len, id_sink *out)
{
    word_state w;
    w.tok = tok;
    w.out = out;
    w.n = w.run_start = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp, low[2];
        i += utf8_next((const unsigned char *)text + i, len - i, &cp);
        int nl = lower(cp, low);
        for (int k = 0; k < nl; k++) feed(&w, low[k]);
    }
    word_flush(&w);
}

/* The special-token literal starting at s, or -1. */
static int special_at(const char *s)
{
    if (*s != '[') return -1;
    for (int k = 0; k < SP_COUNT; k++) {
        size_t n = strlen(special_names[k]);
        if (!strncmp(s, special_names[k], n)) return k;
    }
    return -1;
}

int bert_encode(const bert_tokenizer *tok, const char *text, int add_special_tokens, int32_t *ids,
                size_t cap, size_t *n)
{
    if (!tok || !text || !n || (!ids && cap)) return -1;
    id_sink out = {ids, cap, 0};
    if (add_special_tokens) put_id(&out, tok->special[SP_CLS]);
    const char *piece = text, *p = text;
    for (;; p++) {
        int k = *p ? special_at(p) : -1;
        if (*p && k < 0) continue;
        encode_piece(tok, piece, (size_t)(p - piece), &out);
        if (!*p) break;
        put_id(&out, tok->special[k]);
        p += strlen(special_names[k]) - 1;
        piece = p + 1;
    }
    if (add_special_tokens) put_id(&out, tok->special[SP_SEP]);
    *n = out.n;
    return 0;
}

int bert_blip_prompt_ids(const bert_tokenizer *tok, const char *prompt, int32_t *ids, size_t cap,
                         size_t *n)
{
    size_t total;
    if (bert_encode(tok, prompt, 1, ids, cap, &total)) return -1;
    if (cap) ids[0] = tok->special[SP_DEC];
    *n = total - 1; /* [CLS] replaced, [SEP] dropped */
    return 0;
}

/* ---- decoding ------------------------------------------------------------ */

/* b = b with every non-overlapping `from` (left to right) replaced by `to`,
 * as Python's str.replace. */
static int replace_all(buf *b, const char *from, const char *to, fmt_error *err)
{
    size_t nf = strlen(from), nt = strlen(to), done = 0;
    buf r;
    buf_init(&r, DECODE_MAX_BYTES);
    int st = buf_append(&r, "", 0, err); /* NUL-terminated even when empty */
    for (size_t i = 0; !st && i + nf <= b->len; i++) {
        if (memcmp(b->data + i, from, nf)) continue;
        st = buf_append(&r, b->data + done, i - done, err);
        if (!st) st = buf_append(&r, to, nt, err);
        done = i + nf;
        i = done - 1;
    }
    if (!st) st = buf_append(&r, b->data + done, b->len - done, err);
    if (st) {
        buf_free(&r);
        return -1;
    }
    buf_free(b);
    *b = r;
    return 0;
}

static int is_space_at(const char *s, size_t len, size_t *k)
{
    uint32_t cp;
    *k = utf8_next((const unsigned char *)s, len, &cp);
    return uc_is_py_space(cp);
}

/* convert_tokens_to_string: " ".join(tokens).replace(" ##", "").strip(),
 * appended to `all` as one more " "-separated piece. */
static int flush_run(buf *run, size_t *run_tokens, buf *all, size_t *pieces, fmt_error *err)
{
    if (!*run_tokens) return 0;
    if (replace_all(run, " ##", "", err)) return -1;
    size_t a = 0, e = run->len, k;
    while (a < e && is_space_at(run->data + a, e - a, &k)) a += k;
    while (e > a) {
        size_t s = e - 1;
        while (s > a && ((unsigned char)run->data[s] & 0xC0) == 0x80) s--;
        if (!is_space_at(run->data + s, e - s, &k)) break;
        e = s;
    }
    if ((*pieces && buf_append_char(all, ' ', err)) || buf_append(all, run->data + a, e - a, err)) return -1;
    (*pieces)++;
    run->len = 0;
    run->data[0] = 0;
    *run_tokens = 0;
    return 0;
}

static const char *const cleanup_pairs[][2] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
};

/* PreTrainedTokenizer._decode (transformers 4.30) with
 * spaces_between_special_tokens and clean_up_tokenization_spaces on. */
static int decode_into(const bert_tokenizer *tok, const int32_t *ids, size_t n, int skip, buf *all,
                       fmt_error *err)
{
    buf run;
    buf_init(&run, DECODE_MAX_BYTES);
    buf_init(all, DECODE_MAX_BYTES);
    if (!tok || (!ids && n)) return fmt_fail(err, "bert decode: no tokenizer or no ids");
    size_t run_tokens = 0, pieces = 0;
    int st = buf_append(all, "", 0, err);
    for (size_t i = 0; i < n && !st; i++) {
        if (skip && is_special_id(tok, ids[i])) continue;
        const char *t = bert_id_to_token(tok, ids[i]);
        if (!t) t = special_names[SP_UNK]; /* ids_to_tokens.get(index, unk_token) */
        if (ids[i] >= 0 && (size_t)ids[i] >= tok->lines && (size_t)ids[i] < tok->count) {
            st = flush_run(&run, &run_tokens, all, &pieces, err); /* an added token: its own piece */
            if (!st && pieces) st = buf_append_char(all, ' ', err);
            if (!st) st = buf_append_str(all, t, err);
            pieces++;
            continue;
        }
        if (run_tokens++) st = buf_append_char(&run, ' ', err);
        if (!st) st = buf_append_str(&run, t, err);
    }
    if (!st) st = flush_run(&run, &run_tokens, all, &pieces, err);
    for (size_t k = 0; !st && k < sizeof cleanup_pairs / sizeof cleanup_pairs[0]; k++)
        st = replace_all(all, cleanup_pairs[k][0], cleanup_pairs[k][1], err);
    buf_free(&run);
    if (st) {
        buf_free(all);
        return fmt_prefix(err, "bert decode: ");
    }
    return 0;
}

/* Copy into out[cap], cut at a character boundary; returns the full length. */
static long copy_out(const char *s, size_t len, char *out, size_t cap)
{
    if (cap) {
        size_t k = len;
        if (k >= cap) {
            k = cap - 1;
            while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        }
        memcpy(out, s, k);
        out[k] = 0;
    }
    return (long)len;
}

char *bert_decode_alloc(const bert_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens,
                        fmt_error *err)
{
    buf all;
    if (decode_into(tok, ids, n, skip_special_tokens, &all, err)) return NULL;
    return buf_take(&all);
}

long bert_decode(const bert_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens,
                 char *out, size_t cap, fmt_error *err)
{
    buf all;
    if (decode_into(tok, ids, n, skip_special_tokens, &all, err)) return -1;
    long len = copy_out(all.data, all.len, out, cap);
    buf_free(&all);
    return len;
}

/* Byte offset of code point k of the valid UTF-8 text s[0..len) (len if fewer). */
static size_t skip_chars(const char *s, size_t len, size_t k)
{
    size_t i = 0;
    uint32_t cp;
    for (; k && i < len; k--) i += utf8_next((const unsigned char *)s + i, len - i, &cp);
    return i;
}

char *bert_caption_alloc(const bert_tokenizer *tok, const int32_t *ids, size_t n, const char *prompt,
                         fmt_error *err)
{
    buf all;
    if (decode_into(tok, ids, n, 1, &all, err)) return NULL;
    size_t chars = prompt ? utf8_count((const unsigned char *)prompt, strlen(prompt)) : 0;
    size_t from = skip_chars(all.data, all.len, chars);
    char *s = buf_take(&all);
    memmove(s, s + from, strlen(s + from) + 1);
    return s;
}

long bert_caption(const bert_tokenizer *tok, const int32_t *ids, size_t n, const char *prompt, char *out,
                  size_t cap, fmt_error *err)
{
    char *s = bert_caption_alloc(tok, ids, n, prompt, err);
    if (!s) return -1;
    long len = copy_out(s, strlen(s), out, cap);
    free(s);
    return len;
}
