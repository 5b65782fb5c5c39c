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
#include <sys/resource.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

/* ---- metrics: fixed arrays indexed by route and status, all atomic ---- */

#define MAX_ROUTES 64
static const int known_status[] = {200, 201, 204, 400, 401, 403, 404, 405,
				   409, 413, 415, 422, 429, 500, 503};
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

void api_metrics_decision(const char *status)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(status, decision_status[i]) == 0)
			atomic_fetch_add(&decisions[i], 1);
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

char *api_metrics_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	if (!fp)
		return NULL;
	fputs("# HELP fulcrum_http_requests_total HTTP requests by route, method and status.\n"
	      "# TYPE fulcrum_http_requests_total counter\n",
	      fp);
	for (size_t r = 0; r <= api_nroutes; r++) {
		size_t idx = r < api_nroutes ? r : MAX_ROUTES;
		const char *route = r < api_nroutes ? api_routes[r].pattern : "unmatched";
		const char *method = r < api_nroutes ? api_routes[r].method : "any";
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
	for (size_t r = 0; r <= api_nroutes; r++) {
		size_t idx = r < api_nroutes ? r : MAX_ROUTES;
		char label[160];
		snprintf(label, sizeof(label), "route=\"%s\",method=\"%s\"",
			 r < api_nroutes ? api_routes[r].pattern : "unmatched",
			 r < api_nroutes ? api_routes[r].method : "any");
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
	fputs("# HELP fulcrum_decisions_total Fulfilment decisions by status.\n"
	      "# TYPE fulcrum_decisions_total counter\n",
	      fp);
	for (int i = 0; i < 3; i++)
		fprintf(fp, "fulcrum_decisions_total{status=\"%s\"} %lu\n", decision_status[i],
			atomic_load(&decisions[i]));
	fclose(fp);
	return buf;
}

/* ---- per-thread state: the store and a PRNG for request ids ---- */

struct server {
	struct api_config cfg;
	pthread_t checkpointer;
	atomic_int stop_checkpointer;
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock; /* guards stores[] and the rate limiter */
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

static void new_request_id(char out[API_REQUEST_ID_MAX])
{
	if (!tl_rng && getrandom(&tl_rng, sizeof(tl_rng), 0) != sizeof(tl_rng))
		tl_rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&tl_rng;
	tl_rng ^= tl_rng << 13, tl_rng ^= tl_rng >> 7, tl_rng ^= tl_rng << 17;
	snprintf(out, API_REQUEST_ID_MAX, "req_%016llx", (unsigned long long)tl_rng);
}

/* A caller's id is echoed when it is short and plain: [A-Za-z0-9._:-]{1,64}. */
static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= API_REQUEST_ID_MAX)
		return false;
	for (; *s; s++)
		if (!(((*s | 32) >= 'a' && (*s | 32) <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == ':' || *s == '-'))
			return false;
	return true;
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

static const char *reason(int status)
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
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
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
	case 413: return "urn:fulcrum:problem:too-large";
	case 415: return "urn:fulcrum:problem:unsupported-media-type";
	case 422: return "urn:fulcrum:problem:invalid";
	case 429: return "urn:fulcrum:problem:rate-limited";
	case 503: return "urn:fulcrum:problem:unavailable";
	default: return "urn:fulcrum:problem:server-error";
	}
}

void api_problem(struct api_resp *rs, int status, const char *detail_fmt, ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	json_decref(rs->json);
	rs->status = status;
	rs->json = json_pack("{s:s, s:s, s:i, s:s}", "type", problem_type(status), "title",
			     reason(status), "status", status, "detail", detail);
	rs->content_type = "application/problem+json";
}

/* ---- JSON bodies ---- */

int api_json_parse(const char *body, size_t len, int max_depth, json_t **out, char *detail,
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

const char *api_query(struct api_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- routing ---- */

/* Match path against pattern; captures {x} segments into rq->params. */
static bool match(const char *pattern, const char *path, struct api_req *rq)
{
	int np = 0;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++, path++;
		const char *pe = strchrnul(pattern, '/'), *se = strchrnul(path, '/');
		if (*pattern == '{') {
			size_t n = (size_t)(se - path);
			if (n == 0 || n > FL_ID_MAX || np == API_PARAMS_MAX)
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
	for (size_t i = 0; i < api_nroutes; i++) {
		if (!match(api_routes[i].pattern, path, NULL))
			continue;
		if (strcmp(api_routes[i].method, method) == 0)
			return (int)i;
		path_known = true;
		if (!strstr(allow, api_routes[i].method)) {
			size_t n = strlen(allow);
			snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", api_routes[i].method);
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
	char request_id[API_REQUEST_ID_MAX];
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct request *r,
				 struct api_resp *rs)
{
	char *buf;
	size_t len;
	const char *ctype;

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
	if (rs->status == 405 && rs->allow[0])
		MHD_add_response_header(resp, "Allow", rs->allow);
	if (rs->status == 429) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", rs->retry_after > 0 ? rs->retry_after : 1);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (rs->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (atomic_load(&shutting_down))
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
	struct api_resp rs = {0};
	struct api_req rq = {.conn = conn, .method = r->method, .path = url, .cfg = &srv->cfg};
	const struct api_route *route = &api_routes[r->route];
	struct fl_err err = {0};

	snprintf(rq.request_id, sizeof(rq.request_id), "%s", r->request_id);
	rq.body = r->body ? r->body : "";
	rq.body_len = r->len;
	match(route->pattern, url, &rq);
	rq.st = thread_store(srv, &err);
	if (!rq.st) {
		api_problem(&rs, 503, "store: %s", err.msg);
		return send_resp(conn, r, &rs);
	}
	if (route->roles) {
		const char *auth =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
		char id[17];
		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
			api_problem(&rs, 401, "Authorization: a bearer token is required");
			return send_resp(conn, r, &rs);
		}
		int rc = api_token_check(rq.st, auth + 7, &rq.role, id);
		if (rc == FL_EAUTH) {
			api_problem(&rs, 401, "Authorization: the token is not valid");
			return send_resp(conn, r, &rs);
		} else if (rc) {
			api_problem(&rs, 503, "store: cannot check the token");
			return send_resp(conn, r, &rs);
		}
		r->role = rq.role;
		memcpy(rq.token_id, id, sizeof(id));
		if (!(rq.role & (route->roles | API_ROLE_ADMIN))) {
			api_problem(&rs, 403, "role '%s' may not %s %s", api_role_name(rq.role),
				    route->method, route->pattern);
			return send_resp(conn, r, &rs);
		}
		int wait = rate_take(srv, id);
		if (wait) {
			api_problem(&rs, 429, "rate limit of %g requests/s for this token",
				    srv->cfg.rate_limit);
			rs.retry_after = wait;
			return send_resp(conn, r, &rs);
		}
	}
	if (route->json_body && !json_content_type(MHD_lookup_connection_value(
					conn, MHD_HEADER_KIND, "Content-Type"))) {
		api_problem(&rs, 415, "Content-Type: must be application/json");
		return send_resp(conn, r, &rs);
	}
	route->fn(&rq, &rs);
	if (!rs.status) {
		api_problem(&rs, 500, "handler gave no answer");
	}
	return send_resp(conn, r, &rs);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct request *r = *con_cls;
	(void)version;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&in_flight, 1);
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		snprintf(r->method, sizeof(r->method), "%s", method);
		const char *rid =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
		if (rid && request_id_ok(rid))
			snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
		else
			new_request_id(r->request_id);
		struct api_resp rs = {0};
		r->route = route_find(method, url, rs.allow, sizeof(rs.allow));
		if (r->route == -404) {
			api_problem(&rs, 404, "no route %s %s", method, url);
			return send_resp(conn, r, &rs);
		}
		if (r->route == -405) {
			api_problem(&rs, 405, "%s does not take %s (allowed: %s)", url, method,
				    rs.allow);
			return send_resp(conn, r, &rs);
		}
		r->limit = api_routes[r->route].large_body ? srv->cfg.import_limit
							   : srv->cfg.body_limit;
		const char *cl =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > r->limit) {
			api_problem(&rs, 413, "body: larger than %zu bytes", r->limit);
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
		if (r->len + n + 1 > r->cap) {
			size_t ncap = r->cap ? r->cap : 4096;
			while (ncap < r->len + n + 1)
				ncap *= 2;
			char *p = realloc(r->body, ncap);
			if (!p)
				return MHD_NO;
			r->body = p;
			r->cap = ncap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (r->too_big) {
		struct api_resp rs = {0};
		api_problem(&rs, 413, "body: larger than %zu bytes", r->limit);
		return send_resp(conn, r, &rs);
	}
	return dispatch(srv, conn, r, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct request *r = *con_cls;
	(void)conn;
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
			 r->route >= 0 ? api_routes[r->route].pattern : "unmatched", status,
			 secs * 1e3, r->role ? api_role_name(r->role) : "none",
			 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
		fputs(line, stderr);
	}
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&in_flight, 1);
}

/* ---- settings ---- */

void api_config_default(struct api_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->host, sizeof(c->host), "127.0.0.1");
	c->port = 8080;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = cores > 0 ? (int)cores : 2;
	c->connection_limit = 1000;
	c->connection_timeout = 30;
	c->body_limit = 1u << 20;
	c->import_limit = 64u << 20;
	c->json_depth = 32;
	c->rate_limit = 0;
	c->rate_burst = 100;
	c->access_log = true;
	c->shutdown_grace = 10;
}

static int set_num(const char *key, const char *v, double lo, double hi, double *out,
		   struct fl_err *err)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (!*v || *end || errno || !(d >= lo && d <= hi))
		return fl_err_set(err, FL_EINVAL, "%s: '%s' is not a number in [%g, %g]", key, v,
				  lo, hi);
	*out = d;
	return 0;
}

int api_config_set(struct api_config *c, const char *key, const char *v, struct fl_err *err)
{
	double d;
	int rc = 0;
	if (strcmp(key, "db") == 0) {
		if (!*v || strlen(v) >= sizeof(c->db))
			return fl_err_set(err, FL_EINVAL, "db: empty or too long");
		snprintf(c->db, sizeof(c->db), "%s", v);
	} else if (strcmp(key, "host") == 0) {
		struct in_addr a;
		if (inet_pton(AF_INET, v, &a) != 1)
			return fl_err_set(err, FL_EINVAL, "host: '%s' is not an IPv4 address", v);
		snprintf(c->host, sizeof(c->host), "%s", v);
	} else if (strcmp(key, "port") == 0) {
		if (!(rc = set_num(key, v, 0, 65535, &d, err)))
			c->port = (int)d;
	} else if (strcmp(key, "threads") == 0) {
		if (!(rc = set_num(key, v, 1, 128, &d, err)))
			c->threads = (int)d;
	} else if (strcmp(key, "connection_limit") == 0) {
		if (!(rc = set_num(key, v, 1, 100000, &d, err)))
			c->connection_limit = (unsigned)d;
	} else if (strcmp(key, "connection_timeout") == 0) {
		if (!(rc = set_num(key, v, 1, 3600, &d, err)))
			c->connection_timeout = (unsigned)d;
	} else if (strcmp(key, "body_limit") == 0) {
		if (!(rc = set_num(key, v, 1024, 1 << 30, &d, err)))
			c->body_limit = (size_t)d;
	} else if (strcmp(key, "import_limit") == 0) {
		if (!(rc = set_num(key, v, 1024, 4.0 * (1 << 30), &d, err)))
			c->import_limit = (size_t)d;
	} else if (strcmp(key, "json_depth") == 0) {
		if (!(rc = set_num(key, v, 2, 1000, &d, err)))
			c->json_depth = (int)d;
	} else if (strcmp(key, "rate_limit") == 0) {
		if (!(rc = set_num(key, v, 0, 1e9, &d, err)))
			c->rate_limit = d;
	} else if (strcmp(key, "rate_burst") == 0) {
		if (!(rc = set_num(key, v, 1, 1e9, &d, err)))
			c->rate_burst = d;
	} else if (strcmp(key, "shutdown_grace") == 0) {
		if (!(rc = set_num(key, v, 0, 600, &d, err)))
			c->shutdown_grace = (int)d;
	} else if (strcmp(key, "access_log") == 0) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fl_err_set(err, FL_EINVAL, "access_log: 'on' or 'off', not '%s'", v);
		c->access_log = strcmp(v, "on") == 0;
	} else if (strcmp(key, "rules_fail") == 0) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return fl_err_set(err, FL_EINVAL, "rules_fail: 0 or 1, not '%s'", v);
		c->rules_fail = strcmp(v, "1") == 0;
	} else {
		return fl_err_set(err, FL_EINVAL, "unknown setting '%s'", key);
	}
	return rc;
}

static const char *const config_keys[] = {"db",
					  "host",
					  "port",
					  "threads",
					  "connection_limit",
					  "connection_timeout",
					  "body_limit",
					  "import_limit",
					  "json_depth",
					  "rate_limit",
					  "rate_burst",
					  "access_log",
					  "shutdown_grace",
					  "rules_fail"};

int api_config_env(struct api_config *c, struct fl_err *err)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		char name[64];
		size_t n = (size_t)snprintf(name, sizeof(name), "FULCRUM_%s", config_keys[i]);
		for (size_t j = 8; j < n; j++)
			name[j] = (char)(name[j] >= 'a' && name[j] <= 'z' ? name[j] - 32 : name[j]);
		const char *v = getenv(name);
		if (v && api_config_set(c, config_keys[i], v, err)) {
			fl_err_prefix(err, "%s", name);
			return FL_EINVAL;
		}
	}
	return 0;
}

int api_config_load(struct api_config *c, const char *path, struct fl_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[2048];
	int lineno = 0, rc = 0;
	if (!fp)
		return fl_err_set(err, FL_EIO, "%s: %s", path, strerror(errno));
	while (!rc && fgets(line, sizeof(line), fp)) {
		lineno++;
		char *p = line, *eq, *k, *v;
		p[strcspn(p, "#\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%d: expected 'key = value'", path,
					lineno);
			break;
		}
		*eq = '\0';
		k = p, v = eq + 1;
		for (char *e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		for (size_t n = strlen(v); n && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
			v[n - 1] = '\0';
		if ((rc = api_config_set(c, k, v, err)))
			fl_err_prefix(err, "%s:%d", path, lineno);
	}
	fclose(fp);
	return rc;
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

static void serve_usage(FILE *fp)
{
	fprintf(fp, "usage: fulcrum serve --db FILE [--port N] [--host ADDR] [--threads N]\n"
		    "                     [--config FILE] [--set KEY=VALUE]...\n\n"
		    "Settings, lowest precedence first: defaults, the --config file (lines\n"
		    "'key = value', # comments), FULCRUM_<KEY> environment variables, flags.\n\n"
		    "  db                  the SQLite store (required)\n"
		    "  host                IPv4 address to listen on (127.0.0.1)\n"
		    "  port                TCP port (8080; 0 picks a free one and prints it)\n"
		    "  threads             worker threads (the number of cores)\n"
		    "  connection_limit    open connections at once (1000)\n"
		    "  connection_timeout  seconds an idle connection is kept (30)\n"
		    "  body_limit          bytes of a request body, 413 beyond (1048576)\n"
		    "  import_limit        bytes of a POST /v1/import body (67108864)\n"
		    "  json_depth          nesting of a JSON body, 400 beyond (32)\n"
		    "  rate_limit          requests/s per token, 429 beyond; 0 = off (0)\n"
		    "  rate_burst          requests a token may burst (100)\n"
		    "  access_log          on|off: one JSON line per request on stderr (on)\n"
		    "  shutdown_grace      seconds in-flight requests get on SIGINT/SIGTERM (10)\n"
		    "  rules_fail          1: a failing rule fails the request (503); 0: it is\n"
		    "                      skipped and reported in the decision (0)\n");
}

int api_cmd_serve(int argc, char **argv)
{
	static struct server srv; /* one per process; metrics and limiter are global too */
	struct fl_err err = {0};
	const char *config = NULL;
	int i;

	api_config_default(&srv.cfg);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[i + 1];
	if (config && api_config_load(&srv.cfg, config, &err))
		goto bad;
	if (api_config_env(&srv.cfg, &err))
		goto bad;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			serve_usage(stdout);
			return 0;
		}
		if (!v) {
			serve_usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--config") == 0)
			continue;
		if (strcmp(a, "--set") == 0) {
			char kv[2048];
			snprintf(kv, sizeof(kv), "%s", v);
			char *eq = strchr(kv, '=');
			if (!eq) {
				serve_usage(stderr);
				return 2;
			}
			*eq = '\0';
			if (api_config_set(&srv.cfg, kv, eq + 1, &err))
				goto bad;
		} else if (strncmp(a, "--", 2) == 0) {
			char key[64];
			snprintf(key, sizeof(key), "%s", a + 2);
			for (char *p = key; *p; p++)
				if (*p == '-')
					*p = '_';
			if (api_config_set(&srv.cfg, key, v, &err))
				goto bad;
		} else {
			serve_usage(stderr);
			return 2;
		}
	}
	if (!srv.cfg.db[0]) {
		serve_usage(stderr);
		return 2;
	}
	/* the store must open (and migrate) before we listen */
	struct store *probe;
	if (store_open(srv.cfg.db, &probe, &err))
		goto bad;
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
		fprintf(stderr, "fulcrum: serve: cannot start the checkpoint thread\n");
		return 1;
	}
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)srv.cfg.port)};
	inet_pton(AF_INET, srv.cfg.host, &addr.sin_addr);
	srv.daemon = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO, 0,
		NULL, NULL, &on_request, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv.cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
		srv.cfg.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, srv.cfg.connection_timeout,
		MHD_OPTION_NOTIFY_COMPLETED, &on_completed, &srv, MHD_OPTION_LISTEN_BACKLOG_SIZE,
		1024u, MHD_OPTION_END);
	if (!srv.daemon) {
		fprintf(stderr, "fulcrum: serve: cannot listen on %s:%d: %s\n", srv.cfg.host,
			srv.cfg.port, strerror(errno));
		return 1;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
	int port = info ? info->port : srv.cfg.port;
	fprintf(stderr, "fulcrum: serving %s on http://%s:%d with %d threads\n", srv.cfg.db,
		srv.cfg.host, port, srv.cfg.threads);
	atomic_store(&api_rules_fail_requests, srv.cfg.rules_fail ? 1 : 0);
	printf("listening on %s:%d\n", srv.cfg.host, port);
	fflush(stdout);

	int sig = 0;
	sigwait(&set, &sig);
	atomic_store(&shutting_down, 1);
	fprintf(stderr, "fulcrum: %s: finishing %ld in-flight requests\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM", atomic_load(&in_flight));
	MHD_socket ls = MHD_quiesce_daemon(srv.daemon);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	double deadline = now_s() + srv.cfg.shutdown_grace;
	while (atomic_load(&in_flight) > 0 && now_s() < deadline) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(srv.daemon);
	atomic_store(&srv.stop_checkpointer, 1);
	pthread_join(srv.checkpointer, NULL);
	for (i = 0; i < srv.nstores; i++)
		store_close(srv.stores[i]);
	api_snapshot_drop();
	api_rules_drop();
	api_rules_thread_release();
	srv.nstores = 0;
	pthread_mutex_destroy(&srv.lock);
	fprintf(stderr, "fulcrum: stopped\n");
	return 0;
bad:
	fprintf(stderr, "fulcrum: serve: %s\n", err.msg);
	return 1;
}
