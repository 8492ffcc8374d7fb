/* settings.c - the settings table, file parser and setters. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "common/settings.h"

#define OFF(f) offsetof(struct fh_config, f)

/* Every key, its default and its help. --help, --check-config and the man page follow this. */
const struct cfg_key config_keys[] = {
    {"db", CFG_STR, OFF(db), 0, "flowhound.db", "PATH",
     "SQLite store (created if missing); with a ClickHouse store, this collector's state"},
    {"store", CFG_STR, OFF(store), 0, NULL, "URL",
     "where flows go: sqlite:PATH (as db) or clickhouse://HOST:8123/DATABASE[?cluster=NAME]"},
    {"instance", CFG_STR, OFF(instance), 0, NULL, "NAME",
     "this collector's name in a shared ClickHouse [the host name]"},
    {"clickhouse-buffer", CFG_SIZE, OFF(clickhouse_buffer), 0, "256M", "BYTES",
     "flows held in memory while ClickHouse is slow or away (more wait in the journal)"},
    {"listen", CFG_STRLIST, OFF(listen), OFF(n_listen), "0.0.0.0:2055 0.0.0.0:4739", "[ADDR]:PORT",
     "UDP socket for exporters, any version (repeatable)"},
    {"web", CFG_STR, OFF(web), 0, "127.0.0.1:8080", "ADDR:PORT|off", "web UI and JSON API"},
    {"web-user", CFG_STR, OFF(web_user), 0, NULL, "NAME",
     "web: HTTP basic user (with web-password)"},
    {"web-password", CFG_STR, OFF(web_password), 0, NULL, "SECRET", "web: HTTP basic password"},
    {"web-token", CFG_STR, OFF(web_token), 0, NULL, "SECRET",
     "web: accept 'Authorization: Bearer SECRET'"},
    {"web-cert", CFG_STR, OFF(web_cert), 0, NULL, "PEM", "web: TLS certificate (HTTPS)"},
    {"web-key", CFG_STR, OFF(web_key), 0, NULL, "PEM", "web: TLS private key"},
    {"web-query-timeout", CFG_DURATION, OFF(web_query_timeout_ms), 0, "10s", "DURATION",
     "web: longest query of one request"},
    {"web-max-rows", CFG_INT, OFF(web_max_rows), 0, "10000", "N",
     "web: largest page of rows one request may ask for"},
    {"web-max-connections", CFG_INT, OFF(web_max_connections), 0, "256", "N",
     "web: open connections at most, of all clients"},
    {"web-client-connections", CFG_INT, OFF(web_client_connections), 0, "16", "N",
     "web: open connections of one client (IPv6: a /64) at most"},
    {"web-header-timeout", CFG_DURATION, OFF(web_header_timeout_ms), 0, "5s", "DURATION",
     "web: a new connection's time to send a whole request"},
    {"web-idle-timeout", CFG_DURATION, OFF(web_idle_timeout_ms), 0, "30s", "DURATION",
     "web: a kept-alive connection's time for its next request"},
    {"web-login-failures", CFG_INT, OFF(web_login_failures), 0, "5", "N",
     "web: failed logins of a client per window, then 429"},
    {"web-login-window", CFG_DURATION, OFF(web_login_window_ms), 0, "1m", "DURATION",
     "web: the window of web-login-failures"},
    {"rcvbuf", CFG_SIZE, OFF(rcvbuf), 0, "32M", "BYTES", "socket receive buffer to ask for"},
    {"partition", CFG_DURATION, OFF(partition_ms), 0, "1h", "DURATION",
     "receive-time span of one flows_* table"},
    {"partition-rows", CFG_INT, OFF(partition_rows), 0, "1000000", "N",
     "rows of one flows_* table at most (its index is built when full)"},
    {"retention", CFG_DURATION, OFF(retention_ms), 0, "0", "DURATION",
     "drop flows older than this (0 = keep)"},
    {"max-size", CFG_SIZE, OFF(max_size), 0, "0", "BYTES",
     "drop the oldest flows while the store is larger (0 = no limit)"},
    {"commit-interval", CFG_DURATION, OFF(commit_interval_ms), 0, "1s", "DURATION",
     "longest time between commits (what a crash can lose)"},
    {"queue-batches", CFG_INT, OFF(queue_batches), 0, "64", "N",
     "batches of 512 flows between receiver and writer"},
    {"journal", CFG_STR, OFF(journal_dir), 0, NULL, "DIR",
     "receive journal: every datagram on disk until its flows are stored [DB.received]"},
    {"journal-size", CFG_SIZE, OFF(journal_size), 0, "8G", "BYTES",
     "most disk the receive journal takes; beyond, the oldest datagrams not yet stored are "
     "dropped and counted (journal_lost)"},
    {"journal-min-free", CFG_SIZE, OFF(journal_min_free), 0, "512M", "BYTES",
     "free disk the receive journal leaves on its filesystem, dropping as above"},
    {"journal-sync", CFG_BOOL, OFF(journal_sync), 0, "yes", NULL,
     "fdatasync the journal before decoding it, so that a power loss loses nothing stored"},
    {"receive-backlog", CFG_SIZE, OFF(receive_backlog), 0, "0", "BYTES",
     "obsolete: the receive journal replaced the memory backlog (journal-size); ignored"},
    {"max-exporters", CFG_INT, OFF(max_exporters), 0, "4096", "N",
     "exporters tracked; datagrams from more are rejected"},
    {"template-budget", CFG_SIZE, OFF(template_budget), 0, "64M", "BYTES",
     "memory for v9/IPFIX templates of all exporters; more are refused (0 = no limit)"},
    {"template-budget-exporter", CFG_SIZE, OFF(template_budget_exporter), 0, "4M", "BYTES",
     "memory for one exporter's v9/IPFIX templates; more are refused (0 = no limit)"},
    {"template-timeout", CFG_DURATION, OFF(template_timeout_ms), 0, "30m", "DURATION",
     "v9/IPFIX templates not refreshed for this long expire (0 = never)"},
    {"template-changes", CFG_INT, OFF(template_changes), 0, "60", "N",
     "template redefinitions and withdrawals a minute per exporter domain; more are refused "
     "(0 = no limit)"},
    {"exporter-name", CFG_STRLIST, OFF(exporter_name), OFF(n_exporter_name), NULL, "ADDR NAME",
     "show the exporter at ADDR as NAME in the web UI and API (repeatable)"},
    {"allow-exporter", CFG_STRLIST, OFF(allow_exporter), OFF(n_allow_exporter), NULL, "PREFIX",
     "accept datagrams only from these exporters (repeatable; default: any)"},
    {"clock-skew", CFG_DURATION, OFF(clock_skew_ms), 0, "10m", "DURATION",
     "flows ending this long after we receive them are dated in the future: stored, counted, "
     "not analysed"},
    {"clock-max-age", CFG_DURATION, OFF(clock_max_age_ms), 0, "1d", "DURATION",
     "flows ending this long before we receive them are dated in the past: stored, counted"},
    {"alert-syslog", CFG_STRLIST, OFF(alert_syslog), OFF(n_alert_syslog), NULL,
     "local|udp://H:P|tcp://H:P|tls://H:P", "send alerts to syslog (repeatable)"},
    {"alert-syslog-facility", CFG_STR, OFF(alert_syslog_facility), 0, "daemon", "NAME",
     "syslog facility of alerts (daemon, user, local0..local7, ...)"},
    {"alert-syslog-severity", CFG_STR, OFF(alert_syslog_severity), 0, "info", "LEVEL",
     "send alert events at least this severe (opened/updated: warning, resolved: notice)"},
    {"alert-syslog-rate", CFG_INT, OFF(alert_syslog_rate), 0, "20", "N",
     "alert events a minute per client address, more are suppressed (0: no limit)"},
    {"alert-syslog-dedup", CFG_DURATION, OFF(alert_syslog_dedup_ms), 0, "5m", "DURATION",
     "suppress updates of an alert sooner than this after the last one sent (0: off)"},
    {"alert-syslog-hostname", CFG_STR, OFF(alert_syslog_hostname), 0, NULL, "NAME",
     "HOSTNAME in syslog messages [the system's host name]"},
    {"alert-syslog-pen", CFG_INT, OFF(alert_syslog_pen), 0, "32473", "N",
     "IANA enterprise number of the structured-data ID flowhound@N"},
    {"alert-syslog-ca", CFG_STR, OFF(alert_syslog_ca), 0, NULL, "PATH",
     "CA certificates (PEM) that tls:// receivers must chain to [system trust store]"},
    {"alert-syslog-cert", CFG_STR, OFF(alert_syslog_cert), 0, NULL, "PATH",
     "client certificate (PEM) for tls:// receivers that require one"},
    {"alert-syslog-key", CFG_STR, OFF(alert_syslog_key), 0, NULL, "PATH",
     "private key (PEM) of alert-syslog-cert"},
    {"alert-syslog-tls-insecure", CFG_BOOL, OFF(alert_syslog_tls_insecure), 0, "no", NULL,
     "do not verify tls:// receivers' certificates (testing only)"},
    {"alert-syslog-queue", CFG_INT, OFF(alert_syslog_queue), 0, "1024", "N",
     "alert events held in memory per destination (the rest wait in the store)"},
    {"analyzer", CFG_BOOL, OFF(analyzer), 0, "yes", NULL,
     "rebuild connections and raise stale-state alerts"},
    {"stale-window", CFG_DURATION, OFF(stale_window_ms), 0, "24h", "DURATION",
     "failed attempts this long after an unclosed connection raise an alert"},
    {"alert-quiet", CFG_DURATION, OFF(alert_quiet_ms), 0, "1h", "DURATION",
     "an alert resolves after this long (flow time) without failed attempts"},
    {"alert-hold", CFG_DURATION, OFF(alert_hold_ms), 0, "2s", "DURATION",
     "wait this long for other vantage points before opening an alert"},
    {"analyzer-max-conns", CFG_INT, OFF(analyzer_max_conns), 0, "262144", "N",
     "connection state table cap (oldest evicted, counted)"},
    {"analyzer-connections", CFG_BOOL, OFF(analyzer_connections), 0, "no", NULL,
     "also write every rebuilt connection to the connections table"},
    {"vantage-inner", CFG_STRLIST, OFF(vantage_inner), OFF(n_vantage_inner), NULL,
     "ADDR[/DOMAIN]|*/DOMAIN", "exporter on the server side of a middlebox (repeatable)"},
    {"log-level", CFG_STR, OFF(log_level), 0, "info", "LEVEL", "error, warning, info or debug"},
    {"user", CFG_STR, OFF(user), 0, NULL, "NAME",
     "started as root: run as this user and its group once the sockets are bound"},
    {"daemon", CFG_BOOL, OFF(daemonize), 0, "no", NULL, "detach and log to syslog"},
    {"pidfile", CFG_STR, OFF(pidfile), 0, NULL, "PATH", "write the process id here"},
    {"ready-file", CFG_STR, OFF(ready_file), 0, NULL, "PATH",
     "when listening, write the bound ports here (for scripts)"},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static const struct cfg_key *find_key(const char *key)
{
    for (const struct cfg_key *k = config_keys; k->key; k++)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

static bool parse_size(const char *s, int64_t *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        break;
    case 'K':
        mult = 1024.0;
        break;
    case 'M':
        mult = 1024.0 * 1024;
        break;
    case 'G':
        mult = 1024.0 * 1024 * 1024;
        break;
    case 'T':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        return false;
    }
    if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && end[2] == '\0'))
        return false;
    if (v * mult > 9.2e18)
        return false;
    *out = (int64_t)(v * mult);
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0"))
        *out = false;
    else
        return false;
    return true;
}

/* The message names the value, not the key: the config file and the command line name the
 * key each their own way. */
static int set_key(struct fh_config *c, const struct cfg_key *k, const char *v, char *err,
                   size_t errlen)
{
    char *base = (char *)c;
    switch (k->type) {
    case CFG_STR: {
        char **p = (char **)(base + k->offset);
        free(*p);
        *p = xstrdup(v);
        return 0;
    }
    case CFG_STRLIST: {
        char ***p = (char ***)(base + k->offset);
        size_t *n = (size_t *)(base + k->count_offset);
        *p = xreallocarray(*p, *n + 1, sizeof(char *));
        (*p)[(*n)++] = xstrdup(v);
        return 0;
    }
    case CFG_BOOL:
        if (parse_bool(v, (bool *)(base + k->offset)))
            return 0;
        snprintf(err, errlen, "'%s' is not yes or no", v);
        return -1;
    case CFG_INT:
        if (args_count(v, (int64_t *)(base + k->offset)))
            return 0;
        snprintf(err, errlen, "'%s' is not a non-negative integer", v);
        return -1;
    case CFG_SIZE:
        if (parse_size(v, (int64_t *)(base + k->offset)))
            return 0;
        snprintf(err, errlen, "'%s' is not a size (e.g. 512K, 32M, 50G)", v);
        return -1;
    case CFG_DURATION:
        if (parse_duration_ms(v, (int64_t *)(base + k->offset)))
            return 0;
        snprintf(err, errlen, "'%s' is not a duration (e.g. 30s, 15m, 1h, 7d)", v);
        return -1;
    }
    return -1;
}

int config_set(struct fh_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    const struct cfg_key *k = find_key(key);
    char msg[512];
    if (!k) {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return -1;
    }
    if (set_key(c, k, value, msg, sizeof(msg)) == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", key, msg);
    return -1;
}

void config_defaults(struct fh_config *c)
{
    char err[128];
    memset(c, 0, sizeof(*c));
    for (const struct cfg_key *k = config_keys; k->key; k++)
        if (k->def && k->type != CFG_STRLIST)
            set_key(c, k, k->def, err, sizeof(err));
}

void config_finish(struct fh_config *c)
{
    char err[128];
    for (const struct cfg_key *k = config_keys; k->key; k++) {
        if (k->type != CFG_STRLIST || !k->def)
            continue;
        if (*(size_t *)((char *)c + k->count_offset))
            continue;
        char *defs = xstrdup(k->def), *save = NULL;
        for (char *t = strtok_r(defs, " ", &save); t; t = strtok_r(NULL, " ", &save))
            set_key(c, k, t, err, sizeof(err));
        free(defs);
    }
    /* The journal beside the store unless named: the same disk, the same owner. */
    if (!c->journal_dir && c->db) {
        size_t n = strlen(c->db) + sizeof(".received");
        c->journal_dir = xmalloc(n);
        snprintf(c->journal_dir, n, "%s.received", c->db);
    }
}

static void free_key(struct fh_config *c, const struct cfg_key *k)
{
    char *base = (char *)c;
    if (k->type == CFG_STR) {
        free(*(char **)(base + k->offset));
        *(char **)(base + k->offset) = NULL;
    } else if (k->type == CFG_STRLIST) {
        char **list = *(char ***)(base + k->offset);
        size_t *n = (size_t *)(base + k->count_offset);
        for (size_t i = 0; i < *n; i++)
            free(list[i]);
        free(list);
        *(char ***)(base + k->offset) = NULL;
        *n = 0;
    }
}

void config_free(struct fh_config *c)
{
    for (const struct cfg_key *k = config_keys; k->key; k++)
        free_key(c, k);
    free(c->config_file);
    memset(c, 0, sizeof(*c));
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int config_load_file(struct fh_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], msg[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        /* Values may be quoted to keep '#' or spaces. */
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        if (config_set(c, key, value, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

void config_dump(const struct fh_config *c, void *file)
{
    FILE *f = file;
    char v[8192];
    for (const struct cfg_key *k = config_keys; k->key; k++) {
        const char *p = (const char *)c + k->offset;
        if (k->type == CFG_STRLIST) {
            char *const *list = *(char **const *)p;
            size_t n = *(const size_t *)((const char *)c + k->count_offset);
            for (size_t i = 0; i < n; i++)
                fprintf(f, "%s = %s\n", k->key, list[i]);
        } else if (k->type != CFG_STR || *(char *const *)p) {
            /* as a reload logs it: secrets are not printed (this ends up in tickets) */
            config_key_format(k, c, v, sizeof(v));
            fprintf(f, "%s = %s\n", k->key, v);
        }
    }
}

/* ---- the command line: every key is an option, --key VALUE ---- */

enum { ARG_CONFIG_FILE = 256, ARG_KEY_BASE }; /* after the program's own ids */

static struct arg_opt *arg_table(const struct arg_opt *own, const char *heading)
{
    size_t n_own = 0, n_keys = 0, i = 0;
    while (own[n_own].name || own[n_own].help)
        n_own++;
    while (config_keys[n_keys].key)
        n_keys++;
    struct arg_opt *t = xcalloc(n_own + n_keys + 3, sizeof(*t)); /* -c, heading, end */
    t[i++] = (struct arg_opt){"config",  'c',
                              ARG_VALUE, ARG_CONFIG_FILE,
                              "FILE",    "read settings from FILE (key = value lines)",
                              NULL};
    memcpy(t + i, own, n_own * sizeof(*t));
    i += n_own;
    if (heading)
        t[i++] = (struct arg_opt){.help = heading};
    for (size_t k = 0; k < n_keys; k++) {
        const struct cfg_key *key = &config_keys[k];
        t[i++] = (struct arg_opt){key->key,
                                  0,
                                  key->type == CFG_BOOL ? ARG_BOOL : ARG_VALUE,
                                  ARG_KEY_BASE + (int)k,
                                  key->arg,
                                  heading ? key->help : NULL,
                                  key->def};
    }
    return t;
}

/* A first pass over the command line for -c FILE (the last one given), so that the options
 * around it override the file wherever they stand. Returns 0, 2 (the command line cannot be
 * read: said on stderr by args_next), or -1 with the file's error in err. */
static int load_config_arg(struct fh_config *c, const struct args *a, char *err, size_t errlen)
{
    struct args pass = *a;
    int id;
    while ((id = args_next(&pass)) != ARGS_END) {
        if (id == ARGS_ERROR)
            return 2;
        if (id == ARG_CONFIG_FILE) {
            free(c->config_file);
            c->config_file = xstrdup(pass.value);
        }
    }
    if (c->config_file && config_load_file(c, c->config_file, err, errlen))
        return -1;
    return 0;
}

static int read_config_arg(struct fh_config *c, const struct args *a)
{
    char err[512];
    int rc = load_config_arg(c, a, err, sizeof(err));
    if (rc == -1) {
        fprintf(stderr, "%s: %s\n", a->prog, err);
        return 2;
    }
    return rc;
}

static int set_from_arg(struct fh_config *c, const struct args *a)
{
    char err[512];
    if (set_key(c, &config_keys[a->opt->id - ARG_KEY_BASE], a->value, err, sizeof(err)) == 0)
        return 0;
    args_error(a, "%s", err);
    return 2;
}

static int parse_args(struct fh_config *c, const struct config_cli *cli, struct args *a)
{
    int id, rc = read_config_arg(c, a);
    while (rc == 0 && (id = args_next(a)) != ARGS_END) {
        if (id == ARGS_ERROR)
            rc = 2;
        else if (id >= ARG_KEY_BASE)
            rc = set_from_arg(c, a);
        else if (id != ARG_CONFIG_FILE)
            rc = cli->handle(a, c);
    }
    return rc;
}

int config_parse_args(struct fh_config *c, const struct config_cli *cli, int argc, char **argv)
{
    struct arg_opt *opts = arg_table(cli->own, cli->heading);
    struct args a;
    args_init(&a, cli->prog, opts, argc, argv);
    int rc = parse_args(c, cli, &a);
    free(opts);
    return rc;
}

/* The settings again, as config_parse_args read them at start, but quiet: the program's own
 * options are skipped (they acted at start), and what is wrong is returned, not printed. */
static int reread_args(struct fh_config *c, struct args *a, char *err, size_t errlen)
{
    int id;
    if (load_config_arg(c, a, err, errlen))
        return -1;
    while ((id = args_next(a)) != ARGS_END) {
        char msg[512];
        if (id == ARGS_ERROR) {
            snprintf(err, errlen, "the command line cannot be read again");
            return -1;
        }
        if (id < ARG_KEY_BASE)
            continue;
        if (set_key(c, &config_keys[a->opt->id - ARG_KEY_BASE], a->value, msg, sizeof(msg))) {
            snprintf(err, errlen, "--%s: %s", a->opt->name, msg);
            return -1;
        }
    }
    return 0;
}

int config_reread(struct fh_config *c, const struct config_cli *cli, int argc, char **argv,
                  char *err, size_t errlen)
{
    config_defaults(c);
    struct arg_opt *opts = arg_table(cli->own, cli->heading);
    struct args a;
    args_init(&a, cli->prog, opts, argc, argv);
    int rc = reread_args(c, &a, err, errlen);
    free(opts);
    if (rc == 0)
        config_finish(c);
    return rc;
}

/* ---- one key of two configurations ---- */

static bool strs_equal(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

bool config_key_equal(const struct cfg_key *k, const struct fh_config *a, const struct fh_config *b)
{
    const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
    switch (k->type) {
    case CFG_STR:
        return strs_equal(*(char *const *)pa, *(char *const *)pb);
    case CFG_STRLIST: {
        size_t na = *(const size_t *)((const char *)a + k->count_offset);
        size_t nb = *(const size_t *)((const char *)b + k->count_offset);
        for (size_t i = 0; na == nb && i < na; i++)
            if (!strs_equal((*(char **const *)pa)[i], (*(char **const *)pb)[i]))
                return false;
        return na == nb;
    }
    case CFG_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    default:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    }
}

void config_key_copy(const struct cfg_key *k, struct fh_config *dst, const struct fh_config *src)
{
    char *pd = (char *)dst + k->offset;
    const char *ps = (const char *)src + k->offset;
    free_key(dst, k);
    switch (k->type) {
    case CFG_STR: {
        const char *v = *(char *const *)ps;
        *(char **)pd = v ? xstrdup(v) : NULL;
        break;
    }
    case CFG_STRLIST: {
        size_t n = *(const size_t *)((const char *)src + k->count_offset);
        char **list = n ? xcalloc(n, sizeof(char *)) : NULL;
        for (size_t i = 0; i < n; i++)
            list[i] = xstrdup((*(char **const *)ps)[i]);
        *(char ***)pd = list;
        *(size_t *)((char *)dst + k->count_offset) = n;
        break;
    }
    case CFG_BOOL:
        *(bool *)pd = *(const bool *)ps;
        break;
    default:
        *(int64_t *)pd = *(const int64_t *)ps;
        break;
    }
}

/* A URL's password (scheme://user:PASSWORD@host) is a secret too. */
static void format_url(const char *v, char *buf, size_t len)
{
    const char *auth = strstr(v, "://");
    const char *at = auth ? strchr(auth + 3, '@') : NULL;
    const char *slash = auth ? strchr(auth + 3, '/') : NULL;
    const char *colon = auth && at ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
    if (!colon || (slash && slash < at))
        snprintf(buf, len, "%s", v);
    else
        snprintf(buf, len, "%.*s:(set)%s", (int)(colon - v), v, at);
}

/* A string's value as logs and --check-config show it: secrets as "(set)". */
static void format_str(const struct cfg_key *k, const char *v, char *buf, size_t len)
{
    if (!v)
        snprintf(buf, len, "(unset)");
    else if (k->arg && !strcmp(k->arg, "SECRET"))
        snprintf(buf, len, "(set)");
    else if (k->arg && !strcmp(k->arg, "URL"))
        format_url(v, buf, len);
    else
        snprintf(buf, len, "%s", v);
}

void config_key_format(const struct cfg_key *k, const struct fh_config *c, char *buf, size_t len)
{
    const char *p = (const char *)c + k->offset;
    switch (k->type) {
    case CFG_STR:
        format_str(k, *(char *const *)p, buf, len);
        break;
    case CFG_STRLIST: {
        size_t n = *(const size_t *)((const char *)c + k->count_offset), off = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < n && off < len; i++)
            off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "",
                                    (*(char **const *)p)[i]);
        if (!n)
            snprintf(buf, len, "(none)");
        break;
    }
    case CFG_BOOL:
        snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no");
        break;
    case CFG_DURATION:
        snprintf(buf, len, "%llds", (long long)(*(const int64_t *)p / 1000));
        break;
    default:
        snprintf(buf, len, "%lld", (long long)*(const int64_t *)p);
        break;
    }
}
