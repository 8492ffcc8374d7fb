/* static.c - looks up the files of web/static/ embedded in the binary (web/embed.sh). */
#include "config.h"

#include <string.h>

#include "web/http.h"

const struct web_static_file *web_static_find(const char *path)
{
    for (const struct web_static_file *f = web_static_files; f->path; f++)
        if (!strcmp(f->path, path))
            return f;
    return NULL;
}
