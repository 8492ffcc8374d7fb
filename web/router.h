/* router.h - the libmicrohttpd access handler: checks, routes, security headers. */
#ifndef FLOWHOUND_WEB_ROUTER_H
#define FLOWHOUND_WEB_ROUTER_H

#include <stddef.h>

#include <microhttpd.h>

enum MHD_Result web_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls);

#endif
