/* test_query_cli.c - the real `flowhound query` program on real stores: output formats,
 * filters and time ranges compared with plain SQL on the same store, exit statuses, filter
 * errors with their caret, and the time limit. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "tests/helpers.h"

static char *dir;
static char db[512];

/* 20000 generated flows over 4 hours (tests/gen_flows). */
static void setup(void)
{
    dir = th_tmpdir();
    snprintf(db, sizeof(db), "%s/cli.db", dir);
    cr_assert_eq(th_system("'%s/tests/gen_flows' '%s' 20000 4", th_builddir(), db), 0);
}

static void teardown(void)
{
    th_rmtree(dir);
    free(dir);
}

TestSuite(query_cli, .init = setup, .fini = teardown, .timeout = 120);

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    size_t cap = 1 << 16, len = 0;
    char *s = xmalloc(cap);
    size_t n;
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            s = xreallocarray(s, cap, 1);
        }
    }
    s[len] = '\0';
    fclose(f);
    return s;
}

struct result {
    int status;
    char *out, *err;
};

/* Runs `flowhound query ARGS` (ARGS is shell text) and captures everything. */
static struct result fq(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct result fq(const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    struct result r;
    r.status =
        th_system("'%s/flowhound' query %s >'%s/out' 2>'%s/err'", th_builddir(), args, dir, dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/out", dir);
    r.out = slurp(path);
    snprintf(path, sizeof(path), "%s/err", dir);
    r.err = slurp(path);
    return r;
}

/* The arguments of a table's case: its one %s is the store. */
static const char *with_db(const char *form)
{
    static char args[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(args, sizeof(args), form, db);
#pragma GCC diagnostic pop
    return args;
}

static void done(struct result *r)
{
    free(r->out);
    free(r->err);
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(query_cli, json_is_one_array_with_the_flows_view_s_names_and_the_right_rows)
{
    struct result r = fq("-r '%s' -o json 'dst port 515 and flags S and not flags A'", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    json_error_t je;
    json_t *a = json_loads(r.out, 0, &je);
    cr_assert(a, "not JSON: %s", je.text);
    cr_assert(json_is_array(a));
    int64_t want = th_db_int(db, "SELECT count(*) FROM flows WHERE dst_port = 515 AND "
                                 "tcp_flags & 2 = 2 AND tcp_flags & 16 = 0");
    cr_assert_gt(want, 10);
    cr_expect_eq((int64_t)json_array_size(a), want);
    json_t *row = json_array_get(a, 0);
    cr_expect_eq(json_object_size(row), 37);
    cr_expect_eq(json_integer_value(json_object_get(row, "dst_port")), 515);
    cr_expect(json_is_string(json_object_get(row, "exporter")));
    cr_expect(json_is_null(json_object_get(row, "next_hop")));
    json_decref(a);
    done(&r);
    /* nothing selected: still one valid array */
    r = fq("-r '%s' -o json 'port 9'", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    a = json_loads(r.out, 0, &je);
    cr_assert(a && json_is_array(a) && json_array_size(a) == 0, "%s", r.out);
    json_decref(a);
    done(&r);
}

Test(query_cli, csv_header_is_the_column_names_even_without_rows)
{
    const char *header =
        "exporter,domain,version,src_addr,dst_addr,src_port,dst_port,proto,tcp_flags,packets,"
        "bytes,first_ms,last_ms,in_if,out_if,next_hop,src_as,dst_as,src_mask,dst_mask,tos,"
        "sampling_interval,end_reason,direction,initial_flags,union_flags,rev_packets,rev_bytes,"
        "rev_tcp_flags,fw_event,initiator_bytes,responder_bytes,post_nat_src_addr,"
        "post_nat_dst_addr,post_nat_src_port,post_nat_dst_port,received_ms\n";
    struct result r = fq("-r '%s' -o csv -n 7 -f 'net 10.0.0.0/8 and proto udp'", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(strncmp(r.out, header, strlen(header)), 0, "%.400s", r.out);
    cr_expect_eq(lines(r.out), 8);
    cr_expect(strstr(r.out, ",17,"), "%s", r.out);
    done(&r);
    r = fq("-r '%s' -o csv 'ip 203.0.113.9'", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, header);
    done(&r);
}

Test(query_cli, time_range_and_filter_agree_with_plain_sql)
{
    /* gen_flows starts at 2026-11-23T00:00:00Z = 1795392000000 */
    struct result r = fq("-r '%s' -o json -t 2026-11-23T01:00:00Z-2026-11-23T02:00:00Z "
                         "'src net 2001:db8::/32'",
                         db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    json_t *a = json_loads(r.out, 0, NULL);
    cr_assert(a);
    int64_t want = th_db_int(db, "SELECT count(*) FROM flows WHERE src_addr LIKE '2001:db8:%' "
                                 "AND first_ms <= 1795399200000 AND last_ms >= 1795395600000");
    cr_assert_gt(want, 0);
    cr_expect_eq((int64_t)json_array_size(a), want);
    json_decref(a);
    done(&r);
    /* nfdump's time format and Unix ms give the same answer */
    struct result r1 = fq("-r '%s' -o csv -t 2026/11/23.01:00:00-2026/11/23.02:00:00 any", db);
    struct result r2 = fq("-r '%s' -o csv -t 1795395600000-1795399200000", db);
    cr_assert_eq(r1.status, 0, "%s", r1.err);
    cr_assert_eq(r2.status, 0, "%s", r2.err);
    cr_expect_str_eq(r1.out, r2.out);
    cr_expect_gt(lines(r1.out), 1000);
    done(&r1);
    done(&r2);
}

Test(query_cli, top_n_like_nfdump_s)
{
    struct result r = fq("-r '%s' -s dstport/bytes -n 3 -o json", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    json_t *a = json_loads(r.out, 0, NULL);
    cr_assert(a, "%s", r.out);
    cr_assert_eq(json_array_size(a), 3);
    json_t *first = json_array_get(a, 0);
    int64_t top_port = json_integer_value(json_object_get(first, "key"));
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT sum(bytes) FROM flows WHERE dst_port = %" PRId64, top_port);
    cr_expect_eq(json_integer_value(json_object_get(first, "bytes")), th_db_int(db, sql));
    cr_expect_eq(top_port, th_db_int(db, "SELECT dst_port FROM flows GROUP BY dst_port "
                                         "ORDER BY sum(bytes) DESC LIMIT 1"));
    cr_expect_eq(json_integer_value(json_object_get(first, "total_flows")), 20000);
    json_decref(a);
    done(&r);
    r = fq("-r '%s' -s srcip 'dst port 515'", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Top 10 Src IP Addr ordered by flows:\n"), "%s", r.out);
    cr_expect(strstr(r.out, "Flows(%)"), "%s", r.out);
    cr_expect(strstr(r.out, "Summary: total flows: "), "%s", r.out);
    /* 10 rows, a title, column titles, a blank line, the summary and the time window */
    cr_expect_eq(lines(r.out), 15, "%s", r.out);
    done(&r);
}

/* Several -s, several orders, -s record: a table each, one summary; -q drops the titles and
 * the footer. */
Test(query_cli, several_stat_tables_and_records)
{
    struct result r = fq("-r '%s' -s srcip -s dstport/bytes/pps -s record/bytes -n 2", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *titles[] = {
        "Top 2 Src IP Addr ordered by flows:", "Top 2 Dst Port ordered by bytes:",
        "Top 2 Dst Port ordered by pps:", "Top 2 flows ordered by bytes:"};
    const char *at = r.out;
    for (size_t i = 0; i < 4; i++) {
        const char *t = strstr(at, titles[i]);
        cr_expect(t, "%s missing or out of order in\n%s", titles[i], r.out);
        at = t ? t : at;
    }
    cr_expect_eq(lines(r.out), 4 * 5 + 2, "%s", r.out);
    done(&r);
    r = fq("-r '%s' -q -N -s dstport/bytes -n 1", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(lines(r.out), 2, "%s", r.out); /* the row and the blank line */
    int64_t port = th_db_int(db, "SELECT dst_port FROM flows GROUP BY 1 ORDER BY sum(bytes) DESC "
                                 "LIMIT 1");
    int64_t bytes = th_db_int(db, "SELECT sum(bytes) FROM flows GROUP BY dst_port ORDER BY 1 DESC "
                                  "LIMIT 1");
    char want[64];
    snprintf(want, sizeof(want), " %" PRId64 " ", port);
    cr_expect(strstr(r.out, want), "%s", r.out);
    snprintf(want, sizeof(want), " %" PRId64 "(", bytes);
    cr_expect(strstr(r.out, want), "%s", r.out);
    done(&r);
}

/* -A and -o fmt: against SQL's GROUP BY on the same store. */
Test(query_cli, aggregate_and_fmt_agree_with_group_by)
{
    struct result r =
        fq("-r '%s' -q -N -A srcip,dstport -O bytes -n 1 -o 'fmt:%%sa|%%dp|%%pkt|%%byt|%%fl'", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *group = "FROM (SELECT src_addr, dst_port, sum(packets) p, sum(bytes) b, "
                        "count(*) n FROM flows GROUP BY 1, 2 ORDER BY b DESC LIMIT 1)";
    char q1[600], want[256];
    snprintf(q1, sizeof(q1), "SELECT p %s", group);
    int64_t p = th_db_int(db, q1);
    snprintf(q1, sizeof(q1), "SELECT b %s", group);
    int64_t b = th_db_int(db, q1);
    snprintf(q1, sizeof(q1), "SELECT n %s", group);
    int64_t n = th_db_int(db, q1);
    snprintf(want, sizeof(want), "|%8" PRId64 "|%8" PRId64 "|%5" PRId64 "\n", p, b, n);
    cr_expect(strstr(r.out, want), "want '%s' in '%s'", want, r.out);
    cr_expect_eq(lines(r.out), 1, "%s", r.out);
    done(&r);
    /* the number of records is the number of groups */
    r = fq("-r '%s' -q -A proto,dstport -o csv", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(
        (int64_t)lines(r.out) - 1,
        th_db_int(db, "SELECT count(*) FROM (SELECT 1 FROM flows GROUP BY proto, dst_port)"));
    cr_expect(
        !strncmp(r.out, "proto,dst_port,first_ms,last_ms,packets,bytes,tcp_flags,flows\n", 60),
        "%s", r.out);
    done(&r);
}

/* -t -DURATION counts back from now: the generated flows are of 2026-11-23, so a range from
 * 1000 weeks ago holds them all, one that ends 999 weeks ago none; "now" ends a range. */
Test(query_cli, relative_time_ranges)
{
    int64_t all = th_db_int(db, "SELECT count(*) FROM flows");
    struct result r = fq("-r '%s' -q -o csv -t -1000w", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq((int64_t)lines(r.out) - 1, all);
    done(&r);
    r = fq("-r '%s' -q -o csv -t -1000w--999w", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(lines(r.out), 1, "%s", r.out); /* the header: nothing from 19 years ago */
    done(&r);
    r = fq("-r '%s' -q -o csv -t -3600-now", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    done(&r);
}

Test(query_cli, line_and_long_output)
{
    struct result r = fq("-r '%s' -n 3 dst port 515 and flags S and not flags A", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Date first seen"), "%s", r.out);
    cr_expect(strstr(r.out, ":515 "), "%s", r.out);
    cr_expect(strstr(r.out, "......S."), "%s", r.out);
    cr_expect(strstr(r.out, "3 flows\n"), "%s", r.out);
    cr_expect(strstr(r.out, "Summary: total flows: 3, "), "%s", r.out);
    cr_expect_eq(lines(r.out), 7);
    done(&r);
    r = fq("-r '%s' -n 2 -o long -O bytes/desc", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "exporter 192.0.2."), "%s", r.out);
    done(&r);
}

Test(query_cli, filter_errors_show_a_caret_and_exit_2)
{
    struct result r = fq("-r '%s' 'dst port 515 and flags SQ'", db);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.out, "");
    cr_expect(strstr(r.err, "bad filter: expected TCP flag letters (F S R P A U E C, or X for "
                            "all), found 'Q' (column 25)\n"
                            "  dst port 515 and flags SQ\n"
                            "                          ^\n"),
              "%s", r.err);
    done(&r);
    r = fq("-r '%s' -f \"ip 10.0.0.1' or 1=1 --\"", db);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "unexpected character ''' (column 12)"), "%s", r.err);
    done(&r);
}

Test(query_cli, usage_errors_exit_2_and_failures_exit_1)
{
    struct result r = fq("--help");
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "Usage: flowhound query"), "%s", r.out);
    done(&r);
    const char *bad[] = {
        "'port 80'",                                  /* no -r */
        "-r '%s' -o xml any",                         /* unknown format */
        "-r '%s' -t yesterday any",                   /* bad range */
        "-r '%s' -t 1795399200000-1795395600000 any", /* reversed */
        "-r '%s' -s nonsense",                        /* unknown statistic */
        "-r '%s' -s srcip/fastest",                   /* unknown order */
        "-r '%s' -A srcip,srcmac",                    /* unknown -A field */
        "-r '%s' -A srcip -b",                        /* -b is the 5-tuple's */
        "-r '%s' -a -O first_ms",                     /* records take nfdump's orders */
        "-r '%s' -o 'fmt:%%ts %%nope'",               /* unknown fmt token */
        "-r '%s' -t +1h any",                         /* nfdump's +N: not supported */
        "-r '%s' -n -3",                              /* bad count */
        "-r '%s' -O no_such_column",                  /* unknown order column */
        "-r '%s' -O bytes/sideways",                  /* bad direction */
        "-r '%s' -f 'port 1' 'port 2'",               /* filter twice */
        "-r '%s' --no-such-option",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args = with_db(bad[i]);
        r = fq("%s", args);
        cr_expect_eq(r.status, 2, "'%s' exited %d: %s", args, r.status, r.err);
        cr_expect(r.err[0], "'%s': no message", args);
        done(&r);
    }
    r = fq("-r '%s/missing.db' any", dir);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "unable to open"), "%s", r.err);
    done(&r);
}

Test(query_cli, every_form_of_an_option_gives_the_same_answer)
{
    static const char *const forms[] = {
        "-r '%s' -s dstport/bytes -n 3 -o csv 'proto tcp'",
        "--read='%s' --stat=dstport/bytes --limit=3 --output=csv -- proto tcp",
        "-r'%s' -sdstport/bytes -n3 -ocsv -f 'proto tcp'",
        "--read '%s' --stat dstport/bytes --limit 3 --output csv --filter='proto tcp'",
    };
    char *first = NULL;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const char *args = with_db(forms[i]);
        struct result r = fq("%s", args);
        cr_assert_eq(r.status, 0, "%s: %s", args, r.err);
        cr_expect_eq(lines(r.out), 4, "%s: %s", args, r.out);
        if (first)
            cr_expect_str_eq(r.out, first, "%s", args);
        else
            first = xstrdup(r.out);
        done(&r);
    }
    free(first);
    struct result r = fq("-r '%s' --no-such-option", db);
    cr_expect_str_eq(r.err, "flowhound query: --no-such-option: unknown option\n"
                            "Try 'flowhound query --help'.\n");
    done(&r);
    r = fq("-r '%s' --limit=x", db);
    cr_expect_str_eq(r.err, "flowhound query: --limit: 'x' is not a count\n");
    done(&r);
    r = fq("-r '%s' -n", db);
    cr_expect_str_eq(r.err, "flowhound query: -n: missing value\nTry 'flowhound query --help'.\n");
    done(&r);
}

Test(query_cli, time_limit_gives_a_clear_error)
{
    /* 20000 flows sorted by a computed order with a 1 ms budget cannot finish */
    struct result r = fq("-r '%s' --time-limit 1 -O bytes -o csv 'not ip 1.2.3.4 or bps > 1'", db);
    cr_expect_eq(r.status, 1, "%s", r.err);
    cr_expect(strstr(r.err, "query took too long (more than 1 ms)"), "%s", r.err);
    done(&r);
}

/* Starts `flowhound query -r db -o csv` with its output into a pipe; returns the read end. */
static int query_into_pipe(pid_t *pid)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    char prog[600];
    snprintf(prog, sizeof(prog), "%s/flowhound", th_builddir());
    *pid = fork();
    cr_assert_geq(*pid, 0);
    if (*pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(prog, "flowhound", "query", "-r", db, "-o", "csv", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    return fds[0];
}

/* Rows of CSV read from fd to its end (the header not counted). */
static int64_t csv_rows(int fd)
{
    char buf[65536];
    int64_t lines = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    return lines - 1;
}

/* `flowhound query | less` left open: the query must end, and let go of the store's snapshot,
 * although nobody reads its output (else flowhoundd's WAL cannot be emptied and grows as long
 * as the pager stays); then all of it still arrives. The snapshot holds the WAL only if the
 * WAL has frames: a writer keeps one open with a commit in it, and is the probe, as the
 * daemon's writer would be: a TRUNCATE checkpoint succeeds only once no reader holds one. */
Test(query_cli, a_query_whose_output_is_not_read_lets_go_of_the_store)
{
    char err[256];
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct flow f = {.version = 5, .proto = 6, .received_ms = now_ms()};
    addr_from_str("192.0.2.1", &f.exporter);
    addr_from_str("10.0.0.1", &f.src_addr);
    addr_from_str("10.0.0.2", &f.dst_addr);
    th_store_flows(s, &f, 1);
    sqlite3_busy_timeout(store_sqlite(s), 0);
    pid_t pid;
    int fd = query_into_pipe(&pid);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 20000), 1, "the query started printing");
    /* 20001 rows of CSV (~3 MB) do not fit in the pipe: without a spool, the query waits in
     * write() with its statement, and so its snapshot, open */
    bool let_go = false;
    for (int64_t end = mono_ms() + 10000; !let_go && mono_ms() < end; usleep(50000))
        let_go = sqlite3_wal_checkpoint_v2(store_sqlite(s), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                                           NULL) == SQLITE_OK;
    cr_expect(let_go, "the WAL could be emptied while the output was still unread");
    cr_expect_eq(csv_rows(fd), 20001, "and every row arrived when read");
    close(fd);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    store_close(s);
}

/* ---- real exporter data, queried while the real daemon is still writing ---- */

static int64_t cli_count(const char *db_, const char *args)
{
    struct result r = fq("-r '%s' -o json %s", db_, args);
    cr_assert_eq(r.status, 0, "%s: %s", args, r.err);
    json_t *a = json_loads(r.out, 0, NULL);
    cr_assert(a && json_is_array(a), "%s: %.200s", args, r.out);
    int64_t n = (int64_t)json_array_size(a);
    json_decref(a);
    done(&r);
    return n;
}

Test(query_daemon, corpus_v5_through_the_daemon_queried_while_it_runs, .timeout = 120)
{
    static const struct {
        const char *filter, *sql;
    } cases[] = {
        {"any", "1"},
        {"proto tcp", "proto = 6"},
        {"dst port 22", "dst_port = 22"},
        {"net 10.0.0.0/8", "src_addr LIKE '10.%' OR dst_addr LIKE '10.%'"},
        {"flags A and not flags S", "tcp_flags & 16 = 16 AND tcp_flags & 2 = 0"},
        {"src as 36351 or dst as 36351", "src_as = 36351 OR dst_as = 36351"},
        {"in if 13", "in_if = 13"},
        {"bytes > 1000 or packets >= 10", "bytes > 1000 OR packets >= 10"},
        {"ip 10.0.2.15", "src_addr = '10.0.2.15' OR dst_addr = '10.0.2.15'"},
        {"-t 2016-07-21-2016-07-22 any", "first_ms <= 1469145600000 AND last_ms >= 1469059200000"},
    };
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    dir = d.dir; /* fq() writes its captures there */
    size_t sent = 0;
    static const char *const files[] = {"corpus/v5_softflowd.pcap", "corpus/v5_mikrotik.pcap",
                                        "corpus/v5_akvorado.pcap"};
    for (size_t i = 0; i < 3; i++)
        sent += th_replay(th_shared_path(files[i]), d.port, 2000, 20 + (unsigned)i);
    cr_assert_gt(sent, 0);
    cr_assert_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", 89, 20000), 89);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM flows WHERE %s", cases[i].sql);
        int64_t want = th_db_int(d.db, sql);
        cr_expect_gt(want, 0, "%s selects nothing: a weak case", cases[i].filter);
        char args[256];
        if (cases[i].filter[0] == '-')
            snprintf(args, sizeof(args), "%s", cases[i].filter);
        else
            snprintf(args, sizeof(args), "'%s'", cases[i].filter);
        cr_expect_eq(cli_count(d.db, args), want, "%s", cases[i].filter);
    }
    cr_expect_eq(th_daemon_stop(&d), 0);
    dir = NULL;
    th_daemon_cleanup(&d);
}
