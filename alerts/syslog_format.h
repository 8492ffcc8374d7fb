/* syslog_format.h - alert events as syslog messages: RFC 5424 (header, structured data with
 * the evidence, UTF-8 MSG) for remote receivers, and one human-readable line for syslog(3).
 *
 * Everything that comes from flow data or the analyzer (summary, evidence JSON, names) is
 * untrusted text: invalid UTF-8 becomes U+FFFD, control characters become spaces, and
 * PARAM-VALUEs escape '"', '\' and ']' (RFC 5424 section 6.3.3), so no value can break the
 * frame. Nothing here does I/O. */
#ifndef FLOWHOUND_SYSLOG_FORMAT_H
#define FLOWHOUND_SYSLOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts/alert.h"

/* RFC 5424 section 6.2.1 severities. */
enum {
    SYSLOG_SEV_EMERG,
    SYSLOG_SEV_ALERT,
    SYSLOG_SEV_CRIT,
    SYSLOG_SEV_ERR,
    SYSLOG_SEV_WARNING,
    SYSLOG_SEV_NOTICE,
    SYSLOG_SEV_INFO,
    SYSLOG_SEV_DEBUG
};

/* The IANA Private Enterprise Number of our SD-ID (flowhound@PEN): 32473 is the number RFC 5612
 * reserves for documentation; see doc/syslog.md for why it is the default. */
#define SYSLOG_DEFAULT_PEN 32473u
/* RFC 5426 section 3.2: every receiver must take 480 octets, should take 2048. */
#define SYSLOG_UDP_MAX 2048u
/* TCP and TLS: RFC 5425 4.3.1 says receivers should take 8192 octets; rsyslog's default
 * maxMessageSize is 8096, so we stay a little below both. */
#define SYSLOG_STREAM_MAX 8000u

/* Who we are in every message. */
struct syslog_ident {
    int facility;       /* 0..23 */
    char hostname[256]; /* printable US-ASCII, no spaces ("-" if none) */
    char sd_id[48];     /* "flowhound@32473" */
    int procid;
};

/* One alert event as it is delivered. */
struct syslog_event {
    const struct alert *alert;
    enum alert_event event;
    int64_t event_id;    /* alert_events.id (0 for a test alert) */
    int64_t time_ms;     /* when the event happened (alert_events.created_ms) */
    uint64_t suppressed; /* events suppressed (rate limit, dedup) since the last message sent */
    bool test;           /* `flowhound test-alert` */
};

/* Fills an identity: hostname NULL = gethostname(), pen 0 = SYSLOG_DEFAULT_PEN. */
void syslog_ident_init(struct syslog_ident *id, int facility, const char *hostname, unsigned pen);

/* Severity of an event: opened/updated are warnings, resolved is a notice. */
int syslog_event_severity(enum alert_event ev);
/* MSGID: STALE_STATE, PORT_EXHAUSTION, RESOLVED. A test alert has the same (so receivers'
 * routing rules can be checked with it) and says test="1" in its SD and MSG. */
const char *syslog_event_msgid(const struct syslog_event *e);

/* Facility ("daemon", "local0".."local7", "user", ...) and severity names ("warning", "info",
 * ...) to numbers; -1 if unknown. */
int syslog_facility_from_name(const char *name);
int syslog_severity_from_name(const char *name);

/* Formats one RFC 5424 message (no transport framing) of at most max_len octets. When it does not
 * fit, MSG is cut at a character boundary (and the SD says msgTruncated="1"); evidence
 * parameters that do not fit are left out (evidenceOmitted="N"); the header and the core SD
 * parameters are never cut. Returns 0 with *out (malloc'd) and *len, or -1 with a message when
 * even the core cannot fit. */
int syslog_format_5424(const struct syslog_ident *id, const struct syslog_event *e, size_t max_len,
                       char **out, size_t *len, char *err, size_t errlen);

/* One human-readable line for syslog(3) (malloc'd, no newline, sanitized UTF-8). */
char *syslog_format_line(const struct syslog_event *e);

/* Appends s (n octets) to a buffer as clean UTF-8: exported for the tests of its rules. Escapes
 * '"', '\' and ']' when sd_escape. Writes at most cap octets (never splits a character or an
 * escape) and returns the octets written. */
size_t syslog_clean_utf8(char *dst, size_t cap, const char *s, size_t n, bool sd_escape);

#endif
