/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * scenarios.c — rebalancing scenarios, their acceptance and the transfers in transit.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store.h"
#include "store_impl.h"

/* ---- rebalancing scenarios ---- */

int store_scenario_put(struct store *st, const char *id, const char *name, const char *request,
		       const char *response, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s,
				 "INSERT INTO scenarios(id, name, request, response, created_at)"
				 " VALUES (?1, ?2, ?3, ?4, ?5)",
				 err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, request, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, response, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_dberr(st, err, "store scenario");
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

int store_scenario_get(struct store *st, const char *id, char **response, int64_t *accepted_at,
		       struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s, "SELECT response, accepted_at FROM scenarios WHERE id = ?1",
			       err);
	if (rc)
		return rc;
	*response = NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		*response = strdup((const char *)sqlite3_column_text(s, 0));
		*accepted_at = sqlite3_column_int64(s, 1);
		if (!*response)
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	} else {
		rc = step == SQLITE_DONE
			     ? fl_err_set(err, FL_ENOTFOUND, "scenario '%s' not found", id)
			     : store_dberr(st, err, "read scenario");
	}
	sqlite3_finalize(s);
	return rc;
}

int store_scenario_accept(struct store *st, const char *id, const struct store_transfer *t,
			  size_t n, int64_t now, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t gen = 0;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if ((rc = store_import_generation(st, &gen, err)) ||
	    (rc = store_prepare(st, &s,
				"UPDATE scenarios SET accepted_at = ?2 WHERE id = ?1"
				" AND accepted_at IS NULL",
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
	if ((rc = store_prepare(st, &s,
				"INSERT INTO in_transit(scenario_id, src, dst, sku, qty, gen)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, t[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, t[i].to, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, t[i].sku, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, t[i].qty);
		sqlite3_bind_int64(s, 6, gen);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_dberr(st, err, "record transfer");
		sqlite3_reset(s);
	}
out:
	sqlite3_finalize(s);
	return store_write_end(st, rc, err);
}

int store_in_transit(struct store *st, store_transfer_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int64_t gen;
	int rc = store_import_generation(st, &gen, err);
	if (rc ||
	    (rc = store_prepare(st, &s, "SELECT src, dst, sku, qty FROM in_transit WHERE gen = ?1",
				err)))
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const struct store_transfer t = {(const char *)sqlite3_column_text(s, 0),
						 (const char *)sqlite3_column_text(s, 1),
						 (const char *)sqlite3_column_text(s, 2),
						 sqlite3_column_int64(s, 3)};
		if ((rc = fn(ctx, &t)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read transfers in transit");
	sqlite3_finalize(s);
	return rc;
}
