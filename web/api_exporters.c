/* api_exporters.c - /api/v1/exporters: every exporter with its counters (exporter_stats), its
 * observation domains and its rejects by reason. Counters are totals since the exporter was
 * first seen, persisted each second; rates are differences between two answers (now_ms). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/addr.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "web/http.h"

static int collect(sqlite3 *db, const char *sql, json_t *rows)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite3_errcode(db);
    int rc = web_rows(st, rows, 100000);
    sqlite3_finalize(st);
    return rc;
}

/* Moves each row of `from` whose "addr" is the exporter's into a list on it, by `key`. */
static void attach(json_t *exporters, json_t *from, const char *key)
{
    size_t i;
    json_t *e;
    json_array_foreach(exporters, i, e) json_object_set_new(e, key, json_array());
    size_t j;
    json_t *row;
    json_array_foreach(from, j, row)
    {
        const char *addr = json_string_value(json_object_get(row, "addr"));
        json_array_foreach(exporters, i, e)
        {
            const char *name = json_string_value(json_object_get(e, "exporter"));
            if (addr && name && !strcmp(addr, name)) {
                json_object_del(row, "addr");
                json_array_append(json_object_get(e, key), row);
                break;
            }
        }
    }
}

struct keyed_row {
    struct fh_addr addr;
    json_t *row;
};

static int by_address(const void *a, const void *b)
{
    return addr_cmp(&((const struct keyed_row *)a)->addr, &((const struct keyed_row *)b)->addr);
}

/* Sorts the exporters by address as a number (10.0.0.9 before 10.0.0.10; IPv4 first): the
 * store holds addresses as text, and SQLite would sort them as text. */
static void sort_by_address(json_t *exporters)
{
    size_t n = json_array_size(exporters);
    struct keyed_row *k = xcalloc(n ? n : 1, sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        k[i].row = json_incref(json_array_get(exporters, i));
        const char *addr = json_string_value(json_object_get(k[i].row, "exporter"));
        if (!addr || !addr_from_str(addr, &k[i].addr))
            memset(&k[i].addr, 0, sizeof(k[i].addr)); /* not an address: first */
    }
    qsort(k, n, sizeof(*k), by_address);
    json_array_clear(exporters);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(exporters, k[i].row);
    free(k);
}

json_t *api_exporters(struct web_req *r)
{
    static const char *const known[] = {NULL};
    json_t *err = NULL;
    if (!web_params_known(r, known, &err))
        return err;
    sqlite3 *db = web_db(r, &err);
    if (!db)
        return err;
    json_t *exporters = json_array(), *domains = json_array(), *rejects = json_array();
    int rc = collect(db, "SELECT * FROM exporter_stats ORDER BY exporter", exporters);
    if (rc == SQLITE_DONE)
        rc = collect(db, "SELECT * FROM exporter_domains ORDER BY addr, domain, version", domains);
    if (rc == SQLITE_DONE)
        rc = collect(db,
                     "SELECT addr, reason, count FROM exporter_rejects ORDER BY addr, "
                     "count DESC",
                     rejects);
    if (rc == SQLITE_DONE) {
        attach(exporters, domains, "domains");
        attach(exporters, rejects, "rejects");
        sort_by_address(exporters);
    }
    json_decref(domains);
    json_decref(rejects);
    if (rc != SQLITE_DONE) {
        json_decref(exporters);
        return web_db_error(r, "exporters");
    }
    return json_pack("{s:o, s:I}", "exporters", exporters, "now_ms", (json_int_t)now_ms());
}
