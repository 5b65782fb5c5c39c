/* SPDX-License-Identifier: GPL-3.0-or-later */
/* store_impl.h — private to data/: the store handle and the helpers its files share. */
#ifndef FULCRUM_DATA_STORE_IMPL_H
#define FULCRUM_DATA_STORE_IMPL_H

#include <sqlite3.h>

#include <stdio.h>

#include "internal.h"
#include "store.h"

/* Statements a store keeps prepared for its lifetime, one slot each. */
enum store_stmt_slot {
	STMT_PING,
	STMT_HOOKS_OF_TOPIC,
	STMT_EVENT_OUT,
	STMT_DELIVERIES_NEW,
	STMT_NODES,
	STMT_SKUS_PAGE,
	STMT_ZONES,
	STMT_RATES,
	STMT_LANES,
	STMT_INV_PAGE,
	STMT_TOKEN_INSERT,
	STMT_TOKEN_GET,
	STMT_TOKEN_LIST,
	STMT_TOKEN_REVOKE,
	STMT_STOCK_SKU,
	STMT_NODE_LOAD,
	STMT_KEY_GET,
	STMT_DECISION_INSERT,
	STMT_KEY_INSERT,
	STMT_RESERVE_INV,
	STMT_RESERVE_NODE,
	STMT_RESERVATION_INSERT,
	STMT_DECISION_GET,
	STMT_OPEN_RES,
	STMT_UNRESERVE_INV,
	STMT_UNRESERVE_NODE,
	STMT_RELEASE_RES,
	STMT_IMPORT_GEN,
	STMT_WAVE_INSERT,
	STMT_FORECAST_GET,
	STMT_FORECAST_PUT,
	STMT_RULES_GEN,
	STMT_CONSUME_INV,
	STMT_CONSUME_RES,
	STMT_OUTAGES,
	STMT_COUNT
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmts[STMT_COUNT];
};

/*
 * Write transactions of this process queue on one mutex before BEGIN IMMEDIATE: SQLite's
 * busy handler waits in sleeps of milliseconds, which would be the tail of every
 * concurrent write. Other processes still meet the busy timeout.
 */
int store_write_begin(struct store *st, struct fl_err *err);
/*
 * End a write transaction: COMMIT when rc is 0, else ROLLBACK. Returns rc, or the
 * COMMIT's own failure (FL_EIO on a full disk or an I/O error, FL_EDB otherwise) after
 * rolling back: a caller returns it, so nothing is reported written that was not.
 */
int store_write_end(struct store *st, int rc, struct fl_err *err);
/* Roll the write transaction back (nothing to write after all). */
void store_write_abort(struct store *st);

/* Rows one read may collect into memory (a list, a page, the outages): past it, FL_ELIMIT. */
#define STORE_ROWS_MAX ((size_t)1 << 24)

/* A statement run to its end: 0, or the store's error for `what`. */
int store__step_done(struct store *st, sqlite3_stmt *s, struct fl_err *err, const char *what);

/* Run a query and collect its rows into a growing array of `size`-byte records, each
 * filled by `row` (at most limit; *more when there were more). Shared by the loaders. */
typedef void row_fn(sqlite3_stmt *s, void *rec);
void store__col_text(sqlite3_stmt *s, int i, char *dst, size_t cap);
/* Outbound events (webhooks.c): is anyone subscribed to topic? s as a JSON string on fp.
 * publish_stream: close fp (open_memstream on *text) and publish what it holds. */
bool store__listened(struct store *st, const char *topic);
void store__json_str(FILE *fp, const char *s);
int store__publish_stream(struct store *st, const char *topic, const char *order_id, FILE *fp,
			  char **text, struct fl_err *err);
int store__collect(struct store *st, sqlite3_stmt *s, size_t size, row_fn *row, size_t limit,
		   void **out, size_t *n, bool *more, struct fl_err *err);

int store_dberr(struct store *st, struct fl_err *err, const char *what);
/*
 * Inside a write transaction: a decision's open reservations released (stock back to
 * available) or consumed (the stock left: on_hand falls too). *units: how many.
 */
int store_reservations_settle(struct store *st, const char *decision_id, bool consume, long *units,
			      struct fl_err *err);
int store_exec(struct store *st, const char *sql, struct fl_err *err);
int store_prepare(struct store *st, sqlite3_stmt **stmt, const char *sql, struct fl_err *err);
int store_stmt(struct store *st, enum store_stmt_slot slot, const char *sql, sqlite3_stmt **out,
	       struct fl_err *err);

#endif
