/* ch_rowbinary.h - flows in ClickHouse's RowBinary format: what the sender inserts and what
 * the query layer reads back, in one place so the two stay one format.
 *
 * RowBinary: integers little-endian at their width, String as a LEB128 length and the bytes,
 * Nullable(T) as one byte (1 = NULL) followed by T when it is not NULL. The values are those
 * the SQLite store keeps (storage/store.c bind_flow): addresses as inet_ntop text, a NULL
 * for a field the exporter did not send, counters clamped to INT64_MAX, so the two backends
 * answer every query with the same rows. */
#ifndef FLOWHOUND_CH_ROWBINARY_H
#define FLOWHOUND_CH_ROWBINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"

/* A growing output buffer. */
struct rb_out {
    uint8_t *p;
    size_t len, cap;
};
void rb_free(struct rb_out *b);
void rb_u8(struct rb_out *b, uint8_t v);
void rb_u16(struct rb_out *b, uint16_t v);
void rb_u32(struct rb_out *b, uint32_t v);
void rb_u64(struct rb_out *b, uint64_t v);
void rb_str(struct rb_out *b, const char *s, size_t n);

/* A reader over one answer; `short_` is set (and zeros returned) when a value runs past the
 * end: the row is not complete yet. */
struct rb_in {
    const uint8_t *p, *end;
    bool short_;
};
uint8_t rb_get_u8(struct rb_in *r);
uint16_t rb_get_u16(struct rb_in *r);
uint32_t rb_get_u32(struct rb_in *r);
uint64_t rb_get_u64(struct rb_in *r);
int64_t rb_get_i64(struct rb_in *r);
/* A String into buf (NUL-terminated, cut to len - 1 bytes); false when it is longer. */
bool rb_get_str(struct rb_in *r, char *buf, size_t len);
/* A Nullable's flag: true when the value is NULL (nothing follows). */
bool rb_get_null(struct rb_in *r);

/* Answers of one integer column (rows of `width` bytes, 4 or 8), collected into an array:
 * ch_select's row function is rb_int_row with a struct rb_ints as its context. */
struct rb_ints {
    int width;
    int64_t *v;
    size_t n, cap;
};
long rb_int_row(void *ctx, const uint8_t *p, size_t n);

/* The columns a flow is inserted with, in the order ch_put_flow writes them: the hidden ones
 * (instance, seq, rhour, src_key, dst_key), then the `flows` view's (store_flow_columns). */
extern const char ch_flow_insert_columns[];
/* Appends one flow row: instance (this collector's name), seq (its receive order). */
void ch_put_flow(struct rb_out *b, const struct flow *f, const char *instance, uint64_t seq);
/* The receive hour of a flow, as the rhour column and the partitions know it. */
uint32_t ch_rhour(int64_t received_ms);

/* Reads one row of store_flow_columns (the view's columns, as selected) into f: the struct
 * flow the collector stored, as store_row_to_flow() gives it from SQLite (every field the
 * store keeps). Returns the bytes used, 0 when the row is not complete, CH_ROW_BAD when the
 * row is malformed (an address that is not one). */
long ch_get_flow(const uint8_t *p, size_t n, struct flow *f);

#endif
