/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * forecasts.c — the forecast cache and the record of complete batches.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store.h"
#include "store_impl.h"

/* ---- the forecast cache ---- */

static void row_to_forecast(sqlite3_stmt *s, int c, struct store_forecast *f)
{
	f->history = (uint64_t)sqlite3_column_int64(s, c);
	snprintf(f->method, sizeof(f->method), "%s", (const char *)sqlite3_column_text(s, c + 1));
	snprintf(f->model, sizeof(f->model), "%s", (const char *)sqlite3_column_text(s, c + 2));
	f->first_day = (int32_t)sqlite3_column_int(s, c + 3);
	f->horizon = sqlite3_column_int(s, c + 4);
	f->sum_mean = sqlite3_column_double(s, c + 5);
	f->sum_lo = sqlite3_column_double(s, c + 6);
	f->sum_hi = sqlite3_column_double(s, c + 7);
	f->mase = sqlite3_column_type(s, c + 8) == SQLITE_NULL ? NAN
							       : sqlite3_column_double(s, c + 8);
}

#define FORECAST_COLS \
	"history, method, model, first_day, horizon, sum_mean, sum_lo, sum_hi, mase, points"

int store_forecast_get(struct store *st, const char *spec, struct store_forecast *out, bool *found,
		       struct fl_err *err)
{
	sqlite3_stmt *s;
	const int want = out->horizon;
	int rc = store_stmt(st, STMT_FORECAST_GET,
			    "SELECT " FORECAST_COLS
			    " FROM forecasts WHERE spec = ?1 AND node = ?2 AND sku = ?3",
			    &s, err);
	if (rc)
		return rc;
	*found = false;
	sqlite3_bind_text(s, 1, spec, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, out->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, out->sku, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		struct store_forecast f = *out;
		row_to_forecast(s, 0, &f);
		if (f.horizon == want &&
		    sqlite3_column_bytes(s, 9) == (int)(3 * sizeof(double) * (size_t)want)) {
			memcpy(out->points, sqlite3_column_blob(s, 9), 3 * sizeof(double) * want);
			*out = f;
			*found = true;
		}
	} else if (step != SQLITE_DONE) {
		rc = store_dberr(st, err, "read forecast");
	}
	sqlite3_reset(s);
	return rc;
}

int store_forecast_scan(struct store *st, const char *spec, store_forecast_fn *fn, void *ctx,
			struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(
		st, &s, "SELECT node, sku, " FORECAST_COLS " FROM forecasts WHERE spec = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, spec, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_forecast f = {.node = (const char *)sqlite3_column_text(s, 0),
					   .sku = (const char *)sqlite3_column_text(s, 1)};
		row_to_forecast(s, 2, &f);
		if (sqlite3_column_bytes(s, 11) != (int)(3 * sizeof(double) * (size_t)f.horizon))
			continue;
		f.points = (double *)sqlite3_column_blob(s, 11);
		if ((rc = fn(ctx, &f)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "scan forecasts");
	sqlite3_finalize(s);
	return rc;
}

int store_forecast_put(struct store *st, const char *spec, const struct store_forecast *v, size_t n,
		       struct fl_err *err)
{
	sqlite3_stmt *s, *old;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	/* keep at most STORE_FORECAST_SPECS_MAX specs: drop the oldest other ones */
	if ((rc = store_prepare(st, &old,
				"DELETE FROM forecasts WHERE spec IN (SELECT spec FROM forecasts"
				" WHERE spec <> ?1 GROUP BY spec ORDER BY max(created_at) DESC"
				" LIMIT -1 OFFSET ?2)",
				err)))
		goto out;
	sqlite3_bind_text(old, 1, spec, -1, SQLITE_STATIC);
	sqlite3_bind_int(old, 2, STORE_FORECAST_SPECS_MAX - 1);
	if (sqlite3_step(old) != SQLITE_DONE)
		rc = store_dberr(st, err, "trim the forecast cache");
	sqlite3_finalize(old);
	if (rc)
		goto out;
	if ((rc = store_stmt(st, STMT_FORECAST_PUT,
			     "INSERT INTO forecasts(spec, node, sku, " FORECAST_COLS ", created_at)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
			     " ON CONFLICT (spec, node, sku) DO UPDATE SET history = ?4,"
			     " method = ?5, model = ?6, first_day = ?7, horizon = ?8,"
			     " sum_mean = ?9, sum_lo = ?10, sum_hi = ?11, mase = ?12, points = ?13,"
			     " created_at = ?14",
			     &s, err)))
		goto out;
	const int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct store_forecast *f = &v[i];
		sqlite3_bind_text(s, 1, spec, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, f->node, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, f->sku, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, (int64_t)f->history);
		sqlite3_bind_text(s, 5, f->method, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, f->model, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 7, f->first_day);
		sqlite3_bind_int(s, 8, f->horizon);
		sqlite3_bind_double(s, 9, f->sum_mean);
		sqlite3_bind_double(s, 10, f->sum_lo);
		sqlite3_bind_double(s, 11, f->sum_hi);
		if (isnan(f->mase))
			sqlite3_bind_null(s, 12);
		else
			sqlite3_bind_double(s, 12, f->mase);
		sqlite3_bind_blob(s, 13, f->points, (int)(3 * sizeof(double) * f->horizon),
				  SQLITE_STATIC);
		sqlite3_bind_int64(s, 14, now);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_dberr(st, err, "write forecast");
		sqlite3_reset(s);
	}
out:
	return store_write_end(st, rc, err);
}

int store_forecast_batch_set(struct store *st, const char *spec, int64_t gen, struct fl_err *err)
{
	sqlite3_stmt *s;
	char key[160];
	snprintf(key, sizeof(key), "forecast_batch:%s", spec);
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
				 err))) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, gen);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_dberr(st, err, "record forecast batch");
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

int store_forecast_batch_get(struct store *st, const char *spec, int64_t *gen, struct fl_err *err)
{
	sqlite3_stmt *s;
	char key[160];
	snprintf(key, sizeof(key), "forecast_batch:%s", spec);
	int rc = store_prepare(st, &s, "SELECT value FROM meta WHERE key = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	const int step = sqlite3_step(s);
	*gen = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read forecast batch");
	sqlite3_finalize(s);
	return rc;
}
