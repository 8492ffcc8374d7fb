/* log.h - the daemon's log: stderr (foreground) or syslog(3) (--daemon), with levels and a
 * rate limiter for anything a remote peer can trigger. Library code under collector/ and
 * storage/ returns errors to its caller instead of logging, except through log_ratelimited
 * for per-packet rejects that a caller could not usefully aggregate.
 *
 * On stderr each line is "TIME IDENT[LEVEL]: message", unless stderr is the systemd journal
 * (JOURNAL_STREAM names it, as systemd.exec(5) documents): then "<N>message", N the syslog
 * priority, which journald turns into the entry's PRIORITY and strips; it adds the time. */
#ifndef FLOWHOUND_LOG_H
#define FLOWHOUND_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
    LOG_LVL_ERR = 3,
    LOG_LVL_WARN = 4,
    LOG_LVL_NOTICE = 5,
    LOG_LVL_INFO = 6,
    LOG_LVL_DEBUG = 7
};

void log_init(const char *ident, bool use_syslog, enum log_level max_level);
/* The most verbose level written from now on (a reload changes it; any thread may log). */
void log_set_level(enum log_level max_level);
/* "error", "warning", "info" or "debug" (the log-level setting); false for anything else. */
bool log_level_from_name(const char *name, enum log_level *out);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A token bucket: at most `burst` messages, refilled at `per_sec` a second. Messages over the
 * limit are counted and their number reported with the next one that passes. Not locked: a
 * limit belongs to one thread, or its users hold a lock around log_ratelimited. */
struct log_limit {
    double tokens;
    int64_t last_ms;
    uint64_t suppressed;
    double per_sec, burst;
};
#define LOG_LIMIT_INIT(per_sec, burst) {(burst), 0, 0, (per_sec), (burst)}

void log_ratelimited(struct log_limit *lim, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
