/* store.c - open, migrate and write the SQLite store. See storage/schema.sql for the layout. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/satmath.h"
#include "common/xmalloc.h"
#include "storage/store.h"

#include "storage/store_int.h"

int store_fail(struct store *s, char *err, size_t errlen, const char *what)
{
    s->last_error = s->db ? sqlite3_errcode(s->db) : SQLITE_NOMEM;
    snprintf(err, errlen, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
    return -1;
}

#define fail(db, err, errlen, what) store_fail(s, err, errlen, what)

int store_last_error(const struct store *s)
{
    return s->last_error;
}

int store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        s->last_error = sqlite3_errcode(s->db) ? sqlite3_errcode(s->db) : rc;
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Returns a copy of the schema text between the marker line `marker` and the next "-- @". */
static char *schema_block(const char *marker)
{
    const char *p = strstr(flowhound_schema_sql, marker);
    if (!p)
        return NULL;
    p = strchr(p, '\n');
    if (!p)
        return NULL;
    p++;
    const char *end = strstr(p, "\n-- @");
    return xstrndup(p, end ? (size_t)(end - p + 1) : strlen(p));
}

static int flush_partition_stats(struct store *s, char *err, size_t errlen);

/* Brings the schema from version `have` (0: a new store) to this one, one transaction per
 * "-- @version N" block. */
static int migrate(struct store *s, int have, char *err, size_t errlen)
{
    for (int v = have + 1; v <= STORE_SCHEMA_VERSION; v++) {
        char marker[32];
        snprintf(marker, sizeof(marker), "-- @version %d\n", v);
        char *block = schema_block(marker);
        if (!block) {
            snprintf(err, errlen, "schema block %d missing (build error)", v);
            return -1;
        }
        char *sql = xasprintf("BEGIN IMMEDIATE;\n%s\nPRAGMA user_version = %d;\nCOMMIT;", block, v);
        free(block);
        int rc = store_exec(s, sql, err, errlen);
        free(sql);
        if (rc) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

/* A store made by this flowhound, or one made before the marker existed (then stamped now):
 * from here on the file says it is ours. */
static int mark(struct store *s, const struct store_identity *id, char *err, size_t errlen)
{
    if (id->app_id == STORE_APPLICATION_ID)
        return 0;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", (int)STORE_APPLICATION_ID);
    return store_exec(s, sql, err, errlen);
}

static int configure_writer(struct store *s, char *err, size_t errlen)
{
    /* 16 KiB pages for a new store (no effect on an existing one): 7-12% less CPU per
     * inserted row than 4 KiB in storebench (doc/performance.md). First: set after
     * cache_size, it left the daemon with twice the memory (356 MB instead of 172 MB), and
     * WAL fixes the page size once set. */
    if (store_exec(s, "PRAGMA page_size = 16384", err, errlen))
        return -1;
    char *pragmas = xasprintf("PRAGMA cache_size = -%" PRId64 ";"
                              "PRAGMA temp_store = MEMORY;"
                              "PRAGMA foreign_keys = OFF;",
                              s->opt.cache_kib);
    int rc = store_exec(s, pragmas, err, errlen);
    free(pragmas);
    if (rc)
        return rc;
    /* WAL: readers never block the writer. synchronous=NORMAL in WAL mode loses at most the
     * last transactions on power loss, never corrupts; the writer commits every second. */
    return store_exec(s,
                      s->opt.synchronous_off
                          ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
                          : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                      err, errlen);
}

/* Settings of every reader. The writer's (a large cache, in-memory temp store) make SQLite's
 * sorter build one huge in-memory run: top-N over a million flows took twice as long as with
 * SQLite's defaults, which spill sorted runs and merge them. mmap halves the system time of a
 * scan (no pread per page). */
static int configure_reader(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db,
                     "PRAGMA cache_size = -2000; PRAGMA temp_store = FILE; "
                     "PRAGMA mmap_size = 68719476736",
                     NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s: configuring the connection: %s", path,
             msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

/* SQLite's memory statistics take a global mutex around every allocation: 7% of the
 * instructions of an insert (callgrind). Nothing reads them. Only effective before SQLite
 * is first used, which is store_open in the daemon and the CLI. */
static void disable_memstatus(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static sqlite3 *open_db(const char *path, enum store_mode mode, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, disable_memstatus);
    /* SQLite takes "" for a private temporary file, deleted when closed: flows stored there
     * would be lost without a word. */
    if (!*path) {
        snprintf(err, errlen, "the store's path is empty");
        return NULL;
    }
    int flags = mode == STORE_RO            ? SQLITE_OPEN_READONLY
                : mode == STORE_RW_EXISTING ? SQLITE_OPEN_READWRITE
                                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    /* Another connection may hold a lock a while (the writer's batches): wait, do not fail. */
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    return db;
}

int store_check_path(const char *path, char *err, size_t errlen)
{
    if (!*path)
        snprintf(err, errlen,
                 "the path is empty: SQLite would store in a temporary file, "
                 "deleted at exit");
    else if (!strcmp(path, ":memory:"))
        snprintf(err, errlen, "':memory:' is SQLite's memory database, lost at exit: give a file");
    else if (!strncmp(path, "file:", 5))
        snprintf(err, errlen, "'%s' is an SQLite URI: give a plain file path", path);
    else
        return 0;
    return -1;
}

/* A file refused after a look: the last connection to a WAL database checkpoints it when it
 * closes, which would write into another application's file (or an unmigrated store). */
static void leave_untouched(sqlite3 *db)
{
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
}

sqlite3 *store_connect(const char *path, enum store_mode mode, char *err, size_t errlen)
{
    if (mode == STORE_RW) {
        snprintf(err, errlen, "%s: the writer's connection is opened by store_open", path);
        return NULL;
    }
    sqlite3 *db = open_db(path, mode, err, errlen);
    if (!db)
        return NULL;
    /* Only the writer creates or migrates: a reader or alert delivery pointed at another
     * program's file, or one of another version, stops here with the path instead of failing
     * later on a missing table. Alert delivery (STORE_RW_EXISTING) writes a few rows per
     * event: SQLite's defaults. */
    struct store_identity id;
    if (store_identify(db, path, &id, err, errlen) ||
        store_check_readable(path, &id, err, errlen)) {
        leave_untouched(db);
        sqlite3_close(db);
        return NULL;
    }
    if (mode == STORE_RO && configure_reader(db, path, err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* The writer's connection: the file checked before anything is written to it (even WAL mode
 * is written in the header), its settings, the schema brought to this version, the view. */
static int open_writer(struct store *s, char *err, size_t errlen)
{
    struct store_identity id;
    s->db = open_db(s->path, STORE_RW, err, errlen);
    if (!s->db)
        return -1;
    if (store_identify(s->db, s->path, &id, err, errlen) ||
        store_check_writable(s->path, &id, err, errlen)) {
        leave_untouched(s->db);
        return -1;
    }
    if (configure_writer(s, err, errlen) || migrate(s, id.version, err, errlen) ||
        mark(s, &id, err, errlen) || store_wal_configure(s, err, errlen))
        return -1;
    s->partition_ddl = schema_block("-- @partition\n");
    s->index_ddl = schema_block("-- @partition-index\n");
    return store_rebuild_view(s, err, errlen);
}

struct store *store_open(const char *path, enum store_mode mode, const struct store_options *opt,
                         char *err, size_t errlen)
{
    struct store *s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    if (opt)
        s->opt = *opt;
    if (s->opt.partition_ms <= 0)
        s->opt.partition_ms = 3600 * 1000;
    /* 16 MiB: inserts touch only the right edge of the open partition, and an index build
     * reads a whole partition (~160 MB) through the OS cache whatever this is. Against 64 MiB:
     * -45 MB of RSS, CPU per record within noise (3.33 vs 3.24 µs, three paired runs). */
    if (s->opt.cache_kib <= 0)
        s->opt.cache_kib = 16 * 1024;
    if (s->opt.partition_rows <= 0)
        s->opt.partition_rows = STORE_PARTITION_ROWS;
    if (s->opt.wal_limit <= 0)
        s->opt.wal_limit = STORE_WAL_LIMIT;
    bool ok = mode == STORE_RW ? open_writer(s, err, errlen) == 0
                               : (s->db = store_connect(path, mode, err, errlen)) != NULL;
    if (!ok) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->in_txn) {
        char err[256];
        store_commit(s, err, sizeof(err));
    }
    sqlite3_finalize(s->cur.insert);
    sqlite3_close(s->db);
    free(s->partition_ddl);
    free(s->index_ddl);
    free(s->wal_path);
    free(s->shm_path);
    free(s->path);
    free(s);
}

sqlite3 *store_sqlite(struct store *s)
{
    return s->db;
}

const char *store_path(const struct store *s)
{
    return s->path;
}

bool store_in_transaction(const struct store *s)
{
    return s->in_txn;
}

int store_begin(struct store *s, char *err, size_t errlen)
{
    if (s->in_txn)
        return 0;
    if (store_exec(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    s->in_txn = true;
    return 0;
}

int store_commit(struct store *s, char *err, size_t errlen)
{
    if (!s->in_txn)
        return 0;
    if (flush_partition_stats(s, err, errlen) || store_exec(s, "COMMIT", err, errlen)) {
        store_rollback(s);
        return -1;
    }
    s->in_txn = false;
    return 0;
}

/* Abandons the open transaction (after a failed insert: SQLITE_FULL may already have rolled
 * it back). Whatever it held is lost; the partition is looked up again on the next insert. */
void store_rollback(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_txn = false;
    sqlite3_finalize(s->cur.insert);
    memset(&s->cur, 0, sizeof(s->cur));
}

/* ---- partitions ---- */

/* flows_YYYYMMDDHHMM for the first partition of a span, then _2, _3 ... (capped by rows). */
static void partition_name(int64_t span_start, int64_t nth, char *buf, size_t len)
{
    time_t t = (time_t)(span_start / 1000);
    struct tm tm;
    char base[24];
    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "flows_%Y%m%d%H%M", &tm);
    if (nth <= 1)
        snprintf(buf, len, "%s", base);
    else
        snprintf(buf, len, "%.20s_%d", base, (int)(nth % 1000000000));
}

char *store_replace_all(const char *text, const char *from, const char *to)
{
    size_t flen = strlen(from), tlen = strlen(to), n = 0;
    for (const char *p = text; (p = strstr(p, from)); p += flen)
        n++;
    char *out = xmalloc(strlen(text) + n * (tlen + 1) + 1);
    char *o = out;
    for (const char *p = text;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tlen);
        o += tlen;
        p = q + flen;
    }
    return out;
}

const char store_flow_columns[] =
    "exporter, domain, version, src_addr, dst_addr, src_port, dst_port, proto, tcp_flags, "
    "packets, bytes, first_ms, last_ms, in_if, out_if, next_hop, src_as, dst_as, src_mask, "
    "dst_mask, tos, sampling_interval, end_reason, direction, initial_flags, union_flags, "
    "rev_packets, rev_bytes, rev_tcp_flags, fw_event, initiator_bytes, responder_bytes, "
    "post_nat_src_addr, post_nat_dst_addr, post_nat_src_port, post_nat_dst_port, received_ms";

static char *empty_flows_view(void)
{
    char *cols = xstrdup(store_flow_columns);
    size_t cap = sizeof(store_flow_columns) * 3 + 128, len = 0;
    char *sql = xmalloc(cap);
    len = (size_t)snprintf(sql, cap, "DROP VIEW IF EXISTS flows; CREATE VIEW flows AS SELECT ");
    char *save = NULL;
    bool first = true;
    for (char *c = strtok_r(cols, ", ", &save); c; c = strtok_r(NULL, ", ", &save)) {
        len += (size_t)snprintf(sql + len, cap - len, "%sNULL AS %s", first ? "" : ", ", c);
        first = false;
    }
    snprintf(sql + len, cap - len, " WHERE 0;");
    free(cols);
    return sql;
}

/* Recreates the `flows` view over every partition. */
int store_rebuild_view(struct store *s, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM partitions ORDER BY span_start", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(s->db, err, errlen, "listing partitions");
    size_t cap = 4096, len = 0, count = 0;
    char *sql = xmalloc(cap);
    len = (size_t)snprintf(sql, cap, "DROP VIEW IF EXISTS flows; CREATE VIEW flows AS ");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        size_t need = strlen(name) + sizeof(store_flow_columns) + 64;
        if (len + need >= cap) {
            cap = (cap + need) * 2;
            sql = xreallocarray(sql, cap, 1);
        }
        const char *sep = count == 0                      ? "SELECT * FROM ("
                          : count % STORE_VIEW_GROUP == 0 ? ") UNION ALL SELECT * FROM ("
                                                          : " UNION ALL ";
        len += (size_t)snprintf(sql + len, cap - len, "%sSELECT %s FROM \"%s\"", sep,
                                store_flow_columns, name);
        count++;
    }
    sqlite3_finalize(st);
    if (count == 0) {
        /* No partition yet: an empty view with the right columns, so queries work. */
        free(sql);
        sql = empty_flows_view();
        int rc = store_exec(s, sql, err, errlen);
        free(sql);
        return rc;
    }
    if (len + 4 >= cap)
        sql = xreallocarray(sql, cap + 4, 1);
    strcat(sql, ");");
    int rc = store_exec(s, sql, err, errlen);
    free(sql);
    return rc;
}

static int flush_partition_stats(struct store *s, char *err, size_t errlen)
{
    struct partition *p = &s->cur;
    if (!p->insert || p->rows_added == 0)
        return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE partitions SET rows = rows + ?1,"
                           " min_first = min(COALESCE(min_first, ?2), ?2),"
                           " max_last = max(COALESCE(max_last, ?3), ?3),"
                           " newest_ms = max(COALESCE(newest_ms, ?5), ?5) WHERE name = ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s->db, err, errlen, "updating partition stats");
    sqlite3_bind_int64(st, 1, p->rows_added);
    sqlite3_bind_int64(st, 2, p->min_first);
    sqlite3_bind_int64(st, 3, p->max_last);
    sqlite3_bind_text(st, 4, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, p->newest);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(s->db, err, errlen, "updating partition stats");
    p->rows_added = 0;
    p->min_first = INT64_MAX;
    p->max_last = p->newest = INT64_MIN;
    return 0;
}

/* Runs the "-- @partition-index" block on one partition and marks it indexed. */
int store_index_partition(struct store *s, const char *name, char *err, size_t errlen)
{
    char *ddl = store_replace_all(s->index_ddl, "{P}", name);
    int rc = store_exec(s, ddl, err, errlen);
    free(ddl);
    if (rc)
        return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "UPDATE partitions SET indexed = 1 WHERE name = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(s->db, err, errlen, "marking a partition indexed");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(s->db, err, errlen, "marking a partition indexed");
    return 0;
}

/* Indexes every partition still unindexed except `keep` (the one being filled). Normally that
 * is just the partition closed a moment ago; after a restart, what the last run left open. */
static int index_closed_partitions(struct store *s, const char *keep, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM partitions WHERE indexed = 0 AND name != ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s->db, err, errlen, "listing unindexed partitions");
    sqlite3_bind_text(st, 1, keep, -1, SQLITE_STATIC);
    char names[8][PARTITION_NAME_LEN];
    int n = 0;
    while (n < 8 && sqlite3_step(st) == SQLITE_ROW)
        snprintf(names[n++], PARTITION_NAME_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++)
        if (store_index_partition(s, names[i], err, errlen))
            return -1;
    return 0;
}

static int create_partition(struct store *s, struct partition *p, char *err, size_t errlen)
{
    char *ddl = store_replace_all(s->partition_ddl, "{P}", p->name);
    int rc = store_exec(s, ddl, err, errlen);
    free(ddl);
    if (rc)
        return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            s->db, "INSERT INTO partitions (name, span_start, span_end) VALUES (?1, ?2, ?3)", -1,
            &st, NULL) != SQLITE_OK)
        return fail(s->db, err, errlen, "registering partition");
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, p->span_start);
    sqlite3_bind_int64(st, 3, p->span_end);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(s->db, err, errlen, "registering partition");
    /* Bench only: the index maintained row by row, to compare with building it at close. */
    if (s->opt.index_at_insert && store_index_partition(s, p->name, err, errlen))
        return -1;
    return store_rebuild_view(s, err, errlen);
}

/* The newest partition of the span starting at `start`: fills p->name/rows/nth and *indexed;
 * false if none. */
static bool latest_of_span(struct store *s, struct partition *p, int64_t start, bool *indexed)
{
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, rows, (SELECT count(*) FROM partitions WHERE span_start "
                           "= ?1), indexed FROM partitions WHERE span_start = ?1 ORDER BY rowid "
                           "DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, start);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(p->name, sizeof(p->name), "%s", (const char *)sqlite3_column_text(st, 0));
        p->rows = sqlite3_column_int64(st, 1);
        p->nth = sqlite3_column_int64(st, 2);
        *indexed = sqlite3_column_int(st, 3) != 0;
        found = true;
    }
    sqlite3_finalize(st);
    return found;
}

/* Makes s->cur the partition for received time t, creating it when needed: the span's newest
 * partition unless it holds partition_rows rows already or is indexed (closed when time
 * moved to another span: rows appended to it would update its indexes one by one, the cost
 * the build at close exists to avoid; measured: 3.36 against 2.46 CPU µs a row). */
static int switch_partition(struct store *s, int64_t t, char *err, size_t errlen)
{
    if (flush_partition_stats(s, err, errlen))
        return -1;
    sqlite3_finalize(s->cur.insert);
    memset(&s->cur, 0, sizeof(s->cur));
    int64_t span = s->opt.partition_ms;
    int64_t start = (t >= 0 ? t / span : (t - span + 1) / span) * span;
    struct partition *p = &s->cur;
    p->span_start = start;
    p->span_end = start + span;
    p->min_first = INT64_MAX;
    p->max_last = p->newest = INT64_MIN;
    bool indexed = false;
    if (!latest_of_span(s, p, start, &indexed) || p->rows >= s->opt.partition_rows || indexed) {
        p->nth++;
        p->rows = 0;
        partition_name(start, p->nth, p->name, sizeof(p->name));
        if (create_partition(s, p, err, errlen))
            return -1;
    }
    if (index_closed_partitions(s, p->name, err, errlen))
        return -1;
    char *sql = xasprintf("INSERT INTO \"%s\" (src_key, dst_key, %s) VALUES (?1,?2,?3,?4,?5,?6,"
                          "?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,"
                          "?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,?37,?38,?39)",
                          p->name, store_flow_columns);
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &p->insert, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return fail(s->db, err, errlen, "preparing insert");
    row_binder_reset(&p->bind, p->insert);
    return 0;
}

/* ---- flows ---- */


/* IPv4 dotted quad exactly as inet_ntop writes it: inet_ntop goes through snprintf, which
 * was 12% of the whole insert profile. */
static void v4_text(const uint8_t b[4], char *out)
{
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *out++ = (char)('0' + v / 100);
        if (v >= 10)
            *out++ = (char)('0' + v / 10 % 10);
        *out++ = (char)('0' + v % 10);
        *out++ = i < 3 ? '.' : '\0';
    }
}

static void bind_addr(struct row_binder *b, int col, const struct fh_addr *a, char *buf)
{
    if (a->family == 0) {
        row_bind_null(b, col);
        return;
    }
    if (a->family == 4)
        v4_text(a->bytes, buf);
    else
        addr_to_str(a, buf, FH_ADDR_STRLEN);
    row_bind_text(b, col, buf);
}

/* The exporter is the same for long runs of rows: convert and bind it once. */
static void bind_exporter(struct store *s, struct row_binder *b, int col, const struct fh_addr *a)
{
    if (a->family == 0) {
        row_bind_null(b, col);
        return;
    }
    bool changed = !s->exp_valid || memcmp(&s->exp_addr, a, sizeof(*a)) != 0;
    if (changed) {
        s->exp_addr = *a;
        addr_to_str(a, s->exp_text, sizeof(s->exp_text));
        s->exp_valid = true;
    }
    row_bind_text_kept(b, col, s->exp_text, changed);
}

/* Column n of store_flow_columns is parameter C(n): they start at `first`. */
#define C(n) ((n) + first - 1)

/* The view's columns, from parameter `first`; the exporter's text cached in s when given. */
static void bind_view(struct store *s, struct row_binder *b, int first, const struct flow *f,
                      struct store_row_texts *t)
{
    uint32_t p = f->present;
    if (s)
        bind_exporter(s, b, C(1), &f->exporter);
    else
        bind_addr(b, C(1), &f->exporter, t->exp);
    row_bind_int(b, C(2), f->domain);
    row_bind_int(b, C(3), f->version);
    bind_addr(b, C(4), &f->src_addr, t->src);
    bind_addr(b, C(5), &f->dst_addr, t->dst);
    row_bind_int(b, C(6), f->src_port);
    row_bind_int(b, C(7), f->dst_port);
    row_bind_int(b, C(8), f->proto);
    row_bind_opt(b, C(9), p & FF_TCP_FLAGS, f->tcp_flags);
    row_bind_int(b, C(10), clamp_i64(f->packets));
    row_bind_int(b, C(11), clamp_i64(f->bytes));
    row_bind_int(b, C(12), f->first_ms);
    row_bind_int(b, C(13), f->last_ms);
    row_bind_opt(b, C(14), p & FF_IF, f->in_if);
    row_bind_opt(b, C(15), p & FF_IF, f->out_if);
    if (p & FF_NEXT_HOP)
        bind_addr(b, C(16), &f->next_hop, t->hop);
    else
        row_bind_null(b, C(16));
    row_bind_opt(b, C(17), p & FF_AS, f->src_as);
    row_bind_opt(b, C(18), p & FF_AS, f->dst_as);
    row_bind_opt(b, C(19), p & FF_MASK, f->src_mask);
    row_bind_opt(b, C(20), p & FF_MASK, f->dst_mask);
    row_bind_opt(b, C(21), p & FF_TOS, f->tos);
    row_bind_opt(b, C(22), p & FF_SAMPLING, f->sampling_interval);
    row_bind_opt(b, C(23), p & FF_END_REASON, f->end_reason);
    row_bind_opt(b, C(24), p & FF_DIRECTION, f->direction);
    row_bind_opt(b, C(25), p & FF_INITIAL_FLAGS, f->initial_flags);
    row_bind_opt(b, C(26), p & FF_UNION_FLAGS, f->union_flags);
    row_bind_opt(b, C(27), p & FF_REVERSE, clamp_i64(f->rev_packets));
    row_bind_opt(b, C(28), p & FF_REVERSE, clamp_i64(f->rev_bytes));
    row_bind_opt(b, C(29), p & FF_REV_FLAGS, f->rev_tcp_flags);
    row_bind_opt(b, C(30), p & FF_FW_EVENT, f->fw_event);
    row_bind_opt(b, C(31), p & FF_INIT_RESP_BYTES, clamp_i64(f->initiator_bytes));
    row_bind_opt(b, C(32), p & FF_INIT_RESP_BYTES, clamp_i64(f->responder_bytes));
    if (p & FF_POST_NAT) {
        bind_addr(b, C(33), &f->post_nat_src, t->nat_src);
        bind_addr(b, C(34), &f->post_nat_dst, t->nat_dst);
        row_bind_int(b, C(35), f->post_nat_src_port);
        row_bind_int(b, C(36), f->post_nat_dst_port);
    } else {
        for (int c = C(33); c <= C(36); c++)
            row_bind_null(b, c);
    }
    row_bind_int(b, C(37), f->received_ms);
}

/* Parameters 1 src_key, 2 dst_key, then store_flow_columns from 3. */
static void bind_flow(struct store *s, struct row_binder *b, const struct flow *f,
                      struct store_row_texts *t)
{
    row_bind_int(b, 1, store_endpoint_key(&f->src_addr, f->src_port));
    row_bind_int(b, 2, store_endpoint_key(&f->dst_addr, f->dst_port));
    bind_view(s, b, 3, f, t);
}

void store_bind_flow(sqlite3_stmt *st, int first, const struct flow *f, struct store_row_texts *t)
{
    struct row_binder b;
    row_binder_reset(&b, st);
    bind_view(NULL, &b, first, f, t);
}

int store_add_flow(struct store *s, const struct flow *f, char *err, size_t errlen)
{
    struct partition *p = &s->cur;
    if (!p->insert || f->received_ms < p->span_start || f->received_ms >= p->span_end ||
        p->rows >= s->opt.partition_rows)
        if (switch_partition(s, f->received_ms, err, errlen))
            return -1;
    struct store_row_texts t;
    bind_flow(s, &p->bind, f, &t);
    int rc = sqlite3_step(p->insert);
    sqlite3_reset(p->insert);
    if (rc != SQLITE_DONE)
        return fail(s->db, err, errlen, "inserting a flow");
    p->rows_added++;
    p->rows++;
    if (f->first_ms < p->min_first)
        p->min_first = f->first_ms;
    if (f->last_ms > p->max_last)
        p->max_last = f->last_ms;
    int64_t seen = f->last_ms < f->received_ms ? f->last_ms : f->received_ms;
    if (seen > p->newest)
        p->newest = seen;
    return 0;
}

int store_partitions_for(struct store *s, int64_t from_ms, int64_t to_ms, char ***names, size_t *n,
                         char *err, size_t errlen)
{
    struct store_partition *ps;
    if (store_partition_list(s, from_ms, to_ms, &ps, n, err, errlen))
        return -1;
    *names = *n ? xcalloc(*n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < *n; i++)
        (*names)[i] = xstrdup(ps[i].name);
    free(ps);
    return 0;
}

int store_partition_list(struct store *s, int64_t from_ms, int64_t to_ms,
                         struct store_partition **out, size_t *n, char *err, size_t errlen)
{
    if (store_partition_list_db(s->db, from_ms, to_ms, out, n, err, errlen))
        return store_fail(s, err, errlen, "listing partitions");
    return 0;
}

int store_partition_list_db(sqlite3 *db, int64_t from_ms, int64_t to_ms,
                            struct store_partition **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    /* A partition whose stats are not flushed yet (min_first NULL) may hold anything. */
    if (sqlite3_prepare_v2(db,
                           "SELECT name, indexed, rows FROM partitions WHERE min_first IS NULL OR "
                           "(min_first <= ?2 AND max_last >= ?1) ORDER BY span_start, rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "listing partitions: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, from_ms);
    sqlite3_bind_int64(st, 2, to_ms);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xreallocarray(*out, cap, sizeof(**out));
        }
        struct store_partition *p = &(*out)[(*n)++];
        snprintf(p->name, sizeof(p->name), "%s", (const char *)sqlite3_column_text(st, 0));
        p->indexed = sqlite3_column_int(st, 1) != 0;
        p->rows = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return 0;
}
