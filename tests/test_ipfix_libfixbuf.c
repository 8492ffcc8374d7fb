/* test_ipfix_libfixbuf.c - a cross-check of our integration: every IPFIX corpus file is read
 * by libfixbuf alone, the way its own ipfixDump does (libfixbuf parsing the templates off the
 * wire, each record read through its own template), and by our decode_packet (our walker
 * validating, libfixbuf decoding into our internal template, doc/ipfix.md "Integration");
 * both must find the same flow records (source address, ports, protocol, packets, bytes). */
#include "config.h"

#include <criterion/criterion.h>
#include <fixbuf/public.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decode.h"
#include "collector/fixbuf_decode.h"
#include "common/addr.h"
#include "tests/helpers.h"

static const char *const ipfix_files[] = {
    "ipfix_openbsd_pflow", "ipfix_mikrotik",  "ipfix_yaf",
    "ipfix_netscaler",     "ipfix_barracuda", "ipfix_ipfixprobe_biflow",
    "ipfix_softflowd",     "ipfix_ixia",      "ipfix_akvorado_mpls",
};

/* What both readers must agree on, as one comparable line of text. */
#define KEY_LEN 128
struct keys {
    char (*k)[KEY_LEN];
    size_t n;
};

static void keys_add(struct keys *ks, const struct fh_addr *src, unsigned sport, unsigned dport,
                     unsigned proto, unsigned long long packets, unsigned long long bytes)
{
    char a[FH_ADDR_STRLEN];
    addr_to_str(src, a, sizeof(a));
    ks->k = realloc(ks->k, (ks->n + 1) * sizeof(*ks->k));
    cr_assert(ks->k);
    snprintf(ks->k[ks->n++], KEY_LEN, "%s %u>%u/%u %llu pkts %llu bytes", a, sport, dport, proto,
             packets, bytes);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* ---- libfixbuf side ---- */

/* Read every record with its own template as the internal one (as ipfixDump does). Note:
 * libfixbuf 2.4 crashes in fbSessionAddTemplate when given a NULL GError** here. */
static void on_new_template(fbSession_t *s, uint16_t tid, fbTemplate_t *tmpl, void *app_ctx,
                            void **tmpl_ctx, fbTemplateCtxFree_fn *free_fn)
{
    (void)app_ctx;
    (void)tmpl_ctx;
    (void)free_fn;
    GError *err = NULL;
    if (!fbSessionAddTemplate(s, TRUE, tid, tmpl, &err))
        fprintf(stderr, "libfixbuf: template %u: %s\n", tid, err ? err->message : "?");
    g_clear_error(&err);
}

static size_t mem_len(const fbInfoElement_t *ie)
{
    if (ie->len != FB_IE_VARLEN)
        return ie->len;
    switch (ie->type) {
    case FB_BASIC_LIST:
        return sizeof(fbBasicList_t);
    case FB_SUB_TMPL_LIST:
        return sizeof(fbSubTemplateList_t);
    case FB_SUB_TMPL_MULTI_LIST:
        return sizeof(fbSubTemplateMultiList_t);
    default:
        return sizeof(fbVarfield_t);
    }
}

/* libfixbuf transcodes integers to host order, at the record's (possibly reduced) length. */
static unsigned long long host_uint(const uint8_t *p, size_t len)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (len) {
    case 1:
        memcpy(&u8, p, 1);
        return u8;
    case 2:
        memcpy(&u16, p, 2);
        return u16;
    case 4:
        memcpy(&u32, p, 4);
        return u32;
    case 8:
        memcpy(&u64, p, 8);
        return u64;
    default:
        return 0;
    }
}

struct fb_rec {
    struct fh_addr src;
    bool src_nonzero, have_src;
    unsigned sport, dport, proto;
    unsigned long long packets, bytes;
    bool pkts_delta, bytes_delta;
};

static void fb_field(struct fb_rec *r, const fbInfoElement_t *ie, const uint8_t *p)
{
    if (ie->ent != 0)
        return;
    unsigned long long v = host_uint(p, ie->len);
    uint8_t b[4];
    switch (ie->num) {
    case 8:
    case 27:
        if (r->src_nonzero)
            break;
        if (ie->num == 8 && ie->len == 4) {
            uint32_t h = (uint32_t)v;
            b[0] = (uint8_t)(h >> 24), b[1] = (uint8_t)(h >> 16), b[2] = (uint8_t)(h >> 8),
            b[3] = (uint8_t)h;
            if (!r->have_src || h)
                addr_from_v4(&r->src, b);
        } else if (ie->num == 27 && ie->len == 16 && (!r->have_src || p[0] | p[15])) {
            addr_from_v6(&r->src, p);
        }
        r->have_src = true;
        r->src_nonzero = !addr_is_zero(&r->src);
        break;
    case 7:
        r->sport = (unsigned)v;
        break;
    case 11:
        r->dport = (unsigned)v;
        break;
    case 4:
        r->proto = (unsigned)v;
        break;
    case 2:
        r->packets = v, r->pkts_delta = true;
        break;
    case 86:
        r->packets = r->pkts_delta ? r->packets : v;
        break;
    case 1:
        r->bytes = v, r->bytes_delta = true;
        break;
    case 85:
        r->bytes = r->bytes_delta ? r->bytes : v;
        break;
    default:
        break;
    }
}

static void fb_record(struct keys *ks, fbTemplate_t *t, const uint8_t *rec)
{
    struct fb_rec r = {0};
    size_t off = 0;
    for (uint32_t i = 0; i < fbTemplateCountElements(t); i++) {
        const fbInfoElement_t *ie = fbTemplateGetIndexedIE(t, i);
        fb_field(&r, ie, rec + off);
        off += mem_len(ie);
    }
    if (r.have_src && fbTemplateGetOptionsScope(t) == 0)
        keys_add(ks, &r.src, r.sport, r.dport, r.proto, r.packets, r.bytes);
}

static void read_with_libfixbuf(const struct th_datagram *dg, size_t n, struct keys *ks)
{
    fbInfoModel_t *model = fbInfoModelAlloc();
    fbSession_t *session = fbSessionAlloc(model);
    fbSessionAddNewTemplateCallback(session, on_new_template, NULL);
    fBuf_t *fbuf = fBufAllocForCollection(session, NULL);
    fBufSetAutomaticMode(fbuf, FALSE);
    static uint8_t rec[65536] __attribute__((aligned(16)));
    for (size_t i = 0; i < n; i++) {
        fBufSetBuffer(fbuf, dg[i].data, dg[i].len);
        GError *err = NULL;
        uint16_t tid;
        fbTemplate_t *t;
        while ((t = fBufNextCollectionTemplate(fbuf, &tid, &err))) {
            if (!fBufSetInternalTemplate(fbuf, tid, &err))
                break;
            size_t len = sizeof(rec);
            memset(rec, 0, sizeof(rec));
            if (!fBufNext(fbuf, rec, &len, &err))
                break;
            fb_record(ks, t, rec);
            fBufListFree(t, rec);
        }
        g_clear_error(&err);
    }
    fBufFree(fbuf); /* frees the session too */
    fbInfoModelFree(model);
}

/* ---- our side ---- */

static bool collect(void *ctx, const struct flow *f)
{
    keys_add(ctx, &f->src_addr, f->src_port, f->dst_port, f->proto, f->packets, f->bytes);
    return true;
}

static void read_with_flowhound(const struct th_datagram *dg, size_t n, struct keys *ks)
{
    struct exporter_table t;
    exporters_init(&t, 4, 4);
    t.free_proto_state = fixbuf_free_state;
    struct flow_emitter out = {collect, ks};
    for (size_t i = 0; i < n; i++)
        decode_packet(&t, &dg[i].src, dg[i].data, dg[i].len, 0, &out);
    exporters_free(&t);
}

/* libfixbuf warns about every sequence jump between the corpus' captures: not news here. */
static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

Test(ipfix_libfixbuf, libfixbuf_reads_the_same_flows_from_every_ipfix_file, .timeout = 60)
{
    g_log_set_handler(NULL, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, quiet, NULL);
    for (size_t f = 0; f < sizeof(ipfix_files) / sizeof(ipfix_files[0]); f++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "corpus/%s.pcap", ipfix_files[f]);
        size_t n;
        struct th_datagram *dg = th_read_pcap(th_shared_path(rel), &n);
        cr_assert(dg && n > 0, "%s", rel);
        struct keys theirs = {0}, ours = {0};
        read_with_libfixbuf(dg, n, &theirs);
        read_with_flowhound(dg, n, &ours);
        qsort(theirs.k, theirs.n, KEY_LEN, cmp_key);
        qsort(ours.k, ours.n, KEY_LEN, cmp_key);
        cr_expect_gt(ours.n, 0, "%s: flows decoded", ipfix_files[f]);
        cr_expect_eq(ours.n, theirs.n, "%s: %zu flows, libfixbuf %zu", ipfix_files[f], ours.n,
                     theirs.n);
        for (size_t i = 0; i < ours.n && i < theirs.n; i++)
            cr_expect_str_eq(ours.k[i], theirs.k[i], "%s: flow %zu", ipfix_files[f], i);
        free(theirs.k);
        free(ours.k);
        th_free_datagrams(dg, n);
    }
}
