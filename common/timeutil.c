/* timeutil.c - clocks and time parsing. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool parse_rfc3339(const char *s, int64_t *out)
{
    int Y, M, D, h = 0, mi = 0, sec = 0, ms = 0;
    const char *p = s;
    if (!parse_digits(&p, 4, &Y) || *p++ != '-' || !parse_digits(&p, 2, &M) || *p++ != '-' ||
        !parse_digits(&p, 2, &D))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31)
        return false;
    int64_t offset_min = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_digits(&p, 2, &h) || *p++ != ':' || !parse_digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!parse_digits(&p, 2, &sec))
                return false;
            if (*p == '.') {
                p++;
                int scale = 100;
                if (!isdigit((unsigned char)*p))
                    return false;
                while (isdigit((unsigned char)*p)) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return false;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!parse_digits(&p, 2, &oh) || *p++ != ':' || !parse_digits(&p, 2, &om))
                return false;
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0')
        return false;
    int64_t days = days_from_civil(Y, M, D);
    *out = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + ms;
    return true;
}

bool parse_time_ms(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    bool all_digits = true;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            all_digits = false;
    if (all_digits && strlen(s) > 8) {
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (errno || *end)
            return false;
        *out = v;
        return true;
    }
    return parse_rfc3339(s, out);
}

const char *format_time_ms(int64_t ms, char *buf, unsigned len)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    char base[24];
    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", base, frac);
    return buf;
}

bool parse_duration_ms(const char *s, int64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || v < 0)
        return false;
    double mult = 1000;
    if (*end) {
        switch (*end) {
        case 's':
            mult = 1000;
            break;
        case 'm':
            mult = 60 * 1000.0;
            break;
        case 'h':
            mult = 3600 * 1000.0;
            break;
        case 'd':
            mult = 86400 * 1000.0;
            break;
        case 'w':
            mult = 7 * 86400 * 1000.0;
            break;
        default:
            return false;
        }
        if (end[1] != '\0')
            return false;
    }
    if (v * mult > 9.2e18)
        return false;
    *out = (int64_t)(v * mult);
    return true;
}
