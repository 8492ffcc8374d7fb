/* query_fmt.h - nfdump's output conventions for `flowhound query`: the -o fmt: format
 * language (%ts %td %pr %sap ...), its number scaling ("1.2 M"), durations, flags and protocol
 * names, applied to any query row that has columns named as the flows view's (flows,
 * aggregated records, top-N entries). doc/cli.md lists the tokens and what differs. */
#ifndef FLOWHOUND_CLI_QUERY_FMT_H
#define FLOWHOUND_CLI_QUERY_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

/* nfdump's automatic formats: its `line` and `biline`, and the one of -A (FIELDS replaced by
 * the aggregated fields' tokens). */
#define FMT_NFDUMP_LINE   "%ts %td %pr %sap -> %dap %pkt %byt %fl"
#define FMT_NFDUMP_BILINE "%ts %td %pr %sap <-> %dap %opkt %ipkt %obyt %ibyt %fl"

struct fmt;

/* Compiles a format (the text after "fmt:"); NULL with a message naming the bad token. plain:
 * numbers unscaled (nfdump -N). */
struct fmt *fmt_compile(const char *spec, bool plain, char *err, size_t errlen);
void fmt_free(struct fmt *f);
/* The header line: each token's title, literal text as blanks. */
void fmt_header(const struct fmt *f, FILE *out);
/* One row as a line. Columns are found by name in the first row of each statement. */
void fmt_row(struct fmt *f, sqlite3_stmt *row, FILE *out);

/* The token of an aggregation field's column ("src_addr" -> "%sa"), or NULL. */
const char *fmt_token_of_column(const char *col);

/* nfdump's numbers: "123", or scaled to "1.2 M", "3.4 G", "5.6 T" (powers of 1000) unless
 * plain; fixed: padded as in its columns ("%4.0f", "%5.1f M"). */
void fmt_number(uint64_t n, bool plain, bool fixed, char *buf, size_t len);
/* "    HH:MM:SS.mmm", or "Nd HH:MM:SS.mmm" from a day on (16 characters until 100 days). */
const char *fmt_duration(double seconds, char *buf, size_t len);
/* "2026-11-23 17:30:00.014" (UTC). */
const char *fmt_when(int64_t ms, char *buf, size_t len);
/* CEUAPRSF with '.' for clear bits. buf: 9 bytes. */
const char *fmt_flags(int64_t flags, char *buf);
/* "TCP", "UDP", ... or the number. */
const char *fmt_proto(int64_t p, char *buf, size_t len);
/* Rates as nfdump prints them: over the span in seconds (0 for none), truncated. */
uint64_t fmt_per_second(double n, int64_t span_ms);

#endif
