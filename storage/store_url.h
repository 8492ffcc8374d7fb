/* store_url.h - where the flows go: `sqlite:PATH` (or a bare PATH), or
 * `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?cluster=NAME]` (`clickhouses://` for
 * HTTPS). Parsed once here for flowhoundd, `flowhound query|analyze` and the web UI.
 *
 * The database and cluster names become SQL identifiers and literals, so only
 * [A-Za-z0-9_] (cluster: also '-' and '.') are accepted; the user and password only go to
 * libcurl (HTTP basic authentication) and may be percent-encoded. */
#ifndef FLOWHOUND_STORE_URL_H
#define FLOWHOUND_STORE_URL_H

#include <stdbool.h>
#include <stddef.h>

enum store_kind { STORE_SQLITE, STORE_CLICKHOUSE };

#define STORE_URL_NAME_MAX 64

struct store_url {
    enum store_kind kind;
    char path[4096];                   /* STORE_SQLITE: the file */
    char base[600];                    /* STORE_CLICKHOUSE: "http://HOST:PORT/" for libcurl */
    char host[256];                    /* as given, without brackets */
    int port;                          /* default 8123 (8443 with clickhouses://) */
    char database[STORE_URL_NAME_MAX]; /* default "flowhound" */
    char cluster[STORE_URL_NAME_MAX];  /* "": one server (or replicas behind one address) */
    char user[STORE_URL_NAME_MAX];     /* "": ClickHouse's default user */
    char password[256];
};

/* A collector's instance name in a shared ClickHouse (and a cluster's name): it goes into the
 * rows and, as a literal, into the sender's SQL, so these characters only. */
#define STORE_INSTANCE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
bool store_instance_ok(const char *name);

/* Returns 0, or -1 with a message saying what is wrong with the text. */
int store_url_parse(const char *text, struct store_url *u, char *err, size_t errlen);
/* The URL without its password, for logs and --check-config. */
void store_url_display(const struct store_url *u, char *buf, size_t len);

#endif
