/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sourcing against exhaustive enumeration. Random small networks (node types, hazmat,
 * tight stock, capacities, promises, no-split orders, split penalties) are built from
 * DATA.md's raw tables; the brute force below reads DATA.md independently of the solver:
 * it lists every (node, rate) a shipment may use, tries every way to place every unit,
 * and keeps the plan with the most units, then the least cost.
 */
#include <math.h>

#include "helpers.h"
#include "solver/solver.h"

#define CASES 3000
#define MAXN 4
#define MAXK 3
#define MAXR 8

struct net {
	struct fl_node nodes[MAXN];
	struct fl_zone zones[3];
	struct fl_rate rates[MAXR];
	int nn, nz, nr;
	struct slv_item items[MAXK];
	int nk;
	long atp[MAXN * MAXK];
	long cap[MAXN];
	double lat, lon;
	int promise;
	bool split;
	double penalty;
};

static void make_net(struct net *t)
{
	memset(t, 0, sizeof(*t));
	t->lat = 40, t->lon = -90;
	t->nz = irand(1, 3);
	for (int z = 0; z < t->nz; z++)
		t->zones[z] = (struct fl_zone){.zone = z + 2, .max_km = 300.0 * (z + 1) * (z + 1)};
	t->nr = irand(1, 6);
	for (int r = 0; r < t->nr; r++) {
		struct fl_rate *x = &t->rates[r];
		snprintf(x->carrier, sizeof(x->carrier), "c%d", irand(0, 1));
		snprintf(x->service, sizeof(x->service), "s%d", r);
		x->zone = irand(2, 1 + t->nz);
		x->base_cost = round(urand() * 2000) / 100;
		x->per_kg = round(urand() * 300) / 100;
		x->transit_days = irand(1, 4);
		x->hazmat_ok = urand() < 0.5;
	}
	t->nn = irand(1, MAXN);
	for (int n = 0; n < t->nn; n++) {
		struct fl_node *x = &t->nodes[n];
		snprintf(x->id, sizeof(x->id), "N%d", n);
		x->type = (enum fl_node_type)irand(0, 3);
		x->lat = t->lat + (urand() - 0.5) * 16;
		x->lon = t->lon + (urand() - 0.5) * 20;
		x->capacity_units = urand() < 0.5 ? FL_UNLIMITED : irand(0, 4);
		x->handling_cost = round(urand() * 500) / 100;
		x->pick_cost = round(urand() * 200) / 100;
		x->processing_days = irand(0, 2);
		x->ships_hazmat = urand() < 0.6;
		t->cap[n] = x->capacity_units;
	}
	t->nk = irand(1, MAXK);
	for (int k = 0; k < t->nk; k++)
		t->items[k] = (struct slv_item){.qty = irand(1, 3),
						.weight_kg = round(urand() * 1000) / 100,
						.hazmat = urand() < 0.25};
	for (int i = 0; i < t->nn * t->nk; i++)
		t->atp[i] = urand() < 0.3 ? 0 : irand(1, 3);
	t->promise = urand() < 0.3 ? -1 : irand(1, 6);
	t->split = urand() < 0.7;
	t->penalty = urand() < 0.5 ? 0 : round(urand() * 1000) / 100;
}

/* ---- the brute force ---- */

struct bopt {
	int node, rate;
};

struct brute {
	const struct net *t;
	struct bopt opt[MAXN * MAXR];
	int no;
	long x[MAXN * MAXR][MAXK]; /* units per option and item */
	long best_fill;
	double best_cost;
};

static void evaluate(struct brute *b)
{
	const struct net *t = b->t;
	long stock[MAXN][MAXK] = {{0}}, load[MAXN] = {0}, fill = 0;
	int used = 0;
	double cost = 0;
	for (int o = 0; o < b->no; o++) {
		int n = b->opt[o].node;
		const struct fl_rate *r = &t->rates[b->opt[o].rate];
		long units = 0;
		double w = 0;
		for (int k = 0; k < t->nk; k++) {
			long q = b->x[o][k];
			if (!q)
				continue;
			if (t->items[k].hazmat && !(t->nodes[n].ships_hazmat && r->hazmat_ok))
				return;
			stock[n][k] += q;
			load[n] += q;
			units += q;
			w += (double)q * t->items[k].weight_kg;
		}
		if (!units)
			continue;
		used++;
		cost += r->base_cost + r->per_kg * w + t->nodes[n].handling_cost +
			t->nodes[n].pick_cost * (double)units;
		fill += units;
	}
	if (!t->split && used > 1)
		return;
	for (int n = 0; n < t->nn; n++) {
		for (int k = 0; k < t->nk; k++)
			if (stock[n][k] > t->atp[n * t->nk + k])
				return;
		if (t->cap[n] != FL_UNLIMITED && load[n] > t->cap[n])
			return;
	}
	if (used > 1)
		cost += t->penalty * (used - 1);
	if (fill > b->best_fill || (fill == b->best_fill && cost < b->best_cost - 1e-12)) {
		b->best_fill = fill;
		b->best_cost = cost;
	}
}

/* place the units of item k (one unit at a time, options in non-decreasing order) */
static void place(struct brute *b, int k, long left, int from)
{
	if (k == b->t->nk) {
		evaluate(b);
		return;
	}
	if (left == 0) {
		place(b, k + 1, k + 1 < b->t->nk ? b->t->items[k + 1].qty : 0, 0);
		return;
	}
	/* leave the remaining units unfilled */
	place(b, k + 1, k + 1 < b->t->nk ? b->t->items[k + 1].qty : 0, 0);
	for (int o = from; o < b->no; o++) {
		b->x[o][k]++;
		place(b, k, left - 1, o);
		b->x[o][k]--;
	}
}

static bool brute_force(const struct net *t, struct brute *b)
{
	memset(b, 0, sizeof(*b));
	b->t = t;
	for (int n = 0; n < t->nn; n++) {
		double km = fl_haversine_km(t->nodes[n].lat, t->nodes[n].lon, t->lat, t->lon);
		int zone = -1;
		double zmax = 1e300;
		for (int z = 0; z < t->nz; z++)
			if (km <= t->zones[z].max_km && t->zones[z].max_km < zmax)
				zone = t->zones[z].zone, zmax = t->zones[z].max_km;
		for (int r = 0; zone >= 0 && r < t->nr; r++) {
			if (t->rates[r].zone != zone)
				continue;
			int days = t->nodes[n].processing_days + t->rates[r].transit_days;
			if (t->promise >= 0 && days > t->promise)
				continue;
			b->opt[b->no++] = (struct bopt){n, r};
		}
	}
	if (b->no > 6)
		return false; /* keep the enumeration small */
	b->best_fill = -1;
	place(b, 0, t->items[0].qty, 0);
	return true;
}

static void test_against_enumeration(void **state)
{
	(void)state;
	int cases = 0, mip = 0, split = 0, nosplit = 0, partial = 0, hazard = 0;
	rng = 0x9E3779B97F4A7C15ULL;
	while (cases < CASES) {
		struct net t;
		struct brute b;
		make_net(&t);
		if (!brute_force(&t, &b))
			continue;
		cases++;
		struct slv_network net = {t.nodes, t.nn, t.zones, t.nz, t.rates, t.nr};
		struct slv_order ord = {t.lat,	   t.lon, t.promise, t.split,
					t.penalty, 5000,  t.nk,	     t.items};
		struct slv_candidates cand;
		struct slv_result res;
		struct fl_err err = {0};
		assert_int_equal(slv_candidates_build(&net, &ord, t.atp, t.cap, NULL, &cand, &err),
				 0);
		int rc = slv_source(&cand.prob, &res, &err);
		if (rc)
			fail_msg("case %d: %s", cases, err.msg);
		long fill = res.status == SLV_EMPTY ? 0 : res.filled;
		double cost = res.status == SLV_EMPTY ? 0 : res.cost;
		if (fill != b.best_fill || fabs(cost - b.best_cost) > 1e-6)
			fail_msg("case %d: solver fill %ld cost %.9f, enumeration fill %ld cost "
				 "%.9f",
				 cases, fill, cost, b.best_fill, b.best_cost);
		assert_int_equal(res.status == SLV_FEASIBLE, 0);
		/* the plan itself keeps every rule */
		long total = 0;
		for (int s = 0; s < res.nshipments; s++)
			for (int k = 0; k < t.nk; k++)
				total += res.ship[s].qty[k];
		assert_int_equal(total, fill);
		if (!t.split)
			assert_true(res.nshipments <= 1);
		mip += res.used_mip;
		split += res.nshipments > 1;
		nosplit += !t.split;
		long want = 0;
		for (int k = 0; k < t.nk; k++) {
			want += t.items[k].qty;
			hazard += t.items[k].hazmat;
		}
		partial += fill < want;
		slv_result_release(&res);
		slv_candidates_release(&cand);
	}
	/* the random cases must reach the interesting corners */
	print_message("%d cases: %d used the MIP, %d split, %d no-split, %d partial, "
		      "%d hazmat lines\n",
		      cases, mip, split, nosplit, partial, hazard);
	assert_true(mip > 300 && split > 100 && nosplit > 500 && partial > 300 && hazard > 500);
}

/*
 * Priced mode (the waves' subproblem) against enumeration: small orders with random
 * prices, a fill reward and step costs on the units taken from a node (the waves' cuts).
 * With one option per node the dynamic programme answers and must be exact; with two it
 * may not apply, and the answer must still bracket the optimum (bound <= it <= plan).
 */
struct steps {
	double at2[MAXN * MAXK]; /* the cost of taking 2 or more units of item k at node n */
};

static double step_cost(const void *ctx, int node, int item, long a)
{
	const struct steps *st = ctx;
	return a >= 2 ? st->at2[node * MAXK + item] : 0;
}

static void test_priced_against_enumeration(void **state)
{
	(void)state;
	int exact_cases = 0;
	for (int c = 0; c < 400; c++) {
		int K = irand(1, MAXK), per = c % 4 == 3 ? 2 : 1, NN = irand(1, 4 - per);
		struct slv_item items[MAXK];
		struct slv_node nodes[MAXN];
		struct slv_option opts[MAXN * 2];
		long atp[MAXN * MAXK];
		double price[MAXN * MAXK];
		struct steps st;
		for (int k = 0; k < K; k++)
			items[k] = (struct slv_item){irand(1, 2), urand() * 3, false};
		for (int n = 0; n < NN; n++) {
			for (int k = 0; k < K; k++) {
				atp[n * K + k] = irand(0, 3);
				price[n * K + k] = urand() < 0.5 ? 0 : urand() * 8;
				st.at2[n * MAXK + k] = urand() < 0.5 ? 0 : urand() * 6;
			}
			nodes[n] = (struct slv_node){FL_UNLIMITED, true, urand() * 3, urand(),
						     &atp[n * K]};
			for (int j = 0; j < per; j++)
				opts[n * per + j] =
					(struct slv_option){n, 2 + urand() * 8, urand() * 2, true};
		}
		double reward = urand() * 20;
		struct slv_problem p = {K,   items, NN,	   nodes,  NN * per,  opts, true,
					0.0, 1000,  price, reward, step_cost, &st};
		/* every plan: units of each item on each option, within its line and stock */
		int O = NN * per, combos = 1, radix = 1;
		for (int k = 0; k < K; k++)
			radix *= 3; /* 0, 1 or 2 units of each item on one option */
		for (int o = 0; o < O; o++)
			combos *= radix;
		double best = 0; /* the empty plan */
		for (int code = 0; code < combos; code++) {
			long x[MAXN * 2][MAXK], line[MAXK] = {0}, took[MAXN][MAXK] = {{0}};
			int rest = code;
			bool ok = true;
			double v = 0;
			for (int o = 0; o < O && ok; o++) {
				bool any = false;
				for (int k = 0; k < K; k++) {
					x[o][k] = rest % 3, rest /= 3;
					line[k] += x[o][k];
					took[opts[o].node][k] += x[o][k];
					any |= x[o][k] > 0;
				}
				if (any)
					v += opts[o].base_cost + nodes[opts[o].node].handling_cost;
			}
			for (int k = 0; k < K && ok; k++) {
				ok = line[k] <= items[k].qty;
				for (int n = 0; n < NN && ok; n++)
					ok = took[n][k] <= atp[n * K + k];
			}
			if (!ok)
				continue;
			for (int o = 0; o < O; o++)
				for (int k = 0; k < K; k++)
					v += (double)x[o][k] *
					     (opts[o].per_kg * items[k].weight_kg +
					      nodes[opts[o].node].pick_cost +
					      price[opts[o].node * K + k] - reward);
			for (int n = 0; n < NN; n++)
				for (int k = 0; k < K; k++)
					v += step_cost(&st, n, k, took[n][k]);
			best = v < best ? v : best;
		}
		struct slv_result r;
		struct fl_err err = {0};
		assert_int_equal(slv_source(&p, &r, &err), 0);
		assert_true(r.bound <= best + 1e-6);
		assert_true(r.objective >= best - 1e-6);
		if (per == 1) {
			if (fabs(r.objective - best) > 1e-6 || fabs(r.bound - best) > 1e-6)
				fail_msg("case %d: priced %.6f (bound %.6f), enumeration %.6f", c,
					 r.objective, r.bound, best);
			exact_cases++;
		}
		slv_result_release(&r);
	}
	print_message("priced mode: %d cases exact against enumeration\n", exact_cases);
}

static void test_exclusion_reasons(void **state)
{
	(void)state;
	struct fl_node nodes[6] = {
		{.id = "far", .lat = 10, .lon = 10, .capacity_units = FL_UNLIMITED},
		{.id = "empty", .lat = 40, .lon = -90, .capacity_units = FL_UNLIMITED},
		{.id = "full", .lat = 40, .lon = -90, .capacity_units = 0},
		{.id = "slow",
		 .lat = 40,
		 .lon = -90,
		 .capacity_units = FL_UNLIMITED,
		 .processing_days = 5},
		{.id = "nohaz", .lat = 40, .lon = -90, .capacity_units = FL_UNLIMITED},
		{.id = "good",
		 .lat = 40.1,
		 .lon = -90,
		 .capacity_units = FL_UNLIMITED,
		 .ships_hazmat = true,
		 .handling_cost = 1,
		 .pick_cost = 0.5},
	};
	struct fl_zone zones[] = {{2, 500}};
	struct fl_rate rates[] = {{.carrier = "c",
				   .service = "g",
				   .zone = 2,
				   .base_cost = 5,
				   .per_kg = 1,
				   .transit_days = 1,
				   .hazmat_ok = true}};
	struct slv_item items[] = {{.qty = 2, .weight_kg = 1.5, .hazmat = true}};
	long atp[6] = {5, 0, 5, 5, 5, 5}, cap[6];
	for (int n = 0; n < 6; n++)
		cap[n] = nodes[n].capacity_units;
	struct slv_network net = {nodes, 6, zones, 1, rates, 1};
	struct slv_order ord = {40, -90, 2, true, 0, 1000, 1, items};
	struct slv_candidates c;
	struct fl_err err = {0};
	assert_int_equal(slv_candidates_build(&net, &ord, atp, cap, NULL, &c, &err), 0);
	assert_string_equal(slv_exclusion_name(c.why[0]), "beyond_zones");
	assert_string_equal(slv_exclusion_name(c.why[1]), "no_stock");
	assert_string_equal(slv_exclusion_name(c.why[2]), "capacity");
	assert_string_equal(slv_exclusion_name(c.why[3]), "promise");
	assert_string_equal(slv_exclusion_name(c.why[4]), "hazmat");
	assert_string_equal(slv_exclusion_name(c.why[5]), "none");
	assert_int_equal(c.prob.nnodes, 1);
	struct slv_result r;
	assert_int_equal(slv_source(&c.prob, &r, &err), 0);
	assert_int_equal(r.status, SLV_OPTIMAL);
	assert_int_equal(r.filled, 2);
	/* 5 + 1 × 3 kg + 1 handling + 0.5 × 2 units */
	assert_true(fabs(r.cost - 10.0) < 1e-9);
	slv_result_release(&r);
	slv_candidates_release(&c);
	bool excl[6] = {false, false, false, false, false, true};
	assert_int_equal(slv_candidates_build(&net, &ord, atp, cap,
					      &(struct slv_adjust){.excluded = excl}, &c, &err),
			 0);
	assert_string_equal(slv_exclusion_name(c.why[5]), "rule");
	assert_int_equal(slv_source(&c.prob, &r, &err), 0);
	assert_int_equal(r.status, SLV_EMPTY);
	slv_result_release(&r);
	slv_candidates_release(&c);
}

/* A solve stopped by its time limit answers the best plan found, flagged feasible with a
 * gap, and that plan keeps every rule: 20 lines over 300 nodes, 1 ms. */
static void test_time_limit_answers_feasible(void **state)
{
	(void)state;
	enum { NN = 300, K = 20, PER = 3 };
	static struct slv_node nodes[NN];
	static struct slv_option opts[NN * PER];
	static long atp[NN * K];
	struct slv_item items[K];
	rng = 99;
	for (int k = 0; k < K; k++)
		items[k] = (struct slv_item){.qty = irand(5, 20), .weight_kg = urand() * 5};
	for (int n = 0; n < NN; n++) {
		for (int k = 0; k < K; k++)
			atp[n * K + k] = urand() < 0.5 ? irand(1, 4) : 0;
		nodes[n] = (struct slv_node){.cap = irand(3, 30),
					     .ships_hazmat = true,
					     .handling_cost = urand() * 3,
					     .pick_cost = urand(),
					     .atp = &atp[n * K]};
		for (int j = 0; j < PER; j++)
			opts[n * PER + j] =
				(struct slv_option){n, 3 + urand() * 10, urand() * 2, true};
	}
	struct slv_problem p = {K,   items, NN,	  nodes, NN * PER, opts, true,
				0.5, 1,	    NULL, 0,	 NULL,	   NULL};
	struct slv_result r;
	struct fl_err err = {0};
	assert_int_equal(slv_source(&p, &r, &err), 0);
	print_message("1 ms limit: status %s, gap %.4f, %ld units in %d shipments, %.1f ms\n",
		      r.status == SLV_OPTIMAL ? "optimal" : "feasible", r.gap, r.filled,
		      r.nshipments, r.time_ms);
	assert_true(r.status == SLV_FEASIBLE);
	assert_true(r.gap >= 0);
	long used[NN] = {0};
	for (int s = 0; s < r.nshipments; s++) {
		int n = opts[r.ship[s].option].node;
		for (int k = 0; k < K; k++) {
			assert_true(r.ship[s].qty[k] <= atp[n * K + k]);
			used[n] += r.ship[s].qty[k];
		}
	}
	for (int n = 0; n < NN; n++)
		assert_true(used[n] <= nodes[n].cap);
	/* the fill is still the most possible: the same problem with time to spare */
	long fast_fill = r.filled;
	slv_result_release(&r);
	p.time_limit_ms = 200; /* the fill comes from the max-flow, before any MIP */
	assert_int_equal(slv_source(&p, &r, &err), 0);
	assert_int_equal(r.filled, fast_fill);
	slv_result_release(&r);
}

static void test_bad_problems(void **state)
{
	(void)state;
	struct slv_item item = {.qty = 0};
	struct slv_problem p = {.nitems = 1, .items = &item, .time_limit_ms = 10};
	struct slv_result r;
	struct fl_err err = {0};
	assert_int_equal(slv_source(&p, &r, &err), FL_EINVAL);
	p.nitems = 0;
	assert_int_equal(slv_source(&p, &r, &err), FL_EINVAL);
	item.qty = 1;
	p.nitems = 1;
	p.time_limit_ms = 0;
	assert_int_equal(slv_source(&p, &r, &err), FL_EINVAL);
	p.time_limit_ms = 10;
	struct slv_option bad = {.node = 3};
	p.noptions = 1;
	p.options = &bad;
	assert_int_equal(slv_source(&p, &r, &err), FL_EINVAL);
}

static void test_export_lp(void **state)
{
	(void)state;
	struct net t;
	rng = 42;
	struct brute b;
	do
		make_net(&t);
	while (!brute_force(&t, &b) || b.best_fill < 2 || !t.split);
	struct slv_network net = {t.nodes, t.nn, t.zones, t.nz, t.rates, t.nr};
	struct slv_order ord = {t.lat, t.lon, t.promise, t.split, t.penalty, 5000, t.nk, t.items};
	struct slv_candidates c;
	struct fl_err err = {0};
	assert_int_equal(slv_candidates_build(&net, &ord, t.atp, t.cap, NULL, &c, &err), 0);
	char *dir = tmp_dir(), path[4200];
	snprintf(path, sizeof(path), "%s/m.lp", dir);
	assert_int_equal(slv_export_lp(&c.prob, path, &err), 0);
	char *text = read_file(path);
	assert_non_null(strstr(text, "Minimize"));
	assert_non_null(strstr(text, "fill"));
	free(text);
	assert_int_equal(slv_export_lp(&c.prob, "/nonexistent/x.lp", &err), FL_EIO);
	slv_candidates_release(&c);
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_enumeration),
		cmocka_unit_test(test_priced_against_enumeration),
		cmocka_unit_test(test_exclusion_reasons),
		cmocka_unit_test(test_time_limit_answers_feasible),
		cmocka_unit_test(test_bad_problems),
		cmocka_unit_test(test_export_lp),
	};
	int failed = cmocka_run_group_tests_name("solver", tests, NULL, NULL);
	slv_thread_release();
	return failed;
}
