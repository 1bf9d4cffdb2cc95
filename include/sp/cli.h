/*
 * cli: the subcommands of the spid-sp executable (serve, dev-idp, keygen,
 * metadata, ...): argument parsing and wiring only.
 */
#ifndef SP_CLI_H
#define SP_CLI_H

/* Run the subcommand named by argv[1]; returns the process exit status. */
int sp_cli_main(int argc, char **argv);

struct sp_config;

/* Load the configuration (NULL path: defaults) and set the log level, or
 * print "file:line: message" to stderr and return NULL. */
struct sp_config *sp_cli_load_config(const char *path);

/* Subcommands: argv[0] is the subcommand name; return the exit status. */
int sp_cli_serve(int argc, char **argv);
int sp_cli_keygen(int argc, char **argv);
int sp_cli_metadata(int argc, char **argv);
int sp_cli_dev_idp(int argc, char **argv);
int sp_cli_check_metadata(int argc, char **argv); /* cli_check_metadata.c */
int sp_cli_check_cert(int argc, char **argv);     /* cli_check_cert.c */

#endif /* SP_CLI_H */
