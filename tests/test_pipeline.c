/* test_pipeline.c - the journal, the decode stage and the writer together: at every commit,
 * the journal position the store saved covers exactly the flows it holds, so a restart that
 * reads the journal from there stores each flow once. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "collector/decoder.h"
#include "collector/exporters.h"
#include "collector/journal.h"
#include "common/flowqueue.h"
#include "common/timeutil.h"
#include "storage/store.h"
#include "storage/writer.h"
#include "tests/helpers.h"

#define DATAGRAMS 4000

/* A v5 datagram of n records (1..30); record k of all is from 10.x.y.z port k % 65536, so
 * every flow of the test is distinct. */
static size_t v5(uint8_t *buf, unsigned n, uint32_t first)
{
    memset(buf, 0, 24 + 48 * n);
    buf[1] = 5;
    buf[3] = (uint8_t)n;
    buf[4] = 0, buf[5] = 0x10;
    buf[8] = 0x6a;
    buf[16] = (uint8_t)(first >> 24), buf[17] = (uint8_t)(first >> 16);
    buf[18] = (uint8_t)(first >> 8), buf[19] = (uint8_t)first;
    for (unsigned r = 0; r < n; r++) {
        uint8_t *p = buf + 24 + 48 * r;
        uint32_t k = first + r;
        p[0] = 10, p[1] = (uint8_t)(k >> 24), p[2] = (uint8_t)(k >> 16), p[3] = (uint8_t)(k >> 8);
        p[4] = 192, p[5] = 0, p[6] = 2, p[7] = 1;
        p[19] = 1, p[23] = 60;
        p[32] = (uint8_t)(k >> 8), p[33] = (uint8_t)k;
        p[35] = 80, p[38] = 17;
    }
    return 24 + 48 * (size_t)n;
}

static unsigned records_of(uint32_t i)
{
    return 1 + (i * 7) % 30; /* 1..30: batches of 512 end inside datagrams */
}

/* What each commit left in the store: the saved position and the rows. */
struct snapshot {
    struct journal_pos pos;
    int64_t rows;
};

struct watch {
    struct store *s;
    struct snapshot snaps[4096];
    size_t n;
};

static void on_committed(void *ctx)
{
    struct watch *w = ctx;
    char err[256];
    if (w->n == sizeof(w->snaps) / sizeof(w->snaps[0]))
        return;
    struct snapshot *sn = &w->snaps[w->n];
    cr_assert_eq(store_load_journal_pos(w->s, &sn->pos, err, sizeof(err)), 0, "%s", err);
    sqlite3_stmt *st;
    cr_assert_eq(
        sqlite3_prepare_v2(store_sqlite(w->s), "SELECT count(*) FROM flows", -1, &st, NULL),
        SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    sn->rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sn->pos.seg)
        w->n++;
}

/* Each datagram's end position in the journal and the flows up to it, read from the journal
 * itself. */
struct prefix {
    struct journal_pos end[DATAGRAMS];
    int64_t flows[DATAGRAMS];
    size_t n;
};

static void read_prefix(const char *jdir, struct prefix *p)
{
    char err[256];
    struct journal_opts o = {.dir = jdir, .segment_bytes = 16384};
    struct journal *j = journal_open(&o, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert(j, "%s", err);
    struct journal_rec r;
    const uint8_t *data;
    int64_t flows = 0;
    p->n = 0;
    while (p->n < DATAGRAMS &&
           journal_next(j, &r, &data, &p->end[p->n], 0, err, sizeof(err)) == 1) {
        flows += data[3];
        p->flows[p->n++] = flows;
    }
    journal_close(j);
}

/* Flows in the datagrams up to pos (which must be a datagram's end). */
static int64_t flows_before(const struct prefix *p, struct journal_pos pos)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->end[i].seg == pos.seg && p->end[i].off == pos.off)
            return p->flows[i];
    cr_assert_fail("position %llu:%llu is no datagram's end", (unsigned long long)pos.seg,
                   (unsigned long long)pos.off);
    return -1;
}

Test(pipeline, every_commit_saves_the_position_of_exactly_what_it_holds, .timeout = 120)
{
    char *dir = th_tmpdir(), db[600], jdir[600], err[256];
    snprintf(db, sizeof(db), "%s/p.db", dir);
    snprintf(jdir, sizeof(jdir), "%s/p.db.received", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct journal_opts jo = {.dir = jdir, .segment_bytes = 16384};
    struct journal *j = journal_open(&jo, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert(j, "%s", err);
    int64_t total = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < DATAGRAMS; i++) {
        uint8_t buf[24 + 48 * 30];
        unsigned n = records_of(i);
        struct journal_rec r = {.port = 2055, .received_ms = now_ms()};
        addr_from_str("192.0.2.7", &r.from);
        r.len = (uint32_t)v5(buf, n, k);
        cr_assert_eq(journal_append(j, &r, buf), 0);
        k += n;
        total += n;
    }
    cr_assert_eq(journal_flush(j), 0);
    static struct prefix prefix; /* before the writer deletes what it has taken */
    read_prefix(jdir, &prefix);
    cr_assert_eq(prefix.n, DATAGRAMS);

    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 4);
    struct writer *w = writer_new(s, &q, &t, 1); /* commit often: many positions to check */
    writer_set_journal(w, j);
    struct watch watch = {.s = s};
    struct writer_consumer c = {.committed = on_committed, .ctx = &watch};
    cr_assert_eq(writer_add_consumer(w, &c), 0);
    struct decoder d;
    decoder_init(&d, j, &t, &q);
    cr_assert_eq(writer_start(w), 0);
    cr_assert_eq(decoder_start(&d), 0);
    decoder_stop(&d, 60000);
    flowq_close(&q);
    writer_join(w);
    writer_free(w);

    cr_expect(atomic_load(&d.drained), "the decoder read the whole journal");
    cr_assert_gt(watch.n, 5, "several commits: %zu", watch.n);
    for (size_t i = 0; i < watch.n; i++)
        cr_expect_eq(watch.snaps[i].rows, flows_before(&prefix, watch.snaps[i].pos),
                     "commit %zu: the rows are the flows before the saved position", i);
    cr_expect_eq(watch.snaps[watch.n - 1].rows, total, "every flow stored");
    cr_expect_eq(th_db_int(db, "SELECT count(DISTINCT src_addr || ':' || src_port) FROM flows"),
                 total, "none twice");
    journal_close(j);
    store_close(s);
    flowq_destroy(&q);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}
