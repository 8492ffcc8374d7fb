/* journal_pos.c - the receive journal's position that the store has taken, kept in the `meta`
 * table and written in the writer's transaction with the flows it covers (collector/journal.h:
 * the restart reads the journal from there). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "storage/store.h"
#include "storage/store_int.h"

#define META_KEY "receive_journal"

int store_save_journal_pos(struct store *s, struct journal_pos pos, char *err, size_t errlen)
{
    char value[48];
    snprintf(value, sizeof(value), "%" PRIu64 ":%" PRIu64, pos.seg, pos.off);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "saving the journal position");
    sqlite3_bind_text(st, 1, META_KEY, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, err, errlen, "saving the journal position");
}

int store_load_journal_pos(struct store *s, struct journal_pos *pos, char *err, size_t errlen)
{
    *pos = (struct journal_pos){0, 0};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, err, errlen, "reading the journal position");
    sqlite3_bind_text(st, 1, META_KEY, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    const char *v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (v && sscanf(v, "%" SCNu64 ":%" SCNu64, &pos->seg, &pos->off) != 2)
        *pos = (struct journal_pos){0, 0}; /* unreadable: the journal is read whole */
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : store_fail(s, err, errlen, "reading the journal position");
}
