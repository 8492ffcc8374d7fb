/* settings.h - flowhoundd's settings: one table of keys, read from the config file
 * (`key = value`) and from the command line (`--key value` or `--key=value`), command line
 * last. */
#ifndef FLOWHOUND_SETTINGS_H
#define FLOWHOUND_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arg_opt;
struct args;

struct fh_config {
    char *db;
    char *store;    /* sqlite:PATH or clickhouse://...; NULL: sqlite:<db> */
    char *instance; /* this collector's name in a shared ClickHouse; NULL: the host name */
    int64_t clickhouse_buffer;
    char **listen;
    size_t n_listen;
    char *web;
    char *web_user, *web_password, *web_token; /* credentials (required off loopback) */
    char *web_cert, *web_key;                  /* PEM files: HTTPS */
    int64_t web_query_timeout_ms;
    int64_t web_max_rows;
    int64_t web_max_connections, web_client_connections; /* slow clients cannot hold them all */
    int64_t web_header_timeout_ms, web_idle_timeout_ms;
    int64_t web_login_failures, web_login_window_ms; /* failed logins per client address */
    int64_t rcvbuf;
    int64_t partition_ms;
    int64_t partition_rows;
    int64_t retention_ms;
    int64_t max_size;
    int64_t commit_interval_ms;
    int64_t queue_batches;
    char *journal_dir; /* config_finish: DB.received unless set */
    int64_t journal_size, journal_min_free;
    bool journal_sync;
    int64_t receive_backlog; /* obsolete, warned about */
    int64_t max_exporters;
    int64_t template_budget, template_budget_exporter; /* bytes */
    int64_t template_timeout_ms;
    int64_t template_changes; /* a minute, per exporter domain */
    char **exporter_name;     /* "ADDR NAME" (common/exporter_names.h) */
    size_t n_exporter_name;
    char **allow_exporter;
    size_t n_allow_exporter;
    int64_t clock_skew_ms, clock_max_age_ms; /* common/flowlimits.h */
    char **alert_syslog;
    size_t n_alert_syslog;
    char *alert_syslog_facility;
    char *alert_syslog_severity;
    int64_t alert_syslog_rate;
    int64_t alert_syslog_dedup_ms;
    char *alert_syslog_hostname;
    int64_t alert_syslog_pen;
    char *alert_syslog_ca;
    char *alert_syslog_cert;
    char *alert_syslog_key;
    bool alert_syslog_tls_insecure;
    int64_t alert_syslog_queue;
    char *log_level;
    /* analyzer (alerts/analyzer.h) */
    bool analyzer;
    int64_t stale_window_ms;
    int64_t alert_quiet_ms;
    int64_t alert_hold_ms;
    int64_t analyzer_max_conns;
    bool analyzer_connections;
    char **vantage_inner;
    size_t n_vantage_inner;
    char *user; /* run as this user once the sockets are bound (started as root) */
    bool daemonize;
    char *pidfile;
    char *ready_file;
    char *config_file;
    bool check_config;
};

enum cfg_type { CFG_STR, CFG_STRLIST, CFG_BOOL, CFG_INT, CFG_SIZE, CFG_DURATION };

struct cfg_key {
    const char *key;
    enum cfg_type type;
    size_t offset;       /* in struct fh_config */
    size_t count_offset; /* CFG_STRLIST: the size_t count */
    const char *def;     /* default, as text; NULL = none */
    const char *arg;     /* argument name in --help */
    const char *help;
};

extern const struct cfg_key config_keys[];

void config_defaults(struct fh_config *c);
void config_free(struct fh_config *c);
/* Sets one key from text. Returns 0, or -1 with a message. */
int config_set(struct fh_config *c, const char *key, const char *value, char *err, size_t errlen);
/* Reads a config file. Errors name the file and line. */
int config_load_file(struct fh_config *c, const char *path, char *err, size_t errlen);
/* After parsing: fills unset repeatable keys with their defaults. */
void config_finish(struct fh_config *c);
/* Writes the effective configuration, one `key = value` line each. */
void config_dump(const struct fh_config *c, void *file);

/* The command line of flowhoundd and `flowhound test-alert` (common/args.h): -c FILE, the
 * program's own options, and every key as --key VALUE (or --key / --key=no: a boolean). */
struct config_cli {
    const char *prog;          /* "flowhoundd" */
    const struct arg_opt *own; /* the program's own options, ids 0..255 */
    const char *heading;       /* --help lists the keys under it; NULL: not listed */
    /* Handles one of `own` (a->opt); a->opts is the whole table, for --help. Returns 0 to go
     * on, 1 to stop and exit 0 (--help printed), 2 to stop and exit 2 (error printed). */
    int (*handle)(const struct args *a, struct fh_config *c);
};
/* Reads -c FILE first, then sets every setting of the command line in order, so that the
 * command line wins. Returns 0, or 1 or 2 as cli->handle; errors are printed as
 * "PROGRAM: --key: ...". */
int config_parse_args(struct fh_config *c, const struct config_cli *cli, int argc, char **argv);
/* Reads the settings again into c (freshly: defaults, -c FILE, then the command line on top,
 * as at start), for a reload. The program's own options are not acted on again. Returns 0,
 * or -1 with what is wrong in err ("FILE:LINE: key: what", as config_load_file says it);
 * nothing is printed. c is then to be config_free'd either way. */
int config_reread(struct fh_config *c, const struct config_cli *cli, int argc, char **argv,
                  char *err, size_t errlen);

/* One key of two configurations: the same value? / dst's value becomes a copy of src's / the
 * value as text (lists space-separated, secrets as "(set)"). */
bool config_key_equal(const struct cfg_key *k, const struct fh_config *a,
                      const struct fh_config *b);
void config_key_copy(const struct cfg_key *k, struct fh_config *dst, const struct fh_config *src);
void config_key_format(const struct cfg_key *k, const struct fh_config *c, char *buf, size_t len);

#endif
