/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * heads.c — the header-phase deadline. libmicrohttpd's connection_timeout counts
 * inactivity, so a client that sends one byte of its head a second holds its slot for
 * ever; here every connection waiting for a request's head (from its start, or from the
 * previous answer on a kept-alive connection) has header_timeout seconds in all to finish
 * it, or its socket is shut down. A connection whose head is complete is never cut here:
 * its body has connection_timeout, its handler as long as it takes.
 *
 * Each connection is registered by libmicrohttpd's connection notifier and unregistered
 * by it before the socket is closed, under one lock, so the watcher never shuts a
 * descriptor number that already belongs to someone else.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http/heads.h"
#include "http/http.h"

struct head {
	struct head *prev, *next;
	MHD_socket fd;
	atomic_llong since_ms; /* when the head began to be awaited */
	atomic_bool in_request;
	bool cut;
};

static struct {
	pthread_mutex_t lock;
	struct head list; /* sentinel of a circular list */
	pthread_t thread;
	atomic_int stop;
	bool running;
	unsigned timeout_s;
	atomic_ulong cut;
} heads = {.lock = PTHREAD_MUTEX_INITIALIZER, .list = {&heads.list, &heads.list}};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void http_heads_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	struct head *h = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(h = calloc(1, sizeof(*h))))
			return; /* not watched: it still has connection_timeout */
		h->fd = ci->connect_fd;
		atomic_store(&h->since_ms, now_ms());
		pthread_mutex_lock(&heads.lock);
		h->next = heads.list.next, h->prev = &heads.list;
		heads.list.next->prev = h, heads.list.next = h;
		pthread_mutex_unlock(&heads.lock);
		*socket_context = h;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && h) {
		pthread_mutex_lock(&heads.lock);
		h->prev->next = h->next, h->next->prev = h->prev;
		pthread_mutex_unlock(&heads.lock);
		free(h);
		*socket_context = NULL;
	}
}

static struct head *head_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void http_heads_begin(struct MHD_Connection *conn)
{
	struct head *h = head_of(conn);
	if (h)
		atomic_store(&h->in_request, true);
}

void http_heads_end(struct MHD_Connection *conn)
{
	struct head *h = head_of(conn);
	if (h) {
		atomic_store(&h->since_ms, now_ms());
		atomic_store(&h->in_request, false);
	}
}

static void *watch(void *arg)
{
	(void)arg;
	const long long limit = (long long)heads.timeout_s * 1000;
	while (!atomic_load(&heads.stop)) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		const long long t = now_ms();
		pthread_mutex_lock(&heads.lock);
		for (struct head *h = heads.list.next; h != &heads.list; h = h->next)
			if (!h->cut && !atomic_load(&h->in_request) &&
			    t - atomic_load(&h->since_ms) > limit) {
				shutdown(h->fd,
					 SHUT_RDWR); /* libmicrohttpd sees the end and closes */
				h->cut = true;
				atomic_fetch_add(&heads.cut, 1);
			}
		pthread_mutex_unlock(&heads.lock);
	}
	return NULL;
}

int http_heads_start(unsigned timeout_s)
{
	if (!timeout_s || heads.running)
		return 0;
	heads.timeout_s = timeout_s;
	atomic_store(&heads.stop, 0);
	if (pthread_create(&heads.thread, NULL, watch, NULL) != 0)
		return -1;
	heads.running = true;
	return 0;
}

void http_heads_stop(void)
{
	if (!heads.running)
		return;
	atomic_store(&heads.stop, 1);
	pthread_join(heads.thread, NULL);
	heads.running = false;
}

void http_heads_metrics(FILE *fp)
{
	fprintf(fp,
		"# HELP fulcrum_http_heads_cut_total Connections shut because a request's head "
		"took longer than header_timeout.\n"
		"# TYPE fulcrum_http_heads_cut_total counter\nfulcrum_http_heads_cut_total %lu\n",
		atomic_load(&heads.cut));
}
