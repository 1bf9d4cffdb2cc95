/*
 * devidp: the built-in SPID test identity provider (`spid-sp dev-idp`). It
 * trusts the SP metadata it is given, checks every AuthnRequest as strictly as
 * a real SPID IdP (signature, algorithms, SPID shape), lets a tester pick a
 * test identity, a level and an anomaly, and answers with a signed,
 * SPID-shaped Response. For tests and development only.
 */
#ifndef SP_DEVIDP_H
#define SP_DEVIDP_H

/*
 * Run the dev-idp subcommand: argv[0] is "dev-idp", options follow (see
 * `spid-sp dev-idp --help`). Blocks until SIGINT or SIGTERM, then frees
 * everything. Returns the process exit status: 0 after a clean shutdown (or
 * --help), 1 on any startup error (with a message on stderr), 2 on a usage
 * error. The caller must have run sp_saml_global_init() already.
 */
int sp_devidp_main(int argc, char **argv);

#endif /* SP_DEVIDP_H */
