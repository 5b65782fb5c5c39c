/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * series.c — series for forecasting: the generic long CSV and the sales history.
 *
 * A set keeps every series' id, days and values in three growing arrays (the arena) and
 * points into them once reading is done, so a set of 100,000 series is three blocks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "store.h"
#include "store_impl.h"

struct arena {
	char *ids;
	size_t ids_len, ids_cap;
	int32_t *days;
	double *vals;
	size_t len, cap;
	size_t *id_off, *node_off, *sku_off, *start; /* per series */
};

/* A series set's arrays hold every sales row of a store: well past STORE_ROWS_MAX. */
#define SERIES_ARENA_MAX ((size_t)1 << 31)

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	return fl_grow(p, cap, need, size, SERIES_ARENA_MAX);
}

void store_series_release(struct store_series_set *s)
{
	struct arena *a = s->arena;
	if (a) {
		free(a->ids);
		free(a->days);
		free(a->vals);
		free(a->id_off);
		free(a->node_off);
		free(a->sku_off);
		free(a->start);
		free(a);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int add_text(struct arena *a, const char *t, size_t *off)
{
	const size_t len = strlen(t) + 1;
	if (grow((void **)&a->ids, &a->ids_cap, a->ids_len + len, 1))
		return FL_ENOMEM;
	memcpy(a->ids + a->ids_len, t, len);
	*off = a->ids_len;
	a->ids_len += len;
	return 0;
}

static int add_point(struct arena *a, int32_t day, double v)
{
	if (a->len == a->cap) {
		size_t c1 = a->cap, c2 = a->cap;
		if (grow((void **)&a->days, &c1, a->len + 1, sizeof(int32_t)) ||
		    grow((void **)&a->vals, &c2, a->len + 1, sizeof(double)))
			return FL_ENOMEM;
		a->cap = c1 < c2 ? c1 : c2;
	}
	a->days[a->len] = day;
	a->vals[a->len++] = v;
	return 0;
}

/* Open a new series; its points are those added until the next one opens. */
static int add_series(struct store_series_set *s, const char *id, const char *node, const char *sku)
{
	struct arena *a = s->arena;
	size_t cap = s->cap;
	if (grow((void **)&s->v, &cap, s->n + 1, sizeof(*s->v)))
		return FL_ENOMEM;
	if (cap != s->cap) {
		size_t c = s->cap;
		if (grow((void **)&a->id_off, &c, cap, sizeof(size_t)))
			return FL_ENOMEM;
		c = s->cap;
		if (grow((void **)&a->node_off, &c, cap, sizeof(size_t)))
			return FL_ENOMEM;
		c = s->cap;
		if (grow((void **)&a->sku_off, &c, cap, sizeof(size_t)))
			return FL_ENOMEM;
		c = s->cap;
		if (grow((void **)&a->start, &c, cap, sizeof(size_t)))
			return FL_ENOMEM;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	a->start[s->n] = a->len;
	a->node_off[s->n] = a->sku_off[s->n] = (size_t)-1;
	if (add_text(a, id, &a->id_off[s->n]) || (node && add_text(a, node, &a->node_off[s->n])) ||
	    (sku && add_text(a, sku, &a->sku_off[s->n])))
		return FL_ENOMEM;
	s->n++;
	return 0;
}

/* Point every series into the arena (its blocks no longer move). */
static void seal(struct store_series_set *s)
{
	struct arena *a = s->arena;
	for (size_t i = 0; i < s->n; i++) {
		struct store_series *x = &s->v[i];
		const size_t end = i + 1 < s->n ? a->start[i + 1] : a->len;
		x->id = a->ids + a->id_off[i];
		x->node = a->node_off[i] == (size_t)-1 ? NULL : a->ids + a->node_off[i];
		x->sku = a->sku_off[i] == (size_t)-1 ? NULL : a->ids + a->sku_off[i];
		x->days = a->days + a->start[i];
		x->values = a->vals + a->start[i];
		x->n = (int)(end - a->start[i]);
		if (!x->sparse) {
			x->first_day = x->n ? x->days[0] : 0;
			x->last_day = x->n ? x->days[x->n - 1] : 0;
		}
	}
}

static int set_init(struct store_series_set *s)
{
	memset(s, 0, sizeof(*s));
	s->arena = calloc(1, sizeof(struct arena));
	return s->arena ? 0 : FL_ENOMEM;
}

int store_series_read_csv(FILE *fp, const char *name, struct store_series_set *out,
			  struct fl_err *err)
{
	struct csv_reader r;
	int rc, col[3] = {-1, -1, -1};
	static const char *const cols[3] = {"series_id", "date", "value"};
	char prev[STORE_SERIES_ID_MAX + 1] = "";
	int32_t prev_day = 0;
	struct strmap seen;

	if (set_init(out))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	strmap_init(&seen);
	csv_reader_init(&r, fp);
	rc = csv_read(&r, err);
	if (rc == 0)
		rc = fl_err_set(err, FL_EINVAL, "1: the file is empty (expected a header row)");
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < r.nfields; i++)
		for (int k = 0; k < 3; k++)
			if (!strcmp(r.fields[i], cols[k]))
				col[k] = (int)i;
	for (int k = 0; k < 3; k++)
		if (col[k] < 0) {
			rc = fl_err_set(err, FL_EINVAL, "1: missing column '%s'", cols[k]);
			goto fail;
		}
	size_t rows = 0;
	while ((rc = csv_read(&r, err)) == 1) {
		const unsigned long line = r.line;
		int maxc = col[0] > col[1] ? col[0] : col[1];
		maxc = maxc > col[2] ? maxc : col[2];
		if ((int)r.nfields <= maxc) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: %zu fields, expected at least %d",
					line, r.nfields, maxc + 1);
			goto fail;
		}
		const char *id = r.fields[col[0]], *ds = r.fields[col[1]], *vs = r.fields[col[2]];
		int32_t day;
		char *end;
		if (!*id || strlen(id) > STORE_SERIES_ID_MAX) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: series_id: %s", line,
					*id ? "longer than 128 bytes" : "empty");
			goto fail;
		}
		if (!fl_date_parse(ds, &day)) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: date: '%.40s' is not YYYY-MM-DD",
					line, ds);
			goto fail;
		}
		const double v = strtod(vs, &end);
		if (!*vs || *end || !isfinite(v)) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: value: '%.40s' is not a number", line,
					vs);
			goto fail;
		}
		if (v < 0) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: value: %g is negative", line, v);
			goto fail;
		}
		if (++rows > STORE_SERIES_ROWS_MAX) {
			rc = fl_err_set(err, FL_ELIMIT, "%lu: more than %d rows", line,
					STORE_SERIES_ROWS_MAX);
			goto fail;
		}
		if (strcmp(id, prev)) {
			int64_t dummy;
			if (strmap_get(&seen, id, &dummy)) {
				rc = fl_err_set(err, FL_EINVAL,
						"%lu: series_id: '%s' appears again after other "
						"series (sort by series_id, then date)",
						line, id);
				goto fail;
			}
			if (strmap_put(&seen, id, 1) || add_series(out, id, NULL, NULL)) {
				rc = fl_err_set(err, FL_ENOMEM, "out of memory");
				goto fail;
			}
			snprintf(prev, sizeof(prev), "%s", id);
		} else if (day <= prev_day) {
			rc = fl_err_set(err, FL_EINVAL,
					"%lu: date: %s %s the previous date of '%s'", line, ds,
					day == prev_day ? "repeats" : "is before", id);
			goto fail;
		} else {
			struct arena *a = out->arena;
			if (a->len - a->start[out->n - 1] >= STORE_SERIES_POINTS_MAX) {
				rc = fl_err_set(err, FL_ELIMIT,
						"%lu: series '%s' has more than %d rows", line, id,
						STORE_SERIES_POINTS_MAX);
				goto fail;
			}
		}
		prev_day = day;
		if (add_point(out->arena, day, v)) {
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (rc < 0)
		goto fail;
	csv_reader_release(&r);
	strmap_release(&seen);
	seal(out);
	return 0;
fail:
	if (err) {
		char msg[FL_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg), "%s:%s%s", name,
			 msg[0] >= '0' && msg[0] <= '9' ? "" : " ", msg);
	}
	csv_reader_release(&r);
	strmap_release(&seen);
	store_series_release(out);
	return rc < 0 ? rc : FL_EINVAL;
}

static int lookup_id(struct store *st, const char *table, const char *id, int64_t *key,
		     struct fl_err *err)
{
	sqlite3_stmt *s;
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id = ?1",
		 strcmp(table, "nodes") ? "kid" : "nid", table);
	int rc = store_prepare(st, &s, sql, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		*key = sqlite3_column_int64(s, 0);
	else if (step == SQLITE_DONE)
		rc = fl_err_set(err, FL_ENOTFOUND, "%s '%s' not found",
				strcmp(table, "nodes") ? "sku" : "node", id);
	else
		rc = store_dberr(st, err, "look up id");
	sqlite3_finalize(s);
	return rc;
}

int store_sales_series(struct store *st, const char *node, const char *sku,
		       struct store_series_set *out, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t nk = 0, kk = 0, last_node = -1, last_sku = -1;
	int32_t last_day = 0;
	int rc;

	if (set_init(out))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	if ((node && (rc = lookup_id(st, "nodes", node, &nk, err))) ||
	    (sku && (rc = lookup_id(st, "skus", sku, &kk, err))))
		goto fail;
	if ((rc = store_prepare(st, &s, "SELECT max(day) FROM sales", err)))
		goto fail;
	if (sqlite3_step(s) == SQLITE_ROW)
		last_day = (int32_t)sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	/* equality on the index's leading columns where they are known */
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT s.node, s.sku, s.day, s.qty, n.id, k.id"
		 " FROM sales s INDEXED BY sales_series"
		 " JOIN nodes n ON n.nid = s.node JOIN skus k ON k.kid = s.sku"
		 " WHERE %s AND %s ORDER BY s.node, s.sku, s.day",
		 node ? "s.node = ?1" : "?1 = 0", sku ? "s.sku = ?2" : "?2 = 0");
	if ((rc = store_prepare(st, &s, sql, err)))
		goto fail;
	sqlite3_bind_int64(s, 1, nk);
	sqlite3_bind_int64(s, 2, kk);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const int64_t n = sqlite3_column_int64(s, 0), k = sqlite3_column_int64(s, 1);
		const int32_t day = (int32_t)sqlite3_column_int(s, 2);
		if (n != last_node || k != last_sku) {
			char id[2 * FL_ID_MAX + 2];
			const char *ni = (const char *)sqlite3_column_text(s, 4);
			const char *ki = (const char *)sqlite3_column_text(s, 5);
			snprintf(id, sizeof(id), "%s/%s", ni, ki);
			if (add_series(out, id, ni, ki)) {
				rc = fl_err_set(err, FL_ENOMEM, "out of memory");
				goto fail;
			}
			out->v[out->n - 1].sparse = true;
			out->v[out->n - 1].first_day = day;
			out->v[out->n - 1].last_day = last_day;
			last_node = n, last_sku = k;
		}
		if (add_point(out->arena, day, (double)sqlite3_column_int64(s, 3))) {
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (step != SQLITE_DONE) {
		rc = store_dberr(st, err, "read sales");
		goto fail;
	}
	sqlite3_finalize(s);
	seal(out);
	return 0;
fail:
	sqlite3_finalize(s);
	store_series_release(out);
	return rc;
}

/* ---- the calendar ---- */

int store_calendar_days(struct store *st, const char *node, struct store_calendar_day **days,
			size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = 0;
	*days = NULL;
	*n = 0;
	if ((rc = store_prepare(st, &s,
				"SELECT c.day, COALESCE(n.id, '') AS node,"
				" c.closed | (c.holiday << 1) | (c.payday << 2) AS flags"
				" FROM calendar c LEFT JOIN nodes n ON n.nid = c.node"
				" WHERE flags <> 0 AND (?1 IS NULL OR c.node = 0 OR n.id = ?1)"
				" ORDER BY node, c.day",
				err)))
		return rc;
	if (node)
		sqlite3_bind_text(s, 1, node, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap &&
		    fl_grow((void **)days, &cap, *n + 1, sizeof(**days), STORE_CALENDAR_MAX)) {
			rc = fl_err_set(err, FL_ELIMIT, "calendar: more than %d days",
					STORE_CALENDAR_MAX);
			goto out;
		}
		struct store_calendar_day *d = &(*days)[(*n)++];
		d->day = sqlite3_column_int(s, 0);
		snprintf(d->node, sizeof(d->node), "%s", (const char *)sqlite3_column_text(s, 1));
		d->flags = (unsigned)sqlite3_column_int(s, 2);
	}
	rc = rc == SQLITE_DONE ? 0 : store_dberr(st, err, "calendar");
out:
	sqlite3_finalize(s);
	if (rc) {
		free(*days);
		*days = NULL;
		*n = 0;
	}
	return rc;
}
