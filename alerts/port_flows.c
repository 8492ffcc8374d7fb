/* port_flows.c - one client endpoint's stored flows in receive order (see the header). */
#include "config.h"

#include "alerts/port_flows.h"
#include "common/addr.h"

struct reader {
    const struct port_flows_req *r;
    query_flow_fn fn;
    void *ctx;
};

/* Is this flow between the client endpoint and the requested server (if any)? */
static bool wanted(const struct port_flows_req *r, const struct flow *f)
{
    if (!r->has_server)
        return true;
    bool from = f->src_port == r->cport && addr_equal(&f->src_addr, &r->client);
    const struct fh_addr *peer = from ? &f->dst_addr : &f->src_addr;
    int pport = from ? f->dst_port : f->src_port;
    return addr_equal(peer, &r->server) && (r->sport < 0 || pport == r->sport);
}

static int take(void *ctx, const struct flow *f)
{
    struct reader *rd = ctx;
    return wanted(rd->r, f) ? rd->fn(rd->ctx, f) : 0;
}

int port_flows_read(struct query *q, const struct port_flows_req *r, query_flow_fn fn, void *ctx,
                    char *err, size_t errlen)
{
    struct query_hunt h = {
        .addr = r->client, .port = r->cport, .from_ms = r->from_ms, .to_ms = r->to_ms, .proto = 6};
    struct reader rd = {r, fn, ctx};
    return query_hunt(q, &h, take, &rd, err, errlen);
}
