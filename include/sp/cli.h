/*
 * cli: the subcommands of the spid-sp executable (serve, dev-idp, keygen,
 * metadata, ...): argument parsing and wiring only.
 */
#ifndef SP_CLI_H
#define SP_CLI_H

/* Run the subcommand named by argv[1]; returns the process exit status. */
int sp_cli_main(int argc, char **argv);

#endif /* SP_CLI_H */
