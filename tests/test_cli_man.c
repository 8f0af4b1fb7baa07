/* The man page (docs/engine-run.1) and `--help` agree: for every command
 * `engine-run --help` lists, the options its own --help lists are exactly
 * those of its ".SS COMMAND" section of the man page (the tag lines after
 * .TP), and the parser accepts each of them. The lists are read from the
 * program and the page, so a command or option added later (with its help
 * line) fails here until the page describes it. */
#include <ctype.h>

#include "tests/test.h"
#include "tests/cli.h"

#define MAX_OPTS 96
#define MAX_CMDS 24

typedef struct {
    char name[MAX_OPTS][40];
    int n;
} opt_set;

static void add_opt(opt_set *s, const char *p, size_t len)
{
    if (len >= sizeof s->name[0] || s->n == MAX_OPTS) return;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->name[i]) == len && !strncmp(s->name[i], p, len)) return;
    memcpy(s->name[s->n], p, len);
    s->name[s->n++][len] = 0;
}

static int has_opt(const opt_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name)) return 1;
    return 0;
}

/* The long options ("--name") in text[0..len). */
static void scan_opts(opt_set *s, const char *text, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (text[i] != '-' || text[i + 1] != '-' || (i && !strchr(" ,\t\"[(", text[i - 1]))) continue;
        size_t j = i + 2;
        while (j < len && (islower((unsigned char)text[j]) || isdigit((unsigned char)text[j]) || text[j] == '-')) j++;
        if (j > i + 2) add_opt(s, text + i, j - i);
        i = j;
    }
}

/* A command's --help: the lines "  -x, --opt ARG   description" (two spaces,
 * then a dash); the option part ends at the first run of two spaces. */
static void help_opts(const char *help, opt_set *s)
{
    for (const char *l = help; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "  -", 3)) continue;
        const char *end = strchr(l, '\n'), *gap = strstr(l + 2, "  ");
        if (!end) end = l + strlen(l);
        if (gap && gap < end) end = gap;
        scan_opts(s, l, (size_t)(end - l));
    }
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], "--help")) memmove(s->name[i], s->name[--s->n], sizeof s->name[0]);
}

/* The man page without troff's escapes for a dash ("\-" -> "-"). */
static char *page(void)
{
    char *m = cli_slurp("docs/engine-run.1");
    if (!m) return NULL;
    char *w = m;
    for (const char *r = m; *r; r++) {
        if (r[0] == '\\' && r[1] == '-') continue;
        *w++ = *r;
    }
    *w = 0;
    return m;
}

/* The options on the tag lines (the line after each .TP) of ".SS cmd". */
static int man_opts(const char *man, const char *cmd, opt_set *s)
{
    char head[1024];
    snprintf(head, sizeof head, "\n.SS %s\n", cmd);
    const char *p = strstr(man, head);
    if (!p) return -1;
    p += strlen(head);
    for (const char *l = p; l && *l && strncmp(l, ".SS ", 4) && strncmp(l, ".SH ", 4);
         l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, ".TP\n", 4)) continue;
        const char *tag = l + 4, *end = strchr(tag, '\n');
        scan_opts(s, tag, end ? (size_t)(end - tag) : strlen(tag));
    }
    return 0;
}

/* The commands `engine-run --help` lists under "commands:". */
static int commands(char names[MAX_CMDS][32])
{
    cli_result r = cli_run("--help");
    int n = 0;
    const char *p = strstr(r.out, "commands:\n");
    for (const char *l = p ? p + 10 : NULL; l && !strncmp(l, "  ", 2) && n < MAX_CMDS; l = strchr(l, '\n') + 1) {
        if (sscanf(l, " %31s", names[n]) == 1) n++;
        if (!strchr(l, '\n')) break;
    }
    cli_free(&r);
    return n;
}

/* The parser takes the option: it is not refused as unknown or foreign.
 * --help after it: nothing is loaded or run, whatever weights are around. */
static int accepted(const char *cmd, const char *opt)
{
    char args[2048];
    snprintf(args, sizeof args, "%s %s=1 --help </dev/null", cmd, opt);
    cli_result r = cli_run(args);
    int ok = !strstr(r.err, "unknown option") && !strstr(r.err, "is not an option of");
    if (strstr(r.err, "takes no value")) { /* a flag: once more without the value */
        cli_free(&r);
        snprintf(args, sizeof args, "%s %s --help </dev/null", cmd, opt);
        r = cli_run(args);
        ok = !strstr(r.err, "unknown option") && !strstr(r.err, "is not an option of");
    }
    if (!ok) fprintf(stderr, "    engine-run %s: %s listed by --help but refused: %s", cmd, opt, r.err);
    cli_free(&r);
    return ok;
}

static void test_help_and_man_agree(void)
{
    char *man = page(), cmds[MAX_CMDS][32];
    int n = commands(cmds);
    CHECK(man != NULL && n >= 9); /* info clip booru all caption embed embed-text convert weights */
    for (int c = 0; man && c < n; c++) {
        char args[1024];
        snprintf(args, sizeof args, "%s --help", cmds[c]);
        cli_result r = cli_run(args);
        opt_set help = {0}, doc = {0};
        help_opts(r.out, &help);
        CHECK(r.status == 0 && help.n > 0);
        if (man_opts(man, cmds[c], &doc)) fprintf(stderr, "    the man page has no .SS %s section\n", cmds[c]);
        for (int i = 0; i < help.n; i++) {
            if (!has_opt(&doc, help.name[i]))
                fprintf(stderr, "    engine-run %s %s: in --help, not in the man page\n", cmds[c], help.name[i]);
            CHECK(has_opt(&doc, help.name[i]));
            CHECK(accepted(cmds[c], help.name[i]));
        }
        for (int i = 0; i < doc.n; i++) {
            if (!has_opt(&help, doc.name[i]))
                fprintf(stderr, "    engine-run %s %s: in the man page, not in --help\n", cmds[c], doc.name[i]);
            CHECK(has_opt(&help, doc.name[i]));
        }
        cli_free(&r);
    }
    free(man);
}

/* The conventions the help states are the page's too. */
static void test_conventions_documented(void)
{
    char *man = page();
    cli_result r = cli_run("info --help");
    CHECK(man && strstr(man, "engine-run CMD: FILE: reason") && strstr(man, "D done, F failed, S skipped"));
    CHECK(strstr(r.out, "engine-run CMD: FILE: reason") && strstr(r.out, "N done, N failed, N skipped"));
    CHECK(man && strstr(man, "$XDG_DATA_HOME/unprompt") && strstr(man, "share/unprompt"));
    cli_free(&r);
    r = cli_run("--version");
    CHECK(r.status == 0 && !strncmp(r.out, "engine-run (unprompt) ", 22));
    cli_free(&r);
    free(man);
}

int main(void)
{
    RUN(test_help_and_man_agree);
    RUN(test_conventions_documented);
    return test_summary("cli_man");
}
