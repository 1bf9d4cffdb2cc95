/*
 * cli_devidp: `spid-sp dev-idp`: process setup, then the test IdP (devidp.c).
 */
#include "sp/cli.h"
#include "sp/devidp.h"
#include "sp/saml.h"

int sp_cli_dev_idp(int argc, char **argv)
{
    if (sp_saml_global_init() != SP_OK)
        return 1;
    return sp_devidp_main(argc, argv);
}
