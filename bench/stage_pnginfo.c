/* pnginfo: `info` on a 100 MB PNG whose parameters chunk follows 100 MB of
 * image data — open, map, walk the chunk headers, parse, release. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bench/bench.h"
#include "engine/api/unprompt.h"

#define IDAT_CHUNKS 100
#define IDAT_BYTES (1 << 20)

static void put_chunk(FILE *f, const char *type, const void *data, uint32_t n)
{
    uint8_t head[8] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(head + 4, type, 4);
    uLong crc = crc32(crc32(0, (const Bytef *)type, 4), data, n);
    uint8_t tail[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    fwrite(head, 1, 8, f);
    fwrite(data, 1, n, f);
    fwrite(tail, 1, 4, f);
}

static int write_big_png(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    uint8_t ihdr[13] = {0, 0, 0x17, 0x70, 0, 0, 0x11, 0x94, 8, 6, 0, 0, 0}; /* 6000x4500 RGBA */
    put_chunk(f, "IHDR", ihdr, 13);
    uint8_t *junk = malloc(IDAT_BYTES);
    if (!junk) return fclose(f), -1;
    for (size_t i = 0; i < IDAT_BYTES; i++) junk[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int i = 0; i < IDAT_CHUNKS; i++) put_chunk(f, "IDAT", junk, IDAT_BYTES);
    free(junk);
    const char *t = "parameters\0a lighthouse\nNegative prompt: fog\nSteps: 28, Sampler: Euler, Seed: 1, Size: 6000x4500";
    put_chunk(f, "tEXt", t, (uint32_t)(strlen(t) + strlen(t + 11) + 1));
    put_chunk(f, "IEND", "", 0);
    return fclose(f) ? -1 : 0;
}

typedef struct {
    const char *path;
    int ok;
} info_arg;

static void run_info(void *p)
{
    info_arg *a = p;
    a->ok = 0;
    int fd = open(a->path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) return;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return;
    unprompt_info info;
    char err[256];
    if (unprompt_info_read(m, (size_t)st.st_size, NULL, &info, err, sizeof err) == UNPROMPT_OK) {
        a->ok = info.prompt && !strcmp(info.prompt, "a lighthouse");
        unprompt_info_free(&info);
    }
    munmap(m, (size_t)st.st_size);
}

int stage_pnginfo(bench_ctx *ctx, bench_result *r)
{
    char path[] = "/tmp/unprompt-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    if (write_big_png(path)) {
        unlink(path);
        return -1;
    }
    info_arg a = {path, 0};
    r->ms_median = bench_median_ms(ctx->iters * 3, run_info, &a);
    unlink(path);
    r->note = "100 MB file, page cache warm";
    return a.ok ? 0 : -1;
}
