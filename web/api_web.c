/* api_web.c - /api/v1/stats/web: the web server's own counters, so that connections it closed
 * and logins it refused are counted where an operator looks, not only in the log. */
#include "config.h"

#include "common/timeutil.h"
#include "web/http.h"

json_t *api_web(struct web_req *r)
{
    static const char *const known[] = {NULL};
    json_t *err = NULL;
    if (!web_params_known(r, known, &err))
        return err;
    return json_pack("{s:o, s:o, s:I}", "connections", web_conns_stats(r->srv->conns), "logins",
                     web_logins_stats(r->srv->logins), "now_ms", (json_int_t)now_ms());
}
