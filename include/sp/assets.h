/*
 * assets: the files of templates/ embedded at build time (cmake/embed.cmake).
 */
#ifndef SP_ASSETS_H
#define SP_ASSETS_H

#include <stddef.h>

struct sp_asset {
    const char *name;
    const unsigned char *data; /* NUL-terminated copy of the file */
    size_t len;
};

/* Terminated by an entry with name == NULL. */
extern const struct sp_asset sp_assets[];

/* The asset called name, or NULL. */
const struct sp_asset *sp_asset_find(const char *name);

#endif /* SP_ASSETS_H */
