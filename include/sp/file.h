/*
 * file: reading bounded files, atomic writes (temp file, fsync, rename, fsync
 * of the directory), directory creation, and the secrecy check for key files.
 */
#ifndef SP_FILE_H
#define SP_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "sp/err.h"

struct sp_buf;

/* Append the whole file to out (bounded by out->max). */
enum sp_err sp_file_read(const char *path, struct sp_buf *out);

/* Replace path with data atomically, created with the given mode. */
enum sp_err sp_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with mode for the directories it creates. */
enum sp_err sp_file_mkdirs(const char *path, mode_t mode);

/* SP_OK if path exists. */
enum sp_err sp_file_exists(const char *path);

/*
 * Refuse a secret (key) file that group or others can access in any way
 * (OpenBSD check_file_secrecy): SP_ERR_PERM with a message in err.
 */
enum sp_err sp_file_check_secrecy(const char *path, struct sp_buf *err);

#endif /* SP_FILE_H */
