/* query.c - `flowhound query`: list flows, top-N statistics or aggregated records from a
 * store, with an nfdump-style filter (doc/filter.md) and nfdump's options (-s, -A, -a, -b,
 * -O, -o fmt:, -N, -q), in line, long, fmt:, CSV or JSON form (doc/cli.md). This file reads
 * the command line; query_run.c runs it through the query layer (query/query.h), like the
 * web UI; query_out.c and query_fmt.c print. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/query_run.h"
#include "cli/query_time.h"
#include "common/args.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/filter.h"

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
     "alone), nfdump's 2026/11/23.17:00:00 (UTC\n"
     "unless an offset is given), now, or a time\n"
     "before now: -1h, -30m, -90 (s), -2d, -1w.\n"
     "-t -1h = the last hour; -t -2h--1h",
     NULL},
    {"stat", 's', ARG_VALUE, 's', "STAT[/ORDER...]",
     "a top-N table (repeat for several) by srcip\n"
     "dstip ip srcport dstport port proto srcas dstas\n"
     "as inif outif if exporter (router), or record:\n"
     "whole aggregated records (-A, -a, -b). ORDER:\n"
     "flows (default) packets bytes pps bps bpp; each\n"
     "/ORDER its own table",
     NULL},
    {"aggregate", 'A', ARG_VALUE, 'A', "FIELDS",
     "aggregate flows into records by these fields,\n"
     "comma-separated: proto srcip dstip srcport\n"
     "dstport srcas dstas inif outif srcmask dstmask\n"
     "tos next router odid; srcip4/N dstip4/N\n"
     "srcip6/N dstip6/N cut addresses to a prefix",
     NULL},
    {"aggregate-5tuple", 'a', ARG_FLAG, 'a', NULL,
     "aggregate by the 5-tuple (proto, addresses,\n"
     "ports)",
     NULL},
    {"bidirectional", 'b', ARG_FLAG, 'b', NULL,
     "aggregate both directions of a TCP/UDP 5-tuple\n"
     "into one record (forward: the earlier flow)",
     NULL},
    {"limit", 'n', ARG_VALUE, 'n', "N",
     "at most N rows (default: all flows and records;\n"
     "10 for -s)",
     NULL},
    {"order", 'O', ARG_VALUE, 'O', "ORDER",
     "flows: a column of the flows view, COL[/asc|\n"
     "/desc] (default first_ms/asc); records (-A -a\n"
     "-b): flows packets bytes pps bps bpp (largest\n"
     "first), tstart (default) or tend",
     NULL},
    {"output", 'o', ARG_VALUE, 'o', "FMT",
     "line (default), long, csv (header = column\n"
     "names), json (one array of objects named as\n"
     "the flows view's columns), or fmt:FORMAT with\n"
     "nfdump's tokens %ts %te %td %pr %sa %da %sap\n"
     "%dap %sp %dp %flg %pkt %byt %ipkt %opkt %ibyt\n"
     "%obyt %fl %bps %pps %bpp %sas %das %in %out\n"
     "%tos %smk %dmk %nh %ra %exp %tr %tsr %ter %end",
     NULL},
    {"plain-numbers", 'N', ARG_FLAG, 'N', NULL,
     "numbers in full, not scaled as 1.2 M (-s, fmt:,\n"
     "summary)",
     NULL},
    {"quiet", 'q', ARG_FLAG, 'q', NULL, "no header lines and no summary footer", NULL},
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
               "                       [-s STAT[/ORDER]]... [-A FIELDS | -a | -b] [-n N]\n"
               "                       [-O ORDER] [-o line|long|csv|json|fmt:FORMAT] [-N] [-q]\n"
               "                       [--offset N] [--time-limit MS] [--threads N]\n"
               "\n"
               "Lists the flows of a flowhound store that match an nfdump-style filter, the\n"
               "top-N statistics of them (like nfdump -s) or records aggregated from them (like\n"
               "nfdump -A, -a, -b), then nfdump's summary. Output to a pipe or a terminal waits\n"
               "in a temporary file ($TMPDIR) until read, so that the store is let go of when\n"
               "the query ends, even with | less open.\n"
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

static bool parse_format(const char *s, struct query_opts *o)
{
    static const char *const fmts[] = {"line", "long", "csv", "json"};
    if (!strncmp(s, "fmt:", 4)) {
        o->fmt = FMT_FMT;
        o->fmt_spec = s + 4;
        return true;
    }
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, fmts[i])) {
            o->fmt = (enum format)i;
            return true;
        }
    return false;
}

static int take_count(struct args *a, int id, struct query_opts *o)
{
    int64_t *to = id == 'n'              ? &o->limit
                  : id == OPT_OFFSET     ? &o->offset
                  : id == OPT_TIME_LIMIT ? &o->time_limit
                                         : &o->threads;
    if (!args_count(a->value, to)) {
        args_error(a, "'%s' is not a count", a->value);
        return 2;
    }
    o->limit_set = o->limit_set || id == 'n';
    return -1;
}

static int take_stat(struct args *a, struct query_opts *o)
{
    if (o->nstats == QUERY_MAX_STATS) {
        args_error(a, "at most %d statistics", QUERY_MAX_STATS);
        return 2;
    }
    o->stats[o->nstats++] = a->value;
    return -1;
}

/* One option: returns -1 to go on, 0 to exit 0 (--help), 2 after a usage error. */
static int take_option(struct args *a, int id, struct query_opts *o, char **words)
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
        return take_stat(a, o);
    case 'A':
        o->aggregate = a->value;
        return -1;
    case 'a':
    case 'b':
        *(id == 'a' ? &o->five_tuple : &o->bidir) = true;
        return -1;
    case 'N':
    case 'q':
        *(id == 'N' ? &o->plain : &o->quiet) = true;
        return -1;
    case 'O':
        o->order = a->value;
        return -1;
    case 'n':
    case OPT_OFFSET:
    case OPT_TIME_LIMIT:
    case OPT_THREADS:
        return take_count(a, id, o);
    case 'o':
        if (parse_format(a->value, o))
            return -1;
        args_error(a, "unknown output format '%s' (line, long, csv, json, fmt:...)", a->value);
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

static int parse_options(int argc, char **argv, struct query_opts *o)
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

/* The filter, then a caret under the column: non-printable bytes shown as '?' so that the
 * caret stays under the byte the column counts. */
static void show_filter_error(const char *text, const char *err, int column)
{
    fprintf(stderr, "flowhound query: bad filter: %s (column %d)\n  ", err, column);
    for (const char *p = text; *p; p++)
        fputc(isprint((unsigned char)*p) ? *p : '?', stderr);
    fprintf(stderr, "\n  %*s^\n", column > 1 ? column - 1 : 0, "");
}

static int check_range(const struct query_opts *o, int64_t *from, int64_t *to)
{
    if (o->range && !query_parse_range(o->range, now_ms(), from, to)) {
        fprintf(stderr,
                "flowhound query: bad time range '%s': expected FROM or FROM-TO, each "
                "Unix ms, RFC 3339, yyyy/MM/dd.hh:mm:ss, now or -DURATION (-1h, -30m)\n",
                o->range);
        return 2;
    }
    if (*from > *to) {
        fprintf(stderr, "flowhound query: the time range '%s' ends before it starts\n", o->range);
        return 2;
    }
    return -1;
}

int cmd_query(int argc, char **argv)
{
    struct query_opts o = {.fmt = FMT_LINE};
    int rc = parse_options(argc, argv, &o);
    int64_t from = INT64_MIN, to = INT64_MAX;
    if (rc < 0)
        rc = check_range(&o, &from, &to);
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
        rc = query_cli_run(&o, f, from, to);
    filter_free(f);
    free(o.filter_text);
    return rc;
}
