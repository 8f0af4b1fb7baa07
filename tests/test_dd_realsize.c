/* DeepDanbooru at its real size (179 convs, 512×512, 9176 tags) against
 * PyTorch: at every kernel level, f32 weights, the largest |Δp| from the
 * float64 run must be no more than PyTorch float32's own on the same
 * weights and inputs. The tiny fixture model of test_deepdanbooru shows
 * errors of 1e-6, too small to tell the summation orders apart; at the
 * real size, through 57 blocks of 1024–4608 terms a sum, they differ.
 *
 * The references are too big to commit (the weights alone are 0.5 GB):
 * tests/fixtures/make_deepdanbooru_realsize.py writes them into a folder,
 * and this test runs when UNPROMPT_REALSIZE_DIR names it (a named skip
 * otherwise). TEST_VERBOSE=1 prints every error; with the script's --trace
 * files present, UNPROMPT_REALSIZE_TRACE=1 also prints each block's error
 * against the float64 activations. */
#include <math.h>

#include "engine/models/deepdanbooru/deepdanbooru.h"
#include "kernels/kernels.h"
#include "tests/golden_check.h"
#include "tests/test.h"

#define RS_TAGS 9176
static const char *const inputs[] = {"noise", "smooth"};
#define N_INPUTS (sizeof inputs / sizeof inputs[0])
#define RS_THREADS 2

static const char *dir(void) { return getenv("UNPROMPT_REALSIZE_DIR"); }

static void *read_in_dir(const char *name, const char *ext, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir(), name, ext);
    return test_read_file(path, len);
}

/* Each block's output against the float64 run's (rounded to float32): max
 * |Δ| / max |ref| and the root-mean-square of Δ over that of ref. */
typedef struct {
    const float *ref; /* the trace, block after block */
    size_t len, at;
    const char *level;
} rs_trace;

static void compare_block(void *user, int block, const float *y, int side, int channels)
{
    rs_trace *t = user;
    size_t n = (size_t)side * side * channels;
    if (t->at + n > t->len) return;
    const float *r = t->ref + t->at;
    t->at += n;
    double worst = 0, scale = 0, d2 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)y[i] - r[i]);
        worst = d > worst ? d : worst;
        scale = fabs(r[i]) > scale ? fabs(r[i]) : scale;
        d2 += d * d, r2 += (double)r[i] * r[i];
    }
    fprintf(stderr, "      %s block %2d (%3d² × %4d): max %.3e  rms %.3e\n", t->level, block, side, channels,
            worst / scale, sqrt(d2 / r2));
}

/* max |Δp| of the float32 probabilities p against the float64 reference
 * (logits then probabilities). */
static double prob_error(const float *p, const double *ref64)
{
    double worst = 0;
    for (size_t i = 0; i < RS_TAGS; i++) worst = test_worse(worst, fabs((double)p[i] - ref64[RS_TAGS + i]));
    return worst;
}

static void check_level(const char *level)
{
    if (!dir()) SKIP("UNPROMPT_REALSIZE_DIR is not set (tests/fixtures/make_deepdanbooru_realsize.py)");
    kernel_table t;
    if (kernels_init_level(&t, level) != 0) {
        static char why[64];
        snprintf(why, sizeof why, "this CPU lacks %s", level);
        SKIP(why);
    }
    size_t len = 0;
    uint8_t *bytes = read_in_dir("model", ".safetensors", &len);
    weights_file *wf = NULL;
    fmt_error err = {{0}};
    deepdanbooru *m = malloc(sizeof *m);
    int rc = bytes && m ? weights_open_memory(&wf, bytes, len, &err) : -1;
    if (!rc && (rc = dd_load(m, wf, &t, RS_THREADS, &err))) weights_close(wf);
    if (rc) fprintf(stderr, "    %s\n", bytes ? err.msg : "cannot read model.safetensors");
    CHECK(rc == 0 && m->config.n_tags == RS_TAGS);
    if (rc) {
        free(m), free(bytes);
        return;
    }
    float *probs = malloc(RS_TAGS * sizeof *probs);
    for (size_t i = 0; i < N_INPUTS; i++) {
        size_t xl = 0, pl = 0, tl = 0;
        float *x = read_in_dir(inputs[i], ".input.f32", &xl), *p32 = read_in_dir(inputs[i], ".f32", &pl);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.f64", dir(), inputs[i]);
        double *p64 = golden_read_f64(path, 2 * RS_TAGS);
        CHECK(x && xl == (size_t)DD_INPUT * DD_INPUT * 3 * sizeof(float) && p32 && pl == 2 * RS_TAGS * sizeof(float) &&
              p64 && probs);
        if (x && p32 && p64 && probs && xl == (size_t)DD_INPUT * DD_INPUT * 3 * sizeof(float)) {
            float *trace = getenv("UNPROMPT_REALSIZE_TRACE") ? read_in_dir(inputs[i], ".trace.f32", &tl) : NULL;
            rs_trace tr = {.ref = trace, .len = tl / sizeof(float), .at = 0, .level = level};
            dd_logits(m, x, probs, trace ? compare_block : NULL, &tr);
            free(trace);
            float *l32 = malloc(RS_TAGS * sizeof *l32);
            for (size_t j = 0; l32 && j < RS_TAGS; j++) l32[j] = p32[j];
            double dl = golden_scaled_error(probs, p64, RS_TAGS), dlt = l32 ? golden_scaled_error(l32, p64, RS_TAGS) : 0;
            free(l32);
            m->kt->nn.sigmoid(probs, RS_TAGS);
            if (getenv("TEST_VERBOSE"))
                fprintf(stderr, "      %s %s logits max|d|/max|ref| %.3g (PyTorch f32's %.3g)\n", level, inputs[i], dl,
                        dlt);
            double ours = prob_error(probs, p64), torch = prob_error(p32 + RS_TAGS, p64);
            char what[128];
            snprintf(what, sizeof what, "%s %s max|dp| vs f64 (PyTorch f32's %.3g)", level, inputs[i], torch);
            GOLDEN_CHECK(what, ours, torch);
        }
        free(x), free(p32), free(p64);
    }
    free(probs);
    dd_free(m);
    free(m);
    weights_close(wf);
    free(bytes);
}

#define LEVEL_CASE(level) \
    static void test_##level(void) { check_level(#level); }
LEVEL_CASE(scalar)
LEVEL_CASE(avx2)
LEVEL_CASE(avx512)
LEVEL_CASE(avx512bf16)
LEVEL_CASE(amx)
LEVEL_CASE(neon)

int main(void)
{
    RUN(test_scalar);
    RUN(test_avx2);
    RUN(test_avx512);
    RUN(test_avx512bf16);
    RUN(test_amx);
    RUN(test_neon);
    return test_summary("dd_realsize");
}
