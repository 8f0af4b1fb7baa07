/* make-sample: writes the example images shipped in examples/.
 *   build/make-sample examples
 * sample.png   — a 96×64 picture with AUTOMATIC1111 parameters (tEXt)
 * comfyui.png  — the same picture with a ComfyUI "prompt" graph (tEXt)
 * The pixels are a deterministic gradient, so the files are reproducible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/png_write.h"

#define W 96
#define H 64

static const char a1111_text[] =
    "a lighthouse on a cliff at sunset, dramatic clouds, (oil painting:1.2), by Ivan Aivazovsky\n"
    "Negative prompt: blurry, lowres, watermark\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, "
    "Size: 768x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, "
    "Clip skip: 2, Hires upscale: 2, Hires steps: 12, Hires upscaler: Latent, "
    "Lora hashes: \"lighthouse_v2: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a\", Version: v1.10.1";

static const char comfy_prompt[] =
    "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 3141592653, \"steps\": 28, "
    "\"cfg\": 6.5, \"sampler_name\": \"dpmpp_2m\", \"scheduler\": \"karras\", \"denoise\": 1.0, "
    "\"model\": [\"4\", 0], \"positive\": [\"6\", 0], \"negative\": [\"7\", 0], "
    "\"latent_image\": [\"5\", 0]}}, "
    "\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": "
    "\"v1-5-pruned-emaonly.safetensors\"}}, "
    "\"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 768, \"height\": 512, "
    "\"batch_size\": 1}}, "
    "\"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a lighthouse on a cliff "
    "at sunset, dramatic clouds\", \"clip\": [\"4\", 1]}}, "
    "\"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"blurry, lowres\", "
    "\"clip\": [\"4\", 1]}}, "
    "\"8\": {\"class_type\": \"VAEDecode\", \"inputs\": {\"samples\": [\"3\", 0], \"vae\": [\"4\", 2]}}, "
    "\"9\": {\"class_type\": \"SaveImage\", \"inputs\": {\"filename_prefix\": \"ComfyUI\", "
    "\"images\": [\"8\", 0]}}}";

static void paint(uint8_t *rgb)
{
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + 3 * (y * W + x);
            int sky = y < H * 2 / 3;
            p[0] = (uint8_t)(sky ? 250 - y * 2 : 40 + x / 4);
            p[1] = (uint8_t)(sky ? 140 + y : 60 + x / 3);
            p[2] = (uint8_t)(sky ? 90 + y * 2 : 120);
            if (x > 70 && x < 76 && y > 18 && y < 44) p[0] = p[1] = p[2] = 235; /* the lighthouse */
        }
    }
}

static int write_png(const char *dir, const char *name, const char *keyword, const char *text)
{
    uint8_t rgb[W * H * 3];
    paint(rgb);
    buf b;
    fmt_error e;
    buf_init(&b, 0);
    if (png_write_begin(&b, W, H, 2, &e) || png_write_text(&b, keyword, text, strlen(text), &e) ||
        png_write_pixels(&b, rgb, W, H, 3, &e) || png_write_end(&b, &e)) {
        fprintf(stderr, "make-sample: %s\n", e.msg);
        buf_free(&b);
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f)) ok = 0;
    buf_free(&b);
    if (!ok) {
        fprintf(stderr, "make-sample: cannot write %s\n", path);
        return -1;
    }
    printf("wrote %s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "examples";
    if (write_png(dir, "sample.png", "parameters", a1111_text)) return 1;
    if (write_png(dir, "comfyui.png", "prompt", comfy_prompt)) return 1;
    return 0;
}
