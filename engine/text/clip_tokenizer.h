/* The CLIP tokenizer: OpenAI's clip.tokenize(text, context_length=77,
 * truncate=True) over clip/simple_tokenizer.py, id for id.
 *
 *   ids = [<|startoftext|>] + encode(text) + [<|endoftext|>], cut to `context`
 *         with <|endoftext|> kept last, zero-padded
 *   encode(text): whitespace_clean(basic_clean(text)).lower() (clean.h),
 *         split by the pattern
 *         <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *         (IGNORECASE), each piece's UTF-8 bytes through the byte-level BPE
 *         (clip_bpe.h); a piece that is exactly <|startoftext|> or <|endoftext|>
 *         is that special token.
 *
 * Where it departs from Python, by design:
 * - ftfy's mojibake repair (fix_encoding) is not done: see engine/text/ftfy.c.
 * - The input is UTF-8 bytes: invalid sequences become U+FFFD, as
 *   bytes.decode('utf-8', errors='replace') makes them (Python gets a str).
 * - Only the first CLIP_TOKENIZER_MAX_INPUT bytes are read (cut at a character
 *   boundary). Python reads everything, which matters only when that first part
 *   does not hold context - 2 tokens' worth of text (e.g. a megabyte of spaces).
 * - ftfy's fix-until-nothing-changes loop stops after 64 rounds (references
 *   nested deeper, "&amp;amp;amp;...", are left partly decoded).
 * The tokenizer holds no cache and is read-only after loading: one tokenizer
 * can serve several threads. */
#ifndef UNPROMPT_ENGINE_TEXT_CLIP_TOKENIZER_H
#define UNPROMPT_ENGINE_TEXT_CLIP_TOKENIZER_H

#include <stddef.h>

#include "base/error.h"

#define CLIP_TOKENIZER_MAX_INPUT (256u * 1024u)
#define CLIP_TOKENIZER_CONTEXT 77

typedef struct clip_tokenizer clip_tokenizer;

/* Load from the merges as the converted model stores them
 * (weights/FORMAT.md, tokenizer.bpe_merges): one "first second" pair per line
 * in rank order, no "#version" header. Returns 0, or -1 with `err` set. */
int clip_tokenizer_load(clip_tokenizer **out, const char *merges_text, size_t len, fmt_error *err);
void clip_tokenizer_free(clip_tokenizer *t);

/* Tokenize NUL-terminated UTF-8 text into ids[0..context): <|startoftext|>,
 * the tokens, <|endoftext|>, zeros; truncated to `context` with <|endoftext|>
 * last. *n_used (may be NULL) is the position of that final <|endoftext|> + 1.
 * (A text that spells "<|endoftext|>" gets that id earlier as well, as in
 * CLIP.) context >= 2. Returns 0, or -1 on bad arguments or out of memory. */
int clip_tokenize(const clip_tokenizer *t, const char *utf8, int *ids, size_t context,
                  size_t *n_used);

/* Vocabulary size (49408 for CLIP's merges) and the two special ids. */
size_t clip_tokenizer_vocab_size(const clip_tokenizer *t);
int clip_tokenizer_sot(const clip_tokenizer *t);
int clip_tokenizer_eot(const clip_tokenizer *t);

/* The merges simple_tokenizer reads from bpe_simple_vocab_16e6.txt (already
 * decompressed): lines [1 : 49152 - 256 - 2 + 1] of text.split('\n'), i.e.
 * the header skipped and at most 48894 lines kept. Sets *start / *n to that span
 * of `text`, each kept line with its '\n' (the last one may lack it; an empty
 * line that Python would keep at the very end of a short file is left out).
 * Returns 0, or -1 with `err` set when the text has no line after the header. */
int clip_bpe_merges_from_vocab(const char *text, size_t len, const char **start, size_t *n,
                               fmt_error *err);

#endif
