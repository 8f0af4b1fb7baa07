/* CLIP's byte-level BPE (simple_tokenizer.SimpleTokenizer): the vocabulary
 * built from the merges, and the merge loop over one pre-token.
 *
 * Vocabulary, as simple_tokenizer builds it: the 256 byte characters of
 * bytes_to_unicode() in its order, the same 256 with "</w>", every merge joined
 * (id 512 + rank), then <|startoftext|> and <|endoftext|>. When a string
 * occurs twice the later id wins (a Python dict built in order); so does the
 * later rank of a repeated merge. Symbols are handled by these ids. */
#ifndef UNPROMPT_ENGINE_TEXT_CLIP_BPE_H
#define UNPROMPT_ENGINE_TEXT_CLIP_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define CLIP_BPE_MAX_MERGES (1u << 20)
#define CLIP_BPE_MAX_LINE 1024

typedef struct {
    uint64_t *keys;           /* (left id << 32 | right id), UINT64_MAX when empty */
    uint32_t *rank, *result;  /* the merge's rank and the id of the joined symbol */
    size_t mask;              /* capacity - 1 (a power of two) */
    uint32_t byte_id[256];    /* the symbol of a byte inside a word */
    uint32_t byte_end_id[256];/* ... and of the last byte, with "</w>" */
    uint32_t sot, eot;        /* <|startoftext|>, <|endoftext|> */
    size_t merges, vocab_size;
} clip_bpe;

/* Build from merges text: lines "first second" (one space; no other byte
 * below '!'), in rank order, '\n'-separated, a final '\n' optional. */
int clip_bpe_build(clip_bpe *b, const char *text, size_t len, fmt_error *err);
void clip_bpe_free(clip_bpe *b);

/* Scratch for clip_bpe_word, grown as needed; zero-initialise, free with
 * clip_bpe_work_free. */
typedef struct {
    uint32_t *id;
    uint32_t *prev, *next;
    uint64_t *heap, *pending;
    size_t cap;
} clip_bpe_work;

void clip_bpe_work_free(clip_bpe_work *w);

/* BPE of one pre-token given as UTF-8 bytes (n >= 1), exactly as
 * SimpleTokenizer.bpe does it (lowest-ranked pair first, all its occurrences
 * left to right in one pass), in O(n log n). Appends the ids to out[*count...]
 * while *count < room; returns 0, or -1 when memory runs out. */
int clip_bpe_word(const clip_bpe *b, const unsigned char *bytes, size_t n, clip_bpe_work *w,
                  int *out, size_t *count, size_t room);

/* bytes_to_unicode(): the code point standing for byte b. */
uint32_t clip_bpe_byte_char(unsigned char b);

#endif
