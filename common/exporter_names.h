/* exporter_names.h - the names an operator gives exporters (`exporter-name = ADDR NAME`).
 * Names are for people: the web UI and API show them beside the address, which stays the
 * exporter's key everywhere (the store, filters, links). */
#ifndef FLOWHOUND_EXPORTER_NAMES_H
#define FLOWHOUND_EXPORTER_NAMES_H

#include <stddef.h>

#include "common/addr.h"

/* Longest name, in bytes: a name fits a table cell and a chart's lane label. */
#define EXPORTER_NAME_MAX 64

struct exporter_name {
    struct fh_addr addr;
    char *name;
};

struct exporter_names {
    struct exporter_name *v;
    size_t n;
};

/* Parses the setting's values ("ADDR NAME": an IPv4 or IPv6 address, blanks, then the name,
 * which may hold blanks). A later value for the same address replaces the earlier one, so
 * the command line overrides the file. A name is 1 to EXPORTER_NAME_MAX bytes of UTF-8
 * without control characters. Returns 0, or -1 with a message quoting the bad value. */
int exporter_names_parse(struct exporter_names *out, const char *const *specs, size_t n, char *err,
                         size_t errlen);
/* The name of an exporter as the store and the API spell it ("ADDR" or "ADDR/DOMAIN"), or
 * NULL when it has none. */
const char *exporter_names_find(const struct exporter_names *names, const char *exporter);
void exporter_names_free(struct exporter_names *names);

#endif
