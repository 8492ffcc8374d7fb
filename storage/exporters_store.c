/* exporters_store.c - persisting the exporter table's counters. The in-memory table is the
 * truth while the daemon runs; rows are upserted with absolute values, so a restart resumes
 * from what was last committed (counters restart from the stored values: see
 * store_load_exporters). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "collector/fixbuf_decode.h"
#include "common/addr.h"
#include "common/satmath.h"
#include "storage/store.h"

struct save_ctx {
    sqlite3_stmt *exp, *dom, *rej;
    int rc;
};

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void save_one(struct exporter *e, void *arg)
{
    struct save_ctx *c = arg;
    char addr[FH_ADDR_STRLEN];
    bool dirty = e->dirty;
    for (unsigned i = 0; !dirty && i < e->n_domains; i++)
        dirty = e->domains[i].dirty;
    /* A domain counter alone (e.g. dropped_store) changes without the exporter's. */
    if (c->rc || !dirty)
        return;
    addr_to_str(&e->addr, addr, sizeof(addr));
    uint64_t rejected = 0;
    for (int r = 1; r < REJ__COUNT; r++)
        rejected += e->rejects[r];
    sqlite3_bind_text(c->exp, 1, addr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(c->exp, 2, e->first_seen_ms);
    sqlite3_bind_int64(c->exp, 3, e->last_seen_ms);
    sqlite3_bind_int64(c->exp, 4, clamp_i64(e->packets));
    sqlite3_bind_int64(c->exp, 5, clamp_i64(e->bytes));
    sqlite3_bind_int64(c->exp, 6, clamp_i64(rejected));
    sqlite3_bind_int64(c->exp, 7, clamp_i64(e->kernel_drops));
    if (step_reset(c->exp)) {
        c->rc = -1;
        return;
    }
    for (int r = 1; r < REJ__COUNT; r++) {
        if (!e->rejects[r])
            continue;
        sqlite3_bind_text(c->rej, 1, addr, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(c->rej, 2, reject_reason_name((enum reject_reason)r), -1, SQLITE_STATIC);
        sqlite3_bind_int64(c->rej, 3, clamp_i64(e->rejects[r]));
        if (step_reset(c->rej)) {
            c->rc = -1;
            return;
        }
    }
    for (unsigned i = 0; i < e->n_domains; i++) {
        struct exporter_domain *d = &e->domains[i];
        if (!d->dirty)
            continue;
        sqlite3_bind_text(c->dom, 1, addr, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(c->dom, 2, d->domain);
        sqlite3_bind_int(c->dom, 3, d->version);
        sqlite3_bind_int64(c->dom, 4, clamp_i64(d->packets));
        sqlite3_bind_int64(c->dom, 5, clamp_i64(d->flows));
        sqlite3_bind_int64(c->dom, 6, clamp_i64(d->seq.lost));
        sqlite3_bind_int64(c->dom, 7, clamp_i64(d->seq.duplicates));
        sqlite3_bind_int64(c->dom, 8, clamp_i64(d->seq.resets));
        sqlite3_bind_int64(c->dom, 9, clamp_i64(d->dropped_queue));
        sqlite3_bind_int64(c->dom, 10, clamp_i64(d->dropped_store));
        sqlite3_bind_int64(c->dom, 11, clamp_i64(d->records_rejected));
        sqlite3_bind_int64(c->dom, 12, clamp_i64(d->clock_future));
        sqlite3_bind_int64(c->dom, 13, clamp_i64(d->clock_past));
        if (d->clock_measured)
            sqlite3_bind_int64(c->dom, 14, d->clock_offset_ms);
        else
            sqlite3_bind_null(c->dom, 14);
        /* The templates held now (state, not a counter: rebuilt when they are restored). */
        const struct tmpl_table *tt = fixbuf_templates(d);
        sqlite3_bind_int64(c->dom, 15, tt ? tt->n : 0);
        sqlite3_bind_int64(c->dom, 16, tt ? clamp_i64(tt->bytes) : 0);
        sqlite3_bind_int64(c->dom, 17, clamp_i64(d->templates_refused));
        sqlite3_bind_int64(c->dom, 18, clamp_i64(d->templates_expired));
        if (step_reset(c->dom)) {
            c->rc = -1;
            return;
        }
        d->dirty = false;
    }
    e->dirty = false;
}

int store_save_exporters(struct store *s, struct exporter_table *t, char *err, size_t errlen)
{
    sqlite3 *db = store_sqlite(s);
    struct save_ctx c = {0};
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO exporters (addr, first_seen_ms, last_seen_ms, packets, bytes,"
                           " rejected, kernel_drops) VALUES (?1,?2,?3,?4,?5,?6,?7)"
                           " ON CONFLICT (addr) DO UPDATE SET last_seen_ms = ?3, packets = ?4,"
                           " bytes = ?5, rejected = ?6, kernel_drops = ?7",
                           -1, &c.exp, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO exporter_domains (addr, domain, version, packets, flows,"
                           " seq_lost, seq_duplicates, seq_resets, dropped_queue, dropped_store,"
                           " records_rejected, clock_future, clock_past, clock_offset_ms,"
                           " templates, template_bytes, templates_refused, templates_expired)"
                           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
                           "?18) ON CONFLICT (addr, domain, version) DO UPDATE SET packets = ?4,"
                           " flows = ?5, seq_lost = ?6, seq_duplicates = ?7, seq_resets = ?8,"
                           " dropped_queue = ?9, dropped_store = ?10, records_rejected = ?11,"
                           " clock_future = ?12, clock_past = ?13, clock_offset_ms = ?14,"
                           " templates = ?15, template_bytes = ?16, templates_refused = ?17,"
                           " templates_expired = ?18",
                           -1, &c.dom, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO exporter_rejects (addr, reason, count) VALUES (?1,?2,?3)"
                           " ON CONFLICT (addr, reason) DO UPDATE SET count = ?3",
                           -1, &c.rej, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "saving exporters: %s", sqlite3_errmsg(db));
        rc = -1;
    } else {
        exporters_lock(t);
        exporters_foreach(t, save_one, &c);
        exporters_unlock(t);
        if (c.rc) {
            snprintf(err, errlen, "saving exporters: %s", sqlite3_errmsg(db));
            rc = -1;
        }
    }
    sqlite3_finalize(c.exp);
    sqlite3_finalize(c.dom);
    sqlite3_finalize(c.rej);
    return rc;
}

/* Restores the counters persisted by an earlier run, so totals keep growing across restarts. */
int store_load_exporters(struct store *s, struct exporter_table *t, char *err, size_t errlen)
{
    sqlite3 *db = store_sqlite(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT addr, first_seen_ms, last_seen_ms, packets, bytes, kernel_drops"
                           " FROM exporters",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "loading exporters: %s", sqlite3_errmsg(db));
        return -1;
    }
    exporters_lock(t);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct fh_addr a;
        if (!addr_from_str((const char *)sqlite3_column_text(st, 0), &a))
            continue;
        struct exporter *e = exporters_get(t, &a, sqlite3_column_int64(st, 2));
        if (!e)
            break;
        e->first_seen_ms = sqlite3_column_int64(st, 1);
        e->packets = (uint64_t)sqlite3_column_int64(st, 3);
        e->bytes = (uint64_t)sqlite3_column_int64(st, 4);
        e->kernel_drops = (uint64_t)sqlite3_column_int64(st, 5);
        e->dirty = false;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT addr, domain, version, packets, flows, seq_lost, seq_duplicates,"
                           " seq_resets, dropped_queue, dropped_store, records_rejected,"
                           " clock_future, clock_past, clock_offset_ms, templates_refused,"
                           " templates_expired FROM exporter_domains",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            struct fh_addr a;
            if (!addr_from_str((const char *)sqlite3_column_text(st, 0), &a))
                continue;
            struct exporter *e = exporters_get(t, &a, 0);
            struct exporter_domain *d =
                e ? exporter_domain_get(t, e, (uint32_t)sqlite3_column_int64(st, 1),
                                        (uint8_t)sqlite3_column_int(st, 2))
                  : NULL;
            if (!d)
                continue;
            d->packets = (uint64_t)sqlite3_column_int64(st, 3);
            d->flows = (uint64_t)sqlite3_column_int64(st, 4);
            d->seq.lost = (uint64_t)sqlite3_column_int64(st, 5);
            d->seq.duplicates = (uint64_t)sqlite3_column_int64(st, 6);
            d->seq.resets = (uint64_t)sqlite3_column_int64(st, 7);
            d->dropped_queue = (uint64_t)sqlite3_column_int64(st, 8);
            d->dropped_store = (uint64_t)sqlite3_column_int64(st, 9);
            d->records_rejected = (uint64_t)sqlite3_column_int64(st, 10);
            d->clock_future = (uint64_t)sqlite3_column_int64(st, 11);
            d->clock_past = (uint64_t)sqlite3_column_int64(st, 12);
            d->clock_measured = sqlite3_column_type(st, 13) != SQLITE_NULL;
            d->clock_offset_ms = sqlite3_column_int64(st, 13);
            d->templates_refused = (uint64_t)sqlite3_column_int64(st, 14);
            d->templates_expired = (uint64_t)sqlite3_column_int64(st, 15);
            d->dirty = false;
        }
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(db, "SELECT addr, reason, count FROM exporter_rejects", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            struct fh_addr a;
            if (!addr_from_str((const char *)sqlite3_column_text(st, 0), &a))
                continue;
            struct exporter *e = exporters_get(t, &a, 0);
            const char *reason = (const char *)sqlite3_column_text(st, 1);
            for (int r = 1; e && reason && r < REJ__COUNT; r++)
                if (strcmp(reason, reject_reason_name((enum reject_reason)r)) == 0)
                    e->rejects[r] = (uint64_t)sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
    }
    exporters_unlock(t);
    return 0;
}
