/* log.c - stderr, journal or syslog logging with a rate limiter. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

static bool log_to_syslog, log_journal;
/* Read by every thread that logs, changed by a reload: atomic, relaxed (a line logged at the
 * old level while the level changes is no harm). */
static _Atomic int log_max = LOG_LVL_INFO;
static const char *log_ident = "flowhound";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is connected to the
 * journal; the variable is inherited, so it counts only if it names our stderr still (not
 * when a script redirected it to a file). */
static bool stderr_is_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char end;
    struct stat st;
    if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
        return false;
    return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, bool use_syslog, enum log_level max_level)
{
    log_ident = ident;
    log_to_syslog = use_syslog;
    log_journal = !use_syslog && stderr_is_journal();
    log_set_level(max_level);
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level max_level)
{
    atomic_store_explicit(&log_max, (int)max_level, memory_order_relaxed);
}

bool log_level_from_name(const char *name, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level lvl;
    } levels[] = {{"error", LOG_LVL_ERR},
                  {"warning", LOG_LVL_WARN},
                  {"info", LOG_LVL_INFO},
                  {"debug", LOG_LVL_DEBUG}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (!strcmp(name, levels[i].name)) {
            *out = levels[i].lvl;
            return true;
        }
    return false;
}

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_LVL_ERR:
        return "error";
    case LOG_LVL_WARN:
        return "warning";
    case LOG_LVL_NOTICE:
        return "notice";
    case LOG_LVL_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    if ((int)lvl > atomic_load_explicit(&log_max, memory_order_relaxed))
        return;
    if (log_to_syslog) {
        vsyslog((int)lvl, fmt, ap);
        return;
    }
    if (log_journal) {
        pthread_mutex_lock(&log_lock);
        fprintf(stderr, "<%d>", (int)lvl);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        pthread_mutex_unlock(&log_lock);
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
