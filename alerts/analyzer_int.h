/* analyzer_int.h - the analyzer's internal state, shared by analyzer.c (detection and
 * lifecycle) and analyzer_evidence.c (what an alert says). Not for other folders. */
#ifndef FLOWHOUND_ANALYZER_INT_H
#define FLOWHOUND_ANALYZER_INT_H

#include "alerts/alert.h"
#include "alerts/analyzer.h"
#include "alerts/conn.h"

#define AN_MAX_OBS      4  /* vantage points remembered per episode */
#define AN_MAX_NEXT     8  /* "what the client did next": connections remembered */
#define AN_MAX_XPORTS   64 /* ports in one port_exhaustion group */
#define AN_EXPORTER_LEN 64

enum answer { ANS_BARE_ACK = 1, ANS_NONE = 2, ANS_RST = 4 };

struct an_exporter {
    struct fh_addr addr;
    uint32_t domain;
    char name[AN_EXPORTER_LEN]; /* "192.0.2.1/1" */
    bool inner;                 /* configured as on the server side (vantage-inner) */
};

/* Failed attempts of one episode as one exporter saw them. */
struct an_obs {
    uint32_t exporter;
    struct fh_addr client; /* as this exporter saw the client (NAT may translate it) */
    uint16_t cport;
    uint64_t syn_acc, reply_acc; /* attempts (connections) finished before cur */
    uint8_t answers_acc;
    int64_t acc_first, acc_last; /* span of the connections in the acc counters */
    int64_t cur_start, cur_first, cur_last;
    uint64_t cur_syn, cur_reply;
    uint8_t cur_answer;
    int64_t first_ms, last_ms;
    uint32_t conns;
};

struct an_next {
    uint16_t cport;
    int64_t start_ms;
    enum conn_state state;
    bool worked;
};

enum ep_state { EP_FREE, EP_PENDING, EP_OPEN, EP_RESOLVED };

struct an_episode {
    enum ep_state st;
    struct fh_addr client, server;
    uint16_t cport, sport;
    struct conn_info viable; /* the last viable connection (the first exporter's view) */
    struct an_obs obs[AN_MAX_OBS];
    unsigned n_obs;
    struct an_next next[AN_MAX_NEXT];
    unsigned n_next;
    int64_t first_ms, last_ms; /* failed attempts, flow time */
    int64_t due_recv;          /* receive clock at which it opens */
    uint64_t seq;              /* creation order: episodes due together open in this order */
    int64_t resolved_ms;
    const char *resolved_why;
    bool dirty; /* changed since its last event */
    struct alert alert;
    char why[512]; /* why this holder */
};

struct an_xgroup {
    bool used, opened, resolved, dirty;
    struct fh_addr client, server;
    uint16_t sport;
    uint16_t ports[AN_MAX_XPORTS];
    uint64_t attempts[AN_MAX_XPORTS];
    uint8_t holders[AN_MAX_XPORTS];
    unsigned n_ports;
    int64_t first_ms, last_ms, resolved_ms;
    struct alert alert;
};

/* Totals of an episode over its vantage points. */
uint64_t an_episode_attempts(const struct an_episode *ep);
uint64_t an_obs_syn(const struct an_obs *o);
uint64_t an_obs_reply(const struct an_obs *o);
uint8_t an_obs_answers(const struct an_obs *o);

/* Fills ep->alert.summary and evidence_json (replacing older ones). */
void an_evidence_stale(struct an_episode *ep, const struct an_exporter *exporters);
void an_evidence_exhaustion(struct an_xgroup *g);

/* analyzer.c, for analyzer_resume.c: the store and options, and the replay of an earlier
 * run's flows. Between begin and end the analyzer decides as usual and emits nothing (the
 * store holds those events); end carries each stored open alert on with the episode (or
 * port_exhaustion group) the replay rebuilt for it, under its id, resolves those the replay
 * saw end, forgets every other decision of the replay, and returns how many it resumed. */
struct store *an_store(const struct analyzer *a);
const struct analyzer_opts *an_opts(const struct analyzer *a);
void an_replay_begin(struct analyzer *a);
size_t an_replay_end(struct analyzer *a, const struct alert *open, size_t n);

#endif
