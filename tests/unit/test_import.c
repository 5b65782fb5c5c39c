/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Import and export (DATA.md): every accepted form and every refusal. */
#include <sqlite3.h>

#include "helpers.h"

static const char *const base_files[][2] = {
	{"nodes.csv",
	 "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,processing_days,"
	 "ships_hazmat\n"
	 "DC-1,Edison DC,dc,40.5187,-74.4121,northeast,,1.5,0.3,0,1\n"
	 "ST-1,Boston Store,store,42.3601,-71.0589,northeast,100,3.25,0.9,1,0\n"
	 "ST-2,Miami Store,store,25.7617,-80.1918,southeast,80,3,0.8,1,0\n"},
	{"skus.csv", "id,name,weight_kg,hazmat\nA,Lamp,1.25,0\nB,Paint,4,1\nC,Tent,7.5,0\n"},
	{"zones.csv", "zone,max_km\n2,241\n3,483\n4,966\n"},
	{"rates.csv",
	 "carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\n"
	 "pc,ground,2,6.5,0.45,1,1\npc,ground,3,7.4,0.5,2,1\npc,express,2,14,0.9,1,0\n"},
	{"lanes.csv", "from,to,cost_per_unit,fixed_cost,lead_days,capacity_units\n"
		      "DC-1,ST-1,0.2,40,1,500\nDC-1,ST-2,0.6,90,2,\n"},
	{"inventory.csv", "node,sku,on_hand,safety_stock\nDC-1,A,100,5\nDC-1,B,20,2\nST-1,A,7,1\n"},
	{"sales.csv",
	 "date,node,sku,qty\n2026-01-01,ST-1,A,3\n2026-01-02,ST-1,A,0\n2026-01-02,DC-1,B,2\n"},
	{"calendar.csv", "date,node,closed\n2026-12-25,,1\n2026-01-02,ST-1,1\n2026-01-01,ST-1,"
			 "1\n2026-01-03,ST-2,0\n"},
};

struct fx {
	char *dir;
	struct store *st;
	char *before;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct fl_err err = {0};
	char db[4200];
	fx->dir = tmp_dir();
	snprintf(db, sizeof(db), "%s/t.db", fx->dir);
	assert_int_equal(store_open(db, &fx->st, &err), 0);
	char *in = tmp_dir();
	for (size_t i = 0; i < sizeof(base_files) / sizeof(base_files[0]); i++)
		write_file(in, base_files[i][0], base_files[i][1]);
	int rc = store_import_dir(fx->st, in, NULL, NULL, NULL, &err);
	if (rc)
		fprintf(stderr, "setup import: %s\n", err.msg);
	assert_int_equal(rc, 0);
	rm_tree(in);
	fx->before = store_snapshot(fx->st);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	store_close(fx->st);
	rm_tree(fx->dir);
	free(fx->before);
	free(fx);
	return 0;
}

/* Import one file; expect a refusal whose message contains want; the store unchanged. */
static void refuse(void **state, const char *file, const char *text, const char *want)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *in = tmp_dir();
	write_file(in, file, text);
	int rc = store_import_dir(fx->st, in, NULL, NULL, NULL, &err);
	rm_tree(in);
	assert_int_not_equal(rc, 0);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	char *after = store_snapshot(fx->st);
	assert_string_equal(after, fx->before);
	free(after);
}

static void test_base_import_reads_back(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	struct fl_node *nodes;
	size_t n;
	unsigned long counts[STORE_FILE_COUNT];

	assert_int_equal(store_nodes_load(fx->st, &nodes, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(nodes[0].id, "DC-1");
	assert_int_equal(nodes[0].type, FL_NODE_DC);
	assert_true(nodes[0].capacity_units == FL_UNLIMITED);
	assert_true(nodes[0].ships_hazmat);
	assert_int_equal(nodes[1].capacity_units, 100);
	assert_true(nodes[1].handling_cost == 3.25);
	free(nodes);
	assert_int_equal(store_counts(fx->st, counts, &err), 0);
	assert_int_equal(counts[STORE_FILE_SALES], 3);
	assert_int_equal(counts[STORE_FILE_LANES], 2);
	struct fl_inventory *inv;
	bool more;
	assert_int_equal(
		store_inventory_page(fx->st, "DC-1", "B", NULL, NULL, 10, &inv, &n, &more, &err),
		0);
	assert_int_equal(n, 1);
	assert_int_equal(inv[0].on_hand, 20);
	assert_int_equal(inv[0].safety_stock, 2);
	free(inv);
}

/* calendar.csv: an empty node is every node; holiday and payday are optional; reads give
 * the flagged days by node, then day, every node's first; a reimport upserts. */
static void test_calendar(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	struct store_calendar_day *days;
	size_t n;
	int32_t d;
	assert_int_equal(store_calendar_days(fx->st, NULL, &days, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(days[0].node, "");
	assert_true(fl_date_parse("2026-12-25", &d) && days[0].day == d);
	assert_string_equal(days[1].node, "ST-1");
	assert_true(fl_date_parse("2026-01-01", &d) && days[1].day == d);
	assert_string_equal(days[2].node, "ST-1");
	free(days);
	char *in = tmp_dir();
	write_file(in, "calendar.csv",
		   "node,closed,date,payday\nST-1,0,2026-01-01,\n,1,2027-12-25,0\nST-2,0,2026-01-"
		   "03,1\n");
	assert_int_equal(store_import_dir(fx->st, in, NULL, NULL, NULL, &err), 0);
	rm_tree(in);
	assert_int_equal(store_calendar_days(fx->st, NULL, &days, &n, &err), 0);
	assert_int_equal(n, 4); /* one reopened, one added, one a payday */
	assert_true(fl_date_parse("2027-12-25", &d) && days[1].day == d);
	assert_int_equal(days[1].flags, STORE_DAY_CLOSED);
	assert_string_equal(days[2].node, "ST-1");
	assert_string_equal(days[3].node, "ST-2");
	assert_int_equal(days[3].flags, STORE_DAY_PAYDAY);
	free(days);
}

static void test_refuse_bad_calendar(void **state)
{
	refuse(state, "calendar.csv", "date,node,closed\n2026-01-01,ST-404,1\n",
	       "calendar.csv:2: node: unknown node 'ST-404'");
	refuse(state, "calendar.csv", "date,node,closed\n2026-01-01,,yes\n",
	       "calendar.csv:2: closed: must be 0 or 1, not 'yes'");
	refuse(state, "calendar.csv", "date,node,closed\n2026-01-01,,1\n2026-01-01,,0\n",
	       "calendar.csv:3: duplicate key (2026-01-01, ) within the file");
	refuse(state, "calendar.csv", "date,closed\n2026-01-01,1\n",
	       "calendar.csv:1: missing column 'node'");
}

static void test_reimport_upserts_by_key(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *in = tmp_dir();
	write_file(in, "inventory.csv", "node,sku,on_hand,safety_stock\nDC-1,A,55,6\nST-1,B,4,0\n");
	assert_int_equal(store_import_dir(fx->st, in, NULL, NULL, NULL, &err), 0);
	rm_tree(in);
	struct fl_inventory *inv;
	size_t n;
	bool more;
	assert_int_equal(
		store_inventory_page(fx->st, NULL, NULL, NULL, NULL, 0, &inv, &n, &more, &err), 0);
	assert_int_equal(n, 4); /* three old keys, one updated, one new */
	assert_string_equal(inv[0].sku, "A");
	assert_int_equal(inv[0].on_hand, 55);
	assert_int_equal(inv[0].safety_stock, 6);
	free(inv);
}

static void test_export_import_fixed_point(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *dir = tmp_dir(), db[4200];
	struct store *st2;
	assert_int_equal(store_export_dir(fx->st, dir, &err), 0);
	snprintf(db, sizeof(db), "%s/second.db", dir);
	assert_int_equal(store_open(db, &st2, &err), 0);
	assert_int_equal(store_import_dir(st2, dir, NULL, NULL, NULL, &err), 0);
	char *again = store_snapshot(st2);
	assert_string_equal(again, fx->before);
	free(again);
	store_close(st2);
	rm_tree(dir);
}

static void test_real_export_forms(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *in = tmp_dir();
	/* BOM, CRLF, columns in another order, an extra column, a quoted name holding a
	 * comma, a quote and a newline, trailing blank lines */
	write_file(in, "nodes.csv",
		   "\xEF\xBB\xBFtype,id,Notes,name,lat,lon,region,capacity_units,handling_cost,"
		   "pick_cost,processing_days,ships_hazmat\r\n"
		   "store,ST-9,ignored,\"Store \"\"Nine\"\", downtown\nback door\",40.0,-75.0,"
		   "northeast,10,1,0.5,2,0\r\n\r\n\r\n");
	int rc = store_import_dir(fx->st, in, NULL, NULL, NULL, &err);
	if (rc)
		fail_msg("%s", err.msg);
	rm_tree(in);
	struct fl_node *nodes;
	size_t n;
	assert_int_equal(store_nodes_load(fx->st, &nodes, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(nodes[3].id, "ST-9");
	assert_string_equal(nodes[3].name, "Store \"Nine\", downtown\nback door");
	assert_int_equal(nodes[3].processing_days, 2);
	free(nodes);
	/* and the export quotes it back so that it imports again unchanged */
	char *snap = store_snapshot(fx->st);
	assert_non_null(strstr(snap, "\"Store \"\"Nine\"\", downtown\nback door\""));
	free(snap);
}

static void test_all_files_one_transaction(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *in = tmp_dir();
	/* a good nodes.csv and a bad inventory.csv: neither lands */
	write_file(in, "nodes.csv",
		   "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
		   "processing_days,ships_hazmat\nST-7,New,store,1,1,x,,1,1,1,0\n");
	write_file(in, "inventory.csv", "node,sku,on_hand,safety_stock\nST-7,A,-1,0\n");
	assert_int_not_equal(store_import_dir(fx->st, in, NULL, NULL, NULL, &err), 0);
	assert_string_equal(err.msg, "inventory.csv:2: on_hand: must not be negative");
	rm_tree(in);
	char *after = store_snapshot(fx->st);
	assert_string_equal(after, fx->before);
	free(after);
}

static void test_refuse_missing_column(void **state)
{
	refuse(state, "skus.csv", "id,name,hazmat\nX,x,0\n",
	       "skus.csv:1: missing column 'weight_kg'");
}

static void test_refuse_not_a_number(void **state)
{
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\nX,x,heavy,0\n",
	       "skus.csv:2: weight_kg: not a number");
}

static void test_refuse_not_an_integer(void **state)
{
	refuse(state, "inventory.csv", "node,sku,on_hand,safety_stock\nDC-1,A,1.5,0\n",
	       "inventory.csv:2: on_hand: not an integer");
}

static void test_refuse_negative_quantity(void **state)
{
	refuse(state, "sales.csv", "date,node,sku,qty\n2026-01-03,ST-1,A,-2\n",
	       "sales.csv:2: qty: must not be negative");
}

static void test_refuse_lat_out_of_range(void **state)
{
	refuse(state, "nodes.csv",
	       "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
	       "processing_days,ships_hazmat\nDC-1,a,dc,40,-74,ne,,1,1,0,1\nX,b,dc,91,0,ne,,1,1,0,"
	       "1\n",
	       "nodes.csv:3: lat: 91 out of range");
}

static void test_refuse_lon_out_of_range(void **state)
{
	refuse(state, "nodes.csv",
	       "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
	       "processing_days,ships_hazmat\nX,b,dc,10,-180.5,ne,,1,1,0,1\n",
	       "nodes.csv:2: lon: -180.5 out of range");
}

static void test_refuse_unknown_node_inventory(void **state)
{
	refuse(state, "inventory.csv", "node,sku,on_hand,safety_stock\nNOPE,A,1,0\n",
	       "inventory.csv:2: node: unknown node 'NOPE'");
}

static void test_refuse_unknown_sku_sales(void **state)
{
	refuse(state, "sales.csv", "date,node,sku,qty\n2026-01-01,ST-1,ZZ,1\n",
	       "sales.csv:2: sku: unknown SKU 'ZZ'");
}

static void test_refuse_unknown_node_lanes(void **state)
{
	refuse(state, "lanes.csv",
	       "from,to,cost_per_unit,fixed_cost,lead_days,capacity_units\nDC-1,ST-404,1,1,1,\n",
	       "lanes.csv:2: to: unknown node 'ST-404'");
}

static void test_refuse_lane_to_itself(void **state)
{
	refuse(state, "lanes.csv",
	       "from,to,cost_per_unit,fixed_cost,lead_days,capacity_units\nDC-1,DC-1,1,1,1,\n",
	       "lanes.csv:2: to: same node as from");
}

static void test_refuse_unknown_zone_rates(void **state)
{
	refuse(state, "rates.csv",
	       "carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\npc,ground,9,1,1,1,"
	       "1\n",
	       "rates.csv:2: zone: unknown zone '9'");
}

static void test_refuse_duplicate_key(void **state)
{
	refuse(state, "inventory.csv",
	       "node,sku,on_hand,safety_stock\nDC-1,C,1,0\nST-2,C,1,0\nDC-1,C,2,0\n",
	       "inventory.csv:4: duplicate key (DC-1, C) within the file");
}

static void test_refuse_duplicate_sales_key(void **state)
{
	refuse(state, "sales.csv", "date,node,sku,qty\n2026-02-01,ST-1,A,1\n2026-02-01,ST-1,A,1\n",
	       "sales.csv:3: duplicate key (2026-02-01, ST-1, A) within the file");
}

static void test_refuse_unknown_node_type(void **state)
{
	refuse(state, "nodes.csv",
	       "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
	       "processing_days,ships_hazmat\nX,b,warehouse,10,10,ne,,1,1,0,1\n",
	       "nodes.csv:2: type: unknown node type 'warehouse'");
}

static void test_refuse_bad_date(void **state)
{
	refuse(state, "sales.csv", "date,node,sku,qty\n2026-02-30,ST-1,A,1\n",
	       "sales.csv:2: date: not a date (YYYY-MM-DD)");
}

static void test_refuse_bad_flag(void **state)
{
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\nX,x,1,yes\n",
	       "skus.csv:2: hazmat: must be 0 or 1");
}

static void test_refuse_field_count(void **state)
{
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\nX,x,1\n",
	       "skus.csv:2: 3 fields where the header has 4");
}

static void test_refuse_unclosed_quote(void **state)
{
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\nX,\"open,1,0\n",
	       "skus.csv:2: quoted field is not closed");
}

static void test_refuse_invalid_utf8(void **state)
{
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\nX,caf\xE9,1,0\n",
	       "skus.csv:2: field 2 is not valid UTF-8");
}

static void test_refuse_empty_id_and_long_id(void **state)
{
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\n,x,1,0\n",
	       "skus.csv:2: id: must not be empty");
	char text[512];
	snprintf(text, sizeof(text), "id,name,weight_kg,hazmat\n%0100d,x,1,0\n", 7);
	refuse(state, "skus.csv", text, "skus.csv:2: id: longer than 63 bytes");
}

static void test_refuse_empty_file_and_empty_dir(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	refuse(state, "zones.csv", "", "zones.csv:1: empty file");
	char *in = tmp_dir();
	assert_int_equal(store_import_dir(fx->st, in, NULL, NULL, NULL, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "holds none of"));
	rm_tree(in);
}

static void test_error_on_line_after_multiline_field(void **state)
{
	/* a quoted newline moves the line count: the bad row is on line 4 */
	refuse(state, "skus.csv", "id,name,weight_kg,hazmat\nX,\"two\nlines\",1,0\nY,y,-1,0\n",
	       "skus.csv:4: weight_kg: must not be negative");
}

static void test_newer_schema_refused(void **state)
{
	(void)state;
	char *dir = tmp_dir(), db[4200];
	struct store *st = NULL;
	struct fl_err err = {0};
	snprintf(db, sizeof(db), "%s/new.db", dir);
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 999", NULL, NULL, NULL), 0);
	sqlite3_close(raw);
	assert_int_equal(store_open(db, &st, &err), FL_EDB);
	assert_null(st);
	assert_non_null(strstr(err.msg, "newer than this build"));
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_base_import_reads_back),
		T(test_reimport_upserts_by_key),
		T(test_calendar),
		T(test_refuse_bad_calendar),
		T(test_export_import_fixed_point),
		T(test_real_export_forms),
		T(test_all_files_one_transaction),
		T(test_refuse_missing_column),
		T(test_refuse_not_a_number),
		T(test_refuse_not_an_integer),
		T(test_refuse_negative_quantity),
		T(test_refuse_lat_out_of_range),
		T(test_refuse_lon_out_of_range),
		T(test_refuse_unknown_node_inventory),
		T(test_refuse_unknown_sku_sales),
		T(test_refuse_unknown_node_lanes),
		T(test_refuse_lane_to_itself),
		T(test_refuse_unknown_zone_rates),
		T(test_refuse_duplicate_key),
		T(test_refuse_duplicate_sales_key),
		T(test_refuse_unknown_node_type),
		T(test_refuse_bad_date),
		T(test_refuse_bad_flag),
		T(test_refuse_field_count),
		T(test_refuse_unclosed_quote),
		T(test_refuse_invalid_utf8),
		T(test_refuse_empty_id_and_long_id),
		T(test_refuse_empty_file_and_empty_dir),
		T(test_error_on_line_after_multiline_field),
		cmocka_unit_test(test_newer_schema_refused),
#undef T
	};
	return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
