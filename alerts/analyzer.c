/* analyzer.c - stale-state detection over rebuilt connections, and the alert lifecycle.
 *
 * An episode is the failure of one (client, client port, server, server port): it starts
 * with a failed attempt (SYN never ACKed by the client, answered by a bare ACK or by
 * nothing) that follows, on the same exporter, an established connection of the same
 * 5-tuple that ended without FIN or RST less than stale-window before. Other exporters'
 * views of the same attempts join the episode. The episode becomes an alert hold-ms (receive
 * time) after its first attempt arrived, when the vantage points have had time to report.
 * It is updated while attempts continue and resolved when the port connects again or after
 * quiet-ms (flow time) without attempts. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alert_store.h"
#include "alerts/analyzer_int.h"
#include "common/addr.h"
#include "common/flowlimits.h"
#include "common/satmath.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define MAX_EXPORTERS 4096
#define MAX_EPISODES  1024
#define MAX_XGROUPS   64
#define MAX_SINKS     8
#define RECENT        256 /* recent connections remembered for "what the client did next" */
#define SWEEP_MS      1000
#define TWINS         8192 /* unclosed connections remembered for NAT correlation */
#define TWIN_TOL_MS   1000 /* the same connection at two vantage points: starts within */
#define TWIN_DUR_MS   20   /* ... and durations within (clock offsets cancel out) */

struct recent {
    struct fh_addr client, server;
    uint16_t cport, sport;
    int64_t start_ms;
    enum conn_state state;
    bool worked;
};

/* An unclosed established connection as one exporter saw it: to recognise the same
 * connection at another vantage point behind NAT (other client address or port). */
struct twin {
    uint32_t exporter;
    struct fh_addr server;
    uint16_t sport;
    int64_t start_ms, end_ms;
    uint64_t c_packets, s_packets, c_bytes, s_bytes;
};

/* An event waiting for its transaction's commit before the sinks hear of it. */
struct pending_event {
    enum alert_event ev;
    struct alert a; /* a copy (own strings) */
    int64_t event_id;
    bool written; /* in the writer's open transaction; false: to write in the next one */
};

struct analyzer {
    struct analyzer_opts o;
    char **vantage; /* o.vantage_inner: the analyzer's own copies */
    struct store *store;
    struct alert_store *as;
    struct conn_tracker *ct;
    struct an_exporter *ex;
    int64_t *clocks; /* per exporter: largest last_ms reported */
    size_t n_ex;
    struct an_episode *eps;
    uint16_t *active; /* indices of PENDING and OPEN episodes: loops run over these only */
    size_t n_active;
    struct an_xgroup *groups;
    struct recent recent[RECENT];
    struct twin *twins;
    unsigned twin_next;
    unsigned recent_next;
    struct alert_sink sinks[MAX_SINKS];
    unsigned n_sinks;
    struct pending_event *pend; /* events not yet committed, in the order they happened */
    size_t n_pend, cap_pend;
    int64_t next_id; /* the next alert's id */
    int64_t recv_clock, last_sweep;
    uint64_t ep_seq;
    struct analyzer_stats st;
    /* st as of the end of the last consume or tick, for other threads (the metrics) */
    pthread_mutex_t pub_lock;
    struct analyzer_stats pub;
    bool replaying;                   /* analyzer_resume(): decide, emit nothing */
    struct analyzer_stats replay_was; /* the counters before the replay */
    char err[256];
};

static void set_vantage(struct analyzer *a, const char *const *specs, size_t n);

void analyzer_opts_default(struct analyzer_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->stale_window_ms = 24 * 3600 * 1000LL;
    o->quiet_ms = 3600 * 1000LL;
    o->hold_ms = 2000;
    o->linger_ms = 120 * 1000;
    o->max_conns = 1u << 18; /* about 100 MB at 384 bytes each (conn_entry_size) */
    o->attempt_max_packets = 16;
    o->exhaustion_min_ports = 3;
    o->exhaustion_max_span = 16;
    o->store_connections = false; /* derived data: alerts/conn_rebuild.h rebuilds them */
    o->clock_skew_ms = FLOW_CLOCK_SKEW_MS;
}

/* ---- exporters and vantage specs ---- */

static bool spec_parse(const char *spec, struct fh_addr *addr, bool *any_addr, long *domain)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *slash = strrchr(buf, '/');
    *domain = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        *domain = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || *domain < 0)
            return false;
    }
    *any_addr = !strcmp(buf, "*");
    if (*any_addr)
        return *domain >= 0;
    return addr_from_str(buf, addr);
}

bool analyzer_vantage_spec_ok(const char *spec)
{
    struct fh_addr a;
    bool any;
    long d;
    return strlen(spec) < 128 && spec_parse(spec, &a, &any, &d);
}

static bool spec_matches(const char *spec, const struct an_exporter *e)
{
    struct fh_addr a;
    bool any;
    long d;
    if (!spec_parse(spec, &a, &any, &d))
        return false;
    if (d >= 0 && (uint32_t)d != e->domain)
        return false;
    return any || addr_equal(&a, &e->addr);
}

static uint32_t exporter_index(struct analyzer *a, const struct flow *f)
{
    for (size_t i = a->n_ex; i-- > 0;)
        if (a->ex[i].domain == f->domain && addr_equal(&a->ex[i].addr, &f->exporter))
            return (uint32_t)i;
    if (a->n_ex == MAX_EXPORTERS)
        return MAX_EXPORTERS; /* beyond the table: not analysed */
    struct an_exporter *e = &a->ex[a->n_ex];
    memset(e, 0, sizeof(*e));
    e->addr = f->exporter;
    e->domain = f->domain;
    char buf[FH_ADDR_STRLEN];
    snprintf(e->name, sizeof(e->name), "%s/%u", addr_to_str(&f->exporter, buf, sizeof(buf)),
             f->domain);
    for (size_t i = 0; i < a->o.n_vantage_inner; i++)
        if (spec_matches(a->o.vantage_inner[i], e))
            e->inner = true;
    a->clocks[a->n_ex] = INT64_MIN;
    return (uint32_t)a->n_ex++;
}

static void recent_scan(struct analyzer *a, struct an_episode *ep);

/* ---- obs helpers ---- */

uint64_t an_obs_syn(const struct an_obs *o)
{
    return o->syn_acc + o->cur_syn;
}

uint64_t an_obs_reply(const struct an_obs *o)
{
    return o->reply_acc + o->cur_reply;
}

uint8_t an_obs_answers(const struct an_obs *o)
{
    return o->answers_acc | o->cur_answer;
}

uint64_t an_episode_attempts(const struct an_episode *ep)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < ep->n_obs; i++)
        if (an_obs_syn(&ep->obs[i]) > m)
            m = an_obs_syn(&ep->obs[i]);
    return m;
}

/* ---- active episodes ---- */

#define FOR_ACTIVE(a, ep)                                                                          \
    for (size_t k_ = (a)->n_active; k_-- > 0 && ((ep) = &(a)->eps[(a)->active[k_]], 1);)

static void ep_activate(struct analyzer *a, struct an_episode *ep)
{
    a->active[a->n_active++] = (uint16_t)(ep - a->eps);
}

static void ep_deactivate(struct analyzer *a, struct an_episode *ep)
{
    uint16_t idx = (uint16_t)(ep - a->eps);
    for (size_t k = 0; k < a->n_active; k++)
        if (a->active[k] == idx) {
            a->active[k] = a->active[--a->n_active];
            return;
        }
}

/* ---- persistence and sinks ---- */

static void copy_alert(struct alert *dst, const struct alert *src)
{
    *dst = *src;
    dst->summary = src->summary ? xstrdup(src->summary) : NULL;
    dst->evidence_json = src->evidence_json ? xstrdup(src->evidence_json) : NULL;
}

static void notify(struct analyzer *a, enum alert_event ev, const struct alert *al, int64_t id)
{
    for (unsigned i = 0; i < a->n_sinks; i++)
        a->sinks[i].on_event(a->sinks[i].ctx, ev, al, id);
}

/* Writes the events not yet in the store, inside the writer's open transaction (while the
 * store fails there is none: they wait for the next). A failed write is counted and not
 * tried again unless its transaction rolls back; its sinks are still called. */
static void write_pending(struct analyzer *a)
{
    if (!a->as || !store_in_transaction(a->store))
        return;
    for (size_t i = 0; i < a->n_pend; i++) {
        struct pending_event *p = &a->pend[i];
        if (p->written)
            continue;
        char err[256];
        if (alert_store_put(a->as, &p->a, p->ev, now_ms(), &p->event_id, err, sizeof(err))) {
            snprintf(a->err, sizeof(a->err), "%s", err);
            a->st.store_errors++;
        }
        p->written = true;
    }
}

/* The events written so far are committed: the sinks hear of them, in order. */
void analyzer_committed(struct analyzer *a)
{
    size_t keep = 0;
    for (size_t i = 0; i < a->n_pend; i++) {
        struct pending_event *p = &a->pend[i];
        if (!p->written) {
            a->pend[keep++] = *p;
            continue;
        }
        notify(a, p->ev, &p->a, p->event_id);
        alert_free_fields(&p->a);
    }
    a->n_pend = keep;
}

/* The transaction they were written in is gone: write them again in the next one. */
void analyzer_rolled_back(struct analyzer *a)
{
    for (size_t i = 0; i < a->n_pend; i++)
        a->pend[i].written = false;
}

static void fill_stats(const struct analyzer *a, struct analyzer_stats *st)
{
    *st = a->st;
    st->conns_tracked = conn_tracker_count(a->ct);
    st->conn_cap = a->o.max_conns;
    st->conn_evictions = conn_tracker_evictions(a->ct);
    st->conn_expired = conn_tracker_expired(a->ct);
    st->bytes_per_conn = conn_entry_size();
    st->stale_window_ms = a->o.stale_window_ms;
    st->quiet_ms = a->o.quiet_ms;
    st->hold_ms = a->o.hold_ms;
}

/* Without a store, nothing waits for a commit. The statistics are published for readers in
 * other threads. */
static void end(struct analyzer *a)
{
    if (!a->store)
        analyzer_committed(a);
    struct analyzer_stats st;
    fill_stats(a, &st);
    pthread_mutex_lock(&a->pub_lock);
    a->pub = st;
    pthread_mutex_unlock(&a->pub_lock);
}

static void emit(struct analyzer *a, struct alert *al, enum alert_event ev)
{
    if (a->replaying)
        return; /* the store has these events already (analyzer_resume) */
    if (ev == ALERT_EV_OPENED)
        a->st.alerts_opened++;
    else if (ev == ALERT_EV_UPDATED)
        a->st.alerts_updated++;
    else
        a->st.alerts_resolved++;
    if (al->id == 0)
        al->id = a->next_id++;
    if (a->n_pend == a->cap_pend) {
        a->cap_pend = a->cap_pend ? a->cap_pend * 2 : 16;
        a->pend = xreallocarray(a->pend, a->cap_pend, sizeof(*a->pend));
    }
    struct pending_event *p = &a->pend[a->n_pend++];
    p->ev = ev;
    p->event_id = 0;
    p->written = !a->as;
    copy_alert(&p->a, al);
    write_pending(a);
}

/* ---- who holds the state ---- */

/* Did exporter x see the viable connection (an unclosed established one before the
 * attempts)? Then it is on the path of this traffic. */
static bool viable_before(const struct analyzer *a, const struct conn_info *v, int64_t t)
{
    return conn_unclosed(v) && v->end_ms < t && t - v->end_ms <= a->o.stale_window_ms;
}

static void twin_of(const struct conn_info *ci, struct twin *t)
{
    memset(t, 0, sizeof(*t));
    t->exporter = ci->exporter;
    t->server = ci->server;
    t->sport = ci->sport;
    t->start_ms = ci->start_ms;
    t->end_ms = ci->end_ms;
    t->c_packets = ci->c.packets;
    t->s_packets = ci->s.packets;
    t->c_bytes = ci->c.bytes;
    t->s_bytes = ci->s.bytes;
}

static void twin_note(struct analyzer *a, const struct conn_info *ci)
{
    struct twin *prev = &a->twins[(a->twin_next + TWINS - 1) % TWINS];
    struct twin *t = &a->twins[a->twin_next];
    if (prev->exporter == ci->exporter && prev->start_ms == ci->start_ms &&
        prev->sport == ci->sport && addr_equal(&prev->server, &ci->server))
        t = prev; /* the same connection, updated by its other direction */
    else
        a->twin_next = (a->twin_next + 1) % TWINS;
    twin_of(ci, t);
}

/* The same connection seen at two places: NAT changes addresses and ports, not the server
 * side, packet or byte counts; exporters' clocks may differ by up to a second (v9 headers
 * carry whole seconds), but that offset cancels out of the duration. */
static bool twin_match(const struct twin *t, const struct conn_info *v)
{
    return t->sport == v->sport && t->c_packets == v->c.packets && t->s_packets == v->s.packets &&
           t->c_bytes == v->c.bytes && t->s_bytes == v->s.bytes &&
           addr_equal(&t->server, &v->server) && llabs(t->start_ms - v->start_ms) <= TWIN_TOL_MS &&
           llabs((t->end_ms - t->start_ms) - (v->end_ms - v->start_ms)) <= TWIN_DUR_MS;
}

static bool saw_viable(struct analyzer *a, const struct an_episode *ep, uint32_t x)
{
    struct conn_entry *e =
        conn_tracker_find(a->ct, x, &ep->client, ep->cport, &ep->server, ep->sport);
    if (!e)
        return false;
    struct conn_info last;
    if (conn_entry_last_established(e, &last) && viable_before(a, &last, ep->first_ms))
        return true;
    struct conn_info cur; /* still the current connection: nothing came after it there */
    conn_entry_current(e, &cur);
    return viable_before(a, &cur, ep->first_ms);
}

static bool in_list(const uint32_t *list, unsigned n, uint32_t x)
{
    for (unsigned i = 0; i < n; i++)
        if (list[i] == x)
            return true;
    return false;
}

/* Adds the exporters that saw the old connection under another client address or port (NAT):
 * one pass over the remembered unclosed connections; an exporter with two candidates is
 * ambiguous and not added. */
static void add_twin_exporters(const struct analyzer *a, const struct an_episode *ep,
                               uint32_t *path, unsigned *n, unsigned max)
{
    const struct conn_info *v = &ep->viable;
    uint32_t cand[AN_MAX_OBS * 2];
    unsigned count[AN_MAX_OBS * 2], nc = 0;
    for (unsigned i = 0; i < TWINS; i++) {
        const struct twin *t = &a->twins[i];
        if (!t->start_ms || t->exporter == v->exporter || !twin_match(t, v) ||
            in_list(path, *n, t->exporter))
            continue;
        unsigned k = 0;
        while (k < nc && cand[k] != t->exporter)
            k++;
        if (k == nc) {
            if (nc == AN_MAX_OBS * 2)
                continue;
            cand[nc] = t->exporter, count[nc++] = 0;
        }
        count[k]++;
    }
    for (unsigned k = 0; k < nc && *n < max; k++)
        if (count[k] == 1)
            path[(*n)++] = cand[k];
}

static const struct an_obs *obs_of(const struct an_episode *ep, uint32_t x)
{
    for (unsigned i = 0; i < ep->n_obs; i++)
        if (ep->obs[i].exporter == x)
            return &ep->obs[i];
    return NULL;
}

/* An exporter on the server side of the middleboxes (vantage-inner) that saw the SYNs and
 * the bare ACKs answering them: the SYNs got past every middlebox, so the answer came from
 * the server's side, whatever the vantage points before it saw (their records of the
 * attempts may be lost, or the answers may take another way back). Says so in ep->why. */
static bool inner_saw_server_answer(const struct analyzer *a, struct an_episode *ep,
                                    const uint32_t *path, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct an_exporter *x = &a->ex[path[i]];
        const struct an_obs *o = obs_of(ep, path[i]);
        if (!x->inner || !o || !an_obs_syn(o) || !(an_obs_answers(o) & ANS_BARE_ACK))
            continue;
        char who[AN_EXPORTER_LEN + 32];
        snprintf(who, sizeof(who), n == 1 ? "the only vantage point, %s," : "%s", x->name);
        snprintf(ep->why, sizeof(ep->why),
                 "%s is on the server side of the middleboxes (vantage-inner) and saw the SYNs "
                 "arrive and bare ACKs answer them: the SYNs got past every middlebox, so the "
                 "server still holds the old connection",
                 who);
        return true;
    }
    return false;
}

/* Did every vantage point on the path see the SYNs and bare ACKs answering them? */
static bool all_saw_answer(const struct an_episode *ep, const uint32_t *path, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct an_obs *o = obs_of(ep, path[i]);
        if (!o || !(an_obs_answers(o) & ANS_BARE_ACK) || !an_obs_syn(o))
            return false;
    }
    return true;
}

/* x saw the answer; y, also on the path, saw no SYN or no answer: it came from between. */
static bool between_two(const struct analyzer *a, struct an_episode *ep, const uint32_t *path,
                        unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            const struct an_obs *ox = obs_of(ep, path[i]), *oy = obs_of(ep, path[j]);
            bool x_ack = ox && (an_obs_answers(ox) & ANS_BARE_ACK) && an_obs_syn(ox);
            bool x_syn = ox && an_obs_syn(ox);
            bool y_syn = oy && an_obs_syn(oy);
            bool y_ack = oy && (an_obs_answers(oy) & ANS_BARE_ACK);
            if (i == j || !x_syn || (y_syn && y_ack) || (y_syn && !x_ack))
                continue;
            snprintf(ep->why, sizeof(ep->why),
                     "%s saw the SYNs %s; %s, which saw the old connection, saw %s: the device "
                     "between them %s",
                     a->ex[path[i]].name, x_ack ? "answered by bare ACKs" : "unanswered",
                     a->ex[path[j]].name, y_syn ? "the SYNs but not the answers" : "no SYN",
                     x_ack ? "answered" : "dropped them");
            return true;
        }
    return false;
}

static enum alert_holder decide_holder(struct analyzer *a, struct an_episode *ep)
{
    uint32_t path[AN_MAX_OBS * 2];
    unsigned n = 0;
    for (uint32_t x = 0; x < a->n_ex && n < AN_MAX_OBS * 2; x++)
        if (obs_of(ep, x) || saw_viable(a, ep, x))
            path[n++] = x;
    add_twin_exporters(a, ep, path, &n, AN_MAX_OBS * 2);
    if (n == 0) {
        snprintf(ep->why, sizeof(ep->why), "no vantage point is known for this traffic");
        return HOLDER_UNKNOWN;
    }
    if (n > 1 && all_saw_answer(ep, path, n)) {
        snprintf(ep->why, sizeof(ep->why),
                 "every vantage point on the path (%u) saw the SYNs and the bare ACK answers: "
                 "they come from the server's side",
                 n);
        return HOLDER_SERVER;
    }
    if (inner_saw_server_answer(a, ep, path, n))
        return HOLDER_SERVER;
    if (n == 1) {
        snprintf(ep->why, sizeof(ep->why),
                 "only one vantage point (%s) saw this traffic: a middlebox and the server "
                 "look the same from one place",
                 a->ex[path[0]].name);
        return HOLDER_UNKNOWN;
    }
    if (between_two(a, ep, path, n))
        return HOLDER_MIDDLEBOX;
    bool any_ack = false;
    for (unsigned i = 0; i < n; i++) {
        const struct an_obs *o = obs_of(ep, path[i]);
        any_ack = any_ack || (o && (an_obs_answers(o) & ANS_BARE_ACK));
    }
    snprintf(ep->why, sizeof(ep->why), "%s",
             any_ack ? "the vantage points disagree in a way that names no single place"
                     : "nothing answered the SYNs at any vantage point");
    return HOLDER_UNKNOWN;
}

/* ---- port exhaustion ---- */

static bool same_client_server(const struct fh_addr *c1, const struct fh_addr *s1, uint16_t p1,
                               const struct fh_addr *c2, const struct fh_addr *s2, uint16_t p2)
{
    return p1 == p2 && addr_equal(c1, c2) && addr_equal(s1, s2);
}

static struct an_xgroup *xgroup_for(struct analyzer *a, const struct an_episode *ep)
{
    struct an_xgroup *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < MAX_XGROUPS; i++) {
        struct an_xgroup *g = &a->groups[i];
        if (!g->used) {
            free_slot = free_slot ? free_slot : g;
            continue;
        }
        if (!g->resolved && same_client_server(&g->client, &g->server, g->sport, &ep->client,
                                               &ep->server, ep->sport))
            return g;
        if (g->resolved && (!oldest || g->last_ms < oldest->last_ms))
            oldest = g;
    }
    struct an_xgroup *g = free_slot ? free_slot : oldest;
    if (!g)
        return NULL;
    alert_free_fields(&g->alert);
    memset(g, 0, sizeof(*g));
    g->used = true;
    g->client = ep->client;
    g->server = ep->server;
    g->sport = ep->sport;
    g->first_ms = ep->first_ms;
    return g;
}

static void xgroup_flush(struct analyzer *a, struct an_xgroup *g);

/* Flushed at once, right after the episode that changed it: the alert's id and events then
 * come in the same order live and in `flowhound analyze`. */
static void xgroup_add(struct analyzer *a, const struct an_episode *ep)
{
    struct an_xgroup *g = xgroup_for(a, ep);
    if (!g)
        return;
    unsigned i = 0;
    while (i < g->n_ports && g->ports[i] < ep->cport)
        i++;
    if (i == g->n_ports || g->ports[i] != ep->cport) {
        if (g->n_ports == AN_MAX_XPORTS)
            return;
        memmove(&g->ports[i + 1], &g->ports[i], (g->n_ports - i) * sizeof(g->ports[0]));
        memmove(&g->attempts[i + 1], &g->attempts[i], (g->n_ports - i) * sizeof(g->attempts[0]));
        memmove(&g->holders[i + 1], &g->holders[i], (g->n_ports - i) * sizeof(g->holders[0]));
        g->n_ports++;
        g->ports[i] = ep->cport;
    }
    g->attempts[i] = an_episode_attempts(ep);
    g->holders[i] = (uint8_t)ep->alert.holder;
    g->first_ms = ep->first_ms < g->first_ms ? ep->first_ms : g->first_ms;
    g->last_ms = ep->last_ms > g->last_ms ? ep->last_ms : g->last_ms;
    g->dirty = true;
    xgroup_flush(a, g);
}

static void xgroup_flush(struct analyzer *a, struct an_xgroup *g)
{
    unsigned span = g->n_ports ? (unsigned)(g->ports[g->n_ports - 1] - g->ports[0]) : 0;
    if (!g->dirty || g->n_ports < a->o.exhaustion_min_ports || span >= a->o.exhaustion_max_span)
        return;
    g->dirty = false;
    struct alert *al = &g->alert;
    uint64_t total = 0;
    enum alert_holder h = (enum alert_holder)g->holders[0];
    for (unsigned i = 0; i < g->n_ports; i++) {
        total += g->attempts[i];
        if (g->holders[i] != h)
            h = HOLDER_UNKNOWN;
    }
    al->kind = ALERT_PORT_EXHAUSTION;
    al->client_addr = g->client;
    al->client_port = -1;
    al->server_addr = g->server;
    al->server_port = g->sport;
    al->holder = h;
    al->attempts = (uint32_t)total;
    al->opened_ms = g->first_ms;
    al->updated_ms = g->last_ms;
    al->state = g->resolved ? ALERT_RESOLVED : ALERT_OPEN;
    al->resolved_ms = g->resolved ? g->resolved_ms : 0;
    an_evidence_exhaustion(g);
    emit(a, al, !g->opened ? ALERT_EV_OPENED : g->resolved ? ALERT_EV_RESOLVED : ALERT_EV_UPDATED);
    g->opened = true;
}

/* A group ends when none of its ports has an unresolved episode. */
static void xgroup_check_resolved(struct analyzer *a, struct an_xgroup *g)
{
    int64_t last = 0;
    for (unsigned i = 0; i < g->n_ports; i++)
        for (size_t k = 0; k < MAX_EPISODES; k++) {
            struct an_episode *ep = &a->eps[k];
            if (ep->st == EP_FREE || ep->cport != g->ports[i] ||
                !same_client_server(&ep->client, &ep->server, ep->sport, &g->client, &g->server,
                                    g->sport))
                continue;
            if (ep->st != EP_RESOLVED)
                return;
            last = ep->resolved_ms > last ? ep->resolved_ms : last;
        }
    g->resolved = true;
    g->resolved_ms = last;
    if (g->opened) {
        g->dirty = true;
        xgroup_flush(a, g);
    }
}

/* ---- episodes ---- */

static void ep_fill_alert(struct analyzer *a, struct an_episode *ep)
{
    struct alert *al = &ep->alert;
    al->kind = ALERT_STALE_STATE;
    al->client_addr = ep->client;
    al->client_port = ep->cport;
    al->server_addr = ep->server;
    al->server_port = ep->sport;
    al->holder = decide_holder(a, ep);
    al->attempts = (uint32_t)an_episode_attempts(ep);
    al->opened_ms = ep->first_ms;
    al->updated_ms = ep->last_ms;
    al->state = ep->st == EP_RESOLVED ? ALERT_RESOLVED : ALERT_OPEN;
    al->resolved_ms = ep->st == EP_RESOLVED ? ep->resolved_ms : 0;
    an_evidence_stale(ep, a->ex);
}

/* Attempts answered only by RST are a closed port, not stale state: dropped unopened. */
static bool ep_only_rst(const struct an_episode *ep)
{
    for (unsigned i = 0; i < ep->n_obs; i++)
        if (an_obs_answers(&ep->obs[i]) != ANS_RST)
            return false;
    return true;
}

/* One unanswered SYN is also what a lost packet looks like: an episode without a bare ACK
 * needs a retransmission (two SYNs) before it is believed. */
static bool ep_weak(const struct an_episode *ep)
{
    for (unsigned i = 0; i < ep->n_obs; i++)
        if (an_obs_answers(&ep->obs[i]) & ANS_BARE_ACK)
            return false;
    return an_episode_attempts(ep) < 2;
}

static bool ep_open(struct analyzer *a, struct an_episode *ep)
{
    if (ep_only_rst(ep) || ep_weak(ep)) {
        ep_deactivate(a, ep);
        alert_free_fields(&ep->alert);
        memset(ep, 0, sizeof(*ep));
        return false;
    }
    ep->st = EP_OPEN;
    ep->dirty = false;
    ep_fill_alert(a, ep);
    emit(a, &ep->alert, ALERT_EV_OPENED);
    xgroup_add(a, ep);
    return true;
}

static void ep_flush(struct analyzer *a, struct an_episode *ep)
{
    if (ep->st != EP_OPEN || !ep->dirty)
        return;
    ep->dirty = false;
    ep_fill_alert(a, ep);
    emit(a, &ep->alert, ALERT_EV_UPDATED);
    xgroup_add(a, ep);
}

static void ep_resolve(struct analyzer *a, struct an_episode *ep, int64_t when, const char *why)
{
    if (ep->st == EP_PENDING && !ep_open(a, ep))
        return;
    ep_flush(a, ep);
    ep_deactivate(a, ep);
    ep->st = EP_RESOLVED;
    ep->resolved_ms = when;
    ep->resolved_why = why;
    ep_fill_alert(a, ep);
    emit(a, &ep->alert, ALERT_EV_RESOLVED);
    for (size_t i = 0; i < MAX_XGROUPS; i++) {
        struct an_xgroup *g = &a->groups[i];
        if (g->used && !g->resolved &&
            same_client_server(&g->client, &g->server, g->sport, &ep->client, &ep->server,
                               ep->sport))
            xgroup_check_resolved(a, g);
    }
}

static struct an_episode *ep_find(struct analyzer *a, const struct conn_info *ci)
{
    struct an_episode *ep;
    FOR_ACTIVE(a, ep)
    {
        if (ep->cport == ci->cport && same_client_server(&ep->client, &ep->server, ep->sport,
                                                         &ci->client, &ci->server, ci->sport))
            return ep;
    }
    return NULL;
}

static struct an_episode *ep_new(struct analyzer *a)
{
    struct an_episode *victim = NULL;
    for (size_t i = 0; i < MAX_EPISODES; i++)
        if (a->eps[i].st == EP_FREE)
            return &a->eps[i];
    for (size_t i = 0; i < MAX_EPISODES; i++)
        if (a->eps[i].st == EP_RESOLVED && (!victim || a->eps[i].resolved_ms < victim->resolved_ms))
            victim = &a->eps[i];
    if (!victim) {
        for (size_t i = 0; i < MAX_EPISODES; i++)
            if (!victim || a->eps[i].last_ms < victim->last_ms)
                victim = &a->eps[i];
        a->st.episodes_evicted++;
        ep_resolve(a, victim, victim->last_ms, "evicted: too many open episodes");
    }
    alert_free_fields(&victim->alert);
    memset(victim, 0, sizeof(*victim));
    return victim;
}

static enum answer answer_of(const struct conn_info *ci)
{
    if (!ci->s.records)
        return ANS_NONE;
    if (ci->s.flags & TH_RST_)
        return ANS_RST;
    return (ci->s.flags & TH_ACK_) ? ANS_BARE_ACK : ANS_NONE;
}

static void obs_add(struct an_episode *ep, const struct conn_info *ci, enum answer ans)
{
    struct an_obs *o = (struct an_obs *)obs_of(ep, ci->exporter);
    if (!o) {
        if (ep->n_obs == AN_MAX_OBS)
            return;
        o = &ep->obs[ep->n_obs++];
        memset(o, 0, sizeof(*o));
        o->exporter = ci->exporter;
        o->client = ci->client;
        o->cport = ci->cport;
        o->first_ms = ci->start_ms;
        o->cur_start = INT64_MIN;
        o->acc_first = INT64_MAX;
        o->acc_last = INT64_MIN;
    }
    if (o->cur_start != ci->start_ms) { /* another attempt connection: keep the last one */
        if (o->cur_start != INT64_MIN) {
            o->syn_acc += o->cur_syn;
            o->reply_acc += o->cur_reply;
            o->answers_acc |= o->cur_answer;
            o->acc_first = o->cur_first < o->acc_first ? o->cur_first : o->acc_first;
            o->acc_last = o->cur_last > o->acc_last ? o->cur_last : o->acc_last;
        }
        o->cur_start = ci->start_ms;
        o->conns++;
    }
    o->cur_first = ci->start_ms;
    o->cur_last = ci->end_ms;
    o->cur_syn = ci->c.packets;
    o->cur_reply = ci->s.records ? ci->s.packets : 0;
    o->cur_answer = (uint8_t)ans;
    o->first_ms = ci->start_ms < o->first_ms ? ci->start_ms : o->first_ms;
    o->last_ms = ci->end_ms > o->last_ms ? ci->end_ms : o->last_ms;
    ep->first_ms = ci->start_ms < ep->first_ms ? ci->start_ms : ep->first_ms;
    ep->last_ms = ci->end_ms > ep->last_ms ? ci->end_ms : ep->last_ms;
    ep->dirty = true;
}

/* Is t the time of one of the episode's attempts (as another vantage point would see it)? */
static bool near_attempt(const struct an_episode *ep, int64_t t)
{
    for (unsigned i = 0; i < ep->n_obs; i++) {
        const struct an_obs *o = &ep->obs[i];
        if (o->cur_start != INT64_MIN && llabs(o->cur_first - t) <= TWIN_TOL_MS)
            return true;
        if (o->acc_last != INT64_MIN && t >= o->acc_first - TWIN_TOL_MS &&
            t <= o->acc_last + TWIN_TOL_MS)
            return true;
    }
    return false;
}

/* The same episode seen at another vantage point behind NAT: attempts to the same server
 * side at the same time, after the same old connection (twin_match). */
static struct an_episode *ep_find_twin(struct analyzer *a, struct conn_entry *e,
                                       const struct conn_info *ci)
{
    struct conn_info last;
    const struct conn_info *v = conn_entry_last_established(e, &last) ? &last : NULL;
    if (!v || !viable_before(a, v, ci->start_ms))
        return NULL;
    struct twin mine;
    twin_of(v, &mine);
    struct an_episode *ep;
    FOR_ACTIVE(a, ep)
    {
        if (ep->viable.exporter != ci->exporter && twin_match(&mine, &ep->viable) &&
            near_attempt(ep, ci->start_ms))
            return ep;
    }
    return NULL;
}

/* The stale state moved: a vantage point that saw the old connection but none of the earlier
 * failed attempts now sees them (the middlebox forgot, the server still answers). That is a
 * new episode with another holder, not an update of the old one. */
static bool ep_should_split(const struct an_episode *ep, const struct conn_info *ci)
{
    if (obs_of(ep, ci->exporter))
        return false;
    bool earlier = false;
    for (unsigned i = 0; i < ep->n_obs; i++) {
        const struct an_obs *o = &ep->obs[i];
        if (o->acc_last != INT64_MIN) {
            if (o->acc_last >= ci->start_ms - TWIN_TOL_MS)
                return false;
            earlier = true;
        }
        if (o->cur_start == INT64_MIN || llabs(o->cur_first - ci->start_ms) <= TWIN_TOL_MS)
            continue; /* nothing, or the same attempt as this one */
        if (o->cur_last >= ci->start_ms - TWIN_TOL_MS)
            return false;
        earlier = true;
    }
    return earlier;
}

/* Moves each exporter's attempt of the new burst (the one at ci's time) out of ep. */
static unsigned take_burst(struct an_episode *ep, const struct conn_info *ci, struct an_obs *out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ep->n_obs;) {
        struct an_obs *o = &ep->obs[i];
        if (o->cur_start == INT64_MIN || llabs(o->cur_first - ci->start_ms) > TWIN_TOL_MS) {
            i++;
            continue;
        }
        struct an_obs *m = &out[n++];
        *m = *o;
        m->syn_acc = m->reply_acc = 0;
        m->answers_acc = 0;
        m->acc_first = INT64_MAX, m->acc_last = INT64_MIN;
        m->first_ms = o->cur_first, m->last_ms = o->cur_last;
        m->conns = 1;
        if (o->acc_last == INT64_MIN) { /* nothing else from this exporter */
            memmove(o, o + 1, (ep->n_obs - i - 1) * sizeof(*o));
            ep->n_obs--;
            continue;
        }
        o->cur_start = INT64_MIN, o->cur_syn = o->cur_reply = 0, o->cur_answer = 0;
        o->first_ms = o->acc_first, o->last_ms = o->acc_last;
        o->conns--;
        i++;
    }
    ep->first_ms = INT64_MAX, ep->last_ms = INT64_MIN;
    for (unsigned i = 0; i < ep->n_obs; i++) {
        ep->first_ms = ep->obs[i].first_ms < ep->first_ms ? ep->obs[i].first_ms : ep->first_ms;
        ep->last_ms = ep->obs[i].last_ms > ep->last_ms ? ep->obs[i].last_ms : ep->last_ms;
    }
    return n;
}

static struct an_episode *ep_start(struct analyzer *a, const struct conn_info *ci,
                                   const struct conn_info *v)
{
    struct an_episode *ep = ep_new(a);
    ep->st = EP_PENDING;
    ep_activate(a, ep);
    ep->client = ci->client;
    ep->server = ci->server;
    ep->cport = ci->cport;
    ep->sport = ci->sport;
    ep->viable = *v;
    ep->first_ms = ci->start_ms;
    ep->last_ms = ci->end_ms;
    ep->due_recv = a->recv_clock + a->o.hold_ms;
    ep->seq = ++a->ep_seq;
    return ep;
}

static struct an_episode *ep_split(struct analyzer *a, struct an_episode *ep,
                                   const struct conn_info *ci)
{
    struct an_obs moved[AN_MAX_OBS];
    unsigned n = take_burst(ep, ci, moved);
    struct conn_info key = *ci, viable = ep->viable;
    key.client = ep->client, key.cport = ep->cport;
    ep_resolve(a, ep, ci->start_ms,
               "the stale state moved: a vantage point that did not see the earlier attempts "
               "sees the new ones");
    struct an_episode *e2 = ep_start(a, &key, &viable);
    for (unsigned i = 0; i < n; i++) {
        e2->obs[e2->n_obs++] = moved[i];
        e2->first_ms = moved[i].first_ms < e2->first_ms ? moved[i].first_ms : e2->first_ms;
        e2->last_ms = moved[i].last_ms > e2->last_ms ? moved[i].last_ms : e2->last_ms;
    }
    recent_scan(a, e2);
    return e2;
}

static void on_attempt(struct analyzer *a, struct conn_entry *e, const struct conn_info *ci)
{
    if (ci->c.packets > a->o.attempt_max_packets || (ci->s.records && (ci->s.flags & TH_SYN_)))
        return; /* the server side answered the handshake: not a stale-state failure */
    enum answer ans = answer_of(ci);
    struct an_episode *ep = ep_find(a, ci);
    if (ep && ci->start_ms - ep->last_ms > a->o.quiet_ms) {
        ep_resolve(a, ep, ep->last_ms + a->o.quiet_ms, "quiet: no more failed attempts");
        ep = NULL;
    }
    if (!ep)
        ep = ep_find_twin(a, e, ci);
    struct conn_info last;
    const struct conn_info *v = conn_entry_last_established(e, &last) ? &last : NULL;
    if (!ep) {
        if (ans == ANS_RST || !v || !conn_unclosed(v) || v->end_ms >= ci->start_ms ||
            ci->start_ms - v->end_ms > a->o.stale_window_ms)
            return;
        ep = ep_start(a, ci, v);
        obs_add(ep, ci, ans);
        recent_scan(a, ep);
        return;
    }
    if (v && viable_before(a, v, ep->first_ms) && ep_should_split(ep, ci))
        ep = ep_split(a, ep, ci);
    obs_add(ep, ci, ans);
}

/* ---- what the client did next ---- */

static void next_add(struct an_episode *ep, uint16_t cport, int64_t start, enum conn_state s,
                     bool worked)
{
    for (unsigned i = 0; i < ep->n_next; i++)
        if (ep->next[i].cport == cport && llabs(ep->next[i].start_ms - start) <= 1000) {
            if (ep->next[i].state != s) {
                ep->next[i].state = s;
                ep->next[i].worked = worked;
                ep->dirty = true;
            }
            return;
        }
    if (ep->n_next == AN_MAX_NEXT)
        return;
    struct an_next *n = &ep->next[ep->n_next++];
    n->cport = cport;
    n->start_ms = start;
    n->state = s;
    n->worked = worked;
    ep->dirty = true;
}

static void recent_scan(struct analyzer *a, struct an_episode *ep)
{
    for (unsigned k = 0; k < RECENT; k++) {
        const struct recent *r = &a->recent[(a->recent_next + k) % RECENT];
        if (r->start_ms && r->cport != ep->cport && r->start_ms >= ep->first_ms &&
            r->start_ms <= ep->last_ms + a->o.quiet_ms &&
            same_client_server(&r->client, &r->server, r->sport, &ep->client, &ep->server,
                               ep->sport))
            next_add(ep, r->cport, r->start_ms, r->state, r->worked);
    }
}

static void note_other_ports(struct analyzer *a, const struct conn_info *ci, bool worked)
{
    /* the newest slot may hold the same connection, updated by its other direction */
    struct recent *r = &a->recent[(a->recent_next + RECENT - 1) % RECENT];
    if (!(r->start_ms == ci->start_ms && r->cport == ci->cport && r->sport == ci->sport &&
          addr_equal(&r->client, &ci->client) && addr_equal(&r->server, &ci->server))) {
        r = &a->recent[a->recent_next];
        a->recent_next = (a->recent_next + 1) % RECENT;
    }
    r->client = ci->client;
    r->server = ci->server;
    r->cport = ci->cport;
    r->sport = ci->sport;
    r->start_ms = ci->start_ms;
    r->state = ci->state;
    r->worked = worked;
    struct an_episode *ep;
    FOR_ACTIVE(a, ep)
    {
        if (ep->cport != ci->cport && ci->start_ms >= ep->first_ms &&
            ci->start_ms <= ep->last_ms + a->o.quiet_ms &&
            same_client_server(&ep->client, &ep->server, ep->sport, &ci->client, &ci->server,
                               ci->sport))
            next_add(ep, ci->cport, ci->start_ms, ci->state, worked);
    }
}

/* ---- tracker events ---- */

static bool ep_any_answer(const struct an_episode *ep, uint8_t answer)
{
    for (unsigned i = 0; i < ep->n_obs; i++)
        if (an_obs_answers(&ep->obs[i]) & answer)
            return true;
    return false;
}

static void on_updated(void *ctx, struct conn_entry *e, const struct conn_info *ci)
{
    struct analyzer *a = ctx;
    bool worked = conn_established(ci);
    note_other_ports(a, ci, worked);
    if (conn_unclosed(ci))
        twin_note(a, ci);
    if (conn_state_attempt(ci->state)) {
        on_attempt(a, e, ci);
        return;
    }
    struct an_episode *ep = worked ? ep_find(a, ci) : NULL;
    if (!ep || ci->start_ms <= ep->last_ms)
        return;
    if (ep->st == EP_PENDING && !ep_any_answer(ep, ANS_BARE_ACK)) {
        /* Unanswered SYNs, then the port works before the alert was due: a lost SYN (or a
         * retransmission the exporter split off), not stale state. Nothing to say. */
        ep_deactivate(a, ep);
        alert_free_fields(&ep->alert);
        memset(ep, 0, sizeof(*ep));
        return;
    }
    ep_resolve(a, ep, ci->start_ms, "the port connected again");
}

static void on_done(void *ctx, struct conn_entry *e, const struct conn_info *ci)
{
    (void)e;
    struct analyzer *a = ctx;
    /* derived data (alerts/conn_rebuild.h): while the store fails, not kept for later */
    if (!a->as || !a->o.store_connections || ci->exporter >= a->n_ex ||
        !store_in_transaction(a->store))
        return;
    char err[256];
    if (alert_store_conn(a->as, ci, a->ex[ci->exporter].name, err, sizeof(err))) {
        snprintf(a->err, sizeof(a->err), "%s", err);
        a->st.store_errors++;
    }
}

/* ---- the clock-driven part ---- */

static int64_t ep_clock(const struct analyzer *a, const struct an_episode *ep)
{
    int64_t c = INT64_MIN;
    for (unsigned i = 0; i < ep->n_obs; i++)
        if (a->clocks[ep->obs[i].exporter] > c)
            c = a->clocks[ep->obs[i].exporter];
    return c;
}

/* Opens the episodes that are due, oldest first (alert ids then follow creation order
 * whatever the moment the check runs). */
static void run_due(struct analyzer *a, bool final)
{
    for (;;) {
        struct an_episode *ep, *next = NULL;
        FOR_ACTIVE(a, ep)
        {
            if (ep->st == EP_PENDING &&
                (final || (a->recv_clock >= ep->due_recv && !ep_weak(ep))) &&
                (!next || ep->seq < next->seq))
                next = ep;
        }
        if (!next)
            return;
        ep_open(a, next);
    }
}

static void run_lifecycle(struct analyzer *a)
{
    struct an_episode *ep;
    FOR_ACTIVE(a, ep)
    {
        if (sat_sub(ep_clock(a, ep), ep->last_ms) > a->o.quiet_ms)
            ep_resolve(a, ep, ep->last_ms + a->o.quiet_ms, "quiet: no more failed attempts");
        else
            ep_flush(a, ep);
    }
    for (size_t i = 0; i < MAX_XGROUPS; i++)
        if (a->groups[i].used)
            xgroup_flush(a, &a->groups[i]);
}

static void advance_recv(struct analyzer *a, int64_t recv)
{
    if (recv > a->recv_clock)
        a->recv_clock = recv;
    run_due(a, false);
    if (a->recv_clock - a->last_sweep >= SWEEP_MS) {
        conn_tracker_sweep(a->ct, a->clocks, a->n_ex);
        a->last_sweep = a->recv_clock;
    }
}

void analyzer_consume(struct analyzer *a, const struct flow *flows, size_t n)
{
    write_pending(a);
    for (size_t i = 0; i < n; i++) {
        const struct flow *f = &flows[i];
        a->st.records++;
        advance_recv(a, f->received_ms);
        if (f->proto != 6)
            continue;
        if (flow_from_future(f, a->o.clock_skew_ms)) {
            /* stored and counted by the collector; here it would move its exporter's clock */
            a->st.future_skipped++;
            continue;
        }
        uint32_t x = exporter_index(a, f);
        if (x >= MAX_EXPORTERS)
            continue;
        if (!conn_flow_tracked(f)) {
            a->st.sampled_skipped++; /* TCP, so: sampled */
            continue;
        }
        a->st.tcp_records++;
        if (f->last_ms > a->clocks[x])
            a->clocks[x] = f->last_ms;
        conn_tracker_add_record(a->ct, x, f);
    }
    run_lifecycle(a);
    end(a);
}

void analyzer_tick(struct analyzer *a, int64_t now, bool final)
{
    write_pending(a);
    advance_recv(a, now);
    if (final)
        run_due(a, true);
    run_lifecycle(a);
    if (final && a->o.store_connections)
        conn_tracker_flush(a->ct); /* the connections in progress are stored too */
    end(a);
}

/* ---- resuming after a restart (analyzer_resume.c replays the stored flows) ---- */

struct store *an_store(const struct analyzer *a)
{
    return a->store;
}

const struct analyzer_opts *an_opts(const struct analyzer *a)
{
    return &a->o;
}

void an_replay_begin(struct analyzer *a)
{
    a->replaying = true;
    a->replay_was = a->st;
}

/* Did the episode's attempts overlap the stored alert's (the same episode)? */
static bool same_episode(const struct an_episode *ep, const struct alert *s)
{
    return ep->cport == s->client_port &&
           same_client_server(&ep->client, &ep->server, ep->sport, &s->client_addr, &s->server_addr,
                              s->server_port) &&
           ep->first_ms <= s->updated_ms + TWIN_TOL_MS && ep->last_ms >= s->opened_ms - TWIN_TOL_MS;
}

/* The stored open alert goes on as the replayed episode: same id; an update when the stored
 * row says less than the flows do. */
static void ep_adopt(struct analyzer *a, struct an_episode *ep, const struct alert *s)
{
    ep->st = EP_OPEN;
    ep_fill_alert(a, ep);
    ep->alert.id = s->id;
    ep->dirty = ep->alert.attempts != s->attempts || ep->alert.updated_ms != s->updated_ms ||
                ep->alert.holder != s->holder;
}

/* Resumes one stored open stale_state alert: 1 if an episode of the replay carries it on. */
static int resume_stale(struct analyzer *a, const struct alert *s)
{
    struct an_episode *ep;
    FOR_ACTIVE(a, ep)
    {
        if (!ep->alert.id && same_episode(ep, s)) {
            ep_adopt(a, ep, s);
            return 1;
        }
    }
    /* Resolved in the replay (the port connected again, or went quiet, before the restart's
     * flows ended): the stored alert is resolved now, with the replay's reason. */
    for (size_t i = 0; i < MAX_EPISODES; i++) {
        ep = &a->eps[i];
        if (ep->st == EP_RESOLVED && !ep->alert.id && same_episode(ep, s)) {
            ep->alert.id = s->id;
            emit(a, &ep->alert, ALERT_EV_RESOLVED);
            return 1;
        }
    }
    return 0;
}

/* The group the replay rebuilt for a stored port_exhaustion alert: an unresolved one first. */
static struct an_xgroup *group_for(struct analyzer *a, const struct alert *s)
{
    struct an_xgroup *found = NULL;
    for (size_t i = 0; i < MAX_XGROUPS; i++) {
        struct an_xgroup *g = &a->groups[i];
        if (g->used && !g->alert.id &&
            same_client_server(&g->client, &g->server, g->sport, &s->client_addr, &s->server_addr,
                               s->server_port) &&
            (!found || found->resolved))
            found = g;
    }
    return found;
}

/* Resumes a stored open port_exhaustion alert with that group: 1 if there is one. */
static int resume_group(struct analyzer *a, const struct alert *s)
{
    struct an_xgroup *g = group_for(a, s);
    if (!g)
        return 0;
    g->alert.id = s->id;
    g->dirty = !g->opened || g->resolved || g->alert.attempts != s->attempts;
    g->opened = true;
    xgroup_flush(a, g);
    return 1;
}

/* What the replay decided and the store does not hold as open is the store's already:
 * forgotten, so that nothing is raised twice. */
static void forget_unadopted(struct analyzer *a)
{
    struct an_episode *ep;
    FOR_ACTIVE(a, ep)
    {
        if (ep->alert.id)
            continue;
        ep_deactivate(a, ep);
        alert_free_fields(&ep->alert);
        memset(ep, 0, sizeof(*ep));
    }
    for (size_t i = 0; i < MAX_XGROUPS; i++) {
        struct an_xgroup *g = &a->groups[i];
        if (g->used && g->opened && !g->alert.id) {
            alert_free_fields(&g->alert);
            memset(g, 0, sizeof(*g));
        }
    }
}

size_t an_replay_end(struct analyzer *a, const struct alert *open, size_t n)
{
    /* The replay runs in less receive time than the hold: open what the earlier run opened
     * by its clock or at its stop, so that the port_exhaustion groups are rebuilt too. */
    run_due(a, true);
    a->replaying = false;
    a->st = a->replay_was;
    size_t resumed = 0;
    for (size_t i = 0; i < n; i++)
        resumed += (size_t)(open[i].kind == ALERT_STALE_STATE ? resume_stale(a, &open[i])
                                                              : resume_group(a, &open[i]));
    forget_unadopted(a);
    return resumed;
}

/* ---- as a consumer of the storage writer ---- */

static void consume_cb(void *ctx, const struct flow *flows, size_t n)
{
    analyzer_consume(ctx, flows, n);
}

static void tick_cb(void *ctx, int64_t now, bool final)
{
    analyzer_tick(ctx, now, final);
}

static void committed_cb(void *ctx)
{
    analyzer_committed(ctx);
}

static void rolled_back_cb(void *ctx)
{
    analyzer_rolled_back(ctx);
}

struct writer_consumer analyzer_consumer(struct analyzer *a)
{
    return (struct writer_consumer){consume_cb, tick_cb, committed_cb, rolled_back_cb, a};
}

/* ---- life ---- */

struct analyzer *analyzer_new(const struct analyzer_opts *o, struct store *s, char *err,
                              size_t errlen)
{
    struct analyzer *a = xcalloc(1, sizeof(*a));
    a->o = *o;
    a->o.vantage_inner = NULL;
    a->o.n_vantage_inner = 0;
    set_vantage(a, o->vantage_inner, o->n_vantage_inner);
    pthread_mutex_init(&a->pub_lock, NULL);
    a->store = s;
    if (s) {
        a->as = alert_store_open(store_sqlite(s), err, errlen);
        if (!a->as) {
            set_vantage(a, NULL, 0);
            pthread_mutex_destroy(&a->pub_lock);
            free(a);
            return NULL;
        }
    }
    a->next_id = a->as ? alert_store_new_id(a->as) : 1;
    struct conn_tracker_opts co = {o->max_conns, o->linger_ms, o->stale_window_ms, 0};
    struct conn_events ev = {on_updated, on_done, a};
    a->ct = conn_tracker_new(&co, &ev);
    a->ex = xcalloc(MAX_EXPORTERS, sizeof(*a->ex));
    a->clocks = xcalloc(MAX_EXPORTERS, sizeof(*a->clocks));
    a->eps = xcalloc(MAX_EPISODES, sizeof(*a->eps));
    a->active = xcalloc(MAX_EPISODES, sizeof(*a->active));
    a->groups = xcalloc(MAX_XGROUPS, sizeof(*a->groups));
    a->twins = xcalloc(TWINS, sizeof(*a->twins));
    a->recv_clock = INT64_MIN / 2;
    a->last_sweep = INT64_MIN / 2;
    fill_stats(a, &a->pub);
    return a;
}

/* ---- settings changed while it runs ---- */

/* Replaces the vantage-inner specs with copies of these. */
static void set_vantage(struct analyzer *a, const char *const *specs, size_t n)
{
    for (size_t i = 0; i < a->o.n_vantage_inner; i++)
        free(a->vantage[i]);
    free(a->vantage);
    a->vantage = n ? xcalloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++)
        a->vantage[i] = xstrdup(specs[i]);
    a->o.vantage_inner = (const char *const *)a->vantage;
    a->o.n_vantage_inner = n;
}

void analyzer_set_opts(struct analyzer *a, const struct analyzer_opts *o)
{
    a->o.stale_window_ms = o->stale_window_ms;
    a->o.quiet_ms = o->quiet_ms;
    a->o.hold_ms = o->hold_ms;
    a->o.store_connections = o->store_connections;
    conn_tracker_set_window(a->ct, o->stale_window_ms);
    set_vantage(a, o->vantage_inner, o->n_vantage_inner);
    for (size_t x = 0; x < a->n_ex; x++) {
        a->ex[x].inner = false;
        for (size_t i = 0; i < a->o.n_vantage_inner; i++)
            if (spec_matches(a->o.vantage_inner[i], &a->ex[x]))
                a->ex[x].inner = true;
    }
    end(a); /* the settings in force, for analyzer_get_stats */
}

int analyzer_add_sink(struct analyzer *a, struct alert_sink sink)
{
    if (a->n_sinks == MAX_SINKS || !sink.on_event)
        return -1;
    a->sinks[a->n_sinks++] = sink;
    return 0;
}

void analyzer_free(struct analyzer *a)
{
    if (!a)
        return;
    conn_tracker_free(a->ct);
    for (size_t i = 0; i < MAX_EPISODES; i++)
        alert_free_fields(&a->eps[i].alert);
    for (size_t i = 0; i < MAX_XGROUPS; i++)
        alert_free_fields(&a->groups[i].alert);
    for (size_t i = 0; i < a->n_pend; i++)
        alert_free_fields(&a->pend[i].a);
    free(a->pend);
    alert_store_close(a->as);
    free(a->ex);
    free(a->clocks);
    free(a->eps);
    free(a->active);
    free(a->groups);
    free(a->twins);
    set_vantage(a, NULL, 0);
    pthread_mutex_destroy(&a->pub_lock);
    free(a);
}

void analyzer_get_stats(struct analyzer *a, struct analyzer_stats *st)
{
    pthread_mutex_lock(&a->pub_lock);
    *st = a->pub;
    pthread_mutex_unlock(&a->pub_lock);
}

const char *analyzer_last_error(const struct analyzer *a)
{
    return a->err;
}
