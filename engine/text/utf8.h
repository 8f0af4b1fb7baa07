/* UTF-8 as Python reads and writes it, for both tokenizers, and a growable
 * array of code points. The one decoder: bytes.decode('utf-8', 'replace'),
 * where each maximal ill-formed subsequence (Unicode §3.9) becomes one
 * U+FFFD, as CPython does. */
#ifndef UNPROMPT_ENGINE_TEXT_UTF8_H
#define UNPROMPT_ENGINE_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decode one character of s[0..len) (len >= 1): an ill-formed prefix becomes
 * UTF8_REPLACEMENT for its maximal subpart. Returns the bytes consumed (>= 1). */
size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* UTF-8 of one code point (< 0x110000; surrogates included, as CPython's
 * surrogatepass would, though no caller passes one). Returns 1..4. */
size_t utf8_encode(uint32_t c, unsigned char out[4]);

/* Code points in s[0..len) as Python counts them after decoding. */
size_t utf8_count(const unsigned char *s, size_t len);

/* A growable array of code points. Zero-initialise; free with cp_buf_free. */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} cp_buf;

int cp_buf_reserve(cp_buf *b, size_t cap); /* 0, or -1 when memory runs out */
void cp_buf_free(cp_buf *b);
void cp_buf_swap(cp_buf *a, cp_buf *b);

/* All of s[0..len) decoded into out (replacing its contents); 0 or -1. */
int utf8_decode(const unsigned char *s, size_t len, cp_buf *out);

#endif
