/* store_int.h - the store's insides, shared by storage/store.c, retention.c and hunt.c only.
 * Nothing outside storage/ includes this. */
#ifndef FLOWHOUND_STORE_INT_H
#define FLOWHOUND_STORE_INT_H

#include "storage/row_binder.h"
#include "storage/store.h"

/* SQLite refuses compound SELECTs of more than 500 terms; nest groups of this many. */
#define STORE_VIEW_GROUP 200

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
    char *partition_ddl; /* the "-- @partition" block of the schema */
    char *index_ddl;     /* the "-- @partition-index" block */
    int last_error;      /* SQLite result code of the last failure */
    /* the last exporter address bound, and its text */
    struct fh_addr exp_addr;
    char exp_text[FH_ADDR_STRLEN];
    bool exp_valid;
};

int store_fail(struct store *s, char *err, size_t errlen, const char *what);
char *store_replace_all(const char *text, const char *from, const char *to);
/* Recreates the `flows` view over every partition listed in `partitions`. */
int store_rebuild_view(struct store *s, char *err, size_t errlen);

/* store_partition_list on any connection to a store (a reader's, the hunt's). */
int store_partition_list_db(sqlite3 *db, int64_t from_ms, int64_t to_ms,
                            struct store_partition **out, size_t *n, char *err, size_t errlen);

#endif
