/*
 * mem: aborting allocators and secret wiping.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/mem.h"

static _Noreturn void mem_oom(size_t n)
{
    fprintf(stderr, "spid-sp: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        mem_oom(n);
    return p;
}

void *sp_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        mem_oom(nmemb * size);
    return p;
}

void *sp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        mem_oom(n);
    return q;
}

char *sp_xstrdup(const char *s)
{
    return sp_xstrndup(s, strlen(s));
}

char *sp_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = sp_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void sp_wipe(void *p, size_t n)
{
    if (p != NULL)
        explicit_bzero(p, n);
}

void sp_free_secret(char *s)
{
    if (s == NULL)
        return;
    sp_wipe(s, strlen(s));
    free(s);
}
