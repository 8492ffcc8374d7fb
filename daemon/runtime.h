/* runtime.h - the running flowhoundd: its parts, what the main loop does between two turns of
 * the receiver (reload, watchdog), and what the web server asks of it (metrics, health).
 *
 * Threads: the main thread receives (collector/receiver.c: into the journal) and, between two
 * turns, acts on the signals' flags; the decoder thread decodes the journal into the queue
 * (collector/decoder.c); the writer thread stores and runs the analyzer; the web server's threads
 * answer /metrics and /healthz. What the main thread replaces in a reload and other threads
 * read (the listener array, alert delivery) is under a lock; counters are atomic; what the
 * writer thread owns (retention, the analyzer's thresholds) is changed through its mailbox. */
#ifndef FLOWHOUND_RUNTIME_H
#define FLOWHOUND_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/decoder.h"
#include "collector/exporters.h"
#include "collector/journal.h"
#include "collector/listener.h"
#include "collector/receiver.h"
#include "common/flowqueue.h"
#include "common/prefix.h"
#include "common/settings.h"
#include "daemon/hooks.h"
#include "daemon/sdnotify.h"
#include "storage/ch_resume.h"
#include "storage/ch_sink.h"
#include "storage/store.h"
#include "storage/writer.h"

struct runtime {
    /* the command line, read again at each reload (command line wins over the file) */
    int argc;
    char **argv;
    const struct config_cli *cli;
    struct fh_config cfg; /* in force; the main thread's (a reload replaces it) */
    char *db_path;        /* the store (never reloaded): for the metrics' file sizes */
    int64_t started_ms;

    struct store *store;
    struct exporter_table exporters;
    struct fh_prefix *allow; /* exporters.allow */
    struct flow_queue queue;
    struct writer *writer;
    struct ch_sink *ch;        /* flows to ClickHouse (store = clickhouse://); NULL: SQLite */
    struct ch_resume ch_saved; /* how far ClickHouse had the journal, as the state saved it */
    struct exporter_table replay_exporters; /* decodes what ClickHouse lacks again */
    struct fh_prefix *replay_allow;         /* its allow-list: the start's (a reload's is not) */
    bool replay_table;                      /* replay_exporters is set up */
    struct journal *journal; /* every datagram received, until the store has its flows */
    char *journal_dir;
    int64_t journal_limit;  /* journal-size as started (never reloaded; cfg is replaced) */
    struct receiver recv;   /* sockets -> journal */
    struct decoder decoder; /* journal -> queue */
    struct hooks hooks;
    struct sd_notifier notify;
    /* Set once every thread runs: the web server, started first, answers its probes from
     * then on (before, the journal and the decoder do not exist yet). */
    _Atomic bool running;

    pthread_mutex_t lock; /* ls and n_ls: replaced by a reload, read by the metrics */
    struct listener *ls;
    unsigned n_ls;

    /* reloads */
    _Atomic uint64_t reloads_applied, reloads_refused;
    _Atomic bool last_reload_ok;
    uint64_t reload_ticket; /* writer mailbox ticket of the reload not yet applied; 0: none */
};

/* daemon/validate.c: `store` against `db`, at start and at each reload alike (so that a
 * reload compares like with like): no store is sqlite:<db>; sqlite:PATH sets db to PATH (the
 * two naming different files is refused); with ClickHouse, db is this collector's state and
 * instance defaults to the host name. 0, or -1 with what is wrong in err. */
int runtime_resolve_store(struct fh_config *cfg, char *err, size_t errlen);
/* Checks what can be checked without side effects; what is wrong in err, naming the
 * setting. */
int runtime_validate(const struct fh_config *cfg, char *err, size_t errlen);

/* daemon/flowhoundd.c: an exporter table as the configuration sets it up, with an allow-list
 * (cfg.n_allow_exporter prefixes) the caller keeps. */
void runtime_init_exporters(struct runtime *rt, struct exporter_table *t,
                            const struct fh_prefix *allow);

/* daemon/clickhouse.c: with store = clickhouse://, the sender (started with the signals
 * blocked, as the other threads) becomes the writer's sink. 0 (nothing to do with SQLite), or
 * -1 (logged). */
int runtime_start_clickhouse(struct runtime *rt);
/* Where the journal is read from, given the state's position: ClickHouse's record with a
 * ClickHouse store (it lags the state), else the state's. */
struct journal_pos runtime_journal_from(const struct runtime *rt, struct journal_pos state);
/* Once the journal is open: the sender takes its positions, and the decoder decodes again for
 * ClickHouse only the datagrams that the state has and ClickHouse may lack (decoder.h). */
void runtime_clickhouse_journal(struct runtime *rt, struct journal_pos state);
/* After the writer has finished. */
void runtime_clickhouse_free(struct runtime *rt);

/* daemon/reload.c: SIGHUP. Reads the config file and the command line again and applies what
 * changed, or refuses the whole new configuration (logged: file, line, problem). */
void runtime_reload(struct runtime *rt);
/* Called every turn of the main loop: READY=1 once the writer applied the last reload. */
void runtime_reload_poll(struct runtime *rt);
/* Writes the ready file (listeners' bound ports, the web address). */
int runtime_write_ready_file(const struct runtime *rt);

/* daemon/health.c: true when the receiver and the writer make progress and (store_too) the
 * store takes writes; else why. The watchdog asks without store_too: a full disk is not
 * cured by a restart, a hung thread is. */
bool runtime_healthy(struct runtime *rt, bool store_too, char *why, size_t whylen);

/* daemon/metrics.c: the Prometheus text exposition (malloc'd). */
char *runtime_metrics(struct runtime *rt, size_t *len);

#endif
