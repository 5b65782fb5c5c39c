/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Column generation: the master LP over the pooled plans, pricing on the pool of
 * workers, duals, subgradient steps, a plan rounded from the LP, and the integer master.
 */
#include <glpk.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

static int cg_entry(struct cg *g, int len, int row, double coef)
{
	for (int e = 2; e <= len; e++)
		if (g->ind[e] == row) {
			g->val[e] += coef;
			return len;
		}
	g->ind[++len] = row;
	g->val[len] = coef;
	return len;
}

/* The master row of stock row ng (or capacity row of node n when ng < 0). */
static int cg_row(struct cg *g, long ng, int n)
{
	const struct slv_wave *w = g->c->w;
	int *slot = ng >= 0 ? &g->row_ng[ng] : &g->row_n[n];
	if (!*slot) {
		*slot = glp_add_rows(g->lp, 1);
		glp_set_row_bnds(g->lp, *slot, GLP_UP, 0,
				 (double)(ng >= 0 ? w->atp[ng] : w->cap[n]));
	}
	return *slot;
}

/*
 * What plan r of order i takes from each stock row: ng[u], a[u] for u < return value
 * (rows merged; room for nshipments × nitems entries).
 */
int slv__plan_usage(const struct slv_wave *w, int i, const struct slv_result *r, long *ng, long *a)
{
	const struct slv_wave_order *o = &w->orders[i];
	const struct slv_problem *p = &o->cand->prob;
	int nu = 0;
	for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
		long n = o->cand->node_of[p->options[r->ship[s].option].node];
		for (int k = 0; k < p->nitems; k++) {
			if (!r->ship[s].qty[k])
				continue;
			long row = n * w->nskus + o->sku[k];
			int u = 0;
			while (u < nu && ng[u] != row)
				u++;
			if (u == nu)
				ng[nu] = row, a[nu++] = 0;
			a[u] += r->ship[s].qty[k];
		}
	}
	return nu;
}

/* Two parallel arrays (elements of asz and bsz bytes) grown to hold `need`; *cap kept. */
static int grow_pair(void **a, size_t asz, void **b, size_t bsz, int need, int *cap)
{
	if (need <= *cap)
		return 0;
	size_t ca = (size_t)*cap, cb = (size_t)*cap;
	int rc;
	if ((rc = fl_grow(a, &ca, (size_t)need, asz, WAVE_NZ_MAX)) ||
	    (rc = fl_grow(b, &cb, (size_t)need, bsz, WAVE_NZ_MAX)))
		return rc;
	*cap = (int)ca;
	return 0;
}

/* Room in the usage scratch for plan r of order i. */
static int usage_reserve(struct cg *g, int i, const struct slv_result *r)
{
	void *a = g->ung, *b = g->ua;
	int rc = grow_pair(&a, sizeof(long), &b, sizeof(long),
			   r->nshipments * g->c->w->orders[i].cand->prob.nitems + 1, &g->ucap);
	g->ung = a, g->ua = b;
	return rc;
}

/*
 * Rank-1 Chvátal–Gomory cuts on a stock row Σ_j a_j z_j <= atp over whole z (m = 1 …
 * atp − 1), f(a) the coefficient of a plan of order i taking a units:
 *  - the row times u just below (m + 1)/atp, rounded down: Σ f(a) z <= m with
 *    f(a) = ceil(a (m + 1) / atp) − 1. For atp = 4, m = 2: an order taking 3 units counts
 *    2, one taking 2 counts 1: two orders of 2 fit, 3 + 2 does not;
 *  - the row times m/atp plus order s's own row (Σ z <= 1) times just below 1: s counts
 *    ceil(a m / atp), every other order floor(a m / atp), and the sum is <= m. For atp = 4,
 *    m = 2: if s takes one unit, no two others slv__take 2 each.
 */
long slv__cut_coef(const struct cut *k, long a, int i)
{
	if (k->special < 0)
		return (a * (k->m + 1) + k->atp - 1) / k->atp - 1;
	return i == k->special ? (a * k->m + k->atp - 1) / k->atp : a * k->m / k->atp;
}

/* Σ σ·f(a) over the cuts on stock row ng, for a units order i takes from it. */
static double cut_cost(const struct cg *g, long ng, long a, int i)
{
	double e = 0;
	for (int ci = g->cut_of[ng]; ci >= 0; ci = g->cuts[ci].next)
		e += g->cuts[ci].sigma_new * (double)slv__cut_coef(&g->cuts[ci], a, i);
	return e;
}

/* Make pool plan j of order i a column of the master. */
static int cg_add_column(struct cg *g, int i, int j)
{
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	const struct slv_wave_order *o = &w->orders[i];
	const struct slv_problem *p = &o->cand->prob;
	const struct slv_result *r = &c->pool[i].col[j];
	if (usage_reserve(g, i, r))
		return FL_ENOMEM;
	int nu = slv__plan_usage(w, i, r, g->ung, g->ua), ncut = 0;
	for (int u = 0; u < nu; u++)
		for (int ci = g->cut_of[g->ung[u]]; ci >= 0; ci = g->cuts[ci].next)
			ncut++;
	void *a = g->ind, *b = g->val, *x = g->col_order, *y = g->col_plan;
	int rc = grow_pair(&a, sizeof(int), &b, sizeof(double),
			   3 + r->nshipments * (p->nitems + 1) + ncut, &g->scratch);
	if (!rc && g->ncols + 2 > g->colcap)
		rc = grow_pair(&x, sizeof(int), &y, sizeof(int), 2 * g->colcap + 1024, &g->colcap);
	g->ind = a, g->val = b, g->col_order = x, g->col_plan = y;
	if (rc)
		return rc;
	int len = 1;
	g->ind[1] = i + 1;
	g->val[1] = 1;
	for (int s = 0; s < r->nshipments; s++) {
		int n = o->cand->node_of[p->options[r->ship[s].option].node];
		for (int k = 0; k < p->nitems; k++)
			if (r->ship[s].qty[k])
				len = cg_entry(g, len, cg_row(g, (long)n * w->nskus + o->sku[k], n),
					       (double)r->ship[s].qty[k]);
		if (w->cap[n] != FL_UNLIMITED)
			len = cg_entry(g, len, cg_row(g, -1, n), (double)r->ship[s].units);
	}
	for (int u = 0; u < nu; u++)
		for (int ci = g->cut_of[g->ung[u]]; ci >= 0; ci = g->cuts[ci].next)
			if (slv__cut_coef(&g->cuts[ci], g->ua[u], i) > 0) {
				g->ind[++len] = g->cuts[ci].row;
				g->val[len] = (double)slv__cut_coef(&g->cuts[ci], g->ua[u], i);
			}
	int col = glp_add_cols(g->lp, 1);
	glp_set_col_bnds(g->lp, col, GLP_LO, 0, 0);
	glp_set_obj_coef(g->lp, col, slv__cost_of(r) - g->M * (double)slv__fill_of(r));
	glp_set_mat_col(g->lp, col, len, g->ind, g->val);
	g->ncols = col;
	g->col_order[col] = i;
	g->col_plan[col] = j;
	return 0;
}

/* Every pool plan not yet a column becomes one. */
static int cg_sync(struct cg *g)
{
	for (int i = 0; i < g->c->w->norders; i++)
		for (; g->pooled[i] < g->c->pool[i].n; g->pooled[i]++)
			if (cg_add_column(g, i, g->pooled[i]))
				return FL_ENOMEM;
	return 0;
}

/* The priced value of plan r of order i at the current duals, less its convexity dual. */
static double cg_reduced(struct cg *g, int i, const struct slv_result *r)
{
	const struct slv_wave *w = g->c->w;
	const struct slv_wave_order *o = &w->orders[i];
	const struct slv_problem *p = &o->cand->prob;
	double d = slv__cost_of(r) - g->M * (double)slv__fill_of(r) - g->pi[i];
	for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
		int n = o->cand->node_of[p->options[r->ship[s].option].node];
		for (int k = 0; k < p->nitems; k++)
			d += g->lam_new[(size_t)n * (size_t)w->nskus + (size_t)o->sku[k]] *
			     (double)r->ship[s].qty[k];
		d += g->mu_new[n] * (double)r->ship[s].units;
	}
	if (usage_reserve(g, i, r))
		return 0; /* out of memory: not taken as a column (the bound stands) */
	int nu = slv__plan_usage(w, i, r, g->ung, g->ua);
	for (int u = 0; u < nu; u++)
		d += cut_cost(g, g->ung[u], g->ua[u], i);
	return d;
}

/* The cuts' cost to the order being priced (slv_problem.extra). */
struct extra_ctx {
	const struct cg *g;
	const struct slv_wave_order *o;
	int i;
};

static double cut_extra(const void *ctx, int node, int item, long a)
{
	const struct extra_ctx *x = ctx;
	long ng = (long)x->o->cand->node_of[node] * x->g->c->w->nskus + x->o->sku[item];
	return cut_cost(x->g, ng, a, x->i);
}

struct pricer {
	struct cg *g;
	atomic_int next, failed, late;
	double deadline_ms;
	pthread_mutex_t lock;
	int rc;
	struct fl_err err;
};

/* Price orders from the list until it is done, time runs out or one fails. */
static void price_run(void *arg, int worker)
{
	(void)worker;
	struct pricer *pr = arg;
	struct cg *g = pr->g;
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	double *price = malloc(sizeof(double) * (size_t)g->maxpk);
	int rc = price ? 0 : FL_ENOMEM;
	struct fl_err e = {0};
	if (!price)
		fl_err_set(&e, FL_ENOMEM, "wave: out of memory");
	for (int j; !rc && (j = atomic_fetch_add(&pr->next, 1)) < g->nlist;) {
		if (atomic_load(&pr->failed))
			break;
		if (slv__elapsed_ms(&c->t0) > pr->deadline_ms) {
			atomic_store(&pr->late, 1);
			break;
		}
		int i = g->list[j];
		struct slv_wave_order *o = &w->orders[i];
		struct slv_problem *p = &o->cand->prob;
		int K = p->nitems;
		slv__order_stock(c, i);
		for (int pn = 0; pn < p->nnodes; pn++) {
			int n = o->cand->node_of[pn];
			for (int k = 0; k < K; k++)
				price[pn * K + k] = g->lam_new[(size_t)n * (size_t)w->nskus +
							       (size_t)o->sku[k]] +
						    g->mu_new[n];
		}
		struct slv_result r;
		struct extra_ctx xc = {g, o, i};
		p->price = price;
		p->fill_reward = g->M;
		p->extra = g->ncuts ? cut_extra : NULL;
		p->extra_ctx = &xc;
		rc = slv_source(p, &r, &e);
		p->price = NULL;
		p->extra = NULL;
		if (!rc) {
			slv__whole_or_none(o, &r); /* its bound stays: a relaxation's */
			slv_result_release(&g->sub[i]);
			g->sub[i] = r;
			g->priced[i] = true;
		}
	}
	if (rc) {
		pthread_mutex_lock(&pr->lock);
		if (!pr->rc)
			pr->rc = rc, pr->err = e;
		pthread_mutex_unlock(&pr->lock);
		atomic_store(&pr->failed, 1);
	}
	free(price);
}

/* Price g->list on g->threads threads; 1 if time ran out first, or a negative error. */
static int cg_price(struct cg *g, double deadline_ms, struct fl_err *err)
{
	struct pricer pr = {.g = g, .deadline_ms = deadline_ms};
	atomic_init(&pr.next, 0);
	atomic_init(&pr.failed, 0);
	atomic_init(&pr.late, 0);
	pthread_mutex_init(&pr.lock, NULL);
	int threads = g->threads < 17 ? g->threads : 17;
	if (threads > g->nlist)
		threads = g->nlist;
	fl_run_workers(threads, price_run, &pr);
	pthread_mutex_destroy(&pr.lock);
	/* slv_source on this thread set GLPK's hook back to none: the master's again */
	glp_error_hook(slv__on_glp_error, g->guard);
	if (pr.rc) {
		if (err)
			*err = pr.err;
		return pr.rc;
	}
	return atomic_load(&pr.late) ? 1 : 0;
}

/* The master's duals as costs: λ, μ >= 0 per row, π <= 0 per order. */
static void cg_duals(struct cg *g)
{
	const struct slv_wave *w = g->c->w;
	size_t NG = (size_t)w->nnodes * (size_t)w->nskus;
	for (size_t j = 0; j < NG; j++)
		g->lam_new[j] = g->row_ng[j] ? fmax(0, -glp_get_row_dual(g->lp, g->row_ng[j])) : 0;
	for (int n = 0; n < w->nnodes; n++)
		g->mu_new[n] = g->row_n[n] ? fmax(0, -glp_get_row_dual(g->lp, g->row_n[n])) : 0;
	for (int i = 0; i < w->norders; i++)
		g->pi[i] = fmin(0, glp_get_row_dual(g->lp, i + 1));
	for (int ci = 0; ci < g->ncuts; ci++)
		g->cuts[ci].sigma_new = fmax(0, -glp_get_row_dual(g->lp, g->cuts[ci].row));
}

/* Did any dual order i is priced by change since the last round? */
static bool cg_changed(const struct cg *g, int i)
{
	const struct slv_wave *w = g->c->w;
	const struct slv_wave_order *o = &w->orders[i];
	const struct slv_problem *p = &o->cand->prob;
	for (int pn = 0; pn < p->nnodes; pn++) {
		int n = o->cand->node_of[pn];
		if (g->mu_new[n] != g->mu[n])
			return true;
		for (int k = 0; k < p->nitems; k++) {
			size_t ng = (size_t)n * (size_t)w->nskus + (size_t)o->sku[k];
			if (g->lam_new[ng] != g->lam[ng])
				return true;
			for (int ci = g->cut_of[ng]; ci >= 0; ci = g->cuts[ci].next)
				if (g->cuts[ci].sigma_new != g->cuts[ci].sigma)
					return true;
		}
	}
	return false;
}

int slv__zorder_cmp(const void *a, const void *b)
{
	const struct zorder *x = a, *y = b;
	return x->z > y->z ? -1 : x->z < y->z ? 1 : x->i - y->i;
}

/*
 * A plan from the master's LP: orders by their largest share of one plan, most whole
 * first; each takes that plan if the stock left still allows it, or is decided exactly
 * against what is left; then one improving pass.
 */
int slv__cg_round(struct cg *g, struct slv_result *plans, struct fl_err *err)
{
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	int O = w->norders, rc = 0;
	struct zorder *zo = malloc(sizeof(*zo) * (size_t)O);
	if (!zo)
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	for (int i = 0; i < O; i++)
		zo[i] = (struct zorder){0, i, 0, false};
	for (int col = 1; col <= g->ncols; col++) {
		double z = glp_get_col_prim(g->lp, col);
		struct zorder *e = &zo[g->col_order[col]];
		if (z > e->z + 1e-9)
			e->z = z, e->col = col;
	}
	qsort(zo, (size_t)O, sizeof(*zo), slv__zorder_cmp);
	slv__reset_stock(c);
	for (int a = 0; a < O && !rc; a++) {
		int i = zo[a].i;
		if (zo[a].col && zo[a].z > 1e-6) {
			const struct slv_wave_order *o = &w->orders[i];
			const struct slv_problem *p = &o->cand->prob;
			const struct slv_result *r = &c->pool[i].col[g->col_plan[zo[a].col]];
			if (slv__fits(c, i, r)) {
				slv__take(c, i, r, +1);
				slv_result_release(&plans[i]);
				if (slv__result_copy(r, p->nitems, &plans[i])) {
					plans[i] = (struct slv_result){.status = SLV_EMPTY};
					slv__take(c, i, r, -1);
					rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
				}
				continue;
			}
		}
		slv_result_release(&plans[i]);
		plans[i] = (struct slv_result){.status = SLV_EMPTY};
		rc = slv__decide_one(c, i, plans, err);
	}
	free(zo);
	if (!rc)
		rc = slv__improve(c, plans, err);
	for (int i = 0; !rc && i < O; i++)
		slv__pool_add(c, i, &plans[i]);
	return rc;
}

/* Duals to start subgradient steps from: a unit of a row in the fill's minimum cut is
 * worth a filled unit (M), every other row nothing. */
static void from_fill_cut(struct cg *g)
{
	const struct slv_wave *w = g->c->w;
	for (size_t j = 0; j < (size_t)w->nnodes * (size_t)w->nskus; j++)
		g->lam_new[j] = g->cut_ng[j] ? g->M : 0;
	for (int n = 0; n < w->nnodes; n++)
		g->mu_new[n] = g->cut_n[n] ? g->M : 0;
}

/*
 * One subgradient step on the stock and capacity duals (waves whose LP is too slow): g =
 * what the last priced plans slv__take − what there is; Polyak's step towards the best plan's
 * value. Returns 1 when there is nowhere to go.
 */
int slv__subgradient_step(struct cg *g, double theta, double lbm)
{
	const struct slv_wave *w = g->c->w;
	size_t NG = (size_t)w->nnodes * (size_t)w->nskus;
	memset(g->glam, 0, sizeof(double) * NG);
	memset(g->gmu, 0, sizeof(double) * (size_t)w->nnodes);
	for (int i = 0; i < w->norders; i++) {
		const struct slv_wave_order *o = &w->orders[i];
		const struct slv_problem *p = &o->cand->prob;
		const struct slv_result *r = &g->sub[i];
		for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
			int n = o->cand->node_of[p->options[r->ship[s].option].node];
			for (int k = 0; k < p->nitems; k++)
				g->glam[(size_t)n * (size_t)w->nskus + (size_t)o->sku[k]] +=
					(double)r->ship[s].qty[k];
			g->gmu[n] += (double)r->ship[s].units;
		}
	}
	/* deflected: half the last direction added, against zigzags */
	double norm = 0;
	for (size_t j = 0; j < NG; j++) {
		g->glam[j] += -(double)w->atp[j] + 0.5 * g->dlam[j];
		if (g->lam_new[j] <= 0 && g->glam[j] < 0)
			g->glam[j] = 0;
		norm += g->glam[j] * g->glam[j];
		g->dlam[j] = g->glam[j];
	}
	for (int n = 0; n < w->nnodes; n++) {
		g->gmu[n] = w->cap[n] == FL_UNLIMITED
				    ? 0
				    : g->gmu[n] - (double)w->cap[n] + 0.5 * g->dmu[n];
		if (g->mu_new[n] <= 0 && g->gmu[n] < 0)
			g->gmu[n] = 0;
		norm += g->gmu[n] * g->gmu[n];
		g->dmu[n] = g->gmu[n];
	}
	double target = g->c->bcost - g->M * (double)g->c->bfill; /* the best plan's value */
	if (norm == 0 || !(target > lbm))
		return 1;
	double step = theta * (target - lbm) / norm;
	for (size_t j = 0; j < NG; j++)
		g->lam_new[j] = fmax(0, g->lam_new[j] + step * g->glam[j]);
	for (int n = 0; n < w->nnodes; n++)
		g->mu_new[n] = fmax(0, g->mu_new[n] + step * g->gmu[n]);
	return 0;
}

/*
 * Column generation: each round prices every order whose duals moved (the others'
 * priced minimum is unchanged), adds the plans that price out and re-solves the master
 * LP from its last basis. A complete round gives the Lagrangian bound
 *   Σ_i v_i − Σ λ·atp − Σ μ·cap  ≤  min Σ (cost − M · fill) over every wave plan,
 * v_i being order i's least priced value over all its plans (slv_source's bound; the
 * empty plan is one), valid for any λ, μ >= 0. Stops when no plan prices out (the LP is
 * then the bound), the bound meets the incumbent, or at until_ms.
 */
static int cg_body(struct cg *g, struct slv_result *best, struct slv_result *plans, double until_ms,
		   struct fl_err *err)
{
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	int O = w->norders, N = w->nnodes, rc;
	size_t NG = (size_t)N * (size_t)w->nskus;
	glp_smcp sm;
	glp_init_smcp(&sm);
	sm.msg_lev = GLP_MSG_OFF;
	int cut_rounds = 0, stall = 0;
	bool sg = false; /* subgradient steps instead of the LP (too slow for this wave) */
	double theta = 1, sg_best = -INFINITY;
	for (bool first = true;; first = false) {
		g->nlist = 0;
		for (int i = 0; i < O; i++)
			if (first || cg_changed(g, i))
				g->list[g->nlist++] = i;
		for (int j = 0; j < g->nlist; j++)
			g->priced[g->list[j]] = false;
		slv__reset_stock(c);
		if ((rc = cg_price(g, until_ms, err)) < 0)
			return rc;
		bool complete = rc == 0;
		int added = 0;
		for (int j = 0; j < g->nlist; j++) {
			int i = g->list[j];
			if (!g->priced[i])
				continue;
			g->v[i] = fmin(0, g->sub[i].bound);
			if (first) {
				g->solo[i] = slv__cost_of(&g->sub[i]);
				g->solo_fill[i] = slv__fill_of(&g->sub[i]);
				slv__pool_add(c, i, &g->sub[i]);
				g->solo_col[i] = slv__pool_find(c, i, &g->sub[i]);
				added++;
				continue;
			}
			if (g->sub[i].status != SLV_EMPTY &&
			    (sg || cg_reduced(g, i, &g->sub[i]) < -1e-7 * (1 + fabs(g->pi[i]))))
				added += slv__pool_add(c, i, &g->sub[i]) >= 0;
		}
		if (!complete)
			break; /* the orders not priced would leave the bound stale */
		double lbm = 0;
		for (int i = 0; i < O; i++)
			lbm += g->v[i];
		for (size_t j = 0; j < NG; j++)
			lbm -= g->lam_new[j] * (double)w->atp[j];
		for (int n = 0; n < N; n++)
			if (w->cap[n] != FL_UNLIMITED)
				lbm -= g->mu_new[n] * (double)w->cap[n];
		for (int ci = 0; ci < g->ncuts; ci++) {
			lbm -= g->cuts[ci].sigma_new * g->cuts[ci].m;
			g->cuts[ci].sigma = g->cuts[ci].sigma_new;
		}
		if (first || lbm > g->best_lbm)
			g->best_lbm = lbm;
		g->have_lbm = true;
		memcpy(g->lam, g->lam_new, sizeof(double) * NG);
		memcpy(g->mu, g->mu_new, sizeof(double) * (size_t)N);
		g->rounds++;
		if (g->best_lbm + g->M * (double)c->bfill >= c->bcost - 1e-9 * c->bcost)
			break;
		if (first && O > CG_LP_ORDERS) { /* no LP: subgradient steps from the fill's cut */
			sg = true;
			from_fill_cut(g);
			continue;
		}
		if (sg) {
			if (!isfinite(sg_best) || lbm > sg_best + 1e-9 * fabs(sg_best))
				sg_best = lbm, stall = 0;
			else if (++stall >= 2)
				theta /= 2, stall = 0;
			if (theta < 1e-4 || slv__subgradient_step(g, theta, lbm))
				break;
			continue;
		}
		if (!first && added == 0) { /* the LP is optimal: a plan from it, then cut it */
			if (cut_rounds == 0) {
				if ((rc = slv__cg_round(g, plans, err)))
					return rc;
				glp_error_hook(slv__on_glp_error,
					       g->guard); /* slv_source reset it */
				slv__keep_best(c, best, plans);
			}
			int nc = cut_rounds++ < CUT_ROUNDS ? slv__cg_separate(g) : 0;
			if (nc < 0)
				return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
			if (nc == 0)
				break;
			sm.meth = GLP_DUALP; /* the cut rows leave the basis primal infeasible */
		}
		if (cg_sync(g))
			return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		if (first) /* start from the best plan: its columns basic, their orders' rows tight */
			for (int col = 1; col <= g->ncols; col++) {
				int i = g->col_order[col];
				if (g->col_plan[col] == slv__pool_find(c, i, &best[i])) {
					glp_set_col_stat(g->lp, col, GLP_BS);
					glp_set_row_stat(g->lp, i + 1, GLP_NU);
				}
			}
		double left = until_ms - slv__elapsed_ms(&c->t0);
		if (left < 1)
			break;
		sm.tm_lim = (int)left;
		double t_lp = slv__elapsed_ms(&c->t0);
		int src = glp_simplex(g->lp, &sm);
		sm.meth = GLP_PRIMAL;
		if (src || glp_get_status(g->lp) != GLP_OPT)
			break;
		g->have_lp = true;
		cg_duals(g);
		/* an LP that takes much of the time left: move the duals by subgradient steps */
		sg = slv__elapsed_ms(&c->t0) - t_lp > 0.3 * (until_ms - slv__elapsed_ms(&c->t0));
		if (sg)
			from_fill_cut(g);
	}
	return 0;
}

/* The LP relaxation, then branch and bound, within left ms: an integer solution? */
static bool mip_within(glp_prob *lp, glp_smcp *sm, glp_iocp *io, double left)
{
	sm->tm_lim = io->tm_lim = (int)left;
	if (left < 1 || glp_simplex(lp, sm) || glp_get_status(lp) != GLP_OPT)
		return false;
	glp_intopt(lp, io);
	return glp_mip_status(lp) == GLP_OPT || glp_mip_status(lp) == GLP_FEAS;
}

/*
 * The integer master: the master's columns made binary, a fill row added; the most fill
 * (only when the best plan may not fill the most), then the least cost at that fill,
 * from the best plan as incumbent. Replaces best[] when it finds better.
 */
static int cg_mip(struct cg *g, struct slv_result *best, double until_ms, struct fl_err *err)
{
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	int O = w->norders, rc = 0;
	for (int i = 0; i < O; i++) /* the incumbent's plans must be columns */
		slv__pool_add(c, i, &best[i]);
	if (cg_sync(g))
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	int ncols = g->ncols;
	double *x = calloc((size_t)ncols + 2, sizeof(double));
	double *fillc = calloc((size_t)ncols + 2, sizeof(double));
	int *ind = calloc((size_t)ncols + 2, sizeof(int));
	struct slv_result *chosen = calloc((size_t)O, sizeof(*chosen));
	if (!x || !fillc || !ind || !chosen) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto out;
	}
	for (int col = 1; col <= ncols; col++) {
		int i = g->col_order[col];
		const struct slv_result *r = &c->pool[i].col[g->col_plan[col]];
		ind[col] = col;
		fillc[col] = (double)slv__fill_of(r);
		glp_set_col_kind(g->lp, col, GLP_BV);
		glp_set_obj_coef(g->lp, col, fillc[col]);
		if (slv__same_plan(r, &best[i], w->orders[i].cand->prob.nitems))
			x[col] = 1;
	}
	int fill_row = glp_add_rows(g->lp, 1);
	glp_set_mat_row(g->lp, fill_row, ncols, ind, fillc);
	glp_smcp sm;
	glp_iocp io;
	struct master_cb cb = {x};
	slv__quiet_params(&sm, &io, &cb);
	double fbest = (double)c->bfill;
	if (c->bfill < c->fill_bound) { /* phase 1: the most fill */
		glp_set_row_bnds(g->lp, fill_row, GLP_FR, 0, 0);
		glp_set_obj_dir(g->lp, GLP_MAX);
		if (!mip_within(g->lp, &sm, &io, until_ms - slv__elapsed_ms(&c->t0)))
			goto out;
		if (round(glp_mip_obj_val(g->lp)) > fbest) {
			fbest = round(glp_mip_obj_val(g->lp));
			for (int col = 1; col <= ncols; col++)
				x[col] = round(glp_mip_col_val(g->lp, col));
		}
	}
	/* phase 2: the least cost at that fill */
	glp_set_row_bnds(g->lp, fill_row, GLP_LO, fbest, 0);
	glp_set_obj_dir(g->lp, GLP_MIN);
	for (int col = 1; col <= ncols; col++)
		glp_set_obj_coef(g->lp, col,
				 slv__cost_of(&c->pool[g->col_order[col]].col[g->col_plan[col]]));
	if (!mip_within(g->lp, &sm, &io, until_ms - slv__elapsed_ms(&c->t0)))
		goto out;
	if (fbest == (double)c->bfill && glp_mip_obj_val(g->lp) >= c->bcost - 1e-9 * c->bcost)
		goto out;
	for (int col = 1; col <= ncols; col++)
		x[col] = glp_mip_col_val(g->lp, col);
	for (int col = 1; col <= ncols; col++) {
		int i = g->col_order[col];
		if (x[col] > 0.5 && !chosen[i].ship &&
		    slv__result_copy(&c->pool[i].col[g->col_plan[col]],
				     w->orders[i].cand->prob.nitems, &chosen[i])) {
			rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
			goto out;
		}
	}
	for (int i = 0; i < O; i++)
		if (!chosen[i].ship)
			chosen[i].status = SLV_EMPTY;
	slv__keep_best(c, best, chosen);
out:
	for (int i = 0; chosen && i < O; i++)
		slv_result_release(&chosen[i]);
	free(x), free(fillc), free(ind), free(chosen);
	return rc;
}

/* Column generation, a plan rounded from its LP, then the integer master, under GLPK's
 * error hook (a GLPK fault becomes FL_ESOLVER). */
int slv__cg_solve(struct cg *g, struct slv_result *best, struct slv_result *plans, double cg_until,
		  double lns_until, double mip_until, struct fl_err *err)
{
	struct guard gd;
	volatile int rc = 0;
	g->guard = &gd;
	glp_term_out(GLP_OFF);
	glp_error_hook(slv__on_glp_error, &gd);
	if (setjmp(gd.jb)) {
		glp_free_env(); /* frees the master too */
		g->lp = NULL;
		rc = fl_err_set(err, FL_ESOLVER, "wave: GLPK failed in the master");
	} else {
		g->lp = glp_create_prob();
		glp_add_rows(g->lp, g->c->w->norders);
		for (int i = 1; i <= g->c->w->norders; i++)
			glp_set_row_bnds(g->lp, i, GLP_UP, 0, 1);
		rc = cg_body(g, best, plans, cg_until, err);
		if (!rc && g->have_lp && slv__elapsed_ms(&g->c->t0) < mip_until) {
			rc = slv__cg_round(g, plans, err);
			glp_error_hook(slv__on_glp_error, &gd); /* slv_source set it back to none */
			if (!rc)
				slv__keep_best(g->c, best, plans);
		}
		if (!rc && slv__elapsed_ms(&g->c->t0) < lns_until)
			rc = slv__lns(g, best, lns_until, err);
		glp_error_hook(slv__on_glp_error, &gd);
		if (!rc && slv__elapsed_ms(&g->c->t0) < mip_until)
			rc = cg_mip(g, best, mip_until, err);
		if (rc == FL_ESOLVER)
			g->lp = NULL; /* a GLPK fault in slv_source freed this thread's problems */
	}
	glp_error_hook(NULL, NULL);
	if (g->lp)
		glp_delete_prob(g->lp);
	g->lp = NULL;
	g->guard = NULL; /* gd is this frame's */
	return rc;
}
