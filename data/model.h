/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model.h — fulcrum's domain model and the few basics every module shares.
 *
 * Purpose: plain structs for the reference data of DATA.md (nodes, SKUs, inventory,
 * zones, rates, lanes, sales, orders), the status codes all modules return, and the
 * caller-owned error record that carries their detail.
 *
 * Ownership: every struct here is plain data with fixed-size strings; copying one is
 * a full copy. Nothing here allocates except fl_err's text, which is inline.
 *
 * Errors: functions across fulcrum return int: 0 on success, a negative FL_E* status
 * on failure. Detail (what failed, the subject, the input's location) goes into an
 * optional struct fl_err (NULL allowed).
 *
 * Threads: everything here is reentrant; no global state.
 */
#ifndef FULCRUM_DATA_MODEL_H
#define FULCRUM_DATA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- status codes: one X-macro list, negative values ---- */

#define FL_STATUS_MAP(X)                      \
	X(OK, 0, "success")                   \
	X(NOMEM, -1, "out of memory")         \
	X(INVAL, -2, "invalid input")         \
	X(NOTFOUND, -3, "not found")          \
	X(IO, -4, "input/output error")       \
	X(DB, -5, "database error")           \
	X(LIMIT, -6, "a limit was exceeded")  \
	X(CONFLICT, -7, "conflict")           \
	X(BUSY, -8, "busy")                   \
	X(SOLVER, -9, "solver failure")       \
	X(TIMEOUT, -10, "time limit reached") \
	X(RULE, -11, "rule failure")          \
	X(AUTH, -12, "not authorized")        \
	X(TOOBIG, -13, "too large")           \
	X(INTERNAL, -14, "internal error")    \
	X(CANCELLED, -15, "cancelled")

enum fl_status {
#define FL_STATUS_ENUM(name, val, text) FL_E##name = (val),
	FL_STATUS_MAP(FL_STATUS_ENUM)
#undef FL_STATUS_ENUM
};

/* The fixed text of a status code ("unknown status" for one not in the list). */
const char *fl_strerror(int status);

/* ---- the error record ---- */

#define FL_ERR_MSG_MAX 512

struct fl_err {
	int status;		  /* the FL_E* code of the failure */
	char msg[FL_ERR_MSG_MAX]; /* "nodes.csv:57: lat: not a number" */
};

/*
 * Record a failure in err (if not NULL) and return status, so a caller may write
 * `return fl_err_set(err, FL_EINVAL, "lat: not a number");`. The first error set on a
 * record wins only if the caller checks; each call overwrites.
 */
int fl_err_set(struct fl_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the record's message with "prefix: " (used to add file:line context). */
void fl_err_prefix(struct fl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- a growable array with a ceiling ---- */

/*
 * Grow the array *v (elements of `size` bytes, *cap of them) to hold at least `need`,
 * doubling from 16 and never past `ceiling` elements. 0; FL_ELIMIT when need exceeds the
 * ceiling; FL_ENOMEM. On failure *v and *cap are as they were (the caller still owns
 * *v). Every array that grows from outside input grows through this: hitting a ceiling
 * is an error the caller sees, never a silent drop.
 */
int fl_grow(void **v, size_t *cap, size_t need, size_t size, size_t ceiling);

/* ---- a bounded pool of worker threads ---- */

#define FL_POOL_MAX 64 /* workers in one pool, the caller's thread included */

struct fl_pool;
typedef void fl_worker_fn(void *ctx, int worker);

/*
 * A pool of `threads` workers (clamped to 1 … FL_POOL_MAX): worker 0 is the calling
 * thread, the others persist between calls, so per-thread state (GLPK's environment,
 * warm LPs) survives from one call to the next. When the system refuses a thread the pool
 * is smaller (fl_pool_size says how big); the work still runs. FL_ENOMEM.
 */
int fl_pool_create(int threads, struct fl_pool **out);
int fl_pool_size(const struct fl_pool *p);
/* Every worker runs fn(ctx, worker) once, worker 0 on the caller; returns when all have. */
void fl_pool_each(struct fl_pool *p, fl_worker_fn *fn, void *ctx);
/* Stop and join the workers (NULL: nothing). */
void fl_pool_destroy(struct fl_pool *p);
/*
 * fn(ctx, worker) once on each of `threads` workers of a pool made for the call (the
 * usual shape: each worker takes indices from an atomic counter in ctx until none is
 * left). Returns the number of workers that ran (>= 1: without a pool, the caller alone).
 */
int fl_run_workers(int threads, fl_worker_fn *fn, void *ctx);

/* ---- ceilings on identifiers and text ---- */

#define FL_ID_MAX 64	/* node, SKU, carrier, service ids: at most 63 bytes */
#define FL_NAME_MAX 128 /* names and regions: at most 127 bytes */

/* ---- reference data (DATA.md) ---- */

enum fl_node_type { FL_NODE_DC, FL_NODE_STORE, FL_NODE_3PL, FL_NODE_MFC };

/* "dc", "store", "3pl", "mfc"; NULL for a value out of range. */
const char *fl_node_type_name(enum fl_node_type t);
/* Parse a node type; returns false for an unknown name. */
bool fl_node_type_parse(const char *s, enum fl_node_type *out);

#define FL_UNLIMITED (-1L) /* capacity_units left empty */

struct fl_node {
	char id[FL_ID_MAX];
	char name[FL_NAME_MAX];
	enum fl_node_type type;
	double lat, lon; /* WGS84 degrees */
	char region[FL_NAME_MAX];
	long capacity_units;  /* FL_UNLIMITED or >= 0 */
	double handling_cost; /* per shipment leaving the node */
	double pick_cost;     /* per unit */
	int processing_days;  /* >= 0 */
	bool ships_hazmat;
};

struct fl_sku {
	char id[FL_ID_MAX];
	char name[FL_NAME_MAX];
	double weight_kg;
	bool hazmat;
	long case_pack; /* units per case (>= 1): transfers move whole cases */
};

struct fl_inventory {
	char node[FL_ID_MAX];
	char sku[FL_ID_MAX];
	long on_hand;
	long safety_stock;
	long reserved;	    /* units held by open reservations */
	long committed_out; /* units committed to accepted transfers leaving this node */
	long in_transit_in; /* units of accepted transfers on their way here */
};

struct fl_zone {
	int zone;
	double max_km;
};

struct fl_rate {
	char carrier[FL_ID_MAX];
	char service[FL_ID_MAX];
	int zone;
	double base_cost;
	double per_kg;
	int transit_days;
	bool hazmat_ok;
};

struct fl_lane {
	char from[FL_ID_MAX];
	char to[FL_ID_MAX];
	double cost_per_unit;
	double fixed_cost;
	int lead_days;
	long capacity_units; /* FL_UNLIMITED or >= 0 */
};

struct fl_sale {
	int32_t day; /* days since 1970-01-01 */
	char node[FL_ID_MAX];
	char sku[FL_ID_MAX];
	long qty;
};

/* ---- helpers shared by the engines ---- */

#define FL_EARTH_RADIUS_KM 6371.0

/* Great-circle (haversine) distance in km between two WGS84 points (DATA.md step 1). */
double fl_haversine_km(double lat1, double lon1, double lat2, double lon2);

/*
 * Calendar days: fl_date_parse accepts exactly "YYYY-MM-DD" (a real Gregorian date,
 * years 1..9999) and yields days since 1970-01-01; fl_date_format writes the same form
 * into buf (at least 11 bytes).
 */
bool fl_date_parse(const char *s, int32_t *day);
void fl_date_format(int32_t day, char buf[static 11]);

/* Copy src into a fixed-size field; false (and dst emptied) if it does not fit. */
bool fl_copy_id(char *dst, size_t cap, const char *src);

#endif
