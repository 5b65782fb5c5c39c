/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Waves: many orders decided together under shared ATP and node capacity; the most
 * units in all, then the least total cost.
 *
 * The fill: a max-flow from (order, line) through (node, SKU) stock and node capacity
 * bounds it (splits relaxed, so it bounds no-split orders too); its minimum cut names the
 * rows that limit it.
 *
 * The bound: a Dantzig–Wolfe master, one column per plan of an order, rows for the
 * shared stock and capacity. With each filled unit earning M (more than a unit's share
 * of any shipment, so filling comes first), for duals λ, μ >= 0 on those rows and σ >= 0
 * on valid cuts,
 *   L = Σ_i min over order i's plans [cost − M·fill + Σ (λ + μ)·x + Σ σ·f(x)]
 *       − Σ λ·atp − Σ μ·cap − Σ σ·rhs,    and   cost >= L + M·F
 * for every plan that fills F units. Each order's minimum is slv_source's priced mode
 * (exact: a dynamic programme for small orders, else the MIP, whose bound stands). The
 * duals come from the master LP by column generation, warm-started and priced on
 * `threads` threads, only orders whose duals moved priced again; at the LP's optimum
 * rank-1 Chvátal–Gomory cuts on single stock rows tighten it. Waves of more than
 * CG_LP_ORDERS orders, whose LP is slow, take subgradient steps from the fill's cut.
 *
 * The plans: sequential exact decisions first; a plan rounded from the master LP (its
 * most whole columns, exact decisions for the rest, a pass re-deciding each order with
 * the others fixed); then a large-neighbourhood search: an order that pays more than it
 * would alone is re-decided together with the orders holding the stock it wanted, by the
 * exact model over them (never worse); then the master over every plan seen as a MIP.
 * Small waves end with the exact whole-wave model, which proves the optimum. Every phase
 * keeps time_limit_ms; the best plan found is returned with its proved gap.
 */
#include <glpk.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wave_internal.h"

double slv__elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Give order i the stock that remains (rem_*) as its own. */
void slv__order_stock(struct wctx *c, int i)
{
	struct slv_wave_order *o = &c->w->orders[i];
	struct slv_candidates *cd = o->cand;
	int K = cd->prob.nitems, G = c->w->nskus;
	for (int pn = 0; pn < cd->prob.nnodes; pn++) {
		int n = cd->node_of[pn];
		for (int k = 0; k < K; k++)
			cd->atp[pn * K + k] = c->rem_atp[(size_t)n * (size_t)G + (size_t)o->sku[k]];
		cd->pnodes[pn].cap = c->rem_cap[n];
	}
}

/* Move order i's plan out of (sign +1) or back into (sign −1) the remaining stock. */
void slv__take(struct wctx *c, int i, const struct slv_result *r, int sign)
{
	struct slv_wave_order *o = &c->w->orders[i];
	const struct slv_candidates *cd = o->cand;
	int K = cd->prob.nitems, G = c->w->nskus;
	if (r->status == SLV_EMPTY)
		return;
	for (int s = 0; s < r->nshipments; s++) {
		int n = cd->node_of[cd->prob.options[r->ship[s].option].node];
		for (int k = 0; k < K; k++)
			c->rem_atp[(size_t)n * (size_t)G + (size_t)o->sku[k]] -=
				sign * r->ship[s].qty[k];
		if (c->rem_cap[n] != FL_UNLIMITED)
			c->rem_cap[n] -= sign * r->ship[s].units;
	}
}

/* Does plan r of order i fit in the remaining stock and capacity? */
bool slv__fits(const struct wctx *c, int i, const struct slv_result *r)
{
	const struct slv_wave_order *o = &c->w->orders[i];
	const struct slv_candidates *cd = o->cand;
	int K = cd->prob.nitems, G = c->w->nskus;
	for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
		int n = cd->node_of[cd->prob.options[r->ship[s].option].node];
		long units = 0; /* this node's units over the plan's shipments */
		for (int t = 0; t < r->nshipments; t++)
			if (cd->node_of[cd->prob.options[r->ship[t].option].node] == n)
				units += r->ship[t].units;
		if (c->rem_cap[n] != FL_UNLIMITED && units > c->rem_cap[n])
			return false;
		for (int k = 0; k < K; k++) {
			long q = 0;
			for (int t = 0; t < r->nshipments; t++)
				if (cd->node_of[cd->prob.options[r->ship[t].option].node] == n)
					q += r->ship[t].qty[k];
			if (q > c->rem_atp[(size_t)n * (size_t)G + (size_t)o->sku[k]])
				return false;
		}
	}
	return true;
}

void slv__reset_stock(struct wctx *c)
{
	size_t N = (size_t)c->w->nnodes, G = (size_t)c->w->nskus;
	memcpy(c->rem_atp, c->w->atp, sizeof(long) * N * G);
	memcpy(c->rem_cap, c->w->cap, sizeof(long) * N);
}

/* The units order i asks for. */
long slv__want_of(const struct slv_wave_order *o)
{
	long want = 0;
	for (int k = 0; k < o->cand->prob.nitems; k++)
		want += o->cand->prob.items[k].qty;
	return want;
}

/* An order that wants every unit or none gets none from a partial plan. */
void slv__whole_or_none(const struct slv_wave_order *o, struct slv_result *r)
{
	if (o->whole && r->status != SLV_EMPTY && r->filled < slv__want_of(o)) {
		double bound = r->bound;
		slv_result_release(r);
		*r = (struct slv_result){.status = SLV_EMPTY, .bound = bound};
	}
}

long slv__fill_of(const struct slv_result *r)
{
	return r->status == SLV_EMPTY ? 0 : r->filled;
}

double slv__cost_of(const struct slv_result *r)
{
	return r->status == SLV_EMPTY ? 0 : r->cost;
}

int slv__result_copy(const struct slv_result *src, int K, struct slv_result *dst)
{
	*dst = *src;
	dst->ship = calloc((size_t)src->nshipments + 1, sizeof(*dst->ship));
	if (!dst->ship)
		return FL_ENOMEM;
	for (int s = 0; s < src->nshipments; s++) {
		dst->ship[s] = src->ship[s];
		dst->ship[s].qty = malloc(sizeof(long) * (size_t)K);
		if (!dst->ship[s].qty) {
			dst->nshipments = s;
			slv_result_release(dst);
			return FL_ENOMEM;
		}
		memcpy(dst->ship[s].qty, src->ship[s].qty, sizeof(long) * (size_t)K);
	}
	return 0;
}

bool slv__same_plan(const struct slv_result *a, const struct slv_result *b, int K)
{
	if (a->nshipments != b->nshipments || slv__fill_of(a) != slv__fill_of(b))
		return false;
	for (int s = 0; s < a->nshipments; s++) {
		if (a->ship[s].option != b->ship[s].option)
			return false;
		for (int k = 0; k < K; k++)
			if (a->ship[s].qty[k] != b->ship[s].qty[k])
				return false;
	}
	return true;
}

/* The pool index of plan r of order i, or -1. */
int slv__pool_find(const struct wctx *c, int i, const struct slv_result *r)
{
	for (int j = 0; j < c->pool[i].n; j++)
		if (slv__same_plan(&c->pool[i].col[j], r, c->w->orders[i].cand->prob.nitems))
			return j;
	return -1;
}

/* Keep plan r of order i for the master: its index, or -1 (a duplicate, empty, no room). */
int slv__pool_add(struct wctx *c, int i, const struct slv_result *r)
{
	struct pool *pl = &c->pool[i];
	int K = c->w->orders[i].cand->prob.nitems;
	if (slv__fill_of(r) == 0 || pl->n == POOL_MAX || slv__pool_find(c, i, r) >= 0)
		return -1;
	if (slv__result_copy(r, K, &pl->col[pl->n]))
		return -1;
	return pl->n++;
}

/* Decide order i against the remaining stock (lexicographic), replacing plans[i]. */
int slv__decide_one(struct wctx *c, int i, struct slv_result *plans, struct fl_err *err)
{
	struct slv_problem *p = &c->w->orders[i].cand->prob;
	struct slv_result r;
	slv__order_stock(c, i);
	p->price = NULL;
	int rc = slv_source(p, &r, err);
	if (rc)
		return rc;
	slv__whole_or_none(&c->w->orders[i], &r);
	slv_result_release(&plans[i]);
	plans[i] = r;
	slv__take(c, i, &plans[i], +1);
	return 0;
}

/* Re-decide every order with the others fixed: never less fill, never more cost. */
int slv__improve(struct wctx *c, struct slv_result *plans, struct fl_err *err)
{
	for (int i = 0; i < c->w->norders; i++) {
		if (slv__elapsed_ms(&c->t0) > c->deadline_ms)
			break;
		struct slv_result old = plans[i];
		slv__take(c, i, &old, -1);
		plans[i] = (struct slv_result){0};
		int rc = slv__decide_one(c, i, plans, err);
		if (rc) {
			plans[i] = old;
			slv__take(c, i, &old, +1);
			return rc;
		}
		if (slv__fill_of(&plans[i]) < slv__fill_of(&old) ||
		    (slv__fill_of(&plans[i]) == slv__fill_of(&old) &&
		     slv__cost_of(&plans[i]) > slv__cost_of(&old) + 1e-9)) {
			slv__take(c, i, &plans[i],
				  -1); /* keep the old one (cannot happen; be safe) */
			slv_result_release(&plans[i]);
			plans[i] = old;
			slv__take(c, i, &old, +1);
		} else {
			slv_result_release(&old);
		}
	}
	return 0;
}

void slv__totals(const struct slv_wave *w, const struct slv_result *plans, long *fill, double *cost)
{
	*fill = 0;
	*cost = 0;
	for (int i = 0; i < w->norders; i++) {
		*fill += slv__fill_of(&plans[i]);
		*cost += slv__cost_of(&plans[i]);
	}
}

/* Keep cand as the best (c->bfill, c->bcost) if it fills more, or as much for less. */
void slv__keep_best(struct wctx *c, struct slv_result *best, struct slv_result *cand)
{
	const struct slv_wave *w = c->w;
	long f;
	double cst;
	slv__totals(w, cand, &f, &cst);
	if (f > c->bfill || (f == c->bfill && cst < c->bcost - 1e-9)) {
		for (int i = 0; i < w->norders; i++) {
			slv_result_release(&best[i]);
			best[i] = cand[i];
			cand[i] = (struct slv_result){0};
		}
		c->bfill = f;
		c->bcost = cst;
	} else {
		for (int i = 0; i < w->norders; i++)
			slv_result_release(&cand[i]);
	}
}

/* The orders one by one as given, each exactly on the stock left: the plan to start from. */
static int sequential(struct wctx *c, struct slv_result *plans, struct fl_err *err)
{
	int rc;
	slv__reset_stock(c);
	for (int i = 0; i < c->w->norders; i++)
		if ((rc = slv__decide_one(c, i, plans, err)))
			return rc;
	for (int i = 0; i < c->w->norders; i++)
		slv__pool_add(c, i, &plans[i]);
	return 0;
}

int slv_wave_solve(struct slv_wave *w, struct slv_wave_result *out, struct fl_err *err)
{
	struct wctx c = {.w = w};
	struct cg g = {.c = &c};
	int N = w->nnodes, G = w->nskus, O = w->norders, rc = 0;
	size_t NG = (size_t)N * (size_t)G;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &c.t0);
	if (O < 1 || O > SLV_WAVE_MAX_ORDERS || N < 1 || G < 1 || w->time_limit_ms < 1)
		return fl_err_set(err, FL_EINVAL, "wave: 1 to %d orders, a time limit",
				  SLV_WAVE_MAX_ORDERS);
	c.deadline_ms = w->time_limit_ms;
	c.rem_atp = malloc(sizeof(long) * NG);
	c.rem_cap = malloc(sizeof(long) * (size_t)N);
	c.pool = calloc((size_t)O, sizeof(*c.pool));
	struct slv_result *plans = calloc((size_t)O, sizeof(*plans));
	struct slv_result *best = calloc((size_t)O, sizeof(*best));
	g.row_ng = calloc(NG, sizeof(int));
	g.row_n = calloc((size_t)N, sizeof(int));
	g.pooled = calloc((size_t)O, sizeof(int));
	g.lam = calloc(NG, sizeof(double));
	g.lam_new = calloc(NG, sizeof(double));
	g.mu = calloc((size_t)N, sizeof(double));
	g.mu_new = calloc((size_t)N, sizeof(double));
	g.pi = calloc((size_t)O, sizeof(double));
	g.v = calloc((size_t)O, sizeof(double));
	g.sub = calloc((size_t)O, sizeof(*g.sub));
	g.list = malloc(sizeof(int) * (size_t)O);
	g.priced = calloc((size_t)O, sizeof(bool));
	g.solo = calloc((size_t)O, sizeof(double));
	g.solo_fill = calloc((size_t)O, sizeof(long));
	g.solo_col = malloc(sizeof(int) * (size_t)O);
	g.cut_of = malloc(sizeof(int) * NG);
	g.glam = malloc(sizeof(double) * NG);
	g.dlam = calloc(NG, sizeof(double));
	g.dmu = calloc((size_t)N, sizeof(double));
	g.cut_ng = malloc(NG);
	g.cut_n = malloc((size_t)N);
	g.gmu = malloc(sizeof(double) * (size_t)N);
	g.threads = w->threads < 1 ? 1 : w->threads > 16 ? 16 : w->threads;
	if (!c.rem_atp || !c.rem_cap || !c.pool || !plans || !best || !g.row_ng || !g.row_n ||
	    !g.pooled || !g.lam || !g.lam_new || !g.mu || !g.mu_new || !g.pi || !g.v || !g.sub ||
	    !g.list || !g.priced || !g.solo || !g.solo_fill || !g.solo_col || !g.cut_of ||
	    !g.glam || !g.gmu || !g.dlam || !g.dmu || !g.cut_ng || !g.cut_n) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto out;
	}
	if ((rc = slv__fill_bound(w, &c.fill_bound, g.cut_ng, g.cut_n))) {
		fl_err_set(err, rc, "wave: out of memory");
		goto out;
	}
	out->fill_bound = c.fill_bound;
	for (int i = 0; i < O; i++)
		g.solo_col[i] = -1;
	for (size_t j = 0; j < NG; j++)
		g.cut_of[j] = -1;

	/* a first plan: the orders one by one as given, each exactly on the stock left */
	c.bfill = -1; /* any plan is better than none */
	if ((rc = sequential(&c, plans, err)))
		goto out;
	slv__keep_best(&c, best, plans);

	/* M: more than a unit's share of any shipment, so that filling comes first */
	double most = 0;
	for (int i = 0; i < O; i++) {
		const struct slv_problem *p = &w->orders[i].cand->prob;
		int pk = p->nnodes * p->nitems;
		g.maxpk = pk > g.maxpk ? pk : g.maxpk;
		for (int o = 0; o < p->noptions; o++) {
			const struct slv_node *nd = &p->nodes[p->options[o].node];
			double unit = 0;
			for (int k = 0; k < p->nitems; k++)
				unit = fmax(unit, p->options[o].per_kg * p->items[k].weight_kg);
			most = fmax(most, p->options[o].base_cost + nd->handling_cost +
						  p->split_penalty + unit + nd->pick_cost);
		}
	}
	g.M = 1 + 5 * most;
	double cg_until = 0.55 * c.deadline_ms, lns_until = 0.9 * c.deadline_ms,
	       mip_until = 0.95 * c.deadline_ms;
	if ((rc = slv__cg_solve(&g, best, plans, cg_until, lns_until, mip_until, err)))
		goto out;
	double lb = g.have_lbm ? g.best_lbm + g.M * (double)c.bfill : -INFINITY;
	out->iterations = g.rounds;

	/* small waves: the exact whole-wave model closes what the bound leaves open */
	bool proved = false;
	struct model_run exact_run = {.plans = best,
				      .proved = &proved,
				      .until_ms = c.deadline_ms,
				      .fill_max = c.bfill == c.fill_bound};
	if (slv__elapsed_ms(&c.t0) < c.deadline_ms &&
	    (c.bcost - (isfinite(lb) ? lb : 0)) > 1e-9 * c.bcost &&
	    (rc = slv__run_model(&c, slv__exact_body, &exact_run, "exact model", err)))
		goto out;
	if (proved)
		lb = c.bcost;
	out->plans = best;
	best = NULL;
	out->filled = c.bfill;
	out->cost = c.bcost;
	/* costs are never negative: 0 bounds every wave */
	out->bound = lb > c.bcost ? c.bcost : (isfinite(lb) && lb > 0 ? lb : 0);
	out->gap = c.bcost > 0 ? fmax(0, (c.bcost - out->bound) / c.bcost) : 0;
	out->status =
		out->filled == out->fill_bound && out->gap <= 1e-9 ? SLV_OPTIMAL : SLV_FEASIBLE;
	/* leave each order's candidates with the stock its final plan was decided against */
	slv__reset_stock(&c);
	for (int i = 0; i < O; i++)
		slv__order_stock(&c, i);
out:
	out->time_ms = slv__elapsed_ms(&c.t0);
	for (int i = 0; plans && i < O; i++)
		slv_result_release(&plans[i]);
	for (int i = 0; g.sub && i < O; i++)
		slv_result_release(&g.sub[i]);
	for (int i = 0; best && i < O; i++)
		slv_result_release(&best[i]);
	for (int i = 0; c.pool && i < O; i++)
		for (int j = 0; j < c.pool[i].n; j++)
			slv_result_release(&c.pool[i].col[j]);
	free(c.pool), free(c.rem_atp), free(c.rem_cap);
	free(plans), free(best);
	free(g.row_ng), free(g.row_n), free(g.pooled), free(g.col_order), free(g.col_plan);
	free(g.ind), free(g.val), free(g.lam), free(g.lam_new), free(g.mu), free(g.mu_new);
	free(g.pi), free(g.v), free(g.sub), free(g.list), free(g.priced);
	free(g.solo), free(g.solo_fill), free(g.solo_col), free(g.cut_of), free(g.cuts);
	free(g.ung), free(g.ua), free(g.glam), free(g.gmu), free(g.dlam), free(g.dmu);
	free(g.cut_ng), free(g.cut_n);
	return rc;
}

void slv_wave_result_release(struct slv_wave_result *r, int norders)
{
	if (!r || !r->plans)
		return;
	for (int i = 0; i < norders; i++)
		slv_result_release(&r->plans[i]);
	free(r->plans);
	r->plans = NULL;
}
