/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store.h — fulcrum's persistence: the SQLite store, CSV import/export, the demo set.
 *
 * Purpose: the only door to the database. Nothing outside data/ writes SQL; the flows
 * depend on this header, not on SQLite, so another backend can stand behind it.
 *
 * Ownership: struct store is an opaque handle over one SQLite connection with its
 * prepared statements. Arrays returned through `T **out, size_t *n` belong to the
 * caller (free() them). Inputs are borrowed for the call.
 *
 * Errors: every function returns 0 or a negative FL_E* status with detail in err.
 * A failed import or generate leaves the database exactly as it was.
 *
 * Threads: one struct store per thread. Several stores (threads or processes) may
 * open the same file; SQLite's WAL and BEGIN IMMEDIATE serialise the writers.
 */
#ifndef FULCRUM_DATA_STORE_H
#define FULCRUM_DATA_STORE_H

#include <stdio.h>

#include "model.h"

struct store;

/* ---- lifecycle ---- */

#define STORE_BUSY_TIMEOUT_MS 5000 /* how long a writer waits for the lock */

/*
 * Open (creating if needed) the database at path and bring its schema to the current
 * version (PRAGMA user_version) in one transaction. A database newer than this build
 * is refused.
 */
int store_open(const char *path, struct store **out, struct fl_err *err);
void store_close(struct store *st);

/*
 * Whether the last write transaction of this process failed on the disk (a full disk, an
 * I/O error, a read-only file): then store_write_probe tries a harmless write of
 * STORE_PROBE_BYTES (room for many decisions, so readiness does not come back for the
 * room of one page) and clears the mark when it commits. A server's readiness follows it.
 */
#define STORE_PROBE_BYTES_STR "262144"
bool store_write_failing(void);
int store_write_probe(struct store *st, struct fl_err *err);

/* The schema version this build writes. */
int store_schema_version(void);

/*
 * WAL checkpoints: by default the committing connection runs them (and their fsync).
 * A server turns that off on its request connections and calls store_checkpoint
 * (PASSIVE: never blocks writers) from a background thread instead.
 */
int store_set_autocheckpoint(struct store *st, bool on, struct fl_err *err);
int store_checkpoint(struct store *st, struct fl_err *err);

/* A cheap query that proves the database answers (readiness). */
int store_ping(struct store *st, struct fl_err *err);

/* ---- import and export (DATA.md) ---- */

/* The files of DATA.md, in the order an import applies them. */
#define STORE_FILE_MAP(X)             \
	X(NODES, "nodes.csv")         \
	X(SKUS, "skus.csv")           \
	X(ZONES, "zones.csv")         \
	X(RATES, "rates.csv")         \
	X(LANES, "lanes.csv")         \
	X(INVENTORY, "inventory.csv") \
	X(SALES, "sales.csv")         \
	X(CALENDAR, "calendar.csv")

enum store_file_kind {
#define STORE_FILE_ENUM(k, name) STORE_FILE_##k,
	STORE_FILE_MAP(STORE_FILE_ENUM)
#undef STORE_FILE_ENUM
		STORE_FILE_COUNT
};

/* "nodes.csv" …; NULL out of range. Lookup by name: -1 if not one of them. */
const char *store_file_name(enum store_file_kind k);
int store_file_kind_of(const char *name);

/* One input: an open stream per file kind (NULL where absent). Streams are borrowed. */
struct store_import_src {
	FILE *files[STORE_FILE_COUNT];
};

struct store_import_stats {
	unsigned long rows[STORE_FILE_COUNT];
	unsigned long total;
};

/* Called every STORE_PROGRESS_ROWS rows of a file and once at each file's end. */
#define STORE_PROGRESS_ROWS 500000
typedef void store_progress_fn(void *ctx, const char *file, unsigned long rows, bool done);

/*
 * Import whichever files src holds, in one transaction, upserting by each file's key.
 * The first bad row aborts it with "FILE:LINE: field: what is wrong" and the store is
 * left exactly as it was. progress may be NULL.
 */
int store_import(struct store *st, const struct store_import_src *src,
		 struct store_import_stats *stats, store_progress_fn *progress, void *progress_ctx,
		 struct fl_err *err);

/* Open DIR's files that exist and import them (store_import). No file at all: FL_EINVAL. */
int store_import_dir(struct store *st, const char *dir, struct store_import_stats *stats,
		     store_progress_fn *progress, void *progress_ctx, struct fl_err *err);

/*
 * Write all seven files into DIR (which must exist) in the import formats, sorted by
 * key, so that import → export → import → export yields the same bytes. Each file is
 * written to a temporary name and renamed when complete.
 */
int store_export_dir(struct store *st, const char *dir, struct fl_err *err);

/* ---- the demo data set ---- */

struct store_demo_opts {
	uint64_t seed; /* same seed, same bytes */
	int dcs;       /* distribution centres (from a fixed list of US cities) */
	int stores;    /* stores (idem) */
	int skus;
	int days;	 /* days of sales history ending the day before end_day */
	int32_t end_day; /* days since 1970-01-01 of the day after the history */
};

/* The defaults: 12 DCs, 36 stores, 2,000 SKUs, 730 days, a fixed seed and end date. */
void store_demo_opts_default(struct store_demo_opts *o);

/* Write the demo set as the seven CSV files into DIR (which must exist). */
int store_demo_write(const struct store_demo_opts *o, const char *dir, store_progress_fn *progress,
		     void *progress_ctx, struct fl_err *err);

/* ---- reading reference data (the caller frees *out) ---- */

int store_nodes_load(struct store *st, struct fl_node **out, size_t *n, struct fl_err *err);
int store_skus_load(struct store *st, struct fl_sku **out, size_t *n, struct fl_err *err);
int store_zones_load(struct store *st, struct fl_zone **out, size_t *n, struct fl_err *err);
int store_rates_load(struct store *st, struct fl_rate **out, size_t *n, struct fl_err *err);
int store_lanes_load(struct store *st, struct fl_lane **out, size_t *n, struct fl_err *err);

/*
 * A page of SKUs in id order starting after `after` ("" for the first page); at most
 * limit rows. *more is set when rows remain beyond the page.
 */
int store_skus_page(struct store *st, const char *after, size_t limit, struct fl_sku **out,
		    size_t *n, bool *more, struct fl_err *err);

/*
 * A page of inventory positions in (node, sku) order, optionally for one node and/or
 * one SKU (NULL for any), starting after the key (after_node, after_sku) (NULL for the
 * first page).
 */
int store_inventory_page(struct store *st, const char *node, const char *sku,
			 const char *after_node, const char *after_sku, size_t limit,
			 struct fl_inventory **out, size_t *n, bool *more, struct fl_err *err);

/*
 * A number that changes whenever an import commits (in any process): a snapshot of the
 * reference data built at one generation is stale once it differs.
 */
int store_import_generation(struct store *st, int64_t *gen, struct fl_err *err);

/* Row counts of every table of DATA.md (for `fulcrum status` and tests). */
int store_counts(struct store *st, unsigned long counts[STORE_FILE_COUNT], struct fl_err *err);

/* ---- stock and decisions ---- */

/*
 * Stock for an order, read fresh: for each SKU skus[k] (k < nskus) and each node
 * nodes[n] (by id), atp[n * nskus + k] = max(0, on_hand − reserved − safety_stock);
 * cap_left[n] = capacity_units − reserved_units (FL_UNLIMITED when unset).
 */
int store_stock_read(struct store *st, const char *const *skus, int nskus,
		     const struct fl_node *nodes, int nnodes, long *atp, long *cap_left,
		     struct fl_err *err);

/* Units one decision takes from a node (several entries may name the same pair). */
struct store_alloc {
	const char *node;
	const char *sku;
	long qty;
};

struct store_decision {
	const char *id; /* "d_…" */
	const char *order_id;
	const unsigned char *request_hash; /* 32 bytes: SHA-256 of the canonical request */
	const char *request;		   /* JSON */
	const char *response;		   /* JSON */
	const char *status;		   /* complete | partial | unfulfillable */
	const char *solver_status;
	double solver_ms;
	const char *rules_version; /* NULL while no rule set is active */
	int64_t created_at;
	/* the decision this one replaces (a reroute), or NULL: in the same transaction that
	 * one's open reservation is released (and this one's made), the order's key moves
	 * here, and that one is marked superseded */
	const char *supersedes;
};

/*
 * Look up an order's idempotency key: FL_ENOTFOUND if none; 0 with *response (the
 * stored answer, caller frees) when the hash matches; FL_ECONFLICT when it does not.
 */
int store_order_key_get(struct store *st, const char *order_id, const unsigned char hash[32],
			char **response, struct fl_err *err);

/*
 * Record a decision in the log. With reserve, in the same transaction: claim the
 * order's idempotency key, re-check every allocation against ATP and node capacity
 * and reserve it. FL_EBUSY: stock changed since it was read (re-solve and retry);
 * FL_ECONFLICT / 0-with-*existing: the key was claimed meanwhile (as store_order_key_get).
 * Nothing is written unless everything is.
 */
/* A decision's reservation as a caller sees it. */
struct store_reservation {
	char status[12]; /* none | reserved | released | consumed | moved */
	long units;	 /* open units when reserved; else the units last held */
	int64_t updated_at;
};

/* What the log knows of one decision besides its answer. */
struct store_decision_info {
	char id[FL_ID_MAX], order_id[FL_ID_MAX];
	char supersedes[FL_ID_MAX], superseded_by[FL_ID_MAX]; /* "" when none */
	char status[16];
	int64_t created_at;
	char *request; /* the canonical request (caller frees), when asked for */
};

/* A decision's reservation state: FL_ENOTFOUND for no such decision. */
int store_reservation_get(struct store *st, const char *decision_id, struct store_reservation *out,
			  struct fl_err *err);
/* One decision's facts (with_request: also its request): FL_ENOTFOUND. */
int store_decision_info(struct store *st, const char *decision_id, bool with_request,
			struct store_decision_info *out, struct fl_err *err);
/* An order's decisions, newest first, at most limit; fn per decision (stop: non-zero). */
typedef int store_decision_info_fn(void *ctx, const struct store_decision_info *d);
int store_decisions_of_order(struct store *st, const char *order_id, size_t limit,
			     store_decision_info_fn *fn, void *ctx, struct fl_err *err);

/*
 * An order's timeline, oldest first, at most limit entries: its decisions, the events
 * posted for it, the outbox messages its events queued and the webhook events published
 * about it. Within one second: first decisions, then events, the decisions they made
 * (reroutes), outbox messages, published events. fn(ctx, at (unix s), kind ("decision", "event", "outbox", "published"), id,
 * facts (a JSON object's text)); non-zero stops.
 */
typedef int store_timeline_fn(void *ctx, int64_t at, const char *kind, const char *id,
			      const char *facts);
int store_order_timeline(struct store *st, const char *order_id, size_t limit,
			 store_timeline_fn *fn, void *ctx, struct fl_err *err);

int store_decision_record(struct store *st, const struct store_decision *d, bool reserve,
			  const struct store_alloc *allocs, int nallocs, char **existing,
			  struct fl_err *err);

/* A wave: its decisions, recorded together. */
struct store_wave {
	const char *id;	    /* "w_…" */
	const char *status; /* optimal | feasible */
	double cost, bound, gap, solver_ms;
	int64_t created_at;
	int ndecisions;
	const struct store_decision *decisions;
	const struct store_alloc *const *allocs; /* per decision */
	const int *nallocs;
};

/*
 * Record a wave's decisions in one transaction; with reserve, reserve all of them there
 * too (re-checked as store_decision_record does). All or nothing: FL_EBUSY when stock
 * moved (re-solve), FL_ECONFLICT when an order_id already holds a reservation key.
 */
int store_wave_record(struct store *st, const struct store_wave *w, bool reserve,
		      struct fl_err *err);

/* The stored answer of a decision (caller frees); FL_ENOTFOUND if none. */
int store_decision_get(struct store *st, const char *id, char **response, struct fl_err *err);

/*
 * Free a decision's open reservations. *units is what was freed. FL_ENOTFOUND: no such
 * decision; FL_ECONFLICT: it holds no open reservation (never reserved, or released).
 */
int store_decision_release(struct store *st, const char *id, long *units, struct fl_err *err);

/* ---- series: the generic long CSV and the sales history (forecasting's input) ---- */

#define STORE_SERIES_POINTS_MAX 100000 /* observations in one series */
#define STORE_SERIES_ROWS_MAX 20000000 /* rows in one series file */
#define STORE_SERIES_ID_MAX 128

/*
 * One series. From a CSV (series_id,date,value) every period has a row: days[i] holds
 * the date of values[i]. From the sales history the series is sparse: days[i] are the
 * days with sales, every other day from first_day to last_day sold nothing.
 */
struct store_series {
	char *id;	  /* series_id, or "NODE/SKU" */
	char *node, *sku; /* sales history only (NULL for a CSV series) */
	int32_t *days;
	double *values;
	int n;
	bool sparse;
	int32_t first_day, last_day;
};

struct store_series_set {
	struct store_series *v;
	size_t n, cap;
	void *arena; /* the ids, days and values live in blocks the set owns */
};

void store_series_release(struct store_series_set *s);

/* ---- the calendar (calendar.csv): a node's, or every node's, special days ---- */

#define STORE_CALENDAR_MAX 100000 /* rows calendar.csv may leave in the store */

enum { STORE_DAY_CLOSED = 1, STORE_DAY_HOLIDAY = 2, STORE_DAY_PAYDAY = 4 };

struct store_calendar_day {
	int32_t day;
	char node[FL_ID_MAX]; /* "" for every node */
	unsigned flags;	      /* STORE_DAY_… */
};

/* The days that are closed, holidays or paydays, sorted by node ("" first), then day:
 * every node's, or (node given) that node's and every node's rows only; *days is
 * malloc'd (NULL when there are none). */
int store_calendar_days(struct store *st, const char *node, struct store_calendar_day **days,
			size_t *n, struct fl_err *err);

/*
 * Read series_id,date,value (any column order, extra columns ignored) from fp. Rows of
 * one series must be contiguous and their dates increasing; values finite and >= 0.
 * Errors name "NAME:LINE: field: what is wrong".
 */
int store_series_read_csv(FILE *fp, const char *name, struct store_series_set *out,
			  struct fl_err *err);

/*
 * The sales history of every (node, SKU) with a sale, or of one node and/or one SKU
 * (NULL for any), as sparse series that end on the last day of the whole sales table
 * (so an item that stopped selling ends in zeros). An unknown node or SKU: FL_ENOTFOUND.
 */
int store_sales_series(struct store *st, const char *node, const char *sku,
		       struct store_series_set *out, struct fl_err *err);

/*
 * The forecast cache: one row per (node, SKU, spec) where spec names the method,
 * horizon and level; `history` is the hash of the series it was computed from, so a
 * changed history is a miss. points: 3 × horizon doubles (means, lows, highs).
 */
struct store_forecast {
	const char *node, *sku;
	uint64_t history;
	char method[16];
	char model[32];
	int32_t first_day; /* the date of the first point */
	int horizon;
	double sum_mean, sum_lo, sum_hi;
	double mase; /* of the hold-out backtest, NaN when not computed */
	double *points;
};

#define STORE_FORECAST_SPECS_MAX 16 /* distinct specs kept; the oldest is dropped */

/*
 * Get one cached forecast: 0 and *found; out->points must hold 3 × out->horizon
 * doubles, and a row with another horizon is a miss.
 */
int store_forecast_get(struct store *st, const char *spec, struct store_forecast *out, bool *found,
		       struct fl_err *err);
/* Every cached forecast of spec, calling fn for each (points valid during the call). */
typedef int store_forecast_fn(void *ctx, const struct store_forecast *f);
int store_forecast_scan(struct store *st, const char *spec, store_forecast_fn *fn, void *ctx,
			struct fl_err *err);
/*
 * A complete batch: every series with sales was forecast under spec at import generation
 * gen (read before the series were). While the store's generation is still gen, the
 * cache alone answers for every series (store_forecast_scan), without reading sales.
 * get: *gen = -1 when no batch is recorded.
 */
int store_forecast_batch_set(struct store *st, const char *spec, int64_t gen, struct fl_err *err);
int store_forecast_batch_get(struct store *st, const char *spec, int64_t *gen, struct fl_err *err);
/* Upsert n forecasts in one transaction. */
int store_forecast_put(struct store *st, const char *spec, const struct store_forecast *v, size_t n,
		       struct fl_err *err);

/* ---- rebalancing scenarios ---- */

struct store_transfer {
	const char *from, *to, *sku;
	long qty;
	long shipped, received; /* read back; 0 when accepting */
};

/*
 * The stock a scenario is computed on, as a fingerprint of its parts: the import
 * generation, every (node, SKU)'s on-hand and reserved units, and the transfers in
 * transit. Two fingerprints differ when anything a scenario reads has moved; which part
 * differs says what moved.
 */
struct store_stock_state {
	int64_t import_gen;
	uint64_t inventory; /* a hash of every (node, SKU, on_hand, reserved) */
	int64_t transfers;  /* rows in transit */
};
int store_stock_state(struct store *st, struct store_stock_state *out, struct fl_err *err);
/* "g:inventory-hex:t" and back. */
void store_stock_state_format(const struct store_stock_state *s, char out[64]);
int store_stock_state_parse(const char *text, struct store_stock_state *out);
/* What differs between two states, in words ("an import", …); "" when nothing. */
void store_stock_state_diff(const struct store_stock_state *a, const struct store_stock_state *b,
			    char *out, size_t cap);

/*
 * One stored scenario's head. status: queued, running (a job's), done (response is its
 * answer), failed or cancelled (reason says why); only done has a response.
 */
#define STORE_REASON_MAX 512
struct store_scenario_row {
	char id[FL_ID_MAX], name[FL_NAME_MAX], status[16], reason[STORE_REASON_MAX];
	int64_t created_at, accepted_at; /* 0: not accepted */
	const char *response;		 /* JSON text ("" unless done), valid during the callback */
};
typedef int store_scenario_fn(void *ctx, const struct store_scenario_row *r);
/* Scenarios newest first, after the one named after (NULL: from the newest), whose name is
 * name and status status (NULL: any), at most limit. */
int store_scenarios_list(struct store *st, const char *after, const char *name, const char *status,
			 size_t limit, store_scenario_fn *fn, void *ctx, struct fl_err *err);
/* A job's scenario, before it runs: status queued, no response yet. */
int store_scenario_queue(struct store *st, const char *id, const char *name, const char *request,
			 struct fl_err *err);
/*
 * Move an unfinished (queued or running) scenario to status (running, failed or
 * cancelled; reason may be NULL), or to done with its response and stock_state.
 * FL_ECONFLICT when it is no longer unfinished (a cancel got there first), FL_ENOTFOUND.
 */
int store_scenario_advance(struct store *st, const char *id, const char *status, const char *reason,
			   struct fl_err *err);
int store_scenario_finish(struct store *st, const char *id, const char *response,
			  const char *stock_state, struct fl_err *err);
/* At start-up: every unfinished scenario becomes failed with reason (*n: how many). */
int store_scenarios_fail_unfinished(struct store *st, const char *reason, int *n,
				    struct fl_err *err);
/* A scenario's request (caller frees): FL_ENOTFOUND. */
int store_scenario_request(struct store *st, const char *id, char **request, struct fl_err *err);

/* Store a computed scenario (request and response are JSON texts); stock_state: the
 * formatted state it was computed on (may be NULL). */
int store_scenario_put(struct store *st, const char *id, const char *name, const char *request,
		       const char *response, const char *stock_state, struct fl_err *err);
/* *response (caller frees; "" unless done) and the head; FL_ENOTFOUND if none. */
int store_scenario_get(struct store *st, const char *id, char **response,
		       struct store_scenario_row *head, struct fl_err *err);
/*
 * Accept a scenario: its transfers become in transit, in one transaction. In-transit
 * units count as gone from their source and arrived at their destination until the next
 * import (which is taken to include them). FL_ECONFLICT if already accepted.
 */
int store_scenario_accept(struct store *st, const char *id, const struct store_transfer *t,
			  size_t n, int64_t now, struct fl_err *err);
/*
 * The same, only if the stock is still what the scenario was computed on (its recorded
 * stock_state), checked inside the accepting transaction: FL_ECONFLICT with what moved
 * otherwise, so two scenarios computed on the same stock cannot both be accepted.
 */
int store_scenario_accept_checked(struct store *st, const char *id, const struct store_transfer *t,
				  size_t n, int64_t now, struct fl_err *err);
/* Call fn for each transfer in transit (since the last import, not cancelled). */
typedef int store_transfer_fn(void *ctx, const struct store_transfer *t);
int store_in_transit(struct store *st, store_transfer_fn *fn, void *ctx, struct fl_err *err);

/* ---- transfer orders (data/transfers.c) ---- */

/*
 * An accepted transfer line: planned (its units committed at the source) → shipped (the
 * shipped units leave the source's on-hand, the rest stay committed) → received (they
 * arrive in the destination's on-hand), each in parts; or cancelled before anything
 * shipped (its commitment released). current: from the latest import (an import is taken
 * to include the transfers before it: theirs move no stock).
 */
struct store_transfer_row {
	char id[32], scenario_id[FL_ID_MAX], from[FL_ID_MAX], to[FL_ID_MAX], sku[FL_ID_MAX];
	char status[16];
	long qty, shipped, received;
	int64_t updated_at;
	bool current;
};
typedef int store_transfer_row_fn(void *ctx, const struct store_transfer_row *t);
/* Transfers, oldest first, after the one named after (NULL: from the first), filtered by
 * status, node (from or to) and scenario_id (NULL: any), at most limit. */
int store_transfers_list(struct store *st, const char *status, const char *node,
			 const char *scenario_id, const char *after, size_t limit,
			 store_transfer_row_fn *fn, void *ctx, struct fl_err *err);
int store_transfer_get(struct store *st, const char *id, struct store_transfer_row *out,
		       struct fl_err *err);
/*
 * Inside a write transaction: move qty units of transfer id (qty 0: all that is left):
 * STORE_TRANSFER_SHIP from the source, STORE_TRANSFER_RECEIVE into the destination, or
 * STORE_TRANSFER_CANCEL (nothing shipped yet). *applied: the units moved. FL_ENOTFOUND,
 * FL_EINVAL (more than is left, nothing left, cancelled, the source holds too little).
 */
enum store_transfer_move { STORE_TRANSFER_SHIP = 1, STORE_TRANSFER_RECEIVE, STORE_TRANSFER_CANCEL };
int store__transfer_move(struct store *st, const char *id, enum store_transfer_move move, long qty,
			 int64_t now, long *applied, struct fl_err *err);
/* The same in a transaction of its own (a cancel over HTTP). */
int store_transfer_cancel(struct store *st, const char *id, int64_t now, struct fl_err *err);

/* ---- outbound events and webhooks (data/webhooks.c) ---- */

/*
 * Inside a write transaction: the event {"event_id", "topic", "occurred_at", "order_id",
 * "data"} (data: a JSON text) for every subscription of topic, so the change and its
 * event commit together or not at all. Nothing is kept when nobody subscribes.
 */
int store__publish(struct store *st, const char *topic, const char *order_id, const char *data,
		   struct fl_err *err);

struct store_webhook {
	char id[32], url[2048], topics[1024], description[256];
	int64_t created_at, paused_until; /* ms */
	int failures;			  /* in a row */
	long pending, delivered, dead;
};
typedef int store_webhook_fn(void *ctx, const struct store_webhook *w);
int store_webhook_create(struct store *st, const struct store_webhook *w, const char *secret,
			 struct fl_err *err);
int store_webhook_get(struct store *st, const char *id, struct store_webhook *out,
		      struct fl_err *err);
int store_webhooks_list(struct store *st, store_webhook_fn *fn, void *ctx, struct fl_err *err);
int store_webhook_delete(struct store *st, const char *id, struct fl_err *err);
int store_webhook_secret(struct store *st, const char *id, const char *secret, struct fl_err *err);

/* One delivery of one event to one subscription; body, url, secret valid in the callback. */
struct store_delivery {
	int64_t id;
	char hook[32], event_id[32], topic[48], status[12], last_error[256], order_id[FL_ID_MAX];
	int attempts, last_code;
	int64_t next_at, created_at; /* ms */
	int64_t updated_at;	     /* s */
	const char *body, *url, *secret;
};
typedef int store_delivery_fn(void *ctx, const struct store_delivery *d);
/* A subscription's deliveries, oldest first, after id after, of status (NULL: any). */
int store_deliveries_list(struct store *st, const char *hook, const char *status, int64_t after,
			  size_t limit, store_delivery_fn *fn, void *ctx, struct fl_err *err);
/* Pending deliveries due by now_ms whose endpoint is not paused and whose order has
 * nothing earlier pending, oldest first. */
int store_deliveries_due(struct store *st, int64_t now_ms, size_t limit, store_delivery_fn *fn,
			 void *ctx, struct fl_err *err);
/* One attempt's outcome: status (delivered, pending with next_at, dead), and the
 * endpoint's health (failures in a row, paused_until). */
struct store_delivery_outcome {
	int64_t id;
	const char *hook, *status, *error;
	int code;
	int64_t next_at, now_ms;
	int64_t paused_until; /* the pause a failure earns once failures in a row reach breaker */
	int breaker;
};
/* Outcomes recorded together, in one transaction. */
int store_delivery_results(struct store *st, const struct store_delivery_outcome *o, size_t n,
			   struct fl_err *err);
/* A dead delivery pending again (FL_ECONFLICT if it is not dead); the endpoint unpaused. */
int store_delivery_retry(struct store *st, const char *hook, int64_t id, int64_t now_ms,
			 struct fl_err *err);
/* Every event of the subscription's topics since (s) delivered again: *n deliveries. */
int store_webhook_replay(struct store *st, const char *hook, int64_t since, int64_t now_ms, long *n,
			 struct fl_err *err);
/* inventory.changed: one event for each (node, SKU) whose stock changed since the last
 * call (at most limit), with its units now; *n events. */
int store_inventory_changes_publish(struct store *st, size_t limit, long *n, struct fl_err *err);
struct store_delivery_stats {
	int64_t pending, dead, oldest_pending_ms;
};
int store_deliveries_stats(struct store *st, struct store_delivery_stats *out, struct fl_err *err);

/* ---- rule sets ---- */

#define STORE_RULE_SETS_MAX 16 /* active rule sets at once */

struct store_rule_version {
	char name[64];
	int version;
	char sha256[65];
	char author_role[16];
	int tests_passed, tests_failed;
	int64_t created_at;
	bool active;
};

/* Store a new immutable version (the next number for name) and return it in *version. */
int store_rule_put(struct store *st, const char *name, const char *source, const char *sha256,
		   const char *role, int passed, int failed, int64_t now, int *version,
		   struct fl_err *err);
/* The source of one version (caller frees); FL_ENOTFOUND if none. */
int store_rule_source(struct store *st, const char *name, int version, char **source,
		      struct fl_err *err);
/* Every version of name, newest first (caller frees *out); FL_ENOTFOUND if none. */
int store_rule_versions(struct store *st, const char *name, struct store_rule_version **out,
			size_t *n, struct fl_err *err);
/* The latest version of each rule set (caller frees *out), active or not. */
int store_rule_sets(struct store *st, struct store_rule_version **out, size_t *n,
		    struct fl_err *err);
/*
 * Make version the active one of name, atomically, and bump the rules generation so that
 * every worker reloads before its next decision. version 0 deactivates the set.
 */
int store_rule_activate(struct store *st, const char *name, int version, int64_t now,
			struct fl_err *err);
/* A number that changes whenever an activation commits. */
int store_rules_generation(struct store *st, int64_t *gen, struct fl_err *err);
/* Each active set with its source, in name order. */
typedef int store_rule_fn(void *ctx, const char *name, int version, const char *source);
int store_rules_active(struct store *st, store_rule_fn *fn, void *ctx, struct fl_err *err);

/* ---- events and the outbox ---- */

/* A recorded event's answer (caller frees), or FL_ENOTFOUND. */
int store_event_get(struct store *st, const char *event_id, char **response, struct fl_err *err);
/*
 * Record an event and its consequences in one transaction: the event (and answer), the
 * order's new milestone rank (when rank > 0), a node outage opened or closed (outage
 * > 0 opens, < 0 closes, node names it), and the outbox messages (JSON texts, kinds).
 * FL_ECONFLICT if the event id is already recorded (a concurrent duplicate).
 */
struct store_outbox_msg {
	const char *kind;
	const char *payload;
};
struct store_event_rec {
	const char *event_id, *type, *order_id, *status, *request, *response;
	int rank;		      /* the order's new milestone rank, 0: unchanged */
	const char *node;	      /* for outage */
	int outage;		      /* > 0 opens an outage of node, < 0 closes it */
	const char *consume_decision; /* its open reservations become consumed (hand-over) */
	const struct store_outbox_msg *msgs;
	size_t nmsgs;
	int64_t now;
	long *consumed; /* out (may be NULL): the units consume_decision's reservation had open */
	const char *transfer_id; /* a transfer event: the transfer it moves */
	enum store_transfer_move transfer_move;
	long transfer_qty;	/* 0: all that is left */
	long *transfer_applied; /* out (may be NULL): the units moved */
};
int store_event_record(struct store *st, const struct store_event_rec *ev, struct fl_err *err);
/* The latest milestone rank recorded for an order (0 if none). */
int store_milestone_get(struct store *st, const char *order_id, int *rank, struct fl_err *err);
/* A node out of sourcing (an outage not yet restored) and the event that said so. */
struct store_outage {
	char node[FL_ID_MAX];
	char event_id[FL_ID_MAX];
};
/* Every open outage (caller frees the array). */
int store_outages(struct store *st, struct store_outage **out, size_t *n, struct fl_err *err);
/* Outbox messages not acknowledged, oldest first, at most limit; fn per message. */
typedef int store_outbox_fn(void *ctx, int64_t id, const char *event_id, const char *kind,
			    const char *payload, int64_t created_at);
int store_outbox_list(struct store *st, size_t limit, store_outbox_fn *fn, void *ctx,
		      struct fl_err *err);
/* Acknowledge one message: FL_ENOTFOUND if no such message (acking twice is fine). */
int store_outbox_ack(struct store *st, int64_t id, int64_t now, struct fl_err *err);
/* The latest limit decisions, newest first: fn(ctx, id, order_id, request). */
typedef int store_decision_fn(void *ctx, const char *id, const char *order_id, const char *request);
int store_decisions_recent(struct store *st, size_t limit, store_decision_fn *fn, void *ctx,
			   struct fl_err *err);
/* The stored request of the latest decision for an order (caller frees); FL_ENOTFOUND. */
int store_decision_request(struct store *st, const char *order_id, char **request,
			   char **decision_id, struct fl_err *err);

/* ---- access tokens (API.md) ---- */

#define STORE_TOKEN_ID_LEN 16	/* hex characters of a token's public id */
#define STORE_TOKEN_HASH_LEN 32 /* SHA-256 of the secret */

struct store_token {
	char id[STORE_TOKEN_ID_LEN + 1];
	char role[16];
	unsigned char hash[STORE_TOKEN_HASH_LEN];
	int64_t created_at; /* unix seconds */
	int64_t revoked_at; /* 0 while valid */
};

int store_token_insert(struct store *st, const struct store_token *t, struct fl_err *err);
/* FL_ENOTFOUND when there is no token with that id. */
int store_token_get(struct store *st, const char *id, struct store_token *out, struct fl_err *err);
int store_token_list(struct store *st, struct store_token **out, size_t *n, struct fl_err *err);
/* FL_ENOTFOUND when there is no such valid token. */
int store_token_revoke(struct store *st, const char *id, int64_t now, struct fl_err *err);

#endif
