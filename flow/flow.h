/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * flow.h — the use cases: decide an order, decide a wave, handle an event, forecast,
 * rebalance, administer rule sets, import. A flow loads what it needs from the store,
 * calls the engines (solver/, forecast/, rules/) in order and persists the outcome.
 *
 * Every flow returns 0, or a negative FL_E* status with its detail in a caller's
 * struct fl_err (NULL allowed). A flow speaks no HTTP, prints nothing, reads no global
 * setting: what a door wants different (rules failing requests, an LP file, progress
 * lines) is passed in. Both doors, http/ and cli/, call these same functions.
 *
 * Answers are jansson objects the caller owns. A failing flow may still hand back an
 * answer (a rule upload's "errors"); the caller frees it either way.
 *
 * Threads: any flow may run on any thread with that thread's own store. The snapshot
 * and the active rule sets are shared, immutable and reference counted; the rule
 * engine is per thread (flow_rules_thread_release frees the calling thread's).
 */
#ifndef FULCRUM_FLOW_FLOW_H
#define FULCRUM_FLOW_FLOW_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "data/store.h"
#include "forecast/forecast.h"
#include "rules/rules.h"

/* ---- shared basics (flow/util.c) ---- */

/* SHA-256 of data (libnettle). */
void flow_sha256(const void *data, size_t len, unsigned char out[32]);
/* bytes random bytes as 2*bytes hex characters plus NUL into out (bytes <= 64). */
int flow_random_hex(char *out, size_t bytes);
int flow_threads_default(void); /* the cores online, 1 … 64 */

/* rules/packs/default.lua, built in: the demo data set activates it */
extern const char flow_default_pack[];
extern const size_t flow_default_pack_len;

/* ---- the snapshot of reference data (flow/snapshot.c) ---- */

/* Reference data every decision reads: immutable once built, swapped whole. */
struct flow_snapshot {
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

int flow_snapshot_load(struct store *st, struct flow_snapshot **out, struct fl_err *err);
/*
 * The current snapshot, with a reference the caller puts back. It is (re)built on first
 * use and whenever an import has committed since (in this process or another).
 */
struct flow_snapshot *flow_snapshot_get(struct store *st, struct fl_err *err);
void flow_snapshot_put(struct flow_snapshot *s);
/* The index of a node or SKU in the snapshot (both sorted by id), or -1 (NULL id too). */
long flow_snapshot_node(const struct flow_snapshot *s, const char *id);
long flow_snapshot_sku(const struct flow_snapshot *s, const char *id);
/* Forget the current snapshot (at exit). */
void flow_snapshot_drop(void);

/* ---- fulfilment: one order (flow/decide.c), a wave (flow/wave.c) ---- */

#define FLOW_MAX_LINES 100  /* lines in one order */
#define FLOW_MAX_QTY 100000 /* units of one SKU in one order */
#define FLOW_MAX_PROMISE_DAYS 365
#define FLOW_SOLVE_MS 1000 /* default solver time limit per decision */
#define FLOW_SOLVE_MS_MAX 10000
#define FLOW_ALTERNATIVES 3	/* alternatives shown in an explanation */
#define FLOW_RESERVE_RETRIES 32 /* re-solves when stock moves under a reservation */
#define FLOW_MAX_PLAN_ROWS 6400 /* (node, SKU) rows one decision may reserve: 422 beyond */
#define FLOW_WAVE_MS 2000	/* default time limit of a wave */
#define FLOW_WAVE_MS_MAX 60000

struct flow_rules;

/* What a door or another flow asks of the fulfilment flow; all zero is a plain decision. */
struct flow_decide_opts {
	const char *lp_path;	  /* also write the model as CPLEX LP here */
	const char *exclude_node; /* a reroute's exclusions */
	const char *exclude_carrier;
	const char *supersedes; /* a reroute: the decision replaced; its reservation moves */
	long keep_units;	/* a reroute: the units the new plan must fill to replace the old */
	bool dry_run;		/* decide only: nothing recorded or reserved */
	bool rules_fail;	/* a failing rule fails the decision (FL_ERULE) */
	const struct flow_rules *rules; /* instead of the active sets (replay) */
	struct rl_engine *engine;	/* instead of this thread's (replay's throwaway one) */
};

/*
 * Decide one order (a parsed JSON body): 0 with *answer (caller owns), or FL_EINVAL
 * (bad order), FL_ECONFLICT (order_id reused with another body), FL_EBUSY/FL_EDB (the
 * store), FL_ERULE (a rule failed and rules_fail), FL_ENOMEM, FL_ESOLVER. opts may be
 * NULL.
 */
int flow_decide(struct store *st, const json_t *body, const struct flow_decide_opts *opts,
		json_t **answer, struct fl_err *err);

/*
 * A logged decision as it was answered, with its reservation as it is now
 * ({"status": "none|reserved|released|consumed|moved", "units", "updated_at"}) and the
 * decisions it replaced or was replaced by. FL_ENOTFOUND.
 */
int flow_decision_get(struct store *st, const char *decision_id, json_t **answer,
		      struct fl_err *err);
/* An order's decisions, newest first (at most FLOW_DECISIONS_LISTED; "more": true when
 * older ones exist), each with its state. */
#define FLOW_DECISIONS_LISTED 100
int flow_decisions_list(struct store *st, const char *order_id, json_t **answer,
			struct fl_err *err);

/* An order's timeline, oldest first: {"order_id", "entries": [{"at", "kind", "id",
 * ...facts}], "more"}; at most FLOW_TIMELINE_LISTED entries. */
#define FLOW_TIMELINE_LISTED 500
int flow_order_timeline(struct store *st, const char *order_id, json_t **answer,
			struct fl_err *err);

/*
 * Decide a wave ({"orders": [...], "time_limit_ms", "reserve"}) under shared stock and
 * capacity; every decision is logged, and with reserve reserved, in one transaction.
 */
int flow_wave(struct store *st, const json_t *body, bool rules_fail, json_t **answer,
	      struct fl_err *err);

/* ---- events (flow/event.c) ---- */

int flow_event(struct store *st, const json_t *body, bool rules_fail, json_t **answer,
	       struct fl_err *err);
int flow_outbox_list(struct store *st, size_t limit, json_t **answer, struct fl_err *err);

/* ---- import (flow/import.c) ---- */

/*
 * A JSON object mapping file names to CSV text (POST /v1/import's body), imported in one
 * transaction: 0 and *result (rows per file).
 */
int flow_import_json(struct store *st, const json_t *map, json_t **result, struct fl_err *err);

/* ---- forecasts (flow/forecast.c) ---- */

/* One series' forecast as a batch hands it on. */
struct flow_forecast {
	const struct store_series *series;
	const struct fc_result *r; /* mean/lo/hi and the horizon's total */
	int32_t first_point;	   /* the date of the first forecast period */
	enum fc_step step;
	bool cached;
};
typedef int flow_forecast_fn(void *ctx, const struct flow_forecast *f);

struct flow_forecast_stats {
	size_t series, cached;
	size_t by_method[FC_METHOD_COUNT];
	double seconds;
};

/*
 * Long work's progress, and a way to stop it; every member may be NULL. report gets the
 * phase ("forecast", "targets", "solve", "store") and how far into it (done of total
 * units: series for the forecast, 0 or 1 otherwise), from any worker thread, at most
 * every FLOW_PROGRESS_EVERY series. Once *cancel is set the work stops at its next check
 * (between series, the solver's rounds, phases) with FL_ECANCELLED and writes nothing.
 */
#define FLOW_PROGRESS_EVERY 64
struct flow_progress {
	void (*report)(void *ctx, const char *phase, size_t done, size_t total);
	void *ctx;
	atomic_bool *cancel;
	atomic_bool
		*shutdown; /* set with cancel: the server stops, the job failed, not cancelled */
};
bool flow_cancelled(const struct flow_progress *pg);
void flow_report(const struct flow_progress *pg, const char *phase, size_t done, size_t total);

/* ---- calendars (flow/calendar.c): closed days and daily regressors ---- */

/*
 * Rows of STORE_DAY_… flags by node ("" for every node), sorted by node and day. From the
 * store, a row applies to the series of its node; from a CSV calendar file beside a CSV
 * of series (prefix), to the series whose id begins with its node.
 */
struct flow_calendar {
	struct store_calendar_day *v;
	size_t n;
	size_t *group, ngroup; /* where each node's rows begin; group[ngroup] = n */
	bool prefix;
};

/* The store's calendar: every node's rows, or (node given) only those that apply to it. */
int flow_calendar_store(struct store *st, const char *node, struct flow_calendar *cal,
			struct fl_err *err);
/* A calendar file: a header naming date and any of node, closed, holiday, payday
 * (0 or 1; empty is 0), one day a row; rows with no flag set are skipped. */
int flow_calendar_csv(const char *path, struct flow_calendar *cal, struct fl_err *err);
/* Add days with `flags` for every node. */
int flow_calendar_add(struct flow_calendar *cal, const int32_t *days, int n, unsigned flags,
		      struct fl_err *err);
void flow_calendar_release(struct flow_calendar *cal);

/* One series' days, from its first day to `horizon` days past its last: closed, holiday,
 * payday (the STORE_DAY_… bits in order), each sorted. */
#define FLOW_DAY_KINDS 3
struct flow_series_days {
	int32_t *buf, *days[FLOW_DAY_KINDS];
	int n[FLOW_DAY_KINDS];
};

int flow_series_days(const struct flow_calendar *cal, const struct store_series *s, int horizon,
		     struct flow_series_days *d, struct fl_err *err);
void flow_series_days_apply(const struct flow_series_days *d, struct fc_opts *o);
uint64_t flow_series_days_hash(uint64_t h, const struct flow_series_days *d);
void flow_series_days_release(struct flow_series_days *d);

/* A series as regular values (sparse sales spread over every day); see forecast.c. */
int flow_series_values(const struct store_series *s, double **dense, bool *owned, int *n,
		       enum fc_step *step, struct fl_err *err);
uint64_t flow_series_hash(const double *v, int n, int32_t first_day);
void flow_forecast_spec(const struct fc_opts *o, char *buf, size_t cap);

/*
 * Forecast every series of set on `threads` cores, CHUNK series at a time, telling pg
 * (may be NULL) how far it is. With cache (a store), store series
 * whose history is unchanged come from the cache and new results go into it. cal (may be
 * NULL: the cache's calendar, if any) gives each series its closed days and regressors. Each
 * result goes to fn (may be NULL) and, as CSV rows, to out (may be NULL). infer_period:
 * each series' period from its dates (o->period ignored).
 */
int flow_forecast_many(struct store *cache, const struct store_series_set *set,
		       const struct flow_calendar *cal, const struct fc_opts *o, bool infer_period,
		       int threads, const struct flow_progress *pg, flow_forecast_fn *fn, void *ctx,
		       FILE *out, struct flow_forecast_stats *stats, struct fl_err *err);

/*
 * Every (node, SKU) with sales, forecast through the cache. When no import has happened
 * since a complete batch under the same options, the cache alone answers: cached_fn gets
 * each stored forecast and no sales are read; otherwise fn gets each result (as from
 * flow_forecast_many) and the batch is recorded as complete.
 */
int flow_forecast_all(struct store *st, const struct fc_opts *o, const struct flow_progress *pg,
		      flow_forecast_fn *fn, store_forecast_fn *cached_fn, void *ctx,
		      struct flow_forecast_stats *stats, struct fl_err *err);

/* The options a scenario's forecast is made with: the batch kept warm in the background
 * is the default scenario's (horizon 14 days, level 0.9). */
#define FLOW_SCENARIO_HORIZON_DEFAULT 14 /* days, when a scenario names none */
void flow_scenario_forecast_opts(int horizon, double service_level, struct fc_opts *o);
/* Is the cache complete for o, with nothing imported since? */
int flow_forecast_fresh(struct store *st, const struct fc_opts *o, bool *fresh, struct fl_err *err);

/* How many days of history a forecast answer carries as "actuals". */
#define FLOW_FORECAST_ACTUALS 120

/* One (node, SKU), cached, with its hold-out MASE (GET /v1/forecasts). */
int flow_forecast_one(struct store *st, const char *node, const char *sku, const struct fc_opts *o,
		      json_t **answer, struct fl_err *err);

/* ---- rule sets (flow/rules.c) ---- */

struct flow_rule_set {
	char name[64];
	int version;
	char key[80]; /* "name@version": the engine's cache key */
	char *source;
};

/* The active rule sets: immutable once built, swapped whole on activation. */
struct flow_rules {
	int64_t gen;
	int n;
	struct flow_rule_set v[STORE_RULE_SETS_MAX];
	char versions[STORE_RULE_SETS_MAX * 80]; /* "a@3,b@1": logged with each decision */
	atomic_int refs;
};

/* The current active sets (a reference the caller puts back), reloaded after activations. */
struct flow_rules *flow_rules_get(struct store *st, struct fl_err *err);
void flow_rules_put(struct flow_rules *r);
void flow_rules_drop(void); /* forget them (at exit) */
/* This thread's engine with the snapshot's network (NULL snapshot: as it is). */
struct rl_engine *flow_rules_engine(const struct flow_snapshot *snap, struct fl_err *err);
void flow_rules_thread_release(void);
/* Compile s in e if needed; a failure adds an RL_FAILED effect to fx (may be NULL). */
int flow_rules_ensure(struct rl_engine *e, const struct flow_rule_set *s, struct rl_effects *fx);
json_t *flow_effects_json(const struct flow_rules *rs, const struct rl_effects *fx);
/* How many rule failures decisions and waves have recorded since start (for /metrics). */
unsigned long flow_rule_failures_total(void);
json_t *flow_effect_fields(const struct rl_effect *x);

/*
 * Compile and test a rule set's source. 0 with *report (the tests' outcome); FL_EINVAL
 * with *errors ([{line, message}]) when it does not compile or a test fails.
 */
int flow_rules_check(const struct flow_snapshot *snap, const char *name, const char *src,
		     size_t len, json_t **report, json_t **errors);
/* Store a new version (after check): 0 and *answer; on FL_EINVAL *answer has "errors". */
int flow_rules_push(struct store *st, const char *name, const char *src, size_t len,
		    const char *role, json_t **answer, struct fl_err *err);
int flow_rules_activate(struct store *st, const char *name, int version, json_t **answer,
			struct fl_err *err);
int flow_rules_list(struct store *st, const char *name, json_t **answer, struct fl_err *err);
int flow_rules_test(struct store *st, const char *name, int version, json_t **answer,
		    struct fl_err *err);
int flow_rules_replay(struct store *st, const char *name, int version, int limit, json_t **answer,
		      struct fl_err *err);

/* ---- rebalancing (flow/rebalance.c) ---- */

/*
 * Run a scenario (POST /v1/rebalancing/scenarios's body) and store it: 0 and *answer.
 * lp_path (may be NULL): also write the model; pg (may be NULL): progress and cancel.
 * time_limit_ms bounds the whole run: the solver gets what the phases before it left.
 */
int flow_rebalance(struct store *st, const json_t *body, const char *lp_path,
		   const struct flow_progress *pg, json_t **answer, struct fl_err *err);
/*
 * Scenarios as jobs. queue: check body, store it as a queued scenario, *id its id
 * ("s_" and 16 hex digits). run: compute it (status running, then done, failed with the
 * reason, or cancelled) under pg. needs_job: would a synchronous run take long (its
 * forecasts are not all cached)?
 */
#define FLOW_SCENARIO_ID_MAX 19
int flow_scenario_queue(struct store *st, const json_t *body, char id[FLOW_SCENARIO_ID_MAX],
			struct fl_err *err);
int flow_scenario_run(struct store *st, const char *id, const struct flow_progress *pg,
		      struct fl_err *err);
int flow_scenario_needs_job(struct store *st, const json_t *body, bool *needs, struct fl_err *err);
/* Cancel a queued scenario (one that runs is stopped through its flow_progress). */
int flow_scenario_cancel_queued(struct store *st, const char *id, struct fl_err *err);
/* At start-up: unfinished jobs did not survive the restart (*n of them, now failed). */
int flow_scenarios_orphaned(struct store *st, int *n, struct fl_err *err);
int flow_scenario_get(struct store *st, const char *id, json_t **answer, struct fl_err *err);
int flow_scenario_compare(struct store *st, const char *a, const char *b, json_t **answer,
			  struct fl_err *err);
/* Accept it, only on the stock it was computed from (else FL_ECONFLICT with what moved). */
int flow_scenario_accept(struct store *st, const char *id, json_t **answer, struct fl_err *err);
/* Its stored request (the POST body), caller decrefs. */
int flow_scenario_request(struct store *st, const char *id, json_t **body, struct fl_err *err);
/* A scenario's answer as a page of its transfer lines: lines after..after+limit in
 * "transfers", with "transfers_total" and "transfers_next" (the next page's after, or
 * null); the summary ("lanes", "largest_transfers") stays whole. In place. */
#define FLOW_LINES_PAGE 1000
#define FLOW_LINES_PAGE_MAX 10000
void flow_scenario_page(json_t *answer, size_t after, size_t limit);
/* Its transfer lines as CSV (from,to,sku,qty,cost), caller frees *csv. */
int flow_scenario_csv(struct store *st, const char *id, char **csv, struct fl_err *err);
/*
 * Transfer orders (accepted scenarios' lines): oldest first, filtered by status, node
 * (from or to) and scenario, paged (limit 1 … 1000, after an id); one; cancel one that has
 * shipped nothing (FL_ECONFLICT otherwise), its commitment released. Shipping and
 * receiving are events (flow_event: transfer.shipped, transfer.received).
 */
#define FLOW_TRANSFERS_LISTED 1000
int flow_transfers_list(struct store *st, const char *status, const char *node,
			const char *scenario_id, const char *after, long limit, json_t **answer,
			struct fl_err *err);
int flow_transfer_get(struct store *st, const char *id, json_t **answer, struct fl_err *err);
int flow_transfer_cancel(struct store *st, const char *id, json_t **answer, struct fl_err *err);
/* Scenarios newest first: limit (1 … 1000), after (an id), status and name filters. */
#define FLOW_SCENARIOS_LISTED 1000
int flow_scenarios_list(struct store *st, const char *after, const char *status, const char *name,
			long limit, json_t **answer, struct fl_err *err);

/* ---- webhooks (flow/webhooks.c) ---- */

struct sockaddr;
#define FLOW_WEBHOOK_SECRET_MAX 64
extern const char *const flow_webhook_topics[]; /* NULL-terminated */
/* Is host in the comma-separated allow list? Is the address loopback, private, link-local
 * or otherwise not a public unicast one? */
bool flow_webhook_host_listed(const char *host, const char *allow);
bool flow_addr_private(const struct sockaddr *a);
/* The URL's host (without port or brackets) into host; FL_EINVAL naming what is wrong. */
int flow_webhook_url_host(const char *url, char *host, size_t cap, struct fl_err *err);
/* A subscription's URL: http or https; a host in allow (when set), and none that resolves
 * to a private address unless allowed. */
int flow_webhook_url_check(const char *url, const char *allow, struct fl_err *err);
int flow_webhook_create(struct store *st, const json_t *body, const char *allow, json_t **answer,
			struct fl_err *err);
int flow_webhooks_list(struct store *st, json_t **answer, struct fl_err *err);
int flow_webhook_get(struct store *st, const char *id, json_t **answer, struct fl_err *err);
int flow_webhook_delete(struct store *st, const char *id, json_t **answer, struct fl_err *err);
int flow_webhook_rotate(struct store *st, const char *id, json_t **answer, struct fl_err *err);
int flow_webhook_deliveries(struct store *st, const char *id, const char *status, int64_t after,
			    long limit, json_t **answer, struct fl_err *err);
int flow_webhook_retry(struct store *st, const char *id, int64_t delivery, json_t **answer,
		       struct fl_err *err);
int flow_webhook_replay(struct store *st, const char *id, const json_t *body, json_t **answer,
			struct fl_err *err);

#endif
