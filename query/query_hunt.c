/* query_hunt.c - flows read back as struct flow in receive order, through the query layer:
 * the story's hunt (query_hunt: one endpoint, from SQLite through the endpoint index,
 * storage/hunt.c), which alerts/conn_rebuild.c rebuilds connections from, and the replay of a
 * whole ClickHouse range for `flowhound analyze` (query_replay). ClickHouse's are in
 * query_ch_stats.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/xmalloc.h"
#include "query/query_int.h"

static int hunt_sqlite(struct query *q, const struct query_hunt *h, query_flow_fn fn, void *ctx,
                       char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;
    /* The SQL names partitions: if retention dropped one meanwhile, build it again (once). */
    for (int attempt = 0; attempt < 2 && rc != SQLITE_OK; attempt++) {
        char *hunt =
            store_client_port_sql_db(q->db, &h->addr, h->port, h->from_ms, h->to_ms, err, errlen);
        if (!hunt)
            return QUERY_EFAIL;
        char *sql = xasprintf("SELECT %s FROM (%s) WHERE ?6 < 0 OR proto = ?6 ORDER BY "
                              "received_ms, first_ms, last_ms",
                              store_flow_read_columns, hunt);
        free(hunt);
        rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
        free(sql);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "reading the client port's flows: %s", sqlite3_errmsg(q->db));
        return QUERY_EFAIL;
    }
    store_bind_hunt(st, &h->addr, h->port, h->from_ms, h->to_ms);
    sqlite3_bind_int(st, 6, h->proto);
    struct flow f;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_row_to_flow(st, &f);
        if (fn(ctx, &f)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int result = rc == SQLITE_DONE ? 0 : query_step_error(q, q->db, rc, err, errlen);
    sqlite3_finalize(st);
    return result;
}

int query_hunt(struct query *q, const struct query_hunt *h, query_flow_fn fn, void *ctx, char *err,
               size_t errlen)
{
    if (q->ch)
        return query_ch_hunt(q, h, fn, ctx, err, errlen);
    return hunt_sqlite(q, h, fn, ctx, err, errlen);
}

int query_replay(struct query *q, int64_t from_ms, int64_t to_ms, int proto, query_flow_fn fn,
                 void *ctx, char *err, size_t errlen)
{
    if (q->ch)
        return query_ch_replay(q, from_ms, to_ms, proto, fn, ctx, err, errlen);
    /* a SQLite store is read partition by partition by its reader (cli/analyze.c), each with
     * its own snapshot, skipping a partition retention drops meanwhile */
    (void)from_ms, (void)to_ms, (void)proto, (void)fn, (void)ctx;
    snprintf(err, errlen, "a SQLite store is replayed from its partitions");
    return QUERY_EINVALID;
}
