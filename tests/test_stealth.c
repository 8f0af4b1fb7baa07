/* Stealth info: the Python-written fixtures (an independent implementation
 * of the extension's bit layout), round trips through the C writer, and
 * corrupt payloads. */
#include "engine/unprompt.h"
#include "format/image.h"
#include "format/stealth.h"
#include "tests/test.h"

static const char *fixture_text =
    "stealthy cat, \xc3\xa9t\xc3\xa9\nNegative prompt: visible\nSteps: 12, Sampler: DDIM, CFG scale: 4, Seed: 99, Size: 40x30";

static void check_fixture(const char *path)
{
    size_t n;
    uint8_t *d = test_read_file(path, &n);
    CHECK(d != NULL);
    if (!d) return;
    image_u8 img;
    fmt_error e;
    CHECK(image_decode(d, n, NULL, &img, &e) == 0);
    meta_list m;
    meta_list_init(&m);
    CHECK(stealth_read(img.pixels, img.width, img.height, img.channels, 1 << 20, &m, &e) == 1);
    CHECK(m.count == 1);
    if (m.count) CHECK_STR(m.items[0].text, fixture_text);
    meta_list_free(&m);
    image_free(&img);
    /* And through the library: no text chunk, so the pixels are searched. */
    unprompt_info info;
    char err[256];
    CHECK(unprompt_info_read(d, n, NULL, &info, err, sizeof err) == UNPROMPT_OK);
    CHECK_STR(info.generator, "automatic1111");
    CHECK_STR(info.prompt, "stealthy cat, \xc3\xa9t\xc3\xa9");
    CHECK_STR(unprompt_info_setting(&info, "Sampler"), "DDIM");
    unprompt_info_free(&info);
    free(d);
}

static void test_python_fixtures(void)
{
    check_fixture("tests/fixtures/stealth_alpha.png");
    check_fixture("tests/fixtures/stealth_alpha_gzip.png");
    check_fixture("tests/fixtures/stealth_rgb.png");
}

static void test_roundtrip_and_corruption(void)
{
    const uint32_t w = 64, h = 48;
    uint8_t *px = malloc(w * h * 4);
    for (uint32_t i = 0; i < w * h * 4; i++) px[i] = (uint8_t)(i * 37 + 11);
    fmt_error e;
    meta_list m;
    meta_list_init(&m);
    CHECK(stealth_read(px, w, h, 4, 1 << 20, &m, &e) == 0); /* noise: no signature */
    for (int comp = 0; comp < 2; comp++) {
        CHECK(stealth_write_alpha(px, w, h, "hello, world", 12, comp, &e) == 0);
        CHECK(stealth_read(px, w, h, 4, 1 << 20, &m, &e) == 1);
        CHECK_STR(m.items[m.count - 1].text, "hello, world");
    }
    meta_list_free(&m);
    /* Length field claims more bits than the image holds (bit 120 = MSB). */
    for (int bit = 0; bit < 4; bit++) {
        uint32_t i = 120 + (uint32_t)bit, x = i / h, y = i % h;
        px[(y * w + x) * 4 + 3] |= 1;
    }
    meta_list_init(&m);
    CHECK(stealth_read(px, w, h, 4, 1 << 20, &m, &e) == -1);
    CHECK(strstr(e.msg, "does not fit") != NULL);
    meta_list_free(&m);
    /* Too small an image for the payload. */
    CHECK(stealth_write_alpha(px, 4, 4, "x", 1, 0, &e) == -1);
    free(px);
}

int main(void)
{
    RUN(test_python_fixtures);
    RUN(test_roundtrip_and_corruption);
    return test_summary("stealth");
}
