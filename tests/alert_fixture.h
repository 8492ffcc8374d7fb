/* alert_fixture.h - hand-made alerts for the delivery tests: an alert like the story's, and
 * what the analyzer does with one (the `alerts` row and an `alert_events` row in one
 * transaction). */
#ifndef FLOWHOUND_TEST_ALERT_FIXTURE_H
#define FLOWHOUND_TEST_ALERT_FIXTURE_H

#include <stdint.h>

#include "alerts/alert.h"

/* The story's alert: 10.1.1.50:722 -> 10.2.2.10:515, held by the middlebox, with evidence. */
void fx_story_alert(struct alert *a);
/* Creates an empty store at db (schema applied). */
void fx_create_store(const char *db);
/* Inserts the alert (a->id = 0: new row, a->id set) and one event; returns the event id. */
int64_t fx_commit_event(const char *db, struct alert *a, enum alert_event ev, int64_t created_ms);

#endif
