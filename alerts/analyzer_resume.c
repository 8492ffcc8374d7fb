/* analyzer_resume.c - the open alerts of an earlier run go on after a restart (see
 * analyzer_resume() in analyzer.h).
 *
 * The analyzer keeps its connections and episodes in memory only. Rather than a second,
 * stored copy of that state, which would have to be written with every flow, it is rebuilt
 * from what the store holds anyway: the flows of the open alerts' client ports, read as
 * conn_rebuild.c reads them and replayed through the same code, in the order they were
 * received, so the replay decides what the earlier run decided. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alerts/alert_store.h"
#include "alerts/analyzer_int.h"
#include "alerts/port_flows.h"
#include "common/xmalloc.h"

/* Bounds: a few open alerts are the usual case; a flood of them must not stall the start. */
#define RESUME_MAX_PORTS 1024
#define RESUME_MAX_FLOWS 200000
/* As a rebuild on request: flows from an hour before, so the first connections split as they
 * did live. */
#define RESUME_MARGIN_MS (3600 * 1000LL)

/* A flow and the order it was read in: ties of receive time keep the stored order. */
struct replay_flow {
    struct flow f;
    size_t seq;
};

struct replay {
    struct replay_flow *rf;
    size_t n, cap;
};

static int keep_flow(void *ctx, const struct flow *f)
{
    struct replay *r = ctx;
    if (r->n == RESUME_MAX_FLOWS)
        return 1;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->rf = xreallocarray(r->rf, r->cap, sizeof(*r->rf));
    }
    r->rf[r->n].f = *f;
    r->rf[r->n].seq = r->n;
    r->n++;
    return 0;
}

static int by_receive(const void *x, const void *y)
{
    const struct replay_flow *a = x, *b = y;
    if (a->f.received_ms != b->f.received_ms)
        return a->f.received_ms < b->f.received_ms ? -1 : 1;
    if (a->f.first_ms != b->f.first_ms)
        return a->f.first_ms < b->f.first_ms ? -1 : 1;
    if (a->f.last_ms != b->f.last_ms)
        return a->f.last_ms < b->f.last_ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The flows of every port to replay, in the order the daemon received them. */
static int read_ports(struct analyzer *a, struct query *flows, const struct alert_port *ports,
                      size_t n, struct replay *r, char *err, size_t errlen)
{
    int64_t back = an_opts(a)->stale_window_ms + RESUME_MARGIN_MS;
    for (size_t i = 0; i < n && i < RESUME_MAX_PORTS; i++) {
        const struct alert_port *p = &ports[i];
        struct port_flows_req q = {.client = p->client,
                                   .cport = p->cport,
                                   .has_server = true,
                                   .server = p->server,
                                   .sport = p->sport,
                                   .from_ms = p->from_ms - back,
                                   .to_ms = INT64_MAX};
        if (port_flows_read(flows, &q, keep_flow, r, err, errlen))
            return -1;
    }
    if (r->n > 1)
        qsort(r->rf, r->n, sizeof(*r->rf), by_receive);
    return 0;
}

int analyzer_resume(struct analyzer *a, struct query *flows, size_t *resumed, size_t *open,
                    char *err, size_t errlen)
{
    *resumed = *open = 0;
    if (!an_store(a))
        return 0;
    sqlite3 *db = store_sqlite(an_store(a));
    struct alert *alerts = NULL;
    struct alert_port *ports = NULL;
    size_t n_ports = 0;
    struct replay r = {0};
    int rc = alert_store_open_alerts(db, &alerts, open, err, errlen);
    if (rc == 0 && *open)
        rc = alert_store_open_ports(db, &ports, &n_ports, err, errlen);
    if (rc == 0 && *open)
        rc = read_ports(a, flows, ports, n_ports, &r, err, errlen) ? -1 : 0;
    if (rc == 0 && *open) {
        an_replay_begin(a);
        for (size_t i = 0; i < r.n; i++)
            analyzer_consume(a, &r.rf[i].f, 1);
        *resumed = an_replay_end(a, alerts, *open);
    }
    free(r.rf);
    free(ports);
    free(alerts);
    return rc;
}
