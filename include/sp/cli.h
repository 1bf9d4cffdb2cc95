/*
 * cli: the subcommands of the spid-sp executable (serve, dev-idp, keygen,
 * metadata, ...): argument parsing and wiring only.
 */
#ifndef SP_CLI_H
#define SP_CLI_H

#include <stdint.h>

/* Run the subcommand named by argv[1]; returns the process exit status. */
int sp_cli_main(int argc, char **argv);

struct sp_config;

/* Load the configuration (NULL path: defaults) and set the log level, or
 * print "file:line: message" to stderr and return NULL. */
struct sp_config *sp_cli_load_config(const char *path);

struct sp_db;

/*
 * Open the configured database for an administrative command (creating and
 * migrating it unless must_exist), or print "spid-sp CMD: why" and return
 * NULL.
 */
struct sp_db *sp_cli_open_db(const struct sp_config *cfg, const char *cmd, int must_exist);

/* "operator:<login name>" of the user running the command, for the audit trail. */
void sp_cli_operator(char *out, unsigned size);

/* A date on the command line: YYYY-MM-DD (UTC midnight) or RFC 3339; seconds. */
int sp_cli_parse_date(const char *s, int64_t *sec);

/* Subcommands: argv[0] is the subcommand name; return the exit status. */
int sp_cli_serve(int argc, char **argv);
int sp_cli_keygen(int argc, char **argv);
int sp_cli_metadata(int argc, char **argv);
int sp_cli_dev_idp(int argc, char **argv);
int sp_cli_check_metadata(int argc, char **argv); /* cli_check_metadata.c */
int sp_cli_check_cert(int argc, char **argv);     /* cli_check_cert.c */
int sp_cli_audit(int argc, char **argv);          /* cli_audit.c */
int sp_cli_pin(int argc, char **argv);            /* cli_pin.c */
int sp_cli_register(int argc, char **argv);       /* cli_register.c */
int sp_cli_user(int argc, char **argv);           /* cli_admin.c */
int sp_cli_org(int argc, char **argv);            /* cli_admin.c */
int sp_cli_role(int argc, char **argv);           /* cli_admin.c */
int sp_cli_delegation(int argc, char **argv);     /* cli_admin.c */
int sp_cli_registry(int argc, char **argv);       /* cli_registry.c */

#endif /* SP_CLI_H */
