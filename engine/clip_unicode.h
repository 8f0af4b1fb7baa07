/* Unicode data for the CLIP tokenizer: tables generated into clip_unicode_tables.c
 * by tools/gen-clip-unicode.py from the Python primitives CLIP's tokenizer runs on
 * (the `regex` module's \p{L} / \p{N}, str.lower(), unicodedata's NFC data, ftfy's
 * width and ligature maps, html.entities.html5), and lookups over them
 * (clip_unicode.c). All tables are sorted; lookups bisect. */
#ifndef UNPROMPT_ENGINE_CLIP_UNICODE_H
#define UNPROMPT_ENGINE_CLIP_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#define CLIP_REPLACEMENT 0xFFFDu

typedef struct {
    uint32_t lo, hi; /* inclusive */
} clip_range;

typedef struct {
    uint32_t lo, hi; /* maps lo, lo + stride, ... <= hi to cp + delta */
    uint32_t stride;
    int32_t delta;
} clip_lower_run;

typedef struct {
    uint32_t lo, hi;
    uint8_t ccc;
} clip_ccc_range;

typedef struct {
    uint32_t cp, first, second; /* second is 0 for a singleton decomposition */
} clip_pair_map;

typedef struct {
    uint32_t from, to[3]; /* to[1], to[2] are 0 when unused */
} clip_expand;

enum {
    CLIP_ENTITY_SEMI = 1,   /* "&name;" is an HTML5 reference */
    CLIP_ENTITY_LEGACY = 2, /* "&name" (no ';') is one too */
    CLIP_ENTITY_UPPER = 4,  /* ftfy also decodes "&NAME;" (to the value upper-cased) */
};

typedef struct {
    const char *name;  /* without '&' and ';' */
    uint32_t value[2]; /* value[1] is 0 when unused */
    uint32_t upper[3]; /* the value upper-cased, when CLIP_ENTITY_UPPER */
    uint8_t flags;
} clip_entity;

extern const clip_range clip_letters[]; /* \p{L} of the regex module */
extern const size_t clip_letters_count;
extern const clip_range clip_numbers[]; /* \p{N} of the regex module */
extern const size_t clip_numbers_count;
extern const clip_range clip_decimal[]; /* \d of Python's re (Nd) */
extern const size_t clip_decimal_count;
extern const clip_lower_run clip_lower[];
extern const size_t clip_lower_count;
extern const clip_range clip_case_ignorable[];
extern const size_t clip_case_ignorable_count;
extern const clip_range clip_cased[]; /* among the code points that are not case-ignorable */
extern const size_t clip_cased_count;
extern const clip_ccc_range clip_ccc[];
extern const size_t clip_ccc_count;
extern const clip_pair_map clip_decomp[]; /* sorted by cp; Hangul syllables excluded */
extern const size_t clip_decomp_count;
extern const uint16_t clip_compose[]; /* indices into clip_decomp, sorted by (first, second) */
extern const size_t clip_compose_count;
extern const clip_expand clip_width[];
extern const size_t clip_width_count;
extern const clip_expand clip_ligatures[];
extern const size_t clip_ligatures_count;
extern const uint32_t clip_c1[32]; /* U+0080 + i decoded as sloppy Windows-1252 */
extern const clip_entity clip_entities[]; /* sorted by name (strcmp) */
extern const size_t clip_entities_count;

/* Character classes of CLIP's pre-tokenizer pattern (regex module, IGNORECASE). */
int clip_uc_is_letter(uint32_t c);
int clip_uc_is_number(uint32_t c);
int clip_uc_is_decimal(uint32_t c);     /* Python re's \d */
int clip_uc_is_regex_space(uint32_t c); /* the regex module's \s */
int clip_uc_is_py_space(uint32_t c);    /* str.isspace(), what str.strip() removes */
/* U+0345: no alternative of the pattern matches it (under IGNORECASE it folds to a
 * letter, so [^\s\p{L}\p{N}] rejects it, while [\p{L}] does not take it either). */
int clip_uc_is_unmatched(uint32_t c);

/* str.lower() of one code point that lowers to one code point (all but U+0130). */
uint32_t clip_uc_lower(uint32_t c);
int clip_uc_is_cased(uint32_t c);
int clip_uc_is_case_ignorable(uint32_t c);

uint8_t clip_uc_ccc(uint32_t c);
/* Canonical decomposition into out[0..3] (full, recursive; Hangul included).
 * Returns the count, 1 when c does not decompose (out[0] = c). */
size_t clip_uc_decompose(uint32_t c, uint32_t out[4]);
/* The primary composite of (a, b), Hangul included, or 0. */
uint32_t clip_uc_compose(uint32_t a, uint32_t b);

/* The ftfy replacement of c in a table (width or ligatures), or NULL. */
const clip_expand *clip_uc_expand(const clip_expand *table, size_t count, uint32_t c);

/* The HTML5 entity named name[0..len) (ASCII code points), or NULL. */
const clip_entity *clip_uc_entity(const uint32_t *name, size_t len);

#endif
