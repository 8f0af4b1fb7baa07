/* placeholder replaced by the info command in the same session */
#include <stdio.h>
#include "tools/engine-run/commands.h"
int cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "engine-run info: not built yet\n");
    return 2;
}
