/* timeutil.h - wall-clock milliseconds and time parsing shared by the daemon, CLI and web. */
#ifndef FLOWHOUND_TIMEUTIL_H
#define FLOWHOUND_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

int64_t now_ms(void);
/* Monotonic clock in ms, for timers that must not jump with the wall clock. */
int64_t mono_ms(void);
/* Parses Unix ms ("1700000000000") or RFC 3339 ("2026-11-23T17:31:05.598Z", "+01:00" offsets,
 * a date alone "2026-11-23"). Returns false on anything else. */
bool parse_time_ms(const char *s, int64_t *out);
/* Formats Unix ms as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
const char *format_time_ms(int64_t ms, char *buf, unsigned len);
/* Parses a duration such as "90", "30s", "15m", "24h", "7d" into ms. */
bool parse_duration_ms(const char *s, int64_t *out);

#endif
