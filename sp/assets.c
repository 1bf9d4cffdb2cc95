/*
 * assets: lookup in the table generated from templates/.
 */
#include <string.h>

#include "sp/assets.h"

const struct sp_asset *sp_asset_find(const char *name)
{
    for (const struct sp_asset *a = sp_assets; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}
