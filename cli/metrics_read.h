/* metrics_read.h - the Prometheus text `flowhound status` reads from the daemon's /metrics:
 * samples parsed (leniently: a line it cannot read is skipped), sorted, looked up by name and
 * leading labels in O(log n) (4096 exporters are 70,000 samples). */
#ifndef FLOWHOUND_METRICS_READ_H
#define FLOWHOUND_METRICS_READ_H

#include <stdbool.h>
#include <stddef.h>

struct sample {
    char name[128];
    char labels[512]; /* as written between the braces */
    double value;
};

struct samples {
    struct sample *v;
    size_t n;
};

/* Parses text (changed in place); free out->v. */
void metrics_parse(char *text, struct samples *out);
/* The value of label `key` of s (unescaped) in buf, "" when absent. Returns buf. */
const char *metrics_label(const struct sample *s, const char *key, char *buf, size_t len);
/* The sum of the samples named `name` whose first labels are key="value" (and key2="value2":
 * the daemon writes labels in a fixed order, e.g. exporter then reason); key NULL: all. */
double metrics_val2(const struct samples *m, const char *name, const char *key, const char *value,
                    const char *key2, const char *value2);
double metrics_val(const struct samples *m, const char *name, const char *key, const char *value);
bool metrics_has(const struct samples *m, const char *name);

#endif
