/* The Unicode layer of both tokenizers: tables generated into unicode_tables.c
 * by tools/gen-unicode.py from the Python primitives the reference tokenizers
 * run on (the `regex` module's \p{L} / \p{N}, str.lower(), str.isspace(),
 * unicodedata's categories and NFC/NFD data, ftfy's width and ligature maps,
 * html.entities.html5), and lookups over them (unicode.c). All tables are
 * sorted; lookups bisect. CLIP (engine/text/clip_*, clean.c) reads the pattern
 * classes, case, NFC and ftfy/HTML data; BERT (bert_tokenizer.c) its
 * BasicTokenizer classes, case, decomposition and combining classes. */
#ifndef UNPROMPT_ENGINE_TEXT_UNICODE_H
#define UNPROMPT_ENGINE_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t lo, hi; /* inclusive */
} ucd_range;

typedef struct {
    uint32_t lo, hi; /* maps lo, lo + stride, ... <= hi to cp + delta */
    uint32_t stride;
    int32_t delta;
} ucd_lower_run;

typedef struct {
    uint32_t lo, hi;
    uint8_t ccc;
} ucd_ccc_range;

typedef struct {
    uint32_t cp, first, second; /* second is 0 for a singleton decomposition */
} ucd_pair_map;

typedef struct {
    uint32_t from, to[3]; /* to[1], to[2] are 0 when unused */
} ucd_expand;

enum {
    UC_ENTITY_SEMI = 1,   /* "&name;" is an HTML5 reference */
    UC_ENTITY_LEGACY = 2, /* "&name" (no ';') is one too */
    UC_ENTITY_UPPER = 4,  /* ftfy also decodes "&NAME;" (to the value upper-cased) */
};

typedef struct {
    const char *name;  /* without '&' and ';' */
    uint32_t value[2]; /* value[1] is 0 when unused */
    uint32_t upper[3]; /* the value upper-cased, when UC_ENTITY_UPPER */
    uint8_t flags;
} ucd_entity;

extern const ucd_range ucd_letters[]; /* \p{L} of the regex module */
extern const size_t ucd_letters_count;
extern const ucd_range ucd_numbers[]; /* \p{N} of the regex module */
extern const size_t ucd_numbers_count;
extern const ucd_range ucd_decimal[]; /* \d of Python's re (Nd) */
extern const size_t ucd_decimal_count;
extern const ucd_lower_run ucd_lower[];
extern const size_t ucd_lower_count;
extern const ucd_range ucd_case_ignorable[];
extern const size_t ucd_case_ignorable_count;
extern const ucd_range ucd_cased[]; /* among the code points that are not case-ignorable */
extern const size_t ucd_cased_count;
extern const ucd_ccc_range ucd_ccc[];
extern const size_t ucd_ccc_count;
extern const ucd_pair_map ucd_decomp[]; /* sorted by cp; Hangul syllables excluded */
extern const size_t ucd_decomp_count;
extern const uint16_t ucd_compose[]; /* indices into ucd_decomp, sorted by (first, second) */
extern const size_t ucd_compose_count;
extern const ucd_expand ucd_width[];
extern const size_t ucd_width_count;
extern const ucd_expand ucd_ligatures[];
extern const size_t ucd_ligatures_count;
extern const uint32_t ucd_c1[32]; /* U+0080 + i decoded as sloppy Windows-1252 */
extern const ucd_entity ucd_entities[]; /* sorted by name (strcmp) */
extern const size_t ucd_entities_count;
extern const uint32_t ucd_bert_class_runs[]; /* (first code point << 3) | UC_BERT_* class */
extern const size_t ucd_bert_class_runs_count;

/* Character classes of CLIP's pre-tokenizer pattern (regex module, IGNORECASE). */
int uc_is_letter(uint32_t c);
int uc_is_number(uint32_t c);
int uc_is_decimal(uint32_t c);     /* Python re's \d */
int uc_is_regex_space(uint32_t c); /* the regex module's \s */
int uc_is_py_space(uint32_t c);    /* str.isspace(), what str.strip() removes */
/* U+0345: no alternative of the pattern matches it (under IGNORECASE it folds to a
 * letter, so [^\s\p{L}\p{N}] rejects it, while [\p{L}] does not take it either). */
int uc_is_unmatched(uint32_t c);

/* Character classes of BERT's BasicTokenizer (Hugging Face, uncased). Every
 * Mn code point is UC_BERT_MARK or UC_BERT_MARK0 (checked by the generator). */
enum {
    UC_BERT_OTHER = 0,
    UC_BERT_DROP = 1,  /* category C* (not \t \n \r), U+0000, U+FFFD: removed by _clean_text */
    UC_BERT_SPACE = 2, /* ' ', \t, \n, \r, Zs, the rest of str.isspace(): split words */
    UC_BERT_PUNCT = 3, /* ASCII 33-47, 58-64, 91-96, 123-126, categories P* */
    UC_BERT_MARK = 4,  /* Mn with a non-zero combining class */
    UC_BERT_MARK0 = 5  /* Mn with combining class 0 */
};
int uc_bert_class(uint32_t c);
/* The CJK ideograph blocks of BasicTokenizer._is_chinese_char. */
int uc_is_cjk(uint32_t c);

/* str.lower() of one code point that lowers to one code point (all but U+0130). */
uint32_t uc_lower(uint32_t c);
int uc_is_cased(uint32_t c);
int uc_is_case_ignorable(uint32_t c);

uint8_t uc_ccc(uint32_t c);
/* Canonical decomposition into out[0..3] (full, recursive; Hangul included).
 * Returns the count, 1 when c does not decompose (out[0] = c). */
size_t uc_decompose(uint32_t c, uint32_t out[4]);
/* The primary composite of (a, b), Hangul included, or 0. */
uint32_t uc_compose(uint32_t a, uint32_t b);

/* The ftfy replacement of c in a table (width or ligatures), or NULL. */
const ucd_expand *uc_expand(const ucd_expand *table, size_t count, uint32_t c);

/* The HTML5 entity named name[0..len) (ASCII code points), or NULL. */
const ucd_entity *uc_entity(const uint32_t *name, size_t len);

#endif
