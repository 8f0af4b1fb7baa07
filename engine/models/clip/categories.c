/* Category lists; see categories.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "engine/models/clip/categories.h"
#include "engine/runtime/mapped_file.h"
#include "base/sha256.h"

/* Python's str.isspace for one code point. */
static int is_space_cp(unsigned long c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The code point starting at s (UTF-8, at most n bytes) and its length;
 * invalid sequences are one byte of an impossible code point. */
static unsigned long utf8_at(const unsigned char *s, size_t n, size_t *len)
{
    unsigned long c = s[0];
    size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!l || l > n) return *len = 1, 0x110000;
    c &= l == 1 ? 0x7F : (0x7F >> l);
    for (size_t i = 1; i < l; i++) {
        if ((s[i] & 0xC0) != 0x80) return *len = 1, 0x110000;
        c = c << 6 | (s[i] & 0x3F);
    }
    return *len = l, c;
}

/* The last code point ending at s + n: its start. */
static size_t utf8_last_start(const unsigned char *s, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && n - i < 4 && (s[i] & 0xC0) == 0x80) i--;
    return i;
}

/* str.strip(): the [*start, *end) of line without surrounding whitespace. */
static void strip(const char *line, size_t n, size_t *start, size_t *end)
{
    const unsigned char *s = (const unsigned char *)line;
    size_t a = 0, b = n, l;
    while (a < b && is_space_cp(utf8_at(s + a, b - a, &l))) a += l;
    while (b > a) {
        size_t i = utf8_last_start(s, b);
        if (i < a || !is_space_cp(utf8_at(s + i, b - i, &l)) || i + l != b) break;
        b = i;
    }
    *start = a, *end = b;
}

int categories_parse(category *c, const char *bytes, size_t len, size_t dict_limit, fmt_error *err)
{
    c->text = malloc(len + 1);
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += bytes[i] == '\n' || bytes[i] == '\r';
    c->items = malloc(cap * sizeof *c->items);
    if (!c->text || !c->items) return fmt_fail(err, "categories: out of memory");
    c->n_items = 0;
    char *out = c->text;
    /* readlines() in text mode: \n, \r\n and \r end a line; a last line
     * without an ending still counts, an empty tail does not. */
    for (size_t i = 0; i < len && (!dict_limit || c->n_items < dict_limit);) {
        size_t j = i;
        while (j < len && bytes[j] != '\n' && bytes[j] != '\r') j++;
        size_t a, b;
        strip(bytes + i, j - i, &a, &b);
        memcpy(out, bytes + i + a, b - a);
        out[b - a] = 0;
        c->items[c->n_items++] = out;
        out += b - a + 1;
        i = j + (j < len && bytes[j] == '\r' && j + 1 < len && bytes[j + 1] == '\n' ? 2 : 1);
    }
    sha256_hex((const uint8_t *)bytes, len, c->sha256);
    return 0;
}

/* "name.topN": N, else 1. */
static int top_of(const char *stem)
{
    const char *t = strstr(stem, ".top");
    while (t) {
        const char *d = t + 4;
        int n = 0;
        while (*d >= '0' && *d <= '9' && n < 100000) n = n * 10 + (*d++ - '0');
        if (d > t + 4 && (*d == 0 || *d == '.') && n > 0) return n;
        t = strstr(t + 1, ".top");
    }
    return 1;
}

const char *categories_next_name(const char **p, size_t *len)
{
    const char *s = *p;
    while (s && (*s == ' ' || *s == ',')) s++;
    if (!s || !*s) return NULL;
    const char *e = s;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > s && t[-1] == ' ') t--;
    *p = e;
    *len = (size_t)(t - s);
    return s;
}

static int skipped(const char *stem, const char *skip)
{
    size_t n = strlen(stem), len;
    for (const char *name, *p = skip; (name = categories_next_name(&p, &len));)
        if (len == n && !memcmp(name, stem, n)) return 1;
    return 0;
}

/* Is there a readable list NAME.txt (NAME a plain stem) in dir? */
static int list_exists(const char *dir, const char *name, size_t len)
{
    char path[4096];
    if (!len || name[0] == '.' || memchr(name, '/', len)) return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%.*s.txt", dir, (int)len, name) >= sizeof path) return 0;
    return access(path, R_OK) == 0;
}

int categories_check_skip(const char *dir, const char *skip, fmt_error *err)
{
    size_t len;
    for (const char *name, *p = skip; (name = categories_next_name(&p, &len));)
        if (!list_exists(dir, name, len))
            return fmt_fail(err, "'%.*s' matches no list in %s (the lists are its *.txt files, by name without .txt)",
                            (int)len, name, dir);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_txt(const char *dir, char ***names, size_t *n, fmt_error *err)
{
    DIR *d = opendir(dir);
    if (!d) return fmt_fail(err, "%s: cannot open the categories folder", dir);
    *names = calloc(CATEGORIES_MAX_FILES, sizeof **names);
    *n = 0;
    struct dirent *e;
    int rc = *names ? 0 : fmt_fail(err, "categories: out of memory");
    while (!rc && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".txt") || e->d_name[0] == '.') continue;
        if (*n == CATEGORIES_MAX_FILES) rc = fmt_fail(err, "%s: more than %d lists", dir, CATEGORIES_MAX_FILES);
        else if (!((*names)[(*n)++] = strdup(e->d_name))) rc = fmt_fail(err, "categories: out of memory");
    }
    closedir(d);
    if (!rc) qsort(*names, *n, sizeof **names, by_name);
    return rc;
}

static int load_one(category *c, const char *dir, const char *file, size_t dict_limit, fmt_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    c->name = strndup(file, strlen(file) - 4);
    if (!c->name) return fmt_fail(err, "categories: out of memory");
    c->top = top_of(c->name);
    mapped_file m = {NULL, 0};
    if (strlen(dir) + strlen(file) + 2 > sizeof path) return fmt_fail(err, "%s: path too long", file);
    /* mapped_file refuses empty files; an empty list is a list. stat, not
     * a read: a FIFO or device named *.txt must not block (mapped_file
     * refuses it). */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        return categories_parse(c, "", 0, dict_limit, err);
    if (mapped_file_open(&m, path, err)) return -1;
    int rc = m.len > CATEGORIES_MAX_FILE_BYTES ? fmt_fail(err, "%s: larger than %u MB", path, CATEGORIES_MAX_FILE_BYTES >> 20)
                                               : categories_parse(c, (const char *)m.data, m.len, dict_limit, err);
    mapped_file_close(&m);
    return rc;
}

int categories_load(category_set *s, const char *dir, size_t dict_limit, const char *skip, fmt_error *err)
{
    memset(s, 0, sizeof *s);
    char **names = NULL;
    size_t n = 0;
    int rc = list_txt(dir, &names, &n, err);
    if (!rc) {
        s->cats = calloc(n ? n : 1, sizeof *s->cats);
        if (!s->cats) rc = fmt_fail(err, "categories: out of memory");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        char stem[1024];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(names[i]) - 4), names[i]);
        if (skipped(stem, skip)) continue;
        rc = load_one(&s->cats[s->n++], dir, names[i], dict_limit, err);
    }
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    if (!rc && s->n == 0) rc = fmt_fail(err, "%s: no category lists (*.txt) to rank against", dir);
    if (rc) categories_free(s);
    return rc;
}

void categories_free(category_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->cats[i].name);
        free(s->cats[i].items);
        free(s->cats[i].text);
    }
    free(s->cats);
    memset(s, 0, sizeof *s);
}
