/* query_hunt.c - the story's hunt through the query layer (query.h query_hunt): the flows of
 * one endpoint in receive order, from SQLite through the endpoint index (storage/hunt.c) or
 * from ClickHouse (query_ch_stats.c). alerts/conn_rebuild.c rebuilds connections from it. */
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
        char *hunt = store_client_port_sql_db(q->db, &h->addr, h->port, h->from_ms, h->to_ms,
                                              err, errlen);
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

int query_hunt(struct query *q, const struct query_hunt *h, query_flow_fn fn, void *ctx,
               char *err, size_t errlen)
{
    if (q->ch)
        return query_ch_hunt(q, h, fn, ctx, err, errlen);
    return hunt_sqlite(q, h, fn, ctx, err, errlen);
}
