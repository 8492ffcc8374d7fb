/* query_time.h - the time range of `flowhound query -t`: absolute times in the forms of
 * doc/cli.md, and times relative to now (-1h, -30m, now). */
#ifndef FLOWHOUND_CLI_QUERY_TIME_H
#define FLOWHOUND_CLI_QUERY_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* FROM or FROM-TO into Unix ms; TO is INT64_MAX when left open. now: the current time
 * (relative times count back from it). */
bool query_parse_range(const char *s, int64_t now, int64_t *from, int64_t *to);

#endif
