/* conn_rebuild.c - a client port's connections rebuilt from the stored flows (see the
 * header for what is read, in which order, and the bounds). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/conn_rebuild.h"
#include "alerts/port_flows.h"
#include "common/addr.h"
#include "common/flowlimits.h"
#include "common/satmath.h"
#include "common/xmalloc.h"

/* As the analyzer: the tracker is swept every second of receive time. */
#define SWEEP_MS      1000
#define MAX_EXPORTERS 4096
/* One endpoint talks to few servers: a small table (the pool is touched only as used). */
#define REBUILD_CAP 65536

struct exp {
    struct fh_addr addr;
    uint32_t domain;
};

struct rebuild {
    const struct conn_rebuild_req *req;
    uint16_t cport; /* the port being rebuilt */
    struct conn_tracker *ct;
    struct exp *ex;
    int64_t *clocks;
    size_t n_ex;
    struct conn_row *rows;
    size_t n, cap;
    bool truncated;
    uint64_t flows_read;
    int64_t last_sweep;
};

static uint32_t exporter_index(struct rebuild *b, const struct flow *f)
{
    for (size_t i = b->n_ex; i-- > 0;)
        if (b->ex[i].domain == f->domain && addr_equal(&b->ex[i].addr, &f->exporter))
            return (uint32_t)i;
    if (b->n_ex == MAX_EXPORTERS)
        return MAX_EXPORTERS;
    b->ex[b->n_ex].addr = f->exporter;
    b->ex[b->n_ex].domain = f->domain;
    b->clocks[b->n_ex] = INT64_MIN;
    return (uint32_t)b->n_ex++;
}

/* A finished connection: kept when it is the requested client port's, in the range. */
static void on_done(void *ctx, struct conn_entry *e, const struct conn_info *ci)
{
    (void)e;
    struct rebuild *b = ctx;
    const struct conn_rebuild_req *q = b->req;
    if (ci->cport != b->cport || !addr_equal(&ci->client, &q->client) ||
        ci->start_ms < q->from_ms || ci->start_ms > q->to_ms || ci->exporter >= b->n_ex)
        return;
    if (b->n == CONN_REBUILD_MAX_CONNS) {
        b->truncated = true;
        return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->rows = xreallocarray(b->rows, b->cap, sizeof(*b->rows));
    }
    struct conn_row *r = &b->rows[b->n++];
    r->ci = *ci;
    char buf[FH_ADDR_STRLEN];
    const struct exp *x = &b->ex[ci->exporter];
    snprintf(r->exporter, sizeof(r->exporter), "%s/%u", addr_to_str(&x->addr, buf, sizeof(buf)),
             x->domain);
}

/* Feeds one stored record as analyzer_consume() does. */
static void feed(struct rebuild *b, const struct flow *f, int64_t *last_sweep)
{
    int64_t skew = b->req->clock_skew_ms > 0 ? b->req->clock_skew_ms : FLOW_CLOCK_SKEW_MS;
    if (!conn_flow_tracked(f) || flow_from_future(f, skew))
        return;
    uint32_t x = exporter_index(b, f);
    if (x >= MAX_EXPORTERS)
        return;
    if (f->received_ms - *last_sweep >= SWEEP_MS) {
        /* Live, the exporter's clock moves with all its traffic; here only this port's flows
         * are read: a record started at first_ms tells the clock had reached that much. */
        if (f->first_ms > b->clocks[x])
            b->clocks[x] = f->first_ms;
        conn_tracker_sweep(b->ct, b->clocks, b->n_ex);
        *last_sweep = f->received_ms;
    }
    if (f->last_ms > b->clocks[x])
        b->clocks[x] = f->last_ms;
    conn_tracker_add_record(b->ct, x, f);
}

/* One flow of the client port (port_flows_read: TCP, in receive order). */
static int take_flow(void *arg, const struct flow *f)
{
    struct rebuild *b = arg;
    if (b->flows_read == CONN_REBUILD_MAX_FLOWS) {
        b->truncated = true;
        return 1;
    }
    b->flows_read++;
    feed(b, f, &b->last_sweep);
    return 0;
}

static int read_flows(struct query *q, struct rebuild *b, char *err, size_t errlen)
{
    const struct conn_rebuild_req *r = b->req;
    int64_t margin = r->margin_ms > 0 ? r->margin_ms : 0;
    struct port_flows_req pq = {.client = r->client,
                                .cport = b->cport,
                                .has_server = r->has_server,
                                .server = r->server,
                                .sport = r->sport,
                                .from_ms = r->from_ms < INT64_MIN + margin ? INT64_MIN
                                                                           : r->from_ms - margin,
                                .to_ms = r->to_ms};
    b->last_sweep = INT64_MIN / 2;
    return port_flows_read(q, &pq, take_flow, b, err, errlen);
}

static int row_cmp(const void *x, const void *y)
{
    const struct conn_row *a = x, *b = y;
    if (a->ci.start_ms != b->ci.start_ms)
        return a->ci.start_ms < b->ci.start_ms ? -1 : 1;
    int c = strcmp(a->exporter, b->exporter);
    if (c)
        return c;
    if (a->ci.end_ms != b->ci.end_ms)
        return a->ci.end_ms < b->ci.end_ms ? -1 : 1;
    c = addr_cmp(&a->ci.server, &b->ci.server);
    return c ? c : (int)a->ci.sport - (int)b->ci.sport;
}

int conn_rebuild(struct query *q, const struct conn_rebuild_req *req,
                 struct conn_rebuild_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct rebuild b = {.req = req};
    struct conn_tracker_opts o = {.cap = REBUILD_CAP};
    struct conn_events ev = {.done = on_done, .ctx = &b};
    b.ex = xcalloc(MAX_EXPORTERS, sizeof(*b.ex));
    b.clocks = xcalloc(MAX_EXPORTERS, sizeof(*b.clocks));
    int rc = 0;
    for (size_t i = 0; i < req->n_cports && i < CONN_REBUILD_MAX_PORTS && rc == 0; i++) {
        /* a fresh tracker and clocks per port, as if only that port's flows existed */
        b.cport = req->cports[i];
        for (size_t x = 0; x < b.n_ex; x++)
            b.clocks[x] = INT64_MIN;
        b.ct = conn_tracker_new(&o, &ev);
        rc = read_flows(q, &b, err, errlen);
        if (rc == 0)
            conn_tracker_flush(b.ct); /* the connections still open are reported too */
        conn_tracker_free(b.ct);
    }
    free(b.ex);
    free(b.clocks);
    out->flows = b.flows_read;
    if (rc) {
        free(b.rows);
        return rc;
    }
    if (b.n > 1)
        qsort(b.rows, b.n, sizeof(*b.rows), row_cmp);
    out->rows = b.rows;
    out->n = b.n;
    out->truncated = b.truncated;
    return 0;
}

void conn_rebuild_free(struct conn_rebuild_result *r)
{
    free(r->rows);
    memset(r, 0, sizeof(*r));
}

/* A direction's columns, NULL when that direction was not seen (as the table stores it). */
static void dir_json(json_t *o, const char *prefix, const struct conn_dir *d)
{
    char k[16];
    snprintf(k, sizeof(k), "%s_packets", prefix);
    json_object_set_new(o, k, d->records ? json_integer(clamp_i64(d->packets)) : json_null());
    snprintf(k, sizeof(k), "%s_bytes", prefix);
    json_object_set_new(o, k, d->records ? json_integer(clamp_i64(d->bytes)) : json_null());
    snprintf(k, sizeof(k), "%s_flags", prefix);
    json_object_set_new(o, k, d->records ? json_integer(d->flags) : json_null());
}

json_t *conn_row_json(const struct conn_row *r, int64_t id)
{
    const struct conn_info *ci = &r->ci;
    char c[FH_ADDR_STRLEN], s[FH_ADDR_STRLEN];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "exporter", json_string(r->exporter));
    json_object_set_new(o, "client_addr", json_string(addr_to_str(&ci->client, c, sizeof(c))));
    json_object_set_new(o, "client_port", json_integer(ci->cport));
    json_object_set_new(o, "server_addr", json_string(addr_to_str(&ci->server, s, sizeof(s))));
    json_object_set_new(o, "server_port", json_integer(ci->sport));
    json_object_set_new(o, "start_ms", json_integer(ci->start_ms));
    json_object_set_new(o, "end_ms", json_integer(ci->end_ms));
    json_object_set_new(o, "state", json_string(conn_state_name(ci->state)));
    json_object_set_new(o, "role_rule", json_string(conn_role_rule_name(ci->rule)));
    dir_json(o, "c", &ci->c);
    dir_json(o, "s", &ci->s);
    uint8_t er = ci->c.last_ms >= ci->s.last_ms ? ci->c.end_reason : ci->s.end_reason;
    json_object_set_new(o, "end_reason", er ? json_integer(er) : json_null());
    json_object_set_new(o, "records", json_integer(ci->records));
    return o;
}
