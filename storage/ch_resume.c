/* ch_resume.c - the ClickHouse sender's place in the receive journal (ch_resume.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "storage/ch_resume.h"

#define META_KEY "clickhouse_journal"

int ch_resume_load(struct store *s, struct ch_resume *r, char *err, size_t errlen)
{
    char v[160];
    int clean = 0;
    *r = (struct ch_resume){0};
    if (store_meta_get(s, META_KEY, v, sizeof(v), err, errlen) ||
        store_load_journal_pos(s, &r->acked.pos, err, errlen))
        return -1;
    struct ch_resume got = {0};
    if (v[0] && sscanf(v, "%" SCNu64 ":%" SCNu64 ":%" SCNu32 ":%" SCNu64 ":%d", &got.acked.pos.seg,
                       &got.acked.pos.off, &got.acked.part, &got.next_seq, &clean) == 5) {
        *r = got;
        r->clean = clean == 1;
        r->found = true;
    }
    return 0;
}

int ch_resume_save(struct store *s, const struct ch_resume *r, char *err, size_t errlen)
{
    char v[160];
    snprintf(v, sizeof(v), "%" PRIu64 ":%" PRIu64 ":%" PRIu32 ":%" PRIu64 ":%d", r->acked.pos.seg,
             r->acked.pos.off, r->acked.part, r->next_seq, r->clean ? 1 : 0);
    return store_meta_set(s, META_KEY, v, err, errlen);
}

struct decode_mark ch_resume_decide(const struct ch_resume *r, struct journal_pos state_end,
                                    int ch_found, struct decode_mark ch_held, char *note,
                                    size_t notelen)
{
    struct decode_mark state = {state_end, 0};
    note[0] = '\0';
    if (ch_found != 1 || decode_mark_cmp(ch_held, r->acked) == 0)
        return r->acked;
    if (decode_mark_cmp(ch_held, state) > 0) {
        snprintf(note, notelen,
                 "ClickHouse holds flows of this instance beyond what this collector's state "
                 "has received (a new state file, or another collector with the same instance "
                 "name?): not trusted, resuming after the state's record");
        return r->acked;
    }
    if (decode_mark_cmp(ch_held, r->acked) < 0) {
        snprintf(note, notelen,
                 "ClickHouse holds fewer flows than it acknowledged (partitions dropped by "
                 "hand?): what it lost is no longer in the receive journal");
        return r->acked;
    }
    snprintf(note, notelen,
             "ClickHouse took flows after the state last saved its record (a crash): resuming "
             "after ClickHouse's newest");
    return ch_held;
}
