/* webtest.h - helpers of the web tests: the daemon with its web server, the story stored,
 * HTTP requests with libcurl. */
#ifndef FLOWHOUND_TEST_WEBTEST_H
#define FLOWHOUND_TEST_WEBTEST_H

#include <stddef.h>

#include <jansson.h>

#include "tests/helpers.h"

/* Starts flowhoundd with --web 127.0.0.1:0 (or what `extra` says) and reads the web line of
 * the ready file into `addr` ("127.0.0.1:PORT"). */
void wt_start(struct th_daemon *d, const char *const *extra, char *addr, size_t addrlen);
/* Replays the story (merged.v5.pcap) and adds tests/web/story_fixture.sql: the analyzer's
 * connections and alerts, and hostile strings. Returns the number of flows stored. */
int64_t wt_store_story(struct th_daemon *d);
/* Adds n flows (exporter 127.0.1.9, 10.0.0.1 -> 10.0.0.2:80, one a millisecond from the
 * story's first) to the store's first partition, unindexed: queries over them are slow. */
void wt_add_rows(const char *db, int n);
/* Runs SQL text on the store (read-write, beside the running daemon). */
void wt_sql(const char *db, const char *sql);
/* Runs the SQL file tests/web/NAME on the store. */
void wt_sql_file(const char *db, const char *name);

struct wt_resp {
    long status;
    char *body;
    size_t len;
    char *headers; /* raw response headers */
};
/* One request. method NULL = GET; hdrs: NULL-terminated "Name: value" list; userpwd "u:p". */
void wt_request(const char *url, const char *method, const char *const *hdrs, const char *userpwd,
                struct wt_resp *r);
void wt_resp_free(struct wt_resp *r);
/* GET http://addr/path; asserts the status and a JSON body; returns the parsed body. */
json_t *wt_get_json(const char *addr, const char *path, long want_status);
/* The value of a response header (static buffer), or NULL. */
const char *wt_header(const struct wt_resp *r, const char *name);

#endif
