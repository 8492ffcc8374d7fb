/* store_url.c - parses the `store` setting (store_url.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store_url.h"

/* Letters, digits and '_': what a database name may hold (it becomes an identifier). */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

static bool name_ok(const char *s, const char *chars)
{
    size_t n = strlen(s);
    return n > 0 && n < STORE_URL_NAME_MAX && strspn(s, chars) == n;
}

bool store_instance_ok(const char *name)
{
    return name_ok(name, STORE_INSTANCE_CHARS);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Copies [s, s+n) into out (size len), decoding %XX. False when it does not fit or a %
 * escape is broken. */
static bool decode(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return false;
            c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        }
        if (o + 1 >= len || c == '\0')
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static int parse_sqlite(const char *path, struct store_url *u, char *err, size_t errlen)
{
    if (!strncmp(path, "//", 2))
        path += 2; /* sqlite:///var/lib/... */
    if (!*path || strlen(path) >= sizeof(u->path)) {
        snprintf(err, errlen, "sqlite: needs a file name");
        return -1;
    }
    u->kind = STORE_SQLITE;
    snprintf(u->path, sizeof(u->path), "%s", path);
    return 0;
}

/* USER[:PASSWORD]@ before the host, if any; returns where the host starts. */
static const char *parse_userinfo(const char *s, const char *end, struct store_url *u, bool *ok)
{
    const char *at = memchr(s, '@', (size_t)(end - s));
    *ok = true;
    if (!at)
        return s;
    const char *colon = memchr(s, ':', (size_t)(at - s));
    const char *uend = colon ? colon : at;
    *ok = decode(s, (size_t)(uend - s), u->user, sizeof(u->user)) &&
          (!colon || decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof(u->password)));
    return at + 1;
}

/* HOST, [V6] or HOST:PORT, [V6]:PORT in [s, end). */
static bool parse_hostport(const char *s, const char *end, struct store_url *u)
{
    const char *hend, *port = NULL;
    if (*s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close)
            return false;
        hend = close;
        s++;
        if (close + 1 < end) {
            if (close[1] != ':')
                return false;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        hend = colon ? colon : end;
        port = colon ? colon + 1 : NULL;
    }
    size_t n = (size_t)(hend - s);
    if (n == 0 || n >= sizeof(u->host) || memchr(s, '@', n) || memchr(s, '/', n))
        return false;
    memcpy(u->host, s, n);
    u->host[n] = '\0';
    if (port) {
        char *e;
        long p = strtol(port, &e, 10);
        if (port == end || e != end || p < 1 || p > 65535)
            return false;
        u->port = (int)p;
    }
    return true;
}

/* "?cluster=NAME" (the only parameter). */
static int parse_params(const char *q, struct store_url *u, char *err, size_t errlen)
{
    if (!q)
        return 0;
    if (strncmp(q, "cluster=", 8) || !name_ok(q + 8, STORE_INSTANCE_CHARS)) {
        snprintf(err, errlen,
                 "clickhouse: the only parameter is cluster=NAME (letters, digits, "
                 "'_', '-', '.')");
        return -1;
    }
    snprintf(u->cluster, sizeof(u->cluster), "%s", q + 8);
    return 0;
}

static int parse_clickhouse(const char *rest, bool tls, struct store_url *u, char *err,
                            size_t errlen)
{
    u->kind = STORE_CLICKHOUSE;
    u->port = tls ? 8443 : 8123;
    snprintf(u->database, sizeof(u->database), "flowhound");
    const char *slash = strchr(rest, '/');
    const char *qmark = strchr(rest, '?');
    const char *hend = slash ? slash : qmark ? qmark : rest + strlen(rest);
    bool ok;
    const char *host = parse_userinfo(rest, hend, u, &ok);
    if (!ok || !parse_hostport(host, hend, u)) {
        snprintf(err, errlen,
                 "clickhouse: expected clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/"
                 "DATABASE");
        return -1;
    }
    if (slash) {
        const char *dend = qmark && qmark > slash ? qmark : slash + strlen(slash);
        size_t n = (size_t)(dend - slash - 1);
        if (n) {
            if (n >= sizeof(u->database)) {
                snprintf(err, errlen, "clickhouse: database name too long");
                return -1;
            }
            memcpy(u->database, slash + 1, n);
            u->database[n] = '\0';
        }
    }
    if (!name_ok(u->database, NAME_CHARS)) {
        snprintf(err, errlen,
                 "clickhouse: the database name may only hold letters, digits and "
                 "'_'");
        return -1;
    }
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(u->base, sizeof(u->base), "%s://%s%s%s:%d/", tls ? "https" : "http", v6 ? "[" : "",
             u->host, v6 ? "]" : "", u->port);
    return parse_params(qmark ? qmark + 1 : NULL, u, err, errlen);
}

int store_url_parse(const char *text, struct store_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    if (!text || !*text) {
        snprintf(err, errlen, "empty store");
        return -1;
    }
    if (!strncmp(text, "sqlite:", 7))
        return parse_sqlite(text + 7, u, err, errlen);
    if (!strncmp(text, "clickhouse://", 13))
        return parse_clickhouse(text + 13, false, u, err, errlen);
    if (!strncmp(text, "clickhouses://", 14))
        return parse_clickhouse(text + 14, true, u, err, errlen);
    if (strstr(text, "://")) {
        snprintf(err, errlen, "'%.64s': expected sqlite:PATH or clickhouse://HOST:PORT/DATABASE",
                 text);
        return -1;
    }
    return parse_sqlite(text, u, err, errlen);
}

void store_url_display(const struct store_url *u, char *buf, size_t len)
{
    if (u->kind == STORE_SQLITE) {
        snprintf(buf, len, "sqlite:%s", u->path);
        return;
    }
    snprintf(buf, len, "%s (%s%s%sdatabase %s%s%s)", u->base, u->user[0] ? "user " : "", u->user,
             u->user[0] ? ", " : "", u->database, u->cluster[0] ? ", cluster " : "", u->cluster);
}
