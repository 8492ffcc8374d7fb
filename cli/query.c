/* query.c - `flowhound query`: list flows or top-N statistics from a store, with an
 * nfdump-style filter (doc/filter.md), in line, long, CSV or JSON form (doc/cli.md).
 * Reads through the query layer (query/query.h), like the web UI. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "common/args.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "query/filter.h"

enum format { FMT_LINE, FMT_LONG, FMT_CSV, FMT_JSON };

struct opts {
    const char *db;
    char *filter_text;
    const char *range;
    const char *stat;
    const char *order;
    int64_t limit, offset, time_limit, threads;
    enum format fmt;
};

enum { OPT_OFFSET = 1, OPT_TIME_LIMIT, OPT_THREADS };

static const struct arg_opt options[] = {
    {"read", 'r', ARG_VALUE, 'r', "DB", "the store (flowhoundd --db)", NULL},
    {"store", 0, ARG_VALUE, 'r', "URL",
     "the store as flowhoundd's store: sqlite:PATH or\nclickhouse://HOST:8123/DATABASE", NULL},
    {"filter", 'f', ARG_VALUE, 'f', "FILTER",
     "the filter, e.g. 'dst port 515 and flags S and\n"
     "not flags A'; or give it as the remaining\n"
     "arguments. See doc/filter.md.",
     NULL},
    {"time", 't', ARG_VALUE, 't', "FROM-TO",
     "flows overlapping this range; each end is Unix\n"
     "ms, RFC 3339 (2026-11-23T17:00:00Z, a date\n"
     "alone) or nfdump's 2026/11/23.17:00:00 (UTC\n"
     "unless an offset is given)",
     NULL},
    {"stat", 's', ARG_VALUE, 's', "STAT[/ORDER]",
     "top-N by srcip dstip ip srcport dstport port\n"
     "proto srcas dstas as inif outif if exporter,\n"
     "ordered by flows (default), packets or bytes",
     NULL},
    {"limit", 'n', ARG_VALUE, 'n', "N", "at most N rows (default: all flows; 10 for -s)", NULL},
    {"order", 'O', ARG_VALUE, 'O', "COL[/asc|/desc]",
     "order flows by a column of the flows view\n"
     "(default first_ms/asc)",
     NULL},
    {"output", 'o', ARG_VALUE, 'o', "FMT",
     "line (default), long, csv (header = column\n"
     "names) or json (one array of objects named as\n"
     "the flows view's columns)",
     NULL},
    {"offset", 0, ARG_VALUE, OPT_OFFSET, "N", "skip the first N rows", NULL},
    {"time-limit", 0, ARG_VALUE, OPT_TIME_LIMIT, "MS",
     "stop a query running longer (default: no limit)", NULL},
    {"threads", 0, ARG_VALUE, OPT_THREADS, "N", "scan with N threads (default: CPUs, at most 4)",
     NULL},
    {"help", 'h', ARG_FLAG, 'h', NULL, "this text", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: flowhound query -r DB|--store URL [-f FILTER | FILTER...] [-t FROM[-TO]]\n"
               "                       [-s STAT[/ORDER]] [-n N] [-O COLUMN[/asc|/desc]]\n"
               "                       [-o line|long|csv|json] [--offset N] [--time-limit MS]\n"
               "                       [--threads N]\n"
               "\n"
               "Lists the flows of a flowhound store that match an nfdump-style filter, or the\n"
               "top-N statistics of them (like nfdump -s).\n"
               "\n");
    args_help(options, f);
    fprintf(f, "\n"
               "Exit status: 0 success, 1 failure (store, query, time limit), 2 usage or filter\n"
               "error.\n");
}

/* Appends a word of the filter given as the remaining arguments. */
static void append_word(char **s, const char *word)
{
    size_t len = *s ? strlen(*s) + 1 : 0;
    *s = xreallocarray(*s, len + strlen(word) + 1, 1);
    if (len)
        (*s)[len - 1] = ' ';
    strcpy(*s + len, word);
}

static bool parse_format(const char *s, enum format *out)
{
    static const char *const fmts[] = {"line", "long", "csv", "json"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, fmts[i])) {
            *out = (enum format)i;
            return true;
        }
    return false;
}

/* One option: returns -1 to go on, 0 to exit 0 (--help), 2 after a usage error. */
static int take_option(struct args *a, int id, struct opts *o, char **words)
{
    switch (id) {
    case 'r':
        o->db = a->value;
        return -1;
    case 'f':
        free(o->filter_text);
        o->filter_text = xstrdup(a->value);
        return -1;
    case 't':
        o->range = a->value;
        return -1;
    case 's':
        o->stat = a->value;
        return -1;
    case 'O':
        o->order = a->value;
        return -1;
    case 'n':
    case OPT_OFFSET:
    case OPT_TIME_LIMIT:
    case OPT_THREADS:
        if (args_count(a->value, id == 'n'              ? &o->limit
                                  : id == OPT_OFFSET     ? &o->offset
                                  : id == OPT_TIME_LIMIT ? &o->time_limit
                                                         : &o->threads))
            return -1;
        args_error(a, "'%s' is not a count", a->value);
        return 2;
    case 'o':
        if (parse_format(a->value, &o->fmt))
            return -1;
        args_error(a, "unknown output format '%s' (line, long, csv, json)", a->value);
        return 2;
    case 'h':
        usage(stdout);
        return 0;
    case ARGS_WORD:
        append_word(words, a->value);
        return -1;
    default:
        return 2;
    }
}

static int parse_options(int argc, char **argv, struct opts *o)
{
    struct args a;
    args_init(&a, "flowhound query", options, argc, argv);
    a.max_words = -1;
    a.words_end_options = true; /* as nfdump: the options, then the filter to the end */
    char *words = NULL;
    int id, rc = -1;
    while (rc < 0 && (id = args_next(&a)) != ARGS_END)
        rc = take_option(&a, id, o, &words);
    if (rc < 0 && words && o->filter_text) {
        fprintf(stderr, "flowhound query: give the filter with -f or as arguments, not both\n");
        rc = 2;
    }
    if (words && !o->filter_text)
        o->filter_text = words;
    else
        free(words);
    if (rc < 0 && !o->db) {
        args_usage_error(&a, "-r DB is required");
        rc = 2;
    }
    return rc;
}

/* ---- time range ---- */

/* Unix ms, RFC 3339, or nfdump's yyyy/MM/dd.hh:mm[:ss]. */
static bool parse_when(const char *s, int64_t *out)
{
    char buf[64];
    if (strlen(s) >= sizeof(buf))
        return false;
    strcpy(buf, s);
    if (strlen(buf) >= 10 && buf[4] == '/' && buf[7] == '/') {
        buf[4] = buf[7] = '-';
        if (buf[10] == '.')
            buf[10] = 'T';
    }
    return parse_time_ms(buf, out);
}

/* FROM, or FROM-TO: dates hold dashes too, so try each dash as the separator. */
static bool parse_range(const char *s, int64_t *from, int64_t *to)
{
    *to = INT64_MAX;
    if (parse_when(s, from))
        return true;
    for (const char *d = strchr(s, '-'); d; d = strchr(d + 1, '-')) {
        char left[64];
        size_t n = (size_t)(d - s);
        if (n == 0 || n >= sizeof(left))
            continue;
        memcpy(left, s, n);
        left[n] = '\0';
        if (parse_when(left, from) && parse_when(d + 1, to))
            return true;
    }
    return false;
}

/* ---- filter errors ---- */

/* The filter, then a caret under the column: non-printable bytes shown as '?' so that the
 * caret stays under the byte the column counts. */
static void show_filter_error(const char *text, const char *err, int column)
{
    fprintf(stderr, "flowhound query: bad filter: %s (column %d)\n  ", err, column);
    for (const char *p = text; *p; p++)
        fputc(isprint((unsigned char)*p) ? *p : '?', stderr);
    fprintf(stderr, "\n  %*s^\n", column > 1 ? column - 1 : 0, "");
}

/* ---- output ---- */

struct out {
    enum format fmt;
    bool top;
    size_t rows;
    const char *const *cols;
    size_t ncols;
};

static void flags_text(int64_t flags, char *buf)
{
    static const char letters[] = "CEUAPRSF";
    for (int i = 0; i < 8; i++)
        buf[i] = (flags & (0x80 >> i)) ? letters[i] : '.';
    buf[8] = '\0';
}

static const char *proto_name(int p, char *buf, size_t len)
{
    switch (p) {
    case 1:
        return "ICMP";
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    case 47:
        return "GRE";
    case 50:
        return "ESP";
    case 58:
        return "ICMP6";
    case 132:
        return "SCTP";
    }
    snprintf(buf, len, "%d", p);
    return buf;
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
    if (o->rows == 0)
        printf("%-23s %9s %-5s %24s    %-24s %-8s %10s %12s\n", "Date first seen", "Duration",
               "Proto", "Src IP Addr:Port", "Dst IP Addr:Port", "Flags", "Packets", "Bytes");
    format_time_ms(num(row, "first_ms"), when, sizeof(when));
    when[10] = ' ';
    when[23] = '\0';
    endpoint(text(row, "src_addr"), num(row, "src_port"), src, sizeof(src));
    endpoint(text(row, "dst_addr"), num(row, "dst_port"), dst, sizeof(dst));
    if (!is_null(row, "tcp_flags"))
        flags_text(num(row, "tcp_flags"), flags);
    printf("%-23s %9.3f %-5s %24s -> %-24s %-8s %10" PRId64 " %12" PRId64 "\n", when,
           (double)(num(row, "last_ms") - num(row, "first_ms")) / 1000.0,
           proto_name((int)num(row, "proto"), pbuf, sizeof(pbuf)), src, dst, flags,
           num(row, "packets"), num(row, "bytes"));
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
    for (int i = 0; i < n; i++) {
        if (i)
            putchar(',');
        const unsigned char *t = sqlite3_column_text(row, i);
        if (t)
            csv_field((const char *)t);
    }
    putchar('\n');
    (void)o;
}

static void print_json(struct out *o, sqlite3_stmt *row)
{
    json_t *obj = query_row_json(row);
    fputs(o->rows ? ",\n" : "[\n", stdout);
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
}

static double pct(int64_t part, int64_t total)
{
    return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

static void print_top_line(struct out *o, sqlite3_stmt *row)
{
    if (o->rows == 0)
        printf("%-40s %12s %7s %14s %7s %16s %7s\n", "Key", "Flows", "%", "Packets", "%", "Bytes",
               "%");
    int64_t f = num(row, "flows"), p = num(row, "packets"), b = num(row, "bytes");
    printf("%-40s %12" PRId64 " %6.1f%% %14" PRId64 " %6.1f%% %16" PRId64 " %6.1f%%\n",
           text(row, "key"), f, pct(f, num(row, "total_flows")), p,
           pct(p, num(row, "total_packets")), b, pct(b, num(row, "total_bytes")));
}

static int print_row(void *ctx, sqlite3_stmt *row)
{
    struct out *o = ctx;
    if (o->fmt == FMT_CSV && o->rows == 0) {
        for (int i = 0, n = sqlite3_column_count(row); i < n; i++)
            printf("%s%s", i ? "," : "", sqlite3_column_name(row, i));
        putchar('\n');
    }
    switch (o->fmt) {
    case FMT_LINE:
        o->top ? print_top_line(o, row) : print_flow_line(o, row);
        break;
    case FMT_LONG:
        o->top ? print_top_line(o, row) : print_flow_long(o, row);
        break;
    case FMT_CSV:
        print_csv(o, row);
        break;
    case FMT_JSON:
        print_json(o, row);
        break;
    }
    o->rows++;
    return ferror(stdout) ? 1 : 0;
}

static void print_end(struct out *o)
{
    static const char *const top_cols[] = {"key",         "flows",         "packets",    "bytes",
                                           "total_flows", "total_packets", "total_bytes"};
    if (o->fmt == FMT_JSON)
        fputs(o->rows ? "\n]\n" : "[]\n", stdout);
    else if (o->fmt == FMT_CSV && o->rows == 0) {
        /* no rows: still the header, so that a script sees the columns */
        const char *const *cols = o->top ? top_cols : o->cols;
        size_t n = o->top ? sizeof(top_cols) / sizeof(top_cols[0]) : o->ncols;
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? "," : "", cols[i]);
        putchar('\n');
    } else if (o->fmt == FMT_LINE || o->fmt == FMT_LONG) {
        printf("%zu %s\n", o->rows,
               o->top ? (o->rows == 1 ? "entry" : "entries") : (o->rows == 1 ? "flow" : "flows"));
    }
}

/* ---- running ---- */

static int run_stat(struct query *q, const struct opts *o, const struct filter *f, int64_t from,
                    int64_t to, struct out *out, char *err, size_t errlen)
{
    char stat[32];
    snprintf(stat, sizeof(stat), "%s", o->stat);
    char *slash = strchr(stat, '/');
    struct query_top req = {.filter = f, .from_ms = from, .to_ms = to, .limit = o->limit};
    if (slash)
        *slash = '\0';
    if (!query_stat_parse(stat, &req.stat) ||
        (slash && !query_order_parse(slash + 1, &req.order))) {
        fprintf(stderr, "flowhound query: unknown statistic '%s' (see --help)\n", o->stat);
        return 2;
    }
    out->top = true;
    int rc = query_top(q, &req, print_row, out, err, errlen);
    return rc == QUERY_EINVALID ? 2 : rc ? 1 : 0;
}

static int run_list(struct query *q, const struct opts *o, const struct filter *f, int64_t from,
                    int64_t to, struct out *out, char *err, size_t errlen)
{
    char order[64] = "";
    struct query_flows req = {
        .filter = f, .from_ms = from, .to_ms = to, .limit = o->limit, .offset = o->offset};
    if (o->order) {
        snprintf(order, sizeof(order), "%s", o->order);
        char *slash = strchr(order, '/');
        if (slash) {
            if (strcmp(slash + 1, "asc") && strcmp(slash + 1, "desc")) {
                fprintf(stderr, "flowhound query: order direction must be asc or desc\n");
                return 2;
            }
            req.desc = !strcmp(slash + 1, "desc");
            *slash = '\0';
        }
        req.order = order;
    }
    int rc = query_flows(q, &req, print_row, out, err, errlen);
    return rc == QUERY_EINVALID ? 2 : rc ? 1 : 0;
}

static int run(const struct opts *o, const struct filter *f, int64_t from, int64_t to)
{
    char err[512] = "";
    struct query *q = query_open(o->db, err, sizeof(err));
    if (!q) {
        fprintf(stderr, "flowhound query: %s\n", err);
        return 1;
    }
    query_set_time_limit(q, o->time_limit);
    if (o->threads > 0)
        query_set_threads(q, (int)o->threads);
    struct out out = {.fmt = o->fmt};
    out.ncols = query_flow_columns(q, &out.cols);
    int rc = o->stat ? run_stat(q, o, f, from, to, &out, err, sizeof(err))
                     : run_list(q, o, f, from, to, &out, err, sizeof(err));
    if (rc == 0)
        print_end(&out);
    else if (err[0])
        fprintf(stderr, "flowhound query: %s\n", err);
    query_close(q);
    if (rc == 0 && (fflush(stdout) || ferror(stdout)))
        rc = 1;
    return rc;
}

int cmd_query(int argc, char **argv)
{
    struct opts o = {.fmt = FMT_LINE};
    int rc = parse_options(argc, argv, &o);
    int64_t from = INT64_MIN, to = INT64_MAX;
    if (rc < 0 && o.range && !parse_range(o.range, &from, &to)) {
        fprintf(stderr,
                "flowhound query: bad time range '%s': expected FROM or FROM-TO, each "
                "Unix ms, RFC 3339 or yyyy/MM/dd.hh:mm:ss\n",
                o.range);
        rc = 2;
    }
    if (rc < 0 && from > to) {
        fprintf(stderr, "flowhound query: the time range '%s' ends before it starts\n", o.range);
        rc = 2;
    }
    struct filter *f = NULL;
    if (rc < 0) {
        char err[256];
        int column;
        f = filter_compile(o.filter_text, err, sizeof(err), &column);
        if (!f) {
            show_filter_error(o.filter_text ? o.filter_text : "", err, column);
            rc = 2;
        }
    }
    if (rc < 0)
        rc = run(&o, f, from, to);
    filter_free(f);
    free(o.filter_text);
    return rc;
}
