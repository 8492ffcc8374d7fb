/* meta.c - small named values of the store's state (the `meta` table), written in the
 * writer's transaction with what they describe. */
#include "config.h"

#include <stdio.h>

#include "storage/store.h"
#include "storage/store_int.h"

int store_meta_set(struct store *s, const char *key, const char *value, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "saving the state's meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, err, errlen, "saving the state's meta");
}

int store_meta_get(struct store *s, const char *key, char *value, size_t vlen, char *err,
                   size_t errlen)
{
    value[0] = '\0';
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, err, errlen, "reading the state's meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    const char *v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (v)
        snprintf(value, vlen, "%s", v);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : store_fail(s, err, errlen, "reading the state's meta");
}
