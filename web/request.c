/* request.c - what every handler uses: parameters, JSON errors, the pooled read-only store
 * connections with the query time limit, and rows as JSON objects. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "web/http.h"

json_t *web_error(struct web_req *r, int status, int column, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->status = status;
    json_t *e = json_object();
    /* Messages may quote what the user sent: make sure it is valid UTF-8 for jansson. */
    json_t *m = json_string(msg);
    json_object_set_new(e, "error", m ? m : json_string("invalid request"));
    if (column > 0)
        json_object_set_new(e, "column", json_integer(column));
    return e;
}

json_t *web_db_error(struct web_req *r, const char *what)
{
    if (r->timed_out)
        return web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 0,
                         "query time limit (%lld ms) reached: narrow the time range or the "
                         "filter",
                         (long long)r->srv->query_timeout_ms);
    return web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 0, "store error (%s): %s", what,
                     r->db ? sqlite3_errmsg(r->db) : "no connection");
}

const char *web_param(struct web_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *web_param_n(struct web_req *r, const char *name, size_t *len)
{
    const char *v = NULL;
    *len = 0;
    MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v, len);
    return v;
}

bool web_param_int(struct web_req *r, const char *name, int64_t min, int64_t max, int64_t *out,
                   json_t **err)
{
    const char *v = web_param(r, name);
    if (!v)
        return true;
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (errno || !*v || *end || n < min || n > max) {
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, 0, "%s: expected an integer from %lld to %lld",
                         name, (long long)min, (long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool web_param_time(struct web_req *r, const char *name, int64_t *out, json_t **err)
{
    const char *v = web_param(r, name);
    if (!v || !*v)
        return true;
    if (!parse_time_ms(v, out)) {
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, 0,
                         "%s: expected Unix milliseconds or an RFC 3339 time "
                         "(2026-11-23T17:31:05Z)",
                         name);
        return false;
    }
    return true;
}

struct known_ctx {
    const char *const *known;
    const char *unknown;
    const char *too_long;
    const char *nul; /* a known parameter holding a NUL byte */
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    struct known_ctx *k = cls;
    (void)kind;
    if (value && value_size > WEB_PARAM_MAX) {
        k->too_long = key;
        return MHD_NO;
    }
    for (size_t i = 0; k->known[i]; i++) {
        if (strcmp(key, k->known[i]))
            continue;
        /* %00 decodes to a NUL, which would end the value early where C reads it: the rest
         * (of a filter, say) would silently be ignored. */
        if (memchr(key, 0, key_size) || (value && memchr(value, 0, value_size))) {
            k->nul = k->known[i];
            return MHD_NO;
        }
        return MHD_YES;
    }
    k->unknown = key;
    return MHD_NO;
}

bool web_params_known(struct web_req *r, const char *const *known, json_t **err)
{
    struct known_ctx k = {known, NULL, NULL, NULL};
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &k);
    if (k.too_long) {
        *err =
            web_error(r, MHD_HTTP_URI_TOO_LONG, 0, "parameter longer than %d bytes", WEB_PARAM_MAX);
        return false;
    }
    if (k.nul) {
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, 0,
                         "%s: contains a NUL byte (%%00); parameters are text", k.nul);
        return false;
    }
    if (k.unknown) {
        char list[256] = "";
        for (size_t i = 0; known[i]; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                     known[i]);
        /* The name is the user's: quote only a safe prefix of it. */
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, 0, "unknown parameter (known: %s)", list);
        return false;
    }
    return true;
}

/* ---- the connection pool and the query time limit ---- */

static int progress(void *ctx)
{
    struct web_req *r = ctx;
    if (mono_ms() < r->deadline)
        return 0;
    r->timed_out = true;
    return 1; /* interrupts the statement with SQLITE_INTERRUPT */
}

/* Web threads run at a lower priority (nice +10, per thread on Linux): a broad query slows
 * the pages, never the receiver and the writer. */
static void lower_priority(void)
{
    static __thread bool done;
    if (!done) {
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
        done = true;
    }
}

/* Waits (up to the query time limit) for one of WEB_QUERIES_MAX slots. */
static bool take_slot(struct web_req *r)
{
    struct web_server *s = r->srv;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(s->query_timeout_ms / 1000);
    until.tv_nsec += (long)(s->query_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->pool_lock);
    int rc = 0;
    while (s->running >= WEB_QUERIES_MAX && rc == 0)
        rc = pthread_cond_timedwait(&s->slot_free, &s->pool_lock, &until);
    r->has_slot = s->running < WEB_QUERIES_MAX;
    if (r->has_slot) {
        s->running++;
        if (s->n_pool)
            r->query = s->pool[--s->n_pool];
    }
    pthread_mutex_unlock(&s->pool_lock);
    return r->has_slot;
}

sqlite3 *web_db(struct web_req *r, json_t **err)
{
    if (r->db)
        return r->db;
    struct web_server *s = r->srv;
    lower_priority();
    if (!take_slot(r)) {
        *err = web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 0,
                         "%d queries are running: try again in a moment", WEB_QUERIES_MAX);
        return NULL;
    }
    if (!r->query) {
        char msg[512];
        /* The query layer's read-only connection: small cache, sorts in temporary files
         * (a broad query cannot grow the daemon), fh_net() registered for filters. */
        r->query = query_open_store(s->store, s->db_path, msg, sizeof(msg));
        if (!r->query) {
            *err = web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 0, "cannot open the store: %s", msg);
            return NULL; /* the slot is given back by web_db_release() */
        }
    }
    r->db = query_sqlite(r->query);
    r->deadline = mono_ms() + s->query_timeout_ms;
    r->timed_out = false;
    sqlite3_progress_handler(r->db, 1000, progress, r);
    return r->db;
}

struct query *web_query(struct web_req *r, json_t **err)
{
    if (!web_db(r, err))
        return NULL;
    int64_t left = r->deadline - mono_ms();
    query_set_time_limit(r->query, left > 1 ? left : 1);
    return r->query;
}

sqlite3_stmt *web_prepare(struct web_req *r, const char *sql, json_t **err)
{
    sqlite3 *db = web_db(r, err);
    if (!db)
        return NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        *err = web_db_error(r, "prepare");
        return NULL;
    }
    return st;
}

void web_db_release(struct web_req *r)
{
    struct web_server *s = r->srv;
    if (r->db)
        sqlite3_progress_handler(r->db, 0, NULL, NULL);
    pthread_mutex_lock(&s->pool_lock);
    if (r->query && s->n_pool < WEB_POOL_MAX) {
        s->pool[s->n_pool++] = r->query;
        r->query = NULL;
    }
    if (r->has_slot) {
        s->running--;
        r->has_slot = false;
        pthread_cond_signal(&s->slot_free);
    }
    pthread_mutex_unlock(&s->pool_lock);
    query_close(r->query);
    r->query = NULL;
    r->db = NULL;
}

void web_db_pool_free(struct web_server *s)
{
    for (size_t i = 0; i < s->n_pool; i++)
        query_close(s->pool[i]);
    s->n_pool = 0;
}

int64_t web_max_rows(const struct web_req *r)
{
    return r->srv->max_rows;
}

/* ---- rows ---- */

/* One row as an object: the query layer's conversion, so the API answers alike everywhere. */
json_t *web_row_object(sqlite3_stmt *st)
{
    return query_row_json(st);
}

int web_rows(sqlite3_stmt *st, json_t *array, int64_t max_rows)
{
    int rc;
    int64_t n = 0;
    while (n < max_rows && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(array, web_row_object(st));
        n++;
    }
    return n >= max_rows ? SQLITE_DONE : rc;
}
