/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The flows (flow/flow.h) against a store: what they answer is what they record. */
#include "faultvfs.h"
#include "helpers.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>

#include "flow/flow.h"

static void seed(struct store *st, enum store_file_kind k, const char *text)
{
	struct store_import_src src = {{NULL}};
	struct fl_err err = {0};
	src.files[k] = fmemopen((void *)text, strlen(text), "rb");
	assert_non_null(src.files[k]);
	assert_int_equal(store_import(st, &src, NULL, NULL, NULL, &err), 0);
	fclose(src.files[k]);
}

/* nn nodes around (40, -74), nk SKUs, `each` units of every SKU at every node. */
static struct store *network_at(const char *path, int nn, int nk, int each)
{
	struct store *st;
	struct fl_err err = {0};
	size_t cap = 1 << 20, at = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	assert_int_equal(store_open(path, &st, &err), 0);
	at = (size_t)snprintf(buf, cap,
			      "id,name,type,lat,lon,region,capacity_units,"
			      "handling_cost,pick_cost,processing_days,ships_hazmat\n");
	for (int n = 0; n < nn; n++)
		at += (size_t)snprintf(buf + at, cap - at, "N%02d,n,dc,%.2f,-74,r,,1,0.1,0,1\n", n,
				       40 + 0.01 * n);
	seed(st, STORE_FILE_NODES, buf);
	at = (size_t)snprintf(buf, cap, "id,name,weight_kg,hazmat\n");
	for (int k = 0; k < nk; k++)
		at += (size_t)snprintf(buf + at, cap - at, "S%03d,s,0.1,0\n", k);
	seed(st, STORE_FILE_SKUS, buf);
	seed(st, STORE_FILE_ZONES, "zone,max_km\n2,300\n3,1000\n");
	seed(st, STORE_FILE_RATES,
	     "carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\n"
	     "c,g,2,5,0.5,2,1\nc,g,3,6,0.6,3,1\n");
	at = (size_t)snprintf(buf, cap, "node,sku,on_hand,safety_stock\n");
	for (int n = 0; n < nn; n++)
		for (int k = 0; k < nk; k++)
			at += (size_t)snprintf(buf + at, cap - at, "N%02d,S%03d,%d,0\n", n, k,
					       each);
	seed(st, STORE_FILE_INVENTORY, buf);
	free(buf);
	return st;
}

static struct store *network(int nn, int nk, int each)
{
	return network_at(":memory:", nn, nk, each);
}

static void flows_release(void)
{
	flow_snapshot_drop();
	flow_rules_drop();
	flow_rules_thread_release();
}

static long reserved_units(struct store *st)
{
	struct fl_inventory *inv;
	size_t n;
	bool more;
	struct fl_err err = {0};
	long units = 0;
	assert_int_equal(
		store_inventory_page(st, NULL, NULL, NULL, NULL, 1u << 20, &inv, &n, &more, &err),
		0);
	for (size_t i = 0; i < n; i++)
		units += inv[i].reserved;
	free(inv);
	return units;
}

static long answered_units(const json_t *ans, size_t *rows)
{
	long units = 0;
	size_t i, j;
	const json_t *s, *l;
	*rows = 0;
	json_array_foreach(json_object_get(ans, "shipments"), i, s)
		json_array_foreach(json_object_get(s, "lines"), j, l)
	{
		units += (long)json_integer_value(json_object_get(l, "qty"));
		++*rows;
	}
	return units;
}

/*
 * Regression: the single-decision path kept at most 800 (node, SKU) allocations and
 * dropped the rest silently, so a large reserving order reserved fewer units than it
 * answered. Now the rows come from the plan: every answered unit is reserved.
 */
static void test_reservation_is_the_answer(void **state)
{
	(void)state;
	struct store *st = network(12, 100, 10);
	struct fl_err err = {0};
	json_t *lines = json_array(), *ans = NULL;
	for (int k = 0; k < 100; k++) {
		char sku[8];
		snprintf(sku, sizeof(sku), "S%03d", k);
		json_array_append_new(lines, json_pack("{s:s, s:i}", "sku", sku, "qty", 100));
	}
	json_t *order = json_pack("{s:s, s:{s:f, s:f}, s:o, s:b, s:i}", "order_id", "BIG-1",
				  "destination", "lat", 40.05, "lon", -74.0, "lines", lines,
				  "reserve", 1, "time_limit_ms", 3000);
	assert_int_equal(flow_decide(st, order, NULL, &ans, &err), 0);
	size_t rows;
	const long units = answered_units(ans, &rows);
	assert_true(rows > 800); /* past the old fixed array */
	assert_int_equal(units, 100 * 100);
	assert_int_equal(reserved_units(st), units);
	json_decref(ans);
	json_decref(order);
	flows_release();
	store_close(st);
	/* past the named ceiling the order is refused before anything is written */
	st = network(70, 100, 1);
	lines = json_array();
	for (int k = 0; k < 100; k++) {
		char sku[8];
		snprintf(sku, sizeof(sku), "S%03d", k);
		json_array_append_new(lines, json_pack("{s:s, s:i}", "sku", sku, "qty", 70));
	}
	order = json_pack("{s:s, s:{s:f, s:f}, s:o, s:b, s:i}", "order_id", "BIG-2", "destination",
			  "lat", 40.3, "lon", -74.0, "lines", lines, "reserve", 1, "time_limit_ms",
			  3000);
	ans = NULL;
	assert_int_equal(flow_decide(st, order, NULL, &ans, &err), FL_ELIMIT);
	assert_non_null(strstr(err.msg, "split the order"));
	assert_null(ans);
	assert_int_equal(reserved_units(st), 0);
	json_decref(order);
	flows_release();
	store_close(st);
}

static int count_decision(void *ctx, const char *id, const char *order_id, const char *request)
{
	(void)id, (void)order_id, (void)request;
	++*(int *)ctx;
	return 0;
}

static json_t *small_order(const char *id, bool reserve)
{
	return json_pack("{s:s, s:{s:f, s:f}, s:[{s:s, s:i}], s:b}", "order_id", id, "destination",
			 "lat", 40.05, "lon", -74.0, "lines", "sku", "S000", "qty", 3, "reserve",
			 reserve);
}

/*
 * Regression: store_write_end rolled a failed COMMIT back and returned nothing, so a
 * reserving decision on a full disk was answered as recorded. Each write error (disk
 * full, I/O error) must reach the caller as FL_EIO, leave nothing half-written, and the
 * store must write again once the disk does.
 */
static void test_failed_commit_is_not_success(void **state)
{
	(void)state;
	static const int faults[] = {SQLITE_FULL, SQLITE_IOERR_WRITE};
	fault_vfs_install();
	char *dir = tmp_dir(), path[4200];
	snprintf(path, sizeof(path), "%s/f.db", dir);
	struct store *st = network_at(path, 3, 2, 10);
	for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		struct fl_err err = {0};
		json_t *ans = NULL, *order = small_order(f ? "IO-1" : "FULL-1", true);
		fault_vfs_fail = faults[f];
		assert_int_equal(flow_decide(st, order, NULL, &ans, &err), FL_EIO);
		assert_non_null(strstr(err.msg, "commit"));
		assert_null(ans);
		fault_vfs_fail = 0;
		assert_int_equal(reserved_units(st), 0); /* nothing half-written */
		char *text = NULL;
		int logged = 0;
		assert_int_equal(store_decisions_recent(st, 100, count_decision, &logged, &err), 0);
		assert_int_equal(logged, (int)f); /* the failed one was not logged */
		assert_int_equal(flow_decide(st, order, NULL, &ans, &err), 0); /* resumes */
		assert_int_equal(reserved_units(st), 3);
		const char *id = json_string_value(json_object_get(ans, "decision_id"));
		assert_int_equal(store_decision_get(st, id, &text, &err), 0);
		free(text);
		long units;
		assert_int_equal(store_decision_release(st, id, &units, &err), 0);
		json_decref(ans);
		json_decref(order);
	}
	flows_release();
	store_close(st);
	rm_tree(dir);
}

/*
 * Regression: a failing series made flow_forecast_many write through err without the
 * NULL check model.h promises (err is optional everywhere).
 */
static void test_forecast_many_null_err(void **state)
{
	(void)state;
	int32_t days[2] = {0, STORE_SERIES_POINTS_MAX + 10}; /* a span over the ceiling */
	double values[2] = {1, 2};
	struct store_series s = {.id = "far",
				 .days = days,
				 .values = values,
				 .n = 2,
				 .sparse = true,
				 .first_day = 0,
				 .last_day = days[1]};
	struct store_series_set set = {.v = &s, .n = 1};
	struct fc_opts o = {.horizon = 7, .level = 0.9, .period = 7, .method = FC_AUTO};
	struct flow_forecast_stats stats;
	struct fl_err err = {0};
	assert_int_equal(flow_forecast_many(NULL, &set, NULL, &o, false, 2, NULL, NULL, NULL, NULL,
					    &stats, NULL),
			 FL_ELIMIT);
	assert_int_equal(flow_forecast_many(NULL, &set, NULL, &o, false, 2, NULL, NULL, NULL, NULL,
					    &stats, &err),
			 FL_ELIMIT);
	assert_non_null(strstr(err.msg, "far"));
}

struct seen {
	size_t reports, last_done, total;
	atomic_bool *cancel;
};

static void count_report(void *ctx, const char *phase, size_t done, size_t total)
{
	struct seen *s = ctx;
	assert_string_equal(phase, "forecast");
	s->reports++;
	s->last_done = done;
	s->total = total;
	if (done >= total / 2)
		atomic_store(s->cancel, true); /* half way: stop */
}

/* Long work reports its progress and stops when cancelled, keeping nothing of the chunk. */
static void test_forecast_progress_cancel(void **state)
{
	(void)state;
	enum { N = 1000, D = 60 };
	static int32_t days[D];
	static double values[N][D];
	static struct store_series s[N];
	static char ids[N][16];
	for (int t = 0; t < D; t++)
		days[t] = t;
	for (int i = 0; i < N; i++) {
		for (int t = 0; t < D; t++)
			values[i][t] = 5 + (i + t) % 7;
		snprintf(ids[i], sizeof(ids[i]), "s%d", i);
		s[i] = (struct store_series){.id = ids[i],
					     .days = days,
					     .values = values[i],
					     .n = D,
					     .first_day = 0,
					     .last_day = D - 1};
	}
	struct store_series_set set = {.v = s, .n = N};
	struct fc_opts o = {.horizon = 7, .level = 0.9, .period = 7, .method = FC_AUTO};
	struct flow_forecast_stats stats;
	struct fl_err err = {0};
	atomic_bool cancel = false;
	struct seen seen = {.cancel = &cancel};
	const struct flow_progress pg = {count_report, &seen, &cancel, NULL};
	assert_int_equal(flow_forecast_many(NULL, &set, NULL, &o, false, 2, &pg, NULL, NULL, NULL,
					    &stats, &err),
			 FL_ECANCELLED);
	assert_true(seen.reports >= 2);
	assert_int_equal(seen.total, N);
	assert_true(seen.last_done < N);   /* stopped before the end */
	assert_int_equal(stats.series, 0); /* the cancelled chunk is not kept */
	/* not cancelled: every series, the last report at N of N */
	atomic_store(&cancel, false);
	seen = (struct seen){.cancel = &(atomic_bool){false}};
	const struct flow_progress quiet = {count_report, &seen, NULL, NULL};
	assert_int_equal(flow_forecast_many(NULL, &set, NULL, &o, false, 2, &quiet, NULL, NULL,
					    NULL, &stats, &err),
			 0);
	assert_int_equal(stats.series, N);
	assert_int_equal(seen.last_done, N);
}

struct racer {
	const char *path;
	int id;
	long units; /* answered */
	int failures;
};

static void *race_orders(void *arg)
{
	struct racer *r = arg;
	struct store *st;
	struct fl_err err = {0};
	assert_int_equal(store_open(r->path, &st, &err), 0);
	for (int i = 0; i < 5; i++) {
		char id[32];
		snprintf(id, sizeof(id), "R%d-%d", r->id, i);
		json_t *order = small_order(id, true), *ans = NULL;
		if (flow_decide(st, order, NULL, &ans, &err)) {
			r->failures++;
		} else {
			size_t rows;
			r->units += answered_units(ans, &rows);
		}
		json_decref(ans);
		json_decref(order);
	}
	flow_rules_thread_release();
	store_close(st);
	return NULL;
}

/*
 * Eight workers reserve from the same stock at once, each on its own connection (as the
 * server's threads do): nothing is oversold, and the store holds exactly the units the
 * answers promised. (Also run under ThreadSanitizer by make test.)
 */
static void test_concurrent_reservations(void **state)
{
	(void)state;
	char *dir = tmp_dir(), path[4200];
	snprintf(path, sizeof(path), "%s/c.db", dir);
	struct store *st = network_at(path, 3, 2, 10); /* 30 units of S000 */
	struct racer r[8];
	pthread_t tid[8];
	for (int i = 0; i < 8; i++) {
		r[i] = (struct racer){path, i, 0, 0};
		assert_int_equal(pthread_create(&tid[i], NULL, race_orders, &r[i]), 0);
	}
	long answered = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(r[i].failures, 0);
		answered += r[i].units;
	}
	assert_int_equal(answered, 30); /* 40 orders of 3 for 30 units: all sold, no more */
	assert_int_equal(reserved_units(st), answered);
	flows_release();
	store_close(st);
	rm_tree(dir);
}

/* A network where each line's stock sits where one constraint stops it. */
static struct store *reasons_network(void)
{
	struct store *st;
	struct fl_err err = {0};
	assert_int_equal(store_open(":memory:", &st, &err), 0);
	seed(st, STORE_FILE_NODES,
	     "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
	     "processing_days,ships_hazmat\n"
	     "D1,d,dc,40,-74,r,,1,0.1,0,1\nS1,s,store,40.01,-74,r,1,1,0.1,2,0\n"
	     "FAR,f,dc,10,10,r,,1,0.1,0,1\n");
	seed(st, STORE_FILE_SKUS,
	     "id,name,weight_kg,hazmat\nP,p,1,0\nH,h,1,1\nQ,q,1,0\nC,c,1,0\nF,f,1,0\nZ,z,1,0\n"
	     "O,o,1,0\nR,r,1,0\n");
	seed(st, STORE_FILE_ZONES, "zone,max_km\n2,300\n");
	seed(st, STORE_FILE_RATES,
	     "carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\n"
	     "c,g,2,5,0.5,2,1\n");
	seed(st, STORE_FILE_INVENTORY,
	     "node,sku,on_hand,safety_stock\nD1,P,2,0\nS1,P,2,0\nS1,H,8,0\nS1,Q,8,0\nS1,C,5,0\n"
	     "FAR,F,9,0\nD1,O,4,0\nD1,R,4,0\n");
	return st;
}

/* The reason of the one unfilled line of an order for qty of sku. */
static void expect_reason(struct store *st, const char *sku, int qty, const char *extra,
			  const struct flow_decide_opts *opts, const char *reason)
{
	char body[512];
	struct fl_err err = {0};
	json_t *ans = NULL;
	snprintf(body, sizeof(body),
		 "{\"order_id\":\"W-%s\",\"destination\":{\"lat\":40.02,\"lon\":-74},"
		 "\"lines\":[{\"sku\":\"%s\",\"qty\":%d}]%s}",
		 sku, sku, qty, extra);
	json_t *order = json_loads(body, 0, NULL);
	assert_non_null(order);
	assert_int_equal(flow_decide(st, order, opts, &ans, &err), 0);
	const json_t *u = json_array_get(json_object_get(ans, "unfilled"), 0);
	assert_non_null(u);
	assert_string_equal(json_string_value(json_object_get(u, "reason")), reason);
	json_decref(ans);
	json_decref(order);
}

/*
 * Each unfilled unit's reason is the constraint that stopped it, judged by the nodes that
 * hold the stock (it used to say no_stock for a node left out by the promise, rule for
 * an outage).
 */
static void test_unfilled_reasons(void **state)
{
	(void)state;
	struct store *st = reasons_network();
	struct fl_err err = {0};
	expect_reason(st, "Z", 1, "", NULL, "no_stock");
	expect_reason(st, "Q", 1, ",\"deliver_within_days\":1", NULL, "promise");
	expect_reason(st, "H", 1, "", NULL, "hazmat");
	expect_reason(st, "C", 3, "", NULL, "capacity");
	expect_reason(st, "P", 3, ",\"allow_split\":false", NULL, "no_split");
	expect_reason(st, "F", 1, "", NULL, "beyond_zones");
	const struct flow_decide_opts ex = {.exclude_node = "D1"};
	expect_reason(st, "R", 1, "", &ex, "rule");
	/* the promise's exclusion says how many days the node would need */
	json_t *ans = NULL,
	       *order = json_loads(
		       "{\"order_id\":\"W-Q2\",\"destination\":{\"lat\":40.02,\"lon\":-74},"
		       "\"lines\":[{\"sku\":\"Q\",\"qty\":1}],\"deliver_within_days\":1}",
		       0, NULL);
	assert_int_equal(flow_decide(st, order, NULL, &ans, &err), 0);
	const json_t *x;
	size_t i;
	int days = -1;
	json_array_foreach(json_object_get(json_object_get(ans, "explanation"), "excluded"), i,
			   x) if (!strcmp(json_string_value(json_object_get(x, "node")), "S1"))
		days = (int)json_integer_value(json_object_get(x, "days_needed"));
	assert_int_equal(days, 4); /* 2 days of processing + 2 in transit */
	json_decref(ans);
	json_decref(order);
	/* an outage: the node is out, and the reason names it */
	json_t *ev = json_loads("{\"event_id\":\"o1\",\"type\":\"node.outage\",\"node\":\"D1\"}", 0,
				NULL);
	assert_int_equal(flow_event(st, ev, false, &ans, &err), 0);
	json_decref(ans);
	json_decref(ev);
	expect_reason(st, "O", 1, "", NULL, "outage");
	flows_release();
	store_close(st);
}

/*
 * Regression (issue 14, silent caps): an event's notify and discount effects past 64 were
 * dropped with no action and no outbox row. Now 150 of each are answered and queued.
 */
static void test_effects_beyond_64(void **state)
{
	(void)state;
	static const char src[] =
		"rules = {{name = \"many\", on_event = function(event, ctx)\n"
		"  for i = 1, 150 do ctx:notify(\"email\", \"late\", {n = i}) end\n"
		"  for i = 1, 150 do ctx:discount(\"fixed\", 1, \"late\") end\n"
		"end}}\n";
	struct store *st = network(2, 1, 100);
	struct fl_err err = {0};
	json_t *ans = NULL, *order = small_order("MANY-1", false);
	assert_int_equal(flow_rules_push(st, "many", src, sizeof(src) - 1, "admin", &ans, &err), 0);
	json_decref(ans);
	assert_int_equal(flow_rules_activate(st, "many", 1, &ans, &err), 0);
	json_decref(ans);
	assert_int_equal(flow_decide(st, order, NULL, &ans, &err), 0);
	json_decref(ans);
	json_t *ev = json_pack("{s:s, s:s, s:s, s:{s:i}}", "event_id", "MANY-E", "type",
			       "shipment.delayed", "order_id", "MANY-1", "data", "delay_days", 2);
	assert_int_equal(flow_event(st, ev, false, &ans, &err), 0);
	size_t i, notify = 0, discount = 0;
	const json_t *a;
	json_array_foreach(json_object_get(ans, "actions"), i, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));
		notify += t && !strcmp(t, "notify");
		discount += t && !strcmp(t, "discount");
	}
	assert_int_equal(notify, 150);
	assert_int_equal(discount, 150);
	json_decref(ans);
	assert_int_equal(flow_outbox_list(st, 1000, &ans, &err), 0);
	assert_int_equal(json_array_size(json_object_get(ans, "items")), 300);
	json_decref(ans);
	json_decref(ev);
	json_decref(order);
	flows_release();
	store_close(st);
}

/*
 * Regression (issue 15, found by tools/diskfull.sh): on a full disk /readyz said 200 while
 * decisions were refused, because the one-row probe fitted in what the failed writes had
 * already grown the log by. Ready again means room for real writes: the probe commits
 * STORE_PROBE_BYTES, so with less room than that the store stays not ready.
 */
static void test_ready_needs_room(void **state)
{
	(void)state;
	fault_vfs_install();
	char *dir = tmp_dir(), path[4200];
	snprintf(path, sizeof(path), "%s/r.db", dir);
	struct store *st = network_at(path, 3, 2, 1000);
	struct fl_err err = {0};
	fault_vfs_room = 64 * 1024;
	int rc = 0;
	for (int i = 0; i < 1000 && rc == 0; i++) {
		char id[32];
		snprintf(id, sizeof(id), "ROOM-%d", i);
		json_t *ans = NULL, *o = small_order(id, true);
		rc = flow_decide(st, o, NULL, &ans, &err);
		json_decref(ans), json_decref(o);
	}
	assert_int_equal(rc, FL_EIO); /* the disk filled */
	assert_true(store_write_failing());
	assert_int_not_equal(store_write_probe(st, &err), 0); /* too little room to be ready */
	assert_true(store_write_failing());
	fault_vfs_room = -1; /* space freed */
	assert_int_equal(store_write_probe(st, &err), 0);
	assert_false(store_write_failing());
	json_t *ans = NULL, *o = small_order("ROOM-after", true);
	assert_int_equal(flow_decide(st, o, NULL, &ans, &err), 0);
	json_decref(ans), json_decref(o);
	flows_release();
	store_close(st);
	rm_tree(dir);
}

/* An order's decisions are listed newest first, at most FLOW_DECISIONS_LISTED, and the
 * answer says when older ones exist (the list was cut at 100 without a word). */
static void test_order_decisions_say_more(void **state)
{
	(void)state;
	struct store *st = network(2, 1, 1000);
	struct fl_err err = {0};
	json_t *ans = NULL;
	for (int i = 0; i <= FLOW_DECISIONS_LISTED; i++) {
		json_t *o = json_pack("{s:s, s:{s:f, s:f}, s:[{s:s, s:i}]}", "order_id", "MORE-1",
				      "destination", "lat", 40.05, "lon", -74.0, "lines", "sku",
				      "S000", "qty", 1 + i);
		assert_int_equal(flow_decide(st, o, NULL, &ans, &err), 0);
		json_decref(ans), json_decref(o);
		if (i == 1) {
			assert_int_equal(flow_decisions_list(st, "MORE-1", &ans, &err), 0);
			assert_int_equal(json_array_size(json_object_get(ans, "decisions")), 2);
			assert_false(json_is_true(json_object_get(ans, "more")));
			json_decref(ans);
		}
	}
	assert_int_equal(flow_decisions_list(st, "MORE-1", &ans, &err), 0);
	const json_t *l = json_object_get(ans, "decisions");
	assert_int_equal(json_array_size(l), FLOW_DECISIONS_LISTED);
	assert_true(json_is_true(json_object_get(ans, "more")));
	json_decref(ans);
	flows_release();
	store_close(st);
}

/* Run op with the disk failing (each fault in turn): FL_EIO, then op again succeeds. */
typedef int write_op(struct store *st, struct fl_err *err);

static int op_wave(struct store *st, struct fl_err *err)
{
	json_t *ans = NULL, *body = json_pack("{s:[o], s:b}", "orders", small_order("WV-1", false),
					      "reserve", 1);
	const int rc = flow_wave(st, body, false, &ans, err);
	json_decref(ans), json_decref(body);
	return rc;
}

static int op_event(struct store *st, struct fl_err *err)
{
	json_t *ans = NULL, *body = json_pack("{s:s, s:s, s:s}", "event_id", "EV-1", "type",
					      "shipment.delivered", "order_id", "EVT-1");
	const int rc = flow_event(st, body, false, &ans, err);
	if (!rc) /* recorded, not a duplicate of a half-written one */
		assert_string_equal(json_string_value(json_object_get(ans, "status")), "applied");
	json_decref(ans), json_decref(body);
	return rc;
}

static char release_id[32];

static int op_release(struct store *st, struct fl_err *err)
{
	long units;
	return store_decision_release(st, release_id, &units, err);
}

static int op_push(struct store *st, struct fl_err *err)
{
	json_t *ans = NULL;
	const int rc = flow_rules_push(st, "default", flow_default_pack, flow_default_pack_len,
				       "admin", &ans, err);
	json_decref(ans);
	return rc;
}

static int op_activate(struct store *st, struct fl_err *err)
{
	json_t *ans = NULL;
	const int rc = flow_rules_activate(st, "default", 1, &ans, err);
	json_decref(ans);
	return rc;
}

static int op_import(struct store *st, struct fl_err *err)
{
	json_t *ans = NULL, *m = json_pack("{s:s}", "zones.csv", "zone,max_km\n9,900\n");
	const int rc = flow_import_json(st, m, &ans, err);
	json_decref(ans), json_decref(m);
	return rc;
}

/*
 * Regression (issue 14, item 3): a reroute whose new plan cannot hold what the old one
 * held (here the only carrier is the late one) still superseded the decision and freed
 * its reservation, leaving the order with nothing held. Now the action says so, no
 * decision is recorded, and the old decision keeps its reservation.
 */
static void test_reroute_that_cannot_reserve(void **state)
{
	(void)state;
	struct store *st = network(2, 1, 10);
	struct fl_err err = {0};
	json_t *ans = NULL, *o = small_order("NR-1", true);
	assert_int_equal(op_push(st, &err), 0);
	assert_int_equal(op_activate(st, &err), 0);
	assert_int_equal(flow_decide(st, o, NULL, &ans, &err), 0);
	char id[32];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(ans, "decision_id")));
	json_decref(ans), json_decref(o);
	const long held = reserved_units(st);
	assert_int_equal(held, 3);
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:i}}", "event_id", "NR-E", "type",
			       "shipment.delayed", "order_id", "NR-1", "decision_id", id, "carrier",
			       "c", "data", "delay_days", 5);
	assert_int_equal(flow_event(st, ev, false, &ans, &err), 0);
	const json_t *a, *reroute = NULL;
	size_t i;
	json_array_foreach(json_object_get(ans, "actions"), i,
			   a) if (!strcmp(json_string_value(json_object_get(a, "type")), "reroute"))
		reroute = a;
	assert_non_null(reroute);
	assert_null(json_object_get(reroute, "decision"));
	const char *why = json_string_value(json_object_get(reroute, "error"));
	assert_non_null(why);
	assert_non_null(strstr(why, "its reservation kept"));
	json_decref(ans), json_decref(ev);
	assert_int_equal(reserved_units(st), held);
	struct store_reservation res;
	assert_int_equal(store_reservation_get(st, id, &res, &err), 0);
	assert_string_equal(res.status, "reserved");
	assert_int_equal(res.units, 3);
	flows_release();
	store_close(st);
}

/*
 * Every write path on a full disk and on an I/O error (a SQLite VFS that fails writes):
 * the answer is FL_EIO (503), nothing of it is left half-written (the op runs again from
 * scratch and succeeds), the store says it cannot write until a write commits, and
 * service resumes once the disk does.
 */
static void test_every_write_path_on_a_failing_disk(void **state)
{
	(void)state;
	static const int faults[] = {SQLITE_FULL, SQLITE_IOERR_WRITE};
	static const struct {
		const char *name;
		write_op *op;
	} ops[] = {{"wave", op_wave},	    {"event", op_event},       {"release", op_release},
		   {"rules push", op_push}, {"activate", op_activate}, {"import", op_import}};
	fault_vfs_install();
	char *dir = tmp_dir(), path[4200];
	snprintf(path, sizeof(path), "%s/w.db", dir);
	struct store *st = network_at(path, 3, 2, 10);
	struct fl_err err = {0};
	json_t *ans = NULL, *o = small_order("EVT-1", true);
	assert_int_equal(flow_decide(st, o, NULL, &ans, &err), 0); /* what the event is about */
	json_decref(ans), json_decref(o);
	o = small_order("REL-1", true);
	assert_int_equal(flow_decide(st, o, NULL, &ans, &err), 0); /* what release frees */
	snprintf(release_id, sizeof(release_id), "%s",
		 json_string_value(json_object_get(ans, "decision_id")));
	json_decref(ans), json_decref(o);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const long reserved = reserved_units(st);
		for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
			fault_vfs_fail = faults[f];
			if (ops[i].op(st, &err) != FL_EIO)
				fail_msg("%s with fault %d: not FL_EIO (%s)", ops[i].name,
					 faults[f], err.msg);
			assert_true(store_write_failing());
			assert_int_not_equal(store_write_probe(st, &err), 0);
			fault_vfs_fail = 0;
			assert_int_equal(reserved_units(st), reserved); /* nothing half-written */
		}
		assert_int_equal(store_write_probe(st, &err), 0); /* the disk is back */
		assert_false(store_write_failing());
		if (ops[i].op(st, &err))
			fail_msg("%s after the disk came back: %s", ops[i].name, err.msg);
	}
	flows_release();
	store_close(st);
	rm_tree(dir);
}

/*
 * Regression (issue 16): units of an accepted transfer stayed sellable at their source
 * until the next import. Now they are committed there: sourcing does not promise them.
 */
static void test_committed_units_are_not_sold(void **state)
{
	(void)state;
	struct store *st = network(2, 1, 10); /* N00 and N01, 10 units of S000 each */
	struct fl_err err = {0};
	const struct store_transfer t = {.from = "N00", .to = "N01", .sku = "S000", .qty = 8};
	assert_int_equal(store_scenario_put(st, "s_t", "t", "{}", "{}", NULL, &err), 0);
	assert_int_equal(store_scenario_accept(st, "s_t", &t, 1, 1, &err), 0);
	json_t *ans = NULL,
	       *order = json_pack("{s:s, s:{s:f, s:f}, s:[{s:s, s:i}], s:b}", "order_id", "CM-1",
				  "destination", "lat", 40.0, "lon", -74.0, "lines", "sku", "S000",
				  "qty", 15, "reserve", 1);
	assert_int_equal(flow_decide(st, order, NULL, &ans, &err), 0);
	size_t rows;
	assert_int_equal(answered_units(ans, &rows), 12); /* 2 at N00 + 10 at N01, not 15 */
	assert_int_equal(reserved_units(st), 12);
	json_decref(ans), json_decref(order);
	flows_release();
	store_close(st);
}

/* Money is answered to the cent; the log keeps the exact value (issue 14). */
static void test_money_to_the_cent(void **state)
{
	(void)state;
	struct store *st = network(2, 1, 10);
	struct fl_err err = {0};
	seed(st, STORE_FILE_RATES,
	     "carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\n"
	     "c,g,2,5.0001,0.3333,2,1\n");
	json_t *ans = NULL, *order = small_order("MC-1", false);
	assert_int_equal(flow_decide(st, order, NULL, &ans, &err), 0);
	const double total =
		json_number_value(json_object_get(json_object_get(ans, "cost"), "total"));
	assert_true(fabs(total * 100 - round(total * 100)) < 1e-6);
	char *text = NULL;
	assert_int_equal(store_decision_get(st,
					    json_string_value(json_object_get(ans, "decision_id")),
					    &text, &err),
			 0);
	json_t *logged = json_loads(text, 0, NULL);
	const double exact =
		json_number_value(json_object_get(json_object_get(logged, "cost"), "total"));
	assert_true(fabs(exact - total) > 1e-9 && fabs(exact - total) <= 0.005 + 1e-9);
	free(text);
	json_decref(logged), json_decref(ans), json_decref(order);
	flows_release();
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reservation_is_the_answer),
		cmocka_unit_test(test_failed_commit_is_not_success),
		cmocka_unit_test(test_forecast_many_null_err),
		cmocka_unit_test(test_forecast_progress_cancel),
		cmocka_unit_test(test_concurrent_reservations),
		cmocka_unit_test(test_unfilled_reasons),
		cmocka_unit_test(test_every_write_path_on_a_failing_disk),
		cmocka_unit_test(test_committed_units_are_not_sold),
		cmocka_unit_test(test_money_to_the_cent),
		cmocka_unit_test(test_effects_beyond_64),
		cmocka_unit_test(test_ready_needs_room),
		cmocka_unit_test(test_reroute_that_cannot_reserve),
		cmocka_unit_test(test_order_decisions_say_more),
	};
	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
