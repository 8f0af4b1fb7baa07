#!/usr/bin/python3
"""Seed corpus for tests/fuzz/fuzz_stealth.c: small PNG files of every kind
the streamed stealth reader meets (colour types, 8/16-bit, palettes with and
without tRNS, a colour key, Adam7, all five filters, IDAT in pieces), most
carrying stealth info, and one whose pixels are many (2048x2048 16-bit RGBA
of zeros: 32 MiB decoded from a few KB). Only the standard library: a PNG
writer of its own, independent of the C one.

    /usr/bin/python3 tests/fuzz/make_stealth_seeds.py
"""
import gzip
import random
import struct
import zlib

OUT = "tests/fuzz/corpus/stealth"
TEXT = ("seed cat, \u00e9t\u00e9\nNegative prompt: dog\n"
        "Steps: 9, Sampler: Euler a, CFG scale: 5, Seed: 3, Size: 40x30").encode()
COMPS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for v in samples:
        acc, bits = (acc << depth) | v, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(kind, raw, prev, bpp):
    out = bytearray()
    for i, v in enumerate(raw):
        a = raw[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((v - pred) & 0xFF)
    return bytes([kind]) + bytes(out)


def scanlines(img, w, h, ctype, depth, interlace, filters):
    comps = COMPS[ctype]
    bpp = max(1, comps * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    out, row = bytearray(), 0
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        if not xs or y0 >= h:
            continue
        prev = bytes(len(pack([0] * (len(xs) * comps), depth)))
        for y in range(y0, h, dy):
            raw = pack([v for x in xs for v in img[y][x]], depth)
            out += filtered(filters[row % len(filters)], raw, prev, bpp)
            prev, row = raw, row + 1
    return bytes(out)


def png(img, w, h, ctype, depth, interlace=0, filters=(0,), extra=(), split=False):
    z = zlib.compress(scanlines(img, w, h, ctype, depth, interlace, filters), 9)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    for kind, data in extra:
        out += chunk(kind, data)
    if split:
        out += chunk(b"IDAT", z[:1]) + chunk(b"tEXt", b"Comment\0between")
        z = z[1:]
    return out + chunk(b"IDAT", z) + chunk(b"IEND", b"")


def stream(sig, payload):
    data = sig.encode() + struct.pack(">I", len(payload) * 8) + payload
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def noise(w, h, comps, top, rnd):
    return [[[rnd.randrange(top) for _ in range(comps)] for _ in range(w)] for _ in range(h)]


def embed(img, h, bits, rgb, lsb):
    """Column by column: bit i in pixel i // 3 (R, G, B) or pixel i (alpha)."""
    per = 3 if rgb else 1
    for i, bit in enumerate(bits):
        p = i // per
        x, y = p // h, p % h
        comp = i % 3 if rgb else 3
        lsb(img[y][x], comp, bit)


def sample_lsb(depth):
    mask = 0x100 if depth == 16 else 1

    def set_bit(px, comp, bit):
        px[comp] = (px[comp] & ~mask) | (mask if bit else 0)
    return set_bit


def index_lsb(px, comp, bit):
    """Palette index j: bits 0-3 of j are the R, G, B, alpha low bits."""
    px[0] = (px[0] & ~(1 << comp)) | (bit << comp)


def palette(n):
    entries = [(((j * 41 + 3) & 0xFE) | (j & 1), ((j * 73 + 5) & 0xFE) | ((j >> 1) & 1),
                ((j * 29 + 7) & 0xFE) | ((j >> 2) & 1), ((j * 53 + 11) & 0xFE) | ((j >> 3) & 1))
               for j in range(n)]
    return bytes(v for e in entries for v in e[:3]), bytes(e[3] for e in entries)


def write(name, data):
    with open(f"{OUT}/{name}", "wb") as f:
        f.write(data)


def main():
    rnd = random.Random(21)
    comp = gzip.compress(TEXT, mtime=0)
    w, h = 40, 30

    img = noise(w, h, 4, 256, rnd)
    embed(img, h, stream("stealth_pnginfo", TEXT), False, sample_lsb(8))
    write("alpha_plain.png", png(img, w, h, 6, 8))

    img = noise(w, h, 4, 256, rnd)
    embed(img, h, stream("stealth_pngcomp", comp), False, sample_lsb(8))
    write("alpha_gzip_filters.png", png(img, w, h, 6, 8, filters=(0, 1, 2, 3, 4), split=True))

    img = noise(w, h, 3, 256, rnd)
    embed(img, h, stream("stealth_rgbinfo", TEXT), True, sample_lsb(8))
    write("rgb_plain.png", png(img, w, h, 2, 8, filters=(4,)))

    img = noise(w, h, 3, 65536, rnd)
    embed(img, h, stream("stealth_rgbcomp", comp), True, sample_lsb(16))
    write("rgb16_gzip.png", png(img, w, h, 2, 16, filters=(1, 3)))

    img = noise(w, h, 4, 65536, rnd)
    embed(img, h, stream("stealth_pnginfo", TEXT), False, sample_lsb(16))
    write("rgba16_adam7.png", png(img, w, h, 6, 16, interlace=1, filters=(2, 4, 0)))

    plte, trns = palette(256)
    img = noise(w, h, 1, 256, rnd)
    embed(img, h, stream("stealth_pnginfo", TEXT), False, index_lsb)
    write("palette8_trns_alpha.png", png(img, w, h, 3, 8, extra=[(b"PLTE", plte), (b"tRNS", trns)]))

    plte, _ = palette(16)
    img = noise(w, h, 1, 16, rnd)
    embed(img, h, stream("stealth_rgbinfo", TEXT), True, index_lsb)
    write("palette4_adam7_rgb.png", png(img, w, h, 3, 4, interlace=1, filters=(3,), extra=[(b"PLTE", plte)]))

    img = noise(w, h, 3, 256, rnd)
    for y in range(0, h, 2):
        img[y][3] = list(img[0][0])
    embed(img, h, stream("stealth_rgbinfo", TEXT), True, sample_lsb(8))
    key = struct.pack(">HHH", *img[0][0])
    write("rgb_colour_key.png", png(img, w, h, 2, 8, extra=[(b"tRNS", key)]))

    write("grey_alpha.png", png(noise(16, 16, 2, 256, rnd), 16, 16, 4, 8, filters=(1, 2)))
    write("grey2_adam7.png", png(noise(13, 11, 1, 4, rnd), 13, 11, 0, 2, interlace=1, filters=(4, 3)))

    img = noise(500, 3, 4, 256, rnd)
    embed(img, 3, stream("stealth_pngcomp", comp), False, sample_lsb(8))
    write("wide_short.png", png(img, 500, 3, 6, 8, filters=(1,)))

    # Many pixels from a few KB: the scan must stop within the first rows.
    big = 2048
    row = b"\0" + bytes(big * 8)
    co = zlib.compressobj(9)
    z = b"".join(co.compress(row) for _ in range(big)) + co.flush()
    write("zeros_2048_rgba16.png", b"\x89PNG\r\n\x1a\n"
          + chunk(b"IHDR", struct.pack(">IIBBBBB", big, big, 16, 6, 0, 0, 0))
          + chunk(b"IDAT", z) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
