/* conns.c - every open connection of the web server, so that slow or greedy clients cannot
 * hold them all (issue 13: 300 slow connections held all 64 and no page answered for good).
 *
 * A connection is busy (its request's headers are in, it is being answered) or waiting for a
 * request (just connected, or kept alive after an answer). A waiting connection has a
 * deadline, web-header-timeout after it connected and web-idle-timeout after its previous
 * answer; the reaper thread closes it then, however steadily it trickles bytes
 * (libmicrohttpd's own timeout only counts silence). When a new connection takes its client
 * over web-client-connections, or everyone over web-max-connections, the connection that has
 * waited longest (of that client, or of anyone) is closed to make room: a real request's
 * headers arrive at once, so the longest waiting are slow clients and idle keep-alives, never
 * a request on its way. Only when none is waiting is the new connection refused.
 *
 * Closing is shutdown(2): libmicrohttpd's connection thread reads the end of the stream and
 * closes the connection itself. libmicrohttpd reports the close (MHD_CONNECTION_NOTIFY_CLOSED)
 * before it close(2)s the socket, and the report takes this file's lock, so a shutdown under
 * the lock never reaches a descriptor number reused by another socket. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "web/http.h"

/* One connection: libmicrohttpd's socket context of it. */
struct web_conn {
    struct web_conn *prev, *next;
    struct fh_addr client; /* client_key() */
    int fd;
    bool busy;       /* answering a request: no deadline, never closed to make room */
    bool kept_alive; /* has answered a request before */
    bool closing;    /* shut down by us; leaves the list when libmicrohttpd closes it */
    int64_t waiting_since, deadline; /* mono_ms() */
};

struct web_conns {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* the reaper's: stop, or a deadline earlier than it sleeps to */
    pthread_t reaper;
    bool stop;
    struct web_conn_limits lim;
    struct web_conn *head, *tail;
    int64_t open;      /* connections in the list and not closing */
    int64_t next_wake; /* when the reaper wakes next (mono_ms) */
    uint64_t refused, evicted, timed_out;
    struct log_limit log_slow, log_room;
};

/* The client a connection counts for: its address, or an IPv6 address's /64. */
static void client_key(const struct sockaddr *sa, struct fh_addr *out)
{
    addr_from_sockaddr(out, sa);
    /* A host with IPv6 usually holds a whole /64: one client, however many addresses. */
    if (out->family == 6)
        memset(out->bytes + 8, 0, 8);
}

static const char *client_text(const struct web_conn *w, char *buf)
{
    return addr_to_str(&w->client, buf, FH_ADDR_STRLEN);
}

static void set_waiting(struct web_conns *c, struct web_conn *w, int64_t now, int64_t allowed)
{
    w->busy = false;
    w->waiting_since = now;
    w->deadline = now + allowed;
    if (w->deadline < c->next_wake)
        pthread_cond_signal(&c->wake);
}

static void shut(struct web_conns *c, struct web_conn *w)
{
    /* ENOTCONN: the client is gone already; libmicrohttpd will notice by itself. */
    if (shutdown(w->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        log_ratelimited(&c->log_room, LOG_LVL_WARN, "web: shutdown: %s", strerror(errno));
    w->closing = true;
    c->open--;
}

static int64_t client_count(const struct web_conns *c, const struct fh_addr *client)
{
    int64_t n = 0;
    for (const struct web_conn *w = c->head; w; w = w->next)
        n += !w->closing && addr_equal(&w->client, client);
    return n;
}

/* The connection waiting longest, of `client` (NULL: of anyone), other than `except`. */
static struct web_conn *longest_waiting(struct web_conns *c, const struct fh_addr *client,
                                        const struct web_conn *except)
{
    struct web_conn *best = NULL;
    for (struct web_conn *w = c->head; w; w = w->next) {
        if (w == except || w->busy || w->closing || (client && !addr_equal(&w->client, client)))
            continue;
        if (!best || w->waiting_since < best->waiting_since)
            best = w;
    }
    return best;
}

/* Makes room for `w` over a limit (`client`: its client's, NULL: everyone's), closing the
 * longest waiting connection, or `w` itself when every other one is busy. */
static void make_room(struct web_conns *c, struct web_conn *w, const struct fh_addr *client,
                      int64_t limit)
{
    char a[FH_ADDR_STRLEN], b[FH_ADDR_STRLEN];
    struct web_conn *old = longest_waiting(c, client, w);
    if (old) {
        c->evicted++;
        log_ratelimited(
            &c->log_room, LOG_LVL_WARN,
            "web: closed a waiting connection of %s for a new one of %s (%s limit %lld)",
            client_text(old, a), client_text(w, b), client ? "client" : "connection",
            (long long)limit);
        shut(c, old);
        return;
    }
    c->refused++;
    log_ratelimited(&c->log_room, LOG_LVL_WARN,
                    "web: refused a connection of %s: %lld connections%s, all busy",
                    client_text(w, a), (long long)limit, client ? " of this client" : "");
    shut(c, w);
}

static void conn_started(struct web_conns *c, struct MHD_Connection *mc, void **ctx)
{
    struct web_conn *w = xcalloc(1, sizeof(*w));
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (addr)
        client_key(addr->client_addr, &w->client);
    w->fd = fd ? fd->connect_fd : -1;
    *ctx = w;
    pthread_mutex_lock(&c->lock);
    w->prev = c->tail;
    if (c->tail)
        c->tail->next = w;
    else
        c->head = w;
    c->tail = w;
    c->open++;
    set_waiting(c, w, mono_ms(), c->lim.header_ms);
    if (client_count(c, &w->client) > c->lim.per_client)
        make_room(c, w, &w->client, c->lim.per_client);
    else if (c->open > c->lim.max)
        make_room(c, w, NULL, c->lim.max);
    pthread_mutex_unlock(&c->lock);
}

static void conn_closed(struct web_conns *c, struct web_conn *w)
{
    pthread_mutex_lock(&c->lock);
    if (!w->closing)
        c->open--;
    if (w->prev)
        w->prev->next = w->next;
    else
        c->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        c->tail = w->prev;
    pthread_mutex_unlock(&c->lock);
    free(w);
}

void web_conns_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        conn_started(cls, mc, socket_context);
    else if (*socket_context)
        conn_closed(cls, *socket_context);
}

static struct web_conn *conn_of(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

void web_conns_busy(struct web_conns *c, struct MHD_Connection *mc)
{
    struct web_conn *w = conn_of(mc);
    if (!w)
        return;
    pthread_mutex_lock(&c->lock);
    w->busy = true;
    pthread_mutex_unlock(&c->lock);
}

void web_conns_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct web_conns *c = cls;
    struct web_conn *w = conn_of(mc);
    (void)con_cls;
    (void)toe;
    if (!w)
        return;
    pthread_mutex_lock(&c->lock);
    w->kept_alive = true;
    set_waiting(c, w, mono_ms(), c->lim.idle_ms);
    pthread_mutex_unlock(&c->lock);
}

bool web_conns_client(struct MHD_Connection *mc, struct fh_addr *out)
{
    const struct web_conn *w = conn_of(mc);
    if (w)
        *out = w->client; /* set once, before the connection's thread starts */
    return w != NULL;
}

/* Closes the waiting connections past their deadline; returns the next deadline. */
static int64_t reap_expired(struct web_conns *c, int64_t now)
{
    int64_t next = now + 3600 * 1000;
    char a[FH_ADDR_STRLEN];
    for (struct web_conn *w = c->head; w; w = w->next) {
        if (w->busy || w->closing)
            continue;
        if (w->deadline > now) {
            next = w->deadline < next ? w->deadline : next;
            continue;
        }
        c->timed_out++;
        log_ratelimited(&c->log_slow, LOG_LVL_WARN,
                        "web: closed a connection of %s: no complete request within %.3g s of "
                        "%s (%llu so far)",
                        client_text(w, a), (double)(w->deadline - w->waiting_since) / 1000.0,
                        w->kept_alive ? "its previous answer" : "connecting",
                        (unsigned long long)c->timed_out);
        shut(c, w);
    }
    return next;
}

static void *reaper_main(void *arg)
{
    struct web_conns *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        c->next_wake = reap_expired(c, mono_ms());
        /* The condition variable runs on CLOCK_MONOTONIC, mono_ms()'s clock. */
        struct timespec until = {(time_t)(c->next_wake / 1000),
                                 (long)(c->next_wake % 1000) * 1000000L};
        pthread_cond_timedwait(&c->wake, &c->lock, &until);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

struct web_conns *web_conns_start(const struct web_conn_limits *lim, char *err, size_t errlen)
{
    struct web_conns *c = xcalloc(1, sizeof(*c));
    c->lim = *lim;
    c->log_slow = (struct log_limit)LOG_LIMIT_INIT(0.1, 3);
    c->log_room = (struct log_limit)LOG_LIMIT_INIT(0.1, 3);
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    c->next_wake = mono_ms();
    int rc = pthread_create(&c->reaper, NULL, reaper_main, c);
    if (rc != 0) {
        snprintf(err, errlen, "web: cannot start a thread: %s", strerror(rc));
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

void web_conns_stop(struct web_conns *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->reaper, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

json_t *web_conns_stats(struct web_conns *c)
{
    pthread_mutex_lock(&c->lock);
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "open", (json_int_t)c->open, "max",
                          (json_int_t)c->lim.max, "per_client", (json_int_t)c->lim.per_client,
                          "timed_out", (json_int_t)c->timed_out, "evicted", (json_int_t)c->evicted,
                          "refused", (json_int_t)c->refused);
    pthread_mutex_unlock(&c->lock);
    return o;
}
