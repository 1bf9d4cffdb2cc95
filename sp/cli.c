/*
 * cli: subcommand table and dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "sp/cli.h"

struct cli_cmd {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
};

static const struct cli_cmd commands[] = {
    {"serve", "run the service (--config FILE, --check to validate and exit)", sp_cli_serve},
    {"keygen", "create the SP key and SPID certificate", sp_cli_keygen},
    {"metadata", "print or write our signed SP metadata", sp_cli_metadata},
    {"dev-idp", "run the built-in SPID test identity provider", sp_cli_dev_idp},
    {"check-metadata", "check SP or IdP metadata (file or URL) against the SPID rules",
     sp_cli_check_metadata},
    {"check-cert", "check an SP certificate against the SPID profile (Avviso 29 v3)",
     sp_cli_check_cert},
    {"user", "show a person's whole record (user show CF)", sp_cli_user},
    {"org", "register and list organisations (org add|list)", sp_cli_org},
    {"role", "grant, revoke and list roles (role grant|revoke|list)", sp_cli_role},
    {"delegation", "record, revoke and list delegations (delegation add|revoke|list)",
     sp_cli_delegation},
    {"pin", "issue a PIN at the office, convert, revoke, show (pin issue|approve|revoke|status)",
     sp_cli_pin},
    {"register",
     "the SPID transaction register store: export|verify|prune (not yet fed by the SAML paths)",
     sp_cli_register},
    {"audit", "verify or export the hash-chained audit trail (audit verify|export)", sp_cli_audit},
    {"registry", "download and verify the SPID IdP registry, show the cached copy (fetch|show)",
     sp_cli_registry},
    {NULL, NULL, NULL},
};

static void cli_usage(FILE *fp)
{
    fprintf(fp, "usage: spid-sp <command> [options]\n\ncommands:\n");
    for (const struct cli_cmd *c = commands; c->name != NULL; c++)
        fprintf(fp, "  %-14s %s\n", c->name, c->help);
}

int sp_cli_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const struct cli_cmd *c = commands; c->name != NULL; c++)
        if (strcmp(c->name, argv[1]) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "spid-sp: unknown command \"%s\"\n", argv[1]);
    cli_usage(stderr);
    return 2;
}
