/* ch_marks.h - where each block of flows a collector inserts ends in its receive journal, kept
 * in ClickHouse beside the flows (table journal_marks, storage/ch_schema.sql).
 *
 * The sender writes a block's mark (its instance, receive day, last seq, and the journal place
 * after its last flow: collector/decoder.h) before the block itself. An INSERT of one block is
 * stored whole or not at all and the blocks go in order, so the flows ClickHouse holds of one
 * collector are every flow up to the mark of the newest block it holds: a restart resumes the
 * journal right after that mark (doc/clickhouse.md, "Nothing lost"). A mark whose block never
 * arrived says nothing: a block is held when its rows are, found by its last seq. */
#ifndef FLOWHOUND_CH_MARKS_H
#define FLOWHOUND_CH_MARKS_H

#include <stddef.h>
#include <stdint.h>

#include "collector/decoder.h"
#include "storage/ch_http.h"

/* Writes one block's mark. 0, or CH_E* with a message. */
int ch_marks_put(struct ch_client *c, const char *instance, uint32_t day, uint64_t last_seq,
                 const struct decode_mark *m, char *err, size_t errlen);
/* The mark of the newest block of `instance` that the flows table holds: 1 with *m, 0 when it
 * holds none with a mark, or CH_E* with a message. `instance` is a plain name
 * (store_instance_ok): it is written into the SQL. */
int ch_marks_held(struct ch_client *c, const char *instance, struct decode_mark *m, char *err,
                  size_t errlen);

#endif
