/* The prompt of each image: the one stored in the file (PNG Info) when it
 * has one, else DeepDanbooru's tags. Uses only libunprompt's public API.
 *
 *   cc examples/prompt.c $(pkg-config --cflags --libs --static unprompt) -o prompt
 *   ./prompt weights/deepdanbooru.safetensors picture.png ...              */
#include <stdio.h>
#include <stdlib.h>
#include <unprompt.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) && fread(data, 1, (size_t)n, f) != (size_t)n)
        free(data), data = NULL;
    if (f) fclose(f);
    *len = (size_t)(n > 0 ? n : 0);
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 3) return fprintf(stderr, "usage: %s deepdanbooru.safetensors IMAGE...\n", argv[0]), 2;
    char err[256];
    unprompt_booru *model = NULL; /* loaded when a file has no stored prompt */
    int failed = 0;
    for (int i = 2; i < argc; i++) {
        size_t len;
        unsigned char *data = slurp(argv[i], &len);
        unprompt_info info;
        unprompt_info_params ip = unprompt_info_default_params();
        unprompt_booru_result tags;
        int stored = 0;
        if (data && unprompt_info_read(data, len, &ip, &info, err, sizeof err) == UNPROMPT_OK) {
            if ((stored = info.prompt != NULL)) printf("%s: %s\n", argv[i], info.prompt);
            unprompt_info_free(&info);
        }
        if (!data) {
            fprintf(stderr, "%s: cannot read\n", argv[i]), failed = 1;
        } else if (stored) { /* printed above */
        } else if (!model && unprompt_booru_load(&model, argv[1], 0, err, sizeof err) != UNPROMPT_OK) {
            fprintf(stderr, "%s: %s\n", argv[1], err), failed = 1;
        } else if (unprompt_booru_run(model, data, len, NULL, &tags, err, sizeof err) != UNPROMPT_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], err), failed = 1;
        } else {
            printf("%s: %s\n", argv[i], tags.prompt);
            unprompt_booru_result_free(&tags);
        }
        free(data);
    }
    unprompt_booru_free(model);
    return failed;
}
