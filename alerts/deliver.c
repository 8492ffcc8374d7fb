/* deliver.c - the delivery thread: spool -> dedup/rate limit -> syslog destinations. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "alerts/deliver.h"
#include "alerts/deliver_limit.h"
#include "alerts/deliver_spool.h"
#include "alerts/syslog_format.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define MARKS_MAX      4096 /* outcomes not yet written (store busy) before sending pauses */

/* An outcome waiting to be written to alert_deliveries. */
struct mark {
    int64_t event_id;
    const char *state; /* static string */
    char *error;       /* owned, may be NULL */
};

struct dest {
    struct syslog_dest d;
    struct syslog_conn *conn; /* NULL for local */
    struct deliver_limit limit;
    struct spool_item *q; /* FIFO: q[0] is the oldest */
    size_t qn;
    int64_t cursor;      /* highest event id taken from the spool */
    uint64_t unreported; /* suppressed since the last message sent */
    int64_t next_try, backoff;
    int64_t last_sent_ms, last_error_ms;
    bool failing;
    bool dirty; /* counters changed since last written */
    struct mark *marks;
    size_t n_marks;
    struct deliver_stats st; /* read by other threads under deliver.mu */
    struct log_limit errlog;
};

struct deliver {
    struct deliver_options o;
    char *db_path, *ca_file, *cert_file, *key_file;
    struct syslog_ident ident;
    struct spool *spool;
    struct dest *dests;
    size_t n;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, kicked;
};

static bool stopping(struct deliver *d)
{
    pthread_mutex_lock(&d->mu);
    bool s = d->stop;
    pthread_mutex_unlock(&d->mu);
    return s;
}

/* ---- outcomes ---- */

static void add_mark(struct dest *ds, int64_t event_id, const char *state, const char *error)
{
    ds->marks = xreallocarray(ds->marks, ds->n_marks + 1, sizeof(*ds->marks));
    ds->marks[ds->n_marks++] = (struct mark){event_id, state, error ? xstrdup(error) : NULL};
}

/* Writes the outcomes and counters in one short transaction. If the store is busy they stay
 * queued and are written next time (the events are not sent again meanwhile). */
static void flush_marks(struct deliver *d, struct dest *ds)
{
    char err[256];
    int64_t now = now_ms();
    if (spool_begin(d->spool, err, sizeof(err)))
        goto fail;
    for (size_t i = 0; i < ds->n_marks; i++)
        if (spool_mark(d->spool, ds->marks[i].event_id, ds->d.spec, ds->marks[i].state,
                       ds->marks[i].error, now, err, sizeof(err))) {
            spool_rollback(d->spool);
            goto fail;
        }
    pthread_mutex_lock(&d->mu);
    struct deliver_stats st = ds->st;
    st.queued = ds->qn;
    pthread_mutex_unlock(&d->mu);
    int64_t done = ds->qn ? ds->q[0].event_id - 1 : ds->cursor;
    if (spool_save_stats(d->spool, &st, done, ds->last_sent_ms, ds->last_error_ms, now, err,
                         sizeof(err))) {
        spool_rollback(d->spool);
        goto fail;
    }
    if (spool_commit(d->spool, err, sizeof(err)))
        goto fail;
    for (size_t i = 0; i < ds->n_marks; i++)
        free(ds->marks[i].error);
    ds->n_marks = 0;
    ds->dirty = false;
    return;
fail:
    log_ratelimited(&ds->errlog, LOG_LVL_WARN, "alert delivery to %s: cannot record outcomes: %s",
                    ds->d.spec, err);
}

static void pop(struct dest *ds)
{
    spool_item_free(&ds->q[0]);
    memmove(&ds->q[0], &ds->q[1], (ds->qn - 1) * sizeof(ds->q[0]));
    ds->qn--;
}

static void count(struct deliver *d, uint64_t *counter)
{
    pthread_mutex_lock(&d->mu);
    (*counter)++;
    pthread_mutex_unlock(&d->mu);
}

/* ---- filling the queue ---- */

/* Takes new events from the spool; those below the minimum severity or over the limits get
 * their final state at once. */
static void fill(struct deliver *d, struct dest *ds)
{
    size_t room = d->o.queue_max - ds->qn;
    if (!room || ds->n_marks >= MARKS_MAX)
        return;
    char err[256];
    int n = spool_load(d->spool, ds->d.spec, ds->cursor, &ds->q[ds->qn], room, err, sizeof(err));
    if (n < 0) {
        log_ratelimited(&ds->errlog, LOG_LVL_WARN, "alert delivery: %s", err);
        return;
    }
    size_t keep = ds->qn;
    for (size_t i = ds->qn; i < ds->qn + (size_t)n; i++) {
        struct spool_item *it = &ds->q[i];
        const char *why;
        ds->cursor = it->event_id;
        if (d->o.min_severity >= 0 && syslog_event_severity(it->ev) > d->o.min_severity) {
            add_mark(ds, it->event_id, "filtered", NULL);
            count(d, &ds->st.filtered);
        } else if (!limit_pass(&ds->limit, &it->a, it->ev, it->created_ms, &why)) {
            add_mark(ds, it->event_id, "suppressed", why);
            count(d, &ds->st.suppressed);
            ds->unreported++;
        } else {
            ds->q[keep++] = *it;
            continue;
        }
        spool_item_free(it);
    }
    ds->qn = keep;
}

/* ---- sending ---- */

static void on_error(struct deliver *d, struct dest *ds, const char *err)
{
    pthread_mutex_lock(&d->mu);
    ds->st.errors++;
    ds->st.connected = false;
    snprintf(ds->st.last_error, sizeof(ds->st.last_error), "%s", err);
    pthread_mutex_unlock(&d->mu);
    ds->last_error_ms = now_ms();
    ds->backoff = ds->backoff ? ds->backoff * 2 : BACKOFF_MIN_MS;
    if (ds->backoff > BACKOFF_MAX_MS)
        ds->backoff = BACKOFF_MAX_MS;
    ds->next_try = mono_ms() + ds->backoff;
    ds->failing = true;
    ds->dirty = true;
    log_ratelimited(&ds->errlog, LOG_LVL_WARN,
                    "alert delivery to %s: %s (retrying in %lld s, %zu events waiting)", ds->d.spec,
                    err, (long long)(ds->backoff / 1000), ds->qn);
}

static void sent_one(struct deliver *d, struct dest *ds, uint64_t reported)
{
    add_mark(ds, ds->q[0].event_id, "sent", NULL);
    count(d, &ds->st.sent);
    ds->unreported -= reported;
    ds->last_sent_ms = now_ms();
    pop(ds);
}

static void send_local(struct deliver *d, struct dest *ds)
{
    while (ds->qn && ds->n_marks < MARKS_MAX) {
        struct spool_item *it = &ds->q[0];
        struct syslog_event e = {&it->a,         it->ev,         it->event_id,
                                 it->created_ms, ds->unreported, false};
        char *line = syslog_format_line(&e);
        syslog((d->ident.facility << 3) | syslog_event_severity(it->ev), "%s", line);
        free(line);
        sent_one(d, ds, e.suppressed);
    }
}

static bool connect_dest(struct deliver *d, struct dest *ds)
{
    char err[512];
    if (syslog_conn_is_open(ds->conn))
        return true;
    if (syslog_conn_open(ds->conn, d->o.io_timeout_ms, err, sizeof(err))) {
        on_error(d, ds, err);
        return false;
    }
    if (ds->failing)
        log_info("alert delivery to %s: connected again, %zu events waiting", ds->d.spec, ds->qn);
    ds->failing = false;
    ds->dirty = true;
    pthread_mutex_lock(&d->mu);
    ds->st.connected = true;
    pthread_mutex_unlock(&d->mu);
    return true;
}

/* Sends the queue in order; each message is called sent only when the receiver's host has
 * acknowledged it, so a receiver that goes away gets it again after reconnecting. */
static void send_remote(struct deliver *d, struct dest *ds)
{
    if (mono_ms() < ds->next_try || !connect_dest(d, ds))
        return;
    size_t max_len = syslog_dest_max_len(&ds->d);
    while (ds->qn && ds->n_marks < MARKS_MAX && !stopping(d)) {
        struct spool_item *it = &ds->q[0];
        struct syslog_event e = {&it->a,         it->ev,         it->event_id,
                                 it->created_ms, ds->unreported, false};
        char *msg, err[512];
        size_t len;
        if (syslog_format_5424(&d->ident, &e, max_len, &msg, &len, err, sizeof(err))) {
            add_mark(ds, it->event_id, "failed", err);
            count(d, &ds->st.failed);
            log_ratelimited(&ds->errlog, LOG_LVL_WARN, "alert delivery to %s: event %lld: %s",
                            ds->d.spec, (long long)it->event_id, err);
            pop(ds);
            continue;
        }
        int rc = syslog_conn_send(ds->conn, msg, len, d->o.io_timeout_ms, err, sizeof(err));
        if (rc == 0)
            rc = syslog_conn_flush(ds->conn, d->o.io_timeout_ms, err, sizeof(err));
        free(msg);
        if (rc) {
            add_mark(ds, it->event_id, "pending", err);
            on_error(d, ds, err);
            return;
        }
        ds->backoff = 0;
        sent_one(d, ds, e.suppressed);
    }
}

/* ---- the thread ---- */

static int64_t serve(struct deliver *d)
{
    int64_t wait = d->o.poll_ms, now = mono_ms();
    for (size_t i = 0; i < d->n && !stopping(d); i++) {
        struct dest *ds = &d->dests[i];
        if (ds->n_marks)
            flush_marks(d, ds);
        fill(d, ds);
        if (ds->d.proto == SYSLOG_LOCAL)
            send_local(d, ds);
        else if (ds->qn)
            send_remote(d, ds);
        if (ds->n_marks || ds->dirty)
            flush_marks(d, ds);
        if (ds->qn && ds->next_try > now && ds->next_try - now < wait)
            wait = ds->next_try - now;
        pthread_mutex_lock(&d->mu);
        ds->st.queued = ds->qn;
        pthread_mutex_unlock(&d->mu);
    }
    return wait;
}

static void *run(void *arg)
{
    struct deliver *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool stop = d->stop;
        d->kicked = false;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            break;
        int64_t wait = serve(d);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (wait < 1 ? 1 : wait) * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_mutex_lock(&d->mu);
        while (!d->stop && !d->kicked)
            if (pthread_cond_timedwait(&d->cv, &d->mu, &ts))
                break;
        pthread_mutex_unlock(&d->mu);
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->dests[i].n_marks || d->dests[i].dirty)
            flush_marks(d, &d->dests[i]);
    return NULL;
}

/* ---- setup ---- */

int deliver_validate(const struct deliver_options *o, char *err, size_t errlen)
{
    bool tls = false;
    for (size_t i = 0; i < o->n_dests; i++) {
        struct syslog_dest sd;
        char msg[400];
        if (syslog_dest_parse(o->dests[i], &sd, msg, sizeof(msg))) {
            snprintf(err, errlen, "alert-syslog: %s", msg);
            return -1;
        }
        tls |= sd.proto == SYSLOG_TLS;
    }
    const char *files[] = {o->tls.ca_file, o->tls.cert_file, o->tls.key_file};
    for (size_t i = 0; tls && i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0) {
            snprintf(err, errlen, "alert-syslog TLS: cannot read %s", files[i]);
            return -1;
        }
    if (!o->tls.cert_file != !o->tls.key_file) {
        snprintf(err, errlen,
                 "alert-syslog TLS: a client certificate needs its key, and a key "
                 "its certificate");
        return -1;
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static void copy_options(struct deliver *d, const struct deliver_options *o)
{
    d->o = *o;
    d->db_path = xstrdup(o->db_path);
    d->ca_file = dup_or_null(o->tls.ca_file);
    d->cert_file = dup_or_null(o->tls.cert_file);
    d->key_file = dup_or_null(o->tls.key_file);
    d->o.db_path = d->db_path;
    d->o.tls.ca_file = d->ca_file;
    d->o.tls.cert_file = d->cert_file;
    d->o.tls.key_file = d->key_file;
    d->o.dests = NULL;
    d->o.hostname = NULL;
    if (d->o.facility < 0 || d->o.facility > 23)
        d->o.facility = 3;
    if (!d->o.queue_max)
        d->o.queue_max = 1024;
    if (d->o.poll_ms <= 0)
        d->o.poll_ms = 1000;
    if (d->o.io_timeout_ms <= 0)
        d->o.io_timeout_ms = 5000;
}

static bool seen_before(const struct deliver *d, const char *spec)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->dests[i].d.spec, spec))
            return true;
    return false;
}

static int add_dest(struct deliver *d, const char *spec, char *err, size_t errlen)
{
    if (seen_before(d, spec))
        return 0; /* configured twice: deliver once */
    struct dest *ds = &d->dests[d->n];
    memset(ds, 0, sizeof(*ds));
    if (syslog_dest_parse(spec, &ds->d, err, errlen))
        return -1;
    snprintf(ds->st.destination, sizeof(ds->st.destination), "%s", ds->d.spec);
    if (spool_register(d->spool, ds->d.spec, &ds->cursor, &ds->st, err, errlen))
        return -1;
    if (ds->d.proto != SYSLOG_LOCAL)
        ds->conn = syslog_conn_new(&ds->d, &d->o.tls);
    ds->st.connected = ds->d.proto == SYSLOG_LOCAL; /* syslog(3) has no connection to lose */
    limit_init(&ds->limit, d->o.rate_per_min, d->o.dedup_ms);
    ds->q = xcalloc(d->o.queue_max, sizeof(*ds->q));
    ds->errlog = (struct log_limit)LOG_LIMIT_INIT(0.1, 3);
    d->n++;
    return 0;
}

static void free_deliver(struct deliver *d)
{
    for (size_t i = 0; i < d->n; i++) {
        struct dest *ds = &d->dests[i];
        for (size_t k = 0; k < ds->qn; k++)
            spool_item_free(&ds->q[k]);
        for (size_t k = 0; k < ds->n_marks; k++)
            free(ds->marks[k].error);
        free(ds->marks);
        free(ds->q);
        syslog_conn_free(ds->conn);
    }
    free(d->dests);
    spool_close(d->spool);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d->db_path);
    free(d->ca_file);
    free(d->cert_file);
    free(d->key_file);
    free(d);
}

struct deliver *deliver_start(const struct deliver_options *o, char *err, size_t errlen)
{
    if (deliver_validate(o, err, errlen))
        return NULL;
    struct deliver *d = xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    copy_options(d, o);
    syslog_ident_init(&d->ident, d->o.facility, o->hostname, o->pen);
    d->spool = spool_open(d->db_path, err, errlen);
    d->dests = xcalloc(o->n_dests ? o->n_dests : 1, sizeof(*d->dests));
    for (size_t i = 0; d->spool && i < o->n_dests; i++)
        if (add_dest(d, o->dests[i], err, errlen)) {
            free_deliver(d);
            return NULL;
        }
    if (!d->spool || pthread_create(&d->thread, NULL, run, d) != 0) {
        if (d->spool)
            snprintf(err, errlen, "cannot start the alert delivery thread");
        free_deliver(d);
        return NULL;
    }
    d->started = true;
    return d;
}

void deliver_stop(struct deliver *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (d->started)
        pthread_join(d->thread, NULL);
    free_deliver(d);
}

void deliver_kick(struct deliver *d)
{
    pthread_mutex_lock(&d->mu);
    d->kicked = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void on_event(void *ctx, enum alert_event ev, const struct alert *a, int64_t event_id)
{
    (void)ev;
    (void)a;
    (void)event_id;
    deliver_kick(ctx); /* the event is committed: the thread reads it from the spool */
}

struct alert_sink deliver_sink(struct deliver *d)
{
    return (struct alert_sink){on_event, d};
}

size_t deliver_count(const struct deliver *d)
{
    return d->n;
}

void deliver_get_stats(struct deliver *d, size_t i, struct deliver_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->dests[i].st;
    pthread_mutex_unlock(&d->mu);
}
