/* analyzer_evidence.c - what an alert says: the structured evidence (JSON, built with
 * jansson) and one plain-language sentence. Everything here is derived from flow records,
 * so the same flows give the same evidence live and in `flowhound analyze`. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/analyzer_int.h"
#include "common/addr.h"
#include "common/satmath.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

static void flags_str(uint16_t f, char *buf)
{
    static const struct {
        uint16_t bit;
        char c;
    } names[] = {{TH_SYN_, 'S'}, {TH_ACK_, 'A'}, {TH_PSH_, 'P'}, {TH_FIN_, 'F'},
                 {TH_RST_, 'R'}, {TH_URG_, 'U'}, {TH_ECE_, 'E'}, {TH_CWR_, 'C'}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (f & names[i].bit)
            buf[n++] = names[i].c;
    buf[n] = '\0';
}

static json_t *time_json(int64_t ms)
{
    char buf[40];
    return json_string(format_time_ms(ms, buf, sizeof(buf)));
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char k[64];
    snprintf(k, sizeof(k), "%s_ms", key);
    json_object_set_new(o, k, json_integer(ms));
    json_object_set_new(o, key, time_json(ms));
}

static json_t *dir_json(const struct conn_dir *d)
{
    if (!d->records)
        return json_null();
    char f[12];
    flags_str(d->flags, f);
    return json_pack("{s:I,s:I,s:s,s:i}", "packets", (json_int_t)clamp_i64(d->packets), "bytes",
                     (json_int_t)clamp_i64(d->bytes), "flags", f, "records", (int)d->records);
}

static const char *end_reason_name(uint8_t r)
{
    switch (r) {
    case END_IDLE_TIMEOUT:
        return "idle timeout";
    case END_ACTIVE_TIMEOUT:
        return "active timeout";
    case END_OF_FLOW:
        return "end of flow";
    case END_FORCED:
        return "forced end";
    case END_LACK_OF_RESOURCES:
        return "lack of resources";
    default:
        return "not exported";
    }
}

static json_t *viable_json(const struct conn_info *v, const struct an_exporter *ex)
{
    json_t *o = json_object();
    json_object_set_new(o, "exporter", json_string(ex[v->exporter].name));
    set_time(o, "start", v->start_ms);
    set_time(o, "end", v->end_ms);
    json_object_set_new(o, "duration_ms", json_integer(v->end_ms - v->start_ms));
    json_object_set_new(o, "state", json_string(conn_state_name(v->state)));
    uint8_t er = v->c.last_ms >= v->s.last_ms ? v->c.end_reason : v->s.end_reason;
    json_object_set_new(o, "end_reason", json_string(end_reason_name(er)));
    json_object_set_new(o, "client_to_server", dir_json(&v->c));
    json_object_set_new(o, "server_to_client", dir_json(&v->s));
    json_object_set_new(o, "closed", json_false());
    return o;
}

static const char *answer_name(uint8_t a)
{
    if (a & ANS_BARE_ACK)
        return "bare_ack";
    if (a & ANS_RST)
        return "rst";
    return "nothing";
}

static json_t *attempts_json(const struct an_episode *ep, const struct an_exporter *ex)
{
    json_t *o = json_object(), *by = json_array();
    json_object_set_new(o, "count", json_integer((json_int_t)an_episode_attempts(ep)));
    set_time(o, "first", ep->first_ms);
    set_time(o, "last", ep->last_ms);
    for (unsigned i = 0; i < ep->n_obs; i++) {
        const struct an_obs *ob = &ep->obs[i];
        json_t *e = json_object();
        json_object_set_new(e, "exporter", json_string(ex[ob->exporter].name));
        json_object_set_new(e, "syn_packets", json_integer(clamp_i64(an_obs_syn(ob))));
        json_object_set_new(e, "answer", json_string(answer_name(an_obs_answers(ob))));
        json_object_set_new(e, "answer_packets", json_integer(clamp_i64(an_obs_reply(ob))));
        json_object_set_new(e, "connections", json_integer(ob->conns));
        if (!addr_equal(&ob->client, &ep->client) || ob->cport != ep->cport) {
            char buf[FH_ADDR_STRLEN];
            json_object_set_new(e, "client_seen_as",
                                json_pack("{s:s,s:i}", "addr",
                                          addr_to_str(&ob->client, buf, sizeof(buf)), "port",
                                          (int)ob->cport));
        }
        set_time(e, "first", ob->first_ms);
        set_time(e, "last", ob->last_ms);
        json_array_append_new(by, e);
    }
    json_object_set_new(o, "by_exporter", by);
    return o;
}

static json_t *next_json(const struct an_episode *ep)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < ep->n_next; i++) {
        const struct an_next *n = &ep->next[i];
        json_t *o = json_pack("{s:i,s:s,s:b}", "client_port", (int)n->cport, "state",
                              conn_state_name(n->state), "worked", n->worked);
        set_time(o, "start", n->start_ms);
        json_array_append_new(a, o);
    }
    return a;
}

static const char *explanation(enum alert_holder h)
{
    switch (h) {
    case HOLDER_MIDDLEBOX:
        return "A connection from this client port ended without FIN or RST. A device between "
               "the vantage points (firewall, NAT or load balancer) still holds it as "
               "established and answers the client's new SYNs from the same port with ACKs "
               "of the old connection, so the SYNs never reach the server and the client "
               "cannot connect from this port until that state times out.";
    case HOLDER_SERVER:
        return "A connection from this client port ended without FIN or RST. The server "
               "still holds it as established and answers the client's new SYNs from the "
               "same port with ACKs of the old connection (RFC 5961 challenge ACKs), so the "
               "client cannot connect from this port until the server drops that state.";
    default:
        return "A connection from this client port ended without FIN or RST, and new "
               "connection attempts from the same port to the same server fail. Something on "
               "the path (a middlebox or the server) still holds the old connection.";
    }
}

static json_t *fixes_json(void)
{
    return json_pack("[s,s,s,s]",
                     "Find why the old connection ended without closure (client crash, tunnel "
                     "drop, NAT/VPN reconnect).",
                     "Align timers: the firewall/NAT idle timeout for TCP should exceed the "
                     "client's port reuse interval, or be shorter than the server's.",
                     "Enable TCP keepalive on the client and server so dead connections are "
                     "detected and removed (e.g. net.ipv4.tcp_keepalive_time).",
                     "Make the server time out idle connections; make the client pick another "
                     "source port, or send RST when its new SYN is answered by a bare ACK.");
}

static char *addr_s(const struct fh_addr *a)
{
    char buf[FH_ADDR_STRLEN];
    return xstrdup(addr_to_str(a, buf, sizeof(buf)));
}

void an_evidence_stale(struct an_episode *ep, const struct an_exporter *ex)
{
    struct alert *a = &ep->alert;
    json_t *o = json_object();
    json_object_set_new(o, "last_viable_connection", viable_json(&ep->viable, ex));
    set_time(o, "stale_since", ep->viable.end_ms);
    json_object_set_new(o, "failed_attempts", attempts_json(ep, ex));
    json_object_set_new(
        o, "holder", json_pack("{s:s,s:s}", "who", alert_holder_name(a->holder), "why", ep->why));
    json_object_set_new(o, "client_next", next_json(ep));
    if (ep->resolved_why)
        json_object_set_new(o, "resolved_because", json_string(ep->resolved_why));
    json_object_set_new(o, "explanation", json_string(explanation(a->holder)));
    json_object_set_new(o, "fixes", fixes_json());
    free(a->evidence_json);
    a->evidence_json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char *c = addr_s(&ep->client), *s = addr_s(&ep->server);
    free(a->summary);
    a->summary = xasprintf("Stale connection state: %llu SYN(s) from %s:%u to %s:%u failed "
                           "(answer: %s) after a connection ended without closure; holder: %s",
                           (unsigned long long)an_episode_attempts(ep), c, ep->cport, s, ep->sport,
                           ep->n_obs ? answer_name(an_obs_answers(&ep->obs[0])) : "nothing",
                           alert_holder_name(a->holder));
    free(c);
    free(s);
}

void an_evidence_exhaustion(struct an_xgroup *g)
{
    struct alert *a = &g->alert;
    json_t *o = json_object(), *ports = json_array(), *per = json_array();
    for (unsigned i = 0; i < g->n_ports; i++) {
        json_array_append_new(ports, json_integer(g->ports[i]));
        json_array_append_new(per, json_pack("{s:i,s:I,s:s}", "client_port", (int)g->ports[i],
                                             "attempts", (json_int_t)g->attempts[i], "holder",
                                             alert_holder_name(g->holders[i])));
    }
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "per_port", per);
    set_time(o, "first_attempt", g->first_ms);
    set_time(o, "last_attempt", g->last_ms);
    json_object_set_new(o, "explanation",
                        json_string("The client uses a small fixed range of source ports (as "
                                    "RFC 1179 LPD clients do with 721-731) and stale state "
                                    "blocks port after port: it can run out of ports."));
    json_object_set_new(o, "fixes", fixes_json());
    free(a->evidence_json);
    a->evidence_json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char *c = addr_s(&g->client), *s = addr_s(&g->server);
    free(a->summary);
    a->summary = xasprintf("Port exhaustion: %u source ports of %s (%u-%u) blocked by stale "
                           "state towards %s:%u",
                           g->n_ports, c, g->ports[0], g->ports[g->n_ports - 1], s, g->sport);
    free(c);
    free(s);
}
