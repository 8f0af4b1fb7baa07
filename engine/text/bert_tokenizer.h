/* The BERT WordPiece tokenizer BLIP uses: Hugging Face transformers 4.30's
 * BertTokenizer.from_pretrained('bert-base-uncased') (lower-casing, accent
 * stripping, CJK and punctuation splitting, greedy longest-match WordPiece)
 * plus BLIP's init_tokenizer(): bos_token '[DEC]' and the additional special
 * token '[ENC]', appended after the vocabulary (30522 and 30523 for
 * bert-base-uncased).
 *
 * Text is UTF-8; ill-formed bytes are read as Python's
 * bytes.decode('utf-8', errors='replace') reads them: each maximal ill-formed
 * subpart becomes U+FFFD, which BERT's text cleaning then removes (so
 * "ab\xffcd" tokenizes as "abcd"). Unicode data: 14.0 (Python 3.11's
 * unicodedata); Python 3.10 (Unicode 13.0) differs only on code points that
 * 14.0 assigned. Work is linear in the input length; no call allocates
 * anything proportional to the text except decode's output. */
#ifndef UNPROMPT_ENGINE_TEXT_BERT_TOKENIZER_H
#define UNPROMPT_ENGINE_TEXT_BERT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct bert_tokenizer bert_tokenizer;

/* The special tokens' ids. bos is '[DEC]', enc is '[ENC]' (BLIP's
 * enc_token_id). */
typedef struct {
    int32_t pad, unk, cls, sep, mask, bos, enc;
} bert_special_ids;

/* Parse vocab.txt (one token a line, id = line number; "\n", "\r\n" and "\r"
 * end lines as in Python's text mode) and append '[DEC]' and '[ENC]' after
 * the last line unless the vocabulary already has them. The text must be
 * UTF-8 without NUL bytes, have no duplicate lines and contain [PAD], [UNK],
 * [CLS], [SEP] and [MASK]. The tokenizer keeps its own copy. Returns 0, or -1
 * with err filled. */
int bert_tokenizer_load(bert_tokenizer **out, const char *vocab_txt, size_t len, fmt_error *err);
void bert_tokenizer_free(bert_tokenizer *tok);

/* Lines of vocab.txt, and that plus the appended special tokens (30524 for
 * BLIP: the decoder's vocab_size). */
size_t bert_vocab_lines(const bert_tokenizer *tok);
size_t bert_vocab_size(const bert_tokenizer *tok);
bert_special_ids bert_specials(const bert_tokenizer *tok);

/* Token -> id (-1 if unknown), id -> token (NULL if none). */
int32_t bert_token_to_id(const bert_tokenizer *tok, const char *token);
const char *bert_id_to_token(const bert_tokenizer *tok, int32_t id);

/* tokenizer(text).input_ids: the special-token literals ([CLS], [SEP], [PAD],
 * [UNK], [MASK], [DEC], [ENC], exact case) are cut out first and map to their
 * ids; the rest is lower-cased, cleaned, split and WordPiece'd. With
 * add_special_tokens: [CLS] ... [SEP]. text is NUL-terminated. *n receives
 * the full count; the first min(*n, cap) ids are written. Returns 0, -1 on a
 * NULL argument. */
int bert_encode(const bert_tokenizer *tok, const char *text, int add_special_tokens, int32_t *ids,
                size_t cap, size_t *n);

/* BLIP's decoder prompt: tokenizer(prompt).input_ids with the first id
 * replaced by bos ([DEC]) and the final [SEP] dropped ('a picture of ' ->
 * [30522, 1037, 3861, 1997]). Same conventions as bert_encode. */
int bert_blip_prompt_ids(const bert_tokenizer *tok, const char *prompt, int32_t *ids, size_t cap,
                         size_t *n);

/* tokenizer.decode(ids, skip_special_tokens=...): tokens joined with spaces,
 * " ##" removed, added tokens ([DEC], [ENC]) as separate pieces, unknown ids
 * as "[UNK]", then clean_up_tokenization (" ." -> "." and the rest).
 * Writes NUL-terminated into out (cap > 0), cut at a character boundary if
 * it does not fit; returns the full length in bytes, or -1 with err filled
 * (the output would exceed 64 MiB, or memory ran out). */
long bert_decode(const bert_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens,
                 char *out, size_t cap, fmt_error *err);
/* The same into a malloc'd string (NULL with err filled on failure). */
char *bert_decode_alloc(const bert_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens,
                        fmt_error *err);

/* BLIP_Decoder.generate's caption: decode(ids, skip_special_tokens=True),
 * then caption[len(prompt):] — the prompt's length in code points (Python's
 * count), characters cut from the decoded string. Conventions as bert_decode. */
long bert_caption(const bert_tokenizer *tok, const int32_t *ids, size_t n, const char *prompt, char *out,
                  size_t cap, fmt_error *err);
char *bert_caption_alloc(const bert_tokenizer *tok, const int32_t *ids, size_t n, const char *prompt,
                         fmt_error *err);

#endif
