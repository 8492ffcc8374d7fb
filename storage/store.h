/* store.h - the SQLite store: open and migrate, time partitions, flow inserts, exporters.
 *
 * One writer (the daemon's writer thread, or `flowhound analyze`) opens the store STORE_RW;
 * readers (web UI, CLI) open their own STORE_RO connections. Errors are returned with a
 * message in the caller's buffer; nothing here logs or exits. */
#ifndef FLOWHOUND_STORE_H
#define FLOWHOUND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "collector/exporters.h"
#include "collector/flow.h"

#define STORE_SCHEMA_VERSION 1

enum store_mode { STORE_RW, STORE_RO };

struct store_options {
    int64_t partition_ms;   /* receive-time span of one flows_* table; default 1 h */
    int64_t cache_kib;      /* SQLite page cache; default 64 MiB */
    bool synchronous_off;   /* PRAGMA synchronous=OFF (bench only): default NORMAL */
};

struct store;

struct store *store_open(const char *path, enum store_mode mode, const struct store_options *opt,
                         char *err, size_t errlen);
void store_close(struct store *s);
sqlite3 *store_sqlite(struct store *s);
const char *store_path(const struct store *s);

/* Transactions: the writer batches many inserts per transaction. */
int store_begin(struct store *s, char *err, size_t errlen);
int store_commit(struct store *s, char *err, size_t errlen);
bool store_in_transaction(const struct store *s);

/* Inserts one flow into the partition of its received_ms (created when needed). */
int store_add_flow(struct store *s, const struct flow *f, char *err, size_t errlen);

/* Writes every dirty exporter and domain counter (call inside a transaction). */
int store_save_exporters(struct store *s, struct exporter_table *t, char *err, size_t errlen);

/* Restores exporter counters saved by an earlier run (call once at start-up). */
int store_load_exporters(struct store *s, struct exporter_table *t, char *err, size_t errlen);

/* Names of the partitions overlapping [from_ms, to_ms] by flow time, oldest first; the caller
 * frees the array and its strings. For readers that want to skip partitions. */
int store_partitions_for(struct store *s, int64_t from_ms, int64_t to_ms, char ***names,
                         size_t *n, char *err, size_t errlen);

/* Executes a statement with no result (DDL, pragmas). */
int store_exec(struct store *s, const char *sql, char *err, size_t errlen);

/* The embedded schema text (storage/schema.sql). */
extern const char flowhound_schema_sql[];

#endif
