/* prom_text.h - a strict reader of the Prometheus text exposition format 0.0.4, for the tests
 * of /metrics: it refuses what Prometheus' own parser refuses (bad names, bad escapes, a
 * sample before its family's TYPE, a family split in two, a series given twice, a value that
 * is no float) and keeps every sample for the tests to look up. */
#ifndef FLOWHOUND_TEST_PROM_TEXT_H
#define FLOWHOUND_TEST_PROM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct prom_sample {
    char *name;
    char *labels; /* canonical: k="v",k2="v2" as written (escapes kept), "" without labels */
    double value;
};

struct prom_text {
    struct prom_sample *v;
    size_t n;
};

/* Parses text; false with the line and what is wrong in err. */
bool prom_parse(const char *text, struct prom_text *out, char *err, size_t errlen);
void prom_free(struct prom_text *p);
/* The sample `name` with exactly these labels ("" for none); false when absent. */
bool prom_get(const struct prom_text *p, const char *name, const char *labels, double *value);

#endif
