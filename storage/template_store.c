/* template_store.c - saving and restoring v9/IPFIX templates (see template_store.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/bytes.h"
#include "collector/fixbuf_decode.h"
#include "collector/templates.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "storage/template_store.h"

/* A copy of one domain's templates, taken under the lock and written without it. */
struct dom_snap {
    char addr[FH_ADDR_STRLEN];
    uint32_t domain;
    uint8_t version;
    unsigned n;
    struct tmpl *items; /* copies: raw only */
    struct fb_options opt;
};

struct snaps {
    struct dom_snap *v;
    size_t n, cap;
};

static void snap_domain(struct snaps *s, const struct exporter *e, struct exporter_domain *d)
{
    struct tmpl_table *tt = fixbuf_templates(d);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
    }
    struct dom_snap *ds = &s->v[s->n++];
    addr_to_str(&e->addr, ds->addr, sizeof(ds->addr));
    ds->domain = d->domain;
    ds->version = d->version;
    ds->n = tt->n;
    ds->opt = *fixbuf_options(d);
    ds->items = xcalloc(tt->n ? tt->n : 1, sizeof(*ds->items));
    for (unsigned i = 0; i < tt->n; i++) {
        const struct tmpl *t = tt->items[i];
        ds->items[i].id = t->id;
        ds->items[i].options = t->options;
        ds->items[i].received_ms = t->received_ms;
        ds->items[i].raw_len = t->raw_len;
        ds->items[i].raw = xmalloc(t->raw_len);
        memcpy(ds->items[i].raw, t->raw, t->raw_len);
    }
    tt->dirty = false;
}

static void snap_exporter(struct exporter *e, void *arg)
{
    for (unsigned i = 0; i < e->n_domains; i++) {
        struct exporter_domain *d = &e->domains[i];
        if ((d->version == 9 || d->version == 10) && d->proto_state && fixbuf_templates(d)->dirty)
            snap_domain(arg, e, d);
    }
}

static void snaps_free(struct snaps *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (unsigned j = 0; j < s->v[i].n; j++)
            free(s->v[i].items[j].raw);
        free(s->v[i].items);
    }
    free(s->v);
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The domain's options state: boot time and sampler intervals. */
static int write_options(sqlite3_stmt *st, const struct dom_snap *ds)
{
    uint8_t blob[FB_MAX_SAMPLERS * 8];
    for (unsigned i = 0; i < ds->opt.n_samplers; i++) {
        put_be32(blob + 8 * i, ds->opt.samplers[i].id);
        put_be32(blob + 8 * i + 4, ds->opt.samplers[i].interval);
    }
    sqlite3_bind_text(st, 1, ds->addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ds->domain);
    sqlite3_bind_int(st, 3, ds->version);
    if (ds->opt.have_sys_init)
        sqlite3_bind_int64(st, 4, ds->opt.sys_init_ms);
    sqlite3_bind_int64(st, 5, ds->opt.default_interval);
    sqlite3_bind_blob(st, 6, blob, (int)(8 * ds->opt.n_samplers), SQLITE_TRANSIENT);
    return step_reset(st);
}

static int write_domain(sqlite3_stmt *del, sqlite3_stmt *ins, const struct dom_snap *ds)
{
    sqlite3_bind_text(del, 1, ds->addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(del, 2, ds->domain);
    sqlite3_bind_int(del, 3, ds->version);
    if (step_reset(del))
        return -1;
    for (unsigned j = 0; j < ds->n; j++) {
        const struct tmpl *t = &ds->items[j];
        sqlite3_bind_text(ins, 1, ds->addr, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, ds->domain);
        sqlite3_bind_int(ins, 3, ds->version);
        sqlite3_bind_int(ins, 4, t->id);
        sqlite3_bind_int(ins, 5, t->options);
        sqlite3_bind_blob(ins, 6, t->raw, (int)t->raw_len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 7, t->received_ms);
        if (step_reset(ins))
            return -1;
    }
    return (int)ds->n;
}

static int write_snaps(sqlite3 *db, const struct snaps *s, char *err, size_t errlen)
{
    sqlite3_stmt *del = NULL, *ins = NULL, *opt = NULL;
    int rows = 0;
    bool own_txn = sqlite3_get_autocommit(db) != 0;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM templates WHERE exporter = ?1 AND domain = ?2"
                           " AND version = ?3",
                           -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO templates (exporter, domain, version, template_id,"
                           " is_options, raw, received_ms) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO template_domains (exporter, domain, version,"
                           " sys_init_ms, default_interval, samplers) VALUES (?1,?2,?3,?4,?5,?6)",
                           -1, &opt, NULL) != SQLITE_OK ||
        (own_txn && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)) {
        rows = -1;
        own_txn = false;
    }
    for (size_t i = 0; rows >= 0 && i < s->n; i++) {
        int n = write_domain(del, ins, &s->v[i]);
        if (n >= 0 && write_options(opt, &s->v[i]))
            n = -1;
        rows = n < 0 ? -1 : rows + n;
    }
    if (rows < 0)
        snprintf(err, errlen, "saving templates: %s", sqlite3_errmsg(db));
    if (own_txn &&
        sqlite3_exec(db, rows < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
        rows >= 0) {
        snprintf(err, errlen, "saving templates: %s", sqlite3_errmsg(db));
        rows = -1;
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    sqlite3_finalize(opt);
    return rows;
}

int template_store_save(sqlite3 *db, struct exporter_table *t, char *err, size_t errlen)
{
    struct snaps s = {0};
    exporters_lock(t);
    exporters_foreach(t, snap_exporter, &s);
    exporters_unlock(t);
    int rows = s.n ? write_snaps(db, &s, err, errlen) : 0;
    snaps_free(&s);
    return rows;
}

/* The domain a stored row belongs to (created if needed, with its v9/IPFIX state); NULL if
 * the row is not valid. */
static struct exporter_domain *row_domain(struct exporter_table *t, sqlite3_stmt *st,
                                          int64_t seen_ms)
{
    struct fh_addr a;
    const char *addr = (const char *)sqlite3_column_text(st, 0);
    int version = sqlite3_column_int(st, 2);
    if (!addr || !addr_from_str(addr, &a) || (version != 9 && version != 10))
        return NULL;
    struct exporter *e = exporters_get(t, &a, 0);
    if (!e)
        return NULL;
    if (e->last_seen_ms < seen_ms) /* exporters_get stamped it with 0 */
        e->last_seen_ms = seen_ms;
    struct exporter_domain *d =
        exporter_domain_get(t, e, (uint32_t)sqlite3_column_int64(st, 1), (uint8_t)version);
    if (d)
        fixbuf_attach(t, e, d);
    return d;
}

/* One stored template row back into its domain's table; false when it is not valid or over
 * the template budget. Its expiry clock starts now: the exporter may have refreshed it while
 * we were not running, and will again within the timeout. */
static bool restore_row(struct exporter_table *t, sqlite3_stmt *st, int64_t now)
{
    const uint8_t *raw = sqlite3_column_blob(st, 5);
    int raw_len = sqlite3_column_bytes(st, 5);
    int version = sqlite3_column_int(st, 2);
    if (!raw || raw_len <= 0 || (version != 9 && version != 10))
        return false;
    struct tmpl tmp;
    size_t used = 0;
    if (tmpl_parse((uint8_t)version, sqlite3_column_int(st, 4) != 0, raw, (size_t)raw_len, &tmp,
                   &used) != REJ_NONE)
        return false;
    struct exporter_domain *d = NULL;
    if (tmp.n_fields > 0 && used == (size_t)raw_len && tmp.id == sqlite3_column_int(st, 3))
        d = row_domain(t, st, sqlite3_column_int64(st, 6));
    if (!d) {
        free(tmp.fields);
        free(tmp.raw);
        return false;
    }
    tmp.received_ms = sqlite3_column_int64(st, 6);
    tmp.seen_ms = now;
    struct tmpl *h = xmalloc(sizeof(*h));
    *h = tmp;
    return tmpl_put(fixbuf_templates(d), h) == REJ_NONE;
}

static void clear_dirty(struct exporter *e, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < e->n_domains; i++)
        if (e->domains[i].proto_state)
            fixbuf_templates(&e->domains[i])->dirty = false;
}

static void restore_options(struct exporter_table *t, sqlite3_stmt *st)
{
    struct exporter_domain *d = row_domain(t, st, 0);
    if (!d)
        return;
    struct fb_options *o = fixbuf_options(d);
    o->have_sys_init = sqlite3_column_type(st, 3) != SQLITE_NULL;
    o->sys_init_ms = sqlite3_column_int64(st, 3);
    o->default_interval = (uint32_t)sqlite3_column_int64(st, 4);
    const uint8_t *b = sqlite3_column_blob(st, 5);
    int len = sqlite3_column_bytes(st, 5);
    o->n_samplers = 0;
    for (int i = 0; b && i + 8 <= len && o->n_samplers < FB_MAX_SAMPLERS; i += 8)
        o->samplers[o->n_samplers++] = (struct fb_sampler){get_be32(b + i), get_be32(b + i + 4)};
}

/* Newest first: when the template budget is now smaller than what was saved, the templates
 * most recently sent are the ones restored. */
int template_store_load(sqlite3 *db, struct exporter_table *t, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT exporter, domain, version, template_id, is_options, raw,"
                           " received_ms FROM templates ORDER BY received_ms DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "loading templates: %s", sqlite3_errmsg(db));
        return -1;
    }
    int n = 0;
    int64_t now = now_ms();
    exporters_lock(t);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (restore_row(t, st, now))
            n++;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT exporter, domain, version, sys_init_ms, default_interval,"
                           " samplers FROM template_domains",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            restore_options(t, st);
        sqlite3_finalize(st);
    }
    /* What was just loaded is what the store holds. */
    exporters_foreach(t, clear_dirty, NULL);
    exporters_unlock(t);
    return n;
}

/* ---- the writer consumer ---- */

struct template_saver {
    struct store *store;
    struct exporter_table *exporters;
    struct log_limit err_log;
};

/* Saves what changed in the writer's open transaction (none while the store fails: the
 * templates stay marked as changed for the next one). */
static void save_tick(void *ctx, int64_t now_ms, bool final)
{
    (void)now_ms;
    (void) final;
    struct template_saver *ts = ctx;
    char err[256];
    if (store_in_transaction(ts->store) &&
        template_store_save(store_sqlite(ts->store), ts->exporters, err, sizeof(err)) < 0)
        log_ratelimited(&ts->err_log, LOG_LVL_ERR, "%s", err);
}

static void mark_dirty(struct exporter *e, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < e->n_domains; i++)
        if (e->domains[i].proto_state)
            fixbuf_templates(&e->domains[i])->dirty = true;
}

/* What was saved in the lost transaction is not in the store: save every domain again. */
static void resave_all(void *ctx)
{
    struct template_saver *ts = ctx;
    exporters_lock(ts->exporters);
    exporters_foreach(ts->exporters, mark_dirty, NULL);
    exporters_unlock(ts->exporters);
}

struct template_saver *template_saver_new(struct writer *w, struct exporter_table *t, char *err,
                                          size_t errlen)
{
    struct template_saver *ts = xcalloc(1, sizeof(*ts));
    ts->store = writer_store(w);
    ts->exporters = t;
    struct log_limit lim = LOG_LIMIT_INIT(0.2, 5.0);
    ts->err_log = lim;
    struct writer_consumer c = {.tick = save_tick, .rolled_back = resave_all, .ctx = ts};
    if (writer_add_consumer(w, &c)) {
        snprintf(err, errlen, "templates: the writer has no room for another consumer");
        free(ts);
        return NULL;
    }
    return ts;
}

void template_saver_free(struct template_saver *ts)
{
    free(ts);
}
