/* query_time.c - `flowhound query -t` (see query_time.h). Each end of a range is Unix ms,
 * RFC 3339, nfdump's yyyy/MM/dd.hh:mm:ss, "now", or -DURATION before now ("-1h", "-30m",
 * "-90" seconds: common/timeutil.c's durations). nfdump's own -N counts back from the end of
 * the data read, not from now; a store that is being written has its end at now. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/query_time.h"
#include "common/timeutil.h"

/* "now", or "-DURATION": before now. */
static bool parse_relative(const char *s, int64_t now, int64_t *out)
{
    int64_t ms;
    if (!strcmp(s, "now")) {
        *out = now;
        return true;
    }
    if (s[0] != '-' || !parse_duration_ms(s + 1, &ms) || ms > now)
        return false;
    *out = now - ms;
    return true;
}

/* Unix ms, RFC 3339, or nfdump's yyyy/MM/dd.hh:mm[:ss]. */
static bool parse_when(const char *s, int64_t now, int64_t *out)
{
    char buf[64];
    if (parse_relative(s, now, out))
        return true;
    if (strlen(s) >= sizeof(buf))
        return false;
    strcpy(buf, s);
    if (strlen(buf) >= 10 && buf[4] == '/' && buf[7] == '/') {
        buf[4] = buf[7] = '-';
        if (buf[10] == '.')
            buf[10] = 'T';
    }
    return parse_time_ms(buf, out);
}

/* FROM, or FROM-TO: dates and relative times hold dashes too, so try each dash as the
 * separator. */
bool query_parse_range(const char *s, int64_t now, int64_t *from, int64_t *to)
{
    *to = INT64_MAX;
    if (parse_when(s, now, from))
        return true;
    for (const char *d = strchr(s, '-'); d; d = strchr(d + 1, '-')) {
        char left[64];
        size_t n = (size_t)(d - s);
        if (n == 0 || n >= sizeof(left))
            continue;
        memcpy(left, s, n);
        left[n] = '\0';
        if (parse_when(left, now, from) && parse_when(d + 1, now, to))
            return true;
    }
    return false;
}
