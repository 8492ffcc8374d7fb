/* query_out.c - the output forms of `flowhound query` (see query_out.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/query_out.h"
#include "common/satmath.h"
#include "common/timeutil.h"

struct summary summary_empty(void)
{
    return (struct summary){.first = INT64_MAX, .last = INT64_MIN};
}

/* Column index by name in the current row (the view's order is not assumed). */
static int col(sqlite3_stmt *row, const char *name)
{
    for (int i = 0, n = sqlite3_column_count(row); i < n; i++)
        if (!strcmp(sqlite3_column_name(row, i), name))
            return i;
    return -1;
}

static const char *text(sqlite3_stmt *row, const char *name)
{
    int i = col(row, name);
    const unsigned char *t = i >= 0 ? sqlite3_column_text(row, i) : NULL;
    return t ? (const char *)t : "-";
}

static int64_t num(sqlite3_stmt *row, const char *name)
{
    int i = col(row, name);
    return i >= 0 ? sqlite3_column_int64(row, i) : 0;
}

static bool is_null(sqlite3_stmt *row, const char *name)
{
    int i = col(row, name);
    return i < 0 || sqlite3_column_type(row, i) == SQLITE_NULL;
}

/* ---- flowhound's own line and long forms of flows ---- */

static void endpoint(const char *addr, int64_t port, char *buf, size_t len)
{
    if (strchr(addr, ':'))
        snprintf(buf, len, "[%s]:%" PRId64, addr, port);
    else
        snprintf(buf, len, "%s:%" PRId64, addr, port);
}

static void print_flow_line(struct out *o, sqlite3_stmt *row)
{
    char when[40], src[80], dst[80], flags[9] = "........", pbuf[8];
    if (o->rows == 0 && !o->quiet)
        printf("%-23s %9s %-5s %24s    %-24s %-8s %10s %12s\n", "Date first seen", "Duration",
               "Proto", "Src IP Addr:Port", "Dst IP Addr:Port", "Flags", "Packets", "Bytes");
    endpoint(text(row, "src_addr"), num(row, "src_port"), src, sizeof(src));
    endpoint(text(row, "dst_addr"), num(row, "dst_port"), dst, sizeof(dst));
    if (!is_null(row, "tcp_flags"))
        fmt_flags(num(row, "tcp_flags"), flags);
    printf("%-23s %9.3f %-5s %24s -> %-24s %-8s %10" PRId64 " %12" PRId64 "\n",
           fmt_when(num(row, "first_ms"), when, sizeof(when)),
           (double)sat_sub(num(row, "last_ms"), num(row, "first_ms")) / 1000.0,
           fmt_proto(num(row, "proto"), pbuf, sizeof(pbuf)), src, dst, flags, num(row, "packets"),
           num(row, "bytes"));
}

static void opt_num(sqlite3_stmt *row, const char *name, char *buf, size_t len)
{
    if (is_null(row, name))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%" PRId64, num(row, name));
}

static void print_flow_long(struct out *o, sqlite3_stmt *row)
{
    char in[24], out[24], sas[24], das[24], tos[24];
    print_flow_line(o, row);
    opt_num(row, "in_if", in, sizeof(in));
    opt_num(row, "out_if", out, sizeof(out));
    opt_num(row, "src_as", sas, sizeof(sas));
    opt_num(row, "dst_as", das, sizeof(das));
    opt_num(row, "tos", tos, sizeof(tos));
    printf("    exporter %s domain %" PRId64 " v%" PRId64 "  if %s -> %s  as %s -> %s  tos %s"
           "  next-hop %s\n",
           text(row, "exporter"), num(row, "domain"), num(row, "version"), in, out, sas, das, tos,
           text(row, "next_hop"));
}

/* ---- CSV and JSON ---- */

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_csv(struct out *o, sqlite3_stmt *row)
{
    int n = sqlite3_column_count(row);
    if (o->rows == 0)
        for (int i = 0; i < n; i++)
            printf("%s%s", sqlite3_column_name(row, i), i + 1 < n ? "," : "\n");
    for (int i = 0; i < n; i++) {
        if (i)
            putchar(',');
        const unsigned char *t = sqlite3_column_text(row, i);
        if (t)
            csv_field((const char *)t);
    }
    putchar('\n');
}

static void print_json(struct out *o, sqlite3_stmt *row)
{
    json_t *obj = query_row_json(row);
    fputs(o->rows ? ",\n" : "[\n", stdout);
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
}

/* ---- -s tables, as nfdump's ---- */

static const char *const stat_titles[] = {[QS_SRCIP] = "Src IP Addr", [QS_DSTIP] = "Dst IP Addr",
                                          [QS_IP] = "IP Addr",        [QS_SRCPORT] = "Src Port",
                                          [QS_DSTPORT] = "Dst Port",  [QS_PORT] = "Port",
                                          [QS_PROTO] = "Protocol",    [QS_SRCAS] = "Src AS",
                                          [QS_DSTAS] = "Dst AS",      [QS_AS] = "AS",
                                          [QS_INIF] = "Input If",     [QS_OUTIF] = "Output If",
                                          [QS_IF] = "In/Out If",      [QS_EXPORTER] = "Router IP"};

void out_top_title(const struct out *o, int64_t limit, enum query_order order)
{
    if (o->quiet || (o->fmt != FMT_LINE && o->fmt != FMT_LONG))
        return;
    const char *what = o->kind == OUT_TOP ? stat_titles[o->stat] : "flows";
    if (limit > 0 && limit < INT64_MAX)
        printf("Top %" PRId64 " %s ordered by %s:\n", limit, what, query_order_name(order));
    else
        printf("Top %s ordered by %s:\n", what, query_order_name(order));
    if (o->kind == OUT_TOP)
        printf("Date first seen                 Duration Proto %17s    Flows(%%)     Packets(%%)"
               "       Bytes(%%)         pps      bps   bpp\n",
               stat_titles[o->stat]);
}

static double pct(int64_t part, int64_t total)
{
    return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

static void print_top_line(struct out *o, sqlite3_stmt *row)
{
    int64_t f = num(row, "flows"), p = num(row, "packets"), b = num(row, "bytes");
    int64_t span = sat_sub(num(row, "last_ms"), num(row, "first_ms"));
    char when[40], dur[40], fs[32], ps[32], bs[32], pps[32], bps[32], proto[16];
    const char *key = text(row, "key"), *pr = "any";
    if (o->stat == QS_PROTO && !is_null(row, "key") && o->plain)
        pr = text(row, "key");
    else if (o->stat == QS_PROTO && !is_null(row, "key"))
        pr = fmt_proto(num(row, "key"), proto, sizeof(proto));
    if (o->plain)
        snprintf(dur, sizeof(dur), "%16.3f", (double)span / 1000.0);
    else
        fmt_duration((double)span / 1000.0, dur, sizeof(dur));
    fmt_number((uint64_t)f, o->plain, true, fs, sizeof(fs));
    fmt_number((uint64_t)p, o->plain, true, ps, sizeof(ps));
    fmt_number((uint64_t)b, o->plain, true, bs, sizeof(bs));
    fmt_number(fmt_per_second((double)p, span), o->plain, true, pps, sizeof(pps));
    fmt_number(fmt_per_second((double)b * 8, span), o->plain, true, bps, sizeof(bps));
    printf("%s %9s %-5s %17s %8s(%4.1f) %8s(%4.1f) %8s(%4.1f) %8s %8s %5" PRId64 "\n",
           fmt_when(num(row, "first_ms"), when, sizeof(when)), dur, pr, key, fs,
           pct(f, o->total->flows), ps, pct(p, o->total->packets), bs, pct(b, o->total->bytes), pps,
           bps, p > 0 ? b / p : 0);
}

/* ---- rows ---- */

/* Sums saturate: a hostile exporter's counters must not overflow them. */
static int64_t plus(int64_t x, int64_t y)
{
    int64_t r;
    return __builtin_add_overflow(x, y, &r) ? (y > 0 ? INT64_MAX : INT64_MIN) : r;
}

static void tally(struct summary *s, sqlite3_stmt *row)
{
    int64_t first = num(row, "first_ms"), last = num(row, "last_ms");
    s->flows++;
    s->packets = plus(s->packets, num(row, "packets"));
    s->bytes = plus(s->bytes, num(row, "bytes"));
    s->first = first < s->first ? first : s->first;
    s->last = last > s->last ? last : s->last;
}

static void print_text(struct out *o, sqlite3_stmt *row)
{
    if (o->kind == OUT_TOP)
        print_top_line(o, row);
    else if (o->custom) {
        if (o->rows == 0 && !o->quiet)
            fmt_header(o->custom, stdout);
        fmt_row(o->custom, row, stdout);
    } else if (o->fmt == FMT_LONG)
        print_flow_long(o, row);
    else
        print_flow_line(o, row);
}

int out_row(void *ctx, sqlite3_stmt *row)
{
    struct out *o = ctx;
    if (o->kind == OUT_FLOWS)
        tally(&o->printed, row);
    if (o->fmt == FMT_CSV)
        print_csv(o, row);
    else if (o->fmt == FMT_JSON)
        print_json(o, row);
    else
        print_text(o, row);
    o->rows++;
    return ferror(stdout) ? 1 : 0;
}

void out_end(struct out *o)
{
    static const char *const top_cols[] = {"key",         "flows",         "packets",
                                           "bytes",       "first_ms",      "last_ms",
                                           "total_flows", "total_packets", "total_bytes"};
    if (o->fmt == FMT_JSON) {
        fputs(o->rows ? "\n]\n" : "[]\n", stdout);
    } else if (o->fmt == FMT_CSV && o->rows == 0 && o->kind != OUT_RECORDS) {
        /* no rows: still the header, so that a script sees the columns */
        const char *const *cols = o->kind == OUT_TOP ? top_cols : o->cols;
        size_t n = o->kind == OUT_TOP ? sizeof(top_cols) / sizeof(top_cols[0]) : o->ncols;
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? "," : "", cols[i]);
        putchar('\n');
    } else if (o->kind == OUT_FLOWS && !o->quiet && (o->fmt == FMT_LINE || o->fmt == FMT_LONG)) {
        printf("%zu %s\n", o->rows, o->rows == 1 ? "flow" : "flows");
    }
}

/* ---- the footer ---- */

static void when_s(int64_t ms, char *buf, size_t len)
{
    fmt_when(ms, buf, len);
    buf[19] = '\0'; /* whole seconds, as nfdump */
}

void out_summary(const struct summary *s, int64_t from, int64_t to, bool plain)
{
    double secs = s->flows ? (double)sat_sub(s->last, s->first) / 1000.0 : 0;
    uint64_t bps = 0, pps = 0, bpp = s->packets > 0 ? (uint64_t)(s->bytes / s->packets) : 0;
    if (secs > 0) {
        bps = (uint64_t)((double)s->bytes * 8 / secs);
        pps = (uint64_t)((double)s->packets / secs);
    }
    char b[32], p[32], r1[32], r2[32], r3[32];
    fmt_number((uint64_t)s->bytes, plain, false, b, sizeof(b));
    fmt_number((uint64_t)s->packets, plain, false, p, sizeof(p));
    fmt_number(bps, plain, false, r1, sizeof(r1));
    fmt_number(pps, plain, false, r2, sizeof(r2));
    fmt_number(bpp, plain, false, r3, sizeof(r3));
    printf("Summary: total flows: %" PRId64 ", total bytes: %s, total packets: %s, avg bps: %s, "
           "avg pps: %s, avg bpp: %s\n",
           s->flows, b, p, r1, r2, r3);
    if (!s->flows) {
        printf("Time window: <unknown>\n");
        return;
    }
    char t1[40], t2[40];
    when_s(s->first > from ? s->first : from, t1, sizeof(t1));
    when_s(s->last < to ? s->last : to, t2, sizeof(t2));
    printf("Time window: %s - %s\n", t1, t2);
}
