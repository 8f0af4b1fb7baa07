#!/usr/bin/env python3
"""Writes the seeds of the metadata fuzz corpora (a1111, params, exif, png,
jpeg, webp) under tests/fuzz/corpus/. Standard library only; deterministic.
Each corpus gets ordinary files of every variant the reader knows, plus the
large and hostile shapes of issue 21 (long lines without ':', many keys,
Exif strings shared by many entries, compression bombs, many chunks).
Run from the repository root: python3 tests/fuzz/make_meta_seeds.py"""
import os
import struct
import zlib

ROOT = os.path.join("tests", "fuzz", "corpus")


def write(corpus, name, data):
    d = os.path.join(ROOT, corpus)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


SETTINGS = ("Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, "
            "Size: 768x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly")
A1111 = "a lighthouse on a cliff, (oil painting:1.2)\nNegative prompt: blurry, lowres\n" + SETTINGS


def a1111_seeds():
    write("a1111", "plain.txt", A1111)
    write("a1111", "no_negative.txt", "a cat\n" + SETTINGS)
    write("a1111", "hashes_json.txt",
          'a cat\n' + SETTINGS + ', Lora hashes: "a: 1a2b, b: 3c4d", Hashes: {"vae": "c6a580b13a", "lora:x": "0f"}')
    write("a1111", "escaped_quotes.txt", 'p\nNote: "say \\"hi\\", twice", Steps: 1, Seed: 2, Size: 8x8')
    write("a1111", "unclosed_quote.txt", 'p\nNote: "open, Steps: 20, Seed: 3, Size: 5x5')
    write("a1111", "two_settings_only.txt", "p\nSteps: 20, Seed: 3")
    write("a1111", "unicode.txt", "猫が座っている、油絵\nNegative prompt: ぼやけた\nSteps: 5, Seed: 1, Size: 8x8, Model: モデル")
    write("a1111", "multiline_negative.txt", "a\nb\nNegative prompt: c\nd\n" + SETTINGS)
    # Hostile shapes, kept to 256 KiB so each replay stays fast.
    write("a1111", "long_no_colon.txt", "abcdefghij" * 26214)
    write("a1111", "long_spaces.txt", "p\n" + " " * 262000 + "x")
    write("a1111", "long_key_runs.txt", "p\n" + "ab cd-ef/gh " * 21800)
    write("a1111", "many_quotes.txt", "p\n" + 'k: "\\"' * 43000)
    many = "p\n" + "".join("Key %d: %d, " % (i, i) for i in range(1023)) + "Key 7: v, " * 20000
    write("a1111", "many_keys_repeated.txt", many)


def entries(*pairs):
    out = b""
    for k, v in pairs:
        out += k.encode() + b"\0" + (v if isinstance(v, bytes) else v.encode("utf-8")) + b"\0"
    return out


COMFY_PROMPT = ('{"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7.5, '
                '"sampler_name": "euler", "scheduler": "normal", "positive": ["6", 0], "negative": ["7", 0], '
                '"model": ["4", 0]}}, "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": '
                '"v1-5.safetensors"}}, "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}}, '
                '"7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}}}')


def params_seeds():
    write("params", "a1111.bin", entries(("parameters", A1111)))
    write("params", "comfyui_prompt.bin", entries(("prompt", COMFY_PROMPT)))
    write("params", "novelai.bin", entries(("Software", "NovelAI"), ("Description", "a cat"),
                                           ("Comment", '{"uc": "blurry", "steps": 28, "scale": 5, "seed": 1, '
                                                       '"sampler": "k_euler_ancestral"}')))
    write("params", "novelai_stealth_json.bin",
          entries(("parameters", '{"Description": "a cat", "Software": "NovelAI", "Comment": "{\\"steps\\": 3}"}')))
    write("params", "invokeai.bin", entries(("invokeai_metadata",
                                             '{"positive_prompt": "a cat", "negative_prompt": "x", "seed": 1, '
                                             '"steps": 30, "cfg_scale": 7, "scheduler": "euler"}')))
    write("params", "invokeai_dream.bin", entries(("Dream", '"a [b]" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms')))
    write("params", "fooocus.bin", entries(("parameters", '{"prompt": "a cat", "negative_prompt": "", "steps": 30, '
                                                          '"sampler": "dpmpp_2m_sde_gpu", "seed": "7"}'),
                                           ("fooocus_scheme", "fooocus")))
    write("params", "usercomment.bin", entries(("UserComment", A1111)))
    write("params", "jpeg_comment.bin", entries(("comment", A1111)))
    write("params", "unknown.bin", entries(("Title", "a picture"), ("Author", "someone")))
    write("params", "long_settings.bin", entries(("parameters", "p\n" + "Key 1: v, " * 26000)))


def tiff_le(entries_list, extra=b"", next_ifd=0):
    """One IFD at offset 8; entries (tag, type, count, value_bytes_or_offset)."""
    n = len(entries_list)
    data_off = 8 + 2 + 12 * n + 4
    body = b""
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n))
    for tag, typ, payload in entries_list:
        if isinstance(payload, int):
            out += struct.pack("<HHII", tag, typ, 1, payload)
            continue
        count = len(payload)
        if count <= 4:
            out += struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\0")
        else:
            out += struct.pack("<HHII", tag, typ, count, data_off + len(body))
            body += payload
    out += struct.pack("<I", next_ifd) + body + extra
    return bytes(out)


def user_comment(text, kind="UNICODE", le=True):
    if kind == "UNICODE":
        return b"UNICODE\0" + text.encode("utf-16-le" if le else "utf-16-be")
    return b"ASCII\0\0\0" + text.encode("ascii", "replace")


def shared_string_tiff(ifds, per_ifd, run, shift):
    ifd_size = 2 + (per_ifd + 1) * 12 + 4
    data_off = 8 + ifds * ifd_size
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for k in range(ifds):
        last = k == ifds - 1
        out += struct.pack("<H", per_ifd + (0 if last else 1))
        for i in range(per_ifd):
            at = data_off + (k * per_ifd + i if shift else 0)
            out += struct.pack("<HHII", 0x010E, 2, run, at)
        if not last:
            out += struct.pack("<HHII", 0x8769, 4, 1, 8 + (k + 1) * ifd_size)
        out += struct.pack("<I", 0)
    out += b"\xe9" * (run + (ifds * per_ifd if shift else 0))
    return bytes(out)


def exif_seeds():
    write("exif", "usercomment_le.tiff", tiff_le([(0x9286, 7, user_comment(A1111))]))
    write("exif", "usercomment_be_text.tiff", tiff_le([(0x9286, 7, user_comment(A1111, le=False))]))
    write("exif", "usercomment_ascii.tiff", tiff_le([(0x9286, 7, user_comment(A1111, "ASCII"))]))
    write("exif", "xpcomment.tiff", tiff_le([(0x9C9C, 1, "a cat".encode("utf-16-le") + b"\0\0")]))
    write("exif", "description_make.tiff", tiff_le([(0x010E, 2, b"a cat\0"), (0x010F, 2, b"Make\0"),
                                                    (0x0131, 2, b"NovelAI\0"), (0x013B, 2, b"me\0")]))
    write("exif", "with_header.exif", b"Exif\0\0" + tiff_le([(0x9286, 7, user_comment("Steps: 1"))]))
    sub = tiff_le([(0x9286, 7, user_comment(A1111))])
    # IFD0 pointing at an Exif sub-IFD placed after it.
    ifd0 = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1))
    sub_at = 8 + 2 + 12 + 4
    ifd0 += struct.pack("<HHII", 0x8769, 4, 1, sub_at) + struct.pack("<I", 0)
    body = sub[8:]  # the sub-IFD with its data, re-based
    n = struct.unpack("<H", body[:2])[0]
    fixed = bytearray(body)
    for i in range(n):
        e = 2 + 12 * i
        tag, typ, count, off = struct.unpack("<HHII", fixed[e:e + 12])
        if count > 4:
            fixed[e + 8:e + 12] = struct.pack("<I", off - 8 + sub_at)
    write("exif", "sub_ifd.tiff", bytes(ifd0 + fixed))
    loop = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1))
    loop += struct.pack("<HHII", 0x8769, 4, 1, 8) + struct.pack("<I", 0)
    write("exif", "loop.tiff", bytes(loop))
    write("exif", "shared_string.tiff", shared_string_tiff(5, 200, 16 * 1024, False))
    write("exif", "overlapping_strings.tiff", shared_string_tiff(5, 50, 4096, True))


def chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)


def png(chunks_before, chunks_after=(), bad_crc=False):
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
    out = b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(chunks_before) + idat + b"".join(chunks_after) + chunk(b"IEND", b"")
    if bad_crc:
        out = bytearray(out)
        out[33 + 8 + 4] ^= 1
        out = bytes(out)
    return out


def png_seeds():
    text = A1111.encode("latin-1", "replace")
    write("png", "text.png", png([chunk(b"tEXt", b"parameters\0" + text)]))
    write("png", "ztxt.png", png([chunk(b"zTXt", b"parameters\0\0" + zlib.compress(text))]))
    write("png", "itxt.png", png([chunk(b"iTXt", b"parameters\0\0\0\0\0" + A1111.encode())]))
    write("png", "itxt_compressed.png", png([chunk(b"iTXt", b"parameters\0\1\0en\0param\0" +
                                                   zlib.compress(A1111.encode()))]))
    write("png", "after_idat.png", png([], [chunk(b"tEXt", b"parameters\0" + text)]))
    write("png", "exif.png", png([chunk(b"eXIf", tiff_le([(0x9286, 7, user_comment(A1111))]))]))
    write("png", "comfyui.png", png([chunk(b"tEXt", b"prompt\0" + COMFY_PROMPT.encode())]))
    write("png", "bad_crc.png", png([chunk(b"tEXt", b"parameters\0" + text)], bad_crc=True))
    # 4 MiB of parameters in ~4 KB, a 64 MiB bomb, and 2000 tiny chunks.
    write("png", "ztxt_4mib.png", png([chunk(b"zTXt", b"parameters\0\0" + zlib.compress(b"abcdefghij" * 419430, 9))]))
    write("png", "ztxt_bomb.png", png([chunk(b"zTXt", b"junk\0\0" + zlib.compress(b"\0" * (64 << 20), 9))]))
    write("png", "many_chunks.png", png([chunk(b"tEXt", b"k%d\0v" % i) for i in range(2000)]))
    write("png", "exif_shared.png", png([chunk(b"eXIf", shared_string_tiff(5, 200, 16 * 1024, False))]))


def segment(marker, data):
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def jpeg(*segments):
    sof = segment(0xC0, bytes([8, 0, 1, 0, 1, 1, 1, 0x11, 0]))
    return b"\xff\xd8" + b"".join(segments) + sof + b"\xff\xda" + b"\0\x08\x01\x01\0\0\x3f\0" + b"\xff\xd9"


def jpeg_seeds():
    exif = b"Exif\0\0" + tiff_le([(0x9286, 7, user_comment(A1111))])
    write("jpeg", "exif_usercomment.jpg", jpeg(segment(0xE1, exif)))
    write("jpeg", "exif_ascii.jpg", jpeg(segment(0xE1, b"Exif\0\0" + tiff_le([(0x9286, 7, user_comment(A1111, "ASCII"))]))))
    write("jpeg", "com.jpg", jpeg(segment(0xFE, A1111.encode())))
    write("jpeg", "com_latin1.jpg", jpeg(segment(0xFE, "café au lait".encode("latin-1"))))
    write("jpeg", "xmp.jpg", jpeg(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>a</x:xmpmeta>")))
    write("jpeg", "jfif_then_exif.jpg", jpeg(segment(0xE0, b"JFIF\0\1\1\0\0\1\0\1\0\0"), segment(0xE1, exif)))
    write("jpeg", "fill_bytes.jpg", b"\xff\xd8" + b"\xff" * 100 + segment(0xFE, b"x")[1:] + b"\xff\xd9")
    write("jpeg", "many_com.jpg", jpeg(*[segment(0xFE, b"c%d" % i) for i in range(3000)]))
    write("jpeg", "big_com.jpg", jpeg(*[segment(0xFE, b"\xe9" * 65000) for _ in range(4)]))
    write("jpeg", "exif_shared.jpg", jpeg(segment(0xE1, b"Exif\0\0" + shared_string_tiff(5, 100, 4096, False))))
    write("jpeg", "truncated.jpg", jpeg(segment(0xE1, exif))[:40])


def riff(*chunks):
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wchunk(typ, data):
    return typ + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")


def webp_seeds():
    exif = tiff_le([(0x9286, 7, user_comment(A1111))])
    vp8x = wchunk(b"VP8X", bytes([0x08, 0, 0, 0]) + (99).to_bytes(3, "little") + (49).to_bytes(3, "little"))
    vp8l = wchunk(b"VP8L", bytes([0x2F, 0x00, 0x00, 0x00, 0x00]))
    write("webp", "exif.webp", riff(vp8x, vp8l, wchunk(b"EXIF", exif)))
    write("webp", "exif_header.webp", riff(vp8x, vp8l, wchunk(b"EXIF", b"Exif\0\0" + exif)))
    write("webp", "xmp.webp", riff(vp8x, vp8l, wchunk(b"XMP ", b"<x:xmpmeta>a</x:xmpmeta>")))
    write("webp", "vp8l_only.webp", riff(vp8l))
    write("webp", "vp8.webp", riff(wchunk(b"VP8 ", b"\x30\x01\x00\x9d\x01\x2a\x10\x00\x10\x00" + b"\0" * 8)))
    write("webp", "odd_sizes.webp", riff(vp8x, wchunk(b"ICCP", b"abc"), vp8l, wchunk(b"EXIF", exif)))
    write("webp", "riff_too_long.webp", riff(vp8x, vp8l)[:-2])
    write("webp", "many_chunks.webp", riff(vp8x, *[wchunk(b"UNKN", b"x") for _ in range(3000)]))
    write("webp", "exif_shared.webp", riff(vp8x, vp8l, wchunk(b"EXIF", shared_string_tiff(5, 200, 16 * 1024, False))))
    write("webp", "exif_ascii.webp", riff(vp8x, vp8l, wchunk(b"EXIF", tiff_le([(0x9286, 7, user_comment("x", "ASCII"))]))))


if __name__ == "__main__":
    a1111_seeds()
    params_seeds()
    exif_seeds()
    png_seeds()
    jpeg_seeds()
    webp_seeds()
