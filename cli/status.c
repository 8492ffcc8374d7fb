/* status.c - `flowhound status`: the running flowhoundd as a terminal page. It reads what
 * Prometheus reads, GET /metrics (and /healthz) from the daemon's web server at the address
 * and with the credentials of its config file, so the page and the scrape never disagree and
 * the live figures (queue, backlog, analyzer, delivery) are there; the store alone has only
 * what was committed. Exit status 0 when the daemon says it is healthy. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "cli/commands.h"
#include "cli/http_get.h"
#include "cli/metrics_read.h"
#include "collector/listener.h"
#include "common/args.h"
#include "common/settings.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define TIMEOUT_MS 10000

/* ---- printing ---- */

static const char *bytes(double b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

/* 45s, 3m05s, 2h13m, 1h, 4d03h, 7d: two units at most, none that is zero at the end. */
static const char *span(double secs, char *buf, size_t len)
{
    static const struct {
        long long secs;
        const char *name;
    } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    long long s = llround(secs);
    size_t u = 0;
    while (u < 3 && s < units[u].secs)
        u++;
    long long big = s / units[u].secs, rest = u < 3 ? s % units[u].secs / units[u + 1].secs : 0;
    if (rest)
        snprintf(buf, len, "%lld%s%02lld%s", big, units[u].name, rest, units[u + 1].name);
    else
        snprintf(buf, len, "%lld%s", big, units[u].name);
    return buf;
}

#define N(x) ((unsigned long long)llround(x))

/* A series without labels, or the sum of a family's. */
static double total(const struct samples *m, const char *name)
{
    return metrics_val(m, name, NULL, NULL);
}

static void print_head(const struct samples *m, const struct http_reply *health, const char *url)
{
    char b[64], version[64] = "?";
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].name, "flowhound_build_info"))
            metrics_label(&m->v[i], "version", version, sizeof(version));
    double up = (double)now_ms() / 1000 - total(m, "flowhound_start_time_seconds");
    printf("flowhoundd %s at %s, up %s: %s", version, url, span(up, b, sizeof(b)),
           health->status == 200 ? "healthy\n" : "UNHEALTHY, ");
    if (health->status != 200)
        printf("%s", health->body);
    printf("reloads     %llu applied, %llu refused%s\n",
           N(metrics_val(m, "flowhound_config_reloads_total", "result", "applied")),
           N(metrics_val(m, "flowhound_config_reloads_total", "result", "refused")),
           total(m, "flowhound_config_last_reload_successful") ? "" : " (the last one)");
}

static void print_receiving(const struct samples *m)
{
    printf("\nreceiving   %llu datagrams, %llu rejected, %llu from exporters not allowed\n",
           N(total(m, "flowhound_datagrams_received_total")),
           N(total(m, "flowhound_datagrams_rejected_total")),
           N(total(m, "flowhound_datagrams_not_allowed_total")));
    char addr[512];
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].name, "flowhound_listener_datagrams_total")) {
            metrics_label(&m->v[i], "listener", addr, sizeof(addr));
            printf("  UDP %-24s %12llu datagrams %8llu dropped by the kernel\n", addr,
                   N(m->v[i].value),
                   N(metrics_val(m, "flowhound_listener_kernel_drops_total", "listener", addr)));
        }
}

/* With a ClickHouse store: its sender's queue and what it did (the store line above is then
 * the collector's own state file). */
static void print_clickhouse(const struct samples *m)
{
    char b1[32], b2[32];
    if (!metrics_has(m, "flowhound_clickhouse_rows_inserted_total"))
        return;
    printf("  ClickHouse %llu inserted, %llu retries; queue %llu rows, %s of %s%s%s\n",
           N(total(m, "flowhound_clickhouse_rows_inserted_total")),
           N(total(m, "flowhound_clickhouse_insert_retries_total")),
           N(total(m, "flowhound_clickhouse_queue_rows")),
           bytes(total(m, "flowhound_clickhouse_queue_bytes"), b1, sizeof(b1)),
           bytes(total(m, "flowhound_clickhouse_queue_limit_bytes"), b2, sizeof(b2)),
           total(m, "flowhound_clickhouse_full") ? " (full: the rest waits in the journal)" : "",
           total(m, "flowhound_clickhouse_failing") ? "; INSERTS FAILING" : "");
}

static void print_storing(const struct samples *m)
{
    char b1[32], b2[32], b3[32], b4[32];
    printf("storing     %llu rows stored, %llu failed; %llu datagrams lost in the journal%s\n",
           N(total(m, "flowhound_rows_stored_total")), N(total(m, "flowhound_rows_failed_total")),
           N(total(m, "flowhound_journal_lost_total")),
           total(m, "flowhound_store_failing") ? "; WRITES FAILING" : "");
    printf("  journal %s of %s, %s not yet decoded; queue %llu/%llu batches\n",
           bytes(total(m, "flowhound_journal_bytes"), b1, sizeof(b1)),
           bytes(total(m, "flowhound_journal_limit_bytes"), b2, sizeof(b2)),
           bytes(total(m, "flowhound_journal_backlog_bytes"), b3, sizeof(b3)),
           N(total(m, "flowhound_queue_batches")), N(total(m, "flowhound_queue_capacity_batches")));
    double ret = total(m, "flowhound_retention_seconds");
    double max = total(m, "flowhound_max_size_bytes");
    printf("  store %s + WAL %s; retention %s, max-size %s\n",
           bytes(total(m, "flowhound_store_size_bytes"), b1, sizeof(b1)),
           bytes(total(m, "flowhound_store_wal_size_bytes"), b2, sizeof(b2)),
           ret ? span(ret, b3, sizeof(b3)) : "none", max ? bytes(max, b4, sizeof(b4)) : "none");
    print_clickhouse(m);
}

static void print_exporters(const struct samples *m)
{
    static const char *const lost = "flowhound_exporter_records_lost_total";
    char addr[128];
    printf("\n%-22s %10s %12s %9s %24s %9s\n", "exporter", "packets", "records", "rejected",
           "lost seq/queue/store/bad", "last seen");
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].name, "flowhound_exporter_packets_total"))
            continue;
        metrics_label(&m->v[i], "exporter", addr, sizeof(addr));
        char losses[96], ago[32];
        snprintf(losses, sizeof(losses), "%llu/%llu/%llu/%llu",
                 N(metrics_val2(m, lost, "exporter", addr, "reason", "sequence_gap")),
                 N(metrics_val2(m, lost, "exporter", addr, "reason", "queue")),
                 N(metrics_val2(m, lost, "exporter", addr, "reason", "store")),
                 N(metrics_val2(m, lost, "exporter", addr, "reason", "undecodable")));
        double seen =
            metrics_val(m, "flowhound_exporter_last_seen_timestamp_seconds", "exporter", addr);
        printf("%-22s %10llu %12llu %9llu %24s %9s\n", addr, N(m->v[i].value),
               N(metrics_val(m, "flowhound_exporter_records_total", "exporter", addr)),
               N(metrics_val(m, "flowhound_exporter_rejected_packets_total", "exporter", addr)),
               losses, span((double)now_ms() / 1000 - seen, ago, sizeof(ago)));
    }
}

static void print_analyzer(const struct samples *m)
{
    char b1[32], b2[32], b3[32];
    if (!metrics_has(m, "flowhound_analyzer_records_total")) {
        printf("\nanalyzer    off\n");
        return;
    }
    printf("\nanalyzer    %llu TCP records, %llu connections tracked (cap %llu, %llu evicted)\n",
           N(total(m, "flowhound_analyzer_tcp_records_total")),
           N(total(m, "flowhound_analyzer_connections")),
           N(total(m, "flowhound_analyzer_connections_limit")),
           N(total(m, "flowhound_analyzer_connections_evicted_total")));
    printf("  alerts %llu opened, %llu resolved; stale-window %s, alert-quiet %s, alert-hold %s\n",
           N(metrics_val(m, "flowhound_alert_events_total", "event", "opened")),
           N(metrics_val(m, "flowhound_alert_events_total", "event", "resolved")),
           span(total(m, "flowhound_analyzer_stale_window_seconds"), b1, sizeof(b1)),
           span(total(m, "flowhound_analyzer_alert_quiet_seconds"), b2, sizeof(b2)),
           span(total(m, "flowhound_analyzer_alert_hold_seconds"), b3, sizeof(b3)));
}

static void print_delivery(const struct samples *m)
{
    static const char *const ev = "flowhound_alert_delivery_events_total";
    char dest[512];
    bool any = false;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].name, "flowhound_alert_delivery_connected"))
            continue;
        metrics_label(&m->v[i], "destination", dest, sizeof(dest));
        if (!any)
            printf("\nalert delivery\n");
        any = true;
        printf("  %-32s %s; %llu sent, %llu failed, %llu suppressed, %llu waiting, %llu errors\n",
               dest, m->v[i].value ? "connected" : "NOT CONNECTED",
               N(metrics_val2(m, ev, "destination", dest, "result", "sent")),
               N(metrics_val2(m, ev, "destination", dest, "result", "failed")),
               N(metrics_val2(m, ev, "destination", dest, "result", "suppressed")),
               N(metrics_val(m, "flowhound_alert_delivery_queued_events", "destination", dest)),
               N(metrics_val(m, "flowhound_alert_delivery_errors_total", "destination", dest)));
    }
    if (!any)
        printf("\nalert delivery: no alert-syslog destination\n");
}

/* ---- where the daemon is ---- */

static void usage(FILE *f, const struct arg_opt *opts)
{
    fprintf(f, "Usage: flowhound status [-c FILE] [--url URL] [--raw] [--SETTING VALUE]...\n"
               "Shows what the running flowhoundd says of itself: health, listeners, exporters\n"
               "and their losses by reason, queue and backlog, store, analyzer, alert delivery.\n"
               "It reads GET /metrics and /healthz from the daemon's web server, at the web\n"
               "address of the config file (-c, as flowhoundd's) with its web-token or\n"
               "web-user/web-password, over HTTPS (trusting web-cert) when web-cert is set.\n\n");
    args_help(opts, f);
    fprintf(f, "\nExamples:\n"
               "  flowhound status -c /etc/flowhound/flowhound.conf\n"
               "  flowhound status --url http://127.0.0.1:8080 --raw   # the Prometheus text\n"
               "Exit status: 0 healthy, 1 unhealthy or not reachable, 2 usage error.\n");
}

enum { OPT_URL = 1, OPT_RAW };

static const struct arg_opt own_opts[] = {
    {"url", 0, ARG_VALUE, OPT_URL, "URL",
     "the web server, http(s)://HOST:PORT [from web and web-cert]", NULL},
    {"raw", 0, ARG_FLAG, OPT_RAW, NULL, "print the metrics as the daemon sends them", NULL},
    {"help", 'h', ARG_FLAG, 'h', NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static char *opt_url;
static bool opt_raw;

static int own_option(const struct args *a, struct fh_config *cfg)
{
    (void)cfg;
    switch (a->opt->id) {
    case OPT_URL:
        free(opt_url);
        opt_url = xstrdup(a->value);
        return 0;
    case OPT_RAW:
        opt_raw = true;
        return 0;
    default:
        usage(stdout, a->opts);
        return 1;
    }
}

static const struct config_cli cli = {"flowhound status", own_opts, NULL, own_option};

/* HOST and PORT of "ADDR:PORT" (web =) or "http(s)://HOST:PORT[/]"; a wildcard address is
 * reached on loopback. */
static int parse_address(const char *spec, struct http_target *t, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char msg[256];
    const char *hostport = strstr(spec, "://") ? strstr(spec, "://") + 3 : spec;
    t->tls = !strncmp(spec, "https://", 8) || (!strstr(spec, "://") && t->tls);
    char hp[300];
    snprintf(hp, sizeof(hp), "%s", hostport);
    hp[strcspn(hp, "/")] = '\0';
    const char *colon = strrchr(hp, ':');
    if (!colon || !listener_parse(hp, &ss, &len, msg, sizeof(msg))) {
        snprintf(err, errlen, "%s: expected http(s)://ADDR:PORT", spec);
        return -1;
    }
    snprintf(t->port, sizeof(t->port), "%s", colon + 1);
    size_t hl = (size_t)(colon - hp);
    if (hp[0] == '[')
        snprintf(t->host, sizeof(t->host), "%.*s", (int)hl - 2, hp + 1);
    else
        snprintf(t->host, sizeof(t->host), "%.*s", (int)hl, hp);
    if (!t->host[0] || !strcmp(t->host, "0.0.0.0") || !strcmp(t->host, "*"))
        snprintf(t->host, sizeof(t->host), "127.0.0.1");
    else if (!strcmp(t->host, "::"))
        snprintf(t->host, sizeof(t->host), "::1");
    return 0;
}

/* The Authorization header the daemon expects, as web/server.c computes it. */
static char *authorization(const struct fh_config *cfg)
{
    if (cfg->web_token && *cfg->web_token)
        return xasprintf("Bearer %s", cfg->web_token);
    if (!cfg->web_user || !*cfg->web_user)
        return NULL;
    char *plain = xasprintf("%s:%s", cfg->web_user, cfg->web_password ? cfg->web_password : "");
    gnutls_datum_t in = {(unsigned char *)plain, (unsigned)strlen(plain)}, out = {0};
    char *auth = gnutls_base64_encode2(&in, &out) < 0
                     ? NULL
                     : xasprintf("Basic %.*s", (int)out.size, (const char *)out.data);
    gnutls_free(out.data);
    free(plain);
    return auth;
}

static int target_from(const struct fh_config *cfg, struct http_target *t, char *url,
                       size_t url_len, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (!opt_url && !strcmp(cfg->web, "off")) {
        snprintf(err, errlen, "web = off: flowhoundd serves its metrics on its web server only");
        return -1;
    }
    /* With web-cert, the daemon's own certificate is the one to trust (pinned); an https://
     * URL without it is checked against the system's trust store and its host name. */
    t->tls = cfg->web_cert && *cfg->web_cert;
    t->pinned_cert = t->tls ? cfg->web_cert : NULL;
    if (parse_address(opt_url ? opt_url : cfg->web, t, err, errlen))
        return -1;
    snprintf(url, url_len, "%s://%s%s%s:%s", t->tls ? "https" : "http",
             strchr(t->host, ':') ? "[" : "", t->host, strchr(t->host, ':') ? "]" : "", t->port);
    return 0;
}

static int show(const struct http_target *t, const char *url)
{
    char err[512];
    struct http_reply metrics, health;
    if (http_get(t, "/metrics", TIMEOUT_MS, &metrics, err, sizeof(err))) {
        fprintf(stderr, "flowhound status: %s: %s\n", url, err);
        return 1;
    }
    if (metrics.status != 200) {
        fprintf(stderr, "flowhound status: %s/metrics answered %d: %s", url, metrics.status,
                metrics.body);
        free(metrics.body);
        return 1;
    }
    if (opt_raw) {
        fwrite(metrics.body, 1, metrics.len, stdout);
        free(metrics.body);
        return 0;
    }
    if (http_get(t, "/healthz", TIMEOUT_MS, &health, err, sizeof(err)))
        health = (struct http_reply){0, xasprintf("%s\n", err), 0};
    struct samples m = {0};
    metrics_parse(metrics.body, &m);
    print_head(&m, &health, url);
    print_receiving(&m);
    print_storing(&m);
    print_exporters(&m);
    print_analyzer(&m);
    print_delivery(&m);
    int rc = health.status == 200 ? 0 : 1;
    free(m.v);
    free(metrics.body);
    free(health.body);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    struct fh_config cfg;
    config_defaults(&cfg);
    int rc = config_parse_args(&cfg, &cli, argc, argv);
    char err[512], url[400];
    struct http_target t;
    if (rc == 0 && target_from(&cfg, &t, url, sizeof(url), err, sizeof(err))) {
        fprintf(stderr, "flowhound status: %s\n", err);
        rc = 2;
    }
    if (rc == 0) {
        char *auth = authorization(&cfg);
        t.auth = auth;
        rc = show(&t, url);
        free(auth);
    } else if (rc == 1) {
        rc = 0;
    }
    free(opt_url);
    opt_url = NULL;
    config_free(&cfg);
    return rc;
}
