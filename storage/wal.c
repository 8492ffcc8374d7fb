/* wal.c - keeping the write-ahead log bounded.
 *
 * In WAL mode every commit appends its pages to the -wal file; a checkpoint copies them into
 * the database, and only when every reader has moved past the frames can the log start again
 * from its beginning. A reader that keeps one snapshot open (an idle `sqlite3` shell inside a
 * transaction, a backup, a query whose output nobody reads) stops that: under sustained
 * ingest the log grows by every page written (~3 MB/s at 20k flows/s) for as long as the
 * reader stays, and SQLite never gives the space back by itself, even after it goes.
 *
 * The policy, measured in doc/storage.md "The write-ahead log":
 * - SQLite's automatic PASSIVE checkpoint after a commit once the log holds
 *   STORE_WAL_AUTOCHECKPOINT bytes (it never waits for a reader);
 * - journal_size_limit: when the log restarts, the file is cut back to wal_limit;
 * - once a second, between transactions (store_checkpoint, from the writer), a log larger than
 *   wal_limit is checkpointed in TRUNCATE mode without waiting: it is emptied to 0 bytes as
 *   soon as no reader holds an old snapshot, and while one does, it is checkpointed as far as
 *   that reader allows (SQLite falls back to PASSIVE) and the caller is told.
 * Readers of ours hold their snapshot at most their time limit (query/); the writer warns
 * about any other. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/xmalloc.h"
#include "storage/store_int.h"

static int64_t file_bytes(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

int64_t store_wal_bytes(const struct store *s)
{
    return file_bytes(s->wal_path) + file_bytes(s->shm_path);
}

int store_wal_configure(struct store *s, char *err, size_t errlen)
{
    const char *file = sqlite3_db_filename(s->db, "main");
    if (file && *file) { /* not a memory store */
        s->wal_path = xasprintf("%s-wal", file);
        s->shm_path = xasprintf("%s-shm", file);
    }
    int page = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (page <= 0)
        return store_fail(s, err, errlen, "reading the page size");
    char *sql =
        xasprintf("PRAGMA journal_size_limit = %lld; PRAGMA wal_autocheckpoint = %lld",
                  (long long)s->opt.wal_limit, (long long)(STORE_WAL_AUTOCHECKPOINT / page));
    int rc = store_exec(s, sql, err, errlen);
    free(sql);
    return rc;
}

/* TRUNCATE without waiting: SQLite's busy handler would otherwise hold the writer (and so
 * ingest) for up to its timeout whenever a reader is in the log. */
static int checkpoint_now(struct store *s)
{
    sqlite3_busy_timeout(s->db, 0);
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    return rc;
}

enum store_wal_state store_checkpoint(struct store *s, int64_t *wal_bytes, char *err, size_t errlen)
{
    *wal_bytes = store_wal_bytes(s);
    if (s->in_txn || !s->wal_path || *wal_bytes <= s->opt.wal_limit)
        return STORE_WAL_OK;
    int rc = checkpoint_now(s);
    *wal_bytes = store_wal_bytes(s);
    if (rc == SQLITE_OK)
        return STORE_WAL_TRUNCATED;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return STORE_WAL_PINNED;
    store_fail(s, err, errlen, "checkpointing the WAL");
    return STORE_WAL_ERROR;
}
