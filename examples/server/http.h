/*
 * http.h — the HTTP side of `dseek serve` (libmicrohttpd, one thread per
 * connection): routes, bodies, replies, streams, the per-request log line.
 */
#ifndef DSEEK_SERVER_HTTP_H
#define DSEEK_SERVER_HTTP_H

#include "server.h"

struct MHD_Daemon;

/* Start listening on cfg.host:cfg.port (0: a free port); *port gets the
 * port bound. NULL with a message in error on failure. */
struct MHD_Daemon *http_start(server *srv, int *port, char *error, size_t error_size);
void http_stop(struct MHD_Daemon *d);

#endif
