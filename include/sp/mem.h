/*
 * mem: allocation that never returns NULL (daemon policy: out of memory aborts)
 * and wiping of secrets before they are released.
 */
#ifndef SP_MEM_H
#define SP_MEM_H

#include <stddef.h>

/* Allocators: abort on failure, so callers never check for NULL. Free with free(). */
void *sp_xmalloc(size_t n);
void *sp_xcalloc(size_t nmemb, size_t size);
void *sp_xrealloc(void *p, size_t n);
char *sp_xstrdup(const char *s);
char *sp_xstrndup(const char *s, size_t n);

/* Overwrite n bytes with zeros in a way the compiler cannot drop. */
void sp_wipe(void *p, size_t n);

/* Wipe a NUL-terminated secret, then free it. Accepts NULL. */
void sp_free_secret(char *s);

#endif /* SP_MEM_H */
