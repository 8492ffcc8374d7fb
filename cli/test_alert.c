/* test_alert.c - `flowhound test-alert`: sends one sample alert, marked as a test, to every
 * configured syslog destination at once (not through the spool) and reports per destination
 * whether the receiver got it, so an operator can check the pipeline end to end. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "alerts/deliver_config.h"
#include "alerts/syslog_format.h"
#include "alerts/syslog_transport.h"
#include "cli/commands.h"
#include "common/addr.h"
#include "common/args.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "common/settings.h"

#define TIMEOUT_MS 5000

static void usage(FILE *f, const struct arg_opt *opts)
{
    fprintf(f,
            "Usage: flowhound test-alert [-c FILE] [--alert-syslog DEST]... [--SETTING VALUE]...\n"
            "Sends a sample stale-state alert, marked test=\"1\", to every alert-syslog\n"
            "destination of the config file and the command line, and says for each whether\n"
            "the receiver got it (TCP/TLS: acknowledged by its host; UDP: no error came back).\n"
            "Any alert-syslog-* setting of flowhoundd may be given (see flowhoundd --help).\n\n");
    args_help(opts, f);
    fprintf(
        f, "\nExample:\n"
           "  flowhound test-alert --alert-syslog local --alert-syslog tcp://logs.example.org:514\n"
           "Exit status: 0 all sent, 1 a destination failed, 2 usage error.\n");
}

static void sample_alert(struct alert *a, int64_t now)
{
    memset(a, 0, sizeof(*a));
    a->kind = ALERT_STALE_STATE;
    a->state = ALERT_OPEN;
    addr_from_str("192.0.2.50", &a->client_addr); /* documentation addresses (RFC 5737) */
    a->client_port = 722;
    addr_from_str("198.51.100.10", &a->server_addr);
    a->server_port = 515;
    a->holder = HOLDER_MIDDLEBOX;
    a->attempts = 3;
    a->opened_ms = a->updated_ms = now;
    a->summary = xstrdup("Client 192.0.2.50 port 722 cannot reach 198.51.100.10:515: a "
                         "middlebox still holds a connection that ended without FIN and "
                         "answers each SYN with an old ACK (3 failed attempts).");
    a->evidence_json = xasprintf("{\"last_viable\":{\"start_ms\":%lld,\"end_ms\":%lld,"
                                 "\"state\":\"S1\",\"c_packets\":12,\"s_packets\":9},"
                                 "\"answered_by\":\"middlebox\","
                                 "\"exporters\":[\"192.0.2.1\",\"192.0.2.2\"]}",
                                 (long long)(now - 60000), (long long)(now - 50000));
}

static int send_one(const struct deliver_options *o, const struct syslog_ident *id,
                    const struct syslog_event *e, const char *spec)
{
    struct syslog_dest d;
    char err[512];
    if (syslog_dest_parse(spec, &d, err, sizeof(err))) {
        printf("%s: FAILED: %s\n", spec, err);
        return 1;
    }
    if (d.proto == SYSLOG_LOCAL) {
        char *line = syslog_format_line(e);
        syslog((id->facility << 3) | syslog_event_severity(e->event), "%s", line);
        free(line);
        printf("%s: sent through syslog(3), priority %d\n", spec,
               id->facility * 8 + syslog_event_severity(e->event));
        return 0;
    }
    char *msg;
    size_t len;
    if (syslog_format_5424(id, e, syslog_dest_max_len(&d), &msg, &len, err, sizeof(err))) {
        printf("%s: FAILED: %s\n", spec, err);
        return 1;
    }
    struct syslog_conn *c = syslog_conn_new(&d, &o->tls);
    int rc = syslog_conn_open(c, TIMEOUT_MS, err, sizeof(err));
    if (!rc)
        rc = syslog_conn_send(c, msg, len, TIMEOUT_MS, err, sizeof(err));
    if (!rc)
        rc = syslog_conn_flush(c, TIMEOUT_MS, err, sizeof(err));
    if (rc)
        printf("%s: FAILED: %s\n", spec, err);
    else
        printf("%s: sent, %zu octets of RFC 5424\n", spec, len);
    syslog_conn_free(c);
    free(msg);
    return rc ? 1 : 0;
}

static const struct arg_opt own_opts[] = {
    {"help", 'h', ARG_FLAG, 'h', NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static int own_option(const struct args *a, struct fh_config *cfg)
{
    (void)cfg;
    usage(stdout, a->opts); /* --help, the only one */
    return 1;
}

/* flowhoundd's command line (-c FILE first, then every --SETTING VALUE on top); the settings
 * are not listed in --help: the usage points to flowhoundd's. */
static const struct config_cli cli = {"flowhound test-alert", own_opts, NULL, own_option};

int cmd_test_alert(int argc, char **argv)
{
    struct fh_config cfg;
    config_defaults(&cfg);
    int rc = config_parse_args(&cfg, &cli, argc, argv);
    char err[512];
    struct deliver_options o;
    if (rc == 0 && deliver_options_from_config(&cfg, &o, err, sizeof(err))) {
        fprintf(stderr, "flowhound test-alert: %s\n", err);
        rc = 2;
    }
    if (rc == 0 && !cfg.n_alert_syslog) {
        fprintf(stderr, "flowhound test-alert: no alert-syslog destination configured (-c FILE "
                        "or --alert-syslog DEST)\n");
        rc = 2;
    }
    if (rc) {
        config_free(&cfg);
        return rc == 1 ? 0 : rc;
    }
    struct syslog_ident id;
    syslog_ident_init(&id, o.facility, o.hostname, o.pen);
    struct alert a;
    sample_alert(&a, now_ms());
    struct syslog_event e = {&a, ALERT_EV_OPENED, 0, now_ms(), 0, true};
    int failed = 0;
    for (size_t i = 0; i < cfg.n_alert_syslog; i++)
        failed += send_one(&o, &id, &e, cfg.alert_syslog[i]);
    alert_free_fields(&a);
    config_free(&cfg);
    return failed ? 1 : 0;
}
