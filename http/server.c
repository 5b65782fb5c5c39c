/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP service on libmicrohttpd: a pool of epoll worker threads, each with its own
 * store; routing, body limits checked before buffering, problem documents, request ids,
 * one JSON log line per request, Prometheus metrics, bearer tokens, a per-token rate
 * limit, and a graceful shutdown on SIGINT/SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "flow/flow.h"
#include "http/front.h"
#include "http/heads.h"
#include "http/http.h"

/* ---- metrics: fixed arrays indexed by route and status, all atomic ---- */

#define MAX_ROUTES 64
static const int known_status[] = {200, 201, 204, 400, 401, 403, 404, 405, 409,
				   413, 414, 415, 422, 429, 431, 500, 503, 505};
#define NSTATUS (sizeof(known_status) / sizeof(known_status[0]) + 1) /* + other */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05,	 0.1,	0.25,	0.5,   1.0,  2.5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct route_metrics {
	atomic_ulong by_status[NSTATUS];
	atomic_ulong le[NBUCKETS]; /* non-cumulative; summed when printed */
	atomic_ulong count;
	atomic_ullong sum_us;
};

static struct route_metrics metrics[MAX_ROUTES + 1]; /* last: unmatched */
static atomic_long in_flight;
static atomic_int shutting_down;
static const char *const decision_status[] = {"complete", "partial", "unfulfillable"};
static atomic_ulong decisions[3];

static atomic_ulong shipments_total, units_filled, units_requested;

/* the units of an array of {"qty"} lines */
static unsigned long units_of(const json_t *lines)
{
	unsigned long n = 0;
	const json_t *l;
	size_t i;
	json_array_foreach(lines, i, l)
	{
		const json_int_t q = json_integer_value(json_object_get(l, "qty"));
		n += q > 0 ? (unsigned long)q : 0;
	}
	return n;
}

void http_metrics_decision(const json_t *decision)
{
	const char *status = json_string_value(json_object_get(decision, "status"));
	for (int i = 0; status && i < 3; i++)
		if (strcmp(status, decision_status[i]) == 0)
			atomic_fetch_add(&decisions[i], 1);
	const json_t *shipments = json_object_get(decision, "shipments"), *sh;
	size_t i;
	unsigned long filled = 0;
	json_array_foreach(shipments, i, sh) filled += units_of(json_object_get(sh, "lines"));
	atomic_fetch_add(&shipments_total, json_array_size(shipments));
	atomic_fetch_add(&units_filled, filled);
	atomic_fetch_add(&units_requested,
			 filled + units_of(json_object_get(decision, "unfilled")));
}

static size_t status_index(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (known_status[i] == status)
			return i;
	return NSTATUS - 1;
}

static void metrics_record(int route, int status, double seconds)
{
	struct route_metrics *m = &metrics[route < 0 ? MAX_ROUTES : route];
	atomic_fetch_add(&m->by_status[status_index(status)], 1);
	atomic_fetch_add(&m->count, 1);
	atomic_fetch_add(&m->sum_us, (unsigned long long)(seconds * 1e6));
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b]) {
			atomic_fetch_add(&m->le[b], 1);
			break;
		}
}

char *http_metrics_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	if (!fp)
		return NULL;
	fputs("# HELP fulcrum_http_requests_total HTTP requests by route, method and status.\n"
	      "# TYPE fulcrum_http_requests_total counter\n",
	      fp);
	for (size_t r = 0; r <= http_nroutes; r++) {
		size_t idx = r < http_nroutes ? r : MAX_ROUTES;
		const char *route = r < http_nroutes ? http_routes[r].pattern : "unmatched";
		const char *method = r < http_nroutes ? http_routes[r].method : "any";
		for (size_t s = 0; s < NSTATUS; s++) {
			unsigned long v = atomic_load(&metrics[idx].by_status[s]);
			if (!v)
				continue;
			if (s < NSTATUS - 1)
				fprintf(fp,
					"fulcrum_http_requests_total{route=\"%s\",method=\"%s\","
					"status=\"%d\"} %lu\n",
					route, method, known_status[s], v);
			else
				fprintf(fp,
					"fulcrum_http_requests_total{route=\"%s\",method=\"%s\","
					"status=\"other\"} %lu\n",
					route, method, v);
		}
	}
	fputs("# HELP fulcrum_http_request_duration_seconds Time from the request's first byte"
	      " to the response, by route.\n"
	      "# TYPE fulcrum_http_request_duration_seconds histogram\n",
	      fp);
	for (size_t r = 0; r <= http_nroutes; r++) {
		size_t idx = r < http_nroutes ? r : MAX_ROUTES;
		char label[160];
		snprintf(label, sizeof(label), "route=\"%s\",method=\"%s\"",
			 r < http_nroutes ? http_routes[r].pattern : "unmatched",
			 r < http_nroutes ? http_routes[r].method : "any");
		unsigned long cum = 0, count = atomic_load(&metrics[idx].count);
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&metrics[idx].le[b]);
			fprintf(fp,
				"fulcrum_http_request_duration_seconds_bucket{%s,le=\"%g\"} %lu\n",
				label, buckets[b], cum);
		}
		fprintf(fp, "fulcrum_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %lu\n",
			label, count);
		fprintf(fp, "fulcrum_http_request_duration_seconds_sum{%s} %.6f\n", label,
			(double)atomic_load(&metrics[idx].sum_us) / 1e6);
		fprintf(fp, "fulcrum_http_request_duration_seconds_count{%s} %lu\n", label, count);
	}
	fprintf(fp,
		"# HELP fulcrum_http_requests_in_flight Requests being handled now.\n"
		"# TYPE fulcrum_http_requests_in_flight gauge\n"
		"fulcrum_http_requests_in_flight %ld\n",
		atomic_load(&in_flight));
	fprintf(fp,
		"# HELP fulcrum_rule_failures_total Rule failures recorded in decisions and "
		"waves.\n"
		"# TYPE fulcrum_rule_failures_total counter\nfulcrum_rule_failures_total %lu\n",
		flow_rule_failures_total());
	fputs("# HELP fulcrum_decisions_total Fulfilment decisions by status.\n"
	      "# TYPE fulcrum_decisions_total counter\n",
	      fp);
	for (int i = 0; i < 3; i++)
		fprintf(fp, "fulcrum_decisions_total{status=\"%s\"} %lu\n", decision_status[i],
			atomic_load(&decisions[i]));
	fprintf(fp,
		"# HELP fulcrum_decision_shipments_total Shipments in the decisions answered.\n"
		"# TYPE fulcrum_decision_shipments_total counter\n"
		"fulcrum_decision_shipments_total %lu\n"
		"# HELP fulcrum_units_requested_total Units the decided orders asked for.\n"
		"# TYPE fulcrum_units_requested_total counter\n"
		"fulcrum_units_requested_total %lu\n"
		"# HELP fulcrum_units_filled_total Units the decisions shipped (fill rate: over "
		"requested).\n"
		"# TYPE fulcrum_units_filled_total counter\nfulcrum_units_filled_total %lu\n",
		atomic_load(&shipments_total), atomic_load(&units_requested),
		atomic_load(&units_filled));
	http_heads_metrics(fp);
	http_front_metrics(fp);
	http_jobs_metrics(fp);
	http_webhooks_metrics(fp);
	fclose(fp);
	return buf;
}

/* ---- per-thread state: the store and a PRNG for request ids ---- */

struct server {
	struct http_config cfg;
	pthread_t checkpointer;
	atomic_int stop_checkpointer;
	struct MHD_Daemon *daemon;
	struct MHD_Daemon *health; /* /healthz and /readyz only, on their own port (or NULL) */
	struct http_front *front, *health_front; /* their accept loops */
	struct door {
		struct server *srv;
		bool health;	  /* the health listener: only the probes are routed */
	} main_door, health_door; /* each listener's callbacks' closure */
	pthread_mutex_t lock;	  /* guards stores[] and the rate limiter */
	struct store *stores[256];
	int nstores;
};

static _Thread_local struct store *tl_store;
static _Thread_local uint64_t tl_rng;

static struct store *thread_store(struct server *srv, struct fl_err *err)
{
	if (tl_store)
		return tl_store;
	pthread_mutex_lock(&srv->lock);
	int rc = srv->nstores < (int)(sizeof(srv->stores) / sizeof(srv->stores[0]))
			 ? store_open(srv->cfg.db, &tl_store, err)
			 : fl_err_set(err, FL_ELIMIT, "too many worker threads");
	if (!rc && store_set_autocheckpoint(tl_store, false, err)) { /* the checkpointer does it */
		store_close(tl_store);
		tl_store = NULL;
		rc = FL_EDB;
	}
	if (!rc)
		srv->stores[srv->nstores++] = tl_store;
	pthread_mutex_unlock(&srv->lock);
	return rc ? NULL : tl_store;
}

static void new_request_id(char out[HTTP_REQUEST_ID_MAX])
{
	if (!tl_rng && getrandom(&tl_rng, sizeof(tl_rng), 0) != sizeof(tl_rng))
		tl_rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&tl_rng;
	tl_rng ^= tl_rng << 13, tl_rng ^= tl_rng >> 7, tl_rng ^= tl_rng << 17;
	snprintf(out, HTTP_REQUEST_ID_MAX, "req_%016llx", (unsigned long long)tl_rng);
}

/* A caller's id is echoed when it is short and plain: [A-Za-z0-9._:-]{1,64}. */
static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= HTTP_REQUEST_ID_MAX)
		return false;
	for (; *s; s++)
		if (!(((*s | 32) >= 'a' && (*s | 32) <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == ':' || *s == '-'))
			return false;
	return true;
}

void http_request_id(const char *given, char out[HTTP_REQUEST_ID_MAX])
{
	if (given && request_id_ok(given))
		snprintf(out, HTTP_REQUEST_ID_MAX, "%s", given);
	else
		new_request_id(out);
}

/* ---- the rate limiter: a token bucket per access token ---- */

#define RATE_MAX_KEYS 4096

struct bucket {
	char id[17];
	double tokens;
	double last;
};

static struct bucket rate[RATE_MAX_KEYS];
static int nrate;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 0 if the request may go; else the seconds to wait. */
static int rate_take(struct server *srv, const char *id)
{
	const double r = srv->cfg.rate_limit, burst = srv->cfg.rate_burst;
	double t = now_s();
	int wait = 0, i;

	if (r <= 0)
		return 0;
	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < nrate && strcmp(rate[i].id, id) != 0; i++)
		;
	if (i == nrate) {
		if (nrate == RATE_MAX_KEYS) { /* evict the one idle longest */
			i = 0;
			for (int j = 1; j < nrate; j++)
				if (rate[j].last < rate[i].last)
					i = j;
		} else {
			nrate++;
		}
		snprintf(rate[i].id, sizeof(rate[i].id), "%s", id);
		rate[i].tokens = burst;
		rate[i].last = t;
	}
	rate[i].tokens = fmin(burst, rate[i].tokens + (t - rate[i].last) * r);
	rate[i].last = t;
	if (rate[i].tokens >= 1.0)
		rate[i].tokens -= 1.0;
	else
		wait = (int)ceil((1.0 - rate[i].tokens) / r);
	pthread_mutex_unlock(&srv->lock);
	return wait;
}

/* ---- problems ---- */

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

static const char *problem_type(int status)
{
	switch (status) {
	case 400: return "urn:fulcrum:problem:malformed";
	case 401: return "urn:fulcrum:problem:unauthenticated";
	case 403: return "urn:fulcrum:problem:forbidden";
	case 404: return "urn:fulcrum:problem:not-found";
	case 405: return "urn:fulcrum:problem:method-not-allowed";
	case 409: return "urn:fulcrum:problem:conflict";
	case 413:
	case 414:
	case 431: return "urn:fulcrum:problem:too-large";
	case 415: return "urn:fulcrum:problem:unsupported-media-type";
	case 422: return "urn:fulcrum:problem:invalid";
	case 429: return "urn:fulcrum:problem:rate-limited";
	case 503: return "urn:fulcrum:problem:unavailable";
	case 505: return "urn:fulcrum:problem:malformed";
	default: return "urn:fulcrum:problem:server-error";
	}
}

void http_problem(struct http_resp *rs, int status, const char *detail_fmt, ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	json_decref(rs->json);
	rs->status = status;
	rs->json = json_pack("{s:s, s:s, s:i, s:s}", "type", problem_type(status), "title",
			     http_reason(status), "status", status, "detail", detail);
	rs->content_type = "application/problem+json";
}

/* ---- JSON bodies ---- */

/* One table: a flow's FL_E* status → the HTTP status that answers it. */
int http_status_of(int fl_status)
{
	switch (fl_status) {
	case FL_EOK: return 200;
	case FL_EINVAL:
	case FL_ELIMIT: return 422;
	case FL_ENOTFOUND: return 404;
	case FL_ECONFLICT: return 409;
	case FL_ETOOBIG: return 413;
	case FL_EAUTH: return 401;
	case FL_EIO:
	case FL_EDB:
	case FL_EBUSY:
	case FL_ETIMEOUT:
	case FL_ERULE: return 503;
	case FL_ENOMEM:
	case FL_ESOLVER:
	case FL_EINTERNAL:
	default: return 500;
	}
}

void http_fail(struct http_resp *rs, const struct fl_err *err)
{
	const int st = err && err->status ? err->status : FL_EINTERNAL;
	if (st == FL_EIO) /* the disk, not the request: an operator must hear of it */
		fprintf(stderr, "fulcrum: store: cannot write: %s\n", err->msg);
	http_problem(rs, http_status_of(st), "%s", err && err->msg[0] ? err->msg : fl_strerror(st));
}

int http_json_parse(const char *body, size_t len, int max_depth, json_t **out, char *detail,
		    size_t cap)
{
	int depth = 0;
	bool in_str = false;
	json_error_t e;

	*out = NULL;
	/* nesting is counted before jansson sees the text, so no deep recursion happens */
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max_depth) {
				snprintf(detail, cap, "body: JSON nested deeper than %d levels",
					 max_depth);
				return 400;
			}
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		snprintf(detail, cap, "body: %s (line %d, column %d)", e.text, e.line, e.column);
		return 400;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(detail, cap, "body: must be a JSON object");
		return 400;
	}
	*out = j;
	return 0;
}

const char *http_query(struct http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- routing ---- */

/* Match path against pattern; captures {x} segments into rq->params. */
static bool match(const char *pattern, const char *path, struct http_req *rq)
{
	int np = 0;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++, path++;
		const char *pe = strchrnul(pattern, '/'), *se = strchrnul(path, '/');
		if (*pattern == '{') {
			size_t n = (size_t)(se - path);
			if (n == 0 || n > FL_ID_MAX || np == HTTP_PARAMS_MAX)
				return false;
			if (rq) {
				memcpy(rq->params[np], path, n);
				rq->params[np][n] = '\0';
			}
			np++;
		} else if (pe - pattern != se - path ||
			   memcmp(pattern, path, (size_t)(pe - pattern))) {
			return false;
		}
		pattern = pe, path = se;
	}
	if (*pattern || *path)
		return false;
	if (rq)
		rq->nparams = np;
	return true;
}

/* The route for (method, path): its index, -404 or -405 (with allow filled). */
static int route_find(const char *method, const char *path, char *allow, size_t cap)
{
	bool path_known = false;
	allow[0] = '\0';
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (size_t i = 0; i < http_nroutes; i++) {
		if (!match(http_routes[i].pattern, path, NULL))
			continue;
		if (strcmp(http_routes[i].method, method) == 0)
			return (int)i;
		path_known = true;
		if (!strstr(allow, http_routes[i].method)) {
			size_t n = strlen(allow);
			snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", http_routes[i].method);
		}
	}
	return path_known ? -405 : -404;
}

/* ---- one request's life ---- */

struct request {
	struct timespec t0;
	int route;
	int status;
	char *body;
	size_t len, cap, limit;
	bool too_big;
	bool answered;
	unsigned role;
	char method[16];
	char request_id[HTTP_REQUEST_ID_MAX];
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct request *r,
				 struct http_resp *rs)
{
	char *buf;
	size_t len;
	const char *ctype;

	if (rs->static_body && rs->status == 200) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			rs->static_len, (void *)rs->static_body, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", rs->content_type);
		MHD_add_response_header(resp, "X-Request-Id", r->request_id);
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
		char csp[512];
		http_console_csp(csp, sizeof(csp), NULL);
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
		enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
		MHD_destroy_response(resp);
		r->status = 200;
		r->answered = true;
		return ret;
	}
	if (rs->json) {
		if (rs->status >= 400 && json_is_object(rs->json))
			json_object_set_new(rs->json, "request_id", json_string(r->request_id));
		buf = json_dumps(rs->json, JSON_COMPACT | JSON_REAL_PRECISION(15));
		ctype = rs->content_type ? rs->content_type : "application/json";
	} else {
		buf = rs->text ? rs->text : strdup("");
		rs->text = NULL;
		ctype = rs->content_type ? rs->content_type : "text/plain; charset=utf-8";
	}
	json_decref(rs->json);
	rs->json = NULL;
	if (!buf) {
		rs->status = 500;
		buf = strdup("{\"title\":\"Internal Server Error\",\"status\":500}");
		ctype = "application/problem+json";
		if (!buf)
			return MHD_NO;
	}
	len = strlen(buf);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (rs->nonce[0]) {
		char csp[512];
		http_console_csp(csp, sizeof(csp), rs->nonce);
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (rs->status == 405 && rs->allow[0])
		MHD_add_response_header(resp, "Allow", rs->allow);
	if (rs->status == 429 || rs->status == 503) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", rs->retry_after > 0 ? rs->retry_after : 1);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (rs->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (rs->location[0])
		MHD_add_response_header(resp, "Location", rs->location);
	if (rs->async)
		MHD_add_response_header(resp, "Preference-Applied", "respond-async");
	if (atomic_load(&shutting_down) || rs->close)
		MHD_add_response_header(resp, "Connection", "close");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, resp);
	MHD_destroy_response(resp);
	r->status = rs->status;
	r->answered = true;
	return ret;
}

static bool json_content_type(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strlen("application/json");
	return strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *conn, struct request *r,
				const char *url)
{
	struct http_resp rs = {0};
	struct http_req rq = {.conn = conn, .method = r->method, .path = url, .cfg = &srv->cfg};
	const struct http_route *route = &http_routes[r->route];
	struct fl_err err = {0};

	snprintf(rq.request_id, sizeof(rq.request_id), "%s", r->request_id);
	rq.body = r->body ? r->body : "";
	rq.body_len = r->len;
	match(route->pattern, url, &rq);
	rq.st = thread_store(srv, &err);
	if (!rq.st) {
		http_problem(&rs, 503, "store: %s", err.msg);
		return send_resp(conn, r, &rs);
	}
	if (route->roles) {
		const char *auth =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
		char id[17];
		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
			http_problem(&rs, 401, "Authorization: a bearer token is required");
			return send_resp(conn, r, &rs);
		}
		int rc = http_token_check(rq.st, auth + 7, &rq.role, id);
		if (rc == FL_EAUTH) {
			http_problem(&rs, 401, "Authorization: the token is not valid");
			return send_resp(conn, r, &rs);
		} else if (rc) {
			http_problem(&rs, 503, "store: cannot check the token");
			return send_resp(conn, r, &rs);
		}
		r->role = rq.role;
		memcpy(rq.token_id, id, sizeof(id));
		if (!(rq.role & (route->roles | HTTP_ROLE_ADMIN))) {
			http_problem(&rs, 403, "role '%s' may not %s %s", http_role_name(rq.role),
				     route->method, route->pattern);
			return send_resp(conn, r, &rs);
		}
		int wait = rate_take(srv, id);
		if (wait) {
			http_problem(&rs, 429, "rate limit of %g requests/s for this token",
				     srv->cfg.rate_limit);
			rs.retry_after = wait;
			return send_resp(conn, r, &rs);
		}
	}
	if (route->json_body && !json_content_type(MHD_lookup_connection_value(
					conn, MHD_HEADER_KIND, "Content-Type"))) {
		http_problem(&rs, 415, "Content-Type: must be application/json");
		return send_resp(conn, r, &rs);
	}
	route->fn(&rq, &rs);
	if (!rs.status) {
		http_problem(&rs, 500, "handler gave no answer");
	}
	return send_resp(conn, r, &rs);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'		    ? c - '0'
	       : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
						    : -1;
}

/*
 * Percent-decoding of the path and the query, in place: every %XX but those that would
 * give a control character (NUL among them), which stay as they are so the request can be
 * refused; decoded, a NUL would cut "ab%00cd" short to "ab".
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls, (void)conn;
	char *w = s;
	for (const char *r = s; *r;) {
		const int hi = r[0] == '%' ? hexval(r[1]) : -1, lo = hi >= 0 ? hexval(r[2]) : -1;
		const int c = hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
		if (c >= 0x20 && c != 0x7f) {
			*w++ = (char)c;
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* A control character in the path, raw or left encoded by unescape: refused. */
static bool path_has_control(const char *url)
{
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return true;
		const int hi = p[0] == '%' ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
		if (hi >= 0 && lo >= 0 && (hi * 16 + lo < 0x20 || hi * 16 + lo == 0x7f))
			return true;
	}
	return false;
}

struct header_count {
	const char *name;
	int n;
	size_t bytes; /* every value of the kinds counted, with its key and separators */
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct header_count *h = cls;
	(void)kind;
	h->n += h->name && !strcasecmp(key, h->name);
	h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* On the health listener only the two public probes are routed. */
static bool health_route_ok(const struct door *door, int route)
{
	if (!door->health)
		return true;
	const char *p = http_routes[route].pattern;
	return !strcmp(p, "/healthz") || !strcmp(p, "/readyz");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	const struct door *door = cls; /* set before the listener started: no race */
	struct server *srv = door->srv;
	struct request *r = *con_cls;
	(void)version;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		http_heads_begin(conn);
		atomic_fetch_add(&in_flight, 1);
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		snprintf(r->method, sizeof(r->method), "%s", method);
		const char *rid =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
		if (rid && request_id_ok(rid))
			snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
		else
			new_request_id(r->request_id);
		struct http_resp rs = {0};
		struct header_count auth = {"Authorization", 0, 0}, args = {NULL, 0, 0};
		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &auth);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_header, &args);
		/* a head past HTTP_FRONT_HEAD_MAX never reaches here: the front answers it */
		if (strlen(url) + args.bytes > HTTP_URL_MAX) {
			http_problem(&rs, 414, "the URL: longer than %d bytes", HTTP_URL_MAX);
			return send_resp(conn, r, &rs);
		}
		if (auth.bytes > HTTP_HEADERS_MAX) {
			http_problem(&rs, 431, "the headers: more than %d bytes", HTTP_HEADERS_MAX);
			return send_resp(conn, r, &rs);
		}
		if (path_has_control(url)) {
			http_problem(&rs, 400, "path: a control character (an encoded NUL?)");
			return send_resp(conn, r, &rs);
		}
		if (auth.n > 1) {
			http_problem(&rs, 400, "Authorization: given %d times", auth.n);
			return send_resp(conn, r, &rs);
		}
		r->route = route_find(method, url, rs.allow, sizeof(rs.allow));
		if (r->route == -404) {
			http_problem(&rs, 404, "no route %s %s", method, url);
			return send_resp(conn, r, &rs);
		}
		if (r->route == -405) {
			http_problem(&rs, 405, "%s does not take %s (allowed: %s)", url, method,
				     rs.allow);
			return send_resp(conn, r, &rs);
		}
		if (!health_route_ok(door, r->route)) {
			http_problem(&rs, 404, "this port serves only /healthz and /readyz");
			return send_resp(conn, r, &rs);
		}
		r->limit = http_routes[r->route].large_body ? srv->cfg.import_limit
							    : srv->cfg.body_limit;
		const char *cl =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > r->limit) {
			http_problem(&rs, 413, "body: larger than %zu bytes", r->limit);
			return send_resp(conn, r, &rs);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->answered || r->too_big)
			return MHD_YES;
		if (r->len + n > r->limit) {
			r->too_big = true; /* chunked, without a length: refuse at the end */
			free(r->body);
			r->body = NULL;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) { /* limit + 1: the body limit was checked above */
			size_t ncap = r->cap;
			if (fl_grow((void **)&r->body, &ncap, r->len + n + 1, 1, r->limit + 1))
				return MHD_NO;
			r->cap = ncap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	/* the front cut a chunked body short: it says why in a trailer; the rest of the body
	 * is still on its way, so the connection closes after the answer */
	const char *cut = MHD_lookup_connection_value(conn, MHD_FOOTER_KIND, HTTP_FRONT_REFUSED);
	if (cut) {
		struct http_resp rs = {.close = true};
		char *end;
		const long status = strtol(cut, &end, 10);
		if (status >= 400 && status < 600 && *end == ' ')
			http_problem(&rs, (int)status, "%s", end + 1);
		else
			http_problem(&rs, 400, "%s: not the front's", HTTP_FRONT_REFUSED);
		return send_resp(conn, r, &rs);
	}
	if (r->too_big) {
		struct http_resp rs = {0};
		http_problem(&rs, 413, "body: larger than %zu bytes", r->limit);
		return send_resp(conn, r, &rs);
	}
	return dispatch(srv, conn, r, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	const struct server *srv = ((const struct door *)cls)->srv;
	struct request *r = *con_cls;
	http_heads_end(conn);
	if (!r)
		return;
	double secs = since(&r->t0);
	int status = r->answered ? r->status : 499; /* the client went away */
	metrics_record(r->route >= 0 ? r->route : -1, status, secs);
	if (srv->cfg.access_log) {
		char ts[32], line[512];
		struct timespec wall;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &wall);
		gmtime_r(&wall.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(line, sizeof(line),
			 "{\"time\":\"%s.%03ldZ\",\"request_id\":\"%s\",\"method\":\"%s\","
			 "\"route\":\"%s\",\"status\":%d,\"duration_ms\":%.3f,\"role\":\"%s\"%s}\n",
			 ts, wall.tv_nsec / 1000000, r->request_id, r->method,
			 r->route >= 0 ? http_routes[r->route].pattern : "unmatched", status,
			 secs * 1e3, r->role ? http_role_name(r->role) : "none",
			 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
		fputs(line, stderr);
	}
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&in_flight, 1);
}

/* WAL checkpoints off the request path: every 200 ms, PASSIVE, on a connection of its own. */
static void *checkpoint_loop(void *arg)
{
	struct server *srv = arg;
	struct store *st = NULL;
	struct fl_err err = {0};
	if (store_open(srv->cfg.db, &st, &err)) {
		fprintf(stderr, "fulcrum: checkpointer: %s\n", err.msg);
		return NULL;
	}
	while (!atomic_load(&srv->stop_checkpointer)) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		store_checkpoint(st, NULL);
	}
	store_checkpoint(st, NULL);
	store_close(st);
	return NULL;
}

/* ---- serve ---- */

#define STOP_WATCHDOG_S 5 /* seconds past the grace before a stuck worker is left behind */

static void *stop_watchdog(void *arg)
{
	(void)arg;
	struct timespec ts = {STOP_WATCHDOG_S, 0};
	nanosleep(&ts, NULL);
	fprintf(stderr, "fulcrum: a worker did not stop within %d s of the grace: exiting\n",
		STOP_WATCHDOG_S);
	_exit(1);
}

/* What one listener differs in; the rest is shared. */
struct listener {
	int port;
	unsigned flags, threads, limit, timeout, per_ip;
	struct door *door;
};

/* libmicrohttpd's messages, but for the TCP options it tries on the front's socket pairs
 * (they are not TCP: the front sets them on the client's socket). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "TCP_NODELAY") || strstr(line, "TCP_CORK") ||
	    strstr(line, "push the data from buffers"))
		return;
	fprintf(stderr, "fulcrum: libmicrohttpd: %s%s", line,
		line[0] && line[strlen(line) - 1] == '\n' ? "" : "\n");
}

/* The body limit of a request the front reads (cls: the listener's door). */
static size_t limit_of(const void *cls, const char *method, const char *path)
{
	const struct http_config *cfg = &((const struct door *)cls)->srv->cfg;
	char allow[64];
	const int route = route_find(method, path, allow, sizeof(allow));
	return route >= 0 && http_routes[route].large_body ? cfg->import_limit : cfg->body_limit;
}

/*
 * Listen on host:l->port, every request through on_request: libmicrohttpd without a
 * listening socket of its own, fed by the front (http/front.c), which owns the port and
 * counts connections per address; its own cap leaves room past libmicrohttpd's limit for
 * the refused connections it is still draining. NULL (errno) if it cannot.
 */
static struct MHD_Daemon *listen_on(struct server *srv, const struct listener *l,
				    struct http_front **front)
{
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
			MHD_USE_NO_LISTEN_SOCKET | l->flags,
		0, NULL, NULL, &on_request, l->door, MHD_OPTION_EXTERNAL_LOGGER, &mhd_log, NULL,
		MHD_OPTION_THREAD_POOL_SIZE, l->threads, MHD_OPTION_CONNECTION_LIMIT, l->limit,
		MHD_OPTION_CONNECTION_TIMEOUT, l->timeout, MHD_OPTION_NOTIFY_COMPLETED,
		&on_completed, l->door, MHD_OPTION_NOTIFY_CONNECTION, &http_heads_notify, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, &unescape, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HTTP_HEAD_MEMORY, MHD_OPTION_END);
	if (!d)
		return NULL;
	*front = http_front_start(d, srv->cfg.host, l->port, l->limit + l->limit / 8 + 16,
				  l->per_ip, &limit_of, l->door);
	if (!*front) {
		const int e = errno;
		MHD_stop_daemon(d);
		errno = e;
		return NULL;
	}
	return d;
}

/* The health listener (health_port >= 0): one thread, its own connection limit, short
 * idle timeout, so the probes answer while the main port is full. */
static int start_health(struct server *srv, struct fl_err *err)
{
	if (srv->cfg.health_port < 0)
		return 0;
	srv->health_door = (struct door){srv, true};
	const struct listener l = {srv->cfg.health_port, 0, 0, 64, 5, 16, &srv->health_door};
	if (!(srv->health = listen_on(srv, &l, &srv->health_front)))
		return fl_err_set(err, FL_EIO, "cannot listen on %s:%d (health_port): %s",
				  srv->cfg.host, srv->cfg.health_port, strerror(errno));
	return 0;
}

/* Stop what http_serve started beside the listeners, newest first. */
static void stop_background(struct server *srv)
{
	http_heads_stop();
	http_webhooks_stop();
	http_jobs_stop();
	atomic_store(&srv->stop_checkpointer, 1);
	pthread_join(srv->checkpointer, NULL);
}

int http_serve(const struct http_config *cfg, struct fl_err *err)
{
	static struct server srv; /* one per process; metrics and limiter are global too */
	int i;

	srv.cfg = *cfg;
	/* the store must open (and migrate) before we listen */
	struct store *probe;
	int rc = store_open(srv.cfg.db, &probe, err);
	if (rc)
		return rc;
	store_close(probe);

	/* idle connections hold descriptors: raise the soft limit to the hard one */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* signals go to the main thread's sigwait, never to a worker */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&srv.lock, NULL);
	atomic_store(&srv.stop_checkpointer, 0);
	if (pthread_create(&srv.checkpointer, NULL, checkpoint_loop, &srv) != 0) {
		return fl_err_set(err, FL_EINTERNAL, "cannot start the checkpoint thread");
	}
	const struct listener main_port = {srv.cfg.port,
					   MHD_USE_TURBO,
					   (unsigned)srv.cfg.threads,
					   srv.cfg.connection_limit,
					   srv.cfg.connection_timeout,
					   srv.cfg.connection_limit_per_ip,
					   &srv.main_door};
	srv.main_door = (struct door){&srv, false};
	/* the job worker first: a request may queue a job as soon as we listen */
	if ((rc = http_jobs_start(&srv.cfg, err)) || (rc = http_webhooks_start(&srv.cfg, err))) {
		http_jobs_stop();
		atomic_store(&srv.stop_checkpointer, 1);
		pthread_join(srv.checkpointer, NULL);
		return rc;
	}
	if (http_heads_start(srv.cfg.header_timeout)) {
		stop_background(&srv);
		return fl_err_set(err, FL_EINTERNAL, "cannot start the header-timeout thread");
	}
	srv.daemon = listen_on(&srv, &main_port, &srv.front);
	if (!srv.daemon) {
		stop_background(&srv);
		return fl_err_set(err, FL_EIO, "cannot listen on %s:%d: %s", srv.cfg.host,
				  srv.cfg.port, strerror(errno));
	}
	if ((rc = start_health(&srv, err))) {
		http_front_quiesce(srv.front);
		MHD_stop_daemon(srv.daemon);
		http_front_stop(srv.front);
		stop_background(&srv);
		return rc;
	}
	const int port = http_front_port(srv.front);
	fprintf(stderr, "fulcrum: serving %s on http://%s:%d with %d threads\n", srv.cfg.db,
		srv.cfg.host, port, srv.cfg.threads);
	printf("listening on %s:%d\n", srv.cfg.host, port);
	if (srv.health) {
		printf("health on %s:%d\n", srv.cfg.host, http_front_port(srv.health_front));
	}
	fflush(stdout);

	int sig = 0;
	sigwait(&set, &sig);
	atomic_store(&shutting_down, 1);
	fprintf(stderr, "fulcrum: %s: finishing %ld in-flight requests\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM", atomic_load(&in_flight));
	http_front_quiesce(srv.front);
	double deadline = now_s() + srv.cfg.shutdown_grace;
	while (atomic_load(&in_flight) > 0 && now_s() < deadline) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	/* a worker stuck inside C past the grace must not keep the process: what it had not
	 * committed is not lost (it was never acknowledged), what it had is on disk */
	pthread_t dog;
	if (pthread_create(&dog, NULL, stop_watchdog, NULL) == 0)
		pthread_detach(dog);
	MHD_stop_daemon(srv.daemon);
	http_front_stop(srv.front); /* every connection's other end is closed: close them */
	if (srv.health) {
		http_front_quiesce(srv.health_front);
		MHD_stop_daemon(srv.health);
		http_front_stop(srv.health_front);
	}
	srv.health = NULL;
	srv.front = srv.health_front = NULL;
	stop_background(&srv); /* after the daemons: every connection is unregistered */
	for (i = 0; i < srv.nstores; i++)
		store_close(srv.stores[i]);
	flow_snapshot_drop();
	flow_rules_drop();
	flow_rules_thread_release();
	srv.nstores = 0;
	pthread_mutex_destroy(&srv.lock);
	fprintf(stderr, "fulcrum: stopped\n");
	return 0;
}
