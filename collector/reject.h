/* reject.h - why a datagram or record was rejected. Counted per exporter and shown to users,
 * so every name here is part of the interface (exporter_rejects.reason, the web UI, docs). */
#ifndef FLOWHOUND_REJECT_H
#define FLOWHOUND_REJECT_H

enum reject_reason {
    REJ_NONE = 0,
    REJ_EMPTY,               /* zero-length datagram */
    REJ_TRUNCATED,           /* shorter than its header or than its records need */
    REJ_BAD_LENGTH,          /* length disagrees with the header (v5: 24 + 48*count) */
    REJ_BAD_COUNT,           /* record count out of range (v5: 1..30) */
    REJ_UNKNOWN_VERSION,     /* not 5, 9 or 10 */
    REJ_MALFORMED_SET,       /* v9/IPFIX set or template that breaks the rules */
    REJ_TEMPLATE_MISSING,    /* v9/IPFIX data set whose template we do not know (records) */
    REJ_TEMPLATE_LIMIT,      /* too many templates in one domain (TMPL_MAX_PER_DOMAIN) */
    REJ_EXPORTER_LIMIT,      /* too many exporters: new ones are not tracked */
    REJ_NOT_ALLOWED,         /* exporter not in the allow-list */
    REJ_BAD_RECORD,          /* a record whose fields make no sense (e.g. bad address) */
    REJ_TEMPLATE_BUDGET,     /* a template over its exporter's or the global template budget */
    REJ_TEMPLATE_CHURN,      /* a template redefined or withdrawn too often (rate limit) */
    REJ_JOURNAL_LOST,        /* received, lost from the receive journal before decoding */
    REJ__COUNT
};

/* Stable lower-case names: "truncated", "bad_length", ... */
const char *reject_reason_name(enum reject_reason r);

#endif
