/* query_run.h - running what `flowhound query`'s command line asked for: a listing, -s
 * tables or aggregated records, then the summary footer. */
#ifndef FLOWHOUND_CLI_QUERY_RUN_H
#define FLOWHOUND_CLI_QUERY_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/query_out.h"
#include "query/filter.h"

#define QUERY_MAX_STATS 16

struct query_opts {
    const char *db;
    char *filter_text;
    const char *range;
    const char *stats[QUERY_MAX_STATS]; /* each -s STAT[/ORDER...] */
    size_t nstats;
    const char *aggregate; /* -A FIELDS */
    bool five_tuple;       /* -a */
    bool bidir;            /* -b */
    const char *order;     /* -O */
    int64_t limit, offset, time_limit, threads;
    bool limit_set;
    enum format fmt;
    const char *fmt_spec; /* after "fmt:" */
    bool plain, quiet;    /* -N, -q */
};

/* Exit status: 0, 1 (store, query, output) or 2 (a request the query layer refuses). */
int query_cli_run(const struct query_opts *o, const struct filter *f, int64_t from, int64_t to);

#endif
