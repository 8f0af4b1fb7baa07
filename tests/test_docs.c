/* The documents name real things: every source path in README.md, docs/ and
 * the two weights/ documents exists, and every `function()` they name is defined in the
 * source. Run from the repository root, as `make test` does. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/test.h"

static const char *const docs[] = {"README.md",        "docs/ARCHITECTURE.md", "docs/PERFORMANCE.md",
                                   "docs/engine-run.1", "weights/README.md",    "weights/FORMAT.md"};
/* Folders of the tree whose paths the documents cite (weights/ and build/
 * hold what the build and `make weights` make, so they are not checked). */
static const char *const roots[] = {"base/",  "format/", "kernels/",  "engine/", "tools/",
                                    "tests/", "bench/",  "examples/", "docs/"};
static const char *const source_dirs[] = {"base", "format", "kernels", "engine", "tools", "bench", "tests"};

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    for (size_t n; s && (n = fread(s + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (cap - len < 2) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    }
    fclose(f);
    if (s) s[len] = '\0';
    return s;
}

static int path_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '/' || c == '-'; }
static int ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Every "root/…" token of the text that does not exist; returns how many. */
static int missing_paths(const char *doc, const char *text)
{
    int bad = 0;
    for (const char *p = text; *p; p++) {
        if (p > text && (path_char(p[-1]) || p[-1] == '\\')) continue;
        size_t r = 0;
        while (r < sizeof roots / sizeof *roots && strncmp(p, roots[r], strlen(roots[r]))) r++;
        if (r == sizeof roots / sizeof *roots) continue;
        size_t n = 0;
        char path[512];
        const char *q = p;
        while (*q && n + 1 < sizeof path) {
            if (q[0] == '\\' && q[1] == '-') q++; /* troff's hyphen */
            else if (!path_char(*q)) break;
            path[n++] = *q++;
        }
        path[n] = '\0';
        p = q - 1;
        if (*q == '*' || *q == '{') continue; /* a pattern, not a path */
        while (n > 0 && (path[n - 1] == '.' || path[n - 1] == '-')) path[--n] = '\0';
        struct stat st;
        if (stat(path, &st) != 0) {
            fprintf(stderr, "  %s names %s, which does not exist\n", doc, path);
            bad++;
        }
    }
    return bad;
}

/* Names defined in the source: the first identifier followed by '(' on a
 * line that starts at column 0 with an identifier and does not end with ';'
 * (a definition's first line, in this tree's style). */
typedef struct {
    char **names;
    size_t n, cap;
} name_set;

static void add_name(name_set *s, const char *name, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->names = realloc(s->names, s->cap * sizeof *s->names);
    }
    if (s->names && (s->names[s->n] = malloc(len + 1))) {
        memcpy(s->names[s->n], name, len);
        s->names[s->n++][len] = '\0';
    }
}

static void scan_source(name_set *s, const char *text)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        const char *last = end;
        while (last > line && isspace((unsigned char)last[-1])) last--;
        if ((isalpha((unsigned char)*line) || *line == '_') && last > line && last[-1] != ';' &&
            strncmp(line, "typedef", 7) != 0)
            for (const char *p = line; p < end; p++)
                if (ident_char(*p) && (p == line || !ident_char(p[-1]))) {
                    const char *e = p;
                    while (e < end && ident_char(*e)) e++;
                    if (e < end && *e == '(') {
                        add_name(s, p, (size_t)(e - p));
                        break;
                    }
                    p = e - 1;
                }
        line = *end ? end + 1 : end;
    }
}

static void scan_dir(name_set *s, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(st.st_mode)) scan_dir(s, path);
        else if (n > 2 && e->d_name[n - 2] == '.' && (e->d_name[n - 1] == 'c' || e->d_name[n - 1] == 'h')) {
            char *text = read_text(path);
            if (text) scan_source(s, text);
            free(text);
        }
    }
    closedir(d);
}

/* The C library's, which the documents may name too. */
static const char *const libc_names[] = {"exit", "malloc", "free", "fsync", "rename"};

static int defined(const name_set *s, const char *name)
{
    for (size_t i = 0; i < sizeof libc_names / sizeof *libc_names; i++)
        if (!strcmp(libc_names[i], name)) return 1;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return 1;
    return 0;
}

/* Every `name()` of the text that no source file defines; returns how many. */
static int missing_functions(const char *doc, const char *text, const name_set *s)
{
    int bad = 0;
    for (const char *p = strchr(text, '`'); p; p = strchr(p + 1, '`')) {
        const char *q = p + 1;
        while (ident_char(*q)) q++;
        if (q == p + 1 || strncmp(q, "()`", 3) != 0) continue;
        char name[128];
        size_t n = (size_t)(q - p - 1);
        if (n >= sizeof name) continue;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        if (!defined(s, name)) {
            fprintf(stderr, "  %s names %s(), which no source file defines\n", doc, name);
            bad++;
        }
        p = q + 2;
    }
    return bad;
}

static void test_paths_exist(void)
{
    struct stat st;
    if (stat("README.md", &st) != 0 || stat("engine", &st) != 0) SKIP("not run from the repository root");
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char *text = read_text(docs[i]);
        CHECK(text != NULL);
        if (text) CHECK(missing_paths(docs[i], text) == 0);
        free(text);
    }
}

static void test_functions_defined(void)
{
    struct stat st;
    if (stat("README.md", &st) != 0 || stat("engine", &st) != 0) SKIP("not run from the repository root");
    name_set s = {0};
    for (size_t i = 0; i < sizeof source_dirs / sizeof *source_dirs; i++) scan_dir(&s, source_dirs[i]);
    CHECK(s.n > 500);
    CHECK(defined(&s, "unprompt_info_read") && !defined(&s, "no_such_function_here"));
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char *text = read_text(docs[i]);
        if (text) CHECK(missing_functions(docs[i], text, &s) == 0);
        free(text);
    }
    for (size_t i = 0; i < s.n; i++) free(s.names[i]);
    free(s.names);
}

int main(void)
{
    RUN(test_paths_exist);
    RUN(test_functions_defined);
    return test_summary("docs");
}
