/* query_run.c - the three things `flowhound query` does (see query_run.h), each through the
 * query layer: a listing (query_flows), -s tables (query_top; -s record: query_aggregate)
 * and aggregated records (-A, -a, -b: query_aggregate), then nfdump's summary footer. The
 * footer of a listing adds up the flows it printed (as nfdump's -c N would); the others ask
 * the query layer for the totals of the whole request, which also serve the percentages of
 * the -s tables (each flow counted once, as nfdump, also for -s ip). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/query_run.h"
#include "cli/spool.h"
#include "common/xmalloc.h"

struct ctx {
    const struct query_opts *o;
    const struct filter *f;
    int64_t from, to;
    struct query *q;
    char err[512];
};

static int status(int rc)
{
    return rc == QUERY_EINVALID ? 2 : rc ? 1 : 0;
}

static bool text_output(const struct query_opts *o)
{
    return o->fmt != FMT_CSV && o->fmt != FMT_JSON;
}

static struct out base_out(const struct ctx *c)
{
    return (struct out){.fmt = c->o->fmt, .plain = c->o->plain, .quiet = c->o->quiet};
}

/* ---- totals ---- */

static int take_total(void *arg, sqlite3_stmt *row)
{
    struct summary *s = arg;
    for (int i = 0, n = sqlite3_column_count(row); i < n; i++) {
        const char *name = sqlite3_column_name(row, i);
        int64_t v = sqlite3_column_int64(row, i);
        if (!strcmp(name, "flows"))
            s->flows = v;
        else if (!strcmp(name, "packets"))
            s->packets = v;
        else if (!strcmp(name, "bytes"))
            s->bytes = v;
        else if (!strcmp(name, "first_ms"))
            s->first = v;
        else if (!strcmp(name, "last_ms"))
            s->last = v;
    }
    return 0;
}

/* Everything the request selects, as one record (query_aggregate without fields). */
static int totals(struct ctx *c, struct summary *s)
{
    struct query_aggregate req = {.filter = c->f, .from_ms = c->from, .to_ms = c->to};
    *s = summary_empty();
    return query_aggregate(c->q, &req, take_total, s, c->err, sizeof(c->err));
}

/* ---- aggregated records ---- */

/* -A's fields into req, and nfdump's automatic format for them into spec. */
static bool parse_fields(const char *list, struct query_aggregate *req, char *spec, size_t len)
{
    char *copy = xstrdup(list), *save = NULL;
    bool ok = true;
    size_t used = (size_t)snprintf(spec, len, "%%ts %%td");
    for (char *w = strtok_r(copy, ",", &save); w && ok; w = strtok_r(NULL, ",", &save)) {
        enum query_field fld;
        unsigned v4 = 0, v6 = 0;
        ok = query_field_parse(w, &fld, &v4, &v6);
        if (!ok) {
            fprintf(stderr, "flowhound query: -A: unknown field '%s' (see --help)\n", w);
            break;
        }
        req->fields |= 1u << fld;
        if (v4 || v6) {
            unsigned *l4 = fld == QF_SRCIP ? &req->src_v4len : &req->dst_v4len;
            unsigned *l6 = fld == QF_SRCIP ? &req->src_v6len : &req->dst_v6len;
            *(v4 ? l4 : l6) = v4 ? v4 : v6;
        }
        const char *tok = fmt_token_of_column(query_field_column(fld));
        if (tok && used < len)
            used += (size_t)snprintf(spec + used, len - used, " %s", tok);
    }
    if (used < len)
        snprintf(spec + used, len - used, " %%pkt %%byt %%bps %%bpp %%fl");
    free(copy);
    return ok;
}

/* What -A, -a and -b ask for, and the format their records print in by default. */
static int record_request(const struct ctx *c, struct query_aggregate *req, char *spec, size_t len)
{
    const struct query_opts *o = c->o;
    *req = (struct query_aggregate){
        .filter = c->f, .from_ms = c->from, .to_ms = c->to, .order = QO_TSTART};
    if (o->aggregate && o->bidir) {
        fprintf(stderr, "flowhound query: -b aggregates by the 5-tuple: not with -A\n");
        return 2;
    }
    if (o->aggregate)
        return parse_fields(o->aggregate, req, spec, len) ? 0 : 2;
    req->fields = QUERY_FIELDS_5TUPLE;
    req->bidir = o->bidir;
    snprintf(spec, len, "%s", o->bidir ? FMT_NFDUMP_BILINE : FMT_NFDUMP_LINE);
    return 0;
}

/* The rows' format: -o fmt:, else for records the automatic one. */
static int custom_format(const struct ctx *c, const char *automatic, struct out *out)
{
    const char *spec = c->o->fmt == FMT_FMT ? c->o->fmt_spec : automatic;
    char err[160];
    if (!spec || !text_output(c->o))
        return 0;
    out->custom = fmt_compile(spec, c->o->plain, err, sizeof(err));
    if (out->custom)
        return 0;
    fprintf(stderr, "flowhound query: -o: %s\n", err);
    return 2;
}

static int records(struct ctx *c, struct query_aggregate *req, const char *spec, bool title)
{
    struct out out = base_out(c);
    out.kind = OUT_RECORDS;
    int rc = custom_format(c, spec, &out);
    if (rc)
        return rc;
    if (title)
        out_top_title(&out, req->limit, req->order);
    rc = status(query_aggregate(c->q, req, out_row, &out, c->err, sizeof(c->err)));
    if (!rc)
        out_end(&out);
    if (!rc && title && text_output(c->o))
        putchar('\n');
    fmt_free(out.custom);
    return rc;
}

static int run_records(struct ctx *c)
{
    struct query_aggregate req;
    char spec[512];
    int rc = record_request(c, &req, spec, sizeof(spec));
    if (rc)
        return rc;
    if (c->o->order && !query_order_parse(c->o->order, &req.order)) {
        fprintf(stderr,
                "flowhound query: -O: unknown order '%s' for aggregated records (flows, "
                "packets, bytes, pps, bps, bpp, tstart, tend)\n",
                c->o->order);
        return 2;
    }
    req.limit = c->o->limit;
    return records(c, &req, spec, false);
}

/* ---- -s tables ---- */

/* -s tables: 10 rows unless -n says otherwise; -n 0: every row, as nfdump. */
static int64_t stat_limit(const struct query_opts *o)
{
    return !o->limit_set ? 10 : o->limit ? o->limit : INT64_MAX;
}

static int top_table(struct ctx *c, enum query_stat stat, enum query_order order,
                     const struct summary *total)
{
    struct out out = base_out(c);
    out.kind = OUT_TOP;
    out.stat = stat;
    out.total = total;
    struct query_top req = {.filter = c->f,
                            .from_ms = c->from,
                            .to_ms = c->to,
                            .stat = stat,
                            .order = order,
                            .limit = stat_limit(c->o)};
    out_top_title(&out, req.limit, order);
    int rc = status(query_top(c->q, &req, out_row, &out, c->err, sizeof(c->err)));
    if (!rc)
        out_end(&out);
    if (!rc && text_output(c->o))
        putchar('\n');
    return rc;
}

static int record_table(struct ctx *c, enum query_order order)
{
    struct query_aggregate req;
    char spec[512];
    int rc = record_request(c, &req, spec, sizeof(spec));
    req.order = order;
    req.limit = stat_limit(c->o);
    return rc ? rc : records(c, &req, spec, true);
}

/* One -s STAT[/ORDER[/ORDER...]]: a table per order. */
static int stat_tables(struct ctx *c, const char *spec, const struct summary *total)
{
    char *copy = xstrdup(spec), *save = NULL;
    char *name = strtok_r(copy, "/", &save), *ord = strtok_r(NULL, "/", &save);
    enum query_stat stat = QS_SRCIP;
    bool record = name && !strcmp(name, "record");
    bool bad = !name || !(record || query_stat_parse(name, &stat));
    int rc = 0;
    do {
        enum query_order order = QO_FLOWS;
        bad = bad || (ord && !query_order_parse(ord, &order));
        if (!bad)
            rc = record ? record_table(c, order) : top_table(c, stat, order, total);
    } while (!bad && !rc && ord && (ord = strtok_r(NULL, "/", &save)));
    if (bad)
        fprintf(stderr, "flowhound query: unknown statistic or order '%s' (see --help)\n", spec);
    free(copy);
    return bad ? 2 : rc;
}

static int run_stats(struct ctx *c, const struct summary *total)
{
    int rc = 0;
    for (size_t i = 0; i < c->o->nstats && !rc; i++)
        rc = stat_tables(c, c->o->stats[i], total);
    return rc;
}

/* ---- listing ---- */

static int run_list(struct ctx *c, struct summary *printed)
{
    const struct query_opts *o = c->o;
    char order[64] = "";
    struct query_flows req = {
        .filter = c->f, .from_ms = c->from, .to_ms = c->to, .limit = o->limit, .offset = o->offset};
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
    struct out out = base_out(c);
    out.kind = OUT_FLOWS;
    out.printed = summary_empty();
    out.ncols = query_flow_columns(c->q, &out.cols);
    int rc = custom_format(c, NULL, &out);
    if (!rc)
        rc = status(query_flows(c->q, &req, out_row, &out, c->err, sizeof(c->err)));
    if (!rc)
        out_end(&out);
    *printed = out.printed;
    fmt_free(out.custom);
    return rc;
}

/* ---- all together ---- */

static int run_mode(struct ctx *c, struct summary *sum)
{
    const struct query_opts *o = c->o;
    bool records = o->aggregate || o->five_tuple || o->bidir;
    if (!o->nstats && !records)
        return run_list(c, sum);
    /* the totals first: the -s tables' percentages are of them */
    int rc = text_output(o) ? status(totals(c, sum)) : 0;
    if (!rc)
        rc = o->nstats ? run_stats(c, sum) : run_records(c);
    return rc;
}

int query_cli_run(const struct query_opts *o, const struct filter *f, int64_t from, int64_t to)
{
    struct ctx c = {.o = o, .f = f, .from = from, .to = to};
    c.q = query_open(o->db, c.err, sizeof(c.err));
    if (!c.q) {
        fprintf(stderr, "flowhound query: %s\n", c.err);
        return 1;
    }
    query_set_time_limit(c.q, o->time_limit);
    if (o->threads > 0)
        query_set_threads(c.q, (int)o->threads);
    struct summary sum = summary_empty();
    struct spool sp;
    spool_start(&sp); /* the store's snapshot is let go when the query ends, read or not */
    int rc = run_mode(&c, &sum);
    if (rc == 0 && text_output(o) && !o->quiet)
        out_summary(&sum, from, to, o->plain);
    else if (rc && c.err[0])
        fprintf(stderr, "flowhound query: %s\n", c.err);
    query_close(c.q);
    if (spool_finish(&sp) && rc == 0) {
        fprintf(stderr, "flowhound query: writing the output: %s\n", strerror(errno));
        rc = 1;
    }
    if (rc == 0 && (fflush(stdout) || ferror(stdout)))
        rc = 1;
    return rc;
}
