/* templates.h - v9 and IPFIX template records: parsing (strictly bounds-checked) and the
 * per-(exporter, domain) template table.
 *
 * A template is kept both parsed (for decoding) and as the raw template record we received
 * (for persistence: storage/template_store.c writes the raw bytes and feeds them back through
 * tmpl_parse at start-up, so the same validation applies to what comes from the database).
 *
 * Field identity: IPFIX fields are (pen, id) with id < 32768. v9 field types are 16-bit with
 * no enterprise number; they are kept as (pen 0, type), so v9 vendor types >= 32768 (Cisco
 * NSEL 40001-40005, ...) cannot collide with IPFIX elements. v9 options scope fields (system,
 * interface, ...) are not information elements: they get pen TMPL_PEN_V9_SCOPE and are skipped.
 */
#ifndef FLOWHOUND_TEMPLATES_H
#define FLOWHOUND_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/reject.h"
#include "common/ratelimit.h"

#define TMPL_VARLEN         65535u      /* IPFIX variable-length field (RFC 7011 7) */
#define TMPL_PEN_V9_SCOPE   0xffffffffu /* marker: v9 options scope field */
#define TMPL_MAX_FIELDS     512         /* more fields than this is an attack, not a template */
#define TMPL_MAX_PER_DOMAIN 1024        /* templates one (exporter, domain) may define */

struct tmpl_field {
    uint32_t pen; /* 0 = IANA; 29305 = RFC 5103 reverse; TMPL_PEN_V9_SCOPE */
    uint16_t id;
    uint16_t len; /* TMPL_VARLEN for variable length */
};

struct tmpl {
    uint16_t id;
    bool options;
    uint16_t n_fields;
    uint16_t n_scope; /* leading scope fields (options templates) */
    size_t min_len;   /* smallest record: fixed lengths + 1 byte per variable field */
    struct tmpl_field *fields;
    uint8_t *raw; /* the template record as received, in its version's wire format */
    size_t raw_len;
    int64_t received_ms; /* when the exporter last sent it */
    int64_t seen_ms;     /* the expiry clock: received_ms, or when restored at start-up */
    size_t cost;         /* tmpl_cost, charged to the budget while held */
    /* A redefinition or withdrawal of this id was refused in this message of its domain
     * (fixbuf_decode.c numbers them): data in that message follows the refused layout. */
    uint64_t refused_in;
    /* libfixbuf's copy (collector/fixbuf_session.c): whether this definition was given to the
     * domain's session, and for each field the internal-template slot it is read from (-1:
     * not stored). */
    bool fb_fed;
    int16_t *fb_slot;
    uint16_t fb_mapped; /* how many fields have a slot */
};

/* What template state may cost (issue 13): one per exporter table, shared by every domain's
 * table. A hostile source can define 1024 templates of 512 fields per domain, 64 domains per
 * address, from any number of spoofed addresses: without a budget that is gigabytes. */
struct tmpl_limits {
    uint64_t budget_all;      /* bytes for all exporters' templates (0: no limit) */
    uint64_t budget_exporter; /* bytes for one exporter's (0: no limit) */
    int64_t timeout_ms;       /* not refreshed for this long: expired (0: never) */
    unsigned changes_per_min; /* redefinitions and withdrawals per domain (0: no limit) */
    uint64_t used_all;        /* bytes held, all exporters */
};

struct tmpl_table {
    struct tmpl **items; /* sorted by id */
    unsigned n, cap;
    bool dirty;               /* changed (added, redefined, withdrawn) since last persisted */
    uint64_t bytes;           /* the cost of the templates held */
    struct tmpl_limits *lim;  /* NULL: no limits */
    uint64_t *exporter_bytes; /* the exporter's bytes over all its domains (with lim) */
    struct rate_bucket changes;
};

/* What a template costs while held: our parsed and raw copies and libfixbuf's (its external
 * and internal templates and their indexes), an upper bound of the heap measured with
 * mallinfo2 for 5 to 512 fields (bench/templbench memory: libfixbuf's copy is 2.2 KiB for 5
 * fields, 53 KiB for 512). Charged when the template is stored, whether or not data for it has
 * made libfixbuf build its copy yet. */
#define TMPL_FB_COST_BASE  2304u
#define TMPL_FB_COST_FIELD 112u
size_t tmpl_cost(const struct tmpl *t);

/* Parses one template record at p (at most `avail` bytes) of a template set (options=false)
 * or options template set (options=true) of protocol `version` (9 or 10). On success fills *t
 * (owning fields and raw), sets *used to the record's length and returns REJ_NONE. A
 * withdrawal (IPFIX field count 0) returns REJ_NONE with t->n_fields == 0 and no allocation.
 * Rejects (REJ_TRUNCATED, REJ_MALFORMED_SET, REJ_TEMPLATE_LIMIT) allocate nothing. */
enum reject_reason tmpl_parse(uint8_t version, bool options, const uint8_t *p, size_t avail,
                              struct tmpl *t, size_t *used);
void tmpl_free(struct tmpl *t);

/* An empty table charged to `lim` and `*exporter_bytes` (both NULL: no limits). */
void tmpl_table_init(struct tmpl_table *tt, struct tmpl_limits *lim, uint64_t *exporter_bytes);
const struct tmpl *tmpl_find(const struct tmpl_table *tt, uint16_t id);
/* Adds or replaces (takes ownership of *t's memory; its received_ms is the clock of the rate
 * limit). A definition identical to the one held only refreshes received_ms and seen_ms (the
 * held one is kept, and *t freed): refreshes cost nothing and are never refused. Otherwise
 * refused (and *t freed) with REJ_TEMPLATE_LIMIT when the domain holds TMPL_MAX_PER_DOMAIN,
 * REJ_TEMPLATE_BUDGET when it would take the exporter or everyone over budget, and, for a new
 * layout of an id held, REJ_TEMPLATE_CHURN beyond the rate of changes; a refused redefinition
 * keeps the definition held. */
enum reject_reason tmpl_put(struct tmpl_table *tt, struct tmpl *t);
/* A change that is not a definition (a withdrawal) asks for its turn here: false when the
 * domain changed its templates too often (limits' changes_per_min). */
bool tmpl_may_change(struct tmpl_table *tt, int64_t now_ms);
/* Withdraws one template id; returns whether it existed. */
bool tmpl_withdraw(struct tmpl_table *tt, uint16_t id);
/* Withdraws all templates (options or not), as an IPFIX "withdraw all" asks. */
void tmpl_withdraw_all(struct tmpl_table *tt, bool options);
/* Whether template t of a table with these limits was last seen too long before now_ms. */
bool tmpl_expired(const struct tmpl_table *tt, const struct tmpl *t, int64_t now_ms);
/* Withdraws every expired template; returns how many. */
unsigned tmpl_expire(struct tmpl_table *tt, int64_t now_ms);
void tmpl_table_free(struct tmpl_table *tt);

#endif
