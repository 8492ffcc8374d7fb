/* fixbuf_session.c - libfixbuf does the decoding of v9/IPFIX data records (see the header
 * and doc/ipfix.md, "Integration").
 *
 * Templates. libfixbuf learns a template from us, not from the wire: each template our walker
 * accepted is rebuilt as an IPFIX external template (fbTemplateAppend per field) and added
 * with fbSessionAddTemplate. That is where v9 becomes IPFIX:
 *   - v9 options templates become IPFIX options templates with the same scope count;
 *   - Cisco NSEL types 40001-40005 become their IANA elements (225-228, 233);
 *   - every field we do not store -- v9 scope fields, v9 types >= 32768, enterprise and IANA
 *     elements we do not map, lists -- becomes an opaque octetArray (IANA 313,
 *     ipHeaderPacketSection) of the same length, fixed or variable. libfixbuf therefore only
 *     ever sees elements of its own information model: it never adds "alien" elements to the
 *     shared model (which a hostile exporter could grow without bound) and never parses lists;
 *   - a mapped element whose length libfixbuf cannot transcode the way we read it (an integer
 *     longer than 8 bytes or variable-length, an address not 4 / 16 bytes, an NTP time not 8
 *     bytes) and every repeated occurrence of an element is also made opaque: only the first
 *     occurrence of each element is stored.
 * v9 FIRST/LAST_SWITCHED (21/22) are read by libfixbuf as flowEnd/StartSysUpTime and made
 * absolute by rec_finish with the v9 header's sysUptime and export time (we convert them
 * ourselves rather than invent a systemInitTimeMilliseconds: the header gives exactly the
 * two numbers the conversion needs, per message).
 *
 * Records. Every data set the walker validated is wrapped in a one-set IPFIX message (version
 * 10, length, export time, a sequence number libfixbuf will find consistent, the domain) and
 * read with fBufSetBuffer / fBufNext into an internal template made of the elements we map
 * that the external template carries (added beside it under the same id), integers widened
 * to 8 bytes. Which elements a record carries comes from the external template (slot map
 * built in fbx_feed): the value of each carried element is handed to
 * rec_take_value in the external template's order, so "first non-zero address" and "first
 * port element" keep their meaning.
 *
 * Quirks handled: libfixbuf 2.4 asserts on a NULL GError** (we always pass one and free it);
 * it reports type/length mismatches and sequence jumps through g_message/g_warning, which we
 * silence (its messages would flood stderr under hostile input); fBufSetBuffer does not reset
 * its set state and it has no public rewind, so each message is read until fBufNext reports
 * its end (fbx_stale when that ever goes wrong); the 30-minute timeout only applies to
 * sessions libfixbuf's own UDP collector owns, not to ours, whose life is that of the
 * exporter domain (freed by fixbuf_free_state). */
#include "config.h"

#include <fixbuf/public.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/bytes.h"
#include "collector/fixbuf_session.h"
#include "common/xmalloc.h"

/* Fields we do not store are opaque octetArrays of their own length. Each field position has
 * its own element, (OPAQUE_PEN, position + 1), registered once in our model: libfixbuf
 * numbers repeated occurrences of one element by searching the template for each earlier
 * one, through a hash that ignores the occurrence, so 500 fields of one element cost it
 * O(n^3) per template (3.5 ms of CPU for a 512-field template, every time a hostile source
 * redefines one). Distinct elements cost O(n). 32473 is the enterprise number reserved for
 * documentation (RFC 5612): no exporter sends it, and we never read these fields. */
#define OPAQUE_PEN    32473u
#define IPFIX_HDR_LEN 16u

enum kind { K_UINT, K_V4, K_V6, K_NTP };

struct slot_def {
    uint32_t ent;
    uint16_t num;
    uint8_t kind;
};

/* Every element ipfix_record.c maps (IANA, RFC 5103 reverse, CERT/YAF). */
static const struct slot_def slot_defs[] = {
    {0, 1, K_UINT},
    {0, 2, K_UINT},
    {0, 4, K_UINT},
    {0, 5, K_UINT},
    {0, 6, K_UINT},
    {0, 7, K_UINT},
    {0, 8, K_V4},
    {0, 9, K_UINT},
    {0, 10, K_UINT},
    {0, 11, K_UINT},
    {0, 12, K_V4},
    {0, 13, K_UINT},
    {0, 14, K_UINT},
    {0, 15, K_V4},
    {0, 16, K_UINT},
    {0, 17, K_UINT},
    {0, 21, K_UINT},
    {0, 22, K_UINT},
    {0, 27, K_V6},
    {0, 28, K_V6},
    {0, 29, K_UINT},
    {0, 30, K_UINT},
    {0, 32, K_UINT},
    {0, 34, K_UINT},
    {0, 48, K_UINT},
    {0, 50, K_UINT},
    {0, 61, K_UINT},
    {0, 62, K_V6},
    {0, 85, K_UINT},
    {0, 86, K_UINT},
    {0, 136, K_UINT},
    {0, 139, K_UINT},
    {0, 150, K_UINT},
    {0, 151, K_UINT},
    {0, 152, K_UINT},
    {0, 153, K_UINT},
    {0, 154, K_NTP},
    {0, 155, K_NTP},
    {0, 156, K_NTP},
    {0, 157, K_NTP},
    {0, 158, K_UINT},
    {0, 159, K_UINT},
    {0, 160, K_UINT},
    {0, 180, K_UINT},
    {0, 181, K_UINT},
    {0, 182, K_UINT},
    {0, 183, K_UINT},
    {0, 225, K_V4},
    {0, 226, K_V4},
    {0, 227, K_UINT},
    {0, 228, K_UINT},
    {0, 231, K_UINT},
    {0, 232, K_UINT},
    {0, 233, K_UINT},
    {0, 281, K_V6},
    {0, 282, K_V6},
    {0, 302, K_UINT},
    {0, 305, K_UINT},
    {0, 306, K_UINT},
    {0, 309, K_UINT},
    {0, 310, K_UINT},
    {PEN_REVERSE, 1, K_UINT},
    {PEN_REVERSE, 2, K_UINT},
    {PEN_REVERSE, 85, K_UINT},
    {PEN_REVERSE, 86, K_UINT},
    {PEN_REVERSE, 6, K_UINT},
    {PEN_CERT, 14, K_UINT},
    {PEN_CERT, 15, K_UINT},
    {PEN_CERT, 14 | 0x4000, K_UINT},
    {PEN_CERT, 15 | 0x4000, K_UINT},
};
#define N_SLOTS (sizeof(slot_defs) / sizeof(slot_defs[0]))

/* YAF's flag elements are not in libfixbuf's default model; added once (reversible: libfixbuf
 * adds their reverse, number | 0x4000, itself). */
static fbInfoElement_t cert_elements[] = {
    FB_IE_INIT_FULL("initialTCPFlags", PEN_CERT, 14, 1, FB_IE_F_ENDIAN | FB_IE_F_REVERSIBLE, 0, 0,
                    FB_UINT_8, NULL),
    FB_IE_INIT_FULL("unionTCPFlags", PEN_CERT, 15, 1, FB_IE_F_ENDIAN | FB_IE_F_REVERSIBLE, 0, 0,
                    FB_UINT_8, NULL),
    FB_IE_NULL,
};

/* The process-wide information model (read-only after init). */
static fbInfoModel_t *model;
static pthread_once_t model_once = PTHREAD_ONCE_INIT;

struct fbx {
    fBuf_t *fbuf; /* owns the session and its templates */
    fbSession_t *session;
    uint32_t domain;
    uint32_t seq; /* records handed to libfixbuf: the sequence number it expects next */
    bool stale;   /* a message was left half-read: the session must be replaced */
};

static size_t kind_len(uint8_t kind)
{
    return kind == K_V4 ? 4 : kind == K_V6 ? 16 : 8;
}

/* libfixbuf's warnings (sequence jumps, odd element lengths) are about exporters' data, which
 * we account for ourselves; on stderr they would be a flood under hostile input. */
static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain, (void)level, (void)msg, (void)data;
}

/* The opaque elements: (OPAQUE_PEN, 1..TMPL_MAX_FIELDS), variable-length octetArrays. The
 * model copies each element and its name. */
static void add_opaque_elements(void)
{
    for (unsigned i = 1; i <= TMPL_MAX_FIELDS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "flowhoundOpaque%u", i);
        fbInfoElement_t ie = FB_IE_INIT_FULL(name, OPAQUE_PEN, (uint16_t)i, FB_IE_VARLEN,
                                             FB_IE_F_NONE, 0, 0, FB_OCTET_ARRAY, NULL);
        fbInfoModelAddElement(model, &ie);
    }
}

static void model_init(void)
{
    g_log_set_handler(
        NULL, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
        quiet_log, NULL);
    model = fbInfoModelAlloc();
    fbInfoModelAddElementArray(model, cert_elements);
    add_opaque_elements();
}

static int slot_find(uint32_t ent, uint16_t num)
{
    for (size_t i = 0; i < N_SLOTS; i++)
        if (slot_defs[i].num == num && slot_defs[i].ent == ent)
            return (int)i;
    return -1;
}

/* Can libfixbuf transcode a field of this length into the slot the way we read it? */
static bool len_ok(uint8_t kind, uint16_t len)
{
    switch (kind) {
    case K_UINT:
        return len >= 1 && len <= 8;
    case K_V4:
        return len == 4;
    case K_V6:
        return len == 16;
    default:
        return len == 8;
    }
}

/* Cisco NSEL v9 field types that have an IANA element of the same meaning. */
static uint16_t v9_nsel_renumber(uint16_t type)
{
    switch (type) {
    case 40001:
        return 225; /* NF_F_XLATE_SRC_ADDR_IPV4 -> postNATSourceIPv4Address */
    case 40002:
        return 226; /* NF_F_XLATE_DST_ADDR_IPV4 */
    case 40003:
        return 227; /* NF_F_XLATE_SRC_PORT -> postNAPTSourceTransportPort */
    case 40004:
        return 228; /* NF_F_XLATE_DST_PORT */
    case 40005:
        return 233; /* NF_F_FW_EVENT -> firewallEvent */
    default:
        return type;
    }
}

/* The slot of a template field, or -1 when it is not an element we store. */
static int field_slot(uint8_t version, const struct tmpl_field *fd)
{
    if (fd->pen == TMPL_PEN_V9_SCOPE)
        return -1;
    uint16_t num = version == 9 ? v9_nsel_renumber(fd->id) : fd->id;
    if (version == 9 && num >= 0x8000)
        return -1; /* other v9 vendor types: IPFIX would read the top bit as enterprise */
    int s = slot_find(fd->pen, num);
    return s >= 0 && len_ok(slot_defs[s].kind, fd->len) ? s : -1;
}

/* The internal template of t: the elements we store that t carries, in t's order, integers
 * as 8 bytes in host order. */
static fbTemplate_t *internal_template(const struct tmpl *t)
{
    fbTemplate_t *ft = fbTemplateAlloc(model);
    for (unsigned i = 0; i < t->n_fields; i++) {
        int s = t->fb_slot[i];
        if (s < 0)
            continue;
        fbInfoElement_t ie;
        memset(&ie, 0, sizeof(ie));
        ie.ent = slot_defs[s].ent;
        ie.num = slot_defs[s].num;
        ie.len = (uint16_t)kind_len(slot_defs[s].kind);
        GError *err = NULL;
        bool ok = fbTemplateAppend(ft, &ie, &err);
        g_clear_error(&err);
        if (!ok) {
            fbTemplateFreeUnused(ft);
            return NULL;
        }
    }
    return ft;
}

struct fbx *fbx_new(uint32_t domain)
{
    pthread_once(&model_once, model_init);
    struct fbx *x = xcalloc(1, sizeof(*x));
    x->domain = domain;
    x->session = fbSessionAlloc(model);
    fbSessionSetDomain(x->session, domain);
    x->fbuf = fBufAllocForCollection(x->session, NULL);
    fBufSetAutomaticMode(x->fbuf, FALSE);
    return x;
}

bool fbx_stale(const struct fbx *x)
{
    return x->stale;
}

void fbx_free(struct fbx *x)
{
    if (!x)
        return;
    fBufFree(x->fbuf); /* frees the session and every template in it */
    free(x);
}

/* The walker's template rebuilt as an IPFIX external template; fills t->fb_slot. */
static fbTemplate_t *external_template(uint8_t version, struct tmpl *t)
{
    fbTemplate_t *ft = fbTemplateAlloc(model);
    bool used[N_SLOTS] = {false};
    t->fb_mapped = 0;
    if (!t->fb_slot)
        t->fb_slot = xcalloc(t->n_fields, sizeof(*t->fb_slot));
    for (unsigned i = 0; i < t->n_fields; i++) {
        int s = field_slot(version, &t->fields[i]);
        if (s >= 0 && used[s])
            s = -1; /* the internal template holds the first occurrence only */
        fbInfoElement_t ie;
        memset(&ie, 0, sizeof(ie));
        ie.ent = s >= 0 ? slot_defs[s].ent : OPAQUE_PEN;
        ie.num = s >= 0 ? slot_defs[s].num : (uint16_t)(i + 1);
        ie.len = t->fields[i].len;
        GError *err = NULL;
        bool ok = fbTemplateAppend(ft, &ie, &err);
        g_clear_error(&err);
        if (!ok) {
            fbTemplateFreeUnused(ft);
            return NULL;
        }
        if (s >= 0)
            used[s] = true, t->fb_mapped++;
        t->fb_slot[i] = (int16_t)s;
        if (t->options && t->n_scope && i + 1 == t->n_scope)
            fbTemplateSetOptionsScope(ft, t->n_scope);
    }
    return ft;
}

/* Adds a template to the session (replacing one of the same id); frees it when refused. */
static bool add_template(struct fbx *x, bool internal, uint16_t tid, fbTemplate_t *ft)
{
    GError *err = NULL;
    bool ok = fbSessionAddTemplate(x->session, internal, tid, ft, &err) != 0;
    g_clear_error(&err);
    if (!ok)
        fbTemplateFreeUnused(ft);
    return ok;
}

static void remove_template(struct fbx *x, bool internal, uint16_t tid)
{
    GError *err = NULL;
    fbSessionRemoveTemplate(x->session, internal, tid, &err);
    g_clear_error(&err);
}

/* External and internal templates share the id (libfixbuf keeps them in separate tables). A
 * template carrying nothing we store gets no internal template: it is never read. */
bool fbx_feed(struct fbx *x, uint8_t version, struct tmpl *t)
{
    if (t->fb_fed)
        return true;
    fbTemplate_t *ft = external_template(version, t);
    if (!ft)
        return false;
    fbTemplate_t *it = t->fb_mapped ? internal_template(t) : NULL;
    if (t->fb_mapped && !it) {
        fbTemplateFreeUnused(ft);
        return false;
    }
    if (!add_template(x, false, t->id, ft)) {
        if (it)
            fbTemplateFreeUnused(it);
        return false;
    }
    if (it && !add_template(x, true, t->id, it)) {
        remove_template(x, false, t->id);
        return false;
    }
    t->fb_fed = true;
    return true;
}

void fbx_forget(struct fbx *x, struct tmpl *t)
{
    if (!t->fb_fed)
        return;
    remove_template(x, false, t->id);
    if (t->fb_mapped)
        remove_template(x, true, t->id);
    t->fb_fed = false;
}

static uint64_t host_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void fbx_take(const struct tmpl *t, const uint8_t *rec, struct rec_acc *a)
{
    size_t off = 0;
    for (unsigned i = 0; i < t->n_fields; i++) {
        int s = t->fb_slot[i];
        if (s < 0)
            continue;
        const struct slot_def *sd = &slot_defs[s];
        const uint8_t *p = rec + off;
        off += kind_len(sd->kind);
        uint8_t be[16];
        switch (sd->kind) {
        case K_V4: {
            uint32_t h;
            memcpy(&h, p, 4);
            put_be(be, h, 4);
            rec_take_value(a, sd->ent, sd->num, be, 4, 0);
            break;
        }
        case K_V6:
            rec_take_value(a, sd->ent, sd->num, p, 16, 0);
            break;
        case K_NTP:
            put_be(be, host_u64(p), 8);
            rec_take_value(a, sd->ent, sd->num, be, 8, 0);
            break;
        default: {
            uint64_t v = host_u64(p);
            put_be(be, v, 8);
            rec_take_value(a, sd->ent, sd->num, be, 8, v);
            break;
        }
        }
    }
}

unsigned fbx_read(struct fbx *x, const struct tmpl *t, uint32_t export_s, const uint8_t *recs,
                  size_t len, unsigned n_recs, fbx_record_fn fn, void *ctx)
{
    static _Thread_local uint8_t msg[65536];
    static _Thread_local uint8_t rec[N_SLOTS * 16] __attribute__((aligned(16)));
    if (len == 0 || len > FBX_MAX_RECORDS_LEN || !t->fb_fed)
        return 0;
    if (!t->fb_mapped)
        return n_recs; /* nothing in them we store: nothing to decode */
    GError *err = NULL;
    bool ok = fBufSetInternalTemplate(x->fbuf, t->id, &err);
    g_clear_error(&err);
    if (!ok)
        return 0;
    size_t total = IPFIX_HDR_LEN + 4 + len;
    put_be(msg, 10, 2);
    put_be(msg + 2, total, 2);
    put_be(msg + 4, export_s, 4);
    put_be(msg + 8, x->seq, 4);
    put_be(msg + 12, x->domain, 4);
    put_be(msg + 16, t->id, 2);
    put_be(msg + 18, 4 + len, 2);
    memcpy(msg + 20, recs, len);
    fBufSetBuffer(x->fbuf, msg, total);
    /* Read until libfixbuf reports the end of the message: only that resets its set state
     * (fBufSetBuffer does not; a message left half-read would have the next one read as the
     * rest of its set). At most one call more than the walker's count. */
    unsigned n = 0;
    for (;;) {
        size_t rl = sizeof(rec);
        ok = fBufNext(x->fbuf, rec, &rl, &err);
        g_clear_error(&err);
        if (!ok)
            break;
        if (n == n_recs) {
            x->stale = true; /* more records than the walker found: should not happen */
            break;
        }
        n++;
        fn(ctx, t, rec);
    }
    if (n < n_recs)
        x->stale = true; /* stopped early: its set state may be left behind */
    x->seq += n;
    return n;
}
