/* ch_sink.c - flows to ClickHouse through a bounded queue and a sender thread (ch_sink.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "storage/ch_http.h"
#include "storage/ch_marks.h"
#include "storage/ch_rowbinary.h"
#include "storage/ch_schema.h"
#include "storage/ch_sink.h"

#define BACKOFF_MIN_MS    100
#define BACKOFF_MAX_MS    5000
#define EXPIRE_EVERY_MS   60000
#define INSERT_TIMEOUT_MS 60000
#define STOP_WAIT_MS      5000
#define DAY_MS            86400000LL

/* Rows of one exporter domain in a block: counted as dropped_store if the block is. */
struct exp_count {
    struct fh_addr addr;
    uint32_t domain;
    uint8_t version;
    uint64_t rows;
};

/* The flows of one receive hour in a block: its flow_spans row. */
struct span {
    uint32_t rhour;
    int64_t min_first, max_last;
    int64_t newest; /* the newest end taken no later than its receipt (SQLite's newest_ms) */
    uint64_t rows;
};

struct block {
    struct block *next;
    struct rb_out data;
    uint64_t rows, first_seq, last_seq;
    uint32_t day; /* rhour / 24: one partition */
    struct span spans[24];
    unsigned n_spans;
    struct exp_count *exp;
    unsigned n_exp, cap_exp, last_exp;
    struct decode_mark end; /* the journal's place after its last flow, when has_end */
    bool has_end;
    bool closed;     /* full: the next flow opens a block */
    bool ahead_sent; /* its flow_spans rows and its mark are written */
};

struct ch_sink {
    struct ch_sink_options opt;
    char instance[STORE_URL_NAME_MAX];
    struct exporter_table *exporters;
    /* the writer thread's: blocks of the open transaction */
    struct block *open_head, *open_tail;
    uint64_t next_seq;
    /* shared, under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake, space; /* space: a block left the queue */
    struct block *head, *tail;
    bool stop;
    int64_t stop_deadline; /* mono_ms */
    int64_t retention_ms, max_bytes;
    /* the receive journal (ch_sink_set_journal), the state's place in it and its record */
    struct journal *journal;
    struct journal_pos state_end;
    struct ch_resume saved;
    struct decode_mark acked; /* ClickHouse has every flow up to it (with a journal) */
    /* where to resume: ClickHouse's newest mark, once asked (held_found as ch_marks_held),
     * and the decision (ch_sink_held) */
    bool held_fetched, resolved;
    int held_found;
    struct decode_mark ch_held, resume;
    /* the sender thread's */
    pthread_t thread;
    bool started, joined;
    struct ch_client *client;
    bool ready;  /* the schema is there */
    bool unsure; /* the last insert's fate is unknown: ClickHouse may hold more than acked */
    int64_t backoff_ms, next_expire;
    struct log_limit err_log;
    _Atomic uint64_t rows_inserted, rows_dropped, rows_left, rows_queued, bytes_queued;
    _Atomic uint64_t inserts, retries, checks, partitions_dropped;
    _Atomic int64_t failing_since; /* mono_ms; 0: the server takes what we send */
    _Atomic bool full;             /* the writer waits for room */
};

/* The CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* ---- blocks ---- */

static void block_free(struct block *b)
{
    rb_free(&b->data);
    free(b->exp);
    free(b);
}

static struct exp_count *exp_slot(struct block *b, const struct flow *f)
{
    if (b->last_exp < b->n_exp) {
        struct exp_count *c = &b->exp[b->last_exp];
        if (c->domain == f->domain && c->version == f->version &&
            addr_equal(&c->addr, &f->exporter))
            return c;
    }
    for (unsigned i = 0; i < b->n_exp; i++)
        if (b->exp[i].domain == f->domain && b->exp[i].version == f->version &&
            addr_equal(&b->exp[i].addr, &f->exporter)) {
            b->last_exp = i;
            return &b->exp[i];
        }
    if (b->n_exp == b->cap_exp) {
        b->cap_exp = b->cap_exp ? b->cap_exp * 2 : 8;
        b->exp = xreallocarray(b->exp, b->cap_exp, sizeof(*b->exp));
    }
    b->last_exp = b->n_exp;
    b->exp[b->n_exp] = (struct exp_count){f->exporter, f->domain, f->version, 0};
    return &b->exp[b->n_exp++];
}

static void note_span(struct block *b, const struct flow *f, uint32_t rhour)
{
    unsigned i = 0;
    while (i < b->n_spans && b->spans[i].rhour != rhour)
        i++;
    if (i == b->n_spans) {
        /* a block holds one day: at most 24 hours */
        b->spans[b->n_spans++] = (struct span){rhour, f->first_ms, f->last_ms, INT64_MIN, 0};
    }
    struct span *s = &b->spans[i];
    if (f->first_ms < s->min_first)
        s->min_first = f->first_ms;
    if (f->last_ms > s->max_last)
        s->max_last = f->last_ms;
    /* a flow dated in 9999 by a broken clock moves the pages' default range no further than
     * its receipt */
    int64_t seen = f->last_ms < f->received_ms ? f->last_ms : f->received_ms;
    if (seen > s->newest)
        s->newest = seen;
    s->rows++;
}

/* Counts a block's flows as dropped_store, per exporter. */
static void count_dropped(struct ch_sink *s, const struct block *b)
{
    for (unsigned i = 0; i < b->n_exp; i++)
        writer_count_dropped(s->exporters, &b->exp[i].addr, b->exp[i].domain, b->exp[i].version,
                             b->exp[i].rows);
    atomic_fetch_add(&s->rows_dropped, b->rows);
}

/* ---- the writer's side ---- */

static struct block *open_block(struct ch_sink *s, uint32_t day)
{
    struct block *b = xcalloc(1, sizeof(*b));
    b->day = day;
    b->first_seq = s->next_seq;
    if (s->open_tail)
        s->open_tail->next = b;
    else
        s->open_head = b;
    s->open_tail = b;
    return b;
}

static int sink_add(void *ctx, const struct flow *f, char *err, size_t errlen)
{
    struct ch_sink *s = ctx;
    (void)err;
    (void)errlen;
    uint32_t rhour = ch_rhour(f->received_ms);
    struct block *b = s->open_tail;
    /* The writer closes blocks at batch ends (sink_reached), where the journal's place is
     * exact; another caller's blocks are cut at a size, and a day, anywhere. */
    if (!b || b->day != rhour / 24 || b->closed || b->rows >= CH_BLOCK_ROWS + FLOW_BATCH_CAP)
        b = open_block(s, rhour / 24);
    b->has_end = false; /* until the batch of this flow has been added whole */
    b->last_seq = s->next_seq;
    ch_put_flow(&b->data, f, s->instance, s->next_seq++);
    note_span(b, f, rhour);
    exp_slot(b, f)->rows++;
    b->rows++;
    return 0;
}

/* A batch was added whole: the block holding its last flow ends at the batch's place in the
 * journal (collector/decoder.h: exact whatever the batching), and is closed there once full. */
static void sink_reached(void *ctx, const struct flow_batch *fb)
{
    struct ch_sink *s = ctx;
    struct block *b = s->open_tail;
    if (!b)
        return;
    if (fb->src_seg) {
        b->end.pos = (struct journal_pos){fb->src_seg, fb->src_off};
        b->end.part = fb->src_whole ? 0 : fb->src_part;
        b->has_end = true;
    }
    if (b->rows >= CH_BLOCK_ROWS)
        b->closed = true;
}

/* The transaction's blocks join the queue, whatever its size: the writer asks for room before
 * it takes more (sink_room), so the queue passes its bound by one transaction at most. */
static void sink_committed(void *ctx)
{
    struct ch_sink *s = ctx;
    if (!s->open_head)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->tail)
        s->tail->next = s->open_head;
    else
        s->head = s->open_head;
    s->tail = s->open_tail;
    for (const struct block *b = s->open_head; b; b = b->next) {
        atomic_fetch_add(&s->bytes_queued, b->data.cap);
        atomic_fetch_add(&s->rows_queued, b->rows);
    }
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    s->open_head = s->open_tail = NULL;
}

static uint64_t open_bytes(const struct ch_sink *s)
{
    uint64_t n = 0;
    for (const struct block *b = s->open_head; b; b = b->next)
        n += b->data.cap;
    return n;
}

/* Back-pressure: room while the queue and the open transaction's blocks are within the
 * buffer, or nothing is queued (a transaction larger than the buffer still goes). Beyond, the
 * writer waits, and with it the decoder: the datagrams wait in the journal on disk, bounded
 * by journal-size, not in memory. */
static bool has_room(struct ch_sink *s, uint64_t open)
{
    uint64_t queued = atomic_load(&s->bytes_queued);
    return queued == 0 || queued + open < (uint64_t)s->opt.buffer_bytes;
}

static bool sink_room(void *ctx, int wait_ms)
{
    struct ch_sink *s = ctx;
    uint64_t open = open_bytes(s);
    pthread_mutex_lock(&s->lock);
    if (!has_room(s, open)) {
        struct timespec ts = deadline_in(wait_ms);
        pthread_cond_timedwait(&s->space, &s->lock, &ts);
    }
    bool room = has_room(s, open);
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->full, !room);
    return room;
}

/* What the state keeps of the sender, in each of the writer's transactions (ch_resume.h). */
static int sink_save(void *ctx, struct store *st, char *err, size_t errlen)
{
    struct ch_sink *s = ctx;
    struct ch_resume r = {.next_seq = s->next_seq, .found = true};
    pthread_mutex_lock(&s->lock);
    bool journal = s->journal != NULL;
    r.acked = s->acked;
    pthread_mutex_unlock(&s->lock);
    if (!journal)
        return 0;
    /* after the sender has stopped, nothing is acknowledged any more: unless the fate of its
     * last insert is unknown, ClickHouse holds exactly up to acked */
    r.clean = s->joined && !s->unsure;
    return ch_resume_save(st, &r, err, errlen);
}

static void sink_rolled_back(void *ctx)
{
    struct ch_sink *s = ctx;
    while (s->open_head) {
        struct block *next = s->open_head->next;
        block_free(s->open_head);
        s->open_head = next;
    }
    s->open_tail = NULL;
}

/* Retention runs in the sender thread (an ALTER over HTTP must not hold the writer up). */
static int sink_expire(void *ctx, int64_t now, int64_t retention_ms, int64_t max_bytes, char *err,
                       size_t errlen)
{
    struct ch_sink *s = ctx;
    (void)now;
    (void)err;
    (void)errlen;
    pthread_mutex_lock(&s->lock);
    s->retention_ms = retention_ms;
    s->max_bytes = max_bytes;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void stop_sender(struct ch_sink *s)
{
    if (!s->started || s->joined)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    s->stop_deadline = mono_ms() + (s->opt.stop_wait_ms > 0 ? s->opt.stop_wait_ms : STOP_WAIT_MS);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->joined = true;
}

static void sink_finish(void *ctx)
{
    stop_sender(ctx);
}

struct flow_sink ch_sink_flow_sink(struct ch_sink *s)
{
    return (struct flow_sink){.add = sink_add,
                              .committed = sink_committed,
                              .rolled_back = sink_rolled_back,
                              .expire = sink_expire,
                              .finish = sink_finish,
                              .reached = sink_reached,
                              .save = sink_save,
                              .room = sink_room,
                              .ctx = s};
}

/* ---- the sender ---- */

/* The health check's view (ch_sink_stats.failing_since_ms): since when, not how often. */
static void note_failing(struct ch_sink *s, bool failing)
{
    int64_t since = atomic_load(&s->failing_since);
    if (failing && !since)
        atomic_store(&s->failing_since, mono_ms());
    else if (!failing && since)
        atomic_store(&s->failing_since, 0);
}

static bool ensure_ready(struct ch_sink *s)
{
    char err[512];
    if (s->ready)
        return true;
    int rc = ch_client_hello(s->client, err, sizeof(err));
    if (rc == 0)
        rc = ch_schema_ensure(s->client, err, sizeof(err));
    if (rc) {
        log_ratelimited(&s->err_log, LOG_LVL_ERR, "ClickHouse %s: %s; flows wait in the queue",
                        s->opt.url.base, err);
        note_failing(s, true);
        return false;
    }
    s->ready = true;
    note_failing(s, false);
    log_info("ClickHouse %s ready (database %s)", s->opt.url.base, s->opt.url.database);
    return true;
}

static int insert_spans(struct ch_sink *s, const struct block *b, char *err, size_t errlen)
{
    char *sql = xasprintf("INSERT INTO %s.%s (instance, rhour, min_first, max_last, newest, rows) "
                          "VALUES",
                          s->opt.url.database, ch_spans_table(&s->opt.url));
    for (unsigned i = 0; i < b->n_spans; i++) {
        const struct span *p = &b->spans[i];
        char *more =
            xasprintf("%s%s ('%s', %u, %lld, %lld, %lld, %llu)", sql, i ? "," : "", s->instance,
                      p->rhour, (long long)p->min_first, (long long)p->max_last,
                      (long long)p->newest, (unsigned long long)p->rows);
        free(sql);
        sql = more;
    }
    int rc = ch_exec(s->client, sql, err, errlen);
    free(sql);
    return rc;
}

static long read_count(void *ctx, const uint8_t *p, size_t n)
{
    struct rb_in in = {.p = p, .end = p + n};
    *(uint64_t *)ctx = rb_get_u64(&in);
    return in.short_ ? 0 : 8;
}

/* How many of the block's rows the server has (after an insert whose outcome is unknown);
 * -1 when it cannot tell. */
static int64_t rows_there(struct ch_sink *s, const struct block *b)
{
    char err[512];
    uint32_t lo = b->spans[0].rhour, hi = lo;
    for (unsigned i = 1; i < b->n_spans; i++) {
        lo = b->spans[i].rhour < lo ? b->spans[i].rhour : lo;
        hi = b->spans[i].rhour > hi ? b->spans[i].rhour : hi;
    }
    char *sql = xasprintf("SELECT count() FROM %s.%s WHERE rhour BETWEEN %u AND %u AND "
                          "instance = '%s' AND seq BETWEEN %llu AND %llu FORMAT RowBinary",
                          s->opt.url.database, ch_flows_table(&s->opt.url), lo, hi, s->instance,
                          (unsigned long long)b->first_seq, (unsigned long long)b->last_seq);
    struct ch_call k = {.sql = sql, .timeout_ms = 30000};
    uint64_t count = 0;
    int rc = ch_select(s->client, &k, read_count, &count, NULL, err, sizeof(err));
    free(sql);
    atomic_fetch_add(&s->checks, 1);
    return rc ? -1 : (int64_t)count;
}

/* What goes before a block: its flow_spans rows and its journal mark (ch_marks.h). */
static int insert_ahead(struct ch_sink *s, struct block *b, char *err, size_t errlen)
{
    if (b->ahead_sent)
        return 0;
    int rc = insert_spans(s, b, err, errlen);
    if (rc == 0 && b->has_end)
        rc = ch_marks_put(s->client, s->instance, b->day, b->last_seq, &b->end, err, errlen);
    b->ahead_sent = rc == 0;
    return rc;
}

/* Inserts a block; true when its rows are in ClickHouse. */
static bool deliver(struct ch_sink *s, struct block *b)
{
    char err[512];
    int code = 0;
    int rc = insert_ahead(s, b, err, sizeof(err));
    if (rc == 0) {
        char *sql = xasprintf("INSERT INTO %s.%s (%s) FORMAT RowBinary", s->opt.url.database,
                              ch_flows_table(&s->opt.url), ch_flow_insert_columns);
        struct ch_call k = {.sql = sql,
                            .data = b->data.p,
                            .data_len = b->data.len,
                            .timeout_ms = INSERT_TIMEOUT_MS};
        rc = ch_call(s->client, &k, &code, err, sizeof(err));
        free(sql);
        atomic_fetch_add(&s->inserts, 1);
        if (rc == 0) {
            s->unsure = false;
            return true;
        }
    }
    log_ratelimited(&s->err_log, LOG_LVL_ERR,
                    "ClickHouse insert of %llu flows failed (retrying): %s",
                    (unsigned long long)b->rows, err);
    atomic_fetch_add(&s->retries, 1);
    if (code == CH_CODE_UNKNOWN_TABLE || code == CH_CODE_UNKNOWN_DATABASE)
        s->ready = false; /* someone dropped them: set the schema up again */
    if (rc == CH_EUNREACHABLE || !b->ahead_sent)
        return false;
    /* Sent, but the answer is missing or an error: maybe stored all the same. */
    int64_t there = rows_there(s, b);
    s->unsure = there < 0;
    if (there > 0 && (uint64_t)there != b->rows)
        log_ratelimited(&s->err_log, LOG_LVL_ERR,
                        "ClickHouse holds %lld of the %llu flows of a failed insert",
                        (long long)there, (unsigned long long)b->rows);
    return there > 0;
}

/* The block at the head of the queue is in ClickHouse: off the queue, and with it ClickHouse
 * has every flow up to its mark, so the journal before it can go. */
static void delivered(struct ch_sink *s, struct block *b)
{
    pthread_mutex_lock(&s->lock);
    s->head = b->next;
    if (!s->head)
        s->tail = NULL;
    if (b->has_end)
        s->acked = b->end;
    struct journal *j = s->journal;
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->lock);
    if (b->has_end && j)
        journal_taken(j, b->end.pos);
    atomic_fetch_sub(&s->bytes_queued, b->data.cap);
    atomic_fetch_sub(&s->rows_queued, b->rows);
    atomic_fetch_add(&s->rows_inserted, b->rows);
    block_free(b);
}

/* Waits up to ms, or until woken (a new block, the stop). */
static void wait_ms(struct ch_sink *s, int64_t ms)
{
    struct timespec ts = deadline_in(ms);
    pthread_mutex_lock(&s->lock);
    pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    pthread_mutex_unlock(&s->lock);
}

/* Waits before the next try; once stopping, no longer than the stop's deadline, so that the
 * stop takes stop_wait_ms, not that plus a backoff. */
static void backoff(struct ch_sink *s)
{
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (s->backoff_ms > BACKOFF_MAX_MS)
        s->backoff_ms = BACKOFF_MAX_MS;
    int64_t ms = s->backoff_ms;
    pthread_mutex_lock(&s->lock);
    if (s->stop && s->stop_deadline - mono_ms() < ms)
        ms = s->stop_deadline - mono_ms();
    pthread_mutex_unlock(&s->lock);
    if (ms > 0)
        wait_ms(s, ms);
}

/* ---- where to resume ---- */

/* ClickHouse's newest mark of this instance (ch_marks.h), asked once, before anything is sent:
 * the blocks of this run must not be mistaken for what the last run left. */
static bool fetch_held(struct ch_sink *s)
{
    char err[512];
    if (s->held_fetched) /* written by this thread (or before it started) only */
        return true;
    struct decode_mark m = {0};
    int rc = ch_marks_held(s->client, s->instance, &m, err, sizeof(err));
    if (rc < 0) {
        log_ratelimited(&s->err_log, LOG_LVL_ERR,
                        "ClickHouse %s: where it stands (journal marks): %s; retrying",
                        s->opt.url.base, err);
        note_failing(s, true);
        return false;
    }
    pthread_mutex_lock(&s->lock);
    s->held_found = rc;
    s->ch_held = m;
    s->held_fetched = true;
    pthread_mutex_unlock(&s->lock);
    return true;
}

/* The decision, once ClickHouse has answered, or without it after a clean stop (nothing was
 * acknowledged after the state saved its record). */
static void resolve(struct ch_sink *s)
{
    char note[300];
    const struct ch_resume *r = &s->saved;
    s->resume = ch_resume_decide(r, s->state_end, s->held_fetched ? s->held_found : 0, s->ch_held,
                                 note, sizeof(note));
    s->resolved = true;
    if (decode_mark_cmp(s->resume, s->acked) > 0)
        s->acked = s->resume;
    if (note[0])
        log_warn("%s (journal %llu:%llu, flow %u)", note, (unsigned long long)s->resume.pos.seg,
                 (unsigned long long)s->resume.pos.off, s->resume.part);
}

void ch_sink_set_journal(struct ch_sink *s, struct journal *j, struct journal_pos state_end,
                         const struct ch_resume *saved)
{
    pthread_mutex_lock(&s->lock);
    s->journal = j;
    s->state_end = state_end;
    s->saved = *saved;
    s->acked = saved->acked;
    pthread_mutex_unlock(&s->lock);
    /* seqs only grow, also when the clock was set back since the last run */
    if (saved->next_seq > s->next_seq)
        s->next_seq = saved->next_seq;
}

int ch_sink_held(void *ctx, struct decode_mark *held)
{
    struct ch_sink *s = ctx;
    pthread_mutex_lock(&s->lock);
    /* without a record, nothing was ever acknowledged to this state: nothing to ask */
    if (!s->resolved && (s->held_fetched || s->saved.clean || !s->saved.found))
        resolve(s);
    *held = s->resume;
    bool known = s->resolved;
    pthread_mutex_unlock(&s->lock);
    return known ? 1 : 0;
}

/* ---- retention: whole receive days ---- */

struct part {
    char name[16];
    uint64_t bytes;
};

struct parts {
    struct part *p;
    size_t n, cap;
};

static long read_part(void *ctx, const uint8_t *p, size_t n)
{
    struct parts *ps = ctx;
    struct rb_in in = {.p = p, .end = p + n};
    struct part one;
    if (!rb_get_str(&in, one.name, sizeof(one.name)))
        return CH_ROW_BAD;
    one.bytes = rb_get_u64(&in);
    if (in.short_)
        return 0;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 32;
        ps->p = xreallocarray(ps->p, ps->cap, sizeof(*ps->p));
    }
    ps->p[ps->n++] = one;
    return (long)(in.p - p);
}

/* End of the receive day a partition (YYYYMMDD) holds, Unix ms; 0 if the name is not one. */
static int64_t day_end(const char *name)
{
    struct tm tm = {0};
    if (strlen(name) != 8 || strspn(name, "0123456789") != 8)
        return 0;
    long v = atol(name);
    tm.tm_year = (int)(v / 10000) - 1900;
    tm.tm_mon = (int)(v / 100 % 100) - 1;
    tm.tm_mday = (int)(v % 100);
    return ((int64_t)timegm(&tm) + 86400) * 1000;
}

static bool drop_partition(struct ch_sink *s, const char *name)
{
    char err[512];
    /* the marks last: a mark outliving its block says nothing (ch_marks.h) */
    const char *tables[] = {ch_flows_table(&s->opt.url), ch_spans_table(&s->opt.url),
                            "journal_marks"};
    for (int i = 0; i < 3; i++) {
        char *sql =
            xasprintf("ALTER TABLE %s.%s DROP PARTITION %s", s->opt.url.database, tables[i], name);
        int rc = ch_exec(s->client, sql, err, sizeof(err));
        free(sql);
        if (rc) {
            log_ratelimited(&s->err_log, LOG_LVL_ERR, "ClickHouse retention: %s", err);
            return false;
        }
    }
    log_info("ClickHouse retention: dropped the flows received on %s", name);
    atomic_fetch_add(&s->partitions_dropped, 1);
    return true;
}

static void expire(struct ch_sink *s, int64_t retention_ms, int64_t max_bytes)
{
    char err[512];
    char *sql =
        xasprintf("SELECT partition, toUInt64(sum(bytes_on_disk)) FROM system.parts WHERE "
                  "active AND database = '%s' AND table IN ('%s', '%s') GROUP BY "
                  "partition ORDER BY partition FORMAT RowBinary",
                  s->opt.url.database, ch_flows_table(&s->opt.url), ch_spans_table(&s->opt.url));
    struct ch_call k = {.sql = sql, .timeout_ms = 30000};
    struct parts ps = {0};
    int rc = ch_select(s->client, &k, read_part, &ps, NULL, err, sizeof(err));
    free(sql);
    if (rc) {
        log_ratelimited(&s->err_log, LOG_LVL_ERR, "ClickHouse retention: %s", err);
        free(ps.p);
        return;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < ps.n; i++)
        total += ps.p[i].bytes;
    int64_t now = now_ms();
    /* oldest first; never the day being written (the last one) */
    for (size_t i = 0; i + 1 < ps.n; i++) {
        int64_t end = day_end(ps.p[i].name);
        bool old = retention_ms && end && now - retention_ms >= end;
        bool big = max_bytes && total > (uint64_t)max_bytes;
        if (!end || (!old && !big))
            break;
        if (!drop_partition(s, ps.p[i].name))
            break;
        total -= ps.p[i].bytes;
    }
    free(ps.p);
}

static void maybe_expire(struct ch_sink *s)
{
    pthread_mutex_lock(&s->lock);
    int64_t retention = s->retention_ms, max_bytes = s->max_bytes;
    pthread_mutex_unlock(&s->lock);
    if ((!retention && !max_bytes) || mono_ms() < s->next_expire)
        return;
    s->next_expire = mono_ms() + EXPIRE_EVERY_MS;
    expire(s, retention, max_bytes);
}

/* At stop, what the deadline left in the queue: its datagrams are still in the receive
 * journal, which the next start resumes after the mark ClickHouse holds. Without a journal
 * (tools, tests) the flows are counted as dropped_store: never silently gone. */
static void leave_rest(struct ch_sink *s)
{
    uint64_t left = 0;
    pthread_mutex_lock(&s->lock);
    struct block *b = s->head;
    bool journal = s->journal != NULL;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->lock);
    while (b) {
        struct block *next = b->next;
        if (!journal)
            count_dropped(s, b);
        left += b->rows;
        atomic_fetch_sub(&s->bytes_queued, b->data.cap);
        atomic_fetch_sub(&s->rows_queued, b->rows);
        block_free(b);
        b = next;
    }
    if (left && journal) {
        atomic_fetch_add(&s->rows_left, left);
        log_info("ClickHouse: %llu flows not inserted by the stop stay in the receive journal: "
                 "stored at the next start",
                 (unsigned long long)left);
    } else if (left) {
        log_err("ClickHouse: %llu flows could not be inserted before the stop deadline: counted as "
                "dropped_store",
                (unsigned long long)left);
    }
}

static void *sender_main(void *arg)
{
    struct ch_sink *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (!s->head && !s->stop) {
            pthread_mutex_unlock(&s->lock);
            wait_ms(s, 1000);
            pthread_mutex_lock(&s->lock);
        }
        struct block *b = s->head;
        bool stopping = s->stop;
        int64_t deadline = s->stop_deadline;
        pthread_mutex_unlock(&s->lock);
        if (stopping && (!b || mono_ms() >= deadline))
            break;
        if (!ensure_ready(s) || !fetch_held(s)) {
            backoff(s);
            continue;
        }
        maybe_expire(s);
        if (!b)
            continue;
        bool ok = deliver(s, b);
        note_failing(s, !ok);
        if (ok) {
            delivered(s, b);
            s->backoff_ms = 0;
        } else {
            backoff(s);
        }
    }
    leave_rest(s);
    return NULL;
}

/* ---- start and stop ---- */

struct ch_sink *ch_sink_start(const struct ch_sink_options *o, struct exporter_table *t,
                              char *warning, size_t wlen, char *err, size_t errlen)
{
    /* the instance is written into the sender's SQL as a literal: a plain name only */
    if (!store_instance_ok(o->instance)) {
        snprintf(err, errlen, "instance '%.64s': letters, digits, '_', '-' and '.' only",
                 o->instance);
        return NULL;
    }
    struct ch_sink *s = xcalloc(1, sizeof(*s));
    s->opt = *o;
    snprintf(s->instance, sizeof(s->instance), "%s", o->instance);
    s->exporters = t;
    /* receive order across restarts without asking anyone: the start time leaves room for
     * 2^20 flows a millisecond of the previous run, and the state's record (a clock set
     * back) keeps it growing all the same */
    s->next_seq = (uint64_t)now_ms() << 20;
    struct log_limit lim = LOG_LIMIT_INIT(0.2, 5.0);
    s->err_log = lim;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->space, NULL);
    s->client = ch_client_new(&o->url);
    warning[0] = '\0';
    int rc = ch_client_hello(s->client, err, errlen);
    if (rc == 0)
        rc = ch_schema_ensure(s->client, err, errlen);
    if (rc == 0) {
        s->ready = true;
        fetch_held(s);
    } else if (rc == CH_EUNREACHABLE || rc == CH_ETIMEOUT || rc == CH_EBROKEN) {
        snprintf(warning, wlen, "%s; flows wait until it answers", err);
        s->failing_since = mono_ms();
    } else {
        ch_sink_free(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        snprintf(err, errlen, "cannot start the ClickHouse sender thread");
        ch_sink_free(s);
        return NULL;
    }
    s->started = true;
    return s;
}

void ch_sink_free(struct ch_sink *s)
{
    if (!s)
        return;
    stop_sender(s);
    sink_rolled_back(s);
    leave_rest(s);
    ch_client_free(s->client);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->space);
    free(s);
}

void ch_sink_get_stats(struct ch_sink *s, struct ch_sink_stats *st)
{
    st->rows_inserted = atomic_load(&s->rows_inserted);
    st->rows_dropped = atomic_load(&s->rows_dropped);
    st->rows_left = atomic_load(&s->rows_left);
    st->full = atomic_load(&s->full);
    st->rows_queued = atomic_load(&s->rows_queued);
    st->bytes_queued = atomic_load(&s->bytes_queued);
    st->inserts = atomic_load(&s->inserts);
    st->retries = atomic_load(&s->retries);
    st->checks = atomic_load(&s->checks);
    st->partitions_dropped = atomic_load(&s->partitions_dropped);
    st->buffer_bytes = (uint64_t)s->opt.buffer_bytes;
    st->failing_since_ms = atomic_load(&s->failing_since);
}
