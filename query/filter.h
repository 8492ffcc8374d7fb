/* filter.h - the nfdump-style filter language (doc/filter.md).
 *
 * A filter text is parsed once into one AST, which is then
 *   (a) compiled to an SQL WHERE fragment over the columns of the `flows` view (and of every
 *       flows_* partition), holding only `?` placeholders: the values travel separately and are
 *       bound with filter_bind(); user text never becomes SQL text; and
 *   (b) evaluated directly against a struct flow (filter_match), with the same result as (a)
 *       gives on the stored row.
 *
 * Missing fields (a NULL column, a clear `present` bit) make the primitive that reads them
 * false, so `not in if 3` matches flows that carry no interface at all: two-valued logic in C
 * and in SQL alike.
 *
 * Fragments that match address ranges call the SQL function fh_net(); connections that run
 * them must have called filter_register_sql() once (query/query.c does). */
#ifndef FLOWHOUND_FILTER_H
#define FLOWHOUND_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "common/flow.h"

/* Bounds on what a filter may ask for: text length, nesting, primitives after expansion
 * (`host A` is two), values in one `[...]` list. They keep the parser's recursion and the C
 * evaluator bounded, and the SQL within SQLite's limits (expression depth 1000, and a parser
 * stack of 100 entries that about 30 nested parentheses fill). */
#define FILTER_MAX_TEXT  8192
#define FILTER_MAX_DEPTH 16
#define FILTER_MAX_TERMS 256
#define FILTER_MAX_LIST  1024

struct filter;

/* Parses `text` (NULL or blank = match everything). On error returns NULL, writes a message
 * saying what was expected into err and the 1-based column of the offending token into
 * *err_column (either may be NULL/0-sized). */
struct filter *filter_compile(const char *text, char *err, size_t errlen, int *err_column);
/* The same for the `len` bytes at text (text[len] must be '\0'), as a request carried them: a
 * NUL byte among them, or any other control character but tab, CR and LF, is an error at
 * its column (a NUL would otherwise end the filter early: `%00port 80` would match all). */
struct filter *filter_compile_n(const char *text, size_t len, char *err, size_t errlen,
                                int *err_column);
void filter_free(struct filter *f);

/* The WHERE fragment, parenthesized, with plain `?` placeholders in order ("1" for `any`). */
const char *filter_sql(const struct filter *f);
/* The same fragment with numbered placeholders ?N starting at `first`: it can be repeated
 * in several arms of one statement (one per partition) and bound once. Caller frees. */
char *filter_sql_numbered(const struct filter *f, int first);
/* The fragment for one arm over a flows_* partition table (not the `flows` view: it reads
 * the hidden src_key column): as filter_sql_numbered(f, first), plus `src_key BETWEEN ?
 * AND ?` next to every IPv4 `src host|net` of a /24 or longer, so that the partition's
 * (src_key, dst_key) index can serve it (then `dst port` comparisons are written so that
 * the dst_port index does not take the lead from it). Same rows as filter_sql. Its values are the
 * filter's, then two per key range: count them with filter_param_count_keyed and bind them
 * with filter_bind_keyed. Caller frees. */
char *filter_sql_keyed(const struct filter *f, int first, bool port_index);
int filter_param_count_keyed(const struct filter *f);
int filter_bind_keyed(const struct filter *f, sqlite3_stmt *st, int first);
/* port_index false: `dst port` comparisons are written `+dst_port`, which keeps SQLite off
 * the dst_port index (the query layer's choice when the port is too common for it).
 * The dst ports the filter compares with = or lists with `in` anywhere, into ports (at most
 * max); returns how many there are (more than max when they did not all fit). */
size_t filter_dst_ports(const struct filter *f, int64_t *ports, size_t max);
/* How many values the fragment binds. */
int filter_param_count(const struct filter *f);
/* Binds the values to placeholders first .. first + count - 1. Returns the next free index,
 * or -1 if SQLite refused (index out of range). Text values are bound SQLITE_STATIC: keep
 * the filter alive while the statement runs. */
int filter_bind(const struct filter *f, sqlite3_stmt *st, int first);

/* The WHERE fragment in ClickHouse's dialect (filter_ch.c), over the columns of the flows
 * table, selecting the same rows as filter_sql(); f NULL: every flow. The values are literals
 * made from the parsed values only (ClickHouse 18.16 binds no parameters). Caller frees. */
char *filter_ch_sql(const struct filter *f);

/* Does the filter select every flow (empty or `any`)? Lets the query layer pick a plan. */
bool filter_matches_all(const struct filter *f);

/* Evaluates the filter on one flow. Counters are compared as stored (clamped to INT64_MAX). */
bool filter_match(const struct filter *f, const struct flow *fl);

/* Registers fh_net(addr_text, net_text, prefix_len) on a connection. Returns SQLITE_OK. */
int filter_register_sql(sqlite3 *db);

/* The canonical text of the parsed filter (fully parenthesized), for logs and tests. */
char *filter_describe(const struct filter *f);

#endif
