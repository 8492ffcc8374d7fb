/* sequence.c - wrap-safe sequence-gap accounting. */
#include "config.h"

#include "collector/sequence.h"

enum seq_event seq_update(struct seq_state *s, uint32_t seq, uint32_t units)
{
    if (!s->started) {
        s->started = true;
        s->expected = seq + units;
        return SEQ_FIRST;
    }
    /* Unsigned subtraction is the wrap-safe distance from what we expected. */
    uint32_t ahead = seq - s->expected;
    if (ahead == 0) {
        s->expected = seq + units;
        return SEQ_OK;
    }
    if (ahead < SEQ_RESET_THRESHOLD) {
        s->lost += ahead;
        s->expected = seq + units;
        return SEQ_GAP;
    }
    uint32_t behind = s->expected - seq;
    if (behind <= SEQ_RESET_THRESHOLD / 256 && behind > 0) {
        /* Late or duplicated packet: keep our expectation; it is not new loss. If it fills an
         * earlier gap, that gap was counted as lost; reordering is rare enough on one path that
         * we do not try to un-count it, but we do count the event. */
        s->duplicates++;
        return SEQ_DUPLICATE;
    }
    s->resets++;
    s->expected = seq + units;
    return SEQ_RESET;
}
