/* query_json.c - query rows as jansson objects, for the JSON API and `flowhound query -o
 * json`. Column names become keys; SQLite types map to JSON types one to one. */
#include "config.h"

#include <string.h>

#include "storage/query_int.h"

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
            /* jansson refuses invalid UTF-8; such a value (never written by us) becomes null */
            v = json_stringn((const char *)sqlite3_column_text(row, i),
                             (size_t)sqlite3_column_bytes(row, i));
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
