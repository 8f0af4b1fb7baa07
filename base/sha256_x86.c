/* SHA-256 blocks with the x86 SHA extensions (SHA-NI: sha256rnds2 does two
 * rounds, sha256msg1/msg2 the message schedule), about 7x the portable
 * code; sha256.c calls it when the CPU has them. Compiled for any x86-64
 * target: the function carries its own target attribute. */
#include "base/sha256_impl.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

int sha256_x86_available(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19))) return 0; /* SSSE3, SSE4.1 */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* SHA */
}

__attribute__((target("sha,sse4.1,ssse3"))) void sha256_blocks_x86(uint32_t h[8], const uint8_t *p, size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* the registers hold the state as ABEF and CDGH (lanes written high to low) */
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[0]), 0xB1); /* BADC */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[4]), 0x1B); /* HGFE */
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);                                                        /* ABEF */
    s1 = _mm_blend_epi16(s1, t, 0xF0);                                                              /* CDGH */
/* four rounds on message words w (+ their constants), two per sha256rnds2 */
#define SHA_ROUNDS4(w, g)                                                                                  \
    do {                                                                                                   \
        __m128i m_ = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(const void *)&sha256_k[4 * (g)])); \
        s1 = _mm_sha256rnds2_epu32(s1, s0, m_);                                                             \
        s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m_, 0x0E));                                    \
    } while (0)
/* a = the next four words, from a, b, c, d: the previous sixteen */
#define SHA_SCHEDULE(a, b, c, d) \
    a = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(a, b), _mm_alignr_epi8(d, c, 4)), d)
#define SHA_LOAD(i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * (i))), bswap)
    for (; blocks; blocks--, p += 64) {
        __m128i abef = s0, cdgh = s1;
        __m128i w0 = SHA_LOAD(0), w1 = SHA_LOAD(1), w2 = SHA_LOAD(2), w3 = SHA_LOAD(3);
        SHA_ROUNDS4(w0, 0);
        SHA_ROUNDS4(w1, 1);
        SHA_ROUNDS4(w2, 2);
        SHA_ROUNDS4(w3, 3);
        for (int g = 4; g < 16; g += 4) {
            SHA_SCHEDULE(w0, w1, w2, w3);
            SHA_ROUNDS4(w0, g);
            SHA_SCHEDULE(w1, w2, w3, w0);
            SHA_ROUNDS4(w1, g + 1);
            SHA_SCHEDULE(w2, w3, w0, w1);
            SHA_ROUNDS4(w2, g + 2);
            SHA_SCHEDULE(w3, w0, w1, w2);
            SHA_ROUNDS4(w3, g + 3);
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
    }
    t = _mm_shuffle_epi32(s0, 0x1B);                                 /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);                                /* DCHG */
    _mm_storeu_si128((__m128i *)(void *)&h[0], _mm_blend_epi16(t, s1, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)(void *)&h[4], _mm_alignr_epi8(s1, t, 8));    /* HGFE */
}

#else

int sha256_x86_available(void) { return 0; }

void sha256_blocks_x86(uint32_t h[8], const uint8_t *p, size_t blocks)
{
    (void)h, (void)p, (void)blocks;
}

#endif
