/* SHA-256 against the FIPS 180-4 example vectors and split updates. */
#include "base/sha256.h"
#include "tests/test.h"

static void test_known_vectors(void)
{
    char hex[65];
    sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a_in_odd_pieces(void)
{
    char piece[997];
    memset(piece, 'a', sizeof piece);
    sha256_ctx c;
    sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof piece ? left : sizeof piece;
        sha256_update(&c, piece, n);
        left -= n;
    }
    uint8_t d[32];
    char hex[65];
    sha256_final(&c, d);
    sha256_to_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The SHA-NI blocks (when the CPU has them) and the portable code agree on
 * every length around block boundaries and on a long buffer in pieces. */
static void test_accelerated_equals_portable(void)
{
    static uint8_t data[70000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) x = x * 1103515245u + 12345u, data[i] = (uint8_t)(x >> 16);
    sha256_ctx probe;
    sha256_init(&probe);
    if (!probe.accel) fprintf(stderr, "    (no SHA instructions on this CPU: both runs are portable)\n");
    size_t lengths[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096, 65536, sizeof data};
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        uint8_t d[2][32];
        for (int accel = 0; accel < 2; accel++) {
            sha256_ctx c;
            sha256_init(&c);
            c.accel = accel && c.accel;
            for (size_t off = 0; off < lengths[k];) { /* uneven pieces */
                size_t n = lengths[k] - off < 777 + 13 * k ? lengths[k] - off : 777 + 13 * k;
                sha256_update(&c, data + off, n);
                off += n;
            }
            sha256_final(&c, d[accel]);
        }
        CHECK(!memcmp(d[0], d[1], 32));
    }
}

int main(void)
{
    RUN(test_accelerated_equals_portable);
    RUN(test_known_vectors);
    RUN(test_million_a_in_odd_pieces);
    return test_summary("sha256");
}
