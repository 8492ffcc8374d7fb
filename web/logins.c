/* logins.c - failed logins slowed per client address (issue 13: 11,949 guesses of the password
 * in 3 s, none slowed).
 *
 * After web-login-failures wrong credentials within web-login-window (counted from the
 * client's first failure), every request of that client that carries credentials is answered
 * 429 with Retry-After until the window ends, without looking at them: a guesser learns the
 * outcome of N guesses a window per address, not thousands a second. The check and the count
 * are one step under the lock, so parallel connections cannot sneak in more. Refusing costs no
 * thread (nothing sleeps), right credentials are never delayed while the client is not locked
 * out, and they clear the client's failures. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "web/http.h"

/* Clients remembered at once; a new one replaces the one whose window started first. */
#define LOGIN_CLIENTS 1024

struct login_client {
    struct fh_addr client;
    int64_t window_start; /* mono_ms() of its first failure in this window */
    int64_t failures;
};

struct web_logins {
    pthread_mutex_t lock; /* guards everything below */
    int64_t max_failures, window_ms;
    struct login_client c[LOGIN_CLIENTS];
    size_t n;
    uint64_t failed, refused, lockouts;
    struct log_limit log;
};

struct web_logins *web_logins_new(int64_t max_failures, int64_t window_ms)
{
    struct web_logins *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->max_failures = max_failures;
    l->window_ms = window_ms;
    l->log = (struct log_limit)LOG_LIMIT_INIT(0.1, 3);
    return l;
}

void web_logins_free(struct web_logins *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* The client's entry with a window still running (ended ones are dropped on the way), or NULL. */
static struct login_client *find(struct web_logins *l, const struct fh_addr *client, int64_t now)
{
    size_t i = 0;
    while (i < l->n) {
        struct login_client *e = &l->c[i];
        if (now - e->window_start >= l->window_ms)
            *e = l->c[--l->n]; /* and look at what moved here */
        else if (addr_equal(&e->client, client))
            return e;
        else
            i++;
    }
    return NULL;
}

static struct login_client *add(struct web_logins *l, const struct fh_addr *client, int64_t now)
{
    struct login_client *e = &l->c[0];
    if (l->n < LOGIN_CLIENTS)
        e = &l->c[l->n++];
    else
        for (size_t i = 1; i < l->n; i++)
            if (l->c[i].window_start < e->window_start)
                e = &l->c[i];
    e->client = *client;
    e->window_start = now;
    e->failures = 0;
    return e;
}

static void count_failure(struct web_logins *l, const struct fh_addr *client, int64_t now)
{
    struct login_client *e = find(l, client, now);
    if (!e)
        e = add(l, client, now);
    e->failures++;
    l->failed++;
    if (e->failures < l->max_failures)
        return;
    l->lockouts++;
    char a[FH_ADDR_STRLEN];
    log_ratelimited(&l->log, LOG_LVL_WARN,
                    "web: %lld failed logins of %s within %lld s: its requests are refused (429) "
                    "for %lld s (%llu failed logins so far)",
                    (long long)e->failures, addr_to_str(client, a, sizeof(a)),
                    (long long)(l->window_ms / 1000),
                    (long long)((e->window_start + l->window_ms - now + 999) / 1000),
                    (unsigned long long)l->failed);
}

enum web_login web_logins_check(struct web_logins *l, const struct fh_addr *client, bool right,
                                int64_t *retry_ms)
{
    int64_t now = mono_ms();
    enum web_login verdict = right ? WEB_LOGIN_OK : WEB_LOGIN_WRONG;
    pthread_mutex_lock(&l->lock);
    struct login_client *e = find(l, client, now);
    if (e && e->failures >= l->max_failures) {
        *retry_ms = e->window_start + l->window_ms - now;
        l->refused++;
        verdict = WEB_LOGIN_LOCKED;
    } else if (!right) {
        count_failure(l, client, now);
    } else if (e) {
        *e = l->c[--l->n];
    }
    pthread_mutex_unlock(&l->lock);
    return verdict;
}

json_t *web_logins_stats(struct web_logins *l)
{
    pthread_mutex_lock(&l->lock);
    int64_t now = mono_ms(), locked = 0;
    for (size_t i = 0; i < l->n; i++)
        locked += l->c[i].failures >= l->max_failures && now - l->c[i].window_start < l->window_ms;
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "failed", (json_int_t)l->failed,
                          "refused", (json_int_t)l->refused, "lockouts", (json_int_t)l->lockouts,
                          "locked_out", (json_int_t)locked, "max_failures",
                          (json_int_t)l->max_failures, "window_ms", (json_int_t)l->window_ms);
    pthread_mutex_unlock(&l->lock);
    return o;
}
