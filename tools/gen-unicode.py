#!/usr/bin/python3
"""Generate engine/text/unicode_tables.c: the Unicode data both tokenizers need
(CLIP's simple_tokenizer and Hugging Face's BertTokenizer, uncased).

    /usr/bin/python3 tools/gen-unicode.py > engine/text/unicode_tables.c

Every table is derived from the Python primitives the reference tokenizers run on,
so the C code agrees with them code point for code point:

  letters / numbers  \\p{L} and \\p{N} as the `regex` module (python3-regex) matches them
                     in CLIP's pattern (IGNORECASE: checked to change nothing)
  decimal            \\d of Python's `re` (ftfy's terminal-escape pattern)
  lower              str.lower() of every code point that lowers to one other code point,
                     as runs {lo, hi, stride, delta} (U+0130, the one code point that lowers
                     to two, and the final sigma rule are handled in C)
  cased / ignorable  what str.lower()'s final-sigma rule reads (Cased, Case_Ignorable),
                     found by probing str.lower() itself
  ccc                canonical combining classes (unicodedata.combining)
  decomp             canonical decompositions (one or two code points; applied
                     recursively; Hangul syllables are algorithmic)
  compose            primary composites (the pairs NFC composes): indices into decomp,
                     sorted by the (first, second) pair
  width              ftfy's fix_character_width: U+3000 to a space and NFKC of U+FF01..U+FFEF
  ligatures          ftfy's fix_latin_ligatures table
  c1                 U+0080..U+009F decoded as "sloppy" Windows-1252 (ftfy's fix_c1_controls
                     and html.unescape's numeric references agree on it)
  entities           html.entities.html5: value of "&name;" and/or legacy "&name", and the
                     upper-case form ftfy also decodes ("&NTILDE;" -> "Ñ")
  bert class runs    BertTokenizer's BasicTokenizer classes, one per code point: DROP
                     (category C* except \\t \\n \\r, U+0000, U+FFFD: _clean_text removes
                     them), SPACE (' ', \\t, \\n, \\r, Zs and the rest of str.isspace():
                     they split words), PUNCT (ASCII 33-47, 58-64, 91-96, 123-126 and
                     categories P*), MARK (Mn with a non-zero combining class: strip-accents
                     drops them), MARK0 (Mn with class 0), OTHER

BERT's lower-casing, NFD and canonical reordering read the same lower, decomp and ccc
tables as CLIP's: a lower-cased code point's NFD without its MARK code points is what
BasicTokenizer keeps (checked below).

The script checks the assumptions the C code makes (sizes, the only code point that
lowers to two, the one code point no pattern class matches, ...) and fails loudly.
"""
import html
import html.entities
import re
import sys
import unicodedata

import regex

MAX = 0x110000
IGN = regex.IGNORECASE


def ranges(points):
    out = []
    for c in points:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def emit(decl, rows, per_line):
    print(f"{decl}[] = {{")
    for i in range(0, len(rows), per_line):
        print("    " + " ".join(rows[i:i + per_line]))
    print("};")
    name = decl.split()[-1]
    print(f"const size_t {name}_count = {len(rows)};\n")


def emit_ranges(name, rs):
    emit(f"const ucd_range {name}", [f"{{0x{a:X},0x{b:X}}}," for a, b in rs], 6)


def pattern_classes():
    L = regex.compile(r"[\p{L}]", IGN)
    N = regex.compile(r"[\p{N}]", IGN)
    O = regex.compile(r"[^\s\p{L}\p{N}]", IGN)
    S = regex.compile(r"\s")
    L0, N0 = regex.compile(r"[\p{L}]"), regex.compile(r"[\p{N}]")
    letters, numbers, spaces, unclassed = [], [], [], []
    for c in range(MAX):
        ch = chr(c)
        l, n, o, s = (bool(p.fullmatch(ch)) for p in (L, N, O, S))
        assert l == bool(L0.fullmatch(ch)) and n == bool(N0.fullmatch(ch)), hex(c)
        if l + n + o + s == 0:
            unclassed.append(c)
        assert l + n + o + s <= 1, hex(c)
        if l:
            letters.append(c)
        if n:
            numbers.append(c)
        if s:
            spaces.append(c)
    # The C code hard-codes these two small sets; fail if the regex module disagrees.
    assert unclassed == [0x345], unclassed
    assert spaces == [0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                      0x2028, 0x2029, 0x202F, 0x205F, 0x3000], spaces
    pyspace = [c for c in range(MAX) if chr(c).isspace()]
    assert pyspace == sorted(spaces + [0x1C, 0x1D, 0x1E, 0x1F]), pyspace
    # Literal letters of the pattern under IGNORECASE: only 's' gains a code point
    # that is not its ASCII upper case (U+017F LATIN SMALL LETTER LONG S).
    for letter in "startofextndvmlr'<>|":
        extra = [c for c in range(MAX)
                 if regex.fullmatch(re.escape(letter), chr(c), IGN) and chr(c) not in (letter, letter.upper())]
        assert extra == ([0x17F] if letter == "s" else []), (letter, extra)
    return ranges(letters), ranges(numbers)


def lower_runs():
    pairs = []
    for c in range(MAX):
        lo = chr(c).lower()
        if len(lo) != 1:
            assert c == 0x130 and lo == "i\u0307", hex(c)
            continue
        if ord(lo) != c:
            pairs.append((c, ord(lo) - c))
    runs = []  # [lo, hi, stride, delta]
    for c, d in pairs:
        if runs and runs[-1][3] == d:
            lo, hi, stride, _ = runs[-1]
            if lo == hi and c - hi in (1, 2):
                runs[-1][1:3] = [c, c - hi]
                continue
            if lo != hi and c - hi == stride:
                runs[-1][1] = c
                continue
        runs.append([c, c, 1, d])
    for lo, hi, stride, d in runs:  # the runs reproduce the mapping exactly
        for c in range(lo, hi + 1):
            want = ord(chr(c).lower()) - c if len(chr(c).lower()) == 1 else 0
            assert want == (d if (c - lo) % stride == 0 else 0), hex(c)
    return runs


def sigma_props():
    """Case_Ignorable, and Cased for the other code points, as str.lower() sees them."""
    ignorable, cased = [], []
    for c in range(MAX):
        ch = chr(c)
        if 0xD800 <= c <= 0xDFFF:
            continue
        p2 = ("A" + ch + "\u03a3").lower()[-1] == "\u03c2"   # ignorable or cased
        p3 = ("A\u03a3" + ch).lower()[1] == "\u03c2"        # ignorable or not cased
        if p2 and p3:
            ignorable.append(c)
        elif (ch + "\u03a3").lower()[-1] == "\u03c2":  # not ignorable: final iff cased
            cased.append(c)
    return ranges(ignorable), ranges(cased)


def ccc_ranges():
    out = []
    for c in range(MAX):
        k = unicodedata.combining(chr(c))
        if not k:
            continue
        if out and out[-1][1] == c - 1 and out[-1][2] == k:
            out[-1][1] = c
        else:
            out.append([c, c, k])
    return out


def is_hangul_syllable(c):
    return 0xAC00 <= c < 0xAC00 + 11172


def decompositions():
    dec, comp = [], []
    for c in range(MAX):
        if is_hangul_syllable(c):
            continue
        d = unicodedata.decomposition(chr(c))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        assert 1 <= len(parts) <= 2, hex(c)
        dec.append((c, parts[0], parts[1] if len(parts) == 2 else 0))
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == chr(c):
            comp.append((parts[0], parts[1], c))
    table = {c: (a, b) for c, a, b in dec}

    def full(c):
        if c not in table:
            return [c]
        a, b = table[c]
        return full(a) + (full(b) if b else [])

    for c, _, _ in dec:  # the C code decomposes recursively into at most 4 code points
        f = full(c)
        assert "".join(map(chr, f)) == unicodedata.normalize("NFD", chr(c)) and len(f) <= 4, hex(c)
    for c, _, b in dec:  # second halves are never decomposable (C recurses on the first only)
        assert b not in table, hex(c)
    return dec, sorted(comp)


def expand(c, s):
    assert 1 <= len(s) <= 3, hex(c)
    cps = [ord(x) for x in s] + [0] * (3 - len(s))
    return f"{{0x{c:X},{{0x{cps[0]:X},0x{cps[1]:X},0x{cps[2]:X}}}}},"


# ftfy 6.3.1 chardata.LIGATURES (not NFKC: U+FB05 becomes "\u017ft", not "st").
LIGATURES = {
    0x132: "IJ", 0x133: "ij", 0x149: "\u02bcn",
    0x1C4: "D\u017d", 0x1C5: "D\u017e", 0x1C6: "d\u017e",
    0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj",
    0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl",
    0xFB05: "\u017ft", 0xFB06: "st",
}


def hexlist(s):
    """A C initializer of the code points of s; C zero-fills the rest of the array."""
    return "{" + ",".join(f"0x{ord(ch):X}" for ch in s) + "}" if s else "{0}"


def c_string(s):
    assert all(" " < ch < "\x7f" and ch not in "\"\\" for ch in s), s
    return f'"{s}"'


def entities():
    h5 = html.entities.html5
    names = sorted(set(k.rstrip(";") for k in h5))
    rows = []
    for n in names:
        semi, legacy = n + ";" in h5, n in h5
        if semi and legacy:
            assert h5[n + ";"] == h5[n], n
        v = h5[n + ";"] if semi else h5[n]
        assert 1 <= len(v) <= 2, n
        up = ""
        if semi and n == n.lower():
            U = "&" + n.upper() + ";"
            if html.unescape(U) == U:
                up = v.upper()
                assert 1 <= len(up) <= 3, n
        flags = (1 if semi else 0) | (2 if legacy else 0) | (4 if up else 0)
        rows.append(f"{{{c_string(n)},{hexlist(v)},{hexlist(up)},{flags}}},")
        assert len(n) <= 32
    return rows


BERT = {"OTHER": 0, "DROP": 1, "SPACE": 2, "PUNCT": 3, "MARK": 4, "MARK0": 5}  # UC_BERT_* of unicode.h


def bert_class(c):
    ch, cat = chr(c), unicodedata.category(chr(c))
    if c in (9, 10, 13, 32) or cat == "Zs":
        return "SPACE"
    if c == 0 or c == 0xFFFD or cat.startswith("C"):
        return "DROP"
    if ch.isspace():
        return "SPACE"
    if 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126 or cat.startswith("P"):
        return "PUNCT"
    if cat == "Mn":
        return "MARK" if unicodedata.combining(ch) else "MARK0"
    return "OTHER"


def bert_class_runs():
    """(first code point << 3) | class; a class lasts until the next entry."""
    runs, prev = [], None
    for c in range(MAX):
        k = bert_class(c)
        # bert_tokenizer.c drops MARK code points from NFD output and reads uc_ccc only
        # for the others: every Mn must be a MARK or a MARK0 (class 0).
        assert unicodedata.category(chr(c)) != "Mn" or k in ("MARK", "MARK0"), hex(c)
        if k != prev:
            runs.append(f"0x{(c << 3) | BERT[k]:x},")
            prev = k
    return runs


def main():
    letters, numbers = pattern_classes()
    decimal = ranges([c for c in range(MAX) if re.fullmatch(r"\d", chr(c))])
    ignorable, cased = sigma_props()
    dec, comp = decompositions()
    c1 = []
    for b in range(0x80, 0xA0):
        try:
            ch = bytes([b]).decode("cp1252")
        except UnicodeDecodeError:
            ch = chr(b)
        assert html.unescape(f"&#{b};") == ch
        c1.append(ord(ch))

    print("/* Generated by tools/gen-unicode.py; do not edit.")
    print(f" * Python {sys.version.split()[0]} (unicodedata {unicodedata.unidata_version}), "
          f"regex {regex.__version__}. */")
    print('#include "engine/text/unicode.h"\n')
    emit_ranges("ucd_letters", letters)
    emit_ranges("ucd_numbers", numbers)
    emit_ranges("ucd_decimal", decimal)
    emit("const ucd_lower_run ucd_lower",
         [f"{{0x{a:X},0x{b:X},{s},{d}}}," for a, b, s, d in lower_runs()], 5)
    emit_ranges("ucd_case_ignorable", ignorable)
    emit_ranges("ucd_cased", cased)
    emit("const ucd_ccc_range ucd_ccc", [f"{{0x{a:X},0x{b:X},{k}}}," for a, b, k in ccc_ranges()], 6)
    emit("const ucd_pair_map ucd_decomp",
         [f"{{0x{c:X},0x{a:X}," + (f"0x{b:X}}}," if b else "0},") for c, a, b in dec], 6)
    index = {c: i for i, (c, _, _) in enumerate(dec)}
    emit("const uint16_t ucd_compose", [f"{index[c]}," for _, _, c in comp], 16)
    width = [expand(0x3000, " ")]
    for c in range(0xFF01, 0xFFF0):
        alt = unicodedata.normalize("NFKC", chr(c))
        if alt != chr(c):
            width.append(expand(c, alt))
    emit("const ucd_expand ucd_width", width, 4)
    emit("const ucd_expand ucd_ligatures", [expand(c, s) for c, s in sorted(LIGATURES.items())], 4)
    print("const uint32_t ucd_c1[32] = {")
    for i in range(0, 32, 8):
        print("    " + " ".join(f"0x{v:X}," for v in c1[i:i + 8]))
    print("};\n")
    emit("const ucd_entity ucd_entities", entities(), 2)
    emit("const uint32_t ucd_bert_class_runs", bert_class_runs(), 10)


if __name__ == "__main__":
    main()
