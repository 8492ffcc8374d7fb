/* flow_row.c - a stored flow read back as the struct flow the collector stored (store.h). */
#include "config.h"

#include <string.h>

#include "common/addr.h"
#include "storage/store.h"

const char store_flow_read_columns[] =
    "exporter, domain, version, src_addr, dst_addr, src_port, dst_port, proto, tcp_flags, "
    "packets, bytes, first_ms, last_ms, end_reason, initial_flags, union_flags, received_ms, "
    "rev_packets, rev_bytes, rev_tcp_flags, sampling_interval";

/* The address in text column i, if the column holds one. */
static void column_addr(sqlite3_stmt *st, int i, struct fh_addr *a)
{
    const char *text = (const char *)sqlite3_column_text(st, i);
    if (text)
        addr_from_str(text, a);
}

/* Whether column i holds a value; if it does, the field it fills is present. */
static bool column_present(sqlite3_stmt *st, int i, struct flow *f, uint32_t bit)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return false;
    f->present |= bit;
    return true;
}

void store_row_to_flow(sqlite3_stmt *st, struct flow *f)
{
    memset(f, 0, sizeof(*f));
    column_addr(st, 0, &f->exporter);
    f->domain = (uint32_t)sqlite3_column_int64(st, 1);
    f->version = (uint8_t)sqlite3_column_int(st, 2);
    column_addr(st, 3, &f->src_addr);
    column_addr(st, 4, &f->dst_addr);
    f->src_port = (uint16_t)sqlite3_column_int(st, 5);
    f->dst_port = (uint16_t)sqlite3_column_int(st, 6);
    f->proto = (uint8_t)sqlite3_column_int(st, 7);
    if (column_present(st, 8, f, FF_TCP_FLAGS))
        f->tcp_flags = (uint16_t)sqlite3_column_int(st, 8);
    f->packets = (uint64_t)sqlite3_column_int64(st, 9);
    f->bytes = (uint64_t)sqlite3_column_int64(st, 10);
    f->first_ms = sqlite3_column_int64(st, 11);
    f->last_ms = sqlite3_column_int64(st, 12);
    if (column_present(st, 13, f, FF_END_REASON))
        f->end_reason = (uint8_t)sqlite3_column_int(st, 13);
    if (column_present(st, 14, f, FF_INITIAL_FLAGS))
        f->initial_flags = (uint8_t)sqlite3_column_int(st, 14);
    if (column_present(st, 15, f, FF_UNION_FLAGS))
        f->union_flags = (uint8_t)sqlite3_column_int(st, 15);
    f->received_ms = sqlite3_column_int64(st, 16);
    if (column_present(st, 17, f, FF_REVERSE)) {
        f->rev_packets = (uint64_t)sqlite3_column_int64(st, 17);
        f->rev_bytes = (uint64_t)sqlite3_column_int64(st, 18);
    }
    if (column_present(st, 19, f, FF_REV_FLAGS))
        f->rev_tcp_flags = (uint16_t)sqlite3_column_int(st, 19);
    if (column_present(st, 20, f, FF_SAMPLING))
        f->sampling_interval = (uint32_t)sqlite3_column_int64(st, 20);
}
