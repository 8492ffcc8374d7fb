/* test_query_nfdump.c - golden tests of `flowhound query` against Debian's nfdump 1.7.1 on
 * the same exports: flowhoundd and nfcapd listen side by side on loopback, the same corpus
 * and story pcaps are replayed to both, and the same -s, -A, -a, -b, -s record, -o fmt:
 * listings and the summary footer are asked of `nfdump -R DIR` and `flowhound query`.
 *
 * Normalization (doc/cli.md, "nfdump parity"): both run with -N (plain numbers) and nfdump
 * with TZ=UTC; runs of blanks are squeezed (column widths differ for long keys) and blank
 * lines dropped. Rows are compared as sets, because nfdump leaves the order of ties to its
 * hash table, and where a table is ordered, the column it is ordered by must read the same
 * from top to bottom. For -b, each record is compared in a canonical direction: nfdump takes
 * the direction of the flow it read first, flowhound that of the earlier flow, so records
 * whose directions start in the same millisecond may face either way (the rule itself is
 * asserted in test_query.c).
 *
 * The exports are those both decode alike: records that carry out/reverse counters (v9
 * FortiGate, YAF biflows) are counted differently by design, and some IPFIX exporters'
 * times are read differently by nfcapd (doc/cli.md). */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "tests/helpers.h"

static const char *const pcaps[] = {
    "scenarios/story/merged.v9.pcap", "corpus/v5_softflowd.pcap",
    "corpus/v5_mikrotik.pcap",        "corpus/v5_akvorado.pcap",
    "corpus/v9_cisco_asr9k.pcap",     "corpus/v9_ipt_netflow.pcap",
    "corpus/v9_paloalto_panos.pcap",  "corpus/ipfix_openbsd_pflow.pcap",
};

static struct th_daemon d;
static char *dir;       /* outputs, and nfcapd's log */
static char nfdir[600]; /* nfcapd's files only: nfdump -R reads every file in it */

/* A UDP port free on 127.0.0.1 now (nfcapd has no ephemeral-port mode). */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Is the port taken (by nfcapd)? */
static bool port_taken(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool taken = bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

static pid_t start_nfcapd(uint16_t port)
{
    char p[16], log[600];
    snprintf(p, sizeof(p), "%u", port);
    snprintf(log, sizeof(log), "%s/nfcapd.log", dir);
    char *argv[] = {"nfcapd", "-b", "127.0.0.1", "-p", p, "-w", nfdir, "-t", "3600", NULL};
    pid_t pid = th_spawn(log, argv);
    for (int i = 0; i < 200 && !port_taken(port); i++)
        usleep(50 * 1000);
    cr_assert(port_taken(port), "nfcapd did not bind 127.0.0.1:%u", port);
    return pid;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    size_t cap = 1 << 16, len = 0, n;
    char *s = xmalloc(cap);
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0)
        if ((len += n) + 1 >= cap)
            s = xreallocarray(s, cap *= 2, 1);
    s[len] = '\0';
    fclose(f);
    return s;
}

/* Runs one of the two programs with ARGS (shell text) and returns its output. */
static char *run(bool nfdump, const char *args)
{
    char out[600];
    snprintf(out, sizeof(out), "%s/%s.out", dir, nfdump ? "nf" : "fh");
    if (nfdump)
        cr_assert_eq(th_system("TZ=UTC nfdump -R '%s' -N %s >'%s'", nfdir, args, out), 0, "%s",
                     args);
    else
        cr_assert_eq(
            th_system("'%s/flowhound' query -r '%s' -N %s >'%s'", th_builddir(), d.db, args, out),
            0, "%s", args);
    return slurp(out);
}

struct lines {
    char **v;
    size_t n;
};

/* The output's non-blank lines with blanks squeezed ("( 2.6)" as "(2.6)"). */
static struct lines split(char *text)
{
    struct lines l = {0};
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *o = line;
        for (char *p = line; *p; p++)
            if (*p != ' ' || (o > line && o[-1] != ' ' && o[-1] != '('))
                *o++ = *p;
        while (o > line && o[-1] == ' ')
            o--;
        *o = '\0';
        if (!*line)
            continue;
        l.v = xreallocarray(l.v, l.n + 1, sizeof(char *));
        l.v[l.n++] = line;
    }
    return l;
}

/* Field i (blank-separated) of a line, up to a '(' (the share of a -s column). */
static void field(const char *line, int i, char *buf, size_t len)
{
    while (i-- > 0 && (line = strchr(line, ' ')))
        line++;
    size_t n = line ? strcspn(line, " (") : 0;
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), line ? line : "");
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* -b: the record facing from the smaller endpoint ("PR A:p B:q IPKT OPKT IBYT OBYT FL"). */
static void canonical(char *line)
{
    char pr[16], a[64], b[64], ip[32], op[32], ib[32], ob[32], fl[32];
    if (sscanf(line, "%15s %63s %63s %31s %31s %31s %31s %31s", pr, a, b, ip, op, ib, ob, fl) !=
            8 ||
        strcmp(a, b) <= 0)
        return;
    sprintf(line, "%s %s %s %s %s %s %s %s", pr, b, a, op, ip, ob, ib, fl);
}

struct check {
    const char *args;
    int order_field; /* -1: a set of rows */
    bool bidir;
};

static void compare(const struct check *c)
{
    char *nt = run(true, c->args), *ft = run(false, c->args);
    struct lines n = split(nt), f = split(ft);
    cr_expect_eq(n.n, f.n, "%s: nfdump %zu rows, flowhound %zu", c->args, n.n, f.n);
    cr_expect_gt(n.n, 0, "%s: no rows", c->args);
    for (size_t i = 0; c->order_field >= 0 && i < n.n && i < f.n; i++) {
        char x[64], y[64];
        field(n.v[i], c->order_field, x, sizeof(x));
        field(f.v[i], c->order_field, y, sizeof(y));
        cr_expect_str_eq(x, y, "%s: row %zu ordered differently:\n  nfdump    %s\n  flowhound %s",
                         c->args, i + 1, n.v[i], f.v[i]);
    }
    for (size_t i = 0; c->bidir && i < n.n; i++)
        canonical(n.v[i]);
    for (size_t i = 0; c->bidir && i < f.n; i++)
        canonical(f.v[i]);
    qsort(n.v, n.n, sizeof(char *), by_text);
    qsort(f.v, f.n, sizeof(char *), by_text);
    for (size_t i = 0; i < n.n && i < f.n; i++)
        cr_expect_str_eq(n.v[i], f.v[i], "%s:\n  nfdump    %s\n  flowhound %s", c->args, n.v[i],
                         f.v[i]);
    free(n.v);
    free(f.v);
    free(nt);
    free(ft);
}

/* The line of the full output that starts with prefix. */
static void footer_line(bool nfdump, const char *args, const char *prefix, char *buf, size_t len)
{
    char *out = run(nfdump, args);
    char *at = strstr(out, prefix);
    cr_assert(at, "%s: no '%s' line", args, prefix);
    snprintf(buf, len, "%.*s", (int)strcspn(at, "\n"), at);
    free(out);
}

static void compare_footer(const char *args, const char *prefix)
{
    char a[512], b[512];
    footer_line(true, args, prefix, a, sizeof(a));
    footer_line(false, args, prefix, b, sizeof(b));
    cr_expect_str_eq(a, b, "%s", args);
}

TestSuite(nfdump, .timeout = 90);

Test(nfdump, query_outputs_match_nfdump_on_the_same_exports)
{
    cr_assert(th_have("nfdump") && th_have("nfcapd"),
              "Debian's nfdump is needed: scripts/install-deps.sh --test");
    th_daemon_start(&d, NULL);
    dir = th_tmpdir();
    snprintf(nfdir, sizeof(nfdir), "%s/nf", dir);
    cr_assert_eq(mkdir(nfdir, 0700), 0);
    uint16_t nfport = free_port();
    pid_t nf = start_nfcapd(nfport);
    for (size_t i = 0; i < sizeof(pcaps) / sizeof(pcaps[0]); i++) {
        const char *pcap = th_shared_path(pcaps[i]);
        /* an address block per capture: exporters of different captures must not share
         * one (their v9 template ids would collide) */
        unsigned base = 1 + (unsigned)i;
        cr_assert_gt(th_replay(pcap, d.port, 0, base), 0, "%s", pcap);
        cr_assert_gt(th_replay(pcap, nfport, 0, base), 0, "%s", pcap);
    }
    /* nfcapd writes its file when it ends */
    kill(nf, SIGTERM);
    int st;
    cr_assert_eq(waitpid(nf, &st, 0), nf);
    char *count = run(true, "-q -o 'fmt:%pkt'");
    struct lines rows = split(count);
    cr_assert_gt(rows.n, 150, "nfcapd stored %zu flows", rows.n);
    int64_t got = th_db_wait(d.db, "SELECT count(*) FROM flows", (int64_t)rows.n, 20000);
    cr_assert_eq(got, (int64_t)rows.n, "flowhoundd stored %" PRId64 " flows, nfcapd %zu", got,
                 rows.n);
    free(rows.v);
    free(count);

    static const struct check checks[] = {
        {"-q -s dstport/bytes -n 0", 7, false},
        {"-q -s srcip/packets -n 0", 6, false},
        {"-q -s ip/flows -n 0", 5, false}, /* shares of the totals, each flow counted once */
        {"-q -s port/bpp -n 0", 10, false},
        {"-q -s srcport/pps -n 0", 8, false},
        {"-q -s dstip/bps -n 0 'proto tcp'", 9, false},
        {"-q -s proto/bytes", 7, false},
        {"-q -s srcip/bytes -n 5 'dst port 515'", 7, false},
        {"-q -A srcip,dstport -O bytes -o 'fmt:%sa %dp %pkt %byt %fl %bps %pps %bpp %ts %te %td'",
         3, false},
        {"-q -A srcip4/24,proto -O packets -o 'fmt:%sa %pr %pkt %byt %fl'", 2, false},
        {"-q -a -O bytes -o 'fmt:%pr %sap %dap %pkt %byt %fl'", 4, false},
        {"-q -b -O bytes -o 'fmt:%pr %sap %dap %ipkt %opkt %ibyt %obyt %fl'", -1, true},
        {"-q -s record/bytes -n 0 -o 'fmt:%pr %sap %dap %pkt %byt %fl'", 4, false},
        {"-q -o 'fmt:%ts %te %td %pr %sap %dap %sp %dp %flg %pkt %byt %bps %pps %bpp %fl' "
         "'proto tcp or proto udp'",
         -1, false},
        {"-q -o 'fmt:%ts %sa %da %pkt %byt' 'dst port 515 and flags S and not flags A'", -1, false},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        compare(&checks[i]);
    compare_footer("-s srcip", "Summary:");
    compare_footer("-s srcip", "Time window:");
    compare_footer("-o 'fmt:%ts' 'src port 722 or dst port 722'", "Summary:");
    th_daemon_stop(&d);
    th_daemon_cleanup(&d);
    th_rmtree(dir);
    free(dir);
}
