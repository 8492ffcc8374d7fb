/* router.c - one request: method and size checks, Host and credentials, the route table,
 * and the headers every answer carries (a strict Content-Security-Policy first). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "web/http.h"
#include "web/router.h"

/* No inline script or style anywhere: every script and style sheet is a file we serve. */
static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct route {
    const char *path;
    bool prefix; /* path ends in '/': r->path is the rest */
    web_handler handler;
};

static const struct route api_routes[] = {
    {"/api/v1/flows", false, api_flows},
    {"/api/v1/stats/top", false, api_top},
    {"/api/v1/stats/timeline", false, api_timeline},
    {"/api/v1/stats/summary", false, api_summary},
    {"/api/v1/stats/web", false, api_web},
    {"/api/v1/exporters", false, api_exporters},
    {"/api/v1/connections", false, api_connections},
    {"/api/v1/alerts", false, api_alerts},
    {"/api/v1/alerts/", true, api_alert},
    {NULL, false, NULL},
};

/* Paths of the pages: each is the same shell (index.html); app.js draws the page. */
static const char *const pages[] = {"/", "/flows", "/top", "/port", "/alerts", NULL};

static void add_headers(struct MHD_Response *resp, const char *type, bool cacheable)
{
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", cacheable ? "no-cache" : "no-store");
}

/* An answer's body and what to say about it. */
struct answer {
    const char *type;
    void *data;
    size_t len;
    enum MHD_ResponseMemoryMode mode;
    bool cacheable;
    const char *retry_after; /* seconds, for 429 */
};

static enum MHD_Result send_answer(struct MHD_Connection *conn, unsigned status,
                                   const struct answer *a)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(a->len, a->data, a->mode);
    if (!resp)
        return MHD_NO;
    add_headers(resp, a->type, a->cacheable);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Basic realm=\"flowhound\", "
                                "charset=\"UTF-8\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    /* A client told to come back later is also made to reconnect when it does. */
    if (a->retry_after) {
        MHD_add_response_header(resp, "Retry-After", a->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_json_retry(struct MHD_Connection *conn, unsigned status, json_t *v,
                                       const char *retry_after)
{
    /* JSON_ESCAPE_SLASH: "</script>" can never appear in an answer, whatever reads it. */
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ESCAPE_SLASH) : NULL;
    json_decref(v);
    if (!text) {
        static char fallback[] = "{\"error\":\"cannot encode the answer\"}";
        struct answer a = {"application/json",     fallback, strlen(fallback),
                           MHD_RESPMEM_PERSISTENT, false,    NULL};
        return send_answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, &a);
    }
    struct answer a = {"application/json",    text,  strlen(text),
                       MHD_RESPMEM_MUST_FREE, false, retry_after};
    return send_answer(conn, status, &a);
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *v)
{
    return send_json_retry(conn, status, v, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    return send_json(conn, status, json_pack("{s:s}", "error", msg));
}

static bool loopback_host(const char *host)
{
    if (!host)
        return true; /* HTTP/1.0 without Host */
    char name[256];
    size_t n = 0;
    if (*host == '[') {
        const char *end = strchr(host, ']');
        if (!end || (size_t)(end - host - 1) >= sizeof(name))
            return false;
        n = (size_t)(end - host - 1);
        memcpy(name, host + 1, n);
    } else {
        n = strcspn(host, ":");
        if (n >= sizeof(name))
            return false;
        memcpy(name, host, n);
    }
    name[n] = '\0';
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)name[i]);
    if (!strcmp(name, "localhost") || !strcmp(name, "::1"))
        return true;
    struct in_addr a;
    return inet_pton(AF_INET, name, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Compares without an early exit, so timing does not reveal how much of a secret matched. */
static bool secret_equal(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char diff = gl != wl;
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ given[i < gl ? i : 0]);
    return diff == 0;
}

/* The answer to a client locked out after too many failed logins (logins.c). */
static enum MHD_Result send_locked_out(struct MHD_Connection *conn, int64_t retry_ms)
{
    long long secs = retry_ms > 0 ? (retry_ms + 999) / 1000 : 1;
    char retry[24], msg[128];
    snprintf(retry, sizeof(retry), "%lld", secs);
    snprintf(msg, sizeof(msg), "too many failed logins from your address: try again in %lld s",
             secs);
    return send_json_retry(conn, MHD_HTTP_TOO_MANY_REQUESTS, json_pack("{s:s}", "error", msg),
                           retry);
}

/* Checks the credentials, if any are configured, counting failures per client. Returns
 * MHD_YES with *answered false when the request may go on; otherwise queues the refusal. */
static enum MHD_Result check_credentials(struct web_server *s, struct MHD_Connection *conn,
                                         bool *answered)
{
    *answered = false;
    if (!s->basic && !s->bearer)
        return MHD_YES;
    *answered = true;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    /* No credentials, no guess: not counted (a browser asks without them first). */
    if (!auth)
        return send_error(conn, MHD_HTTP_UNAUTHORIZED, "credentials required");
    bool right =
        (s->basic && secret_equal(auth, s->basic)) || (s->bearer && secret_equal(auth, s->bearer));
    struct fh_addr client = {0};
    web_conns_client(conn, &client);
    int64_t retry_ms = 0;
    switch (web_logins_check(s->logins, &client, right, &retry_ms)) {
    case WEB_LOGIN_LOCKED:
        return send_locked_out(conn, retry_ms);
    case WEB_LOGIN_WRONG:
        return send_error(conn, MHD_HTTP_UNAUTHORIZED, "credentials required");
    case WEB_LOGIN_OK:
        break;
    }
    *answered = false;
    return MHD_YES;
}

static bool is_page(const char *url)
{
    for (size_t i = 0; pages[i]; i++)
        if (!strcmp(url, pages[i]))
            return true;
    /* /alerts/ID */
    if (strncmp(url, "/alerts/", 8) != 0 || !url[8])
        return false;
    for (const char *p = url + 8; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

static enum MHD_Result serve_static(struct MHD_Connection *conn, const char *url)
{
    const struct web_static_file *f = web_static_find(is_page(url) ? "/static/index.html" : url);
    if (!f) {
        struct answer a = {"text/plain; charset=utf-8",
                           (void *)"not found\n",
                           10,
                           MHD_RESPMEM_PERSISTENT,
                           false,
                           NULL};
        return send_answer(conn, MHD_HTTP_NOT_FOUND, &a);
    }
    struct answer a = {f->type, (void *)f->data, f->len, MHD_RESPMEM_PERSISTENT, true, NULL};
    return send_answer(conn, MHD_HTTP_OK, &a);
}

static enum MHD_Result serve_api(struct web_server *s, struct MHD_Connection *conn, const char *url)
{
    for (const struct route *rt = api_routes; rt->path; rt++) {
        size_t n = strlen(rt->path);
        if (rt->prefix ? strncmp(url, rt->path, n) != 0 : strcmp(url, rt->path) != 0)
            continue;
        struct web_req r = {
            .conn = conn, .srv = s, .path = url + (rt->prefix ? n : 0), .status = MHD_HTTP_OK};
        json_t *answer = rt->handler(&r);
        web_db_release(&r);
        if (r.status == MHD_HTTP_OK)
            web_names_add(&s->names, answer);
        return send_json(conn, (unsigned)r.status, answer);
    }
    return send_error(conn, MHD_HTTP_NOT_FOUND, "no such API endpoint (see doc/api.md)");
}

enum MHD_Result web_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct web_server *s = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    /* The request's headers are in: its connection is no longer a slow client's (conns.c). */
    if (*con_cls == NULL)
        web_conns_busy(s->conns, conn);
    /* Requests that will not be served are answered at once (the connection then closes). */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "only GET and HEAD: this server changes nothing");
    const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if ((clen && strcmp(clen, "0") != 0) ||
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding"))
        return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "requests carry no body");
    /* Others are answered from the second call: answering from the first, which only
     * announces the request, makes libmicrohttpd close the connection instead of keeping it
     * alive for the page's next requests. */
    static int announced;
    if (*con_cls == NULL) {
        *con_cls = &announced;
        return MHD_YES;
    }
    if (s->loopback_only &&
        !loopback_host(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host")))
        return send_error(conn, MHD_HTTP_FORBIDDEN,
                          "Host is not a loopback name (DNS rebinding?): use 127.0.0.1");
    bool answered;
    enum MHD_Result rc = check_credentials(s, conn, &answered);
    if (answered)
        return rc;
    if (!strncmp(url, "/api/", 5))
        return serve_api(s, conn, url);
    struct web_text t;
    if (web_probe(s, url, &t)) {
        struct answer a = {t.type, t.body, t.len, MHD_RESPMEM_MUST_FREE, false, NULL};
        return send_answer(conn, t.status, &a);
    }
    return serve_static(conn, url);
}
