/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Webhook subscriptions (API.md "Webhooks"): create (the secret shown once), list, read,
 * delete, rotate the secret; a subscription's deliveries, a dead one retried, everything
 * since a time replayed. Where a subscription may point: http or https only, and never a
 * loopback, private or link-local address unless its host is in the allow-list
 * (webhook_hosts), checked here on every name the host resolves to and again by the
 * delivery worker on the address it connects to.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "flow/internal.h"

const char *const flow_webhook_topics[] = {
	"decision.created",  "decision.rerouted", "reservation.changed", "rule.notify",
	"rule.discount",     "scenario.done",	  "transfer.planned",	 "transfer.shipped",
	"transfer.received", "rules.activated",	  "inventory.changed",	 NULL};

bool flow_webhook_host_listed(const char *host, const char *allow)
{
	const size_t n = strlen(host);
	for (const char *p = allow; p && *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if ((size_t)(e - p) == n && !strncasecmp(p, host, n))
			return true;
		p = e;
	}
	return false;
}

bool flow_addr_private(const struct sockaddr *a)
{
	if (a->sa_family == AF_INET) {
		const uint32_t ip = ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr);
		return (ip >> 24) == 127 || (ip >> 24) == 10 || (ip >> 24) == 0 ||
		       (ip >> 20) == (172u << 4 | 1) || (ip >> 16) == (192u << 8 | 168) ||
		       (ip >> 16) == (169u << 8 | 254) || (ip >> 22) == (100u << 2 | 1) ||
		       ip >= 0xe0000000u; /* loopback, private, this network, link-local, CGNAT,
					     multicast and reserved */
	}
	if (a->sa_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(x)) {
			struct sockaddr_in v4 = {.sin_family = AF_INET};
			memcpy(&v4.sin_addr, x->s6_addr + 12, 4);
			return flow_addr_private((const struct sockaddr *)&v4);
		}
		return IN6_IS_ADDR_LOOPBACK(x) || IN6_IS_ADDR_UNSPECIFIED(x) ||
		       IN6_IS_ADDR_LINKLOCAL(x) || IN6_IS_ADDR_SITELOCAL(x) ||
		       IN6_IS_ADDR_MULTICAST(x) || (x->s6_addr[0] & 0xfe) == 0xfc;
	}
	return true;
}

int flow_webhook_url_host(const char *url, char *host, size_t cap, struct fl_err *err)
{
	const char *p = !strncasecmp(url, "http://", 7)	   ? url + 7
			: !strncasecmp(url, "https://", 8) ? url + 8
							   : NULL;
	if (!p)
		return fl_err_set(err, FL_EINVAL, "url: http or https only");
	const char *end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return fl_err_set(err, FL_EINVAL, "url: no user or password in the URL");
	const char *h = p, *he;
	if (*h == '[') {
		he = memchr(h, ']', (size_t)(end - h));
		if (!he)
			return fl_err_set(err, FL_EINVAL, "url: an unclosed IPv6 address");
		h++;
	} else {
		he = memchr(h, ':', (size_t)(end - h));
		if (!he)
			he = end;
	}
	if (he == h || (size_t)(he - h) >= cap)
		return fl_err_set(err, FL_EINVAL, "url: no host, or one too long");
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return fl_err_set(err, FL_EINVAL, "url: a space or control character");
	return 0;
}

int flow_webhook_url_check(const char *url, const char *allow, struct fl_err *err)
{
	char host[256];
	int rc = flow_webhook_url_host(url, host, sizeof(host), err);
	if (rc)
		return rc;
	const bool listed = flow_webhook_host_listed(host, allow);
	if (allow && *allow && !listed)
		return fl_err_set(err, FL_EINVAL, "url: host '%s' is not in webhook_hosts", host);
	if (listed)
		return 0;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res))
		return fl_err_set(err, FL_EINVAL, "url: host '%s' does not resolve", host);
	for (const struct addrinfo *a = res; a && !rc; a = a->ai_next)
		if (flow_addr_private(a->ai_addr))
			rc = fl_err_set(err, FL_EINVAL,
					"url: '%s' is a loopback, private or link-local address "
					"(allow it in webhook_hosts)",
					host);
	freeaddrinfo(res);
	return rc;
}

static json_t *hook_json(const struct store_webhook *w)
{
	char when[32];
	flow__rfc3339(w->created_at, when);
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:i, s:I, s:I, s:I}", "id", w->id, "url",
			      w->url, "topics", json_loads(w->topics, 0, NULL), "description",
			      w->description, "created_at", when, "failures_in_a_row", w->failures,
			      "pending", (json_int_t)w->pending, "delivered",
			      (json_int_t)w->delivered, "dead", (json_int_t)w->dead);
	if (o) {
		const int64_t now_ms = (int64_t)time(NULL) * 1000;
		flow__rfc3339(w->paused_until / 1000, when);
		json_object_set_new(o, "paused_until",
				    w->paused_until > now_ms ? json_string(when) : json_null());
	}
	return o;
}

static int new_secret(char secret[FLOW_WEBHOOK_SECRET_MAX], struct fl_err *err)
{
	memcpy(secret, "whsec_", 7);
	return flow_random_hex(secret + 6, 24) ? fl_err_set(err, FL_EIO, "no randomness") : 0;
}

int flow_webhook_create(struct store *st, const json_t *body, const char *allow, json_t **answer,
			struct fl_err *err)
{
	static const char *const known[] = {"url", "topics", "description", NULL};
	struct store_webhook w = {0};
	char secret[FLOW_WEBHOOK_SECRET_MAX];
	int rc = flow__strict(body, "", known, err);
	*answer = NULL;
	if (rc)
		return rc;
	const json_t *url = json_object_get(body, "url"), *topics = json_object_get(body, "topics"),
		     *desc = json_object_get(body, "description"), *t;
	if (!json_is_string(url) || json_string_length(url) >= sizeof(w.url))
		return fl_err_set(err, FL_EINVAL, "url: a string of at most %zu bytes",
				  sizeof(w.url) - 1);
	if (!json_is_array(topics) || !json_array_size(topics) || json_array_size(topics) > 32)
		return fl_err_set(err, FL_EINVAL, "topics: an array of 1 to 32 topics (or \"*\")");
	size_t i;
	json_array_foreach(topics, i, t)
	{
		const char *name = json_string_value(t);
		bool known_topic = name && !strcmp(name, "*");
		for (size_t k = 0; name && flow_webhook_topics[k] && !known_topic; k++)
			known_topic = !strcmp(name, flow_webhook_topics[k]);
		if (!known_topic)
			return fl_err_set(err, FL_EINVAL, "topics[%zu]: not a topic (%s, …)", i,
					  flow_webhook_topics[0]);
	}
	if (desc && (!json_is_string(desc) || json_string_length(desc) >= sizeof(w.description)))
		return fl_err_set(err, FL_EINVAL, "description: a string of at most %zu bytes",
				  sizeof(w.description) - 1);
	if ((rc = flow_webhook_url_check(json_string_value(url), allow, err)))
		return rc;
	char *tt = json_dumps(topics, JSON_COMPACT);
	if (!tt || strlen(tt) >= sizeof(w.topics)) {
		free(tt);
		return fl_err_set(err, FL_EINVAL, "topics: too long");
	}
	snprintf(w.topics, sizeof(w.topics), "%s", tt);
	free(tt);
	memcpy(w.id, "wh_", 4);
	if (flow_random_hex(w.id + 3, 8) || new_secret(secret, err))
		return fl_err_set(err, FL_EIO, "no randomness");
	snprintf(w.url, sizeof(w.url), "%s", json_string_value(url));
	snprintf(w.description, sizeof(w.description), "%s", desc ? json_string_value(desc) : "");
	w.created_at = (int64_t)time(NULL);
	if ((rc = store_webhook_create(st, &w, secret, err)))
		return rc;
	*answer = hook_json(&w);
	if (*answer)
		json_object_set_new(*answer, "secret", json_string(secret));
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

static int list_hook(void *ctx, const struct store_webhook *w)
{
	json_t *o = hook_json(w);
	return o && !json_array_append_new(ctx, o) ? 0 : FL_ENOMEM;
}

int flow_webhooks_list(struct store *st, json_t **answer, struct fl_err *err)
{
	json_t *a = json_array();
	int rc = a ? store_webhooks_list(st, list_hook, a, err) : FL_ENOMEM;
	*answer = NULL;
	if (rc) {
		json_decref(a);
		return rc == FL_ENOMEM ? fl_err_set(err, rc, "out of memory") : rc;
	}
	*answer = json_pack("{s:o}", "webhooks", a);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_webhook_get(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	struct store_webhook w;
	int rc = store_webhook_get(st, id, &w, err);
	*answer = rc ? NULL : hook_json(&w);
	return rc ? rc : *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_webhook_delete(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	int rc = store_webhook_delete(st, id, err);
	*answer = rc ? NULL : json_pack("{s:s, s:b}", "id", id, "deleted", 1);
	return rc;
}

int flow_webhook_rotate(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	char secret[FLOW_WEBHOOK_SECRET_MAX];
	int rc = new_secret(secret, err);
	*answer = NULL;
	if (rc || (rc = store_webhook_secret(st, id, secret, err)))
		return rc;
	*answer = json_pack("{s:s, s:s}", "id", id, "secret", secret);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

static int list_delivery(void *ctx, const struct store_delivery *d)
{
	char upd[32], next[32];
	flow__rfc3339(d->updated_at, upd);
	flow__rfc3339(d->next_at / 1000, next);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "delivery_id",
			      (json_int_t)d->id, "event_id", d->event_id, "topic", d->topic,
			      "status", d->status, "attempts", d->attempts, "last_status_code",
			      d->last_code ? json_integer(d->last_code) : json_null(), "last_error",
			      d->last_error[0] ? json_string(d->last_error) : json_null(),
			      "next_attempt_at",
			      strcmp(d->status, "pending") ? json_null() : json_string(next),
			      "updated_at", d->updated_at ? json_string(upd) : json_null(),
			      "order_id", d->order_id[0] ? json_string(d->order_id) : json_null());
	return o && !json_array_append_new(ctx, o) ? 0 : FL_ENOMEM;
}

int flow_webhook_deliveries(struct store *st, const char *id, const char *status, int64_t after,
			    long limit, json_t **answer, struct fl_err *err)
{
	struct store_webhook w;
	*answer = NULL;
	if (status && strcmp(status, "pending") && strcmp(status, "delivered") &&
	    strcmp(status, "dead"))
		return fl_err_set(err, FL_EINVAL, "status: pending, delivered or dead");
	int rc = store_webhook_get(st, id, &w, err);
	json_t *a = json_array();
	if (!rc && !a)
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	if (!rc)
		rc = store_deliveries_list(st, id, status, after, (size_t)limit, list_delivery, a,
					   err);
	if (!rc) {
		const size_t n = json_array_size(a);
		*answer = json_pack("{s:O, s:o}", "deliveries", a, "next",
				    n == (size_t)limit
					    ? json_incref(json_object_get(json_array_get(a, n - 1),
									  "delivery_id"))
					    : json_null());
		if (!*answer)
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	json_decref(a);
	return rc == FL_ENOMEM && err && !err->msg[0] ? fl_err_set(err, rc, "out of memory") : rc;
}

int flow_webhook_retry(struct store *st, const char *id, int64_t delivery, json_t **answer,
		       struct fl_err *err)
{
	int rc = store_delivery_retry(st, id, delivery, (int64_t)time(NULL) * 1000, err);
	*answer = rc ? NULL
		     : json_pack("{s:I, s:s}", "delivery_id", (json_int_t)delivery, "status",
				 "pending");
	return rc;
}

int flow_webhook_replay(struct store *st, const char *id, const json_t *body, json_t **answer,
			struct fl_err *err)
{
	static const char *const known[] = {"since", NULL};
	struct store_webhook w;
	long n = 0;
	int rc = flow__strict(body, "", known, err);
	*answer = NULL;
	if (rc)
		return rc;
	const char *since = json_string_value(json_object_get(body, "since"));
	struct tm tm = {0};
	const char *end = since ? strptime(since, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return fl_err_set(err, FL_EINVAL,
				  "since: an RFC 3339 time in UTC (2026-11-30T14:00:00Z)");
	if ((rc = store_webhook_get(st, id, &w, err)) ||
	    (rc = store_webhook_replay(st, id, (int64_t)timegm(&tm), (int64_t)time(NULL) * 1000, &n,
				       err)))
		return rc;
	*answer = json_pack("{s:s, s:s, s:I}", "id", id, "since", since, "replayed", (json_int_t)n);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}
