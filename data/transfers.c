/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transfers.c — transfer orders: the lines of accepted scenarios (in_transit rows), their
 * life (planned → shipped → received, in parts, or cancelled) and the stock each step
 * moves, inside the caller's transaction or one of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_impl.h"

#define TRANSFER_COLS                                                                          \
	"t.rowid, t.scenario_id, t.src, t.dst, t.sku, t.status, t.qty, t.shipped, t.received," \
	" coalesce(t.updated_at, 0),"                                                          \
	" t.gen = (SELECT value FROM meta WHERE key = 'import_gen')"

static void transfer_row(sqlite3_stmt *s, struct store_transfer_row *t)
{
	snprintf(t->id, sizeof(t->id), "t_%lld", (long long)sqlite3_column_int64(s, 0));
	store__col_text(s, 1, t->scenario_id, sizeof(t->scenario_id));
	store__col_text(s, 2, t->from, sizeof(t->from));
	store__col_text(s, 3, t->to, sizeof(t->to));
	store__col_text(s, 4, t->sku, sizeof(t->sku));
	store__col_text(s, 5, t->status, sizeof(t->status));
	t->qty = (long)sqlite3_column_int64(s, 6);
	t->shipped = (long)sqlite3_column_int64(s, 7);
	t->received = (long)sqlite3_column_int64(s, 8);
	t->updated_at = sqlite3_column_int64(s, 9);
	t->current = sqlite3_column_int(s, 10) != 0;
}

/* "t_123" → 123; 0 when it is not a transfer id. */
static int64_t transfer_rowid(const char *id)
{
	if (!id || strncmp(id, "t_", 2) || !id[2] || strlen(id) > 20)
		return 0;
	char *end;
	const long long v = strtoll(id + 2, &end, 10);
	return *end || v <= 0 ? 0 : (int64_t)v;
}

int store_transfers_list(struct store *st, const char *status, const char *node,
			 const char *scenario_id, const char *after, size_t limit,
			 store_transfer_row_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT " TRANSFER_COLS " FROM in_transit t"
			       " WHERE t.rowid > ?1 AND (?2 IS NULL OR t.status = ?2)"
			       " AND (?3 IS NULL OR t.src = ?3 OR t.dst = ?3)"
			       " AND (?4 IS NULL OR t.scenario_id = ?4)"
			       " ORDER BY t.rowid LIMIT ?5",
			       err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, transfer_rowid(after));
	if (status)
		sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	if (node)
		sqlite3_bind_text(s, 3, node, -1, SQLITE_STATIC);
	if (scenario_id)
		sqlite3_bind_text(s, 4, scenario_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)limit);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_transfer_row t;
		transfer_row(s, &t);
		if ((rc = fn(ctx, &t)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "list transfers");
	sqlite3_finalize(s);
	return rc;
}

int store_transfer_get(struct store *st, const char *id, struct store_transfer_row *out,
		       struct fl_err *err)
{
	sqlite3_stmt *s;
	const int64_t rowid = transfer_rowid(id);
	int rc = store_prepare(st, &s,
			       "SELECT " TRANSFER_COLS " FROM in_transit t WHERE rowid = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, rowid);
	const int step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		transfer_row(s, out);
	else
		rc = step == SQLITE_DONE ? fl_err_set(err, FL_ENOTFOUND, "no transfer '%s'", id)
					 : store_dberr(st, err, "read transfer");
	sqlite3_finalize(s);
	return rc;
}

/* One statement with (node id, sku id, units) bound: 0 or the store's error. */
static int stock_step(struct store *st, const char *sql, const char *node, const char *sku,
		      long units, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s, sql, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, sku, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, units);
	rc = store__step_done(st, s, err, "move transfer stock");
	sqlite3_finalize(s);
	return rc;
}

#define NODE_SKU                                        \
	" node = (SELECT nid FROM nodes WHERE id = ?1)" \
	" AND sku = (SELECT kid FROM skus WHERE id = ?2)"

/* The stock a step moves (the transfer is of the latest import). */
static int move_stock(struct store *st, const struct store_transfer_row *t,
		      enum store_transfer_move move, long q, struct fl_err *err)
{
	if (move == STORE_TRANSFER_CANCEL) /* the commitment goes: sellable again */
		return stock_step(st,
				  "UPDATE inventory SET committed = max(committed - ?3, 0)"
				  " WHERE" NODE_SKU,
				  t->from, t->sku, q, err);
	if (move == STORE_TRANSFER_SHIP) {
		sqlite3_stmt *s;
		int rc = store_prepare(
			st, &s, "SELECT on_hand - reserved FROM inventory WHERE" NODE_SKU, err);
		if (rc)
			return rc;
		sqlite3_bind_text(s, 1, t->from, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, t->sku, -1, SQLITE_STATIC);
		const long free_units =
			sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : 0;
		sqlite3_finalize(s);
		if (free_units < q)
			return fl_err_set(
				err, FL_EINVAL,
				"transfer %s: %s holds %ld unreserved units of %s, not the "
				"%ld shipped",
				t->id, t->from, free_units, t->sku, q);
		return stock_step(st,
				  "UPDATE inventory SET on_hand = on_hand - ?3,"
				  " committed = max(committed - ?3, 0) WHERE" NODE_SKU,
				  t->from, t->sku, q, err);
	}
	int rc = stock_step(st,
			    "INSERT OR IGNORE INTO inventory(node, sku, on_hand, safety_stock, gen)"
			    " SELECT (SELECT nid FROM nodes WHERE id = ?1),"
			    " (SELECT kid FROM skus WHERE id = ?2), 0, 0,"
			    " (SELECT value FROM meta WHERE key = 'import_gen') WHERE ?3 > 0",
			    t->to, t->sku, q, err);
	return rc ? rc
		  : stock_step(st, "UPDATE inventory SET on_hand = on_hand + ?3 WHERE" NODE_SKU,
			       t->to, t->sku, q, err);
}

int store__transfer_move(struct store *st, const char *id, enum store_transfer_move move, long qty,
			 int64_t now, long *applied, struct fl_err *err)
{
	struct store_transfer_row t;
	int rc = store_transfer_get(st, id, &t, err);
	if (applied)
		*applied = 0;
	if (rc)
		return rc;
	if (!strcmp(t.status, "cancelled"))
		return fl_err_set(err, FL_EINVAL, "transfer %s is cancelled", id);
	long left = move == STORE_TRANSFER_SHIP	     ? t.qty - t.shipped
		    : move == STORE_TRANSFER_RECEIVE ? t.shipped - t.received
						     : (t.shipped ? 0 : t.qty);
	if (move == STORE_TRANSFER_CANCEL && t.shipped)
		return fl_err_set(err, FL_EINVAL,
				  "transfer %s has shipped %ld units: too late to cancel", id,
				  t.shipped);
	if (left <= 0)
		return fl_err_set(err, FL_EINVAL, "transfer %s: nothing left to %s (%ld of %ld %s)",
				  id, move == STORE_TRANSFER_SHIP ? "ship" : "receive",
				  move == STORE_TRANSFER_SHIP ? t.shipped : t.received,
				  move == STORE_TRANSFER_SHIP ? t.qty : t.shipped,
				  move == STORE_TRANSFER_SHIP ? "shipped"
							      : "received of those shipped");
	const long q = qty > 0 ? qty : left;
	if (q > left)
		return fl_err_set(err, FL_EINVAL,
				  "data.qty: %ld is more than the %ld left to %s on %s", q, left,
				  move == STORE_TRANSFER_SHIP ? "ship" : "receive", id);
	/* an import since is taken to include the transfer: its steps move no more stock */
	if (t.current && (rc = move_stock(st, &t, move, q, err)))
		return rc;
	sqlite3_stmt *s;
	if ((rc = store_prepare(
		     st, &s,
		     "UPDATE in_transit SET shipped = shipped + ?2, received = received + ?3,"
		     " status = ?4, updated_at = ?5 WHERE rowid = ?1",
		     err)))
		return rc;
	const long shipped = t.shipped + (move == STORE_TRANSFER_SHIP ? q : 0);
	const long received = t.received + (move == STORE_TRANSFER_RECEIVE ? q : 0);
	sqlite3_bind_int64(s, 1, transfer_rowid(id));
	sqlite3_bind_int64(s, 2, move == STORE_TRANSFER_SHIP ? q : 0);
	sqlite3_bind_int64(s, 3, move == STORE_TRANSFER_RECEIVE ? q : 0);
	sqlite3_bind_text(s, 4,
			  move == STORE_TRANSFER_CANCEL ? "cancelled"
			  : received == t.qty		? "received"
			  : shipped > 0			? "shipped"
							: "planned",
			  -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	rc = store__step_done(st, s, err, "update transfer");
	sqlite3_finalize(s);
	if (!rc && applied)
		*applied = q;
	if (rc || move == STORE_TRANSFER_CANCEL)
		return rc;
	const char *topic = move == STORE_TRANSFER_SHIP ? "transfer.shipped" : "transfer.received";
	if (!store__listened(st, topic))
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (fp) {
		fputs("{\"transfer_id\":", fp);
		store__json_str(fp, id);
		fputs(",\"scenario_id\":", fp);
		store__json_str(fp, t.scenario_id);
		fputs(",\"from\":", fp);
		store__json_str(fp, t.from);
		fputs(",\"to\":", fp);
		store__json_str(fp, t.to);
		fputs(",\"sku\":", fp);
		store__json_str(fp, t.sku);
		fprintf(fp, ",\"units\":%ld,\"qty\":%ld,\"shipped\":%ld,\"received\":%ld}", q,
			t.qty, shipped, received);
	}
	return store__publish_stream(st, topic, NULL, fp, &text, err);
}

int store_transfer_cancel(struct store *st, const char *id, int64_t now, struct fl_err *err)
{
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	rc = store__transfer_move(st, id, STORE_TRANSFER_CANCEL, 0, now, NULL, err);
	return store_write_end(st, rc, err);
}
