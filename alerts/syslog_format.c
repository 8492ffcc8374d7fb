/* syslog_format.c - RFC 5424 messages and syslog(3) lines for alert events. */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alerts/syslog_format.h"
#include "common/addr.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define VALUE_MAX   200 /* octets of one evidence PARAM-VALUE, escapes included */
#define NAME_MAX_SD 32  /* RFC 5424: SD-NAME = 1*32PRINTUSASCII */
#define FIT_RESERVE 64  /* room kept for msgTruncated/evidenceOmitted and a little MSG */
#define DEFAULT_MAX 65536u

static const char BOM[] = "\xEF\xBB\xBF";

/* ---- a growing string ---- */

struct sb {
    char *p;
    size_t len, cap;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xreallocarray(b->p, cap, 1);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Appends clean UTF-8 of s, at most cap octets. */
static void sb_clean(struct sb *b, const char *s, size_t n, bool sd_escape, size_t cap)
{
    size_t need = n * 3 + 1; /* worst case: every byte becomes U+FFFD */
    if (need > cap + 1)
        need = cap + 1;
    char *tmp = xmalloc(need);
    size_t w = syslog_clean_utf8(tmp, need - 1, s, n, sd_escape);
    sb_put(b, tmp, w);
    free(tmp);
}

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s (1-4) and its code point, or 0 if invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

size_t syslog_clean_utf8(char *dst, size_t cap, const char *s, size_t n, bool sd_escape)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, w = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t len = utf8_seq(u + i, n - i, &cp);
        char out[4];
        const char *rep = out;
        size_t rlen;
        if (len == 0) {
            rep = "\xEF\xBF\xBD", rlen = 3, len = 1; /* U+FFFD for each invalid byte */
        } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 ||
                   cp == 0x2029) {
            rep = " ", rlen = 1; /* no line breaks or terminal controls in a log line */
        } else if (sd_escape && (cp == '"' || cp == '\\' || cp == ']')) {
            out[0] = '\\', out[1] = (char)cp, rlen = 2;
        } else {
            rep = s + i, rlen = len;
        }
        if (w + rlen > cap)
            break;
        memcpy(dst + w, rep, rlen);
        w += rlen;
        i += len;
    }
    return w;
}

/* ---- names ---- */

static const char *const facility_names[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
static const char *const severity_names[] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};

int syslog_facility_from_name(const char *name)
{
    for (int i = 0; i < 24; i++)
        if (!strcasecmp(name, facility_names[i]))
            return i;
    return -1;
}

int syslog_severity_from_name(const char *name)
{
    for (int i = 0; i < 8; i++)
        if (!strcasecmp(name, severity_names[i]))
            return i;
    if (!strcasecmp(name, "emergency"))
        return SYSLOG_SEV_EMERG;
    if (!strcasecmp(name, "critical"))
        return SYSLOG_SEV_CRIT;
    if (!strcasecmp(name, "error"))
        return SYSLOG_SEV_ERR;
    if (!strcasecmp(name, "warn"))
        return SYSLOG_SEV_WARNING;
    return -1;
}

int syslog_event_severity(enum alert_event ev)
{
    return ev == ALERT_EV_RESOLVED ? SYSLOG_SEV_NOTICE : SYSLOG_SEV_WARNING;
}

const char *syslog_event_msgid(const struct syslog_event *e)
{
    if (e->event == ALERT_EV_RESOLVED)
        return "RESOLVED";
    return e->alert->kind == ALERT_PORT_EXHAUSTION ? "PORT_EXHAUSTION" : "STALE_STATE";
}

void syslog_ident_init(struct syslog_ident *id, int facility, const char *hostname, unsigned pen)
{
    char host[256] = "";
    memset(id, 0, sizeof(*id));
    id->facility = facility >= 0 && facility < 24 ? facility : 3;
    id->procid = (int)getpid();
    if (hostname && *hostname)
        snprintf(host, sizeof(host), "%s", hostname);
    else if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    /* RFC 5424 HOSTNAME: 1*255PRINTUSASCII; anything else becomes '-'. */
    size_t n = 0;
    for (const char *p = host; *p && n < 255; p++)
        id->hostname[n++] = (*p > 32 && *p < 127) ? *p : '-';
    if (n == 0)
        id->hostname[n++] = '-';
    id->hostname[n] = '\0';
    snprintf(id->sd_id, sizeof(id->sd_id), "flowhound@%u", pen ? pen : SYSLOG_DEFAULT_PEN);
}

/* ---- header ---- */

/* RFC 3339 local time with milliseconds and the numeric offset; "-" if unknown. */
static void fmt_timestamp(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0 || ms > 253402300799999LL) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000), sign,
             off / 3600, off / 60 % 60);
}

static void put_header(struct sb *b, const struct syslog_ident *id, const struct syslog_event *e)
{
    char ts[64];
    fmt_timestamp(e->time_ms, ts, sizeof(ts));
    int pri = id->facility * 8 + syslog_event_severity(e->event);
    sb_printf(b, "<%d>1 %s %s flowhound %d %s ", pri, ts, id->hostname, id->procid,
              syslog_event_msgid(e));
}

/* ---- structured data ---- */

/* ` name="value"`, value cleaned and escaped, at most cap octets of value. */
static void put_param(struct sb *b, const char *name, const char *val, size_t vlen, size_t cap)
{
    sb_printf(b, " %s=\"", name);
    sb_clean(b, val, vlen, true, cap);
    sb_puts(b, "\"");
}

static void put_param_str(struct sb *b, const char *name, const char *val)
{
    put_param(b, name, val, strlen(val), VALUE_MAX);
}

static void put_param_int(struct sb *b, const char *name, long long v)
{
    sb_printf(b, " %s=\"%lld\"", name, v);
}

static void put_param_time(struct sb *b, const char *name, int64_t ms)
{
    char buf[40];
    if (ms > 0)
        put_param_str(b, name, format_time_ms(ms, buf, sizeof(buf)));
}

/* The parameters every message carries, from the alert row itself. */
static void put_core(struct sb *b, const struct syslog_ident *id, const struct syslog_event *e)
{
    const struct alert *a = e->alert;
    char addr[FH_ADDR_STRLEN];
    sb_printf(b, "[%s", id->sd_id);
    put_param_int(b, "alertId", (long long)a->id);
    put_param_int(b, "eventId", (long long)e->event_id);
    put_param_str(b, "event", alert_event_name(e->event));
    put_param_str(b, "kind", alert_kind_name(a->kind));
    put_param_str(b, "state", alert_state_name(a->state));
    put_param_str(b, "client", addr_to_str(&a->client_addr, addr, sizeof(addr)));
    if (a->client_port >= 0)
        put_param_int(b, "clientPort", a->client_port);
    put_param_str(b, "server", addr_to_str(&a->server_addr, addr, sizeof(addr)));
    put_param_int(b, "serverPort", a->server_port);
    put_param_str(b, "holder", alert_holder_name(a->holder));
    put_param_int(b, "attempts", (long long)a->attempts);
    put_param_time(b, "opened", a->opened_ms);
    put_param_time(b, "updated", a->updated_ms);
    put_param_time(b, "resolved", a->resolved_ms);
    if (e->suppressed)
        put_param_int(b, "suppressed", (long long)e->suppressed);
    if (e->test)
        put_param_str(b, "test", "1");
}

/* An SD-NAME from an evidence key: PRINTUSASCII except '=', ' ', ']', '"'; at most 32. */
static void sd_name(char *out, const char *prefix, const char *key)
{
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s%s%s", prefix, *prefix ? "." : "", key);
    size_t n = 0;
    for (const char *p = tmp; *p && n < NAME_MAX_SD; p++) {
        unsigned char c = (unsigned char)*p;
        out[n++] = (c > 32 && c < 127 && c != '=' && c != ']' && c != '"') ? (char)c : '_';
    }
    if (n == 0)
        out[n++] = '_';
    out[n] = '\0';
}

/* Text of a JSON scalar, or compact JSON for anything else; NULL for null. malloc'd. */
static char *json_text(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return xstrndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return xasprintf("%lld", (long long)json_integer_value(v));
    case JSON_REAL:
        return xasprintf("%.17g", json_real_value(v));
    case JSON_TRUE:
        return xstrdup("true");
    case JSON_FALSE:
        return xstrdup("false");
    case JSON_NULL:
        return NULL;
    case JSON_ARRAY: {
        /* Arrays of scalars (exporters, ports) read best as a comma list. */
        struct sb b = {0};
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_object(x) || json_is_array(x)) {
                free(b.p);
                return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            }
            char *t = json_text(x);
            if (i)
                sb_puts(&b, ",");
            sb_puts(&b, t ? t : "");
            free(t);
        }
        return b.p ? b.p : xstrdup("");
    }
    default:
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

/* One " name=\"value\"" per evidence member; objects are flattened one level ("a.b"). */
struct params {
    char **items;
    char (*names)[NAME_MAX_SD + 1];
    size_t n, cap;
};

/* The parameters put_core() and syslog_format_5424() write themselves. */
static const char *const core_names[] = {
    "alertId",    "eventId",  "event",      "kind",   "state",           "client",
    "clientPort", "server",   "serverPort", "holder", "attempts",        "opened",
    "updated",    "resolved", "suppressed", "test",   "evidenceOmitted", "msgTruncated"};

static bool name_taken(const struct params *p, const char *name)
{
    for (size_t i = 0; i < sizeof(core_names) / sizeof(core_names[0]); i++)
        if (!strcmp(core_names[i], name))
            return true;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->names[i], name))
            return true;
    return false;
}

/* Evidence names never repeat a core name or each other (receivers keep one value per name):
 * "attempts" becomes "ev.attempts"; two long keys cut to the same 32 octets get "~2", "~3". */
static bool unique_name(const struct params *p, char *name)
{
    if (!name_taken(p, name))
        return true;
    char base[NAME_MAX_SD + 1];
    snprintf(base, sizeof(base), "%s", name);
    sd_name(name, "ev", base);
    for (int k = 2; name_taken(p, name) && k < 100; k++) {
        char suffix[8];
        int sl = snprintf(suffix, sizeof(suffix), "~%d", k);
        size_t keep = strlen(base) + sl > NAME_MAX_SD ? NAME_MAX_SD - (size_t)sl : strlen(base);
        snprintf(name, NAME_MAX_SD + 1, "%.*s%s", (int)keep, base, suffix);
    }
    return !name_taken(p, name);
}

static void params_add(struct params *p, const char *raw_name, const json_t *v)
{
    char name[NAME_MAX_SD + 1];
    snprintf(name, sizeof(name), "%s", raw_name);
    char *text = json_text(v);
    if (!text || !unique_name(p, name)) {
        free(text);
        return;
    }
    struct sb b = {0};
    put_param(&b, name, text, strlen(text), VALUE_MAX);
    free(text);
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->items = xreallocarray(p->items, p->cap, sizeof(char *));
        p->names = xreallocarray(p->names, p->cap, sizeof(*p->names));
    }
    snprintf(p->names[p->n], sizeof(p->names[0]), "%s", name);
    p->items[p->n++] = b.p;
}

static void evidence_params(const char *json, struct params *p)
{
    if (!json || !*json)
        return;
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_t *s = json_string("unreadable");
        params_add(p, "evidence", s);
        json_decref(s);
        json_decref(root);
        return;
    }
    const char *key;
    json_t *v;
    char name[NAME_MAX_SD + 1];
    json_object_foreach(root, key, v)
    {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2)
            {
                sd_name(name, key, k2);
                params_add(p, name, v2);
            }
        } else {
            sd_name(name, "", key);
            params_add(p, name, v);
        }
    }
    json_decref(root);
}

/* ---- MSG ---- */

static void put_text(struct sb *b, const struct syslog_event *e)
{
    const struct alert *a = e->alert;
    char c[FH_ADDR_STRLEN], s[FH_ADDR_STRLEN];
    if (e->test)
        sb_puts(b, "TEST ALERT from flowhound test-alert, no action needed: ");
    else if (e->event == ALERT_EV_UPDATED)
        sb_puts(b, "Update: ");
    else if (e->event == ALERT_EV_RESOLVED)
        sb_puts(b, "Resolved: ");
    if (a->summary && *a->summary) {
        sb_puts(b, a->summary);
    } else {
        addr_to_str(&a->client_addr, c, sizeof(c));
        addr_to_str(&a->server_addr, s, sizeof(s));
        if (a->kind == ALERT_PORT_EXHAUSTION)
            sb_printf(b, "client %s is running out of source ports to %s:%u", c, s, a->server_port);
        else
            sb_printf(b,
                      "stale connection state: client %s port %d cannot reach %s:%u, held by "
                      "the %s (%u failed attempts)",
                      c, a->client_port, s, a->server_port, alert_holder_name(a->holder),
                      a->attempts);
    }
    if (e->suppressed)
        sb_printf(b, " (%llu similar events suppressed)", (unsigned long long)e->suppressed);
}

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* ---- the message ---- */

static int assemble(const struct sb *hdr, struct sb *sd, const char *text, size_t tlen,
                    size_t max_len, char **out, size_t *len, char *err, size_t errlen)
{
    /* Clean the text first: then whether a BOM is needed is known (ASCII needs none). */
    struct sb msg = {0};
    sb_clean(&msg, text, tlen, false, tlen * 3);
    bool bom = !is_ascii(msg.p ? msg.p : "", msg.len);
    size_t fixed = hdr->len + sd->len + 1; /* + "]" */
    size_t total = fixed + (msg.len ? 1 + (bom ? 3 : 0) + msg.len : 0);
    if (total > max_len) {
        sb_puts(sd, " msgTruncated=\"1\"");
        fixed = hdr->len + sd->len + 1;
        if (fixed > max_len) {
            free(msg.p);
            snprintf(err, errlen, "the structured data alone needs %zu octets, limit %zu", fixed,
                     max_len);
            return -1;
        }
        size_t room = max_len - fixed;
        size_t keep = room > 4 ? room - 4 : 0; /* SP + BOM */
        struct sb cut = {0};
        if (keep)
            sb_clean(&cut, msg.p, msg.len, false, keep);
        free(msg.p);
        msg = cut;
    }
    struct sb o = {0};
    sb_put(&o, hdr->p, hdr->len);
    sb_put(&o, sd->p, sd->len);
    sb_puts(&o, "]");
    if (msg.len) {
        sb_puts(&o, " ");
        if (bom)
            sb_puts(&o, BOM);
        sb_put(&o, msg.p, msg.len);
    }
    free(msg.p);
    *out = o.p;
    *len = o.len;
    return 0;
}

int syslog_format_5424(const struct syslog_ident *id, const struct syslog_event *e, size_t max_len,
                       char **out, size_t *len, char *err, size_t errlen)
{
    if (max_len == 0)
        max_len = DEFAULT_MAX;
    struct sb hdr = {0}, sd = {0}, text = {0};
    put_header(&hdr, id, e);
    put_core(&sd, id, e);

    struct params p = {0};
    evidence_params(e->alert->evidence_json, &p);
    size_t omitted = 0;
    for (size_t i = 0; i < p.n; i++) {
        size_t l = strlen(p.items[i]);
        if (hdr.len + sd.len + l + 1 + FIT_RESERVE <= max_len)
            sb_put(&sd, p.items[i], l);
        else
            omitted++;
        free(p.items[i]);
    }
    free(p.items);
    free(p.names);
    if (omitted)
        put_param_int(&sd, "evidenceOmitted", (long long)omitted);

    put_text(&text, e);
    int rc = assemble(&hdr, &sd, text.p, text.len, max_len, out, len, err, errlen);
    free(hdr.p);
    free(sd.p);
    free(text.p);
    return rc;
}

/* ---- syslog(3) line ---- */

char *syslog_format_line(const struct syslog_event *e)
{
    const struct alert *a = e->alert;
    char c[FH_ADDR_STRLEN], s[FH_ADDR_STRLEN];
    struct sb b = {0}, clean = {0};
    addr_to_str(&a->client_addr, c, sizeof(c));
    addr_to_str(&a->server_addr, s, sizeof(s));
    sb_printf(&b, "%salert %lld %s %s: client %s", e->test ? "TEST " : "", (long long)a->id,
              alert_event_name(e->event), alert_kind_name(a->kind), c);
    if (a->client_port >= 0)
        sb_printf(&b, " port %d", a->client_port);
    sb_printf(&b, " -> server %s port %u, held by %s, %u attempts", s, a->server_port,
              alert_holder_name(a->holder), a->attempts);
    struct params p = {0};
    evidence_params(a->evidence_json, &p);
    for (size_t i = 0; i < p.n; i++) {
        if (!strncmp(p.items[i], " exporters=", 11))
            sb_puts(&b, p.items[i]);
        free(p.items[i]);
    }
    free(p.items);
    free(p.names);
    sb_puts(&b, " - ");
    put_text(&b, e);
    sb_clean(&clean, b.p, b.len, false, b.len * 3);
    free(b.p);
    return clean.p ? clean.p : xstrdup("");
}
