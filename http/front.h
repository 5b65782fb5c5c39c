/* SPDX-License-Identifier: GPL-3.0-or-later */
/* front.h — fulcrum's own accept loop before libmicrohttpd, inside http/ only. */
#ifndef FULCRUM_HTTP_FRONT_H
#define FULCRUM_HTTP_FRONT_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdio.h>

#include "http/http.h"

/* A request's head may take this many bytes in all (its request line HTTP_URL_MAX and a
 * little); past it, 431 (414 while still in the request line), a problem document. */
#define HTTP_FRONT_HEAD_MAX 32768
/* header fields in one head (Apache's default too), and query parameters in its URL;
 * past it, 431 and 414: libmicrohttpd keeps a record of each in its per-connection
 * memory, which 1,000 short ones exhausted (it answered in HTML, or not at all) */
#define HTTP_FRONT_FIELDS_MAX 100
/* The trailer that tells the handler the front refused the rest of a chunked body
 * ("413 detail"): it answers that, and closes. */
#define HTTP_FRONT_REFUSED "Fulcrum-Front-Refused"
#define HTTP_FRONT_LINGER_MS 1000 /* a refused client's unread bytes are drained this long */

struct http_front;

/* The body limit of method path (the raw request target), as the routes set it. */
typedef size_t (*http_limit_fn)(const void *cls, const char *method, const char *path);

/*
 * Listen on host:port (0: any free port) and hand each connection to d, which was started
 * with MHD_USE_NO_LISTEN_SOCKET, through a socket pair. cap: connections at once, per_ip:
 * from one address (0: no cap); 503 beyond either. NULL (errno) if it cannot listen.
 */
struct http_front *http_front_start(struct MHD_Daemon *d, const char *host, int port, unsigned cap,
				    unsigned per_ip, http_limit_fn limit_of, const void *limit_cls);
int http_front_port(const struct http_front *f);
void http_front_quiesce(struct http_front *f); /* accept no more connections */
void http_front_stop(struct http_front *f);    /* after MHD_stop_daemon: close all, free */
void http_front_metrics(FILE *fp);

/* server.c's reason phrase of a status, for the front's status lines. */
const char *http_reason(int status);
/* given when it is short and plain ([A-Za-z0-9._:-]{1,64}), else a new id. */
void http_request_id(const char *given, char out[HTTP_REQUEST_ID_MAX]);

#endif
