#include <stdio.h>

#include "tools/kmsctl.h"

/* Placeholder until this subcommand lands. */
int kmsctl_keys(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "kmsctl %s: not built yet\n", argv[0]);
    return 2;
}
