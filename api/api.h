/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * api.h — the composition root's own header: the CLI, the HTTP service, the flows.
 * api/ is the only module that knows all the others; nothing includes this header
 * outside api/ except tests and fuzz targets.
 *
 * Threads: the HTTP service runs handlers on libmicrohttpd's worker threads; each
 * worker owns its SQLite connection (struct api_req.st). Everything a handler shares
 * with other threads (metrics, the rate limiter) is atomic or behind a mutex.
 */
#ifndef FULCRUM_API_API_H
#define FULCRUM_API_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "data/store.h"
#include "forecast/forecast.h"
#include "rules/rules.h"

/* ---- the CLI ---- */

/* Returns the process exit status (0 ok, 1 failure, 2 usage). */
int api_cli_main(int argc, char **argv);
int api_cmd_serve(int argc, char **argv);
int api_cmd_token(int argc, char **argv);
int api_cmd_routes(int argc, char **argv);
int api_cmd_forecast(int argc, char **argv);
int api_cmd_backtest(int argc, char **argv);
int api_cmd_rebalance(int argc, char **argv);

/* "fulcrum: MSG" on stderr, exit status 1; "usage: fulcrum CMD USAGE", exit status 2. */
int api_fail(const struct fl_err *err);
int api_usage(const char *cmd, const char *usage);

/* An output file written whole or not at all: a temporary name renamed on commit. "-" is
 * stdout. */
struct api_out {
	FILE *fp;
	char path[1024];
	char tmp[1100];
};
int api_out_open(struct api_out *o, const char *path, struct fl_err *err);
int api_out_close(struct api_out *o, bool commit, struct fl_err *err);

/* ---- access ---- */

#define API_ROLE_ORCHESTRATOR 1u
#define API_ROLE_PLANNER 2u
#define API_ROLE_ANALYST 4u
#define API_ROLE_ADMIN 8u
#define API_ROLE_ANY 15u /* any valid token */
#define API_TOKEN_MAX 128

/* A role's bit from its name (0 if unknown); a bit's name ("none" if not one role). */
unsigned api_role_parse(const char *name);
const char *api_role_name(unsigned bit);

void api_sha256(const void *data, size_t len, unsigned char out[32]);
/* bytes random bytes as 2*bytes hex characters plus NUL into out (bytes <= 64). */
int api_random_hex(char *out, size_t bytes);

/* Create a token with role; writes "fk_<id>_<secret>" into token (shown once). */
int api_token_create(struct store *st, const char *role, char token[API_TOKEN_MAX],
		     struct fl_err *err);
/* Check a presented bearer token: 0 and *role set, or FL_EAUTH (or a store error). */
int api_token_check(struct store *st, const char *bearer, unsigned *role, char id[17]);

/* ---- the service's settings ---- */

struct api_config {
	char db[1024];
	char host[64];
	int port;
	int threads;		     /* worker threads (libmicrohttpd's pool) */
	unsigned connection_limit;   /* open connections at once */
	unsigned connection_timeout; /* seconds of inactivity before a connection closes */
	size_t body_limit;	     /* bytes of a request body (413 beyond) */
	size_t import_limit;	     /* bytes of a POST /v1/import body */
	int json_depth;		     /* nesting of a JSON body (400 beyond) */
	double rate_limit;	     /* requests per second per token; 0 = no limit */
	double rate_burst;	     /* bucket size */
	bool access_log;	     /* one JSON line per request on stderr */
	int shutdown_grace;	     /* seconds in-flight requests get at shutdown */
	bool rules_fail;	     /* a failing rule fails the request (else skipped) */
};

void api_config_default(struct api_config *c);
/* Set one setting by its name ("port", "body_limit", …) from text. */
int api_config_set(struct api_config *c, const char *key, const char *value, struct fl_err *err);
/* Read "key = value" lines (# comments) from path. */
int api_config_load(struct api_config *c, const char *path, struct fl_err *err);
/* Apply FULCRUM_<KEY> environment variables. */
int api_config_env(struct api_config *c, struct fl_err *err);

/* ---- requests and responses, as handlers see them ---- */

#define API_PARAMS_MAX 4
#define API_REQUEST_ID_MAX 65

struct api_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	char params[API_PARAMS_MAX][FL_ID_MAX + 1]; /* {name} segments, in order */
	int nparams;
	const char *body; /* NUL-terminated; may be empty */
	size_t body_len;
	unsigned role; /* 0 on public routes */
	char token_id[17];
	struct store *st; /* this worker thread's store */
	const struct api_config *cfg;
	char request_id[API_REQUEST_ID_MAX];
};

struct api_resp {
	int status;
	json_t *json; /* owned; sent as application/json */
	char *text;   /* owned (malloc); sent with content_type */
	const char *content_type;
	char allow[64];	 /* 405: the methods the path takes */
	int retry_after; /* 429: seconds */
};

typedef void api_handler_fn(struct api_req *rq, struct api_resp *rs);

struct api_route {
	const char *method;
	const char *pattern; /* "/v1/rules/{name}/activate" */
	unsigned roles;	     /* 0 = public; else any of these, or admin */
	bool json_body;	     /* requires Content-Type: application/json */
	bool large_body;     /* import_limit instead of body_limit */
	api_handler_fn *fn;
	const char *summary;
};

/* The router's table (api/routes.c) and its size. */
extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Set a problem document (RFC 9457) as the response. */
void api_problem(struct api_resp *rs, int status, const char *detail_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parse a JSON body: 0 and *out (caller owns), or an HTTP status (400) with detail.
 * Refuses nesting deeper than max_depth before the parser sees it, invalid UTF-8, and
 * anything but an object at the top.
 */
int api_json_parse(const char *body, size_t len, int max_depth, json_t **out, char *detail,
		   size_t cap);

/* A query-string argument, or NULL. */
const char *api_query(struct api_req *rq, const char *name);

/* The Prometheus text of every metric (caller frees). */
char *api_metrics_text(void);

/* Count a decision by status for /metrics ("complete", "partial", "unfulfillable"). */
void api_metrics_decision(const char *status);

/*
 * POST /v1/import's body: a JSON object mapping file names to CSV text. Imports it
 * in one transaction; 0 and *result (rows per file), or an HTTP status and detail.
 */
int api_import_json(struct store *st, const json_t *map, json_t **result, char *detail, size_t cap);

/* ---- the fulfilment flow (api/decide.c) ---- */

#define API_MAX_LINES 100  /* lines in one order */
#define API_MAX_QTY 100000 /* units of one SKU in one order */
#define API_MAX_PROMISE_DAYS 365
#define API_SOLVE_MS 1000 /* default solver time limit per decision */
#define API_SOLVE_MS_MAX 10000
#define API_ALTERNATIVES 3     /* alternatives shown in an explanation */
#define API_RESERVE_RETRIES 32 /* re-solves when stock moves under a reservation */

/* Reference data every decision reads: immutable once built, swapped whole. */
struct api_snapshot {
	struct fl_node *nodes; /* sorted by id */
	size_t nnodes;
	struct fl_sku *skus; /* sorted by id */
	size_t nskus;
	struct fl_zone *zones;
	size_t nzones;
	struct fl_rate *rates;
	size_t nrates;
	int64_t generation; /* the store's import generation it was built from */
	atomic_int refs;
};

int api_snapshot_load(struct store *st, struct api_snapshot **out, struct fl_err *err);
/*
 * The current snapshot, with a reference the caller puts back. It is (re)built on first
 * use and whenever an import has committed since (in this process or another).
 */
struct api_snapshot *api_snapshot_get(struct store *st, struct fl_err *err);
void api_snapshot_put(struct api_snapshot *s);
/* The index of a node or SKU in the snapshot (both sorted by id), or -1 (NULL id too). */
long api_snapshot_node(const struct api_snapshot *s, const char *id);
long api_snapshot_sku(const struct api_snapshot *s, const char *id);
/* Forget the current snapshot (at shutdown). */
void api_snapshot_drop(void);

/*
 * Decide one order (a parsed JSON body). Returns 0 with *answer (caller owns), or an
 * HTTP status (409, 422, 500, 503) with detail. lp_path, if set, receives the model.
 */
int api_decide(struct store *st, const json_t *body, const char *lp_path, json_t **answer,
	       char *detail, size_t cap);
int api_cmd_decide(int argc, char **argv);

#define API_WAVE_MS 2000 /* default time limit of a wave */
#define API_WAVE_MS_MAX 60000

/*
 * Decide a wave ({"orders": [...], "time_limit_ms", "reserve"}) under shared stock and
 * capacity; every decision is logged, and with reserve reserved, in one transaction.
 * Returns 0 with *answer, or an HTTP status with detail.
 */
int api_wave(struct store *st, const json_t *body, json_t **answer, char *detail, size_t cap);
int api_cmd_wave(int argc, char **argv);
int api_cmd_bench(int argc, char **argv);

/* The embedded OpenAPI document (api/openapi.json, built into the binary). */
extern const char api_openapi_json[];
extern const size_t api_openapi_json_len;
/* rules/packs/default.lua, built in: the demo data set activates it */
extern const char api_default_pack[];
extern const size_t api_default_pack_len;

/* ---- the forecast flows (api/forecast.c) ---- */

int api_threads_default(void); /* the cores online, 1 … 64 */

/* One series' forecast as a batch hands it on. */
struct api_forecast {
	const struct store_series *series;
	const struct fc_result *r; /* mean/lo/hi and the horizon's total */
	int32_t first_point;	   /* the date of the first forecast period */
	enum fc_step step;
	bool cached;
};
typedef int api_forecast_fn(void *ctx, const struct api_forecast *f);

struct api_forecast_stats {
	size_t series, cached;
	size_t by_method[FC_METHOD_COUNT];
	double seconds;
};

/* A series as regular values (sparse sales spread over every day); see forecast.c. */
int api_series_values(const struct store_series *s, double **dense, bool *owned, int *n,
		      enum fc_step *step, struct fl_err *err);
uint64_t api_series_hash(const double *v, int n, int32_t first_day);
void api_forecast_spec(const struct fc_opts *o, char *buf, size_t cap);

/*
 * Forecast every series of set on `threads` cores, CHUNK series at a time, with a
 * progress line on stderr each second when progress. With cache (a store), store series
 * whose history is unchanged come from the cache and new results go into it. Each
 * result goes to fn (may be NULL) and, as CSV rows, to out (may be NULL). infer_period:
 * each series' period from its dates (o->period ignored).
 */
int api_forecast_many(struct store *cache, const struct store_series_set *set,
		      const struct fc_opts *o, bool infer_period, int threads, bool progress,
		      api_forecast_fn *fn, void *ctx, FILE *out, struct api_forecast_stats *stats,
		      struct fl_err *err);

/*
 * Every (node, SKU) with sales, forecast through the cache. When no import has happened
 * since a complete batch under the same options, the cache alone answers: cached_fn gets
 * each stored forecast and no sales are read; otherwise fn gets each result (as from
 * api_forecast_many) and the batch is recorded as complete.
 */
int api_forecast_all(struct store *st, const struct fc_opts *o, bool progress, api_forecast_fn *fn,
		     store_forecast_fn *cached_fn, void *ctx, struct api_forecast_stats *stats,
		     struct fl_err *err);

/* GET /v1/forecasts: one (node, SKU), cached, with its hold-out MASE. HTTP status or 0. */
int api_forecast_one(struct store *st, const char *node, const char *sku, const struct fc_opts *o,
		     json_t **answer, char *detail, size_t cap);

/* ---- rules in the flows (api/rules.c) ---- */

struct api_rule_set {
	char name[64];
	int version;
	char key[80]; /* "name@version": the engine's cache key */
	char *source;
};

/* The active rule sets: immutable once built, swapped whole on activation. */
struct api_rules {
	int64_t gen;
	int n;
	struct api_rule_set v[STORE_RULE_SETS_MAX];
	char versions[STORE_RULE_SETS_MAX * 80]; /* "a@3,b@1": logged with each decision */
	atomic_int refs;
};

/* The current active sets (a reference the caller puts back), reloaded after activations. */
struct api_rules *api_rules_get(struct store *st, struct fl_err *err);
void api_rules_put(struct api_rules *r);
void api_rules_drop(void);
/* This thread's engine with the snapshot's network (NULL snapshot: as it is). */
struct rl_engine *api_rules_engine(const struct api_snapshot *snap, struct fl_err *err);
void api_rules_thread_release(void);
/* Compile s in e if needed; a failure adds an RL_FAILED effect to fx (may be NULL). */
int api_rules_ensure(struct rl_engine *e, const struct api_rule_set *s, struct rl_effects *fx);
json_t *api_effects_json(const struct api_rules *rs, const struct rl_effects *fx);
json_t *api_effect_fields(const struct rl_effect *x);
/* 1: a failing rule fails the request (503); 0: it is skipped and reported (default). */
extern atomic_int api_rules_fail_requests;

int api_rules_check(const struct api_snapshot *snap, const char *name, const char *src, size_t len,
		    json_t **report, json_t **errors);
int api_rules_push(struct store *st, const char *name, const char *src, size_t len,
		   const char *role, json_t **answer, char *detail, size_t cap);
int api_rules_activate(struct store *st, const char *name, int version, json_t **answer,
		       char *detail, size_t cap);
int api_rules_list(struct store *st, const char *name, json_t **answer, char *detail, size_t cap);
int api_rules_test(struct store *st, const char *name, int version, json_t **answer, char *detail,
		   size_t cap);
int api_rules_replay(struct store *st, const char *name, int version, int limit, json_t **answer,
		     char *detail, size_t cap);
int api_cmd_rules(int argc, char **argv);

/* What a flow other than a plain decision asks of the fulfilment flow. */
struct api_decide_opts {
	const char *exclude_node; /* a reroute's exclusions */
	const char *exclude_carrier;
	bool dry_run;		       /* decide only: nothing recorded or reserved */
	const struct api_rules *rules; /* instead of the active sets (replay) */
};
int api_decide_ex(struct store *st, const json_t *body, const char *lp_path,
		  const struct api_decide_opts *opts, json_t **answer, char *detail, size_t cap);

/* ---- events (api/events.c) ---- */

int api_event(struct store *st, const json_t *body, json_t **answer, char *detail, size_t cap);
int api_outbox_list(struct store *st, size_t limit, json_t **answer, char *detail, size_t cap);

/* ---- the rebalancing flow (api/rebalance.c) ---- */

/*
 * Run a scenario (POST /v1/rebalancing/scenarios's body) and store it: 0 and *answer, or
 * an HTTP status (422 bad input, 503 store) with detail. lp_path: also write the model.
 */
int api_rebalance(struct store *st, const json_t *body, const char *lp_path, bool progress,
		  json_t **answer, char *detail, size_t cap);
int api_scenario_get(struct store *st, const char *id, json_t **answer, char *detail, size_t cap);
int api_scenario_compare(struct store *st, const char *a, const char *b, json_t **answer,
			 char *detail, size_t cap);
int api_scenario_accept(struct store *st, const char *id, json_t **answer, char *detail,
			size_t cap);

#endif
