/* webtest.c - see webtest.h. */
#include "config.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/web/webtest.h"

void wt_start(struct th_daemon *d, const char *const *extra, char *addr, size_t addrlen)
{
    const char *args[40];
    size_t n = 0;
    args[n++] = "--web";
    args[n++] = "127.0.0.1:0";
    /* The pages are tested on a fixed fixture of alerts and connections (tests/web/); the
     * analyzer's own output is tested in test_analyzer. */
    args[n++] = "--analyzer=no";
    for (size_t i = 0; extra && extra[i] && n < 38; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    th_daemon_start(d, args);
    char ready[600], line[256];
    snprintf(ready, sizeof(ready), "%s/ready", d->dir);
    FILE *f = fopen(ready, "r");
    cr_assert(f, "no ready file");
    addr[0] = '\0';
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "web %127s", addr) == 1)
            break;
    fclose(f);
    cr_assert(addr[0] && addrlen > strlen(addr), "no web line in the ready file");
}

void wt_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 10000);
    char *err = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &err);
    cr_assert_eq(rc, SQLITE_OK, "%s", err ? err : "?");
    sqlite3_close(h);
}

void wt_sql_file(const char *db, const char *name)
{
    char path[1024];
    const char *src = getenv("FH_SRCDIR");
    snprintf(path, sizeof(path), "%s/tests/web/%s", src ? src : "..", name);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    static char sql[65536];
    size_t len = fread(sql, 1, sizeof(sql) - 1, f);
    fclose(f);
    cr_assert_lt(len, sizeof(sql) - 1, "%s: larger than the buffer", path);
    sql[len] = '\0';
    wt_sql(db, sql);
}

int64_t wt_store_story(struct th_daemon *d)
{
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), d->port, 2000, 1), 0);
    int64_t n = th_db_wait(d->db, "SELECT count(*) FROM flows", 26, 10000);
    cr_assert_eq(n, 26, "the story's 26 flows are stored");
    wt_sql_file(d->db, "story_fixture.sql");
    return n;
}

void wt_add_rows(const char *db, int n)
{
    char *part = NULL;
    sqlite3 *h;
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_prepare_v2(h, "SELECT name FROM partitions LIMIT 1", -1, &st, NULL);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    part = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO \"%s\" (exporter, domain, version, src_addr, dst_addr, src_port, "
             "dst_port, proto, packets, bytes, first_ms, last_ms, received_ms, src_key, "
             "dst_key) SELECT '127.0.1.9', 0, 5, '10.0.0.1', '10.0.0.2', i %% 65536, 80, 6, 1, "
             "40, 1795455000000 + i, 1795455000000 + i, 1795455000000 + i, 0, 0 FROM n",
             n, part);
    free(part);
    wt_sql(db, sql);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct wt_resp *r = ctx;
    size_t add = size * n;
    r->body = realloc(r->body, r->len + add + 1);
    cr_assert(r->body);
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct wt_resp *r = ctx;
    size_t add = size * n, old = r->headers ? strlen(r->headers) : 0;
    r->headers = realloc(r->headers, old + add + 1);
    cr_assert(r->headers);
    memcpy(r->headers + old, p, add);
    r->headers[old + add] = '\0';
    return add;
}

void wt_request(const char *url, const char *method, const char *const *hdrs, const char *userpwd,
                struct wt_resp *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    cr_assert(c);
    struct curl_slist *list = NULL;
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    /* Our test certificates are self-signed. */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (userpwd) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    }
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (method && !strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
}

void wt_resp_free(struct wt_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

const char *wt_header(const struct wt_resp *r, const char *name)
{
    static char value[1024];
    size_t n = strlen(name);
    for (const char *l = r->headers; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (len > n && !strncasecmp(l, name, n) && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - l);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(value, sizeof(value), "%.*s", (int)vl, v);
            return value;
        }
        l = end ? end + 1 : l + len;
    }
    return NULL;
}

json_t *wt_get_json(const char *addr, const char *path, long want_status)
{
    char url[8192];
    snprintf(url, sizeof(url), "http://%s%s", addr, path);
    struct wt_resp r;
    wt_request(url, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, want_status, "GET %s: status %ld, want %ld: %s", path, r.status,
                 want_status, r.body);
    const char *type = wt_header(&r, "Content-Type");
    cr_assert(type && !strcmp(type, "application/json"), "GET %s: Content-Type %s", path,
              type ? type : "none");
    json_error_t jerr;
    json_t *v = json_loads(r.body, 0, &jerr);
    cr_assert(v, "GET %s: not JSON (%s): %s", path, jerr.text, r.body);
    wt_resp_free(&r);
    return v;
}
