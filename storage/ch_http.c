/* ch_http.c - the ClickHouse HTTP client (ch_http.h). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/xmalloc.h"
#include "storage/ch_http.h"

/* Longest wait for a connection; then the server counts as unreachable. */
#define CONNECT_TIMEOUT_MS 3000
/* Beyond the server's own max_execution_time: its answer (the timeout error) still comes. */
#define TIMEOUT_MARGIN_MS 3000
#define ERR_TEXT_MAX      1024

struct ch_client {
    CURL *curl;
    struct store_url url;
    int major, minor;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

/* libcurl's global set-up, once per process, before the first handle (not thread-safe in
 * every libcurl build). */
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct ch_client *ch_client_new(const struct store_url *u)
{
    pthread_once(&global_once, global_init);
    struct ch_client *c = xcalloc(1, sizeof(*c));
    c->url = *u;
    c->curl = curl_easy_init();
    if (!c->curl)
        abort(); /* only on memory exhaustion, as xmalloc */
    return c;
}

void ch_client_free(struct ch_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

const struct store_url *ch_client_url(const struct ch_client *c)
{
    return &c->url;
}

/* ---- one call ---- */

struct answer {
    CURL *curl;
    const struct ch_call *k;
    long status;  /* HTTP status, once known */
    bool stopped; /* the body callback asked to stop */
    char text[ERR_TEXT_MAX];
    size_t text_len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    if (!a->status)
        curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->status);
    if (a->status != 200) {
        size_t room = sizeof(a->text) - 1 - a->text_len;
        size_t take = len < room ? len : room;
        memcpy(a->text + a->text_len, p, take);
        a->text_len += take;
        a->text[a->text_len] = '\0';
        return len;
    }
    if (a->k->body && a->k->body(a->k->ctx, (const uint8_t *)p, len)) {
        a->stopped = true;
        return 0; /* libcurl ends the transfer */
    }
    return len;
}

static void add_param(char **url, CURL *curl, const char *name, const char *value)
{
    char *v = curl_easy_escape(curl, value, 0);
    char *more = xasprintf("%s&%s=%s", *url, name, v ? v : "");
    curl_free(v);
    free(*url);
    *url = more;
}

static char *call_url(struct ch_client *c, const struct ch_call *k)
{
    /* no database= here: it must exist already, and every statement names its tables */
    char *url = xasprintf("%s?wait_end_of_query=1", c->url.base);
    if (k->timeout_ms > 0) {
        char secs[32];
        snprintf(secs, sizeof(secs), "%lld", (long long)((k->timeout_ms + 999) / 1000));
        add_param(&url, c->curl, "max_execution_time", secs);
    }
    if (k->data)
        add_param(&url, c->curl, "query", k->sql);
    for (const char *const *p = k->params; p && p[0] && p[1]; p += 2) {
        char name[80];
        snprintf(name, sizeof(name), "param_%s", p[0]);
        add_param(&url, c->curl, name, p[1]);
    }
    return url;
}

static void set_options(struct ch_client *c, const struct ch_call *k, const char *url,
                        struct answer *a)
{
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, k->data ? (const char *)k->data : k->sql);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(k->data ? k->data_len : strlen(k->sql)));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     k->timeout_ms > 0 ? (long)(k->timeout_ms + TIMEOUT_MARGIN_MS) : 0L);
    if (c->url.user[0] || c->url.password[0]) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->url.user[0] ? c->url.user : "default");
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->url.password);
    }
}

/* ClickHouse's "Code: 60, e.displayText() = DB::Exception: ..." as its code and a one-line
 * message. */
static int server_error(struct answer *a, int *code, char *err, size_t errlen)
{
    const char *t = a->text;
    *code = 0;
    if (!strncmp(t, "Code: ", 6))
        *code = atoi(t + 6);
    const char *msg = strstr(t, "DB::Exception: ");
    msg = msg ? msg + 15 : t;
    size_t n = strcspn(msg, "\n");
    const char *tail = strstr(msg, ", e.what()");
    if (tail && (size_t)(tail - msg) < n)
        n = (size_t)(tail - msg);
    snprintf(err, errlen, "ClickHouse: %.*s (HTTP %ld)", (int)n, msg, a->status);
    return *code == CH_CODE_TIMEOUT_EXCEEDED ? CH_ETIMEOUT : CH_ESERVER;
}

static int transport_error(CURLcode rc, char *err, size_t errlen)
{
    snprintf(err, errlen, "ClickHouse: %s", curl_easy_strerror(rc));
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return CH_EUNREACHABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return CH_ETIMEOUT;
    default:
        return CH_EBROKEN;
    }
}

int ch_call(struct ch_client *c, const struct ch_call *k, int *code, char *err, size_t errlen)
{
    struct answer a = {.curl = c->curl, .k = k};
    int ignored;
    code = code ? code : &ignored;
    *code = 0;
    char *url = call_url(c, k);
    set_options(c, k, url, &a);
    CURLcode rc = curl_easy_perform(c->curl);
    free(url);
    if (a.stopped)
        return 0;
    if (rc != CURLE_OK)
        return transport_error(rc, err, errlen);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a.status);
    if (a.status != 200)
        return server_error(&a, code, err, errlen);
    return 0;
}

int ch_exec(struct ch_client *c, const char *sql, char *err, size_t errlen)
{
    struct ch_call k = {.sql = sql};
    return ch_call(c, &k, NULL, err, errlen);
}

/* ---- version ---- */

static int take_version(void *ctx, const uint8_t *p, size_t n)
{
    struct ch_client *c = ctx;
    char text[32];
    size_t len = n < sizeof(text) - 1 ? n : sizeof(text) - 1;
    memcpy(text, p, len);
    text[len] = '\0';
    if (sscanf(text, "%d.%d", &c->major, &c->minor) != 2)
        c->major = c->minor = 0;
    return 1; /* the first chunk holds it */
}

int ch_client_hello(struct ch_client *c, char *err, size_t errlen)
{
    struct ch_call k = {
        .sql = "SELECT version()", .timeout_ms = 10000, .body = take_version, .ctx = c};
    c->major = c->minor = 0;
    int rc = ch_call(c, &k, NULL, err, errlen);
    if (rc == 0 && c->major == 0) {
        snprintf(err, errlen, "ClickHouse: the server did not say its version");
        return CH_EBADDATA;
    }
    return rc;
}

void ch_client_version(const struct ch_client *c, int *major, int *minor)
{
    *major = c->major;
    *minor = c->minor;
}

bool ch_client_has_params(const struct ch_client *c)
{
    return c->major > 19 || (c->major == 19 && c->minor >= 11);
}

/* ---- RowBinary answers ---- */

struct rows {
    ch_row_fn fn;
    void *ctx;
    uint8_t *buf; /* the bytes of an incomplete row, waiting for the next chunk */
    size_t len, cap;
    bool bad;
};

/* Reads every complete row of [p, p+n); returns the bytes used, or -1 to stop. */
static long read_rows(struct rows *r, const uint8_t *p, size_t n)
{
    size_t used = 0;
    while (used < n) {
        long k = r->fn(r->ctx, p + used, n - used);
        if (k == 0)
            break;
        if (k < 0) {
            r->bad = k == CH_ROW_BAD;
            return -1;
        }
        used += (size_t)k;
    }
    return (long)used;
}

static int rows_chunk(void *ctx, const uint8_t *p, size_t n)
{
    struct rows *r = ctx;
    if (r->len == 0) {
        long used = read_rows(r, p, n);
        if (used < 0)
            return 1;
        p += used;
        n -= (size_t)used;
        if (n == 0)
            return 0;
    }
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->buf = xreallocarray(r->buf, r->cap, 1);
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    long used = read_rows(r, r->buf, r->len);
    if (used < 0)
        return 1;
    memmove(r->buf, r->buf + used, r->len - (size_t)used);
    r->len -= (size_t)used;
    return 0;
}

int ch_select(struct ch_client *c, const struct ch_call *k, ch_row_fn fn, void *ctx, int *code,
              char *err, size_t errlen)
{
    struct rows r = {.fn = fn, .ctx = ctx};
    struct ch_call call = *k;
    call.body = rows_chunk;
    call.ctx = &r;
    int rc = ch_call(c, &call, code, err, errlen);
    if (rc == 0 && (r.bad || r.len)) {
        snprintf(err, errlen, "ClickHouse: an answer of unexpected form (%s)",
                 r.bad ? "a row could not be read" : "a row was cut short");
        rc = CH_EBADDATA;
    }
    free(r.buf);
    return rc;
}
