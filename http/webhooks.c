/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * webhooks.c — the delivery worker: one thread with its own store connection and a
 * libcurl multi handle, at most webhook_concurrency POSTs in flight. It takes due
 * deliveries from the store (pending, their endpoint not paused, nothing earlier of the
 * same order pending), signs each body (HMAC-SHA256 from nettle), and records each
 * outcome: any 2xx is delivered; anything else, a timeout or a refused address is tried
 * again after a random wait up to webhook_backoff_ms · 2^attempts (full jitter), and is
 * dead after webhook_max_attempts. An endpoint that fails webhook_breaker times in a row
 * is paused for webhook_pause_ms, then probed by its next delivery. Redirects are not
 * followed; only http and https; the address connected to is checked against the
 * allow-list again (a name may resolve differently by then). What is in flight when the
 * process stops is still pending in the store, and is sent again at the next start:
 * delivery is at least once, and Fulcrum-Event-Id lets a receiver drop a repeat.
 */
#include <curl/curl.h>
#include <nettle/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "flow/flow.h"
#include "http/http.h"

#define HOOKS_INFLIGHT_MAX 256
#define HOOKS_LOOK_MS 50 /* how often the store is asked for due deliveries */
#define HOOKS_TOPICS 16
#define HOOKS_INVENTORY_BATCH 20000 /* inventory.changed events written in one second */

struct flight {
	CURL *h;
	struct curl_slist *hdrs;
	int64_t id;
	char hook[32], topic[48];
	bool listed; /* the host is in webhook_hosts: private addresses allowed */
	int attempts;
	char error[CURL_ERROR_SIZE];
};

static struct {
	pthread_t thread;
	bool started;
	atomic_bool stop;
	struct http_config cfg;
	struct flight flights[HOOKS_INFLIGHT_MAX];
	int nflights;
	/* metrics */
	atomic_ulong by_topic[HOOKS_TOPICS][3]; /* delivered, failed attempt, dead */
	atomic_long pending, dead, lag_ms;
} H;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int topic_ix(const char *topic)
{
	for (int i = 0; flow_webhook_topics[i] && i < HOOKS_TOPICS; i++)
		if (!strcmp(flow_webhook_topics[i], topic))
			return i;
	return -1;
}

/* t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")> */
static void sign(const char *secret, const char *body, char out[128])
{
	struct hmac_sha256_ctx ctx;
	uint8_t mac[SHA256_DIGEST_SIZE];
	char t[24];
	const int tn = snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	hmac_sha256_set_key(&ctx, strlen(secret), (const uint8_t *)secret);
	hmac_sha256_update(&ctx, (size_t)tn, (const uint8_t *)t);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, strlen(body), (const uint8_t *)body);
	hmac_sha256_digest(&ctx, sizeof(mac), mac);
	int n = snprintf(out, 128, "t=%s,v1=", t);
	for (size_t i = 0; i < sizeof(mac); i++)
		n += snprintf(out + n, (size_t)(128 - n), "%02x", mac[i]);
}

/* libcurl's socket: refused when the address is private and the host not allowed. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	const struct flight *f = clientp;
	(void)purpose;
	if (!f->listed && flow_addr_private(&a->addr))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p, (void)ctx;
	return size * n;
}

/* The host of url (as flow_webhook_url_check reads it) is in the allow-list? */
static bool listed(const char *url)
{
	char host[256];
	return !flow_webhook_url_host(url, host, sizeof(host), NULL) &&
	       flow_webhook_host_listed(host, H.cfg.webhook_hosts);
}

struct take {
	CURLM *multi;
};

/* One due delivery: in flight now, unless it is already or the pool is full. */
static int start(void *ctx, const struct store_delivery *d)
{
	struct take *tk = ctx;
	if (H.nflights >= H.cfg.webhook_concurrency || H.nflights >= HOOKS_INFLIGHT_MAX)
		return 1; /* full: stop the scan */
	struct flight *f = NULL;
	for (int i = 0; i < HOOKS_INFLIGHT_MAX; i++) {
		if (H.flights[i].h && H.flights[i].id == d->id)
			return 0; /* in flight already */
		if (!H.flights[i].h && !f)
			f = &H.flights[i];
	}
	if (!f)
		return 1;
	memset(f, 0, sizeof(*f));
	f->id = d->id;
	f->attempts = d->attempts;
	snprintf(f->hook, sizeof(f->hook), "%s", d->hook);
	snprintf(f->topic, sizeof(f->topic), "%s", d->topic);
	f->listed = listed(d->url);
	char sig[160], hdr[256];
	sign(d->secret, d->body, sig);
	f->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(hdr, sizeof(hdr), "Fulcrum-Event-Id: %s", d->event_id);
	f->hdrs = curl_slist_append(f->hdrs, hdr);
	snprintf(hdr, sizeof(hdr), "Fulcrum-Topic: %s", d->topic);
	f->hdrs = curl_slist_append(f->hdrs, hdr);
	snprintf(hdr, sizeof(hdr), "Fulcrum-Delivery-Id: %lld", (long long)d->id);
	f->hdrs = curl_slist_append(f->hdrs, hdr);
	snprintf(hdr, sizeof(hdr), "Fulcrum-Signature: %s", sig);
	f->hdrs = curl_slist_append(f->hdrs, hdr);
	f->hdrs = curl_slist_append(f->hdrs, "Expect:");
	if (!f->hdrs || !(f->h = curl_easy_init())) {
		curl_slist_free_all(f->hdrs);
		return 1;
	}
	curl_easy_setopt(f->h, CURLOPT_URL, d->url);
	curl_easy_setopt(f->h, CURLOPT_COPYPOSTFIELDS, d->body);
	curl_easy_setopt(f->h, CURLOPT_HTTPHEADER, f->hdrs);
	curl_easy_setopt(f->h, CURLOPT_USERAGENT, "fulcrum-webhooks/1");
	curl_easy_setopt(f->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(f->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->h, CURLOPT_CONNECTTIMEOUT_MS, (long)H.cfg.webhook_connect_timeout_ms);
	curl_easy_setopt(f->h, CURLOPT_TIMEOUT_MS, (long)H.cfg.webhook_timeout_ms);
	curl_easy_setopt(f->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(f->h, CURLOPT_OPENSOCKETDATA, f);
	curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(f->h, CURLOPT_ERRORBUFFER, f->error);
	curl_easy_setopt(f->h, CURLOPT_PRIVATE, f);
	if (curl_multi_add_handle(tk->multi, f->h) != CURLM_OK) {
		curl_easy_cleanup(f->h);
		curl_slist_free_all(f->hdrs);
		return 1;
	}
	H.nflights++;
	return 0;
}

/* A random wait in [0, base · 2^attempts] ms (full jitter). */
static int64_t backoff(int attempts)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)now_ms() * 2654435761u;
	const int e = attempts < 16 ? attempts : 16;
	const uint64_t cap = (uint64_t)H.cfg.webhook_backoff_ms << e;
	return (int64_t)(r % (cap + 1));
}

/* Outcomes of one turn of the loop, recorded in one transaction. */
struct done {
	struct store_delivery_outcome o;
	char hook[32], error[CURL_ERROR_SIZE + 64];
};
static struct done done[HOOKS_INFLIGHT_MAX];
static size_t ndone;

/* One POST done: its outcome kept for the turn's transaction, its slot freed. */
static void finish(CURLM *multi, CURL *h, CURLcode res)
{
	struct flight *f = NULL;
	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&f);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	const bool ok = res == CURLE_OK && code >= 200 && code < 300;
	const int64_t now = now_ms();
	char why[CURL_ERROR_SIZE + 32];
	if (res != CURLE_OK)
		snprintf(why, sizeof(why), "%s", f->error[0] ? f->error : curl_easy_strerror(res));
	else if (!ok)
		snprintf(why, sizeof(why), "HTTP %ld%s", code,
			 code >= 300 && code < 400 ? " (redirects are not followed)" : "");
	else
		why[0] = '\0';
	const bool dead = !ok && f->attempts + 1 >= H.cfg.webhook_max_attempts;
	struct done *d = &done[ndone++];
	snprintf(d->hook, sizeof(d->hook), "%s", f->hook);
	snprintf(d->error, sizeof(d->error), "%s", why);
	d->o = (struct store_delivery_outcome){.id = f->id,
					       .hook = d->hook,
					       .status = ok	? "delivered"
							 : dead ? "dead"
								: "pending",
					       .error = d->error,
					       .code = (int)code,
					       .next_at =
						       ok || dead ? 0 : now + backoff(f->attempts),
					       .now_ms = now,
					       .paused_until = now + H.cfg.webhook_pause_ms,
					       .breaker = H.cfg.webhook_breaker};
	const int t = topic_ix(f->topic);
	if (t >= 0) {
		atomic_fetch_add(&H.by_topic[t][ok ? 0 : 1], 1);
		if (dead)
			atomic_fetch_add(&H.by_topic[t][2], 1);
	}
	curl_multi_remove_handle(multi, h);
	curl_easy_cleanup(h);
	curl_slist_free_all(f->hdrs);
	memset(f, 0, sizeof(*f)); /* the slot is free */
	H.nflights--;
}

static void *worker(void *arg)
{
	(void)arg;
	struct store *st = NULL;
	struct fl_err err = {0};
	if (store_open(H.cfg.db, &st, &err)) {
		fprintf(stderr, "fulcrum: webhooks: %s\n", err.msg);
		return NULL;
	}
	CURLM *multi = curl_multi_init();
	struct take tk = {multi};
	int64_t last_look = 0, last_stats = 0;
	while (multi && !atomic_load(&H.stop)) {
		const int64_t now = now_ms();
		if (now - last_look >= HOOKS_LOOK_MS && H.nflights < H.cfg.webhook_concurrency) {
			last_look = now;
			store_deliveries_due(st, now, (size_t)H.cfg.webhook_concurrency * 2, start,
					     &tk, NULL);
		}
		if (now - last_stats >= 1000) {
			struct store_delivery_stats s;
			long marked = 0;
			last_stats = now;
			/* the second's stock changes, one event per (node, SKU) */
			if (store_inventory_changes_publish(st, HOOKS_INVENTORY_BATCH, &marked,
							    &err))
				fprintf(stderr, "fulcrum: webhooks: inventory.changed: %s\n",
					err.msg);
			if (!store_deliveries_stats(st, &s, NULL)) {
				atomic_store(&H.pending, (long)s.pending);
				atomic_store(&H.dead, (long)s.dead);
				atomic_store(&H.lag_ms, s.oldest_pending_ms
								? (long)(now - s.oldest_pending_ms)
								: 0);
			}
		}
		int running = 0;
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		int left;
		ndone = 0;
		while (ndone < HOOKS_INFLIGHT_MAX && (m = curl_multi_info_read(multi, &left)))
			if (m->msg == CURLMSG_DONE)
				finish(multi, m->easy_handle, m->data.result);
		if (ndone) {
			static struct store_delivery_outcome batch[HOOKS_INFLIGHT_MAX];
			for (size_t i = 0; i < ndone; i++)
				batch[i] = done[i].o;
			if (store_delivery_results(st, batch, ndone, &err))
				fprintf(stderr, "fulcrum: webhooks: recording %zu deliveries: %s\n",
					ndone, err.msg);
			last_look = 0; /* slots are free: look for more now */
			continue;
		}
		curl_multi_poll(multi, NULL, 0, HOOKS_LOOK_MS, NULL);
	}
	/* what is in flight stays pending in the store: sent again at the next start */
	for (int i = 0; i < HOOKS_INFLIGHT_MAX; i++)
		if (H.flights[i].h) {
			curl_multi_remove_handle(multi, H.flights[i].h);
			curl_easy_cleanup(H.flights[i].h);
			curl_slist_free_all(H.flights[i].hdrs);
			memset(&H.flights[i], 0, sizeof(H.flights[i]));
		}
	H.nflights = 0;
	curl_multi_cleanup(multi);
	store_close(st);
	return NULL;
}

int http_webhooks_start(const struct http_config *cfg, struct fl_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fl_err_set(err, FL_EINTERNAL, "libcurl would not start");
	H.cfg = *cfg;
	atomic_store(&H.stop, false);
	H.nflights = 0;
	if (pthread_create(&H.thread, NULL, worker, NULL) != 0)
		return fl_err_set(err, FL_EINTERNAL, "cannot start the webhook worker");
	H.started = true;
	return 0;
}

void http_webhooks_stop(void)
{
	if (!H.started)
		return;
	atomic_store(&H.stop, true);
	pthread_join(H.thread, NULL);
	H.started = false;
	curl_global_cleanup();
}

void http_webhooks_metrics(FILE *fp)
{
	static const char *const outcome[3] = {"delivered", "failed", "dead"};
	fputs("# HELP fulcrum_webhook_deliveries_total Delivery attempts by topic and outcome"
	      " (dead: given up after the last attempt).\n"
	      "# TYPE fulcrum_webhook_deliveries_total counter\n",
	      fp);
	for (int t = 0; flow_webhook_topics[t] && t < HOOKS_TOPICS; t++)
		for (int o = 0; o < 3; o++)
			fprintf(fp,
				"fulcrum_webhook_deliveries_total{topic=\"%s\",outcome=\"%s\"} "
				"%lu\n",
				flow_webhook_topics[t], outcome[o], atomic_load(&H.by_topic[t][o]));
	fprintf(fp,
		"# HELP fulcrum_webhook_pending Deliveries waiting to be sent or retried.\n"
		"# TYPE fulcrum_webhook_pending gauge\n"
		"fulcrum_webhook_pending %ld\n"
		"# HELP fulcrum_webhook_dead Deliveries given up on (retry or replay them).\n"
		"# TYPE fulcrum_webhook_dead gauge\n"
		"fulcrum_webhook_dead %ld\n"
		"# HELP fulcrum_webhook_lag_seconds Age of the oldest pending delivery.\n"
		"# TYPE fulcrum_webhook_lag_seconds gauge\n"
		"fulcrum_webhook_lag_seconds %.3f\n",
		atomic_load(&H.pending), atomic_load(&H.dead),
		(double)atomic_load(&H.lag_ms) / 1e3);
}
