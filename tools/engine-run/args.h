/* The one option parser of engine-run: a table of every option of every
 * command (its long name, short letter and whether it takes a value) turns
 * the command line into a canonical form the commands read:
 *
 *   --opt value, --opt=value         the same (every option taking a value)
 *   -o FILE, -oFILE                  a short option's value
 *   -rq                              bundled short flags (-r -q); -rqo FILE
 *   --sidecar, --sidecar=EXT         an optional value: only with '='
 *   --                               the rest are files, even "-weird.png"
 *   -                                a file: standard input
 *
 * Options and files may be mixed; the canonical form is each option by its
 * long name, its value (if any) as the next argument, then the files in
 * their order. A command gives its options' meaning (cli_parse's handler);
 * adding an option is one row in cli_options[] (args.c) and a case in the
 * command's handler. */
#ifndef UNPROMPT_TOOLS_ARGS_H
#define UNPROMPT_TOOLS_ARGS_H

typedef enum { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL } cli_arg_kind;

typedef struct {
    const char *name; /* "--threshold" */
    char letter;      /* 'r' for -r, or 0 */
    cli_arg_kind arg;
} cli_option;

/* Every option of every command; ends with {NULL}. */
extern const cli_option cli_options[];

/* The option by its long name, or by "-x"; NULL if none. */
const cli_option *cli_option_find(const char *arg);

/* The handler gets one canonical option at argv[*i] (its value, if any, at
 * argv[*i + 1]) and returns 1 consumed (advancing *i past a value it took),
 * 0 not an option of this command, -1 usage error (reported), 2 --help. */
typedef int (*cli_option_handler)(void *user, int argc, char **argv, int *i);

/* Parse argv[1..argc-1]: options through `handler`, the files (in order)
 * into files[0..*n_files-1] (files has room for argc). Returns 0, 1 when
 * --help was asked (the caller prints it), 2 usage error (reported, with
 * the command's name). */
int cli_parse(int argc, char **argv, cli_option_handler handler, void *user, char **files, int *n_files);

#endif
