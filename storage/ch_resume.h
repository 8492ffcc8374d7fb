/* ch_resume.h - where the ClickHouse sender resumes the receive journal after a stop, a crash
 * or an outage (doc/clickhouse.md, "Nothing lost").
 *
 * The state (the local SQLite file) commits a datagram's counters, templates and alerts before
 * ClickHouse has its flows: the flows wait in the sender's queue. So the state keeps two places
 * in the journal: its own (store_save_journal_pos: every datagram before it is counted), and
 * the sender's record below (every flow up to `acked` is in ClickHouse), saved in each of the
 * writer's transactions. The record lags ClickHouse by what was acknowledged since the last
 * commit: after a crash, ClickHouse's own newest mark (storage/ch_marks.h) is further. */
#ifndef FLOWHOUND_CH_RESUME_H
#define FLOWHOUND_CH_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/decoder.h"
#include "storage/store.h"

struct ch_resume {
    struct decode_mark acked; /* ClickHouse had every flow up to here when this was saved */
    uint64_t next_seq;        /* the seq of the next flow: seqs only grow, across restarts */
    bool clean;               /* saved at a clean stop: nothing was acknowledged after it */
    bool found;               /* there was a record (else: the state's own position) */
};

/* The record, or found = false (then acked is the state's position: a state that stored its
 * flows in SQLite before has them all). */
int ch_resume_load(struct store *s, struct ch_resume *r, char *err, size_t errlen);
/* Writes the record (in the writer's transaction). */
int ch_resume_save(struct store *s, const struct ch_resume *r, char *err, size_t errlen);

/* The mark after which the flows go to ClickHouse again: the record's, or ClickHouse's newest
 * (ch_found 1: ch_held) when that is further and within what the state has (state_end); a
 * mark beyond the state is not this state's (a new state file, or another collector with the
 * same instance name) and is not trusted. *note says why when it is not the record's ("" if
 * it is). */
struct decode_mark ch_resume_decide(const struct ch_resume *r, struct journal_pos state_end,
                                    int ch_found, struct decode_mark ch_held, char *note,
                                    size_t notelen);

#endif
