/* ch_schema.h - the ClickHouse schema (storage/ch_schema.sql): created and migrated by the
 * collector at start, checked by readers; the names of the tables each side uses. */
#ifndef FLOWHOUND_CH_SCHEMA_H
#define FLOWHOUND_CH_SCHEMA_H

#include <stddef.h>

#include "storage/ch_http.h"

#define CH_SCHEMA_VERSION 2

/* Creates the database and tables, or migrates them to CH_SCHEMA_VERSION; refuses a schema
 * newer than this build's. 0, or CH_E* with a message. */
int ch_schema_ensure(struct ch_client *c, char *err, size_t errlen);
/* The schema version of the server's database (0: none yet), or CH_E*. */
int ch_schema_version(struct ch_client *c, char *err, size_t errlen);

/* Where this collector writes: flows and flow_spans, or flows_local and flow_spans_local
 * when the URL names a cluster. Readers always read flows and flow_spans. */
const char *ch_flows_table(const struct store_url *u);
const char *ch_spans_table(const struct store_url *u);

/* The embedded schema text (storage/ch_schema.sql). */
extern const char flowhound_ch_schema_sql[];

#endif
