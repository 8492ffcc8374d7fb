/* test_softflowd.c - a real exporter end to end: Debian's softflowd reads a scenario capture
 * and exports NetFlow v5 to a relay in this test, which records every datagram to a pcap and
 * forwards it to the real flowhoundd. tshark then decodes the recorded export independently;
 * every record tshark sees must be stored, with the same values, and nothing else. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"

/* Writes one datagram as an Ethernet/IPv4/UDP frame to a classic pcap. */
static void pcap_write(FILE *f, const uint8_t *data, size_t len, uint16_t dport)
{
    uint8_t hdr[14 + 20 + 8] = {0};
    hdr[12] = 0x08;                       /* IPv4 */
    hdr[14] = 0x45;                       /* version 4, IHL 5 */
    size_t iplen = 20 + 8 + len;
    hdr[16] = (uint8_t)(iplen >> 8), hdr[17] = (uint8_t)iplen;
    hdr[22] = 64, hdr[23] = 17;           /* TTL, UDP */
    hdr[26] = 127, hdr[29] = 1;           /* 127.0.0.1 -> 127.0.0.1 */
    hdr[30] = 127, hdr[33] = 1;
    hdr[34] = 0xc3, hdr[35] = 0x50;       /* source port 50000 */
    hdr[36] = (uint8_t)(dport >> 8), hdr[37] = (uint8_t)dport;
    hdr[38] = (uint8_t)((8 + len) >> 8), hdr[39] = (uint8_t)(8 + len);
    uint32_t rec[4] = {0, 0, (uint32_t)(sizeof(hdr) + len), (uint32_t)(sizeof(hdr) + len)};
    fwrite(rec, sizeof(rec), 1, f);
    fwrite(hdr, sizeof(hdr), 1, f);
    fwrite(data, len, 1, f);
}

/* Runs softflowd on a capture, relaying its export to the daemon and recording it. Returns
 * the number of datagrams relayed. */
static size_t relay_softflowd(const char *capture, const char *version, uint16_t daemon_port,
                              const char *pcap_out, uint16_t *relay_port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *relay_port = ntohs(sa.sin_port);
    char dest[64];
    snprintf(dest, sizeof(dest), "127.0.0.1:%u", *relay_port);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        execlp("softflowd", "softflowd", "-r", capture, "-a", "-c", "none", "-d", "-v", version,
               "-n", dest, (char *)NULL);
        _exit(127);
    }
    FILE *out = fopen(pcap_out, "wb");
    cr_assert(out);
    uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    fwrite(gh, sizeof(gh), 1, out);
    size_t n = 0;
    bool exited = false;
    static uint8_t buf[65536];
    /* Bounded: at most 60 s; stop 1 s after softflowd has exited and gone quiet. */
    for (int waited = 0; waited < 60000;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, 200);
        if (rc > 0) {
            ssize_t len = recv(fd, buf, sizeof(buf), 0);
            if (len > 0) {
                pcap_write(out, buf, (size_t)len, *relay_port);
                th_udp_send(daemon_port, "127.0.5.1", buf, (size_t)len);
                n++;
            }
            continue;
        }
        waited += 200;
        int status;
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "softflowd failed");
            waited = 59000; /* one more second of quiet */
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    fclose(out);
    close(fd);
    return n;
}

struct tuple {
    char src[48], dst[48];
    long sport, dport, proto, packets, bytes, flags;
};

/* tshark's decoding of the recorded export: one tuple per flow record. */
static struct tuple *tshark_records(const char *pcap, uint16_t port, size_t *n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "tshark -n -r '%s' -d udp.port==%u,cflow -T fields -E separator=/t "
             "-E occurrence=a -E aggregator=';' -e cflow.srcaddr -e cflow.dstaddr "
             "-e cflow.srcport -e cflow.dstport -e cflow.protocol -e cflow.packets "
             "-e cflow.octets -e cflow.tcpflags 2>/dev/null",
             pcap, port);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    struct tuple *out = NULL;
    size_t cnt = 0, cap = 0;
    static char line[1 << 20];
    while (fgets(line, sizeof(line), p)) {
        char *cols[8] = {0};
        int c;
        line[strcspn(line, "\n")] = '\0';
        /* split by tab keeping empty columns */
        char *rest = line;
        for (c = 0; c < 8 && rest; c++)
            cols[c] = strsep(&rest, "\t");
        if (c < 8 || !cols[0][0])
            continue;
        char *it[8];
        for (int k = 0; k < 8; k++)
            it[k] = cols[k];
        for (;;) {
            char *v[8];
            for (int k = 0; k < 8; k++)
                v[k] = it[k] ? strsep(&it[k], ";") : NULL;
            if (!v[0])
                break;
            if (cnt == cap) {
                cap = cap ? cap * 2 : 256;
                out = realloc(out, cap * sizeof(*out));
            }
            struct tuple *t = &out[cnt++];
            snprintf(t->src, sizeof(t->src), "%s", v[0]);
            snprintf(t->dst, sizeof(t->dst), "%s", v[1] ? v[1] : "");
            t->sport = v[2] ? strtol(v[2], NULL, 0) : -1;
            t->dport = v[3] ? strtol(v[3], NULL, 0) : -1;
            t->proto = v[4] ? strtol(v[4], NULL, 0) : -1;
            t->packets = v[5] ? strtol(v[5], NULL, 0) : -1;
            t->bytes = v[6] ? strtol(v[6], NULL, 0) : -1;
            t->flags = v[7] ? strtol(v[7], NULL, 0) : -1;
        }
    }
    pclose(p);
    *n = cnt;
    return out;
}

Test(softflowd, v5_export_of_a_capture_is_stored_as_tshark_decodes_it, .timeout = 180)
{
    cr_assert(th_have("softflowd"), "softflowd is not installed (scripts/install-deps.sh --test)");
    cr_assert(th_have("tshark"), "tshark is not installed (scripts/install-deps.sh --test)");
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    char rec[700];
    snprintf(rec, sizeof(rec), "%s/export.pcap", d.dir);
    uint16_t relay_port;
    size_t datagrams = relay_softflowd(th_shared_path("scenarios/busy_server/outside.pcap"), "5",
                                       d.port, rec, &relay_port);
    cr_assert_gt(datagrams, 10, "softflowd exported %zu datagrams", datagrams);
    cr_assert_eq(th_daemon_stop(&d), 0);

    size_t n;
    struct tuple *t = tshark_records(rec, relay_port, &n);
    cr_assert_gt(n, 1000, "tshark decoded %zu records", n);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), (int64_t)n,
                 "stored rows = records tshark decodes");
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM flows WHERE src_addr = '%s' AND dst_addr = '%s' AND "
                 "src_port = %ld AND dst_port = %ld AND proto = %ld AND packets = %ld AND "
                 "bytes = %ld AND tcp_flags = %ld",
                 t[i].src, t[i].dst, t[i].sport, t[i].dport, t[i].proto, t[i].packets,
                 t[i].bytes, t[i].flags);
        if (th_db_int(d.db, sql) < 1 && missing++ < 5)
            cr_log_error("not stored as tshark decodes it: %s", sql);
    }
    cr_expect_eq(missing, 0, "%zu of %zu records differ from tshark", missing, n);
    free(t);
    th_daemon_cleanup(&d);
}
