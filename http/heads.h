/* SPDX-License-Identifier: GPL-3.0-or-later */
/* heads.h — the header-phase deadline, inside http/ only (server.c wires it). */
#ifndef FULCRUM_HTTP_HEADS_H
#define FULCRUM_HTTP_HEADS_H

#include <microhttpd.h>
#include <stdio.h>

/* libmicrohttpd's connection notifier: registers and unregisters each connection. */
void http_heads_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code);
void http_heads_begin(struct MHD_Connection *conn); /* its head is complete */
void http_heads_end(struct MHD_Connection *conn);   /* answered: the next head's clock starts */
/* Shut connections whose head takes over timeout_s seconds; 0: no watcher. -1 if it cannot
 * start. */
int http_heads_start(unsigned timeout_s);
void http_heads_stop(void);
void http_heads_metrics(FILE *fp);

#endif
