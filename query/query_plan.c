/* query_plan.c - whether a filter's `dst port` should use the dst_port index.
 *
 * SQLite has no statistics on the partitions (no ANALYZE: it would lengthen every close), so
 * it takes the dst_port index for any `dst_port = ?`. That pays for a rare port and costs for
 * a common one: a scan reads a row in about 0.1 us, the index costs about 1 us per matching
 * entry (a row lookup each). Measured (doc/performance.md): a port on 4% of the flows took
 * 0.41 s through the index against 0.91 s scanned, one on 8% 0.94 s against 1.10 s, one on
 * 25-30% 1.36-1.88 s against 1.04-1.25 s. One cheap probe per query decides: count the index
 * entries of the filter's ports in the largest closed partition of the range, stopping at
 * PROBE_SHARE of its rows; if the count gets there, every arm is written `+dst_port` (no
 * index). Rows never change, only the plan. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "query/query_int.h"

/* Share of a partition (percent) from which the scan beats the dst_port index (~10-15%). */
#define PROBE_SHARE 10
/* More ports than this in one filter: not probed, the index is left to SQLite. */
#define PROBE_PORTS 64

/* Does the partition have the dst_port index? (Stores made before it keep their old
 * partitions without it, doc/storage.md.) */
static bool has_port_index(struct query *q, const char *part)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(query_sqlite(q),
                           "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1 || "
                           "'_dport'",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, part, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* Index entries of the ports in partition p, counted up to cap. */
static int64_t port_rows(struct query *q, const struct qpart *p, const int64_t *ports, size_t np,
                         int64_t cap)
{
    char *list = xcalloc(np, 8);
    size_t len = 0;
    for (size_t i = 0; i < np; i++)
        len += (size_t)snprintf(list + len, np * 8 - len, "%s?%zu", i ? "," : "", i + 2);
    /* the name is a plain identifier (query_partitions); the ports are bound */
    char *sql = xasprintf("SELECT count(*) FROM (SELECT 1 FROM \"%s\" WHERE dst_port IN (%s) "
                          "LIMIT ?1)",
                          p->name, list);
    free(list);
    sqlite3_stmt *st;
    int64_t count = 0;
    if (sqlite3_prepare_v2(query_sqlite(q), sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, cap);
        for (size_t i = 0; i < np; i++)
            sqlite3_bind_int64(st, (int)i + 2, ports[i]);
        if (sqlite3_step(st) == SQLITE_ROW)
            count = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    free(sql);
    return count; /* a failed probe leaves the index to SQLite, as without a probe */
}

void query_plan_ports(struct query *q, const struct filter *f, struct qpart *parts, size_t n)
{
    int64_t ports[PROBE_PORTS];
    size_t np = filter_dst_ports(f, ports, PROBE_PORTS);
    if (np == 0 || np > PROBE_PORTS)
        return;
    /* the largest closed partition with the index: the best sample */
    const struct qpart *probe = NULL;
    for (size_t i = 0; i < n; i++)
        if (parts[i].indexed && parts[i].rows > 0 && (!probe || parts[i].rows > probe->rows) &&
            has_port_index(q, parts[i].name))
            probe = &parts[i];
    if (!probe)
        return;
    int64_t cap = probe->rows * PROBE_SHARE / 100 + 1;
    if (port_rows(q, probe, ports, np, cap) < cap)
        return;
    for (size_t i = 0; i < n; i++)
        parts[i].port_index = false;
}
