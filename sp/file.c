/*
 * file: bounded reads, atomic replacement, directory creation and the
 * key-file secrecy check.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/mem.h"

enum sp_err sp_file_read(const char *path, struct sp_buf *out)
{
    char chunk[8192];
    enum sp_err rc = SP_OK;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO;
    while (rc == SP_OK && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = SP_ERR_IO;
            break;
        }
        rc = sp_buf_add(out, chunk, (size_t)n);
    }
    close(fd);
    return rc;
}

enum sp_err sp_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    struct sp_buf tmp;
    enum sp_err rc = SP_ERR_IO;
    const char *p = data;
    char *dircopy = NULL;
    int fd = -1, dfd = -1;

    sp_buf_init(&tmp, 8192);
    if (sp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid()) != SP_OK)
        goto out;
    fd = open(sp_buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto out;
    if (fchmod(fd, mode) != 0)
        goto out;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(sp_buf_str(&tmp), path) != 0)
        goto out;
    dircopy = sp_xstrdup(path);
    dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    rc = SP_OK;
out:
    if (rc != SP_OK)
        sp_warn("cannot write %s", path);
    if (fd >= 0) {
        close(fd);
        unlink(sp_buf_str(&tmp));
    }
    if (dfd >= 0)
        close(dfd);
    free(dircopy);
    sp_buf_cleanup(&tmp);
    return rc;
}

enum sp_err sp_file_mkdirs(const char *path, mode_t mode)
{
    char *copy = sp_xstrdup(path);
    enum sp_err rc = SP_OK;

    for (char *p = copy + 1; rc == SP_OK; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST)
            rc = SP_ERR_IO;
        *p = c;
        if (c == '\0')
            break;
    }
    free(copy);
    return rc;
}

enum sp_err sp_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? SP_OK : SP_ERR_NOT_FOUND;
}

enum sp_err sp_file_check_secrecy(const char *path, struct sp_buf *err)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        if (err != NULL)
            sp_buf_addf(err, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        if (err != NULL)
            sp_buf_addf(err, "%s: key file is not owned by this user", path);
        return SP_ERR_PERM;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        if (err != NULL)
            sp_buf_addf(err,
                        "%s: key file is accessible by group or others (mode %03o); "
                        "run chmod 600",
                        path, (unsigned)(st.st_mode & 0777));
        return SP_ERR_PERM;
    }
    return SP_OK;
}
