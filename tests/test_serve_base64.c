/* The server's base64 and data: URL reader (tools/engine-run/serve_base64.c)
 * on hand-computed values (RFC 4648 section 10) and hostile inputs. */
#include <stdint.h>

#include "tests/test.h"
#include "tools/engine-run/serve_base64.h"

/* Decode `text` with the limit; returns the bytes as a string or NULL. */
static char *decode(const char *text, size_t limit)
{
    uint8_t *out = NULL;
    size_t n = 0;
    char err[128];
    if (base64_decode(text, strlen(text), limit, &out, &n, err, sizeof err)) return NULL;
    char *s = malloc(n + 1);
    if (s) memcpy(s, out, n), s[n] = '\0';
    free(out);
    return s;
}

static void check_decodes(const char *text, const char *want)
{
    char *got = decode(text, 1 << 20);
    CHECK(got != NULL);
    CHECK_STR(got ? got : "(failed)", want);
    free(got);
}

static void test_rfc4648_vectors(void)
{
    check_decodes("", "");
    check_decodes("Zg==", "f");
    check_decodes("Zm8=", "fo");
    check_decodes("Zm9v", "foo");
    check_decodes("Zm9vYg==", "foob");
    check_decodes("Zm9vYmE=", "fooba");
    check_decodes("Zm9vYmFy", "foobar");
    check_decodes("Zm9vYg", "foob"); /* padding left out */
    check_decodes("Zm9v\r\nYmFy\n", "foobar");
    check_decodes(" Zm9v YmE= ", "fooba");
}

static void test_binary_alphabet(void)
{
    uint8_t *out = NULL;
    size_t n = 0;
    char err[128];
    /* "+/8=" is 0xfb 0xff: the two characters past the letters and digits */
    CHECK(base64_decode("+/8=", 4, 16, &out, &n, err, sizeof err) == 0 && n == 2 && out[0] == 0xfb && out[1] == 0xff);
    free(out);
    CHECK(base64_decode("AAAA", 4, 16, &out, &n, err, sizeof err) == 0 && n == 3 && !out[0] && !out[1] && !out[2]);
    free(out);
}

static void test_refused(void)
{
    static const char *const bad[] = {"Z", "Zm9vY", "Zg=", "Zg===", "Zg==Zg==", "Zm9v!", "Zm-_", "Zm9v\x80", "=", "Zm=v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *got = decode(bad[i], 1 << 20);
        if (got) fprintf(stderr, "    accepted %s\n", bad[i]);
        CHECK(got == NULL);
        free(got);
    }
    /* the limit is on the decoded size, checked before allocating */
    char *got = decode("Zm9vYmFy", 5);
    CHECK(got == NULL);
    got = decode("Zm9vYmFy", 6);
    CHECK(got && !strcmp(got, "foobar"));
    free(got);
    uint8_t *out = (uint8_t *)1;
    size_t n = 7;
    char err[128] = "";
    CHECK(base64_decode("Zm9vYmFy", 8, 5, &out, &n, err, sizeof err) == -1 && strstr(err, "limit"));
    CHECK(out == (uint8_t *)1 && n == 7); /* nothing written on failure */
}

/* The largest body the server takes by default (50 MiB): one pass over it,
 * a line break every 76 characters as MIME writes them, every byte decoded;
 * the last group "/w==" ends the text with the byte 0xff. */
static void test_largest_body(void)
{
    size_t lines = (50u << 20) / 78, len = lines * 78;
    char *text = malloc(len);
    CHECK(text != NULL);
    if (!text) return;
    for (size_t i = 0; i < lines; i++) {
        memset(text + i * 78, 'A', 76);
        memcpy(text + i * 78 + 76, "\r\n", 2);
    }
    memcpy(text + len - 6, "/w==", 4);
    uint8_t *out = NULL;
    size_t n = 0, want = lines * 76 / 4 * 3 - 2;
    char err[128];
    CHECK(base64_decode(text, len, want, &out, &n, err, sizeof err) == 0 && n == want);
    int zeros = out != NULL;
    for (size_t i = 0; out && i + 1 < n; i++) zeros &= out[i] == 0;
    CHECK(zeros && out[n - 1] == 0xff);
    free(out);
    CHECK(base64_decode(text, len, want - 1, &out, &n, err, sizeof err) == -1 && strstr(err, "limit"));
    free(text);
}

static void test_data_urls(void)
{
    const char *p;
    size_t n;
    char err[128];
    const char *url = "data:image/png;base64,Zm9v";
    CHECK(image_field_payload(url, strlen(url), &p, &n, err, sizeof err) == 0 && n == 4 && !strncmp(p, "Zm9v", 4));
    url = "  Zm9v";
    CHECK(image_field_payload(url, strlen(url), &p, &n, err, sizeof err) == 0 && n == 4 && !strncmp(p, "Zm9v", 4));
    url = "data:image/png,Zm9v"; /* not base64 */
    CHECK(image_field_payload(url, strlen(url), &p, &n, err, sizeof err) == -1);
    url = "data:;base64"; /* no comma */
    CHECK(image_field_payload(url, strlen(url), &p, &n, err, sizeof err) == -1);
    url = "https://example.com/a.png";
    CHECK(image_field_payload(url, strlen(url), &p, &n, err, sizeof err) == -1 && strstr(err, "not fetched"));
    /* the payload is found within the given length, not the C string */
    url = "data:image/png;base64,Zm9vYmFy";
    CHECK(image_field_payload(url, 26, &p, &n, err, sizeof err) == 0 && n == 4);
}

int main(void)
{
    RUN(test_rfc4648_vectors);
    RUN(test_binary_alphabet);
    RUN(test_refused);
    RUN(test_data_urls);
    RUN(test_largest_body);
    return test_summary("serve_base64");
}
