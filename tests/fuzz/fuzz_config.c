/*
 * fuzz_config: the INI loader. The input is written to one temp file that is
 * reused for every run; sp_config_load must either fail with an error that
 * starts with "<file>:" or return a config, and everything is freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/config.h"
#include "sp/log.h"

#define FUZZ_CONFIG_MAX_INPUT (64 * 1024)
#define FUZZ_CONFIG_ERR_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_config_path[512];

static void fuzz_config_remove(void)
{
    if (fuzz_config_path[0] != '\0')
        unlink(fuzz_config_path);
}

/* Create the temp file once; returns its descriptor or -1. */
static int fuzz_config_file(void)
{
    static int fd = -1;
    const char *tmp;

    if (fd >= 0)
        return fd;
    tmp = getenv("TMPDIR");
    snprintf(fuzz_config_path, sizeof(fuzz_config_path), "%.400s/fuzz_config.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    fd = mkstemp(fuzz_config_path);
    if (fd < 0)
        abort();
    atexit(fuzz_config_remove);
    sp_log_set_level(SP_LOG_ERROR);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fuzz_config_file();
    struct sp_config *cfg = NULL;
    struct sp_buf err;
    enum sp_err rc;

    if (size > FUZZ_CONFIG_MAX_INPUT)
        return 0;
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    sp_buf_init(&err, FUZZ_CONFIG_ERR_MAX);
    rc = sp_config_load(fuzz_config_path, &cfg, &err);
    if (rc == SP_OK) {
        if (cfg == NULL || err.len != 0 || cfg->n_attr_services == 0 ||
            sp_config_attr_service(cfg, cfg->attr_service_index) == NULL)
            abort();
    } else {
        if (cfg != NULL ||
            strncmp(sp_buf_str(&err), fuzz_config_path, strlen(fuzz_config_path)) != 0 ||
            err.data[strlen(fuzz_config_path)] != ':')
            abort();
    }
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
    return 0;
}
