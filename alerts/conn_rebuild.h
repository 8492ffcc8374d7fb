/* conn_rebuild.h - the connections of one client port, rebuilt on demand from the stored
 * flows with the analyzer's own tracker (alerts/conn.h).
 *
 * Connections are derived data: the daemon does not have to write them as flows arrive
 * (setting analyzer-connections, default no). The flows of the client endpoint and the
 * replies to it (with a server: only those to and from it) are read by port_flows.h, the
 * story's hunt, in the order they were received (received_ms, then first_ms), and fed
 * to a fresh tracker keyed per exporter (address/domain) as the analyzer keys them: TCP only,
 * sampled flows and flows dated in the future skipped, an RFC 5103 biflow as its two
 * directions, the tracker swept by each exporter's flow clock every second of receive time.
 * The result is what the analyzer would have stored for that port, as long as the
 * analyzer's table did not evict the entry.
 *
 * Bounded: at most CONN_REBUILD_MAX_FLOWS flows are read, at most CONN_REBUILD_MAX_CONNS
 * connections kept (both flagged in the result); the flows are read through the query layer
 * (port_flows_read, query_hunt), so the caller's time limit applies, on SQLite and ClickHouse
 * alike. */
#ifndef FLOWHOUND_CONN_REBUILD_H
#define FLOWHOUND_CONN_REBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alerts/conn.h"
#include "query/query.h"

#define CONN_REBUILD_MAX_FLOWS 1000000
#define CONN_REBUILD_MAX_CONNS 100000
#define CONN_EXPORTER_LEN      64

#define CONN_REBUILD_MAX_PORTS 64

struct conn_rebuild_req {
    struct fh_addr client;
    uint16_t cports[CONN_REBUILD_MAX_PORTS]; /* client ports (one hunt each) */
    size_t n_cports;
    bool has_server; /* only connections to server:sport */
    struct fh_addr server;
    int sport;              /* -1: any server port */
    int64_t from_ms, to_ms; /* connections that start in [from_ms, to_ms] (flow time) */
    /* Flows are read from margin_ms before from_ms (a connection starting at from_ms can be
     * preceded by the records that decide how it is split and oriented). */
    int64_t margin_ms;
    /* Flows ending more than this after their receipt are skipped, as the analyzer skips
     * them (its clock_skew_ms); 0: FLOW_CLOCK_SKEW_MS. */
    int64_t clock_skew_ms;
};

/* One rebuilt connection, and the exporter that saw it as "ADDRESS/DOMAIN" (the name the
 * analyzer gives it in the connections table). */
struct conn_row {
    struct conn_info ci;
    char exporter[CONN_EXPORTER_LEN];
};

struct conn_rebuild_result {
    struct conn_row *rows; /* ordered by start_ms, exporter, end_ms */
    size_t n;
    uint64_t flows; /* flows read */
    bool truncated; /* a bound was reached: rows may be missing */
};

/* Rebuilds the connections of req->client:req->cports[...] from the flows q reads (either
 * backend, through query_hunt, under q's time limit). Returns 0, or a QUERY_E* code with a
 * message in err (QUERY_ETIMEOUT: the time limit). */
int conn_rebuild(struct query *q, const struct conn_rebuild_req *req,
                 struct conn_rebuild_result *out, char *err, size_t errlen);
void conn_rebuild_free(struct conn_rebuild_result *r);

/* The same row as the connections table would hold it, as a JSON object with the table's
 * column names (id = the given number); NULLs for a direction not seen. */
json_t *conn_row_json(const struct conn_row *r, int64_t id);

#endif
