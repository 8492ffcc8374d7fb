/* log.c - stderr or syslog logging with a rate limiter. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"

static bool log_to_syslog;
static enum log_level log_max = LOG_LVL_INFO;
static const char *log_ident = "flowhound";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *ident, bool use_syslog, enum log_level max_level)
{
    log_ident = ident;
    log_to_syslog = use_syslog;
    log_max = max_level;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_LVL_ERR:
        return "error";
    case LOG_LVL_WARN:
        return "warning";
    case LOG_LVL_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    if (lvl > log_max)
        return;
    if (log_to_syslog) {
        vsyslog((int)lvl, fmt, ap);
        return;
    }
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s %s[%s]: ", stamp, log_ident, level_name(lvl));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}

void log_ratelimited(struct log_limit *lim, enum log_level lvl, const char *fmt, ...)
{
    int64_t now = now_ms();
    if (lim->last_ms) {
        lim->tokens += (double)(now - lim->last_ms) * lim->per_sec / 1000.0;
        if (lim->tokens > lim->burst)
            lim->tokens = lim->burst;
    }
    lim->last_ms = now;
    if (lim->tokens < 1.0) {
        lim->suppressed++;
        return;
    }
    lim->tokens -= 1.0;
    if (lim->suppressed) {
        log_msg(lvl, "(%llu similar messages suppressed)", (unsigned long long)lim->suppressed);
        lim->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}
