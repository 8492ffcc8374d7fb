/* server.c - the libmicrohttpd daemon: bind, TLS, credentials, then hand each request to
 * router.c. Nothing here knows about flows or alerts. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "collector/listener.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "web/http.h"
#include "web/router.h"
#include "web/web.h"

#define PEM_MAX (1024 * 1024)

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

static bool has_text(const char *s)
{
    return s && *s;
}

/* A day: longer is a mistake, not a setting (the idle timeout goes to libmicrohttpd in
 * whole seconds, rounded up). */
#define IDLE_TIMEOUT_MAX_MS (24 * 3600 * 1000LL)
/* Connections over web-max-connections that libmicrohttpd still accepts, so that conns.c
 * sees them and makes room (closing a waiting one) instead of their waiting in the kernel's
 * queue; and those being closed, until libmicrohttpd has. */
#define CONNECTIONS_SPARE 32
/* File descriptors are the bound: the process has 1024 by default. */
#define CONNECTIONS_MAX 4096

static int check_limits(const struct web_options *o, char *err, size_t errlen)
{
    const struct {
        const char *name;
        int64_t value, max;
        const char *max_text; /* NULL: the number */
    } lims[] = {
        {"web-max-connections", o->max_connections, CONNECTIONS_MAX, NULL},
        {"web-client-connections", o->client_connections, o->max_connections,
         "web-max-connections"},
        {"web-header-timeout", o->header_timeout_ms, IDLE_TIMEOUT_MAX_MS, "24h"},
        {"web-idle-timeout", o->idle_timeout_ms, IDLE_TIMEOUT_MAX_MS, "24h"},
        {"web-login-failures", o->login_failures, INT64_MAX, NULL},
        {"web-login-window", o->login_window_ms, INT64_MAX, NULL},
    };
    for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
        if (lims[i].value >= 1 && lims[i].value <= lims[i].max)
            continue;
        char max[32];
        snprintf(max, sizeof(max), "%lld", (long long)lims[i].max);
        if (lims[i].max == INT64_MAX)
            snprintf(err, errlen, "%s: must be more than 0", lims[i].name);
        else
            snprintf(err, errlen, "%s: must be more than 0 and at most %s", lims[i].name,
                     lims[i].max_text ? lims[i].max_text : max);
        return -1;
    }
    return 0;
}

/* The exporter-name values, parsed into out (web_check_options only checks them). */
static int parse_names(const struct web_options *o, struct exporter_names *out, char *err,
                       size_t errlen)
{
    char msg[256];
    if (exporter_names_parse(out, o->exporter_names, o->n_exporter_names, msg, sizeof(msg)) == 0)
        return 0;
    snprintf(err, errlen, "exporter-name: %s", msg);
    return -1;
}

int web_check_options(const struct web_options *o, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char msg[256];
    if (!listener_parse(o->listen, &ss, &len, msg, sizeof(msg))) {
        snprintf(err, errlen, "web: %s", msg);
        return -1;
    }
    if (has_text(o->user) != has_text(o->password)) {
        snprintf(err, errlen, "web-user and web-password go together: set both or neither");
        return -1;
    }
    if (has_text(o->user) && strchr(o->user, ':')) {
        snprintf(err, errlen, "web-user: no ':' allowed (HTTP basic authentication)");
        return -1;
    }
    if (has_text(o->cert) != has_text(o->key)) {
        snprintf(err, errlen, "web-cert and web-key go together: set both or neither");
        return -1;
    }
    if (check_limits(o, err, errlen))
        return -1;
    struct exporter_names names;
    if (parse_names(o, &names, err, errlen))
        return -1;
    exporter_names_free(&names);
    if (!is_loopback(&ss) && !has_text(o->user) && !has_text(o->token)) {
        snprintf(err, errlen,
                 "web %s is not a loopback address: anyone who can reach it could read every "
                 "flow. Set web-user and web-password, or web-token (better with web-cert and "
                 "web-key for TLS), or bind to 127.0.0.1",
                 o->listen);
        return -1;
    }
    return 0;
}

static char *read_pem(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(PEM_MAX + 1);
    size_t n = fread(buf, 1, PEM_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > PEM_MAX) {
        snprintf(err, errlen, "%s: empty or larger than %d bytes", path, PEM_MAX);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* The Authorization header values to accept, computed once. */
static int set_credentials(struct web_server *s, const struct web_options *o, char *err,
                           size_t errlen)
{
    if (has_text(o->token))
        s->bearer = xasprintf("Bearer %s", o->token);
    if (!has_text(o->user))
        return 0;
    char *plain = xasprintf("%s:%s", o->user, o->password);
    gnutls_datum_t in = {(unsigned char *)plain, (unsigned)strlen(plain)}, out = {0};
    int rc = gnutls_base64_encode2(&in, &out);
    free(plain);
    if (rc < 0) {
        snprintf(err, errlen, "web credentials: %s", gnutls_strerror(rc));
        return -1;
    }
    s->basic = xasprintf("Basic %.*s", (int)out.size, (const char *)out.data);
    gnutls_free(out.data);
    return 0;
}

/* Called from any of libmicrohttpd's connection threads, often several at once (a scan, a
 * burst of bad requests): they share one limit, so they take turns with it. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static struct log_limit lim = LOG_LIMIT_INIT(1, 10);
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    pthread_mutex_lock(&lock);
    log_ratelimited(&lim, LOG_LVL_DEBUG, "web: %s", msg);
    pthread_mutex_unlock(&lock);
}

static void format_address(struct web_server *s, const struct sockaddr_storage *ss, uint16_t port)
{
    char host[INET6_ADDRSTRLEN] = "";
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
        snprintf(s->address, sizeof(s->address), "[%s]:%u", host, port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
        snprintf(s->address, sizeof(s->address), "%s:%u", host, port);
    }
}

static int start_mhd(struct web_server *s, const struct web_options *o,
                     const struct sockaddr_storage *ss, char *err, size_t errlen)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (s->cert_pem)
        flags |= MHD_USE_TLS;
    /* Requests are small GETs: 32 KiB bounds the request line and headers together. */
    /* The logger first: libmicrohttpd reports problems with the options after it through it.
     * conns.c keeps the connection limits (libmicrohttpd's would refuse the newcomer, not
     * the slow client) and closes slow clients (libmicrohttpd's timeout only counts silence). */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, (void *)ss},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)web_conns_notify, s->conns},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)web_conns_completed, s->conns},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)(o->max_connections + CONNECTIONS_SPARE), NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)((o->idle_timeout_ms + 999) / 1000), NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL},
        {s->cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert_pem},
        {s->cert_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, web_access_handler, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, errlen,
                 "web: cannot listen on %s (address in use, or TLS key/cert "
                 "unusable)",
                 s->address);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    format_address(s, ss, info ? info->port : 0);
    return 0;
}

struct web_server *web_start(const struct web_options *o, char *err, size_t errlen)
{
    if (web_check_options(o, err, errlen))
        return NULL;
    struct sockaddr_storage ss;
    socklen_t len;
    listener_parse(o->listen, &ss, &len, err, errlen);
    struct web_server *s = xcalloc(1, sizeof(*s));
    snprintf(s->address, sizeof(s->address), "%s", o->listen);
    s->db_path = xstrdup(o->db);
    s->store = xstrdup(o->store ? o->store : o->db);
    s->query_timeout_ms = o->query_timeout_ms > 0 ? o->query_timeout_ms : 10000;
    s->max_rows = o->max_rows > 0 ? o->max_rows : 10000;
    s->clock_skew_ms = o->clock_skew_ms;
    s->loopback_only = !has_text(o->user) && !has_text(o->token);
    if (o->probes)
        s->probes = *o->probes;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->slot_free, NULL);
    if (set_credentials(s, o, err, errlen) || parse_names(o, &s->names, err, errlen))
        goto fail;
    if (has_text(o->cert)) {
        s->cert_pem = read_pem(o->cert, err, errlen);
        s->key_pem = s->cert_pem ? read_pem(o->key, err, errlen) : NULL;
        if (!s->key_pem)
            goto fail;
    }
    struct web_conn_limits lim = {o->max_connections, o->client_connections, o->header_timeout_ms,
                                  o->idle_timeout_ms};
    s->logins = web_logins_new(o->login_failures, o->login_window_ms);
    s->conns = web_conns_start(&lim, err, errlen);
    if (!s->conns || start_mhd(s, o, &ss, err, errlen))
        goto fail;
    return s;
fail:
    web_stop(s);
    return NULL;
}

const char *web_bound_address(const struct web_server *w)
{
    return w->address;
}

void web_stop(struct web_server *w)
{
    if (!w)
        return;
    if (w->mhd)
        MHD_stop_daemon(w->mhd);
    web_conns_stop(w->conns);
    web_logins_free(w->logins);
    web_db_pool_free(w);
    exporter_names_free(&w->names);
    pthread_mutex_destroy(&w->pool_lock);
    pthread_cond_destroy(&w->slot_free);
    free(w->db_path);
    free(w->store);
    free(w->basic);
    free(w->bearer);
    free(w->cert_pem);
    if (w->key_pem) {
        /* The private key should not linger in freed memory. */
        memset(w->key_pem, 0, strlen(w->key_pem));
        free(w->key_pem);
    }
    free(w);
}
