/* Base64 and data: URLs for the server's image fields (serve_base64.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/engine-run/serve_base64.h"

/* The value of one alphabet character, -1 for anything else. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Count the alphabet characters and the padding; check that padding only
 * ends the text. Returns 0, or -1 with err. */
static int b64_scan(const char *text, size_t len, size_t *digits, size_t *pad, char *err, size_t err_size)
{
    size_t d = 0, p = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_space(c)) continue;
        if (c == '=') {
            p++;
            continue;
        }
        if (b64_value(c) < 0) {
            snprintf(err, err_size, "invalid character 0x%02x at offset %zu", c, i);
            return -1;
        }
        if (p) {
            snprintf(err, err_size, "data after '=' padding at offset %zu", i);
            return -1;
        }
        d++;
    }
    if (d % 4 == 1 || p > 2 || (p && (d + p) % 4)) {
        snprintf(err, err_size, "truncated or wrongly padded (%zu characters, %zu '=')", d, p);
        return -1;
    }
    *digits = d, *pad = p;
    return 0;
}

int base64_decode(const char *text, size_t len, size_t max_out, uint8_t **out, size_t *out_len, char *err,
                  size_t err_size)
{
    size_t digits = 0, pad = 0;
    if (b64_scan(text, len, &digits, &pad, err, err_size)) return -1;
    size_t n = digits / 4 * 3 + (digits % 4 ? digits % 4 - 1 : 0);
    if (n > max_out) {
        snprintf(err, err_size, "decodes to %zu bytes, over the limit of %zu", n, max_out);
        return -1;
    }
    uint8_t *o = malloc(n ? n : 1);
    if (!o) {
        snprintf(err, err_size, "out of memory for %zu bytes", n);
        return -1;
    }
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && w < n; i++) {
        int v = b64_value((unsigned char)text[i]);
        if (v < 0) continue; /* whitespace; '=' only ends the text (checked) */
        acc = (acc << 6) | (uint32_t)v, bits += 6;
        if (bits >= 8) bits -= 8, o[w++] = (uint8_t)(acc >> bits);
        acc &= (1u << bits) - 1;
    }
    *out = o, *out_len = w;
    return 0;
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && !strncmp(s, prefix, n);
}

int image_field_payload(const char *text, size_t len, const char **payload, size_t *payload_len, char *err,
                        size_t err_size)
{
    size_t skip = 0;
    while (skip < len && is_space((unsigned char)text[skip])) skip++;
    text += skip, len -= skip;
    if (has_prefix(text, len, "http://") || has_prefix(text, len, "https://")) {
        snprintf(err, err_size, "image URLs are not fetched; send the image itself, base64-encoded");
        return -1;
    }
    if (has_prefix(text, len, "data:")) {
        const char *comma = memchr(text, ',', len);
        size_t head = comma ? (size_t)(comma - text) : 0;
        if (!comma || head < 12 || strncmp(comma - 7, ";base64", 7)) {
            snprintf(err, err_size, "a data: URL must be base64 (data:image/png;base64,...)");
            return -1;
        }
        *payload = comma + 1, *payload_len = len - head - 1;
        return 0;
    }
    *payload = text, *payload_len = len;
    return 0;
}
