/*
 * err: text for the error codes of err.h and the assertion handler.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sp/err.h"

static const char *const err_text[] = {
#define SP_ERR_TEXT(name, text) text,
    SP_ERR_MAP(SP_ERR_TEXT)
#undef SP_ERR_TEXT
};

static const char *const err_names[] = {
#define SP_ERR_NAME(name, text) #name,
    SP_ERR_MAP(SP_ERR_NAME)
#undef SP_ERR_NAME
};

const char *sp_strerror(enum sp_err err)
{
    if ((unsigned)err >= SP_ERR__COUNT)
        return "unknown error";
    return err_text[err];
}

const char *sp_errname(enum sp_err err)
{
    if ((unsigned)err >= SP_ERR__COUNT)
        return "UNKNOWN";
    return err_names[err];
}

void sp_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "spid-sp: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
