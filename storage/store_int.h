/* store_int.h - the store's insides, shared by storage/store.c, retention.c and hunt.c only.
 * Nothing outside storage/ includes this. */
#ifndef FLOWHOUND_STORE_INT_H
#define FLOWHOUND_STORE_INT_H

#include "storage/row_binder.h"
#include "storage/store.h"

/* SQLite refuses compound SELECTs of more than 500 terms; nest groups of this many. */
#define STORE_VIEW_GROUP 200

/* How long a connection waits for another's lock (the writer's batches) before failing. */
#define STORE_BUSY_TIMEOUT_MS 5000

struct partition {
    char name[PARTITION_NAME_LEN];
    int64_t span_start, span_end;
    int64_t nth;  /* 1 for the span's first partition, 2 for flows_..._2 ... */
    int64_t rows; /* rows in it, stored and pending */
    sqlite3_stmt *insert;
    struct row_binder bind; /* what insert's parameters hold */
    /* changes not yet written to the partitions table (newest: schema.sql, newest_ms) */
    int64_t min_first, max_last, newest, rows_added;
};

struct store {
    sqlite3 *db;
    char *path;
    struct store_options opt;
    bool in_txn;
    struct partition cur;
    char *partition_ddl;       /* the "-- @partition" block of the schema */
    char *index_ddl;           /* the "-- @partition-index" block */
    char *wal_path, *shm_path; /* the writer's -wal and -shm files (NULL: a memory store) */
    int last_error;            /* SQLite result code of the last failure */
    /* the last exporter address bound, and its text */
    struct fh_addr exp_addr;
    char exp_text[FH_ADDR_STRLEN];
    bool exp_valid;
};

int store_fail(struct store *s, char *err, size_t errlen, const char *what);

/* ---- whose file is this (storage/identity.c) ---- */

enum store_kind {
    STORE_KIND_EMPTY,    /* no schema at all: a new path or a 0-byte file; the writer makes it */
    STORE_KIND_OURS,     /* flowhound's marker (application_id) */
    STORE_KIND_UNMARKED, /* a flowhound store made before the marker: its tables, no marker */
    STORE_KIND_FOREIGN,  /* another application's database: never written, never read */
};

struct store_identity {
    enum store_kind kind;
    uint32_t app_id; /* PRAGMA application_id */
    int version;     /* PRAGMA user_version */
    int64_t objects; /* rows of sqlite_master */
};

/* Reads what the file at path (open on db) is, writing nothing. -1 with a message naming the
 * file when it cannot be read (e.g. not an SQLite file at all). */
int store_identify(sqlite3 *db, const char *path, struct store_identity *id, char *err,
                   size_t errlen);
/* May the writer create, migrate or write this file? (Not another application's, not of a
 * newer schema.) -1 with a message naming the file and saying why. */
int store_check_writable(const char *path, const struct store_identity *id, char *err,
                         size_t errlen);
/* May a reader or alert delivery use it? (A flowhound store of exactly this version.) */
int store_check_readable(const char *path, const struct store_identity *id, char *err,
                         size_t errlen);
char *store_replace_all(const char *text, const char *from, const char *to);
/* The writer's WAL settings (storage/wal.c), once the store's page size is fixed. */
int store_wal_configure(struct store *s, char *err, size_t errlen);

/* Recreates the `flows` view over every partition listed in `partitions`. */
int store_rebuild_view(struct store *s, char *err, size_t errlen);

/* store_partition_list on any connection to a store (a reader's, the hunt's). */
int store_partition_list_db(sqlite3 *db, int64_t from_ms, int64_t to_ms,
                            struct store_partition **out, size_t *n, char *err, size_t errlen);

#endif
