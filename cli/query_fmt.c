/* query_fmt.c - nfdump's -o fmt: language and number conventions (see query_fmt.h).
 *
 * A format is compiled once into tokens and literal text. Each token prints one value with
 * nfdump's width, read from the row's column of that name; a row without the column (a
 * top-N entry has no ports, an aggregated record only its key's fields) or with NULL there
 * prints "-" in the same width, where nfdump would print 0. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/query_fmt.h"
#include "common/satmath.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

/* The columns tokens read. */
enum col {
    C_FIRST,
    C_LAST,
    C_RECV,
    C_PROTO,
    C_SRC,
    C_DST,
    C_SPORT,
    C_DPORT,
    C_FLAGS,
    C_PKT,
    C_BYT,
    C_FLOWS,
    C_RPKT,
    C_RBYT,
    C_SAS,
    C_DAS,
    C_IN,
    C_OUT,
    C_TOS,
    C_SMK,
    C_DMK,
    C_NH,
    C_EXP,
    C_END,
    C_N
};
static const char *const col_names[C_N] = {
    "first_ms",    "last_ms",   "received_ms", "proto",    "src_addr", "dst_addr",
    "src_port",    "dst_port",  "tcp_flags",   "packets",  "bytes",    "flows",
    "rev_packets", "rev_bytes", "src_as",      "dst_as",   "in_if",    "out_if",
    "tos",         "src_mask",  "dst_mask",    "next_hop", "exporter", "end_reason"};

struct fmt;
struct ctx {
    const struct fmt *f;
    sqlite3_stmt *row;
    FILE *out;
};

struct tokdef {
    const char *name;
    const char *title;
    enum col need; /* printed as "-" when this column is missing */
    int width;     /* of that "-" */
    void (*print)(const struct ctx *c);
};

struct tok {
    const struct tokdef *def; /* NULL: literal text */
    char *lit;
};

struct fmt {
    struct tok *toks;
    size_t n;
    bool plain;
    sqlite3_stmt *bound; /* the statement idx[] was found in */
    int ncols;
    int idx[C_N];
};

/* ---- values ---- */

static bool has(const struct ctx *c, enum col k)
{
    int i = c->f->idx[k];
    return i >= 0 && sqlite3_column_type(c->row, i) != SQLITE_NULL;
}

static int64_t ival(const struct ctx *c, enum col k)
{
    return has(c, k) ? sqlite3_column_int64(c->row, c->f->idx[k]) : 0;
}

static const char *sval(const struct ctx *c, enum col k)
{
    const unsigned char *t = has(c, k) ? sqlite3_column_text(c->row, c->f->idx[k]) : NULL;
    return t ? (const char *)t : "-";
}

static int64_t span_ms(const struct ctx *c)
{
    return sat_sub(ival(c, C_LAST), ival(c, C_FIRST));
}

/* ---- nfdump's conventions ---- */

void fmt_number(uint64_t n, bool plain, bool fixed, char *buf, size_t len)
{
    static const struct {
        double at;
        const char *unit;
    } units[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}};
    double f = (double)n;
    if (plain) {
        snprintf(buf, len, "%" PRIu64, n);
        return;
    }
    for (size_t i = 0; i < 3; i++)
        if (f >= units[i].at) {
            snprintf(buf, len, fixed ? "%5.1f %s" : "%.1f %s", f / units[i].at, units[i].unit);
            return;
        }
    snprintf(buf, len, fixed ? "%4.0f" : "%.0f", f);
}

const char *fmt_duration(double seconds, char *buf, size_t len)
{
    int days = (int)(seconds / 86400);
    double rest = seconds - 86400.0 * days;
    int hours = (int)(rest / 3600);
    rest -= 3600.0 * hours;
    int min = (int)(rest / 60);
    rest -= 60.0 * min;
    if (days)
        snprintf(buf, len, "%2dd %02d:%02d:%06.3f", days, hours, min, rest);
    else
        snprintf(buf, len, "    %02d:%02d:%06.3f", hours, min, rest);
    return buf;
}

const char *fmt_when(int64_t ms, char *buf, size_t len)
{
    char iso[40];
    format_time_ms(ms, iso, sizeof(iso)); /* 2026-11-23T17:30:00.014Z */
    iso[10] = ' ';
    iso[23] = '\0';
    snprintf(buf, len, "%s", iso);
    return buf;
}

const char *fmt_flags(int64_t flags, char *buf)
{
    static const char letters[] = "CEUAPRSF";
    for (int i = 0; i < 8; i++)
        buf[i] = (flags & (0x80 >> i)) ? letters[i] : '.';
    buf[8] = '\0';
    return buf;
}

const char *fmt_proto(int64_t p, char *buf, size_t len)
{
    static const struct {
        int num;
        const char *name;
    } names[] = {{1, "ICMP"},   {2, "IGMP"},  {4, "IPIP"},  {6, "TCP"},    {17, "UDP"},
                 {41, "IPv6"},  {46, "RSVP"}, {47, "GRE"},  {50, "ESP"},   {51, "AH"},
                 {58, "ICMP6"}, {89, "OSPF"}, {103, "PIM"}, {112, "VRRP"}, {132, "SCTP"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].num == p)
            return names[i].name;
    snprintf(buf, len, "%" PRId64, p);
    return buf;
}

uint64_t fmt_per_second(double n, int64_t span)
{
    double r = span > 0 ? n / ((double)span / 1000.0) : 0;
    return r < 1.8e19 ? (uint64_t)r : UINT64_MAX;
}

/* ---- tokens ---- */

static void number(const struct ctx *c, uint64_t n, int width)
{
    char s[32];
    fmt_number(n, c->f->plain, true, s, sizeof(s));
    fprintf(c->out, "%*s", width, s);
}

static void p_time(const struct ctx *c, enum col k)
{
    char s[40];
    fputs(fmt_when(ival(c, k), s, sizeof(s)), c->out);
}

static void p_ts(const struct ctx *c)
{
    p_time(c, C_FIRST);
}

static void p_te(const struct ctx *c)
{
    p_time(c, C_LAST);
}

static void p_tr(const struct ctx *c)
{
    p_time(c, C_RECV);
}

static void p_raw(const struct ctx *c, enum col k)
{
    int64_t ms = ival(c, k);
    fprintf(c->out, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

static void p_tsr(const struct ctx *c)
{
    p_raw(c, C_FIRST);
}

static void p_ter(const struct ctx *c)
{
    p_raw(c, C_LAST);
}

static void p_td(const struct ctx *c)
{
    char s[40];
    double sec = (double)span_ms(c) / 1000.0;
    if (c->f->plain)
        fprintf(c->out, "%16.3f", sec);
    else
        fputs(fmt_duration(sec, s, sizeof(s)), c->out);
}

static void p_pr(const struct ctx *c)
{
    char s[16];
    if (c->f->plain)
        fprintf(c->out, "%-5" PRId64, ival(c, C_PROTO));
    else
        fprintf(c->out, "%-5s", fmt_proto(ival(c, C_PROTO), s, sizeof(s)));
}

static void p_addr(const struct ctx *c, enum col k)
{
    fprintf(c->out, "%16s", sval(c, k));
}

static void p_sa(const struct ctx *c)
{
    p_addr(c, C_SRC);
}

static void p_da(const struct ctx *c)
{
    p_addr(c, C_DST);
}

static void p_nh(const struct ctx *c)
{
    p_addr(c, C_NH);
}

static void p_ra(const struct ctx *c)
{
    p_addr(c, C_EXP);
}

/* The port, or ICMP's type and code (exporters put them in dst_port), as nfdump: type.code. */
static const char *port_text(const struct ctx *c, enum col k, char *buf, size_t len)
{
    int64_t p = ival(c, k), proto = ival(c, C_PROTO);
    if (k == C_DPORT && has(c, C_PROTO) && (proto == 1 || proto == 58))
        snprintf(buf, len, "%" PRId64 ".%" PRId64, p >> 8, p & 0xff);
    else
        snprintf(buf, len, "%" PRId64, p);
    return buf;
}

/* nfdump: "addr:port", IPv6 "addr.port"; a missing port (an -A without it) prints as 0. */
static void p_ap(const struct ctx *c, enum col a, enum col p)
{
    const char *s = sval(c, a);
    char port[48];
    fprintf(c->out, "%16s%c%-5s", s, strchr(s, ':') ? '.' : ':',
            port_text(c, p, port, sizeof(port)));
}

static void p_sap(const struct ctx *c)
{
    p_ap(c, C_SRC, C_SPORT);
}

static void p_dap(const struct ctx *c)
{
    p_ap(c, C_DST, C_DPORT);
}

static void p_sp(const struct ctx *c)
{
    fprintf(c->out, "%6" PRId64, ival(c, C_SPORT));
}

static void p_dp(const struct ctx *c)
{
    char port[48];
    fprintf(c->out, "%6s", port_text(c, C_DPORT, port, sizeof(port)));
}

/* Only TCP has flags: others print as none, as nfdump. */
static void p_flg(const struct ctx *c)
{
    char s[9];
    bool tcp = !has(c, C_PROTO) || ival(c, C_PROTO) == 6;
    fprintf(c->out, "%8s", fmt_flags(tcp ? ival(c, C_FLAGS) : 0, s));
}

static void p_pkt(const struct ctx *c)
{
    number(c, (uint64_t)ival(c, C_PKT), 8);
}

static void p_byt(const struct ctx *c)
{
    number(c, (uint64_t)ival(c, C_BYT), 8);
}

static void p_opkt(const struct ctx *c)
{
    number(c, (uint64_t)ival(c, C_RPKT), 8);
}

static void p_obyt(const struct ctx *c)
{
    number(c, (uint64_t)ival(c, C_RBYT), 8);
}

/* A flow row has no flows column: it is one flow. */
static void p_fl(const struct ctx *c)
{
    fprintf(c->out, "%5" PRId64, c->f->idx[C_FLOWS] >= 0 ? ival(c, C_FLOWS) : 1);
}

static void p_bps(const struct ctx *c)
{
    number(c, fmt_per_second((double)ival(c, C_BYT) * 8, span_ms(c)), 8);
}

static void p_pps(const struct ctx *c)
{
    number(c, fmt_per_second((double)ival(c, C_PKT), span_ms(c)), 8);
}

static void p_bpp(const struct ctx *c)
{
    int64_t p = ival(c, C_PKT);
    fprintf(c->out, "%6" PRId64, p > 0 ? ival(c, C_BYT) / p : 0);
}

static void p_int(const struct ctx *c, enum col k, int width)
{
    fprintf(c->out, "%*" PRId64, width, ival(c, k));
}

static void p_sas(const struct ctx *c)
{
    p_int(c, C_SAS, 6);
}

static void p_das(const struct ctx *c)
{
    p_int(c, C_DAS, 6);
}

static void p_in(const struct ctx *c)
{
    p_int(c, C_IN, 6);
}

static void p_out(const struct ctx *c)
{
    p_int(c, C_OUT, 6);
}

static void p_tos(const struct ctx *c)
{
    p_int(c, C_TOS, 3);
}

static void p_smk(const struct ctx *c)
{
    p_int(c, C_SMK, 5);
}

static void p_dmk(const struct ctx *c)
{
    p_int(c, C_DMK, 5);
}

static void p_end(const struct ctx *c)
{
    p_int(c, C_END, 3);
}

static void p_n(const struct ctx *c)
{
    fputc('\n', c->out);
}

static const struct tokdef tokens[] = {
    {"ts", "Date first seen        ", C_FIRST, 23, p_ts},
    {"tfs", "Date first seen        ", C_FIRST, 23, p_ts},
    {"te", "Date last seen         ", C_LAST, 23, p_te},
    {"tr", "Date flow received     ", C_RECV, 23, p_tr},
    {"tsr", "Date first seen (raw)    ", C_FIRST, 14, p_tsr},
    {"ter", "Date last seen (raw)     ", C_LAST, 14, p_ter},
    {"td", "    Duration    ", C_LAST, 16, p_td},
    {"pr", "Proto", C_PROTO, 5, p_pr},
    {"sa", "     Src IP Addr", C_SRC, 16, p_sa},
    {"da", "     Dst IP Addr", C_DST, 16, p_da},
    {"sap", "     Src IP Addr:Port ", C_SRC, 22, p_sap},
    {"dap", "     Dst IP Addr:Port ", C_DST, 22, p_dap},
    {"sp", "Src Pt", C_SPORT, 6, p_sp},
    {"dp", "Dst Pt", C_DPORT, 6, p_dp},
    {"sas", "Src AS", C_SAS, 6, p_sas},
    {"das", "Dst AS", C_DAS, 6, p_das},
    {"in", " Input", C_IN, 6, p_in},
    {"out", "Output", C_OUT, 6, p_out},
    {"pkt", " Packets", C_PKT, 8, p_pkt},
    {"ipkt", "  In Pkt", C_PKT, 8, p_pkt},
    {"opkt", " Out Pkt", C_RPKT, 8, p_opkt},
    {"byt", "   Bytes", C_BYT, 8, p_byt},
    {"ibyt", " In Byte", C_BYT, 8, p_byt},
    {"obyt", "Out Byte", C_RBYT, 8, p_obyt},
    {"fl", "Flows", C_PKT, 5, p_fl},
    {"flg", "   Flags", C_N, 8, p_flg}, /* no flags sent: none set, as nfdump */
    {"tos", "Tos", C_TOS, 3, p_tos},
    {"stos", "STos", C_TOS, 4, p_tos},
    {"smk", "SMask", C_SMK, 5, p_smk},
    {"dmk", "DMask", C_DMK, 5, p_dmk},
    {"nh", "     Next-hop IP", C_NH, 16, p_nh},
    {"ra", "       Router IP", C_EXP, 16, p_ra},
    {"exp", "     Exporter IP", C_EXP, 16, p_ra},
    {"end", "End", C_END, 3, p_end},
    {"bps", "     bps", C_BYT, 8, p_bps},
    {"pps", "     pps", C_PKT, 8, p_pps},
    {"bpp", "   Bpp", C_BYT, 6, p_bpp},
    {"n", "", C_N, 0, p_n},
};

const char *fmt_token_of_column(const char *col)
{
    static const struct {
        const char *col, *tok;
    } map[] = {{"proto", "%pr"},    {"src_addr", "%sa"},  {"dst_addr", "%da"},  {"src_port", "%sp"},
               {"dst_port", "%dp"}, {"src_as", "%sas"},   {"dst_as", "%das"},   {"in_if", "%in"},
               {"out_if", "%out"},  {"src_mask", "%smk"}, {"dst_mask", "%dmk"}, {"tos", "%tos"},
               {"next_hop", "%nh"}, {"exporter", "%ra"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].col, col))
            return map[i].tok;
    return NULL;
}

/* ---- compiling and printing ---- */

static void add(struct fmt *f, const struct tokdef *def, const char *lit, size_t len)
{
    f->toks = xreallocarray(f->toks, f->n + 1, sizeof(*f->toks));
    f->toks[f->n].def = def;
    f->toks[f->n].lit = def ? NULL : xstrndup(lit, len);
    f->n++;
}

static const struct tokdef *lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
        if (strlen(tokens[i].name) == len && !memcmp(tokens[i].name, name, len))
            return &tokens[i];
    return NULL;
}

struct fmt *fmt_compile(const char *spec, bool plain, char *err, size_t errlen)
{
    struct fmt *f = xcalloc(1, sizeof(*f));
    f->plain = plain;
    const char *p = spec;
    while (*p) {
        if (*p != '%') {
            size_t len = strcspn(p, "%");
            add(f, NULL, p, len);
            p += len;
            continue;
        }
        size_t len = 0;
        while (isalnum((unsigned char)p[1 + len]))
            len++;
        const struct tokdef *def = lookup(p + 1, len);
        if (!def) {
            snprintf(err, errlen, "unknown token '%%%.*s' in the format (see --help)",
                     (int)(len > 20 ? 20 : len), p + 1);
            fmt_free(f);
            return NULL;
        }
        add(f, def, NULL, 0);
        p += 1 + len;
    }
    return f;
}

void fmt_free(struct fmt *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->toks[i].lit);
    free(f->toks);
    free(f);
}

void fmt_header(const struct fmt *f, FILE *out)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->toks[i].def)
            fputs(f->toks[i].def->title, out);
        else
            fprintf(out, "%*s", (int)strlen(f->toks[i].lit), "");
    fputc('\n', out);
}

/* Finds the columns by name, once per statement. */
static void bind_columns(struct fmt *f, sqlite3_stmt *row)
{
    int n = sqlite3_column_count(row);
    if (f->bound == row && f->ncols == n)
        return;
    for (int k = 0; k < C_N; k++) {
        f->idx[k] = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(sqlite3_column_name(row, i), col_names[k]))
                f->idx[k] = i;
    }
    f->bound = row;
    f->ncols = n;
}

void fmt_row(struct fmt *f, sqlite3_stmt *row, FILE *out)
{
    bind_columns(f, row);
    struct ctx c = {.f = f, .row = row, .out = out};
    for (size_t i = 0; i < f->n; i++) {
        const struct tokdef *d = f->toks[i].def;
        if (!d)
            fputs(f->toks[i].lit, out);
        else if (d->need != C_N && !has(&c, d->need))
            fprintf(out, "%*s", d->width, "-");
        else
            d->print(&c);
    }
    fputc('\n', out);
}
