/*
 * metrics: see metrics.h. Label values come from our own code (outcome
 * names, check ids, IdP entity IDs) and are escaped as the text format
 * requires anyway.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/metrics.h"

#define METRICS_MAX 512
#define METRICS_TEXT 192

struct counter {
    char name[64];
    char labels[METRICS_TEXT * 2]; /* k1="v1",k2="v2", escaped */
    uint64_t value;
};

static struct counter counters[METRICS_MAX];
static unsigned n_counters;
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

static void label_escaped(struct sp_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sp_buf_addc(out, '\\');
        if (*s == '\n')
            sp_buf_adds(out, "\\n");
        else
            sp_buf_addc(out, *s);
    }
}

void sp_metrics_inc(const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2)
{
    struct sp_buf l;

    sp_buf_init(&l, sizeof(counters[0].labels) - 1);
    if (k1 != NULL) {
        sp_buf_addf(&l, "%s=\"", k1);
        label_escaped(&l, v1 ? v1 : "");
        sp_buf_addc(&l, '"');
        if (k2 != NULL) {
            sp_buf_addf(&l, ",%s=\"", k2);
            label_escaped(&l, v2 ? v2 : "");
            sp_buf_addc(&l, '"');
        }
    }
    pthread_mutex_lock(&metrics_lock);
    for (unsigned i = 0; i < n_counters; i++) {
        struct counter *c = &counters[i];
        if (strcmp(c->name, name) == 0 && strcmp(c->labels, sp_buf_str(&l)) == 0) {
            c->value++;
            pthread_mutex_unlock(&metrics_lock);
            sp_buf_cleanup(&l);
            return;
        }
    }
    if (n_counters < METRICS_MAX) {
        struct counter *c = &counters[n_counters++];
        snprintf(c->name, sizeof(c->name), "%s", name);
        snprintf(c->labels, sizeof(c->labels), "%s", sp_buf_str(&l));
        c->value = 1;
    }
    pthread_mutex_unlock(&metrics_lock);
    sp_buf_cleanup(&l);
}

static int counter_cmp(const void *a, const void *b)
{
    const struct counter *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : strcmp(x->labels, y->labels);
}

void sp_metrics_render(struct sp_buf *out)
{
    struct counter *copy;
    unsigned n;

    pthread_mutex_lock(&metrics_lock);
    n = n_counters;
    copy = malloc((n ? n : 1) * sizeof(*copy));
    if (copy != NULL)
        memcpy(copy, counters, n * sizeof(*copy));
    pthread_mutex_unlock(&metrics_lock);
    if (copy == NULL)
        return;
    qsort(copy, n, sizeof(*copy), counter_cmp);
    for (unsigned i = 0; i < n; i++) {
        if (i == 0 || strcmp(copy[i].name, copy[i - 1].name) != 0)
            sp_buf_addf(out, "# TYPE %s counter\n", copy[i].name);
        sp_buf_adds(out, copy[i].name);
        if (copy[i].labels[0] != '\0')
            sp_buf_addf(out, "{%s}", copy[i].labels);
        sp_buf_addf(out, " %llu\n", (unsigned long long)copy[i].value);
    }
    free(copy);
}

void sp_metrics_reset(void)
{
    pthread_mutex_lock(&metrics_lock);
    n_counters = 0;
    pthread_mutex_unlock(&metrics_lock);
}
