/* xmalloc.h - allocation that cannot fail silently: aborts with a message on exhaustion,
 * so ordinary code has no scattered NULL checks. Input-driven failures still return errors. */
#ifndef FLOWHOUND_XMALLOC_H
#define FLOWHOUND_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* asprintf that aborts on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
