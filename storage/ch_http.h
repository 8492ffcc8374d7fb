/* ch_http.h - ClickHouse over its HTTP interface (libcurl), for the ClickHouse backend: the
 * sender thread's inserts (storage/ch_sink.c), schema set-up (storage/ch_schema.c) and the
 * query layer's reads (query/query_ch*.c).
 *
 * One client is one libcurl handle with its kept-alive connection: use it from one thread at
 * a time. Statements go in the POST body; an INSERT's rows (RowBinary) go in the body and its
 * statement in the URL. Every read is sent with wait_end_of_query=1, so that a query failing
 * half-way answers HTTP 500 with ClickHouse's message instead of a truncated 200. Nothing here
 * logs; errors come back in the caller's buffer, with ClickHouse's error code. */
#ifndef FLOWHOUND_CH_HTTP_H
#define FLOWHOUND_CH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store_url.h"

enum {
    CH_EUNREACHABLE = -1, /* no connection: the request was not sent */
    CH_ESERVER = -2,      /* ClickHouse answered with an error (ch_call's *code says which) */
    CH_ETIMEOUT = -3,     /* the time limit (max_execution_time, or ours) was reached */
    CH_EBROKEN = -4,      /* the connection broke after the request went out: an INSERT may
                           * or may not have been stored */
    CH_EBADDATA = -5,     /* the answer was not what the statement selects */
};

/* ClickHouse error codes we act on. */
#define CH_CODE_TIMEOUT_EXCEEDED 159
#define CH_CODE_UNKNOWN_TABLE    60
#define CH_CODE_UNKNOWN_DATABASE 81

struct ch_client;

/* A client of the server in u (nothing is sent yet). */
struct ch_client *ch_client_new(const struct store_url *u);
void ch_client_free(struct ch_client *c);
const struct store_url *ch_client_url(const struct ch_client *c);

/* Asks the server its version (SELECT version()). 0, or CH_E* with a message. */
int ch_client_hello(struct ch_client *c, char *err, size_t errlen);
/* The version ch_client_hello found (0.0 before). */
void ch_client_version(const struct ch_client *c, int *major, int *minor);
/* Does the server take HTTP query parameters ({name:Type}, param_name=...)? ClickHouse 19.11
 * and later. */
bool ch_client_has_params(const struct ch_client *c);

/* The body of a successful answer, in chunks as they arrive: return 0 to go on, nonzero to
 * stop reading (the call then returns 0). */
typedef int (*ch_body_fn)(void *ctx, const uint8_t *p, size_t n);

struct ch_call {
    const char *sql;
    const uint8_t *data; /* INSERT ... FORMAT RowBinary: the rows; NULL for other statements */
    size_t data_len;
    int64_t timeout_ms; /* 0: none; sent as max_execution_time (whole seconds, rounded up) */
    /* query parameters as name, value pairs, NULL-terminated (servers with them only) */
    const char *const *params;
    ch_body_fn body; /* NULL: the answer is discarded */
    void *ctx;
};

/* Runs one statement. Returns 0 or CH_E*, with ClickHouse's error code in *code (0 when the
 * failure was not ClickHouse's) and a message in err. */
int ch_call(struct ch_client *c, const struct ch_call *k, int *code, char *err, size_t errlen);
/* A statement without an answer (DDL, ALTER ... DROP PARTITION). */
int ch_exec(struct ch_client *c, const char *sql, char *err, size_t errlen);

/* ---- RowBinary answers, read row by row as the chunks arrive ---- */

/* Reads one row at p (n bytes available): returns the bytes it used, 0 when the row is not
 * complete yet (called again with more), CH_ROW_STOP to end the reading early, CH_ROW_BAD
 * when the bytes cannot be the row. */
#define CH_ROW_STOP (-1)
#define CH_ROW_BAD  (-2)
typedef long (*ch_row_fn)(void *ctx, const uint8_t *p, size_t n);

/* Runs a SELECT answering RowBinary (the statement names the format) and hands each row to
 * fn. Returns as ch_call; CH_EBADDATA when a row could not be read or bytes were left. */
int ch_select(struct ch_client *c, const struct ch_call *k, ch_row_fn fn, void *ctx, int *code,
              char *err, size_t errlen);

#endif
