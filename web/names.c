/* names.c - exporters' names in the answers. Every object of an answer that names an exporter
 * ("exporter": "ADDR" or "ADDR/DOMAIN": flows, exporters, connections, the evidence of
 * alerts) gets "exporter_name" beside it, the name exporter-name gave it or null. One walk
 * over every answer, so that no endpoint, present or future, forgets the name. */
#include "config.h"

#include "common/exporter_names.h"
#include "web/http.h"

/* Deeper than any answer the API builds: stored evidence is only walked this far. */
#define NAMES_DEPTH_MAX 16

static void add_names(const struct exporter_names *names, json_t *v, int depth)
{
    if (depth > NAMES_DEPTH_MAX)
        return;
    size_t i;
    json_t *child;
    if (json_is_array(v)) {
        json_array_foreach(v, i, child) add_names(names, child, depth + 1);
        return;
    }
    if (!json_is_object(v))
        return;
    const char *key;
    json_object_foreach(v, key, child) add_names(names, child, depth + 1);
    const char *exporter = json_string_value(json_object_get(v, "exporter"));
    if (!exporter)
        return;
    const char *name = exporter_names_find(names, exporter);
    json_object_set_new(v, "exporter_name", name ? json_string(name) : json_null());
}

void web_names_add(const struct exporter_names *names, json_t *answer)
{
    add_names(names, answer, 0);
}
