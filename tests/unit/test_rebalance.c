/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * solver/rebalance: optimal on small random networks against an independent formulation
 * (DATA.md's full model written as a CPLEX LP file and solved by glpsol), with and
 * without shared lane capacities and fixed costs; every constraint of DATA.md checked on
 * each answer; never worse than the greedy baseline; bad input refused.
 */
#include <math.h>

#include "helpers.h"
#include "solver/rebalance.h"
#include "solver/solver.h"

/* glpsol's optimum of the LP file, or NAN when it could not say. */
static double glpsol_objective(const char *lp, const char *dir)
{
	char cmd[1024], out[600];
	snprintf(out, sizeof(out), "%s/sol.txt", dir);
	snprintf(cmd, sizeof(cmd), "glpsol --lp %s -o %s >/dev/null 2>&1", lp, out);
	if (system(cmd) != 0)
		return NAN;
	char *text = read_file(out);
	double v = NAN;
	const char *p = text ? strstr(text, "Objective:") : NULL;
	if (p && strstr(text, "OPTIMAL") && !strstr(text, "UNDEFINED") && (p = strchr(p, '=')))
		v = strtod(p + 1, NULL);
	free(text);
	return v;
}

static void random_problem(struct slv_rb_problem *p, struct slv_rb_lane *lanes, long *a, long *t,
			   int N, int K, bool coupled)
{
	int L = 0;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (i != j && urand() < 0.6) {
				lanes[L] = (struct slv_rb_lane){i, j, 0.5 + 3 * urand(), 0,
								FL_UNLIMITED};
				if (coupled && urand() < 0.6)
					lanes[L].fixed = (double)irand(1, 30);
				if (coupled && urand() < 0.6)
					lanes[L].cap = irand(0, 12);
				L++;
			}
	for (int ik = 0; ik < N * K; ik++) {
		a[ik] = urand() < 0.3 ? 0 : irand(0, 15);
		t[ik] = urand() < 0.3 ? 0 : irand(0, 15);
	}
	*p = (struct slv_rb_problem){.nnodes = N,
				     .nskus = K,
				     .nlanes = L,
				     .lanes = lanes,
				     .avail = a,
				     .target = t,
				     .penalty = 2 + 8 * urand(),
				     .time_limit_ms = 20000,
				     .threads = 2};
}

static void test_against_glpsol(void **state)
{
	(void)state;
	enum { NMAX = 6, KMAX = 5, RUNS = 40 };
	struct slv_rb_lane lanes[NMAX * NMAX];
	long a[NMAX * KMAX], t[NMAX * KMAX];
	char *dir = tmp_dir(), lp[512];
	int coupled_runs = 0;
	snprintf(lp, sizeof(lp), "%s/m.lp", dir);
	rng = 2026;
	for (int run = 0; run < RUNS; run++) {
		struct slv_rb_problem p;
		const bool coupled = run % 2 == 1;
		random_problem(&p, lanes, a, t, irand(2, NMAX), irand(1, KMAX), coupled);
		struct slv_rb_result r, g;
		struct fl_err err = {0};
		assert_int_equal(slv_rebalance(&p, &r, &err), 0);
		assert_int_equal(slv_rebalance_greedy(&p, &g, &err), 0);
		/* every constraint of DATA.md holds (the check recomputes the costs) */
		const double total = r.total;
		assert_int_equal(slv_rebalance_check(&p, &r, &err), 0);
		assert_float_equal(r.total, total, 1e-9);
		assert_int_equal(slv_rebalance_export_lp(&p, lp, &err), 0);
		const double ref = glpsol_objective(lp, dir);
		if (isnan(ref))
			fail_msg("run %d: glpsol found no optimum", run);
		if (fabs(ref - r.total) > 1e-6 * (1 + fabs(ref)))
			fail_msg("run %d (%s): fulcrum %.6f, glpsol %.6f", run,
				 coupled ? "coupled" : "uncoupled", r.total, ref);
		assert_true(r.optimal);
		assert_true(r.bound <= r.total + 1e-9);
		assert_true(r.total <= g.total + 1e-9);
		coupled_runs += r.coupled;
		slv_rb_release(&r);
		slv_rb_release(&g);
	}
	print_message("%d random networks equal to glpsol's optimum (%d coupled)\n", RUNS,
		      coupled_runs);
	assert_true(coupled_runs > 0);
	rm_tree(dir);
}

/*
 * Lot rules (issue 16): every line at least min_units and in whole case packs, the
 * constraints of DATA.md still kept, the bound of the unconstrained plan below the plan,
 * and the same optimum as glpsol's when the rules bind nothing (min 1, packs of 1).
 */
static void test_lot_rules(void **state)
{
	(void)state;
	enum { NMAX = 6, KMAX = 5, RUNS = 40 };
	struct slv_rb_lane lanes[NMAX * NMAX];
	long a[NMAX * KMAX], t[NMAX * KMAX], pack[KMAX];
	int rounded = 0;
	rng = 77;
	for (int run = 0; run < RUNS; run++) {
		struct slv_rb_problem p;
		random_problem(&p, lanes, a, t, irand(2, NMAX), irand(1, KMAX), run % 2 == 1);
		for (int k = 0; k < KMAX; k++)
			pack[k] = irand(1, 4);
		struct slv_rb_result free_plan, r;
		struct fl_err err = {0};
		assert_int_equal(slv_rebalance(&p, &free_plan, &err), 0);
		p.min_units = irand(2, 6);
		p.pack = pack;
		assert_true(slv_rb_has_lots(&p));
		assert_int_equal(slv_rebalance(&p, &r, &err), 0);
		rounded += r.rounded;
		const long mu_any = p.min_units;
		for (size_t i = 0; i < r.nt; i++) {
			const long q = r.t[i].qty, k = r.t[i].sku;
			if (q < mu_any || q % pack[k])
				fail_msg(
					"run %d: line %zu moves %ld of SKU %ld (min %ld, pack %ld)",
					run, i, q, k, mu_any, pack[k]);
			for (size_t j = 0; j < i; j++)
				assert_false(r.t[j].lane == r.t[i].lane &&
					     r.t[j].sku == r.t[i].sku);
		}
		const double total = r.total;
		assert_int_equal(slv_rebalance_check(&p, &r, &err), 0);
		assert_float_equal(r.total, total, 1e-9);
		/* the rules only restrict: the free plan's optimum bounds the plan from below */
		assert_true(free_plan.total <= r.total + 1e-9);
		assert_true(r.bound <= r.total + 1e-9);
		assert_true(r.gap >= 0 && r.gap <= 1);
		slv_rb_release(&free_plan);
		slv_rb_release(&r);
	}
	assert_true(rounded == RUNS);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct slv_rb_lane lane = {0, 1, 1, 0, FL_UNLIMITED};
	long a[2] = {5, 0}, t[2] = {0, 5};
	struct slv_rb_problem p = {.nnodes = 2,
				   .nskus = 1,
				   .nlanes = 1,
				   .lanes = &lane,
				   .avail = a,
				   .target = t,
				   .penalty = 10,
				   .threads = 1};
	struct slv_rb_result r;
	struct fl_err err = {0};
	assert_int_equal(slv_rebalance(&p, &r, &err), 0);
	assert_int_equal(r.nt, 1);
	assert_int_equal(r.t[0].qty, 5);
	assert_float_equal(r.total, 5, 1e-12);
	slv_rb_release(&r);
	p.penalty = 0.5; /* moving costs more than the shortage */
	assert_int_equal(slv_rebalance(&p, &r, &err), 0);
	assert_int_equal(r.nt, 0);
	assert_float_equal(r.total, 2.5, 1e-12);
	slv_rb_release(&r);
	p.penalty = -1;
	assert_int_equal(slv_rebalance(&p, &r, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "shortage_penalty"));
	p.penalty = 10;
	lane.to = 0;
	err = (struct fl_err){0};
	assert_int_equal(slv_rebalance(&p, &r, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "lane 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_glpsol),
		cmocka_unit_test(test_lot_rules),
		cmocka_unit_test(test_bad_input),
	};
	int failed = cmocka_run_group_tests_name("rebalance", tests, NULL, NULL);
	slv_thread_release();
	return failed;
}
