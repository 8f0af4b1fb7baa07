/* Attention against a naive double-precision reference: self, causal (with
 * and without a cached offset), cross, single query rows, blocks with ragged
 * tails, padded strides — for every nn kernel level the CPU has. */
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "tests/test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static float *rand_mat(size_t rows, size_t ld)
{
    float *m = malloc(rows * ld * sizeof *m);
    for (size_t i = 0; i < rows * ld; i++) m[i] = frand();
    return m;
}

static void naive_attention(const attention_args *a, double *out /* [lq][heads*d] */)
{
    size_t d = a->head_dim, w = a->heads * d;
    double *s = malloc(a->lk * sizeof *s);
    for (size_t h = 0; h < a->heads; h++)
        for (size_t i = 0; i < a->lq; i++) {
            size_t keys = a->causal ? i + a->causal_offset + 1 : a->lk;
            double mx = -1e300, sum = 0;
            for (size_t j = 0; j < keys; j++) {
                double dot = 0;
                for (size_t t = 0; t < d; t++) dot += (double)a->q[i * a->ldq + h * d + t] * a->k[j * a->ldk + h * d + t];
                s[j] = dot * a->scale;
                mx = s[j] > mx ? s[j] : mx;
            }
            for (size_t j = 0; j < keys; j++) sum += s[j] = exp(s[j] - mx);
            for (size_t t = 0; t < d; t++) {
                double acc = 0;
                for (size_t j = 0; j < keys; j++) acc += s[j] / sum * a->v[j * a->ldv + h * d + t];
                out[i * w + h * d + t] = acc;
            }
        }
    free(s);
}

typedef struct {
    size_t heads, d, lq, lk, pad;
    int causal;
    size_t offset;
} shape;

static double run_case(const nn_kernels *nn, const shape *c)
{
    size_t w = c->heads * c->d, ld = w + c->pad;
    attention_args a = {.heads = c->heads, .head_dim = c->d, .lq = c->lq, .lk = c->lk, .ldq = ld, .ldk = ld,
                        .ldv = ld, .ldo = ld, .scale = 1.0f / sqrtf((float)c->d), .causal = c->causal,
                        .causal_offset = c->offset, .threads = 2};
    float *q = rand_mat(c->lq, ld), *k = rand_mat(c->lk, ld), *v = rand_mat(c->lk, ld);
    float *out = calloc(c->lq * ld, sizeof *out), *scratch = malloc(attention_scratch(c->lk, 2) * sizeof *scratch);
    double *ref = malloc(c->lq * w * sizeof *ref);
    a.q = q, a.k = k, a.v = v, a.out = out;
    double worst = 1e30;
    if (attention(nn, &a, scratch) == 0) {
        naive_attention(&a, ref);
        worst = 0;
        for (size_t i = 0; i < c->lq; i++) {
            for (size_t t = 0; t < w; t++) {
                double e = fabs(out[i * ld + t] - ref[i * w + t]);
                worst = test_worse(worst, e);
            }
            for (size_t t = w; t < ld; t++) /* padding columns untouched */
                if (out[i * ld + t] != 0) worst = 1e30;
        }
    }
    free(q), free(k), free(v), free(out), free(scratch), free(ref);
    return worst;
}

static const shape cases[] = {
    {.heads = 1, .d = 1, .lq = 1, .lk = 1, .pad = 0, .causal = 0, .offset = 0},
    {.heads = 1, .d = 8, .lq = 1, .lk = 5, .pad = 0, .causal = 0, .offset = 0},
    {.heads = 2, .d = 16, .lq = 7, .lk = 7, .pad = 0, .causal = 1, .offset = 0},
    {.heads = 3, .d = 13, .lq = 65, .lk = 65, .pad = 3, .causal = 0, .offset = 0},
    {.heads = 4, .d = 64, .lq = 130, .lk = 130, .pad = 0, .causal = 1, .offset = 0},
    {.heads = 2, .d = 32, .lq = 1, .lk = 9, .pad = 0, .causal = 1, .offset = 8},
    {.heads = 2, .d = 32, .lq = 3, .lk = 11, .pad = 1, .causal = 1, .offset = 8},
    {.heads = 12, .d = 64, .lq = 1, .lk = 577, .pad = 0, .causal = 0, .offset = 0},
    {.heads = 8, .d = 24, .lq = 70, .lk = 201, .pad = 5, .causal = 0, .offset = 0},
    {.heads = 16, .d = 64, .lq = 257, .lk = 257, .pad = 0, .causal = 0, .offset = 0},
    {.heads = 2, .d = 8, .lq = 129, .lk = 129, .pad = 0, .causal = 1, .offset = 0},
};

static void test_attention_matches_naive(void)
{
    static const char *const levels[] = {"scalar", "avx2", "avx512", "neon"};
    int ran = 0;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        kernel_table t;
        if (kernels_init_level(&t, levels[l]) != 0) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        ran++;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            double e = run_case(&t.nn, &cases[i]);
            if (e > 2e-5)
                fprintf(stderr, "    %s case %zu (heads %zu d %zu lq %zu lk %zu causal %d): error %.3g\n", levels[l],
                        i, cases[i].heads, cases[i].d, cases[i].lq, cases[i].lk, cases[i].causal, e);
            CHECK(e <= 2e-5);
        }
    }
    CHECK(ran >= 2);
}

static void test_attention_rejects_bad_arguments(void)
{
    kernel_table t;
    kernels_init(&t);
    float x[64] = {0}, out[64] = {0}, scratch[ATTN_BLOCK * 8];
    attention_args a = {.heads = 2, .head_dim = 4, .lq = 2, .lk = 2, .q = x, .ldq = 8, .k = x, .ldk = 8, .v = x,
                        .ldv = 8, .out = out, .ldo = 8, .scale = 0.5f};
    CHECK(attention(&t.nn, &a, scratch) == 0);
    attention_args narrow = a;
    narrow.ldq = 7;
    CHECK(attention(&t.nn, &narrow, scratch) == -1);
    attention_args no_heads = a;
    no_heads.heads = 0;
    CHECK(attention(&t.nn, &no_heads, scratch) == -1);
    attention_args past = a;
    past.causal = 1, past.causal_offset = 1; /* query 1 would need key 2 */
    CHECK(attention(&t.nn, &past, scratch) == -1);
    attention_args no_keys = a;
    no_keys.lk = 0;
    CHECK(attention(&t.nn, &no_keys, scratch) == -1);
}

int main(void)
{
    RUN(test_attention_matches_naive);
    RUN(test_attention_rejects_bad_arguments);
    return test_summary("attention");
}
