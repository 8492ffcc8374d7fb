/* port_flows.h - the stored TCP flows of one client endpoint (address and port) and the
 * replies to it, found through the endpoint-key index (store_client_port_sql_db(), the story's
 * hunt) and handed over in the order the daemon received them (received_ms, then first_ms):
 * what the connections rebuilt on request (conn_rebuild.c) and the analyzer's resume after a
 * restart (analyzer_resume.c) replay through the tracker. */
#ifndef FLOWHOUND_PORT_FLOWS_H
#define FLOWHOUND_PORT_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/flow.h"

/* Called with each flow; a nonzero return stops the reading (not an error). */
typedef int (*port_flow_fn)(void *ctx, const struct flow *f);

struct port_flows_req {
    struct fh_addr client;
    uint16_t cport;
    bool has_server; /* only the flows between the endpoint and server:sport */
    struct fh_addr server;
    int sport;              /* -1: any server port */
    int64_t from_ms, to_ms; /* flow time */
};

/* Reads the flows the request names on db (any connection to a flowhound store). 0, or -1
 * with a message in err (the SQLite error code is then sqlite3_errcode(db):
 * SQLITE_INTERRUPT when a progress handler stopped it). */
int port_flows_read(sqlite3 *db, const struct port_flows_req *q, port_flow_fn fn, void *ctx,
                    char *err, size_t errlen);

#endif
