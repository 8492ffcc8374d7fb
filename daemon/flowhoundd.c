/* flowhoundd.c - the collector daemon: sockets -> decoders -> queue -> SQLite writer
 * (-> analyzer -> alerts). Signals only set flags; the receive loop acts on them. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/exporters.h"
#include "collector/fixbuf_decode.h"
#include "collector/listener.h"
#include "collector/receiver.h"
#include "common/args.h"
#include "common/flowqueue.h"
#include "common/log.h"
#include "common/prefix.h"
#include "common/xmalloc.h"
#include "common/settings.h"
#include "daemon/hooks.h"
#include "storage/ch_sink.h"
#include "storage/store.h"
#include "storage/store_url.h"
#include "storage/writer.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f, const struct arg_opt *opts)
{
    fprintf(f, "Usage: flowhoundd [-c FILE] [OPTIONS]\n"
               "NetFlow v5/v9 and IPFIX collector that stores flows in SQLite and alerts on\n"
               "stale connection state.\n\n");
    args_help(opts, f);
    fprintf(f, "\nExamples:\n"
               "  flowhoundd                                  # defaults: ./flowhound.db, UDP 2055 "
               "and 4739, web 127.0.0.1:8080\n"
               "  flowhoundd --db /var/lib/flowhound/flows.db --listen [::]:2055 --web off\n"
               "  flowhoundd --store clickhouse://127.0.0.1:8123/flowhound   # flows to "
               "ClickHouse\n"
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

static enum log_level parse_level(const char *s, bool *ok)
{
    *ok = true;
    if (!strcmp(s, "error"))
        return LOG_LVL_ERR;
    if (!strcmp(s, "warning"))
        return LOG_LVL_WARN;
    if (!strcmp(s, "info"))
        return LOG_LVL_INFO;
    if (!strcmp(s, "debug"))
        return LOG_LVL_DEBUG;
    *ok = false;
    return LOG_LVL_INFO;
}

/* The instance name goes into ClickHouse's rows and, as a literal, into the sender's SQL:
 * letters, digits, '_', '-', '.' only. */
static bool instance_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < STORE_URL_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

/* `store` against `db`: sqlite:PATH is db = PATH (both naming different files is refused);
 * with ClickHouse, db is the local state and instance defaults to the host name. */
static int resolve_store(struct fh_config *cfg, struct store_url *u)
{
    char err[256];
    if (!cfg->store) {
        cfg->store = xasprintf("sqlite:%s", cfg->db);
    } else if (store_url_parse(cfg->store, u, err, sizeof(err)) == 0 && u->kind == STORE_SQLITE &&
               strcmp(cfg->db, "flowhound.db") && strcmp(cfg->db, u->path)) {
        fprintf(stderr, "flowhoundd: store = %s and db = %s name different files: give one\n",
                cfg->store, cfg->db);
        return -1;
    }
    if (store_url_parse(cfg->store, u, err, sizeof(err))) {
        fprintf(stderr, "flowhoundd: store: %s\n", err);
        return -1;
    }
    if (u->kind == STORE_SQLITE) {
        free(cfg->db);
        cfg->db = xstrdup(u->path);
    }
    if (!cfg->instance) {
        char host[256] = "flowhound";
        gethostname(host, sizeof(host) - 1);
        host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")] =
            '\0';
        cfg->instance = xstrdup(host[0] ? host : "flowhound");
    }
    if (!instance_ok(cfg->instance)) {
        fprintf(stderr, "flowhoundd: instance: '%s': letters, digits, '_', '-' and '.' only\n",
                cfg->instance);
        return -1;
    }
    return 0;
}

/* Checks what can be checked without side effects. */
static int validate(struct fh_config *cfg, struct store_url *u)
{
    char err[256];
    bool ok;
    if (resolve_store(cfg, u))
        return -1;
    if (store_check_path(cfg->db, err, sizeof(err))) {
        fprintf(stderr, "flowhoundd: db: %s\n", err);
        return -1;
    }
    parse_level(cfg->log_level, &ok);
    if (!ok) {
        fprintf(stderr, "flowhoundd: log-level: '%s' is not error, warning, info or debug\n",
                cfg->log_level);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (!listener_parse(cfg->listen[i], &ss, &len, err, sizeof(err))) {
            fprintf(stderr, "flowhoundd: listen: %s\n", err);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->n_allow_exporter; i++) {
        struct fh_prefix p;
        if (!prefix_parse(cfg->allow_exporter[i], &p)) {
            fprintf(stderr, "flowhoundd: allow-exporter: '%s' is not an address or prefix\n",
                    cfg->allow_exporter[i]);
            return -1;
        }
    }
    if (cfg->partition_ms < 60000) {
        fprintf(stderr, "flowhoundd: partition: at least 1m\n");
        return -1;
    }
    if (cfg->partition_rows < 1000) {
        fprintf(stderr, "flowhoundd: partition-rows: at least 1000\n");
        return -1;
    }
    if (cfg->queue_batches < 2 || cfg->queue_batches > 65536) {
        fprintf(stderr, "flowhoundd: queue-batches: 2..65536\n");
        return -1;
    }
    if (cfg->template_timeout_ms > 0 && cfg->template_timeout_ms < 1000) {
        fprintf(stderr, "flowhoundd: template-timeout: at least 1s (or 0: never)\n");
        return -1;
    }
    if (cfg->template_changes > 1000000) {
        fprintf(stderr, "flowhoundd: template-changes: at most 1000000 (0: no limit)\n");
        return -1;
    }
    return hooks_validate(cfg, err, sizeof(err)) ? (fprintf(stderr, "flowhoundd: %s\n", err), -1)
                                                 : 0;
}

static int write_ready_file(const char *path, struct listener *ls, unsigned n, const char *web)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "listen %s %u\n", ls[i].spec, listener_port(&ls[i]));
    if (web)
        fprintf(f, "web %s\n", web);
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
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Threads started after this inherit a mask without SIGTERM/SIGINT: only main handles them. */
static void block_signals_for_threads(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Flows to ClickHouse: the writer's sink becomes the sender's queue (storage/ch_sink.h). */
static struct ch_sink *start_clickhouse(const struct fh_config *cfg, const struct store_url *u,
                                        struct exporter_table *t, struct writer *w)
{
    char err[512], warning[600], shown[800];
    struct ch_sink_options o = {
        .url = *u, .instance = cfg->instance, .buffer_bytes = cfg->clickhouse_buffer};
    store_url_display(u, shown, sizeof(shown));
    struct ch_sink *s = ch_sink_start(&o, t, warning, sizeof(warning), err, sizeof(err));
    if (!s) {
        log_err("cannot use ClickHouse %s: %s", shown, err);
        return NULL;
    }
    if (warning[0])
        log_warn("ClickHouse %s: %s", shown, warning);
    struct flow_sink fs = ch_sink_flow_sink(s);
    writer_set_sink(w, &fs);
    log_info("storing flows in ClickHouse %s as instance %s; this collector's state in %s", shown,
             cfg->instance, cfg->db);
    return s;
}

static void log_clickhouse_stats(struct ch_sink *s)
{
    struct ch_sink_stats st;
    ch_sink_get_stats(s, &st);
    log_info("ClickHouse: %llu flows inserted in %llu inserts (%llu retried), %llu dropped",
             (unsigned long long)st.rows_inserted, (unsigned long long)st.inserts,
             (unsigned long long)st.retries, (unsigned long long)st.rows_dropped);
}

static int run(struct fh_config *cfg, const struct store_url *url)
{
    char err[512];
    struct store_options so = {.partition_ms = cfg->partition_ms,
                               .partition_rows = cfg->partition_rows};
    struct store *store = store_open(cfg->db, STORE_RW, &so, err, sizeof(err));
    if (!store) {
        log_err("cannot open the store: %s", err);
        return 1;
    }
    struct exporter_table exporters;
    exporters_init(&exporters, (unsigned)cfg->max_exporters, 64);
    exporters.free_proto_state = fixbuf_free_state;
    exporters.templates.budget_all = (uint64_t)cfg->template_budget;
    exporters.templates.budget_exporter = (uint64_t)cfg->template_budget_exporter;
    exporters.templates.timeout_ms = cfg->template_timeout_ms;
    exporters.templates.changes_per_min = (unsigned)cfg->template_changes;
    struct fh_prefix *allow = xcalloc(cfg->n_allow_exporter, sizeof(*allow));
    for (size_t i = 0; i < cfg->n_allow_exporter; i++)
        prefix_parse(cfg->allow_exporter[i], &allow[i]);
    exporters.allow = allow;
    exporters.n_allow = cfg->n_allow_exporter;
    exporters.clock = (struct flow_clock){cfg->clock_skew_ms, cfg->clock_max_age_ms};
    if (store_load_exporters(store, &exporters, err, sizeof(err)))
        log_warn("exporter counters not restored: %s", err);

    struct listener *ls = xcalloc(cfg->n_listen, sizeof(*ls));
    for (size_t i = 0; i < cfg->n_listen; i++) {
        if (listener_open(&ls[i], cfg->listen[i], (int)cfg->rcvbuf, err, sizeof(err))) {
            log_err("cannot listen: %s", err);
            for (size_t j = 0; j < i; j++)
                listener_close(&ls[j]);
            free(ls);
            exporters_free(&exporters);
            free(allow);
            store_close(store);
            return 1;
        }
        if (cfg->rcvbuf > 0 && ls[i].rcvbuf_granted < cfg->rcvbuf)
            log_warn("%s: asked for a %lld-byte receive buffer, the kernel gave %d: raise "
                     "net.core.rmem_max (sysctl) or bursts will be dropped",
                     cfg->listen[i], (long long)cfg->rcvbuf, ls[i].rcvbuf_granted);
        log_info("listening on UDP %s (port %u)", cfg->listen[i], listener_port(&ls[i]));
    }

    struct flow_queue queue;
    flowq_init(&queue, (size_t)cfg->queue_batches);
    struct writer *writer = writer_new(store, &queue, &exporters, cfg->commit_interval_ms);
    writer_set_retention(writer, cfg->retention_ms, cfg->max_size);
    sigset_t old;
    block_signals_for_threads(&old);
    struct hooks hooks = {0};
    struct ch_sink *ch = NULL;
    int rc = 0;
    err[0] = '\0';
    if (url->kind == STORE_CLICKHOUSE && !(ch = start_clickhouse(cfg, url, &exporters, writer)))
        rc = -1; /* start_clickhouse said why */
    if (rc == 0)
        rc = hooks_start(&hooks, cfg, writer, &exporters, err, sizeof(err));
    if (rc == 0 && writer_start(writer) != 0) {
        snprintf(err, sizeof(err), "cannot start the writer thread");
        rc = -1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        if (err[0])
            log_err("%s", err);
        hooks_stop(&hooks);
        writer_free(writer);
        ch_sink_free(ch);
        for (size_t i = 0; i < cfg->n_listen; i++)
            listener_close(&ls[i]);
        free(ls);
        flowq_destroy(&queue);
        exporters_free(&exporters);
        free(allow);
        store_close(store);
        return 1;
    }
    if (cfg->ready_file &&
        write_ready_file(cfg->ready_file, ls, (unsigned)cfg->n_listen, hooks.web_address))
        log_warn("cannot write %s: %s", cfg->ready_file, strerror(errno));
    if (!ch)
        log_info("storing flows in %s", cfg->db);

    struct receiver recv;
    receiver_init(&recv, ls, (unsigned)cfg->n_listen, &exporters, &queue,
                  (size_t)cfg->receive_backlog);
    receiver_run(&recv, &stop_flag);

    log_info("stopping: flushing %zu queued batches", flowq_depth(&queue));
    flowq_close(&queue);
    writer_join(writer);
    hooks_stop(&hooks);
    struct writer_stats ws;
    writer_get_stats(writer, &ws);
    writer_free(writer);
    if (ch) {
        log_clickhouse_stats(ch);
        ch_sink_free(ch);
    }
    log_info("stopped: %llu datagrams (%llu rejected), %llu flows stored, %llu dropped "
             "(queue %llu, store %llu)",
             (unsigned long long)recv.datagrams, (unsigned long long)recv.rejected,
             (unsigned long long)ws.rows_stored,
             (unsigned long long)(recv.flows_dropped + ws.rows_failed),
             (unsigned long long)recv.flows_dropped, (unsigned long long)ws.rows_failed);
    if (recv.backlog.total)
        log_info("burst backlog: %llu datagrams parked while the writer was behind, peak %zu MiB",
                 (unsigned long long)recv.backlog.total, recv.backlog.peak_bytes >> 20);
    if (recv.backlog_lost)
        log_warn("lost %llu received datagrams not decoded by the stop deadline",
                 (unsigned long long)recv.backlog_lost);
    for (size_t i = 0; i < cfg->n_listen; i++) {
        if (ls[i].kernel_drops)
            log_warn("%s: the kernel dropped %llu datagrams", cfg->listen[i],
                     (unsigned long long)ls[i].kernel_drops);
        listener_close(&ls[i]);
    }
    free(ls);
    flowq_destroy(&queue);
    if (exporters.not_allowed_packets)
        log_warn("rejected %llu datagrams from exporters not in allow-exporter",
                 (unsigned long long)exporters.not_allowed_packets);
    exporters_free(&exporters);
    free(allow);
    store_close(store);
    return 0;
}

int main(int argc, char **argv)
{
    struct fh_config cfg;
    config_defaults(&cfg);
    int rc = config_parse_args(&cfg, &cli, argc, argv);
    if (rc) {
        config_free(&cfg);
        return rc == 1 ? 0 : 2;
    }
    config_finish(&cfg);
    struct store_url url;
    if (validate(&cfg, &url)) {
        config_free(&cfg);
        return 2;
    }
    if (cfg.check_config) {
        config_dump(&cfg, stdout);
        printf("# configuration OK\n");
        config_free(&cfg);
        return 0;
    }
    bool ok;
    log_init("flowhoundd", cfg.daemonize, parse_level(cfg.log_level, &ok));
    if (cfg.daemonize && daemon(1, 0) < 0) {
        fprintf(stderr, "flowhoundd: cannot detach: %s\n", strerror(errno));
        config_free(&cfg);
        return 1;
    }
    if (cfg.pidfile && write_pidfile(cfg.pidfile))
        log_warn("cannot write %s: %s", cfg.pidfile, strerror(errno));
    install_signals();
    rc = run(&cfg, &url);
    if (cfg.pidfile)
        unlink(cfg.pidfile);
    config_free(&cfg);
    return rc;
}
