/* flow_row.c - a stored flow read back as the struct flow the collector stored (store.h). */
#include "config.h"

#include <string.h>

#include "common/addr.h"
#include "storage/store.h"

const char store_flow_read_columns[] =
    "exporter, domain, version, src_addr, dst_addr, src_port, dst_port, proto, tcp_flags, "
    "packets, bytes, first_ms, last_ms, end_reason, initial_flags, union_flags, received_ms, "
    "rev_packets, rev_bytes, rev_tcp_flags, sampling_interval";

void store_row_to_flow(sqlite3_stmt *st, struct flow *f)
{
    memset(f, 0, sizeof(*f));
    const char *text;
    if ((text = (const char *)sqlite3_column_text(st, 0)))
        addr_from_str(text, &f->exporter);
    f->domain = (uint32_t)sqlite3_column_int64(st, 1);
    f->version = (uint8_t)sqlite3_column_int(st, 2);
    if ((text = (const char *)sqlite3_column_text(st, 3)))
        addr_from_str(text, &f->src_addr);
    if ((text = (const char *)sqlite3_column_text(st, 4)))
        addr_from_str(text, &f->dst_addr);
    f->src_port = (uint16_t)sqlite3_column_int(st, 5);
    f->dst_port = (uint16_t)sqlite3_column_int(st, 6);
    f->proto = (uint8_t)sqlite3_column_int(st, 7);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
        f->tcp_flags = (uint16_t)sqlite3_column_int(st, 8);
        f->present |= FF_TCP_FLAGS;
    }
    f->packets = (uint64_t)sqlite3_column_int64(st, 9);
    f->bytes = (uint64_t)sqlite3_column_int64(st, 10);
    f->first_ms = sqlite3_column_int64(st, 11);
    f->last_ms = sqlite3_column_int64(st, 12);
    if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
        f->end_reason = (uint8_t)sqlite3_column_int(st, 13);
        f->present |= FF_END_REASON;
    }
    if (sqlite3_column_type(st, 14) != SQLITE_NULL) {
        f->initial_flags = (uint8_t)sqlite3_column_int(st, 14);
        f->present |= FF_INITIAL_FLAGS;
    }
    if (sqlite3_column_type(st, 15) != SQLITE_NULL) {
        f->union_flags = (uint8_t)sqlite3_column_int(st, 15);
        f->present |= FF_UNION_FLAGS;
    }
    f->received_ms = sqlite3_column_int64(st, 16);
    if (sqlite3_column_type(st, 17) != SQLITE_NULL) {
        f->rev_packets = (uint64_t)sqlite3_column_int64(st, 17);
        f->rev_bytes = (uint64_t)sqlite3_column_int64(st, 18);
        f->present |= FF_REVERSE;
    }
    if (sqlite3_column_type(st, 19) != SQLITE_NULL) {
        f->rev_tcp_flags = (uint16_t)sqlite3_column_int(st, 19);
        f->present |= FF_REV_FLAGS;
    }
    if (sqlite3_column_type(st, 20) != SQLITE_NULL) {
        f->sampling_interval = (uint32_t)sqlite3_column_int64(st, 20);
        f->present |= FF_SAMPLING;
    }
}
