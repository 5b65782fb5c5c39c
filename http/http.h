/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http.h — the HTTP door: the server on libmicrohttpd, routing, bearer tokens and roles,
 * problem documents (RFC 9457), metrics, the service's settings. Handlers parse the
 * request, call one flow (flow/flow.h) and map its FL_E* status to an HTTP status
 * through one table (http_status_of); no flow knows HTTP.
 *
 * Threads: handlers run on libmicrohttpd's worker threads; each worker owns its SQLite
 * connection (struct http_req.st). Everything a handler shares with other threads
 * (metrics, the rate limiter) is atomic or behind a mutex.
 */
#ifndef FULCRUM_HTTP_HTTP_H
#define FULCRUM_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "data/store.h"

/* ---- access ---- */

#define HTTP_ROLE_ORCHESTRATOR 1u
#define HTTP_ROLE_PLANNER 2u
#define HTTP_ROLE_ANALYST 4u
#define HTTP_ROLE_ADMIN 8u
#define HTTP_ROLE_ANY 15u /* any valid token */
#define HTTP_TOKEN_MAX 128

/* A role's bit from its name (0 if unknown); a bit's name ("none" if not one role). */
unsigned http_role_parse(const char *name);
const char *http_role_name(unsigned bit);

/* Create a token with role; writes "fk_<id>_<secret>" into token (shown once). */
int http_token_create(struct store *st, const char *role, char token[HTTP_TOKEN_MAX],
		      struct fl_err *err);
/* Check a presented bearer token: 0 and *role set, or FL_EAUTH (or a store error). */
int http_token_check(struct store *st, const char *bearer, unsigned *role, char id[17]);

/* ---- the service's settings ---- */

struct http_config {
	char db[1024];
	char host[64];
	int port;
	int health_port;	     /* a second listener for /healthz and /readyz only; -1: none */
	int threads;		     /* worker threads (libmicrohttpd's pool) */
	unsigned connection_limit;   /* open connections at once */
	unsigned connection_timeout; /* seconds of inactivity before a connection closes */
	unsigned header_timeout;     /* seconds a request's head may take in all (0: no limit) */
	unsigned connection_limit_per_ip; /* open connections from one address (0: no cap) */
	size_t body_limit;		  /* bytes of a request body (413 beyond) */
	size_t import_limit;		  /* bytes of a POST /v1/import body */
	int json_depth;			  /* nesting of a JSON body (400 beyond) */
	double rate_limit;		  /* requests per second per token; 0 = no limit */
	double rate_burst;		  /* bucket size */
	bool access_log;		  /* one JSON line per request on stderr */
	int shutdown_grace;		  /* seconds in-flight requests get at shutdown */
	bool rules_fail;		  /* a failing rule fails the request (else skipped) */
	int job_queue;			  /* scenario jobs waiting at once (503 beyond) */
	char webhook_hosts[1024];	  /* hosts webhooks may name, private ones included ("": any
				     public host) */
	int webhook_max_attempts, webhook_backoff_ms, webhook_timeout_ms,
		webhook_connect_timeout_ms, webhook_concurrency, webhook_pause_ms, webhook_breaker;
	bool forecast_warm; /* keep the default scenario's forecasts computed in the background */
};

void http_config_default(struct http_config *c);
/* Set one setting by its name ("port", "body_limit", …) from text. */
int http_config_set(struct http_config *c, const char *key, const char *value, struct fl_err *err);
/* Read "key = value" lines (# comments) from path. */
int http_config_load(struct http_config *c, const char *path, struct fl_err *err);
/* Apply FULCRUM_<KEY> environment variables. */
int http_config_env(struct http_config *c, struct fl_err *err);

/* ---- long work off the request path (http/jobs.c) ---- */

/*
 * One job worker, a thread with its own store, runs in turn: the forecast batch that keeps
 * the default scenario's forecasts complete (at start-up and after each import, when
 * forecast_warm), then queued scenario jobs, oldest first. Each job uses every core.
 * Status lives in the store; progress lives here, in memory, and dies with the process:
 * at start-up, scenarios left queued or running are failed with the reason.
 */
int http_jobs_start(const struct http_config *cfg, struct fl_err *err);
void http_jobs_stop(void); /* cancels what runs, joins the worker */
void http_jobs_poke(void); /* an import happened: look at the forecasts now */
/* Queue a scenario job: 0 and id, FL_EBUSY when the queue is full (job_queue). */
int http_jobs_submit(struct store *st, const json_t *body, char id[32], struct fl_err *err);
/* A live job's progress ({"phase", "fraction", …}), NULL when id is not queued or running. */
json_t *http_jobs_progress(const char *id);
/* Cancel a live job: 0 (queued: cancelled now; running: it stops at its next check), or
 * FL_ENOTFOUND when id is not live. */
int http_jobs_cancel(struct store *st, const char *id, struct fl_err *err);
/* GET /v1/forecasts/status's answer; its figures in Prometheus text on fp. */
json_t *http_jobs_forecast_status(struct store *st, struct fl_err *err);
void http_jobs_metrics(FILE *fp);

/* ---- webhook delivery (http/webhooks.c) ---- */
int http_webhooks_start(const struct http_config *cfg, struct fl_err *err);
void http_webhooks_stop(void);
void http_webhooks_metrics(FILE *fp);

/* ---- requests and responses, as handlers see them ---- */

#define HTTP_PARAMS_MAX 4
/* A request's head: its URL (path and query) and its headers have their own ceilings,
 * answered with problem documents (414, 431); the front (http/front.c) refuses a whole
 * head past HTTP_FRONT_HEAD_MAX before libmicrohttpd's per-connection memory,
 * HTTP_HEAD_MEMORY, would have to hold it. */
#define HTTP_URL_MAX 8192
#define HTTP_HEADERS_MAX 16384
#define HTTP_HEAD_MEMORY 65536
#define HTTP_REQUEST_ID_MAX 65

struct http_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	char params[HTTP_PARAMS_MAX][FL_ID_MAX + 1]; /* {name} segments, in order */
	int nparams;
	const char *body; /* NUL-terminated; may be empty */
	size_t body_len;
	unsigned role; /* 0 on public routes */
	char token_id[17];
	struct store *st; /* this worker thread's store */
	const struct http_config *cfg;
	char request_id[HTTP_REQUEST_ID_MAX];
};

struct http_resp {
	int status;
	json_t *json; /* owned; sent as application/json */
	char *text;   /* owned (malloc); sent with content_type */
	const char *content_type;
	char allow[64];		 /* 405: the methods the path takes */
	int retry_after;	 /* 429: seconds */
	char location[128];	 /* a Location header, when set (202, 201) */
	bool async;		 /* Preference-Applied: respond-async */
	bool close;		 /* Connection: close after this answer */
	const char *static_body; /* a body that outlives the response (the console's assets) */
	size_t static_len;	 /* sent with the console's Content-Security-Policy */
	char nonce[33];		 /* the console page's style nonce, for its CSP */
};

typedef void http_handler_fn(struct http_req *rq, struct http_resp *rs);

struct http_route {
	const char *method;
	const char *pattern; /* "/v1/rules/{name}/activate" */
	unsigned roles;	     /* 0 = public; else any of these, or admin */
	bool json_body;	     /* requires Content-Type: application/json */
	bool large_body;     /* import_limit instead of body_limit */
	http_handler_fn *fn;
	const char *summary;
};

/* The router's table (http/routes.c) and its size. */
extern const struct http_route http_routes[];
extern const size_t http_nroutes;

/* The console (http/console.c): GET /, its script, style sheet and rule reference. */
void http_console_csp(char *out, size_t cap, const char *nonce);
http_handler_fn http_console_page, http_console_asset;

/* Set a problem document (RFC 9457) as the response. */
void http_problem(struct http_resp *rs, int status, const char *detail_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parse a JSON body: 0 and *out (caller owns), or an HTTP status (400) with detail.
 * Refuses nesting deeper than max_depth before the parser sees it, invalid UTF-8, and
 * anything but an object at the top.
 */
int http_json_parse(const char *body, size_t len, int max_depth, json_t **out, char *detail,
		    size_t cap);

/* A query-string argument, or NULL. */
const char *http_query(struct http_req *rq, const char *name);

/* The Prometheus text of every metric (caller frees). */
char *http_metrics_text(void);

/* Count a decision for /metrics: by status, its shipments, units asked and shipped. */
void http_metrics_decision(const json_t *decision);

/* The HTTP status that answers a flow's FL_E* status (0: 200). */
int http_status_of(int fl_status);
/* A flow's failure as a problem document: its status mapped, its message the detail. */
void http_fail(struct http_resp *rs, const struct fl_err *err);

/* The embedded OpenAPI document (http/openapi.json, built into the binary). */
extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

/* ---- the service ---- */

/*
 * Serve cfg until SIGINT/SIGTERM: the store must open first; "listening on HOST:PORT"
 * goes to stdout once the socket is bound. 0 after a clean shutdown, else FL_E*.
 */
int http_serve(const struct http_config *cfg, struct fl_err *err);

#endif
