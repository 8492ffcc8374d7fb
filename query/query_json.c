/* query_json.c - query rows as jansson objects, for the JSON API and `flowhound query -o
 * json`. Column names become keys; SQLite types map to JSON types one to one. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "query/query_int.h"

/* A JSON string of text from the store: exporter-sent bytes may be invalid UTF-8, which
 * jansson rightly refuses; such bytes become U+FFFD so the row is still shown. */
static json_t *safe_string(const unsigned char *s, size_t n)
{
    json_t *v = json_stringn((const char *)s, n);
    if (v)
        return v;
    char *clean = xmalloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            clean[o++] = (char)s[i];
        } else {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
        }
    }
    v = json_stringn(clean, o);
    free(clean);
    return v;
}

json_t *query_row_json(sqlite3_stmt *row)
{
    json_t *o = json_object();
    int n = sqlite3_column_count(row);
    for (int i = 0; i < n; i++) {
        json_t *v;
        switch (sqlite3_column_type(row, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(row, i));
            break;
        case SQLITE_FLOAT:
            v = json_real(sqlite3_column_double(row, i));
            break;
        case SQLITE_TEXT:
        case SQLITE_BLOB:
            v = safe_string(sqlite3_column_text(row, i), (size_t)sqlite3_column_bytes(row, i));
            break;
        default:
            v = NULL;
        }
        json_object_set_new(o, sqlite3_column_name(row, i), v ? v : json_null());
    }
    return o;
}

static int append_row(void *ctx, sqlite3_stmt *row)
{
    json_array_append_new(ctx, query_row_json(row));
    return 0;
}

static json_t *finish(json_t *a, int rc, int *code)
{
    if (code)
        *code = rc;
    if (rc) {
        json_decref(a);
        return NULL;
    }
    return a;
}

json_t *query_flows_json(struct query *q, const struct query_flows *req, int *code, char *err,
                         size_t errlen)
{
    json_t *a = json_array();
    return finish(a, query_flows(q, req, append_row, a, err, errlen), code);
}

json_t *query_top_json(struct query *q, const struct query_top *req, int *code, char *err,
                       size_t errlen)
{
    json_t *a = json_array();
    return finish(a, query_top(q, req, append_row, a, err, errlen), code);
}
