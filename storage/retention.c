/* retention.c - old flows go by dropping whole partitions: a DROP TABLE moves its pages to
 * SQLite's free list (reused by new partitions, so the file stops growing) in time
 * proportional to its pages, where a DELETE of the same rows would rewrite every index. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/store_int.h"

static int64_t pragma_int(struct store *s, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The pages in use, and the files beside them: the WAL holds a copy of every page written
 * since the last checkpoint and, while a reader keeps an old snapshot, it grows on disk as the
 * pages do (storage/wal.c; left out, the disk filled with max-size still respected); the
 * reserve is a few MiB kept for the final counters (storage/reserve.c). */
int64_t store_used_bytes(struct store *s)
{
    int64_t pages = pragma_int(s, "PRAGMA page_count");
    int64_t free_pages = pragma_int(s, "PRAGMA freelist_count");
    int64_t size = pragma_int(s, "PRAGMA page_size");
    if (pages < 0 || free_pages < 0 || size < 0)
        return -1;
    return (pages - free_pages) * size + store_wal_bytes(s) + store_reserve_bytes(s);
}

/* The oldest partition, if its span ended before `cutoff` (INT64_MAX: any, for max-size);
 * never the one being written nor the newest (the writer may not have opened it yet). */
static bool oldest_partition(struct store *s, int64_t cutoff, char *name, size_t len)
{
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name FROM partitions WHERE span_end <= ?1 AND name != ?2 "
                           "AND rowid != (SELECT max(rowid) FROM partitions) "
                           "ORDER BY span_start, rowid LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_text(st, 2, s->cur.name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(name, len, "%s", (const char *)sqlite3_column_text(st, 0));
        found = true;
    }
    sqlite3_finalize(st);
    return found;
}

static int drop_partition(struct store *s, const char *name, char *err, size_t errlen)
{
    if (store_exec(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM partitions WHERE name = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
    }
    if (rc)
        store_fail(s, err, errlen, "forgetting a partition");
    if (rc == 0)
        rc = store_rebuild_view(s, err, errlen);
    if (rc == 0) {
        char *sql = xasprintf("DROP TABLE \"%s\"", name);
        rc = store_exec(s, sql, err, errlen);
        free(sql);
    }
    if (rc == 0)
        rc = store_exec(s, "COMMIT", err, errlen);
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_expire(struct store *s, int64_t now_ms, int64_t retention_ms, int64_t max_bytes,
                 int max_drops, char *err, size_t errlen)
{
    int dropped = 0;
    char name[PARTITION_NAME_LEN];
    if (s->in_txn) {
        snprintf(err, errlen, "store_expire: inside a transaction");
        return -1;
    }
    while (dropped < max_drops) {
        bool found = false;
        if (retention_ms > 0)
            found = oldest_partition(s, now_ms - retention_ms, name, sizeof(name));
        if (!found && max_bytes > 0) {
            int64_t used = store_used_bytes(s);
            if (used > max_bytes)
                found = oldest_partition(s, INT64_MAX, name, sizeof(name));
        }
        if (!found)
            break;
        if (drop_partition(s, name, err, errlen))
            return -1;
        dropped++;
    }
    return dropped;
}
