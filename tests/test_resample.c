/* Resampling against Pillow, byte for byte: the cases and Pillow's outputs
 * come from tests/fixtures/make_resample_fixtures.py. */
#include "format/image.h"
#include "engine/preprocess/resize.h"
#include "tests/test.h"

#define DIR "tests/fixtures/resample"

/* The source formula of the fixture script. */
static uint8_t *make_source(int w, int h, int ch)
{
    uint8_t *p = malloc((size_t)w * (size_t)h * (size_t)ch);
    size_t i = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++)
                p[i++] = (uint8_t)((x * x * 3 + y * 5 + c * 77 + ((x ^ y) & 15) * 9 + (x * y) % 7) % 256);
    return p;
}

static int cases_run, bytes_compared;

static void run_case(const char *line)
{
    char name[64], op[16], flt[16];
    int sw, sh, ch, dw, dh;
    float box[4];
    if (sscanf(line, "%63s %15s %15s %d %d %d %d %d %f %f %f %f", name, op, flt, &sw, &sh, &ch, &dw, &dh, &box[0],
               &box[1], &box[2], &box[3]) != 12)
        return;
    char path[256];
    snprintf(path, sizeof path, DIR "/%s.png", name);
    size_t n;
    uint8_t *png = test_read_file(path, &n);
    CHECK(png != NULL);
    if (!png) return;
    image_u8 want;
    fmt_error e;
    CHECK(image_decode(png, n, NULL, &want, &e) == 0);
    free(png);
    if (!want.pixels) return;
    CHECK((int)want.width == dw && (int)want.height == dh && want.channels == ch);
    uint8_t *src = make_source(sw, sh, ch);
    uint8_t *got = calloc((size_t)dw * (size_t)dh * (size_t)ch, 1);
    image_view v = {.pixels = src, .width = sw, .height = sh, .channels = ch};
    int rc;
    if (!strcmp(op, "clip")) rc = resize_center_crop(&v, got, dw);
    else if (!strcmp(op, "fill")) rc = resize_and_fill(&v, got, dw, dh);
    else rc = resample_u8(&v, got, dw, dh, strcmp(flt, "lanczos") ? RESAMPLE_BICUBIC : RESAMPLE_LANCZOS, box);
    CHECK(rc == 0);
    size_t total = (size_t)dw * (size_t)dh * (size_t)ch, diff = 0;
    int maxd = 0;
    for (size_t i = 0; i < total; i++) {
        int d = abs((int)got[i] - (int)want.pixels[i]);
        if (d) diff++;
        if (d > maxd) maxd = d;
    }
    if (diff) fprintf(stderr, "    %s: %zu of %zu bytes differ (max %d)\n", name, diff, total, maxd);
    CHECK(diff == 0);
    cases_run++;
    bytes_compared += (int)total;
    free(src);
    free(got);
    image_free(&want);
}

static void test_against_pillow(void)
{
    FILE *f = fopen(DIR "/manifest.txt", "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) run_case(line);
    fclose(f);
    CHECK(cases_run == 24);
    printf("resample: %d cases, %d bytes compared with Pillow\n", cases_run, bytes_compared);
}

static void test_bad_arguments(void)
{
    uint8_t px[12] = {0}, out[12];
    image_view v = {.pixels = px, .width = 2, .height = 2, .channels = 3};
    CHECK(resample_u8(&v, out, 0, 2, RESAMPLE_BICUBIC, NULL) == -1);
    CHECK(resample_u8(&v, out, 2, 2, (resample_filter)7, NULL) == -1);
    float box[4] = {0, 0, 3, 2}; /* past the source */
    CHECK(resample_u8(&v, out, 2, 2, RESAMPLE_BICUBIC, box) == -1);
    float neg[4] = {-1, 0, 2, 2};
    CHECK(resample_u8(&v, out, 2, 2, RESAMPLE_BICUBIC, neg) == -1);
    image_view huge = {.pixels = px, .width = 1 << 20, .height = 1, .channels = 3};
    CHECK(resample_u8(&huge, out, 2, 2, RESAMPLE_BICUBIC, NULL) == -1);
    image_view grey = {.pixels = px, .width = 2, .height = 2, .channels = 1};
    CHECK(resize_and_fill(&grey, out, 2, 2) == -1);
}

int main(void)
{
    RUN(test_against_pillow);
    RUN(test_bad_arguments);
    return test_summary("resample");
}
