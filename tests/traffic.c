/* traffic.c - exporters' and attackers' datagrams and paced senders (see traffic.h). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/traffic.h"

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16), put16(p + 2, v & 0xffff);
}

size_t tr_v5(uint8_t *buf, unsigned n, uint32_t seq, uint32_t id)
{
    memset(buf, 0, 24 + 48 * n);
    buf[1] = 5;
    buf[3] = (uint8_t)n;
    buf[4] = 0, buf[5] = 0x10; /* uptime */
    buf[8] = 0x65;             /* unix_secs ~ 2023 */
    put32(buf + 16, seq);
    for (unsigned r = 0; r < n; r++) {
        uint8_t *p = buf + 24 + 48 * r;
        uint32_t k = id * 30 + r;
        p[0] = 10, p[1] = (uint8_t)(k >> 16), p[2] = (uint8_t)(k >> 8), p[3] = (uint8_t)k;
        p[4] = 192, p[5] = 0, p[6] = 2, p[7] = 1;
        p[19] = 1;                  /* packets */
        p[23] = 60;                 /* bytes */
        p[32] = 0x03, p[33] = 0x00; /* src port 768 */
        p[35] = 80;
        p[38] = 6;
    }
    return 24 + 48 * (size_t)n;
}

/* The fields of the templates, cycled: elements flowhound stores (addresses, ports, counters,
 * times) and some it does not (313: an octetArray; 210 padding; 95 application id). */
static const uint16_t fields[][2] = {{8, 4}, {12, 4},  {7, 2},   {11, 2},  {4, 1},  {1, 8},
                                     {2, 8}, {6, 1},   {10, 4},  {14, 4},  {16, 4}, {17, 4},
                                     {5, 1}, {152, 8}, {153, 8}, {210, 2}, {95, 4}, {313, 3}};
#define N_KINDS (sizeof(fields) / sizeof(fields[0]))

/* One template record of n fields in `layout` at p; returns its length, adds its records'
 * length to *rec_len. */
static size_t put_template(uint8_t *p, uint16_t id, unsigned n, int layout, size_t *rec_len)
{
    put16(p, id);
    put16(p + 2, n);
    size_t off = 4;
    *rec_len = 0;
    for (unsigned i = 0; i < n; i++, off += 4) {
        unsigned k = (layout ? n - 1 - i : i) % N_KINDS;
        put16(p + off, fields[k][0]);
        put16(p + off + 2, fields[k][1]);
        *rec_len += fields[k][1];
    }
    return off;
}

size_t tr_template_msg(uint8_t *buf, uint16_t first_id, unsigned n_templates, unsigned n_fields,
                       int layout, bool with_record, uint32_t seq)
{
    size_t per = 4 + 4 * (size_t)n_fields, rec_len = 0;
    if (n_fields > 512 || 20 + per * n_templates > TR_MAX_MSG)
        return 0;
    size_t n = 16;
    put16(buf + n, 2);
    put16(buf + n + 2, (unsigned)(4 + per * n_templates));
    n += 4;
    for (unsigned t = 0; t < n_templates; t++)
        n += put_template(buf + n, (uint16_t)(first_id + t), n_fields, layout, &rec_len);
    if (with_record) {
        if (n + 4 + rec_len > TR_MAX_MSG)
            return 0;
        put16(buf + n, first_id);
        put16(buf + n + 2, (unsigned)(4 + rec_len));
        memset(buf + n + 4, 1, rec_len);
        n += 4 + rec_len;
    }
    put16(buf, 10);
    put16(buf + 2, (unsigned)n);
    put32(buf + 4, (uint32_t)time(NULL));
    put32(buf + 8, seq);
    put32(buf + 12, 0);
    return n;
}

int tr_socket(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps until event i of a schedule of per_s a second that started at start_ns. */
static void pace(int64_t start_ns, uint64_t i, unsigned per_s)
{
    if (!per_s)
        return;
    int64_t due = start_ns + (int64_t)(i * 1000000000ull / per_s);
    int64_t now = mono_ns();
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / 1000000000), (long)((due - now) % 1000000000)};
        nanosleep(&ts, NULL);
    }
}

uint64_t tr_good_v5(uint16_t port, const char *src, unsigned flows_per_s, double seconds)
{
    int fd = tr_socket(src, port);
    if (fd < 0)
        return 0;
    uint8_t buf[24 + 48 * 30];
    uint64_t n = (uint64_t)(flows_per_s * seconds / 30), flows = 0;
    int64_t start = mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        pace(start, i, flows_per_s / 30);
        size_t len = tr_v5(buf, 30, (uint32_t)(i * 30), (uint32_t)i);
        if (send(fd, buf, len, 0) == (ssize_t)len)
            flows += 30;
    }
    close(fd);
    return flows;
}

uint64_t tr_churn(uint16_t port, const char *src, unsigned per_s, double seconds, unsigned n_fields)
{
    int fd = tr_socket(src, port);
    if (fd < 0)
        return 0;
    uint8_t *buf = malloc(TR_MAX_MSG);
    uint64_t n = (uint64_t)(per_s * seconds), sent = 0;
    int64_t start = mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        pace(start, i, per_s);
        size_t len = tr_template_msg(buf, 256, 1, n_fields, (int)(i & 1), true, (uint32_t)i);
        if (len && send(fd, buf, len, 0) == (ssize_t)len)
            sent++;
    }
    free(buf);
    close(fd);
    return sent;
}

uint64_t tr_flood(uint16_t port, unsigned base, unsigned sources, unsigned templates,
                  unsigned n_fields, unsigned per_msg, unsigned per_s)
{
    uint8_t *buf = malloc(TR_MAX_MSG);
    int *fds = calloc(sources, sizeof(*fds));
    uint64_t sent = 0, i = 0;
    for (unsigned s = 0; s < sources; s++) {
        char src[32];
        snprintf(src, sizeof(src), "127.0.%u.%u", base, s + 1);
        fds[s] = tr_socket(src, port);
    }
    int64_t start = mono_ns();
    for (unsigned t = 0; t < templates; t += per_msg) {
        unsigned k = templates - t < per_msg ? templates - t : per_msg;
        size_t len = tr_template_msg(buf, (uint16_t)(256 + t), k, n_fields, 0, false, 0);
        for (unsigned s = 0; s < sources; s++, i++) {
            pace(start, i, per_s);
            if (len && fds[s] >= 0 && send(fds[s], buf, len, 0) == (ssize_t)len)
                sent += k;
        }
    }
    for (unsigned s = 0; s < sources; s++)
        if (fds[s] >= 0)
            close(fds[s]);
    free(fds);
    free(buf);
    return sent;
}
