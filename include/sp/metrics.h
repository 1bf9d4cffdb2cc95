/*
 * metrics: process counters for GET /metrics (Prometheus text format 0.0.4).
 * A counter or gauge is a metric name plus up to two labels (e.g. IdP and
 * outcome); the table is fixed-size and lock-protected, updates are cheap and
 * never allocate after the first use of a (name, label) pair.
 */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stdint.h>

struct sp_buf;

/* Add one to name{k1="v1",k2="v2"}; a NULL key ends the label list. */
void sp_metrics_inc(const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2);

/* Set the gauge name{k1="v1",k2="v2"} to value (created on first use). */
void sp_metrics_set(const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2, double value);

/* Drop every counter or gauge called name (e.g. per-IdP gauges after a refresh). */
void sp_metrics_forget(const char *name);

/* Append every counter as "# TYPE name counter" + samples, sorted by name. */
void sp_metrics_render(struct sp_buf *out);

/* Forget every counter (tests). */
void sp_metrics_reset(void);

#endif /* SP_METRICS_H */
