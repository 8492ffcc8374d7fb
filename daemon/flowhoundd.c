/* flowhoundd.c - the collector daemon: sockets -> receive journal -> decoder -> queue -> writer
 * (-> SQLite, or ClickHouse through its sender) (-> analyzer -> alerts). Signals only set flags;
 * the main loop acts on them between two turns of the receiver (daemon/runtime.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/fixbuf_decode.h"
#include "common/args.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "daemon/privdrop.h"
#include "daemon/runtime.h"

/* How long the receiver runs before the main loop looks at its flags: the latency of a
 * reload and the granularity of the watchdog. Signals interrupt its poll anyway. */
#define TURN_MS 200
/* How often STATUS= (systemctl status) is refreshed. */
#define STATUS_MS 10000
/* At stop: how long the decoder goes on with what the journal holds. What is left then stays
 * there and is stored at the next start: nothing is lost to a stop, and systemd's
 * TimeoutStopSec (3 min) is never reached. */
#define STOP_DECODE_MS 60000

static volatile sig_atomic_t stop_flag, reload_flag, usr1_flag, usr2_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_reload(int sig)
{
    (void)sig;
    reload_flag = 1;
}

static void on_user(int sig)
{
    if (sig == SIGUSR1)
        usr1_flag = 1;
    else
        usr2_flag = 1;
}

static void usage(FILE *f, const struct arg_opt *opts)
{
    fprintf(f, "Usage: flowhoundd [-c FILE] [OPTIONS]\n"
               "NetFlow v5/v9 and IPFIX collector that stores flows in SQLite or ClickHouse and\n"
               "alerts on stale connection state.\n\n");
    args_help(opts, f);
    fprintf(f, "\nExamples:\n"
               "  flowhoundd                                  # defaults: ./flowhound.db, UDP 2055 "
               "and 4739, web 127.0.0.1:8080\n"
               "  flowhoundd --db /var/lib/flowhound/flows.db --listen [::]:2055 --web off\n"
               "  flowhoundd --store clickhouse://127.0.0.1:8123/flowhound   # flows to "
               "ClickHouse\n"
               "Signals: SIGHUP reads -c FILE again and applies it (an invalid file is refused,\n"
               "the running settings stay); SIGTERM or SIGINT stops after storing what was\n"
               "received. Metrics: GET /metrics and /healthz on the web address.\n"
               "See flowhoundd(8) and flowhound.conf(5).\n");
}

enum { OPT_CHECK = 1 };

static const struct arg_opt own_opts[] = {
    {"check-config", 0, ARG_FLAG, OPT_CHECK, NULL, "check the settings, print them, exit", NULL},
    {"help", 'h', ARG_FLAG, 'h', NULL, "this help", NULL},
    {"version", 'V', ARG_FLAG, 'V', NULL, "print the version", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static int own_option(const struct args *a, struct fh_config *cfg)
{
    switch (a->opt->id) {
    case 'h':
        usage(stdout, a->opts);
        return 1;
    case 'V':
        printf("flowhoundd %s\n", PACKAGE_VERSION);
        return 1;
    default:
        cfg->check_config = true;
        return 0;
    }
}

static const struct config_cli cli = {
    "flowhoundd", own_opts,
    "Every setting of the config file is also an option (command line wins):", own_option};

int runtime_write_ready_file(const struct runtime *rt)
{
    char tmp[4096];
    const char *path = rt->cfg.ready_file;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    for (unsigned i = 0; i < rt->n_ls; i++)
        fprintf(f, "listen %s %u\n", rt->ls[i].spec, listener_port(&rt->ls[i]));
    if (rt->hooks.web)
        fprintf(f, "web %s\n", rt->hooks.web_address);
    fclose(f);
    return rename(tmp, path);
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_user;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Threads started after this inherit a mask without the signals above: only main handles
 * them, and its poll() returns at once. */
static void block_signals_for_threads(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&set, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* ---- start and stop ---- */

static char *probe_metrics(void *ctx, size_t *len)
{
    struct runtime *rt = ctx;
    if (!atomic_load(&rt->running)) {
        char *none = xstrdup("# flowhoundd is starting: no metrics yet\n");
        *len = strlen(none);
        return none;
    }
    return runtime_metrics(ctx, len);
}

static bool probe_health(void *ctx, char *why, size_t len)
{
    struct runtime *rt = ctx;
    if (!atomic_load(&rt->running)) {
        snprintf(why, len, "starting");
        return false;
    }
    return runtime_healthy(ctx, true, why, len);
}

static void close_listeners(struct runtime *rt)
{
    for (unsigned i = 0; i < rt->n_ls; i++)
        listener_close(&rt->ls[i]);
    free(rt->ls);
    rt->ls = NULL;
    rt->n_ls = 0;
}

static int open_listeners(struct runtime *rt)
{
    char err[512];
    const struct fh_config *cfg = &rt->cfg;
    rt->ls = xcalloc(cfg->n_listen ? cfg->n_listen : 1, sizeof(*rt->ls));
    for (size_t i = 0; i < cfg->n_listen; i++) {
        if (listener_open(&rt->ls[i], cfg->listen[i], (int)cfg->rcvbuf, err, sizeof(err))) {
            log_err("cannot listen: %s", err);
            return -1;
        }
        rt->n_ls++;
        if (cfg->rcvbuf > 0 && rt->ls[i].rcvbuf_granted < cfg->rcvbuf)
            log_warn("%s: asked for a %lld-byte receive buffer, the kernel gave %d: raise "
                     "net.core.rmem_max (sysctl) or bursts will be dropped",
                     cfg->listen[i], (long long)cfg->rcvbuf, rt->ls[i].rcvbuf_granted);
        log_info("listening on UDP %s (port %u)", cfg->listen[i], listener_port(&rt->ls[i]));
    }
    return 0;
}

void runtime_init_exporters(struct runtime *rt, struct exporter_table *t,
                            const struct fh_prefix *allow)
{
    const struct fh_config *cfg = &rt->cfg;
    exporters_init(t, (unsigned)cfg->max_exporters, 64);
    t->free_proto_state = fixbuf_free_state;
    t->templates.budget_all = (uint64_t)cfg->template_budget;
    t->templates.budget_exporter = (uint64_t)cfg->template_budget_exporter;
    t->templates.timeout_ms = cfg->template_timeout_ms;
    t->templates.changes_per_min = (unsigned)cfg->template_changes;
    t->clock = (struct flow_clock){cfg->clock_skew_ms, cfg->clock_max_age_ms};
    exporters_set_allow(t, allow, cfg->n_allow_exporter);
}

static int open_store(struct runtime *rt)
{
    char err[512];
    const struct fh_config *cfg = &rt->cfg;
    struct store_options so = {.partition_ms = cfg->partition_ms,
                               .partition_rows = cfg->partition_rows};
    rt->store = store_open(cfg->db, STORE_RW, &so, err, sizeof(err));
    if (!rt->store) {
        log_err("cannot open the store: %s", err);
        return -1;
    }
    rt->db_path = xstrdup(cfg->db);
    rt->journal_dir = xstrdup(cfg->journal_dir);
    rt->allow = xcalloc(cfg->n_allow_exporter, sizeof(*rt->allow));
    for (size_t i = 0; i < cfg->n_allow_exporter; i++)
        prefix_parse(cfg->allow_exporter[i], &rt->allow[i]);
    runtime_init_exporters(rt, &rt->exporters, rt->allow);
    if (store_load_exporters(rt->store, &rt->exporters, err, sizeof(err)))
        log_warn("exporter counters not restored: %s", err);
    return 0;
}

/* Segments of an eighth of journal-size, 1 to 64 MiB: the journal drops whole segments at its
 * bound, so a small journal (a test's, a small disk's) keeps most of its size. */
static uint64_t journal_segment_bytes(int64_t journal_size)
{
    uint64_t seg = (uint64_t)journal_size / 8;
    return seg < (1u << 20) ? (1u << 20) : seg > (64u << 20) ? (64u << 20) : seg;
}

/* The journal, read from the position the store has taken: what a stop left there, or a
 * crash, is decoded and stored first. Opened as the user flowhoundd runs as. */
static int open_journal(struct runtime *rt, char *err, size_t errlen)
{
    const struct fh_config *cfg = &rt->cfg;
    struct journal_pos state;
    char msg[256];
    if (store_load_journal_pos(rt->store, &state, msg, sizeof(msg))) {
        snprintf(err, errlen, "the store's journal position: %s", msg);
        return -1;
    }
    struct journal_opts o = {.dir = rt->journal_dir,
                             .segment_bytes = journal_segment_bytes(cfg->journal_size),
                             .max_bytes = (uint64_t)cfg->journal_size,
                             .min_free_bytes = (uint64_t)cfg->journal_min_free,
                             .no_sync = !cfg->journal_sync,
                             .on_lost = receiver_journal_lost,
                             .ctx = &rt->recv};
    rt->journal = journal_open(&o, runtime_journal_from(rt, state), msg, sizeof(msg));
    if (!rt->journal) {
        snprintf(err, errlen, "cannot open the receive journal: %s", msg);
        return -1;
    }
    rt->recv.journal = rt->journal;
    rt->journal_limit = cfg->journal_size;
    writer_set_journal(rt->writer, rt->journal);
    decoder_init(&rt->decoder, rt->journal, &rt->exporters, &rt->queue);
    runtime_clickhouse_journal(rt, state);
    struct journal_stats st;
    journal_get_stats(rt->journal, &st);
    if (st.backlog_bytes)
        log_info("receive journal %s: %llu bytes received before the last stop, stored first",
                 rt->journal_dir, (unsigned long long)st.backlog_bytes);
    return 0;
}

/* The writer and what runs beside it (web, analyzer, delivery), with the signals blocked. */
static int start_threads(struct runtime *rt)
{
    static struct web_probes probes = {probe_metrics, probe_health, NULL};
    char err[512];
    const struct fh_config *cfg = &rt->cfg;
    probes.ctx = rt;
    flowq_init(&rt->queue, (size_t)cfg->queue_batches);
    rt->writer = writer_new(rt->store, &rt->queue, &rt->exporters, cfg->commit_interval_ms);
    writer_set_retention(rt->writer, cfg->retention_ms, cfg->max_size);
    receiver_init(&rt->recv, rt->ls, rt->n_ls, &rt->exporters, NULL);
    sigset_t old;
    block_signals_for_threads(&old);
    err[0] = '\0';
    int rc = runtime_start_clickhouse(rt); /* it says why itself */
    if (rc == 0)
        rc = hooks_start(&rt->hooks, cfg, rt->writer, &rt->exporters, &probes, err, sizeof(err));
    /* Every socket is bound and the store open: nothing after this needs root. */
    if (rc == 0 && cfg->user &&
        privdrop_apply(cfg->user, cfg->db, rt->journal_dir, err, sizeof(err)))
        rc = -1;
    if (rc == 0)
        rc = open_journal(rt, err, sizeof(err));
    if (rc == 0 && writer_start(rt->writer) != 0) {
        snprintf(err, sizeof(err), "cannot start the writer thread");
        rc = -1;
    }
    if (rc == 0 && decoder_start(&rt->decoder) != 0) {
        snprintf(err, sizeof(err), "cannot start the decoder thread");
        flowq_close(&rt->queue);
        writer_join(rt->writer);
        rc = -1;
    }
    if (rc == 0)
        atomic_store(&rt->running, true);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc && err[0])
        log_err("%s", err);
    return rc;
}

static void free_runtime(struct runtime *rt)
{
    close_listeners(rt);
    if (rt->writer)
        flowq_destroy(&rt->queue);
    writer_free(rt->writer);
    runtime_clickhouse_free(rt);
    if (rt->store) {
        exporters_free(&rt->exporters);
        store_close(rt->store);
    }
    journal_close(rt->journal);
    free(rt->journal_dir);
    free(rt->allow);
    free(rt->db_path);
    pthread_mutex_destroy(&rt->lock);
    sdn_close(&rt->notify);
}

static void log_totals(struct runtime *rt)
{
    struct writer_stats ws;
    struct journal_stats js;
    struct decoder *d = &rt->decoder;
    writer_get_stats(rt->writer, &ws);
    journal_get_stats(rt->journal, &js);
    log_info("stopped: %llu datagrams received, %llu decoded (%llu rejected), %llu flows "
             "stored, %llu dropped (store)",
             (unsigned long long)rt->recv.datagrams, (unsigned long long)d->datagrams,
             (unsigned long long)d->rejected, (unsigned long long)ws.rows_stored,
             (unsigned long long)ws.rows_failed);
    if (js.backlog_bytes)
        log_info("receive journal: %llu bytes received and not yet decoded stay in %s: stored "
                 "at the next start",
                 (unsigned long long)js.backlog_bytes, rt->journal_dir);
    if (js.lost)
        log_warn("receive journal: %llu datagrams lost over its bounds or to write errors "
                 "(journal_lost)",
                 (unsigned long long)js.lost);
    if (js.torn)
        log_warn("receive journal: %llu torn records skipped", (unsigned long long)js.torn);
    for (unsigned i = 0; i < rt->n_ls; i++)
        if (rt->ls[i].kernel_drops)
            log_warn("%s: the kernel dropped %llu datagrams", rt->ls[i].spec,
                     (unsigned long long)rt->ls[i].kernel_drops);
    if (rt->exporters.not_allowed_packets)
        log_warn("rejected %llu datagrams from exporters not in allow-exporter",
                 (unsigned long long)rt->exporters.not_allowed_packets);
    if (rt->ch) {
        struct ch_sink_stats st;
        ch_sink_get_stats(rt->ch, &st);
        log_info("ClickHouse: %llu flows inserted in %llu inserts (%llu retried), %llu left in "
                 "the receive journal",
                 (unsigned long long)st.rows_inserted, (unsigned long long)st.inserts,
                 (unsigned long long)st.retries, (unsigned long long)st.rows_left);
    }
}

/* ---- the main loop ---- */

static void status(struct runtime *rt)
{
    struct writer_stats ws;
    writer_get_stats(rt->writer, &ws);
    sdn_send(&rt->notify, "STATUS=running: %u listeners, %llu flows stored, %llu datagrams",
             rt->n_ls, (unsigned long long)ws.rows_stored,
             (unsigned long long)atomic_load(&rt->recv.datagrams));
}

/* logrotate's habit (SIGUSR1 to reopen logs) must not kill the daemon, nor pass unseen. */
static void user_signals(void)
{
    for (int n = 1; n <= 2; n++) {
        volatile sig_atomic_t *flag = n == 1 ? &usr1_flag : &usr2_flag;
        if (!*flag)
            continue;
        *flag = 0;
        log_info("SIGUSR%d ignored: flowhoundd writes no log file of its own (stderr, the "
                 "journal or syslog), so there is nothing to reopen",
                 n);
    }
}

/* WATCHDOG=1 only while both threads make progress: a hung thread gets us restarted. */
static void watchdog(struct runtime *rt, int64_t now)
{
    static struct log_limit lim = LOG_LIMIT_INIT(1.0 / 60, 1);
    char why[256];
    if (!sdn_watchdog_due(&rt->notify, now))
        return;
    if (runtime_healthy(rt, false, why, sizeof(why)))
        sdn_send(&rt->notify, "WATCHDOG=1");
    else
        log_ratelimited(&lim, LOG_LVL_ERR, "watchdog not notified: %s", why);
}

static void main_loop(struct runtime *rt)
{
    int64_t next_status = mono_ms() + STATUS_MS;
    while (!stop_flag) {
        receiver_run_for(&rt->recv, &stop_flag, mono_ms() + TURN_MS);
        if (reload_flag) {
            reload_flag = 0;
            runtime_reload(rt);
        }
        user_signals();
        runtime_reload_poll(rt);
        int64_t now = mono_ms();
        watchdog(rt, now);
        if (now >= next_status) {
            status(rt);
            next_status = now + STATUS_MS;
        }
    }
}

/* How long the stop decodes what the journal holds: not at all while ClickHouse takes no
 * flows, or has no room for them (it stays in the journal, for the next start). */
static int64_t stop_decode_ms(struct runtime *rt)
{
    struct ch_sink_stats st;
    if (!rt->ch)
        return STOP_DECODE_MS;
    ch_sink_get_stats(rt->ch, &st);
    return st.failing_since_ms || st.full ? 0 : STOP_DECODE_MS;
}

static int run(struct runtime *rt)
{
    char err[256];
    if (sdn_init(&rt->notify, err, sizeof(err)))
        log_warn("%s", err);
    if (open_store(rt) || open_listeners(rt) || start_threads(rt)) {
        if (rt->writer)
            hooks_stop(&rt->hooks);
        free_runtime(rt);
        return 1;
    }
    if (rt->cfg.ready_file && runtime_write_ready_file(rt))
        log_warn("cannot write %s: %s", rt->cfg.ready_file, strerror(errno));
    if (!rt->ch)
        log_info("storing flows in %s", rt->cfg.db);
    sdn_send(&rt->notify, "READY=1\nMAINPID=%ld\nSTATUS=running: %u listeners", (long)getpid(),
             rt->n_ls);
    main_loop(rt);
    sdn_send(&rt->notify, "STOPPING=1\nSTATUS=stopping: storing what was received");
    receiver_finish(&rt->recv);
    writer_drain(rt->writer); /* a full ClickHouse queue must not hold the decoder's stop */
    decoder_stop(&rt->decoder, stop_decode_ms(rt));
    log_info("stopping: flushing %zu queued batches", flowq_depth(&rt->queue));
    flowq_close(&rt->queue);
    writer_join(rt->writer);
    hooks_stop(&rt->hooks);
    log_totals(rt);
    free_runtime(rt);
    return 0;
}

int main(int argc, char **argv)
{
    static struct runtime rt = {.argc = 0, .last_reload_ok = true};
    char err[512];
    config_defaults(&rt.cfg);
    int rc = config_parse_args(&rt.cfg, &cli, argc, argv);
    if (rc) {
        config_free(&rt.cfg);
        return rc == 1 ? 0 : 2;
    }
    config_finish(&rt.cfg);
    if (runtime_resolve_store(&rt.cfg, err, sizeof(err)) ||
        runtime_validate(&rt.cfg, err, sizeof(err))) {
        fprintf(stderr, "flowhoundd: %s\n", err);
        config_free(&rt.cfg);
        return 2;
    }
    if (rt.cfg.check_config) {
        config_dump(&rt.cfg, stdout);
        printf("# configuration OK\n");
        config_free(&rt.cfg);
        return 0;
    }
    enum log_level lvl;
    log_level_from_name(rt.cfg.log_level, &lvl);
    log_init("flowhoundd", rt.cfg.daemonize, lvl);
    if (rt.cfg.receive_backlog)
        log_warn("receive-backlog is obsolete and ignored: received datagrams wait in the "
                 "receive journal on disk (journal, journal-size)");
    privdrop_start(rt.cfg.user);
    if (rt.cfg.daemonize && daemon(1, 0) < 0) {
        fprintf(stderr, "flowhoundd: cannot detach: %s\n", strerror(errno));
        config_free(&rt.cfg);
        return 1;
    }
    if (rt.cfg.pidfile && write_pidfile(rt.cfg.pidfile))
        log_warn("cannot write %s: %s", rt.cfg.pidfile, strerror(errno));
    install_signals();
    rt.argc = argc;
    rt.argv = argv;
    rt.cli = &cli;
    rt.started_ms = now_ms();
    pthread_mutex_init(&rt.lock, NULL);
    rc = run(&rt);
    if (rt.cfg.pidfile)
        unlink(rt.cfg.pidfile);
    config_free(&rt.cfg);
    return rc;
}
