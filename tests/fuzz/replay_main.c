/*
 * replay_main: runs a fuzz target over its committed corpus without
 * libFuzzer, so every plain build checks the corpus (SQLite fuzzcheck shape).
 * Arguments are directories (every regular file directly inside, in name
 * order) or single files. Exit status: 0 when at least one input was replayed
 * and every argument was readable; 1 otherwise. A crash is the target's.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (16UL * 1024 * 1024) /* larger corpus files are an error */
#define REPLAY_PATH_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read path and feed it to the target. 0 on success, -1 on error. */
static int replay_file(const char *path, const struct stat *st)
{
    FILE *fp = NULL;
    uint8_t *data = NULL;
    size_t size = (size_t)st->st_size;
    int ret = -1;

    if (st->st_size < 0 || (uint64_t)st->st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: too large\n", path);
        goto out;
    }
    fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        goto out;
    }
    /* an exact-size heap copy lets ASan catch reads past the end */
    data = malloc(size ? size : 1);
    if (data == NULL || fread(data, 1, size, fp) != size) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(data, size);
    ret = 0;
out:
    free(data);
    if (fp != NULL)
        fclose(fp);
    return ret;
}

static int replay_name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replay every regular file in dir; adds to *count. 0 on success, -1 on error. */
static int replay_dir(const char *dir, unsigned long *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, replay_name_cmp);
    int ret = 0;

    if (n < 0) {
        perror(dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[REPLAY_PATH_MAX];
        struct stat st;
        int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);

        if (len < 0 || (size_t)len >= sizeof(path)) {
            fprintf(stderr, "replay: %s/%s: path too long\n", dir, names[i]->d_name);
            ret = -1;
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path, &st) == 0)
                (*count)++;
            else
                ret = -1;
        }
        free(names[i]);
    }
    free(names);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &count) != 0)
                failed = 1;
        } else if (replay_file(argv[i], &st) == 0) {
            count++;
        } else {
            failed = 1;
        }
    }
    printf("replayed %lu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        failed = 1;
    }
    return failed;
}
