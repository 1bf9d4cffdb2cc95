/*
 * metrics: process counters for GET /metrics (Prometheus text format 0.0.4).
 * A counter is a metric name plus up to two labels (e.g. IdP and outcome); the
 * table is fixed-size and lock-protected, increments are cheap and never
 * allocate after the first use of a (name, label) pair.
 */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stdint.h>

struct sp_buf;

/* Add one to name{k1="v1",k2="v2"}; a NULL key ends the label list. */
void sp_metrics_inc(const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2);

/* Append every counter as "# TYPE name counter" + samples, sorted by name. */
void sp_metrics_render(struct sp_buf *out);

/* Forget every counter (tests). */
void sp_metrics_reset(void);

#endif /* SP_METRICS_H */
