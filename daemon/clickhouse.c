/* clickhouse.c - the ClickHouse store in flowhoundd: the sender as the writer's sink, and the
 * receive journal resumed where ClickHouse stands, not where the state does
 * (doc/clickhouse.md, "Nothing lost"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "daemon/runtime.h"
#include "storage/ch_resume.h"
#include "storage/store_url.h"
#include "storage/template_store.h"

/* The writer's sink becomes the sender's queue (storage/ch_sink.h). The sender thread starts
 * here, with the signals blocked like the others. */
int runtime_start_clickhouse(struct runtime *rt)
{
    char err[512], warning[600], shown[800];
    const struct fh_config *cfg = &rt->cfg;
    struct store_url u;
    if (store_url_parse(cfg->store, &u, err, sizeof(err)) || u.kind != STORE_CLICKHOUSE)
        return 0; /* SQLite: the writer's own sink (runtime_resolve_store checked the URL) */
    if (ch_resume_load(rt->store, &rt->ch_saved, err, sizeof(err))) {
        log_err("the state's ClickHouse record: %s", err);
        return -1;
    }
    struct ch_sink_options o = {
        .url = u, .instance = cfg->instance, .buffer_bytes = cfg->clickhouse_buffer};
    store_url_display(&u, shown, sizeof(shown));
    rt->ch = ch_sink_start(&o, &rt->exporters, warning, sizeof(warning), err, sizeof(err));
    if (!rt->ch) {
        log_err("cannot use ClickHouse %s: %s", shown, err);
        return -1;
    }
    if (warning[0])
        log_warn("ClickHouse %s: %s", shown, warning);
    struct flow_sink fs = ch_sink_flow_sink(rt->ch);
    writer_set_sink(rt->writer, &fs);
    log_info("storing flows in ClickHouse %s as instance %s; this collector's state in %s", shown,
             cfg->instance, cfg->db);
    return 0;
}

struct journal_pos runtime_journal_from(const struct runtime *rt, struct journal_pos state)
{
    /* ClickHouse lags the state: its flows are read again from where it stands */
    return rt->ch ? rt->ch_saved.acked.pos : state;
}

/* A table of its own for the datagrams decoded again (decoder.h): set up as the daemon's,
 * with the templates the state has, so that the state's counters count nothing twice. Its
 * allow-list is a copy: a reload frees the daemon's. */
static void replay_table(struct runtime *rt)
{
    char err[512];
    size_t n = rt->cfg.n_allow_exporter;
    rt->replay_allow = xcalloc(n ? n : 1, sizeof(*rt->replay_allow));
    if (n)
        memcpy(rt->replay_allow, rt->allow, n * sizeof(*rt->allow));
    runtime_init_exporters(rt, &rt->replay_exporters, rt->replay_allow);
    rt->replay_table = true;
    if (template_store_load(store_sqlite(rt->store), &rt->replay_exporters, err, sizeof(err)) < 0)
        log_warn("v9/IPFIX templates for the replay not restored: %s", err);
}

void runtime_clickhouse_journal(struct runtime *rt, struct journal_pos state)
{
    if (!rt->ch)
        return;
    /* a journal that lost segments (deleted by hand) numbers its new ones after what is left:
     * the state's place is then bounded by what the journal held at open */
    struct journal_pos end = journal_append_start(rt->journal);
    if (journal_pos_cmp(state, end) > 0)
        state = end;
    ch_sink_set_journal(rt->ch, rt->journal, state, &rt->ch_saved);
    struct journal_pos from = journal_read_pos(rt->journal);
    if (journal_pos_cmp(from, state) >= 0)
        return; /* ClickHouse had everything the state had */
    replay_table(rt);
    struct decoder_replay r = {.state_end = state,
                               .table = &rt->replay_exporters,
                               .held_mark = ch_sink_held,
                               .ctx = rt->ch};
    decoder_set_replay(&rt->decoder, &r);
    log_info("receive journal %s: the datagrams from %llu:%llu to %llu:%llu are in the state but "
             "not all in ClickHouse: decoded again for ClickHouse only, after what it holds",
             rt->journal_dir, (unsigned long long)from.seg, (unsigned long long)from.off,
             (unsigned long long)state.seg, (unsigned long long)state.off);
}

void runtime_clickhouse_free(struct runtime *rt)
{
    ch_sink_free(rt->ch); /* after the writer: its finish stopped the sender */
    rt->ch = NULL;
    if (rt->replay_table)
        exporters_free(&rt->replay_exporters);
    rt->replay_table = false;
    free(rt->replay_allow);
    rt->replay_allow = NULL;
}
