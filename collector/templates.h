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
    int64_t received_ms;
    /* libfixbuf's copy (collector/fixbuf_session.c): whether this definition was given to the
     * domain's session, and for each field the internal-template slot it is read from (-1:
     * not stored). */
    bool fb_fed;
    int16_t *fb_slot;
    uint16_t fb_mapped; /* how many fields have a slot */
};

struct tmpl_table {
    struct tmpl **items; /* sorted by id */
    unsigned n, cap;
    bool dirty; /* changed (added, redefined, withdrawn) since last persisted */
};

/* Parses one template record at p (at most `avail` bytes) of a template set (options=false)
 * or options template set (options=true) of protocol `version` (9 or 10). On success fills *t
 * (owning fields and raw), sets *used to the record's length and returns REJ_NONE. A
 * withdrawal (IPFIX field count 0) returns REJ_NONE with t->n_fields == 0 and no allocation.
 * Rejects (REJ_TRUNCATED, REJ_MALFORMED_SET, REJ_TEMPLATE_LIMIT) allocate nothing. */
enum reject_reason tmpl_parse(uint8_t version, bool options, const uint8_t *p, size_t avail,
                              struct tmpl *t, size_t *used);
void tmpl_free(struct tmpl *t);

const struct tmpl *tmpl_find(const struct tmpl_table *tt, uint16_t id);
/* Adds or replaces (takes ownership of *t's memory). A definition identical to the one held
 * only refreshes received_ms (the held one is kept, and *t freed). Returns REJ_TEMPLATE_LIMIT (and
 * frees *t) when full. */
enum reject_reason tmpl_put(struct tmpl_table *tt, struct tmpl *t);
/* Withdraws one template id; returns whether it existed. */
bool tmpl_withdraw(struct tmpl_table *tt, uint16_t id);
/* Withdraws all templates (options or not), as an IPFIX "withdraw all" asks. */
void tmpl_withdraw_all(struct tmpl_table *tt, bool options);
void tmpl_table_free(struct tmpl_table *tt);

#endif
