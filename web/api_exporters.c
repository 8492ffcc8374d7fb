/* api_exporters.c - /api/v1/exporters: every exporter with its counters (exporter_stats), its
 * observation domains and its rejects by reason. Counters are totals since the exporter was
 * first seen, persisted each second; rates are differences between two answers (now_ms). */
#include "config.h"

#include <string.h>

#include <microhttpd.h>

#include "common/timeutil.h"
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
    }
    json_decref(domains);
    json_decref(rejects);
    if (rc != SQLITE_DONE) {
        json_decref(exporters);
        return web_db_error(r, "exporters");
    }
    return json_pack("{s:o, s:I}", "exporters", exporters, "now_ms", (json_int_t)now_ms());
}
