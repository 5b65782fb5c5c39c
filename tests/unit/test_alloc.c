/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The allocation-failure loop (SQLite's and Lua's habit): each scenario runs once to
 * count the allocations fulcrum's own code makes, then again with the 1st, the 2nd, …
 * allocation failing: once alone (transient), and once with every later one failing too
 * (persistent: what a real out-of-memory looks like, and what gets past Lua's emergency
 * collection). Every run must come back with a clean status (0 when the code has
 * a fallback, else a negative FL_E*), never crash or abort, and free everything it
 * allocated. Linked with -Wl,--wrap for malloc, calloc, realloc, strdup, strndup and
 * free: only the calls in fulcrum's objects fail, not SQLite's, jansson's or GLPK's
 * (GLPK aborts on a failed allocation by design; its own tests own that).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "helpers.h"

#include "fuzz/seed.h"
#include "solver/solver.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_long counted;	 /* allocations counted since the scenario began */
static atomic_long fail_at = -1; /* the one that fails (1-based); -1 none */
static atomic_int persistent;	 /* and every one after it too */
static atomic_int counting;

/* The live pointers fulcrum's code allocated while counting: a leak check that does not
 * need ASan (the asan build adds LeakSanitizer on top). */
#define LIVE_CAP (1u << 20)
static void *live[LIVE_CAP];
static long live_at[LIVE_CAP]; /* which allocation made it: for a leak's report */
static size_t nlive;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const void *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 11400714819323198485ull >> 44) & (LIVE_CAP - 1);
}

static void live_add(void *p)
{
	pthread_mutex_lock(&live_lock);
	size_t i = slot_of(p);
	while (live[i] && live[i] != (void *)1)
		i = (i + 1) & (LIVE_CAP - 1);
	live[i] = p;
	live_at[i] = atomic_load(&counted);
	nlive++;
	pthread_mutex_unlock(&live_lock);
}

static void live_del(void *p)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = slot_of(p); live[i]; i = (i + 1) & (LIVE_CAP - 1))
		if (live[i] == p) {
			live[i] = (void *)1; /* a tombstone */
			nlive--;
			break;
		}
	pthread_mutex_unlock(&live_lock);
}

static bool should_fail(void)
{
	if (!atomic_load(&counting))
		return false;
	const long k = atomic_fetch_add(&counted, 1) + 1, at = atomic_load(&fail_at);
	return at > 0 && (k == at || (atomic_load(&persistent) && k > at));
}

static void *track(void *p)
{
	if (p && atomic_load(&counting))
		live_add(p);
	return p;
}

void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : track(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : track(__real_calloc(n, size));
}

void *__wrap_realloc(void *p, size_t n)
{
	if (n && should_fail())
		return NULL;
	if (p)
		live_del(p);
	void *q = __real_realloc(p, n);
	if (!q && p && n)
		track(p); /* the old block stays the caller's */
	return n ? track(q) : q;
}

void __wrap_free(void *p)
{
	if (p)
		live_del(p);
	__real_free(p);
}

char *__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = __wrap_malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

char *__wrap_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = __wrap_malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static void live_reset(void)
{
	pthread_mutex_lock(&live_lock);
	memset(live, 0, sizeof(live));
	nlive = 0;
	pthread_mutex_unlock(&live_lock);
}

/* ---- scenarios: setup (not counted), the work (counted), teardown ---- */

struct scenario {
	const char *name;
	void *(*setup)(void);
	int (*run)(void *ctx); /* 0 or a negative FL_E* */
	void (*teardown)(void *ctx);
};

static void flows_release(void)
{
	flow_snapshot_drop();
	flow_rules_drop();
	flow_rules_thread_release();
	slv_thread_release();
}

static void *no_setup(void)
{
	return NULL;
}

static void no_teardown(void *ctx)
{
	(void)ctx;
}

static int run_import(void *ctx)
{
	(void)ctx;
	struct store *st;
	struct fl_err err = {0};
	static const char nodes[] =
		"id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
		"processing_days,ships_hazmat\nN1,a,dc,40,-74,r,,1,0.5,0,1\n"
		"N2,b,store,41,-75,r,5,2,1,1,0\n";
	static const char sales[] = "date,node,sku,qty\n2026-01-01,N1,S1,3\n2026-01-02,N1,S1,1\n"
				    "2026-01-02,N2,S2,4\n";
	static const char skus[] = "id,name,weight_kg,hazmat\nS1,x,1,0\nS2,y,2,1\n";
	if (store_open(":memory:", &st, &err))
		return err.status;
	struct store_import_src src = {{NULL}};
	src.files[STORE_FILE_NODES] = fmemopen((void *)nodes, sizeof(nodes) - 1, "rb");
	src.files[STORE_FILE_SKUS] = fmemopen((void *)skus, sizeof(skus) - 1, "rb");
	src.files[STORE_FILE_SALES] = fmemopen((void *)sales, sizeof(sales) - 1, "rb");
	int rc = store_import(st, &src, NULL, NULL, NULL, &err);
	struct store_series_set set;
	if (!rc && !(rc = store_sales_series(st, NULL, NULL, &set, &err)))
		store_series_release(&set);
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (src.files[k])
			fclose(src.files[k]);
	store_close(st);
	return rc;
}

static int run_forecast(void *ctx)
{
	(void)ctx;
	double y[120], mean[14], lo[14], hi[14];
	for (int i = 0; i < 120; i++)
		y[i] = i % 3 == 0 ? 0 : 10 + 5 * (i % 7) + (i % 11); /* seasonal, with zeros */
	for (int m = 0; m < FC_METHOD_COUNT; m++) {
		struct fc_opts o = {
			.horizon = 14, .level = 0.9, .period = 7, .method = (enum fc_method)m};
		struct fc_result r = {.mean = mean, .lo = lo, .hi = hi};
		int rc = fc_forecast(y, 120, &o, &r, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

static int run_rules(void *ctx)
{
	(void)ctx;
	struct rl_engine *e;
	struct rl_diag d;
	struct rl_test_report *rep = malloc(sizeof(*rep));
	int rc = rep ? rl_engine_new(NULL, &e, NULL) : FL_ENOMEM;
	if (rc) {
		free(rep);
		return rc;
	}
	const struct rl_node nodes[] = {{"N1", "dc", "r"}, {"N2", "store", "r"}};
	struct rl_line lines[] = {{"S1", 30, 1, true}};
	const struct rl_order o = {"O1", 1, lines, 40, -74, 2, 30};
	struct rl_effects fx = {0};
	if (!(rc = rl_set_nodes(e, nodes, 2, NULL)) &&
	    !(rc = rl_load(e, "default@1", "default", flow_default_pack, flow_default_pack_len,
			   &d)) &&
	    !(rc = rl_run_tests(e, "default@1", flow_default_pack, NULL, rep, NULL)))
		rc = rl_before_sourcing(e, "default@1", &o, NULL, &fx);
	rl_effects_release(&fx);
	rl_engine_free(e);
	free(rep);
	return rc;
}

static void *network_setup(void)
{
	return fuzz_network_store();
}

static void network_teardown(void *ctx)
{
	flows_release();
	store_close(ctx);
}

static int run_fulfilment(void *ctx)
{
	struct store *st = ctx;
	json_t *ans = NULL;
	json_t *order =
		json_pack("{s:s, s:{s:f, s:f}, s:[{s:s, s:i}, {s:s, s:i}], s:b}", "order_id", "A1",
			  "destination", "lat", 40.5, "lon", -74.2, "lines", "sku", "S1", "qty", 3,
			  "sku", "S2", "qty", 1, "reserve", 1);
	json_t *wave = json_pack("{s:[{s:s, s:{s:f, s:f}, s:[{s:s, s:i}]}, "
				 "{s:s, s:{s:f, s:f}, s:[{s:s, s:i}]}], s:i}",
				 "orders", "order_id", "W1", "destination", "lat", 40.1, "lon",
				 -74.1, "lines", "sku", "S1", "qty", 2, "order_id", "W2",
				 "destination", "lat", 34.1, "lon", -118.1, "lines", "sku", "S3",
				 "qty", 2, "time_limit_ms", 200);
	json_t *event = json_pack("{s:s, s:s, s:s, s:s, s:{s:f}}", "event_id", "E1", "type",
				  "shipment.delayed", "order_id", "A1", "carrier", "c", "data",
				  "delay_days", 4.0);
	int rc = FL_ENOMEM;
	if (order && wave && event && !(rc = flow_decide(st, order, NULL, &ans, NULL))) {
		json_decref(ans);
		ans = NULL;
		if (!(rc = flow_event(st, event, false, &ans, NULL))) {
			json_decref(ans);
			ans = NULL;
			rc = flow_wave(st, wave, false, &ans, NULL);
		}
	}
	json_decref(ans);
	json_decref(order), json_decref(wave), json_decref(event);
	flows_release();
	return rc;
}

static const struct scenario scenarios[] = {
	{"data: import and read back", no_setup, run_import, no_teardown},
	{"forecast: every method", no_setup, run_forecast, no_teardown},
	{"rules: engine, load, tests, a hook", no_setup, run_rules, no_teardown},
	{"flows: decide, an event, a wave", network_setup, run_fulfilment, network_teardown},
};

/* One run with allocation `at` failing (0: none): its status; the live set must empty. */
static int one_run(const struct scenario *sc, long at, long *allocs)
{
	void *ctx = sc->setup();
	live_reset();
	atomic_store(&counted, 0);
	atomic_store(&fail_at, at ? at : -1);
	atomic_store(&counting, 1);
	const int rc = sc->run(ctx);
	atomic_store(&counting, 0);
	*allocs = atomic_load(&counted);
	sc->teardown(ctx);
	return rc;
}

#define RUNS_MAX 1500 /* failure points per scenario; a stride beyond */

static void each_allocation_fails(bool persist)
{
	atomic_store(&persistent, persist);
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		const struct scenario *sc = &scenarios[s];
		long n, got;
		assert_int_equal(one_run(sc, 0, &n), 0);
		assert_int_equal(nlive, 0);
		const long stride = n > RUNS_MAX ? (n + RUNS_MAX - 1) / RUNS_MAX : 1;
		long failed_clean = 0;
		for (long at = 1; at <= n; at += stride) {
			const int rc = one_run(sc, at, &got);
			if (rc > 0 || (rc < 0 && !strcmp(fl_strerror(rc), "unknown status")))
				fail_msg("%s: allocation %ld: status %d", sc->name, at, rc);
			if (nlive) {
				long first = 0;
				for (size_t i = 0; i < LIVE_CAP && !first; i++)
					if (live[i] && live[i] != (void *)1)
						first = live_at[i];
				fail_msg("%s: allocation %ld failing leaks %zu blocks, the first "
					 "made by allocation %ld",
					 sc->name, at, nlive, first);
			}
			failed_clean += rc != 0;
		}
		printf("# %s: %ld allocations, every %ld-th failed in turn%s, %ld clean errors\n",
		       sc->name, n, stride, persist ? " with all after it" : "", failed_clean);
	}
}

static void test_each_allocation_fails(void **state)
{
	(void)state;
	each_allocation_fails(false);
}

static void test_from_each_allocation_on(void **state)
{
	(void)state;
	each_allocation_fails(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_allocation_fails),
		cmocka_unit_test(test_from_each_allocation_on),
	};
	return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
