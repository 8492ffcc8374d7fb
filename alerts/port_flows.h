/* port_flows.h - the stored TCP flows of one client endpoint (address and port) and the
 * replies to it, read through the query layer's hunt (query_hunt: the endpoint-key index of
 * a SQLite store, the sort key of a ClickHouse one) and handed over in the order the
 * collectors received them (received_ms, then first_ms): what the connections rebuilt on
 * request (conn_rebuild.c) and the analyzer's resume after a restart (analyzer_resume.c)
 * replay through the tracker, on either store. */
#ifndef FLOWHOUND_PORT_FLOWS_H
#define FLOWHOUND_PORT_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "query/query.h"

struct port_flows_req {
    struct fh_addr client;
    uint16_t cport;
    bool has_server; /* only the flows between the endpoint and server:sport */
    struct fh_addr server;
    int sport;              /* -1: any server port */
    int64_t from_ms, to_ms; /* flow time */
};

/* Reads the flows the request names from q's store; fn returns nonzero to stop (not an
 * error). 0, or a QUERY_E* code with a message in err (QUERY_ETIMEOUT: q's time limit). */
int port_flows_read(struct query *q, const struct port_flows_req *r, query_flow_fn fn, void *ctx,
                    char *err, size_t errlen);

#endif
