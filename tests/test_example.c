/* The library as another program uses it: `make install` into a temporary
 * prefix (the files this build made), examples/prompt.c compiled against it through pkg-config, then run
 * on an image with a stored prompt and one without (tiny DeepDanbooru). */
#include "engine/api/unprompt.h"
#include "tests/test.h"
#include "tests/cli.h"

static void test_install_and_example(void)
{
    char *tmp = cli_tmpdir(), cmd[4096], model[600];
    if (!tmp) {
        CHECK(0);
        return;
    }
    /* the compiler and link flags of this build (the sanitizer runtime for
     * the ASan build), passed by `make test` */
    const char *build = cli_build_dir(), *cc = getenv("UNPROMPT_CC"), *ld = getenv("UNPROMPT_LDFLAGS");
    snprintf(cmd, sizeof cmd, "make -s install-files BUILD=%s PREFIX=%s >%s/install.log 2>&1", build, tmp, tmp);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "%s examples/prompt.c $(PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs --static unprompt) "
             "%s -o %s/prompt 2>%s/cc.log",
             cc && *cc ? cc : "cc", tmp, ld ? ld : "", tmp, tmp);
    CHECK(system(cmd) == 0);
    char err[256];
    snprintf(model, sizeof model, "%s/deepdanbooru.safetensors", tmp);
    CHECK(unprompt_convert("tests/fixtures/deepdanbooru/tiny.pt", model, NULL, err, sizeof err) == UNPROMPT_OK);
    snprintf(cmd, sizeof cmd, "%s/prompt %s examples/sample.png tests/fixtures/deepdanbooru/rgb_37x53.png >%s/out.txt",
             tmp, model, tmp);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/out.txt", tmp);
    char *out = (char *)test_read_file(cmd, NULL);
    CHECK(out && strstr(out, "examples/sample.png: a lighthouse on a cliff at sunset") != NULL);
    CHECK(out && strstr(out, "rgb_37x53.png: ") != NULL && strchr(strstr(out, "rgb_37x53.png: "), ',') != NULL);
    free(out);
    cli_rmrf(tmp);
}

int main(void)
{
    RUN(test_install_and_example);
    return test_summary("example");
}
