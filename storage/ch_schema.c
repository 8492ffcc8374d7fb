/* ch_schema.c - applies storage/ch_schema.sql to a ClickHouse server (ch_schema.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "storage/ch_rowbinary.h"
#include "storage/ch_schema.h"

const char *ch_flows_table(const struct store_url *u)
{
    return u->cluster[0] ? "flows_local" : "flows";
}

const char *ch_spans_table(const struct store_url *u)
{
    return u->cluster[0] ? "flow_spans_local" : "flow_spans";
}

/* Replaces every {name} of the block's text; the values are names store_url_parse checked
 * (letters, digits, '_', and '-' '.' in a cluster name): nothing else becomes SQL. */
static char *expand(const char *sql, const struct store_url *u)
{
    const char *names[][2] = {{"{db}", u->database},
                              {"{flows}", ch_flows_table(u)},
                              {"{spans}", ch_spans_table(u)},
                              {"{cluster}", u->cluster}};
    char *out = xstrdup("");
    for (const char *p = sql; *p;) {
        size_t i = 0, n = sizeof(names) / sizeof(names[0]);
        while (i < n && strncmp(p, names[i][0], strlen(names[i][0])))
            i++;
        char *more = i < n ? xasprintf("%s%s", out, names[i][1]) : xasprintf("%s%c", out, *p);
        p += i < n ? strlen(names[i][0]) : 1;
        free(out);
        out = more;
    }
    return out;
}

static long long block_version(const char *line)
{
    return strncmp(line, "-- @version ", 12) ? -1 : atoll(line + 12);
}

/* Runs the statements of the block that starts after `line` (up to the next "-- @"). */
static int run_block(struct ch_client *c, const char *line, char *err, size_t errlen)
{
    const char *p = strchr(line, '\n');
    char *stmt = xstrdup("");
    int rc = 0;
    while (p && *++p && strncmp(p, "-- @", 4) && rc == 0) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (strncmp(p, "--", 2)) {
            char *more = xasprintf("%s%.*s\n", stmt, (int)n, p);
            free(stmt);
            stmt = more;
        }
        if (n && p[n - 1] == ';') {
            char *sql = expand(stmt, ch_client_url(c));
            rc = ch_exec(c, sql, err, errlen);
            free(sql);
            stmt[0] = '\0';
        }
        p = eol;
    }
    free(stmt);
    return rc;
}

static long read_u32(void *ctx, const uint8_t *p, size_t n)
{
    struct rb_in in = {.p = p, .end = p + n};
    *(long long *)ctx = rb_get_u32(&in);
    return in.short_ ? 0 : 4;
}

int ch_schema_version(struct ch_client *c, char *err, size_t errlen)
{
    char *sql = xasprintf("SELECT toUInt32(max(version)) FROM %s.flowhound_schema FORMAT RowBinary",
                          ch_client_url(c)->database);
    struct ch_call k = {.sql = sql, .timeout_ms = 10000};
    long long v = 0;
    int code;
    int rc = ch_select(c, &k, read_u32, &v, &code, err, errlen);
    free(sql);
    if (rc == CH_ESERVER && (code == CH_CODE_UNKNOWN_TABLE || code == CH_CODE_UNKNOWN_DATABASE))
        return 0;
    return rc ? rc : (int)v;
}

static int record_version(struct ch_client *c, long long v, char *err, size_t errlen)
{
    char *sql = xasprintf("INSERT INTO %s.flowhound_schema VALUES (%lld, %lld)",
                          ch_client_url(c)->database, v, (long long)now_ms());
    int rc = ch_exec(c, sql, err, errlen);
    free(sql);
    return rc;
}

int ch_schema_ensure(struct ch_client *c, char *err, size_t errlen)
{
    int have = ch_schema_version(c, err, errlen);
    if (have < 0)
        return have;
    if (have > CH_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "ClickHouse database %s has schema version %d, newer than this flowhound's "
                 "(%d): upgrade flowhound",
                 ch_client_url(c)->database, have, CH_SCHEMA_VERSION);
        return CH_ESERVER;
    }
    bool cluster = ch_client_url(c)->cluster[0] != '\0';
    for (const char *line = flowhound_ch_schema_sql; line; line = strchr(line, '\n')) {
        line += *line == '\n';
        long long v = block_version(line);
        bool cluster_block = !strncmp(line, "-- @cluster", 11);
        int rc = 0;
        if (v > have || (cluster_block && cluster))
            rc = run_block(c, line, err, errlen);
        if (rc == 0 && v > have)
            rc = record_version(c, v, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}
