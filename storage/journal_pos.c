/* journal_pos.c - the receive journal's position that the store has taken, kept in the `meta`
 * table and written in the writer's transaction with the flows it covers (collector/journal.h:
 * the restart reads the journal from there). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "storage/store.h"

#define META_KEY "receive_journal"

int store_save_journal_pos(struct store *s, struct journal_pos pos, char *err, size_t errlen)
{
    char value[48];
    snprintf(value, sizeof(value), "%" PRIu64 ":%" PRIu64, pos.seg, pos.off);
    return store_meta_set(s, META_KEY, value, err, errlen);
}

int store_load_journal_pos(struct store *s, struct journal_pos *pos, char *err, size_t errlen)
{
    char value[64];
    *pos = (struct journal_pos){0, 0};
    if (store_meta_get(s, META_KEY, value, sizeof(value), err, errlen))
        return -1;
    if (value[0] && sscanf(value, "%" SCNu64 ":%" SCNu64, &pos->seg, &pos->off) != 2)
        *pos = (struct journal_pos){0, 0}; /* unreadable: the journal is read whole */
    return 0;
}
