/* softflowd_feed.c - `softflowd-feed`: packet captures through Debian's softflowd, metered
 * as a router would meter them, into a collector. One softflowd per capture (a vantage
 * point); the captures are played in one time order, every softflowd's clock moved to each
 * second in turn so that its idle and active timers expire flows at packet time; each
 * exporter's datagrams reach the collector from its own loopback address.
 *
 *   softflowd-feed --port P [--version 5|9|10] [--softflowd PATH] [--log FILE]
 *       ADDR=CAPTURE...
 *
 * A capture's hours take well under a second: the exported times are the packets' own. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/xmalloc.h"
#include "demo/exporter.h"
#include "demo/pcap_read.h"
#include "demo/psamp.h"

#define MAX_SOURCES  8
#define READ_WAIT_MS 5000
#define SYNC_EVERY   32 /* packets sent before waiting for softflowd to read them */

struct source {
    const char *addr, *path;
    struct pcap_file cap;
    size_t next; /* the next packet to send */
    unsigned unsynced;
    struct exporter ex;
};

struct feed {
    struct source src[MAX_SOURCES];
    size_t n;
    uint64_t seq;
    char err[256];
};

enum { OPT_PORT = 1, OPT_VERSION, OPT_SOFTFLOWD, OPT_LOG, OPT_HELP };

static const struct arg_opt options[] = {
    {"port", 0, ARG_VALUE, OPT_PORT, "P", "the collector's UDP port on 127.0.0.1", NULL},
    {"version", 0, ARG_VALUE, OPT_VERSION, "5|9|10", "NetFlow v5, v9 or IPFIX", "9"},
    {"softflowd", 0, ARG_VALUE, OPT_SOFTFLOWD, "PATH", "the softflowd to run", "softflowd"},
    {"log", 0, ARG_VALUE, OPT_LOG, "FILE", "softflowd's messages", "/dev/null"},
    {"help", 'h', ARG_FLAG, OPT_HELP, NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: softflowd-feed --port P [OPTIONS] ADDR=CAPTURE...\n"
               "Meters each packet capture with its own softflowd (router timers: idle 15 s,\n"
               "active 5 min, FIN/RST at once) and relays its export to 127.0.0.1:P from ADDR\n"
               "(a 127.x.y.z address: one exporter per capture).\n\n");
    args_help(options, f);
}

/* The source whose next packet is the earliest (the first given on a tie), or NULL. */
static struct source *earliest(struct feed *fd)
{
    struct source *best = NULL;
    for (size_t i = 0; i < fd->n; i++) {
        struct source *s = &fd->src[i];
        if (s->next < s->cap.n &&
            (!best || s->cap.pkts[s->next].ts_us < best->cap.pkts[best->next].ts_us))
            best = s;
    }
    return best;
}

/* Every softflowd's clock to second sec, its expiry check run, its export relayed. */
static int tick_all(struct feed *fd, int64_t sec)
{
    uint8_t msg[PSAMP_MAX_MESSAGE];
    for (size_t i = 0; i < fd->n; i++) {
        struct exporter *e = &fd->src[i].ex;
        size_t len = psamp_tick(msg, sec * 1000000, ++fd->seq);
        if (exporter_send(e, msg, len, fd->err, sizeof(fd->err)) ||
            exporter_kick(e, fd->err, sizeof(fd->err)))
            return -1;
    }
    for (size_t i = 0; i < fd->n; i++) {
        if (exporter_wait_read(&fd->src[i].ex, READ_WAIT_MS, fd->err, sizeof(fd->err)))
            return -1;
        fd->src[i].unsynced = 0;
    }
    for (size_t i = 0; i < fd->n; i++)
        exporter_relay(&fd->src[i].ex);
    return 0;
}

/* Ticks each second after `from` up to `to`; a silence longer than the idle flush is
 * skipped (every flow has expired by then: nothing happens until the next packet). */
static int tick_through(struct feed *fd, int64_t from, int64_t to)
{
    for (int64_t s = from + 1; s <= to; s++) {
        if (s > from + EXPORTER_IDLE_FLUSH_S && s < to)
            s = to;
        if (tick_all(fd, s))
            return -1;
    }
    return 0;
}

static int send_packet(struct feed *fd, struct source *s)
{
    const struct pcap_pkt *p = &s->cap.pkts[s->next++];
    uint8_t msg[PSAMP_MAX_MESSAGE];
    size_t len = psamp_packet(msg, p->ts_us, p->data, p->caplen, p->len, ++fd->seq);
    if (exporter_send(&s->ex, msg, len, fd->err, sizeof(fd->err)))
        return -1;
    if (++s->unsynced < SYNC_EVERY)
        return 0;
    s->unsynced = 0;
    return exporter_wait_read(&s->ex, READ_WAIT_MS, fd->err, sizeof(fd->err));
}

static int play(struct feed *fd)
{
    int64_t clock = INT64_MIN;
    struct source *s;
    while ((s = earliest(fd))) {
        int64_t sec = s->cap.pkts[s->next].ts_us / 1000000;
        if (clock != INT64_MIN && sec > clock && tick_through(fd, clock, sec))
            return -1;
        clock = sec > clock ? sec : clock;
        if (send_packet(fd, s))
            return -1;
    }
    return clock == INT64_MIN ? 0 : tick_through(fd, clock, clock + EXPORTER_IDLE_FLUSH_S);
}

static int add_source(struct feed *fd, const char *word)
{
    const char *eq = strchr(word, '=');
    if (!eq || eq == word || !eq[1] || fd->n == MAX_SOURCES) {
        fprintf(stderr, "softflowd-feed: '%s': expected ADDR=CAPTURE (at most %d)\n", word,
                MAX_SOURCES);
        return -1;
    }
    struct source *s = &fd->src[fd->n++];
    s->addr = xstrndup(word, (size_t)(eq - word));
    s->path = eq + 1;
    if (pcap_read_all(s->path, &s->cap, fd->err, sizeof(fd->err)) == 0 && s->cap.linktype == 1)
        return 0;
    if (!fd->err[0] || s->cap.pkts)
        snprintf(fd->err, sizeof(fd->err), "%s: not an Ethernet capture", s->path);
    fprintf(stderr, "softflowd-feed: %s\n", fd->err);
    return -1;
}

struct opts {
    int64_t port, version;
    const char *softflowd, *log;
};

/* One option's value into o. 0, or -1 when it is not a valid one. */
static int set_option(struct opts *o, int id, const char *v)
{
    switch (id) {
    case OPT_PORT:
        return args_count(v, &o->port) && o->port >= 1 && o->port <= 65535 ? 0 : -1;
    case OPT_VERSION:
        return args_count(v, &o->version) &&
                       (o->version == 5 || o->version == 9 || o->version == 10)
                   ? 0
                   : -1;
    case OPT_SOFTFLOWD:
        o->softflowd = v;
        return 0;
    default:
        o->log = v;
        return 0;
    }
}

/* 0: go on, 1: done (help), 2: wrong usage. */
static int parse(struct feed *fd, struct opts *o, int argc, char **argv)
{
    struct args a;
    args_init(&a, "softflowd-feed", options, argc, argv);
    a.max_words = -1;
    int id;
    while ((id = args_next(&a)) != ARGS_END) {
        if (id == ARGS_ERROR)
            return 2;
        if (id == OPT_HELP) {
            usage(stdout);
            return 1;
        }
        if (id == ARGS_WORD) {
            if (add_source(fd, a.value))
                return 2;
        } else if (set_option(o, id, a.value)) {
            args_usage_error(&a, "bad value '%s'", a.value);
            return 2;
        }
    }
    if (o->port && fd->n)
        return 0;
    args_usage_error(&a, "--port and at least one ADDR=CAPTURE are required");
    return 2;
}

static int run(struct feed *fd, const struct opts *o)
{
    size_t started = 0;
    int rc = 0;
    for (; started < fd->n && rc == 0; started++)
        rc = exporter_start(&fd->src[started].ex, o->softflowd, (int)o->version,
                            fd->src[started].addr, (uint16_t)o->port, o->log, fd->err,
                            sizeof(fd->err));
    if (rc == 0)
        rc = play(fd);
    for (size_t i = 0; i < started; i++) {
        struct source *s = &fd->src[i];
        uint64_t drops = exporter_drops(&s->ex);
        exporter_stop(&s->ex);
        if (rc == 0 && drops) {
            snprintf(fd->err, sizeof(fd->err), "softflowd dropped %llu packets of %s",
                     (unsigned long long)drops, s->path);
            rc = -1;
        }
        printf("%s: %zu packets through softflowd, %llu export datagrams sent from %s\n", s->path,
               s->next, (unsigned long long)s->ex.datagrams, s->addr);
    }
    if (rc)
        fprintf(stderr, "softflowd-feed: %s\n", fd->err);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct feed fd;
    struct opts o = {.version = 9, .softflowd = "softflowd"};
    int rc = parse(&fd, &o, argc, argv);
    if (rc == 0)
        rc = run(&fd, &o);
    else
        rc = rc == 1 ? 0 : 2;
    for (size_t i = 0; i < fd.n; i++) {
        pcap_file_free(&fd.src[i].cap);
        free((char *)fd.src[i].addr);
    }
    return rc;
}
