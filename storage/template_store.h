/* template_store.h - persisting v9/IPFIX templates in the store's `templates` table, so that
 * after a restart the data that arrives before the exporter's next template refresh decodes.
 *
 * What is stored is the raw template record as received; loading feeds it back through
 * tmpl_parse, so a damaged or hostile row is refused exactly like a bad datagram. */
#ifndef FLOWHOUND_TEMPLATE_STORE_H
#define FLOWHOUND_TEMPLATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "collector/exporters.h"
#include "storage/writer.h"

/* Writes the templates of every domain whose table changed since the last save (rows of a
 * domain are replaced as a whole, so withdrawals are persisted too). Returns rows written or
 * -1 with a message in err. */
int template_store_save(sqlite3 *db, struct exporter_table *t, char *err, size_t errlen);

/* Restores saved templates into the exporter table (call before receiving). Returns the
 * number of templates restored or -1 with a message in err. */
int template_store_load(sqlite3 *db, struct exporter_table *t, char *err, size_t errlen);

/* Saves changed templates in the writer's transactions, about once a second and at shutdown
 * (a consumer of w); after a rolled-back transaction, every domain's templates again.
 * NULL with a message when the writer has no room for another consumer. Free it after the
 * writer has stopped. */
struct template_saver;
struct template_saver *template_saver_new(struct writer *w, struct exporter_table *t, char *err,
                                          size_t errlen);
void template_saver_free(struct template_saver *ts);

#endif
