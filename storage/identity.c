/* identity.c - whose SQLite file is this? A flowhound store carries a marker, PRAGMA
 * application_id = STORE_APPLICATION_ID (in the file's header, set when the store is made),
 * beside its schema version in PRAGMA user_version. Stores made before the marker existed
 * are recognised by their tables. Anything else is another application's database: the
 * writer must not add its fifteen tables to it, and no connection should read it as ours.
 * Only reads here: a refused file is left exactly as it was. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "storage/store_int.h"

/* Tables that only a flowhound store of schema version 1 or later has all of. */
static const char fingerprint_sql[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
    "('meta', 'partitions', 'exporters', 'exporter_domains', 'alert_events')";
#define FINGERPRINT_TABLES 5

/* One integer from a statement with no parameters; false (and SQLite's message) on error. */
static bool read_int(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW;
}

static enum store_kind classify(const struct store_identity *id, int64_t objects,
                                int64_t fingerprint)
{
    if (id->app_id == STORE_APPLICATION_ID)
        return STORE_KIND_OURS;
    if (id->app_id != 0)
        return STORE_KIND_FOREIGN;
    if (objects == 0 && id->version == 0)
        return STORE_KIND_EMPTY; /* a new path, or a 0-byte file */
    if (id->version >= 1 && fingerprint == FINGERPRINT_TABLES)
        return STORE_KIND_UNMARKED;
    return STORE_KIND_FOREIGN;
}

int store_identify(sqlite3 *db, const char *path, struct store_identity *id, char *err,
                   size_t errlen)
{
    int64_t app_id = 0, version = 0, objects = 0, fingerprint = 0;
    if (!read_int(db, "PRAGMA application_id", &app_id) ||
        !read_int(db, "PRAGMA user_version", &version) ||
        !read_int(db, "SELECT count(*) FROM sqlite_master", &objects) ||
        !read_int(db, fingerprint_sql, &fingerprint)) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        return -1;
    }
    id->app_id = (uint32_t)app_id;
    id->version = (int)version;
    id->objects = objects;
    id->kind = classify(id, objects, fingerprint);
    return 0;
}

/* Why a file that is not a flowhound store is refused, naming what it is. */
static void foreign_error(const char *path, const struct store_identity *id, char *err,
                          size_t errlen)
{
    if (id->app_id)
        snprintf(err, errlen,
                 "%s is not a flowhound store: it is another application's SQLite database "
                 "(application_id 0x%08" PRIx32 "); it was left untouched: give flowhound a "
                 "new file",
                 path, id->app_id);
    else
        snprintf(err, errlen,
                 "%s is not a flowhound store: it is an SQLite database with %" PRId64
                 " objects of another application (no flowhound marker); it was left "
                 "untouched: give flowhound a new file",
                 path, id->objects);
}

/* Why the file at path, of schema version `have` (not ours), cannot be used. */
static void version_error(const char *path, int have, char *err, size_t errlen)
{
    if (have > STORE_SCHEMA_VERSION)
        snprintf(err, errlen,
                 "%s has schema version %d, newer than this flowhound (%d): upgrade flowhound "
                 "or use another --db",
                 path, have, STORE_SCHEMA_VERSION);
    else
        snprintf(err, errlen,
                 "%s has schema version %d, older than this flowhound (%d): start flowhoundd on "
                 "it once to migrate it",
                 path, have, STORE_SCHEMA_VERSION);
}

int store_check_writable(const char *path, const struct store_identity *id, char *err,
                         size_t errlen)
{
    if (id->kind == STORE_KIND_FOREIGN) {
        foreign_error(path, id, err, errlen);
        return -1;
    }
    if (id->version > STORE_SCHEMA_VERSION) {
        version_error(path, id->version, err, errlen);
        return -1;
    }
    return 0;
}

int store_check_readable(const char *path, const struct store_identity *id, char *err,
                         size_t errlen)
{
    if (id->kind == STORE_KIND_EMPTY) {
        snprintf(err, errlen, "%s is not a flowhound store (it has no schema version)", path);
        return -1;
    }
    if (store_check_writable(path, id, err, errlen))
        return -1;
    if (id->version != STORE_SCHEMA_VERSION) {
        version_error(path, id->version, err, errlen);
        return -1;
    }
    return 0;
}
