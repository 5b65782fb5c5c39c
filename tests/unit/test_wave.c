/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Waves against an independent exact formulation. Random small waves (≤ 15 orders on
 * small networks, shared scarce stock, capacities, promises, hazmat, no-split orders,
 * split penalties, orders that take every unit or none) are solved by slv_wave_solve and by one monolithic GLPK MIP written
 * here from DATA.md's raw tables: first the most units in all, then the least cost with
 * that fill. The wave's plan must fill as much and cost as little; its bound must not
 * exceed the optimum; every plan keeps every rule.
 */
#include <glpk.h>
#include <math.h>

#include "helpers.h"
#include "solver/solver.h"

#define WAVES 150
#define MAXN 4
#define MAXR 6
#define MAXO 15
#define MAXG 3

struct tw {
	struct fl_node nodes[MAXN];
	struct fl_zone zones[2];
	struct fl_rate rates[MAXR];
	int nn, nz, nr, no, ng;
	double weight[MAXG];
	bool hazmat[MAXG];
	long atp[MAXN * MAXG], cap[MAXN];
	struct {
		double lat, lon;
		int promise, nk;
		bool split, whole; /* whole: every unit or none */
		double penalty;
		int sku[MAXG];
		struct slv_item items[MAXG];
	} ord[MAXO];
};

static void make_wave(struct tw *t)
{
	memset(t, 0, sizeof(*t));
	t->nz = 2;
	t->zones[0] = (struct fl_zone){2, 400};
	t->zones[1] = (struct fl_zone){3, 1500};
	t->nr = irand(2, MAXR);
	for (int r = 0; r < t->nr; r++)
		t->rates[r] = (struct fl_rate){.zone = irand(2, 3),
					       .base_cost = round(urand() * 1500) / 100,
					       .per_kg = round(urand() * 200) / 100,
					       .transit_days = irand(1, 3),
					       .hazmat_ok = urand() < 0.5};
	for (int r = 0; r < t->nr; r++)
		snprintf(t->rates[r].service, sizeof(t->rates[r].service), "s%d", r);
	t->nn = irand(2, MAXN);
	for (int n = 0; n < t->nn; n++) {
		struct fl_node *x = &t->nodes[n];
		snprintf(x->id, sizeof(x->id), "N%d", n);
		x->lat = 40 + (urand() - 0.5) * 8;
		x->lon = -90 + (urand() - 0.5) * 10;
		x->capacity_units = urand() < 0.6 ? FL_UNLIMITED : irand(1, 6);
		x->handling_cost = round(urand() * 400) / 100;
		x->pick_cost = round(urand() * 150) / 100;
		x->processing_days = irand(0, 1);
		x->ships_hazmat = urand() < 0.6;
		t->cap[n] = x->capacity_units;
	}
	t->ng = irand(1, MAXG);
	for (int g = 0; g < t->ng; g++) {
		t->weight[g] = round(urand() * 800) / 100;
		t->hazmat[g] = urand() < 0.2;
	}
	for (int i = 0; i < t->nn * t->ng; i++)
		t->atp[i] = irand(0, 4);
	t->no = irand(2, MAXO);
	for (int i = 0; i < t->no; i++) {
		t->ord[i].lat = 40 + (urand() - 0.5) * 8;
		t->ord[i].lon = -90 + (urand() - 0.5) * 10;
		t->ord[i].promise = urand() < 0.4 ? -1 : irand(1, 4);
		t->ord[i].split = urand() < 0.7;
		t->ord[i].whole = urand() < 0.2;
		t->ord[i].penalty = urand() < 0.6 ? 0 : round(urand() * 500) / 100;
		int first = irand(0, t->ng - 1);
		t->ord[i].nk = irand(1, t->ng);
		for (int k = 0; k < t->ord[i].nk; k++) {
			int g = (first + k) % t->ng;
			t->ord[i].sku[k] = g;
			t->ord[i].items[k] =
				(struct slv_item){irand(1, 2), t->weight[g], t->hazmat[g]};
		}
	}
}

/* ---- the independent monolithic model ---- */

static int zone_of(const struct tw *t, double km)
{
	int z = -1;
	double best = 1e300;
	for (int j = 0; j < t->nz; j++)
		if (km <= t->zones[j].max_km && t->zones[j].max_km < best)
			z = t->zones[j].zone, best = t->zones[j].max_km;
	return z;
}

static void exact(const struct tw *t, long *fill, double *cost)
{
	glp_prob *lp = glp_create_prob();
	int cols = 0;
	/* columns: per order, per (node, rate) option reaching it in its promise: y, then x_k */
	int yc[MAXO][MAXN][MAXR], xc[MAXO][MAXN][MAXR][MAXG], zc[MAXO];
	memset(yc, 0, sizeof(yc));
	memset(xc, 0, sizeof(xc));
	glp_set_obj_dir(lp, GLP_MAX);
	for (int i = 0; i < t->no; i++) {
		zc[i] = glp_add_cols(lp, 1), cols++;
		glp_set_col_kind(lp, zc[i], GLP_BV);
		for (int n = 0; n < t->nn; n++) {
			const struct fl_node *nd = &t->nodes[n];
			int z = zone_of(
				t, fl_haversine_km(nd->lat, nd->lon, t->ord[i].lat, t->ord[i].lon));
			for (int r = 0; z >= 0 && r < t->nr; r++) {
				const struct fl_rate *rt = &t->rates[r];
				if (rt->zone != z ||
				    (t->ord[i].promise >= 0 &&
				     nd->processing_days + rt->transit_days > t->ord[i].promise))
					continue;
				yc[i][n][r] = glp_add_cols(lp, 1), cols++;
				glp_set_col_kind(lp, yc[i][n][r], GLP_BV);
				for (int k = 0; k < t->ord[i].nk; k++) {
					if (t->ord[i].items[k].hazmat &&
					    !(nd->ships_hazmat && rt->hazmat_ok))
						continue;
					int c = xc[i][n][r][k] = glp_add_cols(lp, 1);
					cols++;
					glp_set_col_kind(lp, c, GLP_IV);
					glp_set_col_bnds(lp, c, GLP_DB, 0,
							 (double)t->ord[i].items[k].qty);
				}
			}
		}
	}
	int ind[2048], row;
	double val[2048];
#define ROW(lo_type, lo, hi)                                \
	do {                                                \
		row = glp_add_rows(lp, 1);                  \
		glp_set_row_bnds(lp, row, lo_type, lo, hi); \
		glp_set_mat_row(lp, row, len, ind, val);    \
	} while (0)
	for (int i = 0; i < t->no; i++) {
		int len = 0, ylen;
		for (int k = 0; k < t->ord[i].nk; k++) { /* the order's lines */
			len = 0;
			for (int n = 0; n < t->nn; n++)
				for (int r = 0; r < t->nr; r++)
					if (xc[i][n][r][k])
						ind[++len] = xc[i][n][r][k], val[len] = 1;
			if (len)
				ROW(GLP_UP, 0, (double)t->ord[i].items[k].qty);
		}
		len = 0; /* links x <= q y */
		for (int n = 0; n < t->nn; n++)
			for (int r = 0; r < t->nr; r++)
				for (int k = 0; yc[i][n][r] && k < t->ord[i].nk; k++)
					if (xc[i][n][r][k]) {
						len = 2;
						ind[1] = xc[i][n][r][k], val[1] = 1;
						ind[2] = yc[i][n][r],
						val[2] = -(double)t->ord[i].items[k].qty;
						ROW(GLP_UP, 0, 0);
					}
		len = 0; /* z <= Σ y, and no split: Σ y <= 1 */
		for (int n = 0; n < t->nn; n++)
			for (int r = 0; r < t->nr; r++)
				if (yc[i][n][r])
					ind[++len] = yc[i][n][r], val[len] = 1;
		ylen = len;
		if (!t->ord[i].split && ylen)
			ROW(GLP_UP, 0, 1);
		ind[++len] = zc[i], val[len] = -1;
		ROW(GLP_LO, 0, 0);
		if (t->ord[i].whole) { /* every unit or none: Σ x = want · z */
			long want = 0;
			len = 0;
			for (int k = 0; k < t->ord[i].nk; k++) {
				want += t->ord[i].items[k].qty;
				for (int n = 0; n < t->nn; n++)
					for (int r = 0; r < t->nr; r++)
						if (xc[i][n][r][k])
							ind[++len] = xc[i][n][r][k], val[len] = 1;
			}
			ind[++len] = zc[i], val[len] = -(double)want;
			ROW(GLP_FX, 0, 0);
		}
	}
	for (int n = 0; n < t->nn; n++) { /* shared stock and capacity */
		int len = 0, clen;
		for (int g = 0; g < t->ng; g++) {
			len = 0;
			for (int i = 0; i < t->no; i++)
				for (int k = 0; k < t->ord[i].nk; k++)
					for (int r = 0; r < t->nr; r++)
						if (t->ord[i].sku[k] == g && xc[i][n][r][k])
							ind[++len] = xc[i][n][r][k], val[len] = 1;
			if (len)
				ROW(GLP_UP, 0, (double)t->atp[n * t->ng + g]);
		}
		clen = 0;
		for (int i = 0; i < t->no; i++)
			for (int k = 0; k < t->ord[i].nk; k++)
				for (int r = 0; r < t->nr; r++)
					if (xc[i][n][r][k])
						ind[++clen] = xc[i][n][r][k], val[clen] = 1;
		len = clen;
		if (len && t->cap[n] != FL_UNLIMITED)
			ROW(GLP_UP, 0, (double)t->cap[n]);
	}
	/* phase 1: the most units */
	glp_iocp io;
	glp_init_iocp(&io);
	io.presolve = GLP_ON;
	io.msg_lev = GLP_MSG_OFF;
	for (int i = 0; i < t->no; i++)
		for (int n = 0; n < t->nn; n++)
			for (int r = 0; r < t->nr; r++)
				for (int k = 0; k < t->ord[i].nk; k++)
					if (xc[i][n][r][k])
						glp_set_obj_coef(lp, xc[i][n][r][k], 1);
	assert_int_equal(glp_intopt(lp, &io), 0);
	*fill = lround(glp_mip_obj_val(lp));
	/* phase 2: the least cost at that fill */
	int len = 0;
	for (int j = 1; j <= glp_get_num_cols(lp); j++)
		if (glp_get_obj_coef(lp, j) == 1)
			ind[++len] = j, val[len] = 1;
	if (len)
		ROW(GLP_FX, (double)*fill, (double)*fill);
	glp_set_obj_dir(lp, GLP_MIN);
	for (int i = 0; i < t->no; i++) {
		glp_set_obj_coef(lp, zc[i], -t->ord[i].penalty);
		for (int n = 0; n < t->nn; n++)
			for (int r = 0; r < t->nr; r++) {
				if (!yc[i][n][r])
					continue;
				glp_set_obj_coef(lp, yc[i][n][r],
						 t->rates[r].base_cost + t->nodes[n].handling_cost +
							 t->ord[i].penalty);
				for (int k = 0; k < t->ord[i].nk; k++)
					if (xc[i][n][r][k])
						glp_set_obj_coef(
							lp, xc[i][n][r][k],
							t->rates[r].per_kg * t->ord[i]
										     .items[k]
										     .weight_kg +
								t->nodes[n].pick_cost);
			}
	}
	assert_int_equal(glp_intopt(lp, &io), 0);
	*cost = glp_mip_obj_val(lp);
	glp_delete_prob(lp);
#undef ROW
}

static void test_small_waves_against_exact(void **state)
{
	(void)state;
	int optimal = 0, proved = 0, hard = 0;
	rng = 0x2545F4914F6CDD1DULL;
	for (int wv = 0; wv < WAVES; wv++) {
		struct tw t;
		make_wave(&t);
		struct slv_network net = {t.nodes, t.nn, t.zones, t.nz, t.rates, t.nr};
		struct slv_candidates cand[MAXO];
		struct slv_wave_order orders[MAXO];
		struct fl_err err = {0};
		for (int i = 0; i < t.no; i++) {
			long atp[MAXN * MAXG];
			for (int n = 0; n < t.nn; n++)
				for (int k = 0; k < t.ord[i].nk; k++)
					atp[n * t.ord[i].nk + k] =
						t.atp[n * t.ng + t.ord[i].sku[k]];
			struct slv_order so = {t.ord[i].lat,   t.ord[i].lon,	 t.ord[i].promise,
					       t.ord[i].split, t.ord[i].penalty, 1000,
					       t.ord[i].nk,    t.ord[i].items};
			assert_int_equal(
				slv_candidates_build(&net, &so, atp, t.cap, NULL, &cand[i], &err),
				0);
			orders[i] = (struct slv_wave_order){&cand[i], t.ord[i].sku, t.ord[i].whole};
		}
		struct slv_wave w = {t.no, orders, t.nn, t.ng, t.atp, t.cap, 5000, 2};
		struct slv_wave_result r;
		if (slv_wave_solve(&w, &r, &err))
			fail_msg("wave %d: %s", wv, err.msg);
		long efill;
		double ecost;
		exact(&t, &efill, &ecost);
		/* fill: the most, and the flow bound never below it */
		if (r.filled != efill)
			fail_msg("wave %d: filled %ld, exact %ld", wv, r.filled, efill);
		assert_true(r.fill_bound >= efill);
		/* cost: never below the optimum; the proved bound never above it */
		if (r.cost < ecost - 1e-6 || r.bound > ecost + 1e-6)
			fail_msg("wave %d: cost %.6f bound %.6f, exact %.6f", wv, r.cost, r.bound,
				 ecost);
		optimal += fabs(r.cost - ecost) <= 1e-6;
		proved += r.status == SLV_OPTIMAL;
		hard += r.iterations > 0;
		if (r.status == SLV_OPTIMAL)
			assert_true(fabs(r.cost - ecost) <= 1e-6);
		/* every order keeps every rule; shared stock and capacity hold */
		long used[MAXN * MAXG] = {0}, load[MAXN] = {0};
		for (int i = 0; i < t.no; i++) {
			const struct slv_result *p = &r.plans[i];
			if (p->status == SLV_EMPTY)
				continue;
			if (!t.ord[i].split)
				assert_true(p->nshipments <= 1);
			long want = 0;
			for (int k = 0; k < t.ord[i].nk; k++)
				want += t.ord[i].items[k].qty;
			if (t.ord[i].whole)
				assert_int_equal(p->filled, want);
			for (int s = 0; s < p->nshipments; s++) {
				int o = p->ship[s].option,
				    n = cand[i].node_of[cand[i].prob.options[o].node];
				const struct fl_rate *rt = &t.rates[cand[i].rate_of[o]];
				if (t.ord[i].promise >= 0)
					assert_true(cand[i].days_of[o] <= t.ord[i].promise);
				for (int k = 0; k < t.ord[i].nk; k++) {
					if (p->ship[s].qty[k] && t.ord[i].items[k].hazmat)
						assert_true(t.nodes[n].ships_hazmat &&
							    rt->hazmat_ok);
					used[n * t.ng + t.ord[i].sku[k]] += p->ship[s].qty[k];
				}
				load[n] += p->ship[s].units;
			}
		}
		for (int n = 0; n < t.nn; n++) {
			for (int g = 0; g < t.ng; g++)
				assert_true(used[n * t.ng + g] <= t.atp[n * t.ng + g]);
			if (t.cap[n] != FL_UNLIMITED)
				assert_true(load[n] <= t.cap[n]);
		}
		slv_wave_result_release(&r, t.no);
		for (int i = 0; i < t.no; i++)
			slv_candidates_release(&cand[i]);
	}
	print_message("%d small waves: %d plans optimal, %d proved optimal by the bound, "
		      "%d ran column generation\n",
		      WAVES, optimal, proved, hard);
	assert_int_equal(optimal, WAVES);
}

static void test_bad_wave(void **state)
{
	(void)state;
	struct slv_wave w = {0};
	struct slv_wave_result r;
	struct fl_err err = {0};
	assert_int_equal(slv_wave_solve(&w, &r, &err), FL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_waves_against_exact),
		cmocka_unit_test(test_bad_wave),
	};
	int failed = cmocka_run_group_tests_name("wave", tests, NULL, NULL);
	slv_thread_release();
	glp_free_env();
	return failed;
}
