/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * reference.c — the reference data's reads: nodes, SKUs, zones, rates, lanes, inventory,
 * the import generation and the tables' counts.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_impl.h"

void store__col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int store__collect(struct store *st, sqlite3_stmt *s, size_t size, row_fn *row, size_t limit,
		   void **out, size_t *n, bool *more, struct fl_err *err)
{
	char *arr = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;

	if (more)
		*more = false;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (limit && cnt == limit) {
			if (more)
				*more = true;
			break;
		}
		if ((rc = fl_grow((void **)&arr, &cap, cnt + 1, size, STORE_ROWS_MAX))) {
			fl_err_set(err, rc, "read: %s", fl_strerror(rc));
			goto out;
		}
		memset(arr + cnt * size, 0, size);
		row(s, arr + cnt * size);
		cnt++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read");
out:
	sqlite3_reset(s);
	if (rc) {
		free(arr);
		arr = NULL;
		cnt = 0;
	}
	*out = arr;
	*n = cnt;
	return rc;
}

static void node_row(sqlite3_stmt *s, void *rec)
{
	struct fl_node *x = rec;
	store__col_text(s, 0, x->id, sizeof(x->id));
	store__col_text(s, 1, x->name, sizeof(x->name));
	fl_node_type_parse((const char *)sqlite3_column_text(s, 2), &x->type);
	x->lat = sqlite3_column_double(s, 3);
	x->lon = sqlite3_column_double(s, 4);
	store__col_text(s, 5, x->region, sizeof(x->region));
	x->capacity_units = sqlite3_column_type(s, 6) == SQLITE_NULL
				    ? FL_UNLIMITED
				    : (long)sqlite3_column_int64(s, 6);
	x->handling_cost = sqlite3_column_double(s, 7);
	x->pick_cost = sqlite3_column_double(s, 8);
	x->processing_days = sqlite3_column_int(s, 9);
	x->ships_hazmat = sqlite3_column_int(s, 10) != 0;
}

int store_nodes_load(struct store *st, struct fl_node **out, size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_NODES,
			    "SELECT id, name, type, lat, lon, region, capacity_units,"
			    " handling_cost, pick_cost, processing_days, ships_hazmat"
			    " FROM nodes ORDER BY id",
			    &s, err);
	if (rc)
		return rc;
	return store__collect(st, s, sizeof(**out), node_row, 0, (void **)out, n, NULL, err);
}

static void sku_row(sqlite3_stmt *s, void *rec)
{
	struct fl_sku *x = rec;
	store__col_text(s, 0, x->id, sizeof(x->id));
	store__col_text(s, 1, x->name, sizeof(x->name));
	x->weight_kg = sqlite3_column_double(s, 2);
	x->hazmat = sqlite3_column_int(s, 3) != 0;
	x->case_pack = (long)sqlite3_column_int64(s, 4);
}

int store_skus_load(struct store *st, struct fl_sku **out, size_t *n, struct fl_err *err)
{
	return store_skus_page(st, "", 0, out, n, NULL, err);
}

int store_skus_page(struct store *st, const char *after, size_t limit, struct fl_sku **out,
		    size_t *n, bool *more, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_SKUS_PAGE,
			    "SELECT id, name, weight_kg, hazmat, case_pack FROM skus WHERE id > ?1"
			    " ORDER BY id LIMIT ?2",
			    &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, after ? after : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit + 1 : -1);
	return store__collect(st, s, sizeof(**out), sku_row, limit, (void **)out, n, more, err);
}

static void zone_row(sqlite3_stmt *s, void *rec)
{
	struct fl_zone *x = rec;
	x->zone = sqlite3_column_int(s, 0);
	x->max_km = sqlite3_column_double(s, 1);
}

int store_zones_load(struct store *st, struct fl_zone **out, size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_ZONES, "SELECT zone, max_km FROM zones ORDER BY max_km, zone",
			    &s, err);
	if (rc)
		return rc;
	return store__collect(st, s, sizeof(**out), zone_row, 0, (void **)out, n, NULL, err);
}

static void rate_row(sqlite3_stmt *s, void *rec)
{
	struct fl_rate *x = rec;
	store__col_text(s, 0, x->carrier, sizeof(x->carrier));
	store__col_text(s, 1, x->service, sizeof(x->service));
	x->zone = sqlite3_column_int(s, 2);
	x->base_cost = sqlite3_column_double(s, 3);
	x->per_kg = sqlite3_column_double(s, 4);
	x->transit_days = sqlite3_column_int(s, 5);
	x->hazmat_ok = sqlite3_column_int(s, 6) != 0;
}

int store_rates_load(struct store *st, struct fl_rate **out, size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_RATES,
			    "SELECT carrier, service, zone, base_cost, per_kg, transit_days,"
			    " hazmat_ok FROM rates ORDER BY carrier, service, zone",
			    &s, err);
	if (rc)
		return rc;
	return store__collect(st, s, sizeof(**out), rate_row, 0, (void **)out, n, NULL, err);
}

static void lane_row(sqlite3_stmt *s, void *rec)
{
	struct fl_lane *x = rec;
	store__col_text(s, 0, x->from, sizeof(x->from));
	store__col_text(s, 1, x->to, sizeof(x->to));
	x->cost_per_unit = sqlite3_column_double(s, 2);
	x->fixed_cost = sqlite3_column_double(s, 3);
	x->lead_days = sqlite3_column_int(s, 4);
	x->capacity_units = sqlite3_column_type(s, 5) == SQLITE_NULL
				    ? FL_UNLIMITED
				    : (long)sqlite3_column_int64(s, 5);
}

int store_lanes_load(struct store *st, struct fl_lane **out, size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_LANES,
			    "SELECT a.id, b.id, cost_per_unit, fixed_cost, lead_days,"
			    " l.capacity_units FROM lanes l JOIN nodes a ON a.nid = l.src"
			    " JOIN nodes b ON b.nid = l.dst ORDER BY a.id, b.id",
			    &s, err);
	if (rc)
		return rc;
	return store__collect(st, s, sizeof(**out), lane_row, 0, (void **)out, n, NULL, err);
}

static void inv_row(sqlite3_stmt *s, void *rec)
{
	struct fl_inventory *x = rec;
	store__col_text(s, 0, x->node, sizeof(x->node));
	store__col_text(s, 1, x->sku, sizeof(x->sku));
	x->on_hand = (long)sqlite3_column_int64(s, 2);
	x->safety_stock = (long)sqlite3_column_int64(s, 3);
	x->reserved = (long)sqlite3_column_int64(s, 4);
	x->committed_out = (long)sqlite3_column_int64(s, 5);
	x->in_transit_in = (long)sqlite3_column_int64(s, 6);
}

int store_inventory_page(struct store *st, const char *node, const char *sku,
			 const char *after_node, const char *after_sku, size_t limit,
			 struct fl_inventory **out, size_t *n, bool *more, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(
		st, STMT_INV_PAGE,
		"SELECT n.id, k.id, on_hand, safety_stock, reserved, committed,"
		" coalesce((SELECT sum(qty - received) FROM in_transit t WHERE t.dst = n.id"
		" AND t.sku = k.id AND t.status <> 'cancelled' AND t.gen = (SELECT"
		" value FROM meta WHERE key = 'import_gen')), 0)"
		" FROM inventory i JOIN nodes n ON n.nid = i.node"
		" JOIN skus k ON k.kid = i.sku"
		" WHERE (?1 IS NULL OR n.id = ?1) AND (?2 IS NULL OR k.id = ?2)"
		" AND (?3 IS NULL OR (n.id, k.id) > (?3, ?4))"
		" ORDER BY n.id, k.id LIMIT ?5",
		&s, err);
	if (rc)
		return rc;
	if (node)
		sqlite3_bind_text(s, 1, node, -1, SQLITE_TRANSIENT);
	if (sku)
		sqlite3_bind_text(s, 2, sku, -1, SQLITE_TRANSIENT);
	if (after_node) {
		sqlite3_bind_text(s, 3, after_node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 4, after_sku ? after_sku : "", -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(s, 5, limit ? (sqlite3_int64)limit + 1 : -1);
	return store__collect(st, s, sizeof(**out), inv_row, limit, (void **)out, n, more, err);
}

int store_import_generation(struct store *st, int64_t *gen, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_IMPORT_GEN, "SELECT value FROM meta WHERE key = 'import_gen'",
			    &s, err);
	if (rc)
		return rc;
	rc = sqlite3_step(s) == SQLITE_ROW ? 0 : store_dberr(st, err, "read import generation");
	*gen = rc ? 0 : sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc;
}

int store_counts(struct store *st, unsigned long counts[STORE_FILE_COUNT], struct fl_err *err)
{
	static const char *const tables[STORE_FILE_COUNT] = {
		"nodes", "skus", "zones", "rates", "lanes", "inventory", "sales", "calendar"};
	for (int i = 0; i < STORE_FILE_COUNT; i++) {
		char sql[64];
		sqlite3_stmt *s = NULL;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_ROW) {
			sqlite3_finalize(s);
			return store_dberr(st, err, "count");
		}
		counts[i] = (unsigned long)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	return 0;
}
