/* engine-run's sub-commands. Each lives in its own cmd_<name>.c, parses its
 * own options and returns the process exit status:
 * 0 all good, 1 some inputs failed, 2 usage or set-up error. */
#ifndef UNPROMPT_TOOLS_COMMANDS_H
#define UNPROMPT_TOOLS_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_booru(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_clip(int argc, char **argv);
int cmd_all(int argc, char **argv);
int cmd_caption(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_embed_text(int argc, char **argv);
int cmd_weights(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
