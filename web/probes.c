/* probes.c - GET /metrics (Prometheus text exposition) and GET /healthz: what the program
 * knows of itself, through the callbacks it gave (web_options.probes). Plain text, not JSON:
 * that is what scrapers and health checkers read. */
#include "config.h"

#include <string.h>

#include <microhttpd.h>

#include "common/xmalloc.h"
#include "web/http.h"

#define TEXT "text/plain; charset=utf-8"
/* The content type Prometheus asks for and expects (exposition format 0.0.4). */
#define PROMETHEUS_TEXT "text/plain; version=0.0.4; charset=utf-8"

static void text(struct web_text *out, unsigned status, const char *type, char *body)
{
    out->status = status;
    out->type = type;
    out->body = body;
    out->len = strlen(body);
}

static void metrics(struct web_server *s, struct web_text *out)
{
    size_t len = 0;
    char *body = s->probes.metrics(s->probes.ctx, &len);
    if (!body) {
        text(out, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT, xstrdup("cannot collect the metrics\n"));
        return;
    }
    out->status = MHD_HTTP_OK;
    out->type = PROMETHEUS_TEXT;
    out->body = body;
    out->len = len;
}

/* 200 "ok", or 503 and the reason: a health checker needs the status, a person the line. */
static void health(struct web_server *s, struct web_text *out)
{
    char why[256] = "";
    if (s->probes.healthy(s->probes.ctx, why, sizeof(why)))
        text(out, MHD_HTTP_OK, TEXT, xstrdup("ok\n"));
    else
        text(out, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, xasprintf("unhealthy: %s\n", why));
}

bool web_probe(struct web_server *s, const char *url, struct web_text *out)
{
    bool is_metrics = !strcmp(url, "/metrics"), is_health = !strcmp(url, "/healthz");
    if (!is_metrics && !is_health)
        return false;
    if (is_metrics && s->probes.metrics)
        metrics(s, out);
    else if (is_health && s->probes.healthy)
        health(s, out);
    else
        text(out, MHD_HTTP_NOT_FOUND, TEXT, xstrdup("not found\n"));
    return true;
}
