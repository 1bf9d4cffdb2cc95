/*
 * main: the spid-sp executable; hands argv to the subcommand table in cli.c.
 */
#include "sp/cli.h"

int main(int argc, char **argv)
{
    return sp_cli_main(argc, argv);
}
