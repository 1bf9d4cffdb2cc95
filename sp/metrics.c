/*
 * metrics: see metrics.h. Label values come from our own code (outcome
 * names, check ids, IdP entity IDs) and are escaped as the text format
 * requires anyway.
 */
#include <pthread.h>
#include <stdbool.h>
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
    uint64_t value;                /* counters */
    double gauge;                  /* gauges */
    bool is_gauge;
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

static void labels_of(struct sp_buf *l, const char *k1, const char *v1, const char *k2,
                      const char *v2)
{
    if (k1 == NULL)
        return;
    sp_buf_addf(l, "%s=\"", k1);
    label_escaped(l, v1 ? v1 : "");
    sp_buf_addc(l, '"');
    if (k2 != NULL) {
        sp_buf_addf(l, ",%s=\"", k2);
        label_escaped(l, v2 ? v2 : "");
        sp_buf_addc(l, '"');
    }
}

/* The entry for (name, labels), created when missing; NULL when the table is full. Locked. */
static struct counter *entry_of(const char *name, const char *labels, bool gauge)
{
    for (unsigned i = 0; i < n_counters; i++) {
        struct counter *c = &counters[i];
        if (strcmp(c->name, name) == 0 && strcmp(c->labels, labels) == 0)
            return c;
    }
    if (n_counters == METRICS_MAX)
        return NULL;
    struct counter *c = &counters[n_counters++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->labels, sizeof(c->labels), "%s", labels);
    c->is_gauge = gauge;
    return c;
}

void sp_metrics_inc(const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2)
{
    struct sp_buf l;
    struct counter *c;

    sp_buf_init(&l, sizeof(counters[0].labels) - 1);
    labels_of(&l, k1, v1, k2, v2);
    pthread_mutex_lock(&metrics_lock);
    c = entry_of(name, sp_buf_str(&l), false);
    if (c != NULL)
        c->value++;
    pthread_mutex_unlock(&metrics_lock);
    sp_buf_cleanup(&l);
}

void sp_metrics_set(const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2, double value)
{
    struct sp_buf l;
    struct counter *c;

    sp_buf_init(&l, sizeof(counters[0].labels) - 1);
    labels_of(&l, k1, v1, k2, v2);
    pthread_mutex_lock(&metrics_lock);
    c = entry_of(name, sp_buf_str(&l), true);
    if (c != NULL)
        c->gauge = value;
    pthread_mutex_unlock(&metrics_lock);
    sp_buf_cleanup(&l);
}

void sp_metrics_forget(const char *name)
{
    unsigned k = 0;
    pthread_mutex_lock(&metrics_lock);
    for (unsigned i = 0; i < n_counters; i++)
        if (strcmp(counters[i].name, name) != 0)
            counters[k++] = counters[i];
    n_counters = k;
    pthread_mutex_unlock(&metrics_lock);
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
            sp_buf_addf(out, "# TYPE %s %s\n", copy[i].name,
                        copy[i].is_gauge ? "gauge" : "counter");
        sp_buf_adds(out, copy[i].name);
        if (copy[i].labels[0] != '\0')
            sp_buf_addf(out, "{%s}", copy[i].labels);
        if (copy[i].is_gauge && copy[i].gauge == (double)(long long)copy[i].gauge)
            sp_buf_addf(out, " %lld\n", (long long)copy[i].gauge);
        else if (copy[i].is_gauge) /* e.g. seconds: millisecond resolution */
            sp_buf_addf(out, " %.3f\n", copy[i].gauge);
        else
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
