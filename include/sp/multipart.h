/*
 * multipart: a strict parser of multipart/form-data request bodies
 * (RFC 7578, RFC 2046 §5.1) for file uploads. The whole body is in memory;
 * parts point into it (no copies). Anything unusual is refused rather than
 * guessed: a missing or overlong boundary, a part without a
 * Content-Disposition "form-data" and a name, headers longer than 4 KiB,
 * more than max_parts parts, a missing closing delimiter.
 */
#ifndef SP_MULTIPART_H
#define SP_MULTIPART_H

#include <stddef.h>

#include "sp/err.h"

#define SP_MULTIPART_NAME_MAX 64
#define SP_MULTIPART_FILENAME_MAX 256

struct sp_part {
    char name[SP_MULTIPART_NAME_MAX + 1];         /* form field name */
    char filename[SP_MULTIPART_FILENAME_MAX + 1]; /* "" when not a file */
    char content_type[128];                       /* "" when absent */
    const char *data;                             /* into the body */
    size_t len;
};

/* The boundary of a "multipart/form-data; boundary=..." Content-Type into out
 * (1-70 characters, quotes removed). SP_ERR_INVALID when there is none. */
enum sp_err sp_multipart_boundary(const char *content_type, char out[71]);

/*
 * Split body into at most max_parts parts (parts[] has room for max_parts).
 * *n gets the number found. SP_ERR_INVALID (with *why, static English) when
 * the body is not well-formed.
 */
enum sp_err sp_multipart_parse(const char *boundary, const char *body, size_t len,
                               struct sp_part *parts, unsigned max_parts, unsigned *n,
                               const char **why);

#endif /* SP_MULTIPART_H */
