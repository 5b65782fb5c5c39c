/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stock reads for a decision, the decision log, and reservations. A reservation is one
 * BEGIN IMMEDIATE transaction that re-checks ATP and node capacity in its UPDATEs'
 * WHERE clauses, so two concurrent decisions can never reserve the same unit.
 */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static int node_index(const struct fl_node *nodes, int n, const char *id)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) { /* nodes are sorted by id (store_nodes_load) */
		int mid = (lo + hi) / 2, c = strcmp(nodes[mid].id, id);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int store_stock_read(struct store *st, const char *const *skus, int nskus,
		     const struct fl_node *nodes, int nnodes, long *atp, long *cap_left,
		     struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc, step;

	memset(atp, 0, sizeof(long) * (size_t)nnodes * (size_t)nskus);
	for (int n = 0; n < nnodes; n++)
		cap_left[n] = FL_UNLIMITED;
	/* one read transaction: every number describes the same instant */
	if ((rc = store_exec(st, "BEGIN", err)))
		return rc;
	if ((rc = store_stmt(st, STMT_STOCK_SKU,
			     "SELECT n.id, i.on_hand - i.reserved - i.safety_stock - i.committed"
			     " FROM skus k JOIN inventory i ON i.sku = k.kid"
			     " JOIN nodes n ON n.nid = i.node WHERE k.id = ?1",
			     &s, err)))
		goto out;
	for (int k = 0; k < nskus; k++) {
		sqlite3_bind_text(s, 1, skus[k], -1, SQLITE_STATIC);
		while ((step = sqlite3_step(s)) == SQLITE_ROW) {
			int n = node_index(nodes, nnodes, (const char *)sqlite3_column_text(s, 0));
			long v = (long)sqlite3_column_int64(s, 1);
			if (n >= 0)
				atp[(size_t)n * (size_t)nskus + (size_t)k] = v > 0 ? v : 0;
		}
		sqlite3_reset(s);
		if (step != SQLITE_DONE) {
			rc = store_dberr(st, err, "read stock");
			goto out;
		}
	}
	if ((rc = store_stmt(st, STMT_NODE_LOAD,
			     "SELECT id, capacity_units - reserved_units FROM nodes"
			     " WHERE capacity_units IS NOT NULL",
			     &s, err)))
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int n = node_index(nodes, nnodes, (const char *)sqlite3_column_text(s, 0));
		long v = (long)sqlite3_column_int64(s, 1);
		if (n >= 0)
			cap_left[n] = v > 0 ? v : 0;
	}
	sqlite3_reset(s);
	if (step != SQLITE_DONE)
		rc = store_dberr(st, err, "read capacity");
out:
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

static int key_get(struct store *st, const char *order_id, const unsigned char hash[32],
		   char **response, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_KEY_GET,
			    "SELECT k.request_hash, d.response FROM order_keys k"
			    " JOIN decisions d ON d.id = k.decision_id WHERE k.order_id = ?1",
			    &s, err);
	if (rc)
		return rc;
	*response = NULL;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	int step = sqlite3_step(s);
	if (step == SQLITE_DONE) {
		rc = FL_ENOTFOUND;
	} else if (step != SQLITE_ROW) {
		rc = store_dberr(st, err, "read order key");
	} else if (sqlite3_column_bytes(s, 0) != 32 ||
		   memcmp(sqlite3_column_blob(s, 0), hash, 32)) {
		rc = fl_err_set(err, FL_ECONFLICT,
				"order_id: '%s' was decided before with a different request",
				order_id);
	} else {
		*response = strdup((const char *)sqlite3_column_text(s, 1));
		rc = *response ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	sqlite3_reset(s);
	return rc;
}

int store_order_key_get(struct store *st, const char *order_id, const unsigned char hash[32],
			char **response, struct fl_err *err)
{
	return key_get(st, order_id, hash, response, err);
}

static int reserve(struct store *st, const struct store_decision *d, const struct store_alloc *a,
		   int na, long *total, struct fl_err *err)
{
	sqlite3_stmt *inv, *node, *res;
	int rc;
	if ((rc = store_stmt(st, STMT_RESERVE_INV,
			     "UPDATE inventory SET reserved = reserved + ?3"
			     " WHERE node = (SELECT nid FROM nodes WHERE id = ?1)"
			     " AND sku = (SELECT kid FROM skus WHERE id = ?2)"
			     " AND on_hand - reserved - safety_stock - committed >= ?3",
			     &inv, err)) ||
	    (rc = store_stmt(
		     st, STMT_RESERVE_NODE,
		     "UPDATE nodes SET reserved_units = reserved_units + ?2 WHERE id = ?1"
		     " AND (capacity_units IS NULL OR capacity_units - reserved_units >= ?2)",
		     &node, err)) ||
	    (rc = store_stmt(
		     st, STMT_RESERVATION_INSERT,
		     "INSERT INTO reservations(decision_id, node, sku, qty, state, created_at)"
		     " SELECT ?1, n.nid, k.kid, ?4, 'open', ?5 FROM nodes n, skus k"
		     " WHERE n.id = ?2 AND k.id = ?3",
		     &res, err)))
		return rc;
	*total = 0;
	for (int i = 0; i < na; i++) {
		if (a[i].qty <= 0)
			continue;
		/* each (node, sku) is checked against its ATP, each node against its room */
		sqlite3_bind_text(inv, 1, a[i].node, -1, SQLITE_STATIC);
		sqlite3_bind_text(inv, 2, a[i].sku, -1, SQLITE_STATIC);
		sqlite3_bind_int64(inv, 3, a[i].qty);
		if ((rc = store__step_done(st, inv, err, "reserve")))
			return rc;
		if (sqlite3_changes(st->db) != 1)
			return fl_err_set(err, FL_EBUSY, "stock of '%s' at '%s' changed", a[i].sku,
					  a[i].node);
		sqlite3_bind_text(node, 1, a[i].node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(node, 2, a[i].qty);
		if ((rc = store__step_done(st, node, err, "reserve")))
			return rc;
		if (sqlite3_changes(st->db) != 1)
			return fl_err_set(err, FL_EBUSY, "capacity of '%s' changed", a[i].node);
		sqlite3_bind_text(res, 1, d->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(res, 2, a[i].node, -1, SQLITE_STATIC);
		sqlite3_bind_text(res, 3, a[i].sku, -1, SQLITE_STATIC);
		sqlite3_bind_int64(res, 4, a[i].qty);
		sqlite3_bind_int64(res, 5, d->created_at);
		if ((rc = store__step_done(st, res, err, "reserve")))
			return rc;
		*total += a[i].qty;
	}
	return 0;
}

/*
 * The decision d replaces: its open reservation released, itself marked superseded, in
 * the caller's transaction. FL_ENOTFOUND when it does not exist, FL_ECONFLICT when it was
 * superseded already (a racing reroute won).
 */
static int supersede(struct store *st, const struct store_decision *d, struct fl_err *err)
{
	sqlite3_stmt *s;
	long units;
	int rc = store_prepare(st, &s,
			       "UPDATE decisions SET superseded_by = ?2"
			       " WHERE id = ?1 AND superseded_by IS NULL",
			       err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, d->supersedes, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, d->id, -1, SQLITE_STATIC);
	rc = store__step_done(st, s, err, "supersede");
	const int changed = sqlite3_changes(st->db);
	sqlite3_finalize(s);
	if (rc)
		return rc;
	if (!changed)
		return fl_err_set(err, FL_ECONFLICT,
				  "decision '%s' is gone or was replaced already", d->supersedes);
	return store_reservations_settle(st, d->supersedes, false, &units, err);
}

/* reservation.changed: the units a decision reserved, by node and SKU (moved: from the
 * decision it replaced). */
static int publish_reserved(struct store *st, const struct store_decision *d,
			    const struct store_alloc *allocs, int nallocs, struct fl_err *err)
{
	if (!store__listened(st, "reservation.changed"))
		return 0;
	char *text = NULL;
	size_t len = 0;
	long units = 0;
	FILE *fp = open_memstream(&text, &len);
	if (fp) {
		fputs("{\"decision_id\":", fp);
		store__json_str(fp, d->id);
		fprintf(fp, ",\"change\":\"%s\",\"lines\":[", d->supersedes ? "moved" : "reserved");
		for (int i = 0; i < nallocs; i++) {
			fputs(i ? ",{\"node\":" : "{\"node\":", fp);
			store__json_str(fp, allocs[i].node);
			fputs(",\"sku\":", fp);
			store__json_str(fp, allocs[i].sku);
			fprintf(fp, ",\"units\":%ld}", allocs[i].qty);
			units += allocs[i].qty;
		}
		fprintf(fp, "],\"units\":%ld", units);
		if (d->supersedes) {
			fputs(",\"from_decision\":", fp);
			store__json_str(fp, d->supersedes);
		}
		fputc('}', fp);
	}
	return store__publish_stream(st, "reservation.changed", d->order_id, fp, &text, err);
}

/* One decision inside the caller's write transaction (wave_id may be NULL). */
static int record_one(struct store *st, const struct store_decision *d, const char *wave_id,
		      bool reserve_it, const struct store_alloc *allocs, int nallocs,
		      char **existing, struct fl_err *err)
{
	sqlite3_stmt *s;
	long total = 0;
	int rc;

	if (d->supersedes && (rc = supersede(st, d, err)))
		return rc;
	if (reserve_it) {
		rc = d->supersedes ? FL_ENOTFOUND /* the order's key moves to this one */
				   : key_get(st, d->order_id, d->request_hash, existing, err);
		if (rc != FL_ENOTFOUND)
			return rc; /* 0: answered before; ECONFLICT; or an error */
		if ((rc = reserve(st, d, allocs, nallocs, &total, err)))
			return rc;
	}
	if ((rc = store_stmt(
		     st, STMT_DECISION_INSERT,
		     "INSERT INTO decisions(id, order_id, request, response, status,"
		     " solver_status, solver_ms, rules_version, reserved_units, created_at,"
		     " wave_id, supersedes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		     " ?11, ?12)",
		     &s, err)))
		return rc;
	sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, d->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, d->request, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, d->response, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, d->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, d->solver_status, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 7, d->solver_ms);
	if (d->rules_version)
		sqlite3_bind_text(s, 8, d->rules_version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, total);
	sqlite3_bind_int64(s, 10, d->created_at);
	if (wave_id)
		sqlite3_bind_text(s, 11, wave_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 11);
	if (d->supersedes)
		sqlite3_bind_text(s, 12, d->supersedes, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 12);
	if ((rc = store__step_done(st, s, err, "record decision")) ||
	    (rc = store__publish(st, d->supersedes ? "decision.rerouted" : "decision.created",
				 d->order_id, d->response, err)) ||
	    (reserve_it && total > 0 && (rc = publish_reserved(st, d, allocs, nallocs, err))))
		return rc;
	if (!reserve_it)
		return 0;
	if ((rc = store_stmt(
		     st, STMT_KEY_INSERT,
		     "INSERT OR REPLACE INTO order_keys(order_id, decision_id, request_hash)"
		     " VALUES (?1, ?2, ?3)",
		     &s, err)))
		return rc;
	sqlite3_bind_text(s, 1, d->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, d->request_hash, 32, SQLITE_STATIC);
	return store__step_done(st, s, err, "record order key");
}

int store_decision_record(struct store *st, const struct store_decision *d, bool reserve_it,
			  const struct store_alloc *allocs, int nallocs, char **existing,
			  struct fl_err *err)
{
	int rc;
	*existing = NULL;
	if ((rc = store_write_begin(st, err)))
		return rc;
	rc = record_one(st, d, NULL, reserve_it, allocs, nallocs, existing, err);
	if (!rc && *existing) { /* the same request won meanwhile: its answer stands */
		store_write_abort(st);
		return 0;
	}
	return store_write_end(st, rc, err);
}

int store_wave_record(struct store *st, const struct store_wave *w, bool reserve_it,
		      struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc;
	if ((rc = store_write_begin(st, err)))
		return rc;
	for (int i = 0; i < w->ndecisions && !rc; i++) {
		char *existing = NULL;
		rc = record_one(st, &w->decisions[i], w->id, reserve_it, w->allocs[i],
				w->nallocs[i], &existing, err);
		if (!rc && existing) /* a wave reserves only orders it has not seen */
			rc = fl_err_set(err, FL_ECONFLICT,
					"order_id: '%s' holds a reservation already",
					w->decisions[i].order_id);
		free(existing);
	}
	if (!rc &&
	    !(rc = store_stmt(st, STMT_WAVE_INSERT,
			      "INSERT INTO waves(id, orders, status, cost, bound, gap, solver_ms,"
			      " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			      &s, err))) {
		sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, w->ndecisions);
		sqlite3_bind_text(s, 3, w->status, -1, SQLITE_STATIC);
		sqlite3_bind_double(s, 4, w->cost);
		sqlite3_bind_double(s, 5, w->bound);
		sqlite3_bind_double(s, 6, w->gap);
		sqlite3_bind_double(s, 7, w->solver_ms);
		sqlite3_bind_int64(s, 8, w->created_at);
		rc = store__step_done(st, s, err, "record wave");
	}
	return store_write_end(st, rc, err);
}

int store_decision_get(struct store *st, const char *id, char **response, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_DECISION_GET, "SELECT response FROM decisions WHERE id = ?1",
			    &s, err);
	if (rc)
		return rc;
	*response = NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		*response = strdup((const char *)sqlite3_column_text(s, 0));
		rc = *response ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = fl_err_set(err, FL_ENOTFOUND, "decision '%s' not found", id);
	} else {
		rc = store_dberr(st, err, "read decision");
	}
	sqlite3_reset(s);
	return rc;
}

int store_reservations_settle(struct store *st, const char *decision_id, bool consume, long *units,
			      struct fl_err *err)
{
	sqlite3_stmt *open, *inv, *node, *done;
	int rc, step;
	*units = 0;
	if ((rc = store_stmt(
		     st, STMT_OPEN_RES,
		     "SELECT r.rid, r.node, r.sku, r.qty, n.id, k.id, d.order_id"
		     " FROM reservations r JOIN nodes n ON n.nid = r.node"
		     " JOIN skus k ON k.kid = r.sku JOIN decisions d ON d.id = r.decision_id"
		     " WHERE r.decision_id = ?1 AND r.state = 'open'",
		     &open, err)) ||
	    (rc = consume ? store_stmt(
				    st, STMT_CONSUME_INV,
				    "UPDATE inventory SET reserved = reserved - ?3,"
				    " on_hand = max(0, on_hand - ?3) WHERE node = ?1 AND sku = ?2",
				    &inv, err)
			  : store_stmt(st, STMT_UNRESERVE_INV,
				       "UPDATE inventory SET reserved = reserved - ?3"
				       " WHERE node = ?1 AND sku = ?2",
				       &inv, err)) ||
	    (rc = store_stmt(st, STMT_UNRESERVE_NODE,
			     "UPDATE nodes SET reserved_units = reserved_units - ?2 WHERE nid = ?1",
			     &node, err)) ||
	    (rc = consume ? store_stmt(st, STMT_CONSUME_RES,
				       "UPDATE reservations SET state = 'consumed', updated_at = "
				       "strftime('%s', 'now')"
				       " WHERE rid = ?1",
				       &done, err)
			  : store_stmt(st, STMT_RELEASE_RES,
				       "UPDATE reservations SET state = 'released', updated_at = "
				       "strftime('%s', 'now')"
				       " WHERE rid = ?1",
				       &done, err)))
		return rc;
	const char *what = consume ? "consume" : "release";
	char *text = NULL, order[FL_ID_MAX] = "";
	size_t len = 0;
	FILE *fp = store__listened(st, "reservation.changed") ? open_memstream(&text, &len) : NULL;
	if (fp) {
		fputs("{\"decision_id\":", fp);
		store__json_str(fp, decision_id);
		fprintf(fp, ",\"change\":\"%s\",\"lines\":[", consume ? "consumed" : "released");
	}
	sqlite3_bind_text(open, 1, decision_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(open)) == SQLITE_ROW) {
		if (fp) {
			fputs(*units ? ",{\"node\":" : "{\"node\":", fp);
			store__json_str(fp, (const char *)sqlite3_column_text(open, 4));
			fputs(",\"sku\":", fp);
			store__json_str(fp, (const char *)sqlite3_column_text(open, 5));
			fprintf(fp, ",\"units\":%lld}", (long long)sqlite3_column_int64(open, 3));
			store__col_text(open, 6, order, sizeof(order));
		}
		sqlite3_int64 rid = sqlite3_column_int64(open, 0),
			      n = sqlite3_column_int64(open, 1), k = sqlite3_column_int64(open, 2),
			      q = sqlite3_column_int64(open, 3);
		sqlite3_bind_int64(inv, 1, n);
		sqlite3_bind_int64(inv, 2, k);
		sqlite3_bind_int64(inv, 3, q);
		sqlite3_bind_int64(node, 1, n);
		sqlite3_bind_int64(node, 2, q);
		sqlite3_bind_int64(done, 1, rid);
		if ((rc = store__step_done(st, inv, err, what)) ||
		    (rc = store__step_done(st, node, err, what)) ||
		    (rc = store__step_done(st, done, err, what)))
			break;
		*units += (long)q;
	}
	sqlite3_reset(open);
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, what);
	if (fp) {
		fprintf(fp, "],\"units\":%ld}", *units);
		if (rc || !*units) { /* nothing changed: nothing to say */
			fclose(fp);
			free(text);
		} else {
			rc = store__publish_stream(st, "reservation.changed",
						   order[0] ? order : NULL, fp, &text, err);
		}
	}
	return rc;
}

int store_decision_release(struct store *st, const char *id, long *units, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc, step;
	*units = 0;
	if ((rc = store_write_begin(st, err)))
		return rc;
	if ((rc = store_stmt(st, STMT_DECISION_GET, "SELECT response FROM decisions WHERE id = ?1",
			     &s, err)))
		goto out;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_reset(s);
	if (step == SQLITE_DONE) {
		rc = fl_err_set(err, FL_ENOTFOUND, "decision '%s' not found", id);
		goto out;
	}
	rc = store_reservations_settle(st, id, false, units, err);
	if (!rc && *units == 0)
		rc = fl_err_set(err, FL_ECONFLICT, "decision '%s' holds no open reservation", id);
out:
	return store_write_end(st, rc, err);
}

int store_decision_request(struct store *st, const char *order_id, char **request,
			   char **decision_id, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT request, id FROM decisions WHERE order_id = ?1"
			       " ORDER BY seq DESC LIMIT 1",
			       err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	*request = *decision_id = NULL;
	if (step == SQLITE_ROW) {
		*request = strdup((const char *)sqlite3_column_text(s, 0));
		*decision_id = strdup((const char *)sqlite3_column_text(s, 1));
		if (!*request || !*decision_id) {
			free(*request), free(*decision_id);
			*request = *decision_id = NULL;
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
		}
	} else {
		rc = step == SQLITE_DONE
			     ? fl_err_set(err, FL_ENOTFOUND, "no decision for order '%s'", order_id)
			     : store_dberr(st, err, "read decision");
	}
	sqlite3_finalize(s);
	return rc;
}

int store_decisions_recent(struct store *st, size_t limit, store_decision_fn *fn, void *ctx,
			   struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(
		st, &s, "SELECT id, order_id, request FROM decisions ORDER BY seq DESC LIMIT ?1",
		err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = fn(ctx, (const char *)sqlite3_column_text(s, 0),
			     (const char *)sqlite3_column_text(s, 1),
			     (const char *)sqlite3_column_text(s, 2))))
			break;
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read decisions");
	sqlite3_finalize(s);
	return rc;
}

/* ---- the lifecycle's reads ---- */

int store_reservation_get(struct store *st, const char *decision_id, struct store_reservation *out,
			  struct fl_err *err)
{
	sqlite3_stmt *s;
	struct store_decision_info d;
	int rc = store_decision_info(st, decision_id, false, &d, err);
	memset(out, 0, sizeof(*out));
	snprintf(out->status, sizeof(out->status), "none");
	out->updated_at = d.created_at;
	if (rc)
		return rc;
	if ((rc = store_prepare(st, &s,
				"SELECT state, sum(qty), max(coalesce(updated_at, created_at))"
				" FROM reservations WHERE decision_id = ?1 GROUP BY state",
				err)))
		return rc;
	sqlite3_bind_text(s, 1, decision_id, -1, SQLITE_STATIC);
	long open = 0, consumed = 0, released = 0;
	int64_t when = 0;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		const long q = (long)sqlite3_column_int64(s, 1);
		const int64_t t = sqlite3_column_int64(s, 2);
		*(!strcmp(state, "open")       ? &open
		  : !strcmp(state, "consumed") ? &consumed
					       : &released) += q;
		if (t > when)
			when = t;
	}
	if (step != SQLITE_DONE)
		rc = store_dberr(st, err, "read reservations");
	sqlite3_finalize(s);
	if (rc)
		return rc;
	/* open units first: a partly consumed decision still holds what is open */
	const char *status = open		  ? "reserved"
			     : consumed		  ? "consumed"
			     : !released	  ? "none"
			     : d.superseded_by[0] ? "moved"
						  : "released";
	snprintf(out->status, sizeof(out->status), "%s", status);
	out->units = open ? open : consumed ? consumed : released;
	if (when)
		out->updated_at = when;
	return 0;
}

static void info_row(sqlite3_stmt *s, struct store_decision_info *d)
{
	memset(d, 0, sizeof(*d));
	store__col_text(s, 0, d->id, sizeof(d->id));
	store__col_text(s, 1, d->order_id, sizeof(d->order_id));
	store__col_text(s, 2, d->supersedes, sizeof(d->supersedes));
	store__col_text(s, 3, d->superseded_by, sizeof(d->superseded_by));
	store__col_text(s, 4, d->status, sizeof(d->status));
	d->created_at = sqlite3_column_int64(s, 5);
}

#define INFO_COLUMNS "id, order_id, supersedes, superseded_by, status, created_at, request"

int store_decision_info(struct store *st, const char *decision_id, bool with_request,
			struct store_decision_info *out, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s, "SELECT " INFO_COLUMNS " FROM decisions WHERE id = ?1", err);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, decision_id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		info_row(s, out);
		if (with_request &&
		    !(out->request = strdup((const char *)sqlite3_column_text(s, 6))))
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	} else {
		rc = step == SQLITE_DONE
			     ? fl_err_set(err, FL_ENOTFOUND, "no decision '%s'", decision_id)
			     : store_dberr(st, err, "read decision");
	}
	sqlite3_finalize(s);
	return rc;
}

int store_decisions_of_order(struct store *st, const char *order_id, size_t limit,
			     store_decision_info_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT " INFO_COLUMNS " FROM decisions WHERE order_id = ?1"
			       " ORDER BY seq DESC LIMIT ?2",
			       err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_decision_info d;
		info_row(s, &d);
		if ((rc = fn(ctx, &d)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read decisions");
	sqlite3_finalize(s);
	return rc;
}

int store_order_timeline(struct store *st, const char *order_id, size_t limit,
			 store_timeline_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(
		st, &s,
		"SELECT created_at, 'decision', id, json_object('status', status,"
		" 'cost', json_extract(response, '$.cost.total'), 'supersedes', supersedes,"
		" 'superseded_by', superseded_by, 'reserved_units', reserved_units,"
		" 'nodes', (SELECT json_group_array(json_extract(j.value, '$.node'))"
		" FROM json_each(response, '$.shipments') j)),"
		" CASE WHEN supersedes IS NULL THEN 1 ELSE 3 END, seq"
		" FROM decisions WHERE order_id = ?1"
		" UNION ALL SELECT received_at, 'event', event_id, json_object('type', type,"
		" 'status', status, 'decision_id', json_extract(request, '$.decision_id'),"
		" 'actions', (SELECT json_group_array(json_extract(a.value, '$.type'))"
		" FROM json_each(response, '$.actions') a)), 2, rowid"
		" FROM events WHERE order_id = ?1"
		" UNION ALL SELECT o.created_at, 'outbox', CAST(o.id AS TEXT), json_object('kind',"
		" o.kind, 'event_id', o.event_id, 'acked', o.acked_at IS NOT NULL), 4, o.id"
		" FROM outbox o JOIN events e ON e.event_id = o.event_id WHERE e.order_id = ?1"
		" UNION ALL SELECT created_at, 'published', event_id, json_object('topic', topic), "
		"5,"
		" seq FROM events_out WHERE order_id = ?1"
		" ORDER BY 1, 5, 6 LIMIT ?2",
		err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = fn(ctx, sqlite3_column_int64(s, 0),
			     (const char *)sqlite3_column_text(s, 1),
			     (const char *)sqlite3_column_text(s, 2),
			     (const char *)sqlite3_column_text(s, 3))))
			break;
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read an order's timeline");
	sqlite3_finalize(s);
	return rc;
}
