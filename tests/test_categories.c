/* Category lists (reading as the WebUI reads them), softmax ranking, and
 * the label-embedding cache (reuse, invalidation, resume after a failure). */
#include <sys/stat.h>
#include <unistd.h>

#include "engine/models/clip/categories.h"
#include "engine/models/clip/clip_rank.h"
#include "engine/models/clip/label_cache.h"
#include "tests/test.h"

static char tmpdir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_parse_lines(void)
{
    category c;
    fmt_error err;
    /* \n, \r\n and \r end lines; blank lines stay; whitespace (also
     * U+00A0 and U+3000) is stripped; no extra item after the last \n. */
    const char *text = "  oil painting \n\r\nwatercolor\r\xc2\xa0sketch\xe3\x80\x80\n\tcharcoal\t\n";
    CHECK(categories_parse(&c, text, strlen(text), 0, &err) == 0);
    CHECK(c.n_items == 5);
    if (c.n_items == 5) {
        CHECK_STR(c.items[0], "oil painting");
        CHECK_STR(c.items[1], "");
        CHECK_STR(c.items[2], "watercolor");
        CHECK_STR(c.items[3], "sketch");
        CHECK_STR(c.items[4], "charcoal");
    }
    free(c.items), free(c.text);
    CHECK(categories_parse(&c, text, strlen(text), 2, &err) == 0); /* dict limit */
    CHECK(c.n_items == 2);
    free(c.items), free(c.text);
    CHECK(categories_parse(&c, "last line without newline", 25, 0, &err) == 0);
    CHECK(c.n_items == 1 && !strcmp(c.items[0], "last line without newline"));
    free(c.items), free(c.text);
    CHECK(categories_parse(&c, "\xff\xfe bad utf-8 \xff", 15, 0, &err) == 0); /* kept, not a crash */
    CHECK(c.n_items == 1);
    free(c.items), free(c.text);
}

static void test_load_folder(void)
{
    write_file("mediums.txt", "oil\nwatercolor\n");
    write_file("artists.txt", "a\nb\nc\n");
    write_file("flavors.top3.txt", "x\ny\n");
    write_file("notes.md", "not a list\n");
    write_file("empty.txt", "");
    category_set s;
    fmt_error err;
    CHECK(categories_load(&s, tmpdir, 0, NULL, &err) == 0);
    CHECK(s.n == 4);
    if (s.n == 4) { /* file-name order */
        CHECK_STR(s.cats[0].name, "artists");
        CHECK_STR(s.cats[1].name, "empty");
        CHECK_STR(s.cats[2].name, "flavors.top3");
        CHECK_STR(s.cats[3].name, "mediums");
        CHECK(s.cats[0].top == 1 && s.cats[2].top == 3 && s.cats[3].top == 1);
        CHECK(s.cats[0].n_items == 3 && s.cats[1].n_items == 0);
    }
    categories_free(&s);
    CHECK(categories_load(&s, tmpdir, 1, " empty , mediums", &err) == 0);
    CHECK(s.n == 2 && !strcmp(s.cats[0].name, "artists") && s.cats[0].n_items == 1);
    categories_free(&s);
    CHECK(categories_load(&s, tmpdir, 0, "artists,empty,flavors.top3,mediums", &err) == -1);
    CHECK(strstr(err.msg, "no category lists") != NULL);
    CHECK(categories_load(&s, "/nonexistent/categories", 0, NULL, &err) == -1);
    CHECK(strstr(err.msg, "/nonexistent/categories") != NULL);
}

static void test_rank(void)
{
    /* Two-dimensional unit vectors: cosines 1, 0.8, 0, -0.6 with the image. */
    float image[2] = {1, 0}, text[8] = {1, 0, 0.8f, 0.6f, 0, 1, -0.6f, 0.8f}, prob[4], p[4];
    size_t idx[4];
    CHECK(clip_rank(image, text, 4, 2, 2, idx, prob, p) == 2);
    double z = 1 + exp(-20.0) + exp(-100.0) + exp(-160.0);
    CHECK(idx[0] == 0 && idx[1] == 1);
    CHECK_NEAR(prob[0], 1 / z, 1e-6);
    CHECK_NEAR(prob[1], exp(-20.0) / z, 1e-12);
    CHECK(clip_rank(image, text, 4, 2, 9, idx, prob, p) == 4); /* top > n */
    CHECK(idx[2] == 2 && idx[3] == 3);
    float tie[4] = {0, 1, 0, 1}; /* equal scores: the earlier phrase first */
    CHECK(clip_rank(image, tie, 2, 2, 2, idx, prob, p) == 2 && idx[0] == 0 && idx[1] == 1);
    float v[3] = {3, 0, 4};
    clip_l2_normalize(v, 3);
    CHECK_NEAR(v[0], 0.6, 1e-7);
    CHECK_NEAR(v[2], 0.8, 1e-7);
}

/* A fake text tower: features from the phrase's bytes; counts calls and
 * can be told to fail after some phrases. */
typedef struct {
    size_t encoded, fail_after;
} fake_tower;

static int fake_encode(void *user, const char *const *phrases, size_t n, float *f, fmt_error *err)
{
    fake_tower *t = user;
    if (t->fail_after && t->encoded + n > t->fail_after) return fmt_fail(err, "interrupted");
    for (size_t i = 0; i < n; i++) {
        size_t h = 7;
        for (const char *s = phrases[i]; *s; s++) h = h * 31 + (unsigned char)*s;
        for (size_t j = 0; j < 4; j++) f[i * 4 + j] = (float)((h >> (4 * j)) & 15) + 1.0f;
    }
    t->encoded += n;
    return 0;
}

static void test_label_cache(void)
{
    char dir[300], path[600];
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    category c;
    fmt_error err;
    const char *text = "p0\np1\np2\np3\np4\np5\np6\np7\np8\np9\n";
    CHECK(categories_parse(&c, text, strlen(text), 0, &err) == 0);
    c.name = "list";
    fake_tower t = {0, 0};
    label_cache_params p = {.dir = dir,
                            .model_key = "model-A",
                            .dim = 4,
                            .chunk = 3,
                            .encode = fake_encode,
                            .encode_user = &t,
                            .progress = NULL,
                            .progress_user = NULL};
    float *f1 = NULL, *f2 = NULL;
    int saved = -1;
    CHECK(label_cache_get(&p, &c, &f1, &saved, &err) == 0 && saved == 1 && t.encoded == 10);
    CHECK(label_cache_path(&p, &c, path, sizeof path) == 0 && access(path, R_OK) == 0);
    double norm = 0;
    for (int j = 0; f1 && j < 4; j++) norm += f1[j] * f1[j];
    CHECK_NEAR(norm, 1.0, 1e-6);
    t.encoded = 0; /* a second run reads the file */
    CHECK(label_cache_get(&p, &c, &f2, &saved, &err) == 0 && saved == 1 && t.encoded == 0);
    CHECK(f1 && f2 && !memcmp(f1, f2, 10 * 4 * sizeof(float)));
    free(f2);
    /* another model: its own file */
    p.model_key = "model-B";
    CHECK(label_cache_get(&p, &c, &f2, &saved, &err) == 0 && t.encoded == 10);
    free(f2);
    /* a changed list: recomputed; an interrupted run resumes */
    free(c.items), free(c.text);
    const char *text2 = "q0\nq1\nq2\nq3\nq4\nq5\nq6\n";
    CHECK(categories_parse(&c, text2, strlen(text2), 0, &err) == 0);
    c.name = "list";
    t = (fake_tower){0, 5};
    CHECK(label_cache_get(&p, &c, &f2, &saved, &err) == -1); /* 3 done and saved, then a failure */
    CHECK(strstr(err.msg, "interrupted") != NULL && f2 == NULL);
    t = (fake_tower){0, 0};
    CHECK(label_cache_get(&p, &c, &f2, &saved, &err) == 0 && saved == 1 && t.encoded == 4);
    float direct[7 * 4];
    fake_tower t2 = {0, 0};
    fake_encode(&t2, (const char *const *)c.items, 7, direct, &err);
    for (int i = 0; i < 7; i++) clip_l2_normalize(direct + 4 * i, 4);
    CHECK(f2 && !memcmp(f2, direct, sizeof direct)); /* resumed = computed in one go */
    free(f2);
    /* the first list's file is still valid */
    free(c.items), free(c.text);
    CHECK(categories_parse(&c, text, strlen(text), 0, &err) == 0);
    c.name = "list";
    p.model_key = "model-A";
    t = (fake_tower){0, 0};
    CHECK(label_cache_get(&p, &c, &f2, &saved, &err) == 0 && t.encoded == 0);
    free(f2);
    /* no writable folder: computed, not saved */
    p.dir = "/proc/unprompt-no-such-dir";
    t = (fake_tower){0, 0};
    CHECK(label_cache_get(&p, &c, &f2, &saved, &err) == 0 && saved == 0 && t.encoded == 10);
    CHECK(f1 && f2 && !memcmp(f1, f2, 10 * 4 * sizeof(float)));
    free(f1), free(f2);
    free(c.items), free(c.text);
}

/* A FIFO named like a list is refused with a reason, not waited on (the
 * alarm turns a hang into a failed run). */
static void test_fifo_list_refused(void)
{
    char sub[400], fifo[500];
    snprintf(sub, sizeof sub, "%s/fifo", tmpdir);
    CHECK(mkdir(sub, 0777) == 0);
    snprintf(fifo, sizeof fifo, "%s/artists.txt", sub);
    CHECK(mkfifo(fifo, 0600) == 0);
    category_set s;
    fmt_error err;
    alarm(60);
    CHECK(categories_load(&s, sub, 0, NULL, &err) == -1);
    alarm(0);
    CHECK(strstr(err.msg, "artists.txt") != NULL);
    unlink(fifo);
    rmdir(sub);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/unprompt-categories-%ld", (long)getpid());
    mkdir(tmpdir, 0777);
    RUN(test_parse_lines);
    RUN(test_load_folder);
    RUN(test_rank);
    RUN(test_label_cache);
    RUN(test_fifo_list_refused);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "  could not remove %s\n", tmpdir);
    return test_summary("categories");
}
