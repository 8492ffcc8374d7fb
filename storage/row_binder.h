/* row_binder.h - binds a row's values to a reused INSERT, skipping values already bound.
 *
 * SQLite keeps bindings across sqlite3_reset, and every bind call costs about as much as a
 * B-tree step of the insert itself (callgrind, 200k rows of the flows row: 22 NULL binds per
 * row were 9% of all instructions). Most of a flow's 39 columns repeat from row to row (the
 * exporter, its domain and version, the protocol, the fields an exporter never sends), so
 * the binder remembers what each parameter holds and binds only what changed. Text is always
 * bound, except through row_bind_text_kept for a buffer that outlives the statement. */
#ifndef FLOWHOUND_ROW_BINDER_H
#define FLOWHOUND_ROW_BINDER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define ROW_BINDER_MAX 64

struct row_binder {
    sqlite3_stmt *st;
    uint64_t is_null, is_int, is_kept; /* bit n-1: what parameter n holds now */
    int64_t ints[ROW_BINDER_MAX];
    const char *kept[ROW_BINDER_MAX];
};

/* A fresh statement: nothing is known to be bound. */
static inline void row_binder_reset(struct row_binder *b, sqlite3_stmt *st)
{
    memset(b, 0, sizeof(*b));
    b->st = st;
}

static inline void row_bind_null(struct row_binder *b, int col)
{
    uint64_t bit = 1ULL << (col - 1);
    if (b->is_null & bit)
        return;
    sqlite3_bind_null(b->st, col);
    b->is_null |= bit;
    b->is_int &= ~bit;
    b->is_kept &= ~bit;
}

static inline void row_bind_int(struct row_binder *b, int col, int64_t v)
{
    uint64_t bit = 1ULL << (col - 1);
    if ((b->is_int & bit) && b->ints[col - 1] == v)
        return;
    sqlite3_bind_int64(b->st, col, v);
    b->ints[col - 1] = v;
    b->is_int |= bit;
    b->is_null &= ~bit;
    b->is_kept &= ~bit;
}

static inline void row_bind_opt(struct row_binder *b, int col, bool present, int64_t v)
{
    if (present)
        row_bind_int(b, col, v);
    else
        row_bind_null(b, col);
}

/* Text valid only until the row is stepped (bound SQLITE_STATIC: the caller keeps it alive
 * until then). */
static inline void row_bind_text(struct row_binder *b, int col, const char *s)
{
    uint64_t bit = 1ULL << (col - 1);
    sqlite3_bind_text(b->st, col, s, -1, SQLITE_STATIC);
    b->is_null &= ~bit;
    b->is_int &= ~bit;
    b->is_kept &= ~bit;
}

/* Text in a buffer that stays valid and unchanged while `s` is the same pointer and the
 * caller says so (changed = false). */
static inline void row_bind_text_kept(struct row_binder *b, int col, const char *s, bool changed)
{
    uint64_t bit = 1ULL << (col - 1);
    if (!changed && (b->is_kept & bit) && b->kept[col - 1] == s)
        return;
    sqlite3_bind_text(b->st, col, s, -1, SQLITE_STATIC);
    b->kept[col - 1] = s;
    b->is_kept |= bit;
    b->is_null &= ~bit;
    b->is_int &= ~bit;
}

#endif
