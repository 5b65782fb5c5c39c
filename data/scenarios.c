/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * scenarios.c — rebalancing scenarios, their acceptance and the transfers in transit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store.h"
#include "store_impl.h"

/* ---- rebalancing scenarios ---- */

/* scenario.done: which scenario, its name, how to read it. */
static int publish_done(struct store *st, const char *id, struct fl_err *err)
{
	if (!store__listened(st, "scenario.done"))
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (fp) {
		fputs("{\"scenario_id\":", fp);
		store__json_str(fp, id);
		fprintf(fp, ",\"status\":\"done\",\"href\":\"/v1/rebalancing/scenarios/%s\"}", id);
	}
	return store__publish_stream(st, "scenario.done", NULL, fp, &text, err);
}

int store_scenario_put(struct store *st, const char *id, const char *name, const char *request,
		       const char *response, const char *stock_state, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s,
				 "INSERT INTO scenarios(id, name, request, response, created_at,"
				 " stock_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				 err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, request, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, response, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
		if (stock_state)
			sqlite3_bind_text(s, 6, stock_state, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 6);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_dberr(st, err, "store scenario");
		sqlite3_finalize(s);
	}
	if (!rc)
		rc = publish_done(st, id, err);
	return store_write_end(st, rc, err);
}

/* Scenario id's row (columns cols): 0 with *s on it (the caller finalizes), FL_ENOTFOUND,
 * or the store's error (nothing left to finalize). */
static int scenario_row(struct store *st, const char *id, const char *cols, sqlite3_stmt **s,
			struct fl_err *err)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT %s FROM scenarios WHERE id = ?1", cols);
	int rc = store_prepare(st, s, sql, err);
	if (rc)
		return rc;
	sqlite3_bind_text(*s, 1, id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(*s);
	if (step == SQLITE_ROW)
		return 0;
	rc = step == SQLITE_DONE ? fl_err_set(err, FL_ENOTFOUND, "scenario '%s' not found", id)
				 : store_dberr(st, err, "read scenario");
	sqlite3_finalize(*s);
	return rc;
}

#define HEAD_COLS "id, name, status, coalesce(reason, ''), created_at, accepted_at, response"

/* The head of the row s is on, columns HEAD_COLS from column 0. */
static void scenario_head(sqlite3_stmt *s, struct store_scenario_row *r)
{
	store__col_text(s, 0, r->id, sizeof(r->id));
	store__col_text(s, 1, r->name, sizeof(r->name));
	store__col_text(s, 2, r->status, sizeof(r->status));
	store__col_text(s, 3, r->reason, sizeof(r->reason));
	r->created_at = sqlite3_column_int64(s, 4);
	r->accepted_at = sqlite3_column_int64(s, 5);
	r->response = (const char *)sqlite3_column_text(s, 6);
}

int store_scenario_get(struct store *st, const char *id, char **response,
		       struct store_scenario_row *head, struct fl_err *err)
{
	sqlite3_stmt *s;
	*response = NULL;
	int rc = scenario_row(st, id, HEAD_COLS, &s, err);
	if (rc)
		return rc;
	scenario_head(s, head);
	if (!(*response = strdup(head->response ? head->response : "")))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	head->response = NULL;
	sqlite3_finalize(s);
	return rc;
}

int store_scenario_queue(struct store *st, const char *id, const char *name, const char *request,
			 struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s,
				 "INSERT INTO scenarios(id, name, request, response, created_at,"
				 " status) VALUES (?1, ?2, ?3, '', ?4, 'queued')",
				 err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, request, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
		rc = store__step_done(st, s, err, "queue scenario");
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

/* One UPDATE of an unfinished scenario: FL_ECONFLICT when it is finished already. */
static int advance(struct store *st, const char *id, const char *status, const char *reason,
		   const char *response, const char *stock_state, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if ((rc = store_prepare(st, &s,
				"UPDATE scenarios SET status = ?2, reason = ?3,"
				" response = coalesce(?4, response),"
				" stock_state = coalesce(?5, stock_state)"
				" WHERE id = ?1 AND status IN ('queued', 'running')",
				err)))
		return store_write_end(st, rc, err);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	if (reason)
		sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	if (response)
		sqlite3_bind_text(s, 4, response, -1, SQLITE_STATIC);
	if (stock_state)
		sqlite3_bind_text(s, 5, stock_state, -1, SQLITE_STATIC);
	rc = store__step_done(st, s, err, "update scenario");
	sqlite3_finalize(s);
	const bool done = !rc && sqlite3_changes(st->db) == 1 && !strcmp(status, "done");
	if (done)
		rc = publish_done(st, id, err);
	if (!rc && sqlite3_changes(st->db) != 1) {
		sqlite3_stmt *q;
		char was[16] = "";
		if (!scenario_row(st, id, "status", &q, err)) {
			store__col_text(q, 0, was, sizeof(was));
			sqlite3_finalize(q);
			rc = fl_err_set(err, FL_ECONFLICT, "scenario '%s' is %s already", id, was);
		} else {
			rc = err ? err->status : FL_ENOTFOUND;
		}
	}
	return store_write_end(st, rc, err);
}

int store_scenario_advance(struct store *st, const char *id, const char *status, const char *reason,
			   struct fl_err *err)
{
	return advance(st, id, status, reason, NULL, NULL, err);
}

int store_scenario_finish(struct store *st, const char *id, const char *response,
			  const char *stock_state, struct fl_err *err)
{
	return advance(st, id, "done", NULL, response, stock_state, err);
}

int store_scenarios_fail_unfinished(struct store *st, const char *reason, int *n,
				    struct fl_err *err)
{
	sqlite3_stmt *s;
	*n = 0;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s,
				 "UPDATE scenarios SET status = 'failed', reason = ?1"
				 " WHERE status IN ('queued', 'running')",
				 err))) {
		sqlite3_bind_text(s, 1, reason, -1, SQLITE_STATIC);
		rc = store__step_done(st, s, err, "fail unfinished scenarios");
		*n = rc ? 0 : sqlite3_changes(st->db);
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

/* The stock_state recorded with a scenario (caller frees; "" when none). */
static int recorded_state(struct store *st, const char *id, char **out, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = scenario_row(st, id, "coalesce(stock_state, '')", &s, err);
	*out = NULL;
	if (rc)
		return rc;
	if (!(*out = strdup((const char *)sqlite3_column_text(s, 0))))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	sqlite3_finalize(s);
	return rc;
}

/*
 * With a stock_tolerance: each (node, SKU) the plan moves must hold, on hand less
 * reserved, within the tolerance of what the scenario read ("T<units>" then
 * "node<TAB>sku<TAB>units" lines). What moved beyond it goes into diff.
 */
static int within_tolerance(struct store *st, char *lines, char *diff, size_t cap,
			    struct fl_err *err)
{
	sqlite3_stmt *s;
	long tol = strtol(lines + 1, &lines, 10), moved = 0;
	int rc = store_prepare(st, &s,
			       "SELECT on_hand - reserved FROM inventory"
			       " WHERE node = (SELECT nid FROM nodes WHERE id = ?1)"
			       " AND sku = (SELECT kid FROM skus WHERE id = ?2)",
			       err);
	size_t at = 0;
	for (char *save = NULL, *ln = strtok_r(lines, "\n", &save); ln && !rc;
	     ln = strtok_r(NULL, "\n", &save)) {
		char *node = ln, *sku = strchr(ln, '\t'),
		     *units = sku ? strchr(sku + 1, '\t') : NULL;
		if (!units)
			continue;
		*sku++ = '\0', *units++ = '\0';
		sqlite3_bind_text(s, 1, node, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, sku, -1, SQLITE_STATIC);
		const long now = sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0)
							       : 0,
			   then = strtol(units, NULL, 10);
		sqlite3_reset(s);
		if (labs(now - then) <= tol)
			continue;
		if (moved++ < 3 && at < cap)
			at += (size_t)snprintf(diff + at, cap - at, "%s%s/%s %ld → %ld",
					       at ? ", " : "", node, sku, then, now);
	}
	sqlite3_finalize(s);
	if (!rc && moved > 3 && at < cap)
		snprintf(diff + at, cap - at, " and %ld more beyond the tolerance of %ld",
			 moved - 3, tol);
	return rc;
}

/* Inside the accepting transaction: the stock still as the scenario saw it? */
static int still_same_stock(struct store *st, const char *id, struct fl_err *err)
{
	char *was = NULL, diff[512] = "";
	struct store_stock_state then, now;
	int rc = recorded_state(st, id, &was, err);
	if (rc || !was[0] || store_stock_state_parse(was, &then)) {
		free(was);
		return rc; /* a scenario from before states were kept: accepted as it is */
	}
	char *tol = strstr(was, "\nT");
	if (!(rc = store_stock_state(st, &now, err))) {
		if (tol) {
			/* an import or another accept moves everything; stock within tolerance */
			now.inventory = then.inventory;
			store_stock_state_diff(&then, &now, diff, sizeof(diff));
			if (!diff[0])
				rc = within_tolerance(st, tol + 1, diff, sizeof(diff), err);
		} else {
			store_stock_state_diff(&then, &now, diff, sizeof(diff));
		}
	}
	free(was);
	if (rc || !diff[0])
		return rc;
	return fl_err_set(err, FL_ECONFLICT,
			  "the stock moved since scenario '%s' was computed (%s): rerun it (POST "
			  "/v1/rebalancing/scenarios/%s/rerun)",
			  id, diff, id);
}

/* transfer.planned: one transfer order of an accepted scenario. */
static int publish_planned(struct store *st, const char *scenario, int64_t rowid,
			   const struct store_transfer *t, struct fl_err *err)
{
	if (!store__listened(st, "transfer.planned"))
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (fp) {
		fprintf(fp, "{\"transfer_id\":\"t_%lld\",\"scenario_id\":", (long long)rowid);
		store__json_str(fp, scenario);
		fputs(",\"from\":", fp);
		store__json_str(fp, t->from);
		fputs(",\"to\":", fp);
		store__json_str(fp, t->to);
		fputs(",\"sku\":", fp);
		store__json_str(fp, t->sku);
		fprintf(fp, ",\"qty\":%ld,\"status\":\"planned\"}", t->qty);
	}
	return store__publish_stream(st, "transfer.planned", NULL, fp, &text, err);
}

static int accept(struct store *st, const char *id, const struct store_transfer *t, size_t n,
		  int64_t now, bool checked, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t gen = 0;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if ((checked && (rc = still_same_stock(st, id, err))) ||
	    (rc = store_import_generation(st, &gen, err)) ||
	    (rc = store_prepare(st, &s,
				"UPDATE scenarios SET accepted_at = ?2 WHERE id = ?1"
				" AND accepted_at IS NULL AND status = 'done'",
				err)))
		goto out;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_dberr(st, err, "accept scenario");
		goto out;
	}
	if (sqlite3_changes(st->db) != 1) {
		sqlite3_stmt *q;
		int found = 0;
		if (!store_prepare(st, &q, "SELECT 1 FROM scenarios WHERE id = ?1", NULL)) {
			sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
			found = sqlite3_step(q) == SQLITE_ROW;
			sqlite3_finalize(q);
		}
		rc = found ? fl_err_set(err, FL_ECONFLICT, "scenario '%s' was already accepted", id)
			   : fl_err_set(err, FL_ENOTFOUND, "scenario '%s' not found", id);
		goto out;
	}
	sqlite3_finalize(s);
	if ((rc = store_prepare(
		     st, &s,
		     "INSERT INTO in_transit(scenario_id, src, dst, sku, qty, gen, updated_at)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		     err)))
		goto out;
	sqlite3_stmt *c = NULL;
	if ((rc = store_prepare(st, &c,
				"UPDATE inventory SET committed = committed + ?3"
				" WHERE node = (SELECT nid FROM nodes WHERE id = ?1)"
				" AND sku = (SELECT kid FROM skus WHERE id = ?2)",
				err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		/* from acceptance to shipping the units are committed: not sellable at the source */
		sqlite3_bind_text(c, 1, t[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_text(c, 2, t[i].sku, -1, SQLITE_STATIC);
		sqlite3_bind_int64(c, 3, t[i].qty);
		rc = store__step_done(st, c, err, "commit transfer units");
		sqlite3_reset(c);
		if (rc)
			break;
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, t[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, t[i].to, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, t[i].sku, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, t[i].qty);
		sqlite3_bind_int64(s, 6, gen);
		sqlite3_bind_int64(s, 7, now);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_dberr(st, err, "record transfer");
		sqlite3_reset(s);
		if (!rc)
			rc = publish_planned(st, id, sqlite3_last_insert_rowid(st->db), &t[i], err);
	}
	sqlite3_finalize(c);
out:
	sqlite3_finalize(s);
	return store_write_end(st, rc, err);
}

int store_scenario_accept(struct store *st, const char *id, const struct store_transfer *t,
			  size_t n, int64_t now, struct fl_err *err)
{
	return accept(st, id, t, n, now, false, err);
}

int store_scenario_accept_checked(struct store *st, const char *id, const struct store_transfer *t,
				  size_t n, int64_t now, struct fl_err *err)
{
	return accept(st, id, t, n, now, true, err);
}

int store_in_transit(struct store *st, store_transfer_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int64_t gen;
	int rc = store_import_generation(st, &gen, err);
	if (rc || (rc = store_prepare(st, &s,
				      "SELECT src, dst, sku, qty, shipped, received FROM in_transit"
				      " WHERE gen = ?1 AND status <> 'cancelled'",
				      err)))
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const struct store_transfer t = {(const char *)sqlite3_column_text(s, 0),
						 (const char *)sqlite3_column_text(s, 1),
						 (const char *)sqlite3_column_text(s, 2),
						 sqlite3_column_int64(s, 3),
						 sqlite3_column_int64(s, 4),
						 sqlite3_column_int64(s, 5)};
		if ((rc = fn(ctx, &t)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read transfers in transit");
	sqlite3_finalize(s);
	return rc;
}

/* ---- the stock state a scenario is computed on ---- */

int store_stock_state(struct store *st, struct store_stock_state *out, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = store_import_generation(st, &out->import_gen, err)) ||
	    (rc = store_prepare(st, &s, "SELECT node, sku, on_hand, reserved FROM inventory", err)))
		return rc;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		/* an order-free sum of per-row mixes: the same rows, the same state */
		uint64_t h = 0x9e3779b97f4a7c15ULL;
		for (int c = 0; c < 4; c++) {
			h ^= (uint64_t)sqlite3_column_int64(s, c) + 0x9e3779b97f4a7c15ULL +
			     (h << 6) + (h >> 2);
			h *= 0xff51afd7ed558ccdULL;
			h ^= h >> 33;
		}
		out->inventory += h;
	}
	if (step != SQLITE_DONE)
		rc = store_dberr(st, err, "read stock");
	sqlite3_finalize(s);
	if (rc || (rc = store_prepare(st, &s, "SELECT count(*) FROM in_transit", err)))
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW)
		out->transfers = sqlite3_column_int64(s, 0);
	else
		rc = store_dberr(st, err, "read transfers");
	sqlite3_finalize(s);
	return rc;
}

void store_stock_state_format(const struct store_stock_state *s, char out[64])
{
	snprintf(out, 64, "%lld:%016llx:%lld", (long long)s->import_gen,
		 (unsigned long long)s->inventory, (long long)s->transfers);
}

int store_stock_state_parse(const char *text, struct store_stock_state *out)
{
	long long g, t;
	unsigned long long inv;
	char *end;
	g = strtoll(text, &end, 10);
	if (*end != ':')
		return FL_EINVAL;
	inv = strtoull(end + 1, &end, 16);
	if (*end != ':')
		return FL_EINVAL;
	t = strtoll(end + 1, &end, 10);
	if (*end)
		return FL_EINVAL;
	*out = (struct store_stock_state){g, inv, t};
	return 0;
}

void store_stock_state_diff(const struct store_stock_state *a, const struct store_stock_state *b,
			    char *out, size_t cap)
{
	size_t at = 0;
	out[0] = '\0';
	if (a->import_gen != b->import_gen)
		at += (size_t)snprintf(out + at, cap - at, "%san import", at ? ", " : "");
	if (at < cap && a->transfers != b->transfers)
		at += (size_t)snprintf(out + at, cap - at, "%s%lld transfers accepted since",
				       at ? ", " : "", (long long)(b->transfers - a->transfers));
	if (at < cap && a->inventory != b->inventory)
		snprintf(out + at, cap - at, "%sstock levels or reservations", at ? ", " : "");
}

int store_scenarios_list(struct store *st, const char *after, const char *name, const char *status,
			 size_t limit, store_scenario_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT " HEAD_COLS " FROM scenarios"
			       " WHERE (?1 IS NULL OR rowid < (SELECT rowid FROM scenarios WHERE"
			       " id = ?1)) AND (?2 IS NULL OR name = ?2)"
			       " AND (?4 IS NULL OR status = ?4)"
			       " ORDER BY rowid DESC LIMIT ?3",
			       err);
	if (rc)
		return rc;
	if (after)
		sqlite3_bind_text(s, 1, after, -1, SQLITE_STATIC);
	if (name)
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	if (status)
		sqlite3_bind_text(s, 4, status, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_scenario_row r;
		scenario_head(s, &r);
		if ((rc = fn(ctx, &r)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "list scenarios");
	sqlite3_finalize(s);
	return rc;
}

int store_scenario_request(struct store *st, const char *id, char **request, struct fl_err *err)
{
	sqlite3_stmt *s;
	*request = NULL;
	int rc = scenario_row(st, id, "request", &s, err);
	if (rc)
		return rc;
	if (!(*request = strdup((const char *)sqlite3_column_text(s, 0))))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	sqlite3_finalize(s);
	return rc;
}
