/* test_filter_diff.c - differential test of the filter language: thousands of random filters
 * must select exactly the same flows through the SQL compiler (on a real store, across
 * partitions) as through the C evaluator on the same struct flows. Plus mutated filters:
 * never a crash, and every error has a column inside the text. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "tests/filter_gen.h"
#include "tests/helpers.h"
#include "query/filter.h"

#define NFLOWS   3000
#define NFILTERS 2500

/* ---- the test ---- */

static struct flow flows[NFLOWS];
static char *dir_;
static struct store *st;

static void setup(void)
{
    char err[256], db[512];
    dir_ = th_tmpdir();
    snprintf(db, sizeof(db), "%s/d.db", dir_);
    st = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(st, "%s", err);
    for (int i = 0; i < NFLOWS; i++)
        fg_random_flow(&flows[i], i);
    th_store_flows(st, flows, NFLOWS);
    cr_assert_eq(filter_register_sql(store_sqlite(st)), SQLITE_OK);
}

static void teardown(void)
{
    store_close(st);
    th_rmtree(dir_);
    free(dir_);
}

TestSuite(filter_diff, .init = setup, .fini = teardown, .timeout = 120);

/* Indices of the flows the SQL selects, in order; returns how many. */
static size_t sql_rows(const struct filter *f, int *idx)
{
    char *sql =
        xasprintf("SELECT received_ms FROM flows WHERE %s ORDER BY received_ms", filter_sql(f));
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(store_sqlite(st), sql, -1, &q, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %.500s", sqlite3_errmsg(store_sqlite(st)), sql);
    filter_bind(f, q, 1);
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        idx[n++] = (int)((sqlite3_column_int64(q, 0) - T0) / 3600);
    cr_assert_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(store_sqlite(st)));
    sqlite3_finalize(q);
    free(sql);
    return n;
}

/* The same through the fragment a partition arm uses (filter_sql_keyed: src_key ranges next
 * to IPv4 src host/net, served by the closed partitions' index), over every partition. */
static size_t keyed_rows(const struct filter *f, int *idx, size_t *keyed, bool port_index)
{
    sqlite3 *d = store_sqlite(st);
    sqlite3_stmt *q;
    cr_assert_eq(
        sqlite3_prepare_v2(d, "SELECT name FROM partitions ORDER BY span_start", -1, &q, NULL),
        SQLITE_OK);
    char *frag = filter_sql_keyed(f, 1, port_index), *sql = xstrdup("");
    if (strstr(frag, "src_key"))
        (*keyed)++;
    while (sqlite3_step(q) == SQLITE_ROW) {
        char *more = xasprintf("%s%sSELECT received_ms FROM \"%s\" WHERE %s", sql,
                               sql[0] ? " UNION ALL " : "", sqlite3_column_text(q, 0), frag);
        free(sql);
        sql = more;
    }
    sqlite3_finalize(q);
    char *all = xasprintf("SELECT received_ms FROM (%s) ORDER BY received_ms", sql);
    int rc = sqlite3_prepare_v2(d, all, -1, &q, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %.500s", sqlite3_errmsg(d), all);
    cr_assert_eq(filter_bind_keyed(f, q, 1), 1 + filter_param_count_keyed(f));
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        idx[n++] = (int)((sqlite3_column_int64(q, 0) - T0) / 3600);
    cr_assert_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(d));
    sqlite3_finalize(q);
    free(all);
    free(sql);
    free(frag);
    return n;
}

Test(filter_diff, random_filters_select_the_same_flows_in_sql_and_in_c)
{
    static int want[NFLOWS], got[NFLOWS];
    char err[256];
    int col;
    size_t parsed = 0, nonempty = 0, partial = 0, keyed = 0;
    for (int k = 0; k < NFILTERS; k++) {
        struct out o;
        fg_filter(&o);
        struct filter *f = filter_compile(o.s, err, sizeof(err), &col);
        cr_assert(f, "generated filter '%s' did not parse: %s (column %d)", o.s, err, col);
        parsed++;
        size_t nw = 0;
        for (int i = 0; i < NFLOWS; i++)
            if (filter_match(f, &flows[i]))
                want[nw++] = i;
        size_t ng = sql_rows(f, got);
        cr_assert_eq(ng, nw, "'%s': SQL selects %zu flows, C %zu\nSQL: %s", o.s, ng, nw,
                     filter_sql(f));
        for (size_t i = 0; i < nw; i++)
            cr_assert_eq(got[i], want[i], "'%s': row %zu is flow %d in SQL, %d in C", o.s, i,
                         got[i], want[i]);
        ng = keyed_rows(f, got, &keyed, k % 2);
        cr_assert_eq(ng, nw, "'%s': partition SQL selects %zu flows, C %zu", o.s, ng, nw);
        for (size_t i = 0; i < nw; i++)
            cr_assert_eq(got[i], want[i], "'%s': row %zu is flow %d in partition SQL, %d in C", o.s,
                         i, got[i], want[i]);
        nonempty += nw > 0;
        partial += nw > 0 && nw < NFLOWS;
        filter_free(f);
    }
    cr_log_info("%zu filters, %zu select something, %zu select some but not all", parsed, nonempty,
                partial);
    /* a differential test whose filters select nothing would prove nothing */
    cr_expect_gt(partial, NFILTERS / 3, "only %zu filters discriminate", partial);
    /* and the key ranges must have been tried, on indexed partitions */
    cr_log_info("%zu filters with a key range", keyed);
    cr_expect_gt(keyed, NFILTERS / 20, "only %zu filters had a key range", keyed);
    cr_expect_gt(th_db_int(store_path(st), "SELECT count(*) FROM partitions WHERE indexed"), 0);
}

Test(filter_diff, mutated_filters_never_crash_and_errors_point_inside_the_text)
{
    static const char junk[] = "()[]!&|=<>/,. :-_'\";\\\x01\x7f\xc3xyzSA09";
    char err[256];
    int col;
    size_t rejected = 0;
    for (int k = 0; k < 3000; k++) {
        struct out o;
        fg_filter(&o);
        /* a few random edits: replace, delete or insert characters */
        for (unsigned e = 0, n = 1 + fg_pick(3); e < n && o.n > 0; e++) {
            size_t at = fg_pick((unsigned)o.n);
            switch (fg_pick(3)) {
            case 0:
                o.s[at] = junk[fg_pick(sizeof(junk) - 1)];
                break;
            case 1:
                memmove(o.s + at, o.s + at + 1, o.n - at);
                o.n--;
                break;
            default:
                if (o.n + 1 < sizeof(o.s)) {
                    memmove(o.s + at + 1, o.s + at, o.n - at + 1);
                    o.s[at] = junk[fg_pick(sizeof(junk) - 1)];
                    o.n++;
                }
            }
        }
        struct filter *f = filter_compile(o.s, err, sizeof(err), &col);
        if (f) {
            /* whatever parsed must also run in SQLite */
            static int rows[NFLOWS];
            (void)sql_rows(f, rows);
            filter_free(f);
            continue;
        }
        rejected++;
        cr_assert(col >= 1 && (size_t)col <= strlen(o.s) + 1, "'%s': column %d out of range", o.s,
                  col);
        cr_assert(err[0], "'%s': empty error message", o.s);
    }
    cr_expect_gt(rejected, 1000);
}
