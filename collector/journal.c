/* journal.c - the receive journal (see journal.h for the format and the guarantees). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "collector/journal.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define SEG_MAGIC   "FHJOURN1"
#define SEG_HDR     32
#define REC_HDR     40
#define WRITE_BUF   (1u << 20)
#define READ_BUF    (4u << 20)
#define DEF_SEGMENT (64ull << 20)
#define DEF_MAX     (8ull << 30)
/* The reader's fdatasync at most this often (see readable_end). */
#define SYNC_EVERY_MS 20
#define DEF_MINFREE   (512ull << 20)

/* One segment file. size: bytes written to it (the reader never reads past it); final: the
 * appender has moved on, so size will not grow. */
struct seg {
    uint64_t seq, size;
    bool final;
};

struct journal {
    struct journal_opts o;
    char *dir;
    pthread_mutex_t lock;
    pthread_cond_t more;
    /* segments on disk, oldest first (lock) */
    struct seg *segs;
    size_t n_segs, cap_segs;
    struct journal_stats st; /* lock */
    char last_error[256];    /* lock */
    /* published for the other thread (lock): the appender's segment, the reader's position */
    uint64_t pub_wseq;
    struct journal_pos pub_read;
    bool pub_read_open;  /* the reader holds pub_read.seg open: it reads it to its end */
    uint64_t first_wseq; /* the first segment this process appends to (set at open only) */
    /* the appender's */
    int wfd;
    uint64_t wseq;
    uint8_t *wbuf;
    size_t wlen;
    uint64_t wrecs; /* records in wbuf */
    uint64_t wsize; /* bytes of the current segment written (not counting wbuf) */
    /* the reader's */
    int rfd;
    uint64_t rseq;
    uint64_t rfile;       /* file offset of rbuf[0] */
    uint64_t rsynced;     /* bytes of the segment known to be on disk */
    int64_t last_sync_ms; /* mono_ms() of the last fdatasync */
    uint8_t *rbuf;
    size_t rstart, rend; /* unread bytes: rbuf[rstart .. rend) */
};

/* ---- little helpers ---- */

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void seg_path(const struct journal *j, uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%016" PRIx64 ".fhj", j->dir, seq);
}

/* The CRC of a record: its length, the rest of its header after the CRC, its payload. */
static uint32_t rec_crc(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
    uLong c = crc32(0L, hdr, 4);
    c = crc32(c, hdr + 8, REC_HDR - 8);
    return (uint32_t)crc32(c, payload, len);
}

static void encode_rec(uint8_t *h, const struct journal_rec *r, const uint8_t *data)
{
    memset(h, 0, REC_HDR);
    put32(h, r->len);
    put64(h + 8, (uint64_t)r->received_ms);
    h[16] = r->from.family;
    h[17] = r->truncated ? 1 : 0;
    memcpy(h + 18, &r->port, 2);
    memcpy(h + 24, r->from.bytes, 16);
    put32(h + 4, rec_crc(h, data, r->len));
}

static void decode_rec(const uint8_t *h, struct journal_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->len = get32(h);
    r->received_ms = (int64_t)get64(h + 8);
    r->from.family = h[16];
    r->truncated = h[17] & 1;
    memcpy(&r->port, h + 18, 2);
    memcpy(r->from.bytes, h + 24, 16);
}

/* ---- the segment list (lock held) ---- */

static struct seg *seg_find(struct journal *j, uint64_t seq)
{
    for (size_t i = 0; i < j->n_segs; i++)
        if (j->segs[i].seq == seq)
            return &j->segs[i];
    return NULL;
}

static void seg_add(struct journal *j, uint64_t seq, uint64_t size, bool final)
{
    if (j->n_segs == j->cap_segs) {
        j->cap_segs = j->cap_segs ? j->cap_segs * 2 : 16;
        j->segs = xreallocarray(j->segs, j->cap_segs, sizeof(*j->segs));
    }
    size_t i = j->n_segs++;
    while (i > 0 && j->segs[i - 1].seq > seq) { /* kept sorted: the scan finds them unsorted */
        j->segs[i] = j->segs[i - 1];
        i--;
    }
    j->segs[i] = (struct seg){seq, size, final};
    j->st.segments++;
    j->st.bytes += size;
}

/* Deletes the oldest segment's file (the reader keeps reading it through its open fd). */
static void seg_drop_oldest(struct journal *j)
{
    char path[4096];
    seg_path(j, j->segs[0].seq, path, sizeof(path));
    unlink(path);
    j->st.segments--;
    j->st.bytes -= j->segs[0].size;
    memmove(j->segs, j->segs + 1, (j->n_segs - 1) * sizeof(*j->segs));
    j->n_segs--;
}

/* ---- opening ---- */

static int scan_dir(struct journal *j, char *err, size_t errlen)
{
    DIR *d = opendir(j->dir);
    if (!d) {
        snprintf(err, errlen, "journal %s: %s", j->dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t seq;
        char tail[8];
        if (strlen(e->d_name) != 20 || sscanf(e->d_name, "%16" SCNx64 "%7s", &seq, tail) != 2 ||
            strcmp(tail, ".fhj"))
            continue;
        char path[4096];
        struct stat sb;
        seg_path(j, seq, path, sizeof(path));
        if (stat(path, &sb) == 0)
            seg_add(j, seq, (uint64_t)sb.st_size, true);
    }
    closedir(d);
    return 0;
}

static void apply_defaults(struct journal_opts *o)
{
    if (!o->segment_bytes)
        o->segment_bytes = DEF_SEGMENT;
    if (!o->max_bytes)
        o->max_bytes = DEF_MAX;
    if (o->max_bytes < 2 * o->segment_bytes)
        o->max_bytes = 2 * o->segment_bytes;
    if (!o->min_free_bytes)
        o->min_free_bytes = DEF_MINFREE;
}

/* Segments the store has taken whole go; the reader starts at `from`, or at the oldest
 * segment left when that one is gone. */
static void place_reader(struct journal *j, struct journal_pos from)
{
    pthread_mutex_lock(&j->lock);
    while (j->n_segs && j->segs[0].seq < from.seg)
        seg_drop_oldest(j);
    if (j->n_segs && j->segs[0].seq == from.seg && from.off >= SEG_HDR) {
        j->rseq = from.seg;
        j->rfile = from.off;
    } else {
        j->rseq = j->n_segs ? j->segs[0].seq : 0;
        j->rfile = SEG_HDR;
    }
    j->wseq = (j->n_segs ? j->segs[j->n_segs - 1].seq : from.seg) + 1;
    if (!j->n_segs)
        j->rseq = j->wseq;
    j->pub_wseq = j->first_wseq = j->wseq;
    j->pub_read = (struct journal_pos){j->rseq, j->rfile};
    pthread_mutex_unlock(&j->lock);
}

struct journal *journal_open(const struct journal_opts *o, struct journal_pos from, char *err,
                             size_t errlen)
{
    if (mkdir(o->dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "journal %s: %s", o->dir, strerror(errno));
        return NULL;
    }
    struct journal *j = xcalloc(1, sizeof(*j));
    j->o = *o;
    apply_defaults(&j->o);
    j->dir = xstrdup(o->dir);
    j->o.dir = j->dir;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->more, NULL);
    j->wfd = j->rfd = -1;
    j->wbuf = xmalloc(WRITE_BUF);
    j->rbuf = xmalloc(READ_BUF);
    if (scan_dir(j, err, errlen)) {
        journal_close(j);
        return NULL;
    }
    place_reader(j, from);
    return j;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    if (j->wfd >= 0)
        journal_flush(j);
    if (j->wfd >= 0)
        close(j->wfd);
    if (j->rfd >= 0)
        close(j->rfd);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->more);
    free(j->segs);
    free(j->wbuf);
    free(j->rbuf);
    free(j->dir);
    free(j);
}

/* ---- the appender ---- */

static void set_error(struct journal *j, const char *what, int e)
{
    snprintf(j->last_error, sizeof(j->last_error), "journal %s: %s: %s", j->dir, what, strerror(e));
}

/* Writes the buffer to the current segment. On failure the segment is cut back to its last
 * whole record (so no torn record sits before later ones) and the buffered records count as
 * lost. */
static void report_unwritten(struct journal *j)
{
    for (size_t off = 0; j->o.on_lost && off + REC_HDR <= j->wlen;) {
        struct journal_rec r;
        decode_rec(j->wbuf + off, &r);
        j->o.on_lost(j->o.ctx, &r);
        off += REC_HDR + r.len;
    }
}

static int write_out(struct journal *j)
{
    size_t done = 0;
    while (done < j->wlen) {
        ssize_t n = write(j->wfd, j->wbuf + done, j->wlen - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            pthread_mutex_lock(&j->lock);
            struct seg *s = seg_find(j, j->wseq);
            if (s && ftruncate(j->wfd, (off_t)s->size) == 0)
                lseek(j->wfd, 0, SEEK_END);
            j->st.lost += j->wrecs;
            j->st.lost_bytes += j->wlen;
            set_error(j, "write", e);
            pthread_mutex_unlock(&j->lock);
            report_unwritten(j);
            j->wlen = 0;
            j->wrecs = 0;
            return -1;
        }
        done += (size_t)n;
    }
    pthread_mutex_lock(&j->lock);
    struct seg *s = seg_find(j, j->wseq);
    s->size += j->wlen;
    j->st.bytes += j->wlen;
    j->st.appended += j->wrecs;
    pthread_cond_broadcast(&j->more);
    pthread_mutex_unlock(&j->lock);
    j->wsize += j->wlen;
    j->wlen = 0;
    j->wrecs = 0;
    return 0;
}

int journal_flush(struct journal *j)
{
    return j->wlen ? write_out(j) : 0;
}

static uint64_t free_bytes(const struct journal *j)
{
    struct statvfs sv;
    if (statvfs(j->dir, &sv) != 0)
        return UINT64_MAX;
    return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* Counts the records of a segment from `off` on that the reader will never read, through
 * on_lost. */
static void count_unread(struct journal *j, uint64_t seq, uint64_t off)
{
    char path[4096];
    seg_path(j, seq, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    uint8_t h[REC_HDR];
    while (pread(fd, h, REC_HDR, (off_t)off) == REC_HDR) {
        struct journal_rec r;
        decode_rec(h, &r);
        if (r.len > JOURNAL_MAX_PAYLOAD)
            break;
        j->st.lost++;
        j->st.lost_bytes += REC_HDR + r.len;
        if (j->o.on_lost)
            j->o.on_lost(j->o.ctx, &r);
        off += REC_HDR + r.len;
    }
    close(fd);
}

/* Before a new segment: delete the oldest ones while it would pass a bound. Segments the
 * reader has not reached are counted as lost; the one it reads it finishes through its fd. */
static void make_room(struct journal *j)
{
    uint64_t freeb = free_bytes(j);
    pthread_mutex_lock(&j->lock);
    while (j->n_segs && (j->st.bytes + j->o.segment_bytes > j->o.max_bytes ||
                         freeb < j->o.min_free_bytes + j->o.segment_bytes)) {
        uint64_t seq = j->segs[0].seq, size = j->segs[0].size;
        if (seq > j->pub_read.seg)
            count_unread(j, seq, SEG_HDR);
        else if (seq == j->pub_read.seg && !j->pub_read_open)
            count_unread(j, seq, j->pub_read.off);
        seg_drop_oldest(j);
        if (freeb != UINT64_MAX)
            freeb += size;
    }
    pthread_mutex_unlock(&j->lock);
}

static int open_segment(struct journal *j)
{
    char path[4096];
    make_room(j);
    seg_path(j, j->wseq, path, sizeof(path));
    j->wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (j->wfd < 0) {
        pthread_mutex_lock(&j->lock);
        set_error(j, "creating a segment", errno);
        pthread_mutex_unlock(&j->lock);
        return -1;
    }
    uint8_t h[SEG_HDR] = SEG_MAGIC;
    put64(h + 8, j->wseq);
    put64(h + 16, (uint64_t)now_ms());
    put32(h + 24, 1);
    pthread_mutex_lock(&j->lock);
    seg_add(j, j->wseq, 0, false);
    pthread_mutex_unlock(&j->lock);
    memcpy(j->wbuf, h, SEG_HDR);
    j->wlen = SEG_HDR;
    j->wsize = 0;
    return 0;
}

/* Closes the current segment for good and starts the next one. */
static int roll(struct journal *j)
{
    int rc = journal_flush(j);
    close(j->wfd);
    j->wfd = -1;
    pthread_mutex_lock(&j->lock);
    struct seg *s = seg_find(j, j->wseq);
    if (s)
        s->final = true;
    j->pub_wseq = ++j->wseq;
    pthread_cond_broadcast(&j->more);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int journal_append(struct journal *j, const struct journal_rec *r, const uint8_t *data)
{
    if (r->len > JOURNAL_MAX_PAYLOAD)
        return -1;
    size_t need = REC_HDR + r->len;
    if (j->wfd >= 0 && j->wsize + j->wlen + need > j->o.segment_bytes &&
        j->wsize + j->wlen > SEG_HDR)
        roll(j);
    if (j->wfd < 0 && open_segment(j)) {
        pthread_mutex_lock(&j->lock);
        j->st.lost++;
        j->st.lost_bytes += need;
        pthread_mutex_unlock(&j->lock);
        if (j->o.on_lost)
            j->o.on_lost(j->o.ctx, r);
        return -1;
    }
    if (j->wlen + need > WRITE_BUF && write_out(j))
        return -1;
    encode_rec(j->wbuf + j->wlen, r, data);
    memcpy(j->wbuf + j->wlen + REC_HDR, data, r->len);
    j->wlen += need;
    j->wrecs++;
    return 0;
}

/* ---- the reader ---- */

/* Moves the reader to the next segment on disk after its current one. */
static void next_segment(struct journal *j)
{
    if (j->rfd >= 0)
        close(j->rfd);
    j->rfd = -1;
    j->rstart = j->rend = 0;
    j->rsynced = 0;
    pthread_mutex_lock(&j->lock);
    uint64_t next = j->pub_wseq; /* the appender's, when it has not created it yet */
    for (size_t i = 0; i < j->n_segs; i++)
        if (j->segs[i].seq > j->rseq) {
            next = j->segs[i].seq;
            break;
        }
    j->rseq = next;
    j->rfile = SEG_HDR;
    j->pub_read = (struct journal_pos){j->rseq, j->rfile};
    j->pub_read_open = false;
    pthread_mutex_unlock(&j->lock);
}

/* Opens the reader's segment and checks its header; false when it is not one of ours. Opened
 * under the lock: from then on a deletion over a bound leaves it to the reader (it reads it
 * to its end through the fd), before it the deletion counts what was not read. */
static bool open_reader(struct journal *j, bool *bad)
{
    *bad = false;
    char path[4096];
    seg_path(j, j->rseq, path, sizeof(path));
    pthread_mutex_lock(&j->lock);
    j->rfd = open(path, O_RDONLY | O_CLOEXEC);
    j->pub_read_open = j->rfd >= 0;
    pthread_mutex_unlock(&j->lock);
    if (j->rfd < 0)
        return false;
    uint8_t h[SEG_HDR];
    if (pread(j->rfd, h, SEG_HDR, 0) != SEG_HDR || memcmp(h, SEG_MAGIC, 8) ||
        get64(h + 8) != j->rseq) {
        *bad = true;
        pthread_mutex_lock(&j->lock);
        close(j->rfd);
        j->rfd = -1;
        j->pub_read_open = false;
        pthread_mutex_unlock(&j->lock);
        return false;
    }
    j->rstart = j->rend = 0;
    return true;
}

/* What the reader may read of its segment: written and, with sync, on disk. *final: the
 * appender has moved on (or the segment is gone: it is read to its end through the fd). */
static uint64_t readable_end(struct journal *j, bool *final)
{
    pthread_mutex_lock(&j->lock);
    struct seg *s = seg_find(j, j->rseq);
    uint64_t end = s ? s->size : UINT64_MAX;
    *final = !s || s->final;
    pthread_mutex_unlock(&j->lock);
    if (end == UINT64_MAX) {
        struct stat sb;
        end = fstat(j->rfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    if (!j->o.no_sync && end > j->rsynced) {
        /* at most one fdatasync per SYNC_EVERY_MS: a trickle of datagrams flushed every few
         * ms would otherwise cost a disk flush each; the decoder waits instead */
        int64_t wait = j->last_sync_ms + SYNC_EVERY_MS - mono_ms();
        if (wait > 0 && !*final)
            poll(NULL, 0, (int)wait);
        fdatasync(j->rfd);
        j->last_sync_ms = mono_ms();
        j->rsynced = end;
        pthread_mutex_lock(&j->lock);
        j->st.syncs++;
        pthread_mutex_unlock(&j->lock);
    }
    return end;
}

/* Reads more of the segment after the unread bytes. Returns bytes added (0: none yet). */
static size_t refill(struct journal *j, uint64_t end)
{
    size_t have = j->rend - j->rstart;
    if (j->rstart) {
        memmove(j->rbuf, j->rbuf + j->rstart, have);
        j->rfile += j->rstart;
        j->rstart = 0;
        j->rend = have;
    }
    uint64_t at = j->rfile + have;
    if (end <= at || have == READ_BUF)
        return 0;
    size_t want = READ_BUF - have;
    if (end - at < want)
        want = (size_t)(end - at);
    ssize_t n = pread(j->rfd, j->rbuf + have, want, (off_t)at);
    if (n <= 0)
        return 0;
    j->rend += (size_t)n;
    return (size_t)n;
}

static void count_torn(struct journal *j)
{
    pthread_mutex_lock(&j->lock);
    j->st.torn++;
    pthread_mutex_unlock(&j->lock);
}

/* The record at the reader's position, if whole: 1, 0 (need more bytes), -1 (torn). */
static int parse(struct journal *j, struct journal_rec *r, const uint8_t **data)
{
    size_t have = j->rend - j->rstart;
    if (have < REC_HDR)
        return 0;
    const uint8_t *h = j->rbuf + j->rstart;
    decode_rec(h, r);
    if (r->len > JOURNAL_MAX_PAYLOAD)
        return -1;
    if (have < REC_HDR + r->len)
        return 0;
    if (rec_crc(h, h + REC_HDR, r->len) != get32(h + 4))
        return -1;
    *data = h + REC_HDR;
    return 1;
}

static int wait_more(struct journal *j, int wait_ms)
{
    if (wait_ms <= 0)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&j->lock);
    struct seg *s = seg_find(j, j->rseq);
    uint64_t at = j->rfile + (j->rend - j->rstart);
    if (!s || (s->size <= at && !s->final))
        pthread_cond_timedwait(&j->more, &j->lock, &ts);
    pthread_mutex_unlock(&j->lock);
    return 0;
}

int journal_next(struct journal *j, struct journal_rec *r, const uint8_t **data,
                 struct journal_pos *after, int wait_ms, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    for (int waited = 0;;) {
        bool bad;
        if (j->rfd < 0 && !open_reader(j, &bad)) {
            pthread_mutex_lock(&j->lock);
            bool live = j->rseq >= j->pub_wseq; /* the appender has not written it yet */
            pthread_mutex_unlock(&j->lock);
            if (live) {
                if (waited++)
                    return 0;
                wait_more(j, wait_ms);
                continue;
            }
            if (bad)
                count_torn(j); /* not a segment of ours: skipped */
            next_segment(j);   /* missing: deleted over a bound, already counted */
            continue;
        }
        int p = parse(j, r, data);
        if (p == 1) {
            j->rstart += REC_HDR + r->len;
            after->seg = j->rseq;
            after->off = j->rfile + j->rstart;
            pthread_mutex_lock(&j->lock);
            j->st.read++;
            j->pub_read = *after;
            pthread_mutex_unlock(&j->lock);
            return 1;
        }
        bool final;
        uint64_t end = readable_end(j, &final);
        if (p == 0 && refill(j, end))
            continue;
        if (p < 0 || final) {
            if (p < 0 || j->rend > j->rstart)
                count_torn(j); /* a torn tail, or a bad record: the rest is skipped */
            next_segment(j);
            continue;
        }
        if (waited++)
            return 0;
        wait_more(j, wait_ms);
    }
}

struct journal_pos journal_append_start(struct journal *j)
{
    return (struct journal_pos){j->first_wseq, 0};
}

struct journal_pos journal_read_pos(struct journal *j)
{
    return (struct journal_pos){j->rseq, j->rfile + j->rstart};
}

bool journal_caught_up(struct journal *j)
{
    pthread_mutex_lock(&j->lock);
    struct seg *s = seg_find(j, j->rseq);
    bool up = j->rseq >= j->pub_wseq && (!s || s->size <= j->rfile + j->rstart);
    pthread_mutex_unlock(&j->lock);
    return up;
}

/* ---- any thread ---- */

void journal_taken(struct journal *j, struct journal_pos pos)
{
    pthread_mutex_lock(&j->lock);
    while (j->n_segs > 1 && j->segs[0].seq < pos.seg && j->segs[0].final)
        seg_drop_oldest(j);
    pthread_mutex_unlock(&j->lock);
}

void journal_get_stats(struct journal *j, struct journal_stats *st)
{
    pthread_mutex_lock(&j->lock);
    *st = j->st;
    uint64_t backlog = 0;
    const struct journal_pos *r = &j->pub_read;
    for (size_t i = 0; i < j->n_segs; i++)
        if (j->segs[i].seq > r->seg)
            backlog += j->segs[i].size;
        else if (j->segs[i].seq == r->seg && j->segs[i].size > r->off)
            backlog += j->segs[i].size - r->off;
    st->backlog_bytes = backlog;
    pthread_mutex_unlock(&j->lock);
}

const char *journal_last_error(struct journal *j)
{
    pthread_mutex_lock(&j->lock);
    const char *e = j->last_error;
    pthread_mutex_unlock(&j->lock);
    return e;
}
