/* store.h - the SQLite store: open and migrate, time partitions, flow inserts, exporters.
 *
 * Every connection to a store is opened here (store_open, store_connect), with its settings
 * and the check that the file is a flowhound store of this schema version. One writer (the
 * daemon's writer thread, or `flowhound analyze`) opens the store STORE_RW; readers (web UI,
 * CLI, their query workers) open their own STORE_RO connections; alert delivery writes
 * through a STORE_RW_EXISTING one. Errors are returned with a message in the caller's
 * buffer; nothing here logs or exits. */
#ifndef FLOWHOUND_STORE_H
#define FLOWHOUND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "collector/exporters.h"
#include "collector/journal.h"
#include "common/flow.h"

#define STORE_SCHEMA_VERSION 3
/* PRAGMA application_id of a flowhound store ("FHND"): the marker that tells our files from
 * other applications' SQLite databases (storage/identity.c). */
#define STORE_APPLICATION_ID 0x46484e44u

enum store_mode {
    STORE_RW,          /* the writer: creates the file, migrates the schema, WAL */
    STORE_RO,          /* a reader: read-only, set up for scans and sorts */
    STORE_RW_EXISTING, /* another writer of a store the writer made: neither creates nor
                        * migrates (alert delivery) */
};

/* Rows of one partition before the next one is started (doc/performance.md: why 1M). */
#define STORE_PARTITION_ROWS 1000000
#define PARTITION_NAME_LEN   40

/* The writer's (STORE_RW); other modes ignore them. */
struct store_options {
    int64_t partition_ms;   /* receive-time span of one flows_* table; default 1 h */
    int64_t cache_kib;      /* SQLite page cache; default 16 MiB */
    bool synchronous_off;   /* PRAGMA synchronous=OFF (bench only): default NORMAL */
    int64_t partition_rows; /* rows of one partition at most; default STORE_PARTITION_ROWS */
    bool index_at_insert;   /* bench only: index each row as inserted instead of at close */
    int64_t wal_limit;      /* bytes of WAL kept (store_checkpoint); default STORE_WAL_LIMIT */
};

struct store;

/* Opens the store at path. Only a STORE_RW store takes flows and exporters; the others are
 * for store_sqlite() and the functions taking a connection. NULL with a message naming the
 * file when it cannot be opened or is not a flowhound store of STORE_SCHEMA_VERSION (the
 * writer migrates an older one). */
struct store *store_open(const char *path, enum store_mode mode, const struct store_options *opt,
                         char *err, size_t errlen);
/* One more connection to the store at path, set up and checked as store_open's in the same
 * mode, for a thread of its own (query workers, alert delivery); STORE_RW is refused: the
 * writer is store_open's. The caller closes it with sqlite3_close(). */
sqlite3 *store_connect(const char *path, enum store_mode mode, char *err, size_t errlen);
/* A path a daemon can keep its store in: not empty (SQLite's temporary file), not ":memory:",
 * not a "file:" URI (Debian's SQLite takes URIs, e.g. mode=memory). -1 with why. */
int store_check_path(const char *path, char *err, size_t errlen);
void store_close(struct store *s);
sqlite3 *store_sqlite(struct store *s);
const char *store_path(const struct store *s);

/* Transactions: the writer batches many inserts per transaction. */
int store_begin(struct store *s, char *err, size_t errlen);
int store_commit(struct store *s, char *err, size_t errlen);
bool store_in_transaction(const struct store *s);
/* Abandons the open transaction: everything inserted since store_begin() is lost. */
void store_rollback(struct store *s);

/* Inserts one flow into the partition of its received_ms (created when needed). */
int store_add_flow(struct store *s, const struct flow *f, char *err, size_t errlen);

/* Writes every dirty exporter and domain counter (call inside a transaction). */
int store_save_exporters(struct store *s, struct exporter_table *t, char *err, size_t errlen);

/* Restores exporter counters saved by an earlier run (call once at start-up). */
int store_load_exporters(struct store *s, struct exporter_table *t, char *err, size_t errlen);

/* Names of the partitions overlapping [from_ms, to_ms] by flow time, oldest first; the caller
 * frees the array and its strings. For readers that want to skip partitions. */
int store_partitions_for(struct store *s, int64_t from_ms, int64_t to_ms, char ***names, size_t *n,
                         char *err, size_t errlen);

/* One partition, as store_partition_list() reports it. */
struct store_partition {
    char name[PARTITION_NAME_LEN];
    bool indexed; /* its (src_key, dst_key) index exists (built when the partition closed) */
    int64_t rows;
};

/* The partitions overlapping [from_ms, to_ms] by flow time, oldest first; caller frees *out. */
int store_partition_list(struct store *s, int64_t from_ms, int64_t to_ms,
                         struct store_partition **out, size_t *n, char *err, size_t errlen);

/* Builds a partition's endpoint index now (normally done when the writer leaves it). */
int store_index_partition(struct store *s, const char *name, char *err, size_t errlen);

/* ---- endpoint keys and the story's hunt (storage/hunt.c) ----
 *
 * Each partition row carries two hidden integer columns, src_key and dst_key, with ONE index
 * on (src_key, dst_key): for IPv4 the key is exact, (address << 16) | port; for IPv6 a 46-bit
 * hash of the address with the port (bit 62 set), so a reader must always re-check the text
 * columns. An integer index costs far less to build than (src_addr, src_port) text indexes. */
int64_t store_endpoint_key(const struct fh_addr *a, uint16_t port);

/* SQL for "every flow of one endpoint (address + port) over a time range", both directions:
 * flows from it (src_key = K) and flows to it, found as replies from the endpoints it sent
 * flows to (src_key IN those endpoints' keys AND dst_key = K), so the one index serves both.
 * Those peers are looked up now and written into the SQL as numbers (a shared sub-query made
 * SQLite prepare the statement in time quadratic in the partitions). A flow to the endpoint
 * from a peer it never sent a flow to in the range (or beyond its first 10,000 peers) is
 * found only in the partition not yet indexed (scanned). Result columns: those of the `flows` view,
 * ordered by first_ms. Bind with store_bind_hunt() (same endpoint and range). NULL with a message
 * on error; the caller frees. The SQL names partitions: if retention drops one before it runs,
 * prepare fails ("no such table"): build it again. */
char *store_client_port_sql(struct store *s, const struct fh_addr *a, uint16_t port,
                            int64_t from_ms, int64_t to_ms, char *err, size_t errlen);
/* The same on any connection to a store (e.g. a reader's, with its own time limit). */
char *store_client_port_sql_db(sqlite3 *db, const struct fh_addr *a, uint16_t port, int64_t from_ms,
                               int64_t to_ms, char *err, size_t errlen);
/* Binds the endpoint and the range to a statement prepared from store_client_port_sql(). */
void store_bind_hunt(sqlite3_stmt *st, const struct fh_addr *a, uint16_t port, int64_t from_ms,
                     int64_t to_ms);

/* ---- named values of the state (storage/meta.c) ---- */

/* Writes key = value (call in the transaction of what it describes). */
int store_meta_set(struct store *s, const char *key, const char *value, char *err, size_t errlen);
/* The value of key, "" when there is none. */
int store_meta_get(struct store *s, const char *key, char *value, size_t vlen, char *err,
                   size_t errlen);

/* ---- the receive journal's position (storage/journal_pos.c) ---- */

/* Writes the journal position the store has taken (call in the transaction of its flows). */
int store_save_journal_pos(struct store *s, struct journal_pos pos, char *err, size_t errlen);
/* The position last saved; {0, 0} when none (the journal is read from its start). */
int store_load_journal_pos(struct store *s, struct journal_pos *pos, char *err, size_t errlen);

/* ---- retention (storage/retention.c) ---- */

/* Bytes the store takes: its pages in use ((page_count - freelist_count) * page_size), its
 * -wal and -shm files and its reserve. */
int64_t store_used_bytes(struct store *s);

/* Drops whole partitions (never the one being written), oldest first: those whose span ended
 * more than retention_ms before now_ms (0 = keep forever), then more while the store
 * (store_used_bytes: pages in use and WAL) exceeds max_bytes (0 = no limit). At most max_drops per
 * call, each in its own short transaction, so the writer can call it between batches without
 * stalling ingest for long. Must be called outside a transaction. Returns the number dropped, or -1
 * with a message. */
int store_expire(struct store *s, int64_t now_ms, int64_t retention_ms, int64_t max_bytes,
                 int max_drops, char *err, size_t errlen);

/* ---- the write-ahead log (storage/wal.c) ---- */

/* The WAL a writer keeps at most once readers let it: beyond this a checkpoint empties it. */
#define STORE_WAL_LIMIT (64LL << 20)
/* SQLite's automatic (PASSIVE) checkpoint runs after a commit once the WAL holds this much. */
#define STORE_WAL_AUTOCHECKPOINT (16LL << 20)

/* Bytes of the store's -wal and -shm files now (0 for a memory store). */
int64_t store_wal_bytes(const struct store *s);

enum store_wal_state {
    STORE_WAL_OK,        /* within wal_limit: nothing to do */
    STORE_WAL_TRUNCATED, /* was larger: checkpointed and emptied */
    STORE_WAL_PINNED,    /* larger, and a reader's old snapshot (or another writer) keeps it:
                          * checkpointed as far as it allows; try again later */
    STORE_WAL_ERROR,     /* the checkpoint failed (message in err) */
};
/* The writer's checkpoint policy, called between transactions (about once a second): a WAL
 * over wal_limit is checkpointed and truncated now if no reader holds an older snapshot,
 * never waiting for one. *wal_bytes: the WAL's size after. */
enum store_wal_state store_checkpoint(struct store *s, int64_t *wal_bytes, char *err,
                                      size_t errlen);

/* ---- room kept for the final counters (storage/reserve.c) ---- */

#define STORE_RESERVE_BYTES (8LL << 20)

/* Makes (or keeps) DB-reserve beside a writer's store: STORE_RESERVE_BYTES of allocated blocks
 * that store_reserve_release() gives back to a full disk for the last commit. -1 with a
 * message when the disk has no room for it (the store works without). */
int store_reserve_make(struct store *s, char *err, size_t errlen);
/* Deletes it; true if there was one. */
bool store_reserve_release(struct store *s);
/* Its size now (0: none). */
int64_t store_reserve_bytes(const struct store *s);

/* The SQLite result code of the store's last failure (SQLITE_FULL: disk or max-size full). */
int store_last_error(const struct store *s);

/* Executes a statement with no result (DDL, pragmas). */
int store_exec(struct store *s, const char *sql, char *err, size_t errlen);

/* The columns of the `flows` view, in order, comma-separated (partitions also hold hidden
 * columns: select these, not "*"). */
extern const char store_flow_columns[];

/* The embedded schema text (storage/schema.sql). */
extern const char flowhound_schema_sql[];

/* Text forms of one row's addresses: bound SQLITE_STATIC, alive until the row is stepped
 * (inet_ntop and a copy per address were a visible share of the insert cost). */
struct store_row_texts {
    char exp[FH_ADDR_STRLEN], src[FH_ADDR_STRLEN], dst[FH_ADDR_STRLEN], hop[FH_ADDR_STRLEN];
    char nat_src[FH_ADDR_STRLEN], nat_dst[FH_ADDR_STRLEN];
};
/* Binds a flow's values as the store keeps them (text addresses, NULL for what the exporter
 * did not send, counters clamped) to parameters first .. first + 36 of st, in the order of
 * store_flow_columns: a flow read from elsewhere (ClickHouse) becomes a row of the view. */
void store_bind_flow(sqlite3_stmt *st, int first, const struct flow *f, struct store_row_texts *t);

/* ---- flows read back (storage/flow_row.c) ---- */

/* The columns store_row_to_flow() reads, in its order: the fields the analyzer uses (its
 * replay in `flowhound analyze`, the connections rebuilt on request), not every stored one.
 * Select them from a partition or from the `flows` view. */
extern const char store_flow_read_columns[];
/* A row selecting store_flow_read_columns as the struct flow that was stored: a NULL column is
 * a field the exporter did not send, its FF_* bit clear in present. Fields not read are 0. */
void store_row_to_flow(sqlite3_stmt *st, struct flow *f);

#endif
