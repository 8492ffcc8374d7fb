/* query_out.h - what `flowhound query` prints: flows in its own line and long forms, any row
 * in an nfdump -o fmt: format, CSV or JSON, the top-N tables of -s in nfdump's layout, and
 * nfdump's summary footer (doc/cli.md). */
#ifndef FLOWHOUND_CLI_QUERY_OUT_H
#define FLOWHOUND_CLI_QUERY_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cli/query_fmt.h"
#include "query/query.h"

enum format { FMT_LINE, FMT_LONG, FMT_CSV, FMT_JSON, FMT_FMT };

/* What a request selected: nfdump's "Summary" line and time window. */
struct summary {
    int64_t flows, packets, bytes;
    int64_t first, last; /* INT64_MAX / INT64_MIN: no flow */
};

enum out_kind { OUT_FLOWS, OUT_TOP, OUT_RECORDS };

/* The state of one table of rows (a listing, a -s table, aggregated records). */
struct out {
    enum format fmt;
    enum out_kind kind;
    struct fmt *custom; /* rows printed with it (FMT_FMT, and records in line/long) */
    bool plain, quiet;  /* nfdump -N and -q */
    size_t rows;
    const char *const *cols; /* the flows view's columns, for a CSV header without rows */
    size_t ncols;
    /* -s tables: the statistic, and the totals that percentages are of */
    enum query_stat stat;
    const struct summary *total;
    /* a listing: what the printed flows add up to */
    struct summary printed;
};

struct summary summary_empty(void);
/* A query_row_fn: prints the row in o's form (the header before the first). */
int out_row(void *ctx, sqlite3_stmt *row);
/* After the last row: closes a JSON array, a CSV header when no row came, "N flows". */
void out_end(struct out *o);
/* "Top 10 Src IP Addr ordered by bytes:" and the column titles of a -s table. */
void out_top_title(const struct out *o, int64_t limit, enum query_order order);
/* "Summary: total flows: ..." and "Time window: ..." (clipped to from .. to). */
void out_summary(const struct summary *s, int64_t from, int64_t to, bool plain);

#endif
