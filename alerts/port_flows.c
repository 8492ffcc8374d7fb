/* port_flows.c - one client endpoint's stored flows in receive order (see the header). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "alerts/port_flows.h"
#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store.h"

static int fail(sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "reading the client port's flows: %s", sqlite3_errmsg(db));
    return -1;
}

/* Is this flow between the client endpoint and the requested server (if any)? */
static bool wanted(const struct port_flows_req *q, const struct flow *f)
{
    if (!q->has_server)
        return true;
    bool from = f->src_port == q->cport && addr_equal(&f->src_addr, &q->client);
    const struct fh_addr *peer = from ? &f->dst_addr : &f->src_addr;
    int pport = from ? f->dst_port : f->src_port;
    return addr_equal(peer, &q->server) && (q->sport < 0 || pport == q->sport);
}

int port_flows_read(sqlite3 *db, const struct port_flows_req *q, port_flow_fn fn, void *ctx,
                    char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;
    /* The SQL names partitions: if retention dropped one meanwhile, build it again (once). */
    for (int attempt = 0; attempt < 2 && rc != SQLITE_OK; attempt++) {
        char *hunt =
            store_client_port_sql_db(db, &q->client, q->cport, q->from_ms, q->to_ms, err, errlen);
        if (!hunt)
            return -1;
        char *sql = xasprintf("SELECT %s FROM (%s) WHERE proto = 6 ORDER BY received_ms, "
                              "first_ms, last_ms",
                              store_flow_read_columns, hunt);
        free(hunt);
        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        free(sql);
    }
    if (rc != SQLITE_OK)
        return fail(db, err, errlen);
    store_bind_hunt(st, &q->client, q->cport, q->from_ms, q->to_ms);
    struct flow f;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_row_to_flow(st, &f);
        if (wanted(q, &f) && fn(ctx, &f))
            break;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fail(db, err, errlen);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}
