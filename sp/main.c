/*
 * main: the spid-sp executable; hands argv to the subcommand table in cli.c.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <time.h>

#include "sp/cli.h"

int main(int argc, char **argv)
{
    /*
     * Everything we produce is UTC. A fixed TZ also stops glibc from
     * re-reading /etc/localtime under its global lock whenever lasso or
     * libxml2 convert a time, which costs more than the conversion itself.
     */
    setenv("TZ", "UTC0", 1);
    tzset();
    return sp_cli_main(argc, argv);
}
