/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Waves: many orders decided together under shared ATP and node capacity.
 *
 * Bounds. The fill: a max-flow from (order, line) through (node, SKU) stock and node
 * capacity (splits relaxed, so it bounds no-split orders too). The cost: for prices
 * λ ≥ 0 on stock rows, μ ≥ 0 on capacity rows and ν ≥ 0 on the fill row Σ fill ≥ F,
 *   L = Σ_i min_plan_i [cost_i − penalties + Σ (λ + μ) x_i − ν fill_i]
 *       − Σ λ·atp − Σ μ·cap + ν F  ≤  the least cost of any plan filling ≥ F,
 * each order's minimum taken over its own plans (its own rules, the full stock) by
 * slv_source in priced mode, whose bound is exact or its LP's. Subgradient steps move
 * the prices; the best L is the proved bound.
 * Plans. Sequential exact decisions in a few orders (as given, scarcest first, and
 * repairs of the priced plans), each followed by a pass that re-decides every order
 * with the others fixed (never worse). The best plan (most fill, then least cost) wins.
 */
#include <glpk.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "solver.h"

#define POOL_MAX 64	 /* plans kept per order for the master */
#define EXACT_COLS 20000 /* the whole-wave model is tried up to this many columns */

struct pool {
	struct slv_result col[POOL_MAX];
	int n;
};

struct wctx {
	struct slv_wave *w;
	struct pool *pool; /* per order */
	long *rem_atp;	   /* nnodes × nskus */
	long *rem_cap;	   /* nnodes, FL_UNLIMITED kept */
	struct timespec t0;
	double deadline_ms;
};

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Give order i the stock that remains (rem_*) as its own. */
static void order_stock(struct wctx *c, int i)
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
static void take(struct wctx *c, int i, const struct slv_result *r, int sign)
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

static void reset_stock(struct wctx *c)
{
	size_t N = (size_t)c->w->nnodes, G = (size_t)c->w->nskus;
	memcpy(c->rem_atp, c->w->atp, sizeof(long) * N * G);
	memcpy(c->rem_cap, c->w->cap, sizeof(long) * N);
}

static long fill_of(const struct slv_result *r)
{
	return r->status == SLV_EMPTY ? 0 : r->filled;
}

static double cost_of(const struct slv_result *r)
{
	return r->status == SLV_EMPTY ? 0 : r->cost;
}

static int result_copy(const struct slv_result *src, int K, struct slv_result *dst)
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

static bool same_plan(const struct slv_result *a, const struct slv_result *b, int K)
{
	if (a->nshipments != b->nshipments || fill_of(a) != fill_of(b))
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

/* Keep plan r of order i as a column for the master (duplicates and overflow dropped). */
static void pool_add(struct wctx *c, int i, const struct slv_result *r)
{
	struct pool *pl = &c->pool[i];
	int K = c->w->orders[i].cand->prob.nitems;
	if (fill_of(r) == 0 || pl->n == POOL_MAX)
		return;
	for (int j = 0; j < pl->n; j++)
		if (same_plan(&pl->col[j], r, K))
			return;
	if (!result_copy(r, K, &pl->col[pl->n]))
		pl->n++;
}

/* Decide order i against the remaining stock (lexicographic), replacing plans[i]. */
static int decide_one(struct wctx *c, int i, struct slv_result *plans, struct fl_err *err)
{
	struct slv_problem *p = &c->w->orders[i].cand->prob;
	struct slv_result r;
	order_stock(c, i);
	p->price = NULL;
	int rc = slv_source(p, &r, err);
	if (rc)
		return rc;
	slv_result_release(&plans[i]);
	plans[i] = r;
	take(c, i, &plans[i], +1);
	return 0;
}

/* Re-decide every order with the others fixed: never less fill, never more cost. */
static int improve(struct wctx *c, struct slv_result *plans, struct fl_err *err)
{
	for (int i = 0; i < c->w->norders; i++) {
		if (elapsed_ms(&c->t0) > c->deadline_ms)
			break;
		struct slv_result old = plans[i];
		take(c, i, &old, -1);
		plans[i] = (struct slv_result){0};
		int rc = decide_one(c, i, plans, err);
		if (rc) {
			plans[i] = old;
			take(c, i, &old, +1);
			return rc;
		}
		if (fill_of(&plans[i]) < fill_of(&old) ||
		    (fill_of(&plans[i]) == fill_of(&old) &&
		     cost_of(&plans[i]) > cost_of(&old) + 1e-9)) {
			take(c, i, &plans[i], -1); /* keep the old one (cannot happen; be safe) */
			slv_result_release(&plans[i]);
			plans[i] = old;
			take(c, i, &old, +1);
		} else {
			slv_result_release(&old);
		}
	}
	return 0;
}

static void totals(const struct slv_wave *w, const struct slv_result *plans, long *fill,
		   double *cost)
{
	*fill = 0;
	*cost = 0;
	for (int i = 0; i < w->norders; i++) {
		*fill += fill_of(&plans[i]);
		*cost += cost_of(&plans[i]);
	}
}

/* Keep cand as the best if it fills more, or as much for less. */
static void keep_best(const struct slv_wave *w, struct slv_result *best, bool *have,
		      struct slv_result *cand, long *bfill, double *bcost)
{
	long f;
	double cst;
	totals(w, cand, &f, &cst);
	if (!*have || f > *bfill || (f == *bfill && cst < *bcost - 1e-9)) {
		for (int i = 0; i < w->norders; i++) {
			slv_result_release(&best[i]);
			best[i] = cand[i];
			cand[i] = (struct slv_result){0};
		}
		*have = true;
		*bfill = f;
		*bcost = cst;
	} else {
		for (int i = 0; i < w->norders; i++)
			slv_result_release(&cand[i]);
	}
}

/* Sequential decisions in `perm` order, then one improving pass. */
static int sequential(struct wctx *c, const int *perm, struct slv_result *plans, struct fl_err *err)
{
	int rc;
	reset_stock(c);
	for (int j = 0; j < c->w->norders; j++)
		if ((rc = decide_one(c, perm[j], plans, err)))
			return rc;
	if ((rc = improve(c, plans, err)))
		return rc;
	for (int i = 0; i < c->w->norders; i++)
		pool_add(c, i, &plans[i]);
	return 0;
}

struct guard {
	jmp_buf jb;
};

static void on_glp_error(void *info)
{
	longjmp(((struct guard *)info)->jb, 1);
}

struct master_cb {
	double *x; /* the incumbent, by column (1-based) */
};

static void master_tree(glp_tree *tree, void *info)
{
	struct master_cb *m = info;
	if (glp_ios_reason(tree) == GLP_IHEUR && glp_ios_curr_node(tree) == 1 && m->x)
		glp_ios_heur_sol(tree, m->x);
}

/* Silent simplex and branch-and-cut settings, the incumbent handed over at the root. */
static void quiet_params(glp_smcp *sm, glp_iocp *io, struct master_cb *cb)
{
	glp_init_smcp(sm);
	sm->msg_lev = GLP_MSG_OFF;
	glp_init_iocp(io);
	io->msg_lev = GLP_MSG_OFF;
	io->cb_func = master_tree;
	io->cb_info = cb;
}

/* The master's buffers: owned by master(), so a GLPK fault (longjmp) frees them too. */
struct mbuf {
	int *first, *row_ng, *row_n, *ind, *ia, *ja;
	double *val, *x, *ar;
	size_t nz, capz;
	glp_prob *lp;
};

static int mbuf_alloc(struct mbuf *m, int orders, int node_skus, int nodes, int ncols)
{
	m->first = calloc((size_t)orders + 1, sizeof(int));
	m->row_ng = calloc((size_t)node_skus + 1, sizeof(int));
	m->row_n = calloc((size_t)nodes + 1, sizeof(int));
	m->ind = malloc(sizeof(int) * (size_t)(ncols + 2));
	m->val = malloc(sizeof(double) * (size_t)(ncols + 2));
	m->x = calloc((size_t)ncols + 2, sizeof(double));
	m->capz = 1024;
	m->ia = malloc(sizeof(int) * m->capz);
	m->ja = malloc(sizeof(int) * m->capz);
	m->ar = malloc(sizeof(double) * m->capz);
	return m->first && m->row_ng && m->row_n && m->ind && m->val && m->x && m->ia && m->ja &&
			       m->ar
		       ? 0
		       : FL_ENOMEM;
}

static void mbuf_release(struct mbuf *m)
{
	if (m->lp)
		glp_delete_prob(m->lp);
	free(m->first), free(m->row_ng), free(m->row_n), free(m->ind), free(m->ia), free(m->ja);
	free(m->val), free(m->x), free(m->ar);
}

static int nz_add(struct mbuf *m, int r, int col, double v)
{
	if (m->nz + 2 >= m->capz) {
		size_t ncap = m->capz * 2;
		int *ni = realloc(m->ia, sizeof(int) * ncap);
		if (ni)
			m->ia = ni;
		int *nj = realloc(m->ja, sizeof(int) * ncap);
		if (nj)
			m->ja = nj;
		double *na = realloc(m->ar, sizeof(double) * ncap);
		if (na)
			m->ar = na;
		if (!ni || !nj || !na)
			return FL_ENOMEM;
		m->capz = ncap;
	}
	m->nz++;
	m->ia[m->nz] = r, m->ja[m->nz] = col, m->ar[m->nz] = v;
	return 0;
}

/* What a whole-wave model reads and improves: the plan and its fill and cost. */
struct model_run {
	struct slv_result *plans;
	long *bfill;
	double *bcost;
	bool *proved; /* exact model only */
};

typedef int model_body_fn(struct wctx *c, struct mbuf *m, struct model_run *run,
			  struct fl_err *err);

/*
 * The master: one column per pooled plan, at most one plan per order, shared stock and
 * capacity rows; the most fill, then the least cost at that fill. The current best plan
 * (each of its orders' plans is pooled) is the incumbent. Writes the chosen plans into
 * plans[] when they beat the best.
 */
static int master_body(struct wctx *c, struct mbuf *m, struct model_run *run, struct fl_err *err)
{
	struct slv_result *plans = run->plans;
	long bfill = *run->bfill;
	double bcost = *run->bcost;
	struct slv_wave *w = c->w;
	int G = w->nskus, O = w->norders, ncols = 0;
	for (int i = 0; i < O; i++)
		ncols += c->pool[i].n;
	if (mbuf_alloc(m, O, w->nnodes * G, w->nnodes, ncols))
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	glp_prob *lp = m->lp = glp_create_prob();
	if (ncols == 0)
		return 0;
	glp_add_cols(lp, ncols);
	for (int i = 0, col = 1; i < O; i++) {
		int K = w->orders[i].cand->prob.nitems;
		m->first[i] = col;
		for (int j = 0; j < c->pool[i].n; j++, col++) {
			glp_set_col_kind(lp, col, GLP_BV);
			if (same_plan(&c->pool[i].col[j], &plans[i], K))
				m->x[col] = 1; /* the incumbent */
		}
	}
	for (int i = 0; i < O; i++) { /* one plan per order */
		int r = glp_add_rows(lp, 1);
		glp_set_row_bnds(lp, r, GLP_UP, 0, 1);
		for (int j = 0; j < c->pool[i].n; j++)
			if (nz_add(m, r, m->first[i] + j, 1.0))
				return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	}
	for (int i = 0; i < O; i++) { /* stock per (node, SKU) and capacity per node */
		const struct slv_wave_order *o = &w->orders[i];
		const struct slv_problem *p = &o->cand->prob;
		for (int j = 0; j < c->pool[i].n; j++) {
			const struct slv_result *pr = &c->pool[i].col[j];
			for (int s = 0; s < pr->nshipments; s++) {
				int n = o->cand->node_of[p->options[pr->ship[s].option].node];
				for (int k = 0; k < p->nitems; k++) {
					int ng = n * G + o->sku[k];
					if (!pr->ship[s].qty[k])
						continue;
					if (!m->row_ng[ng]) {
						m->row_ng[ng] = glp_add_rows(lp, 1);
						glp_set_row_bnds(lp, m->row_ng[ng], GLP_UP, 0,
								 (double)w->atp[ng]);
					}
					if (nz_add(m, m->row_ng[ng], m->first[i] + j,
						   (double)pr->ship[s].qty[k]))
						return fl_err_set(err, FL_ENOMEM,
								  "wave: out of memory");
				}
				if (w->cap[n] == FL_UNLIMITED)
					continue;
				if (!m->row_n[n]) {
					m->row_n[n] = glp_add_rows(lp, 1);
					glp_set_row_bnds(lp, m->row_n[n], GLP_UP, 0,
							 (double)w->cap[n]);
				}
				if (nz_add(m, m->row_n[n], m->first[i] + j,
					   (double)pr->ship[s].units))
					return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
			}
		}
	}
	/* entries repeat where a plan ships one SKU twice from a node: merge them */
	size_t out_nz = 0;
	for (size_t a = 1; a <= m->nz; a++) {
		size_t b = 1;
		for (; b <= out_nz; b++)
			if (m->ia[b] == m->ia[a] && m->ja[b] == m->ja[a])
				break;
		if (b <= out_nz && out_nz) {
			m->ar[b] += m->ar[a];
		} else {
			out_nz++;
			m->ia[out_nz] = m->ia[a], m->ja[out_nz] = m->ja[a],
			m->ar[out_nz] = m->ar[a];
		}
	}
	glp_load_matrix(lp, (int)out_nz, m->ia, m->ja, m->ar);
	int fill_row = glp_add_rows(lp, 1), len = 0;
	for (int i = 0; i < O; i++)
		for (int j = 0; j < c->pool[i].n; j++) {
			m->ind[++len] = m->first[i] + j;
			m->val[len] = (double)fill_of(&c->pool[i].col[j]);
		}
	glp_set_row_bnds(lp, fill_row, GLP_FR, 0, 0);
	glp_set_mat_row(lp, fill_row, len, m->ind, m->val);

	glp_smcp sm;
	glp_iocp io;
	struct master_cb cb = {m->x};
	quiet_params(&sm, &io, &cb);
	/* phase 1: the most fill */
	double left = c->deadline_ms - elapsed_ms(&c->t0);
	glp_set_obj_dir(lp, GLP_MAX);
	for (int j = 1; j <= len; j++)
		glp_set_obj_coef(lp, m->ind[j], m->val[j]);
	sm.tm_lim = io.tm_lim = (int)left;
	if (left < 1 || glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT)
		return 0;
	glp_intopt(lp, &io);
	if (glp_mip_status(lp) != GLP_OPT && glp_mip_status(lp) != GLP_FEAS)
		return 0;
	double fbest = round(glp_mip_obj_val(lp));
	if (fbest < (double)bfill)
		return 0;
	if (fbest > (double)bfill) /* a fuller plan is phase 2's incumbent */
		for (int j = 1; j <= ncols; j++)
			m->x[j] = round(glp_mip_col_val(lp, j));
	/* phase 2: the least cost at that fill */
	glp_set_row_bnds(lp, fill_row, GLP_LO, fbest, 0);
	glp_set_obj_dir(lp, GLP_MIN);
	for (int i = 0; i < O; i++)
		for (int j = 0; j < c->pool[i].n; j++)
			glp_set_obj_coef(lp, m->first[i] + j, cost_of(&c->pool[i].col[j]));
	left = c->deadline_ms - elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	if (left < 1 || glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT)
		return 0;
	glp_intopt(lp, &io);
	if (glp_mip_status(lp) != GLP_OPT && glp_mip_status(lp) != GLP_FEAS)
		return 0;
	if (fbest == (double)bfill && glp_mip_obj_val(lp) >= bcost - 1e-9)
		return 0;
	for (int i = 0; i < O; i++) {
		int K = w->orders[i].cand->prob.nitems;
		struct slv_result chosen = {.status = SLV_EMPTY};
		for (int j = 0; j < c->pool[i].n; j++)
			if (glp_mip_col_val(lp, m->first[i] + j) > 0.5 &&
			    result_copy(&c->pool[i].col[j], K, &chosen))
				return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		slv_result_release(&plans[i]);
		plans[i] = chosen;
	}
	return 0;
}

/*
 * The whole wave as one exact model (small waves): per order the disaggregated sourcing
 * model over its candidates, the stock and capacity rows shared; the most fill, then the
 * least cost. Started from the best plan. On a proved optimum the plan and bound are
 * exact (*proved set); on a time-out the better plan, if any, is kept.
 */
static int exact_body(struct wctx *c, struct mbuf *m, struct model_run *run, struct fl_err *err)
{
	struct slv_result *plans = run->plans;
	long *bfill = run->bfill;
	double *bcost = run->bcost;
	bool *proved = run->proved;
	struct slv_wave *w = c->w;
	int G = w->nskus, O = w->norders, ncols = 0;
	for (int i = 0; i < O; i++) {
		const struct slv_problem *p = &w->orders[i].cand->prob;
		ncols += 1 + p->noptions * (1 + p->nitems);
	}
	if (ncols > EXACT_COLS)
		return 0;
	/* first[i]: z_i; then per option: y, then x per item (0 when not eligible) */
	if (mbuf_alloc(m, O, w->nnodes * G, w->nnodes, ncols))
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	glp_prob *lp = m->lp = glp_create_prob();
	glp_add_cols(lp, ncols);
	int fill_row = glp_add_rows(lp, 1);
	int col = 1;
	for (int i = 0; i < O; i++) {
		const struct slv_wave_order *o = &w->orders[i];
		const struct slv_problem *p = &o->cand->prob;
		int K = p->nitems, zc = col++, r;
		m->first[i] = zc;
		glp_set_col_kind(lp, zc, GLP_BV);
		glp_set_obj_coef(lp, zc, -p->split_penalty);
		int *line_row = calloc((size_t)K, sizeof(int));
		if (!line_row)
			return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		for (int k = 0; k < K; k++) {
			line_row[k] = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, line_row[k], GLP_UP, 0, (double)p->items[k].qty);
		}
		int ysum = glp_add_rows(lp, 1); /* z_i <= Σ y: the penalty's "any shipment" */
		glp_set_row_bnds(lp, ysum, GLP_LO, 0, 0);
		int one = 0; /* without splits, Σ y <= 1 */
		if (!p->allow_split) {
			one = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, one, GLP_UP, 0, 1);
		}
		if (nz_add(m, ysum, zc, -1.0))
			goto nomem;
		for (int op = 0; op < p->noptions; op++) {
			const struct slv_option *opt = &p->options[op];
			const struct slv_node *nd = &p->nodes[opt->node];
			int n = o->cand->node_of[opt->node], yc = col++;
			glp_set_col_kind(lp, yc, GLP_BV);
			glp_set_obj_coef(lp, yc,
					 opt->base_cost + nd->handling_cost + p->split_penalty);
			if (nz_add(m, ysum, yc, 1.0) || (one && nz_add(m, one, yc, 1.0)))
				goto nomem;
			for (int k = 0; k < K; k++) {
				int xc = col++;
				const struct slv_item *it = &p->items[k];
				long u = w->atp[n * G + o->sku[k]];
				u = u < it->qty ? u : it->qty;
				if (it->hazmat && !(nd->ships_hazmat && opt->hazmat_ok))
					u = 0;
				glp_set_col_kind(lp, xc, GLP_IV);
				glp_set_col_bnds(lp, xc, u > 0 ? GLP_DB : GLP_FX, 0, (double)u);
				if (u <= 0)
					continue;
				glp_set_obj_coef(lp, xc,
						 opt->per_kg * it->weight_kg + nd->pick_cost);
				r = glp_add_rows(lp, 1); /* x <= u y */
				glp_set_row_bnds(lp, r, GLP_UP, 0, 0);
				if (nz_add(m, r, xc, 1.0) || nz_add(m, r, yc, -(double)u) ||
				    nz_add(m, line_row[k], xc, 1.0) || nz_add(m, fill_row, xc, 1.0))
					goto nomem;
				int ng = n * G + o->sku[k];
				if (!m->row_ng[ng]) {
					m->row_ng[ng] = glp_add_rows(lp, 1);
					glp_set_row_bnds(lp, m->row_ng[ng], GLP_UP, 0,
							 (double)w->atp[ng]);
				}
				if (nz_add(m, m->row_ng[ng], xc, 1.0))
					goto nomem;
				if (w->cap[n] != FL_UNLIMITED) {
					if (!m->row_n[n]) {
						m->row_n[n] = glp_add_rows(lp, 1);
						glp_set_row_bnds(lp, m->row_n[n], GLP_UP, 0,
								 (double)w->cap[n]);
					}
					if (nz_add(m, m->row_n[n], xc, 1.0))
						goto nomem;
				}
			}
		}
		/* the incumbent: the order's current plan */
		const struct slv_result *pl = &plans[i];
		for (int s = 0; pl->status != SLV_EMPTY && s < pl->nshipments; s++) {
			int base = zc + 1 + pl->ship[s].option * (1 + K);
			m->x[zc] = 1;
			m->x[base] = 1;
			for (int k = 0; k < K; k++)
				m->x[base + 1 + k] = (double)pl->ship[s].qty[k];
		}
		free(line_row);
		continue;
	nomem:
		free(line_row);
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	}
	glp_set_row_bnds(lp, fill_row, GLP_FR, 0, 0);
	glp_load_matrix(lp, (int)m->nz, m->ia, m->ja, m->ar);

	glp_smcp sm;
	glp_iocp io;
	struct master_cb cb = {m->x};
	quiet_params(&sm, &io, &cb);
	/* phase 1: the most fill (the objective is the fill row's columns) */
	double *cost = calloc((size_t)ncols + 1, sizeof(double));
	if (!cost)
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	for (int j = 1; j <= ncols; j++) {
		cost[j] = glp_get_obj_coef(lp, j);
		glp_set_obj_coef(lp, j, 0);
	}
	int len = glp_get_mat_row(lp, fill_row, m->ind, m->val);
	for (int j = 1; j <= len; j++)
		glp_set_obj_coef(lp, m->ind[j], 1);
	glp_set_obj_dir(lp, GLP_MAX);
	double left = c->deadline_ms - elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	bool fill_proved = false;
	double fbest = (double)*bfill;
	if (left >= 1 && !glp_simplex(lp, &sm) && glp_get_status(lp) == GLP_OPT) {
		int st = glp_intopt(lp, &io);
		if (glp_mip_status(lp) == GLP_OPT || glp_mip_status(lp) == GLP_FEAS) {
			fill_proved = st == 0 && glp_mip_status(lp) == GLP_OPT;
			if (round(glp_mip_obj_val(lp)) > fbest) {
				fbest = round(glp_mip_obj_val(lp));
				for (int j = 1; j <= ncols; j++)
					m->x[j] = round(glp_mip_col_val(lp, j));
			}
		}
	}
	/* phase 2: the least cost at that fill */
	glp_set_row_bnds(lp, fill_row, GLP_LO, fbest, 0);
	glp_set_obj_dir(lp, GLP_MIN);
	for (int j = 1; j <= ncols; j++)
		glp_set_obj_coef(lp, j, cost[j]);
	free(cost);
	left = c->deadline_ms - elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	if (left < 1 || glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT)
		return 0;
	int st = glp_intopt(lp, &io);
	if (glp_mip_status(lp) != GLP_OPT && glp_mip_status(lp) != GLP_FEAS)
		return 0;
	double mcost = glp_mip_obj_val(lp);
	*proved = fill_proved && st == 0 && glp_mip_status(lp) == GLP_OPT;
	if (fbest == (double)*bfill && mcost >= *bcost - 1e-9)
		return 0;
	/* read the plan back, order by order */
	for (int i = 0; i < O; i++) {
		const struct slv_problem *p = &w->orders[i].cand->prob;
		int K = p->nitems, zc = m->first[i];
		struct slv_result r = {.status = SLV_EMPTY};
		r.ship = calloc((size_t)p->noptions + 1, sizeof(*r.ship));
		if (!r.ship)
			return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		for (int op = 0; op < p->noptions; op++) {
			int base = zc + 1 + op * (1 + K);
			long units = 0;
			for (int k = 0; k < K; k++)
				units += lround(glp_mip_col_val(lp, base + 1 + k));
			if (!units)
				continue;
			struct slv_shipment *sh = &r.ship[r.nshipments];
			sh->qty = calloc((size_t)K, sizeof(long));
			if (!sh->qty) {
				slv_result_release(&r);
				return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
			}
			r.nshipments++;
			sh->option = op;
			sh->units = units;
			for (int k = 0; k < K; k++) {
				sh->qty[k] = lround(glp_mip_col_val(lp, base + 1 + k));
				sh->weight_kg += (double)sh->qty[k] * p->items[k].weight_kg;
			}
			sh->cost = slv_shipment_cost(p, op, sh->qty);
			r.filled += units;
			r.cost += sh->cost;
		}
		if (r.nshipments) {
			r.status = SLV_OPTIMAL;
			r.cost += p->split_penalty * (r.nshipments - 1);
		}
		slv_result_release(&plans[i]);
		plans[i] = r;
	}
	totals(w, plans, bfill, bcost);
	return 0;
}

/*
 * Run one whole-wave GLPK model (the master or the exact model) under GLPK's error hook:
 * a GLPK fault becomes FL_ESOLVER, and the model's buffers are freed on every path.
 */
static int run_model(struct wctx *c, model_body_fn *body, struct model_run *run, const char *what,
		     struct fl_err *err)
{
	struct mbuf m = {0};
	struct guard g;
	volatile int rc = 0;
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_free_env(); /* frees the model's problem too */
		m.lp = NULL;
		rc = fl_err_set(err, FL_ESOLVER, "wave: GLPK failed in the %s", what);
	} else {
		rc = body(c, &m, run, err);
	}
	glp_error_hook(NULL, NULL);
	mbuf_release(&m);
	return rc;
}

/* The most units the wave can fill, splits relaxed. */
static int fill_bound(const struct slv_wave *w, long *ub)
{
	int N = w->nnodes, G = w->nskus, nv = 2, ne = 0;
	for (int i = 0; i < w->norders; i++) {
		const struct slv_problem *p = &w->orders[i].cand->prob;
		nv += p->nitems;
		ne += p->nitems * (1 + p->nnodes);
	}
	int base_ng = nv, base_n = nv + N * G;
	nv += N * G + N;
	ne += N * G + N;
	struct flow_graph g;
	bool *ng_used = calloc((size_t)N * (size_t)G + 1, sizeof(bool));
	if (!ng_used || flow_init(&g, nv, 2 * ne + 2)) {
		free(ng_used);
		return FL_ENOMEM;
	}
	int v = 2;
	for (int i = 0; i < w->norders; i++) {
		const struct slv_candidates *cd = w->orders[i].cand;
		const struct slv_problem *p = &cd->prob;
		for (int k = 0; k < p->nitems; k++, v++) {
			flow_add(&g, 0, v, p->items[k].qty);
			for (int pn = 0; pn < p->nnodes; pn++) {
				bool ok = false;
				for (int o = 0; o < p->noptions && !ok; o++)
					ok = p->options[o].node == pn &&
					     (!p->items[k].hazmat || (p->nodes[pn].ships_hazmat &&
								      p->options[o].hazmat_ok));
				if (!ok)
					continue;
				int ng = cd->node_of[pn] * G + w->orders[i].sku[k];
				ng_used[ng] = true;
				flow_add(&g, v, base_ng + ng, p->items[k].qty);
			}
		}
	}
	for (int n = 0; n < N; n++) {
		for (int k = 0; k < G; k++)
			if (ng_used[n * G + k])
				flow_add(&g, base_ng + n * G + k, base_n + n, w->atp[n * G + k]);
		flow_add(&g, base_n + n, 1, w->cap[n] == FL_UNLIMITED ? (long)1 << 50 : w->cap[n]);
	}
	*ub = flow_max(&g, 0, 1);
	free(ng_used);
	flow_release(&g);
	return 0;
}

int slv_wave_solve(struct slv_wave *w, struct slv_wave_result *out, struct fl_err *err)
{
	struct wctx c = {.w = w};
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
	struct slv_result *plans = calloc((size_t)O, sizeof(*plans));
	struct slv_result *best = calloc((size_t)O, sizeof(*best));
	struct slv_result *sub = calloc((size_t)O, sizeof(*sub));
	int *perm = malloc(sizeof(int) * (size_t)O);
	double *lam = calloc(NG, sizeof(double)), *mu = calloc((size_t)N, sizeof(double));
	double *glam = calloc(NG, sizeof(double)), *gmu = calloc((size_t)N, sizeof(double));
	double *val = calloc((size_t)O, sizeof(double));
	int maxpk = 1;
	for (int i = 0; i < O; i++) {
		int pk = w->orders[i].cand->prob.nnodes * w->orders[i].cand->prob.nitems;
		maxpk = pk > maxpk ? pk : maxpk;
	}
	double *price = calloc((size_t)maxpk, sizeof(double));
	c.pool = calloc((size_t)O, sizeof(*c.pool));
	bool have = false;
	long bfill = 0;
	double bcost = 0;
	if (!c.rem_atp || !c.rem_cap || !plans || !best || !sub || !perm || !lam || !mu || !glam ||
	    !gmu || !val || !price || !c.pool) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto out;
	}
	if ((rc = fill_bound(w, &out->fill_bound))) {
		fl_err_set(err, rc, "wave: out of memory");
		goto out;
	}

	/* plans: as given, then the scarcest orders (least stock per unit asked) first */
	for (int i = 0; i < O; i++)
		perm[i] = i;
	if ((rc = sequential(&c, perm, plans, err)))
		goto out;
	keep_best(w, best, &have, plans, &bfill, &bcost);
	for (int i = 0; i < O; i++) {
		const struct slv_problem *p = &w->orders[i].cand->prob;
		double want = 0, avail = 0;
		for (int k = 0; k < p->nitems; k++) {
			want += (double)p->items[k].qty;
			for (int pn = 0; pn < p->nnodes; pn++)
				avail += (double)w->atp[w->orders[i].cand->node_of[pn] * G +
							w->orders[i].sku[k]];
		}
		val[i] = avail / (want > 0 ? want : 1);
	}
	for (int a = 1; a < O; a++) /* insertion sort by scarcity; stable */
		for (int b = a; b > 0 && val[perm[b]] < val[perm[b - 1]]; b--) {
			int t = perm[b];
			perm[b] = perm[b - 1], perm[b - 1] = t;
		}
	if (elapsed_ms(&c.t0) < c.deadline_ms) {
		if ((rc = sequential(&c, perm, plans, err)))
			goto out;
		keep_best(w, best, &have, plans, &bfill, &bcost);
	}

	/*
	 * A first bound: each order alone, with all the stock. When the plan fills every
	 * order as much as it could fill alone, any plan with that fill does too, so each
	 * order costs at least its own optimum and their sum bounds the wave.
	 */
	double lb = -INFINITY;
	{
		long solo_fill = 0;
		double solo_cost = 0;
		reset_stock(&c);
		for (int i = 0; i < O && rc == 0; i++) {
			struct slv_result r;
			order_stock(&c, i);
			w->orders[i].cand->prob.price = NULL;
			if ((rc = slv_source(&w->orders[i].cand->prob, &r, err)))
				goto out;
			solo_fill += fill_of(&r);
			solo_cost += cost_of(&r);
			pool_add(&c, i, &r);
			slv_result_release(&r);
		}
		if (solo_fill == bfill)
			lb = solo_cost;
	}

	/* the Lagrangian bound */
	double nu = bfill > 0 ? 1.5 * bcost / (double)bfill : 1.0, theta = 0.25;
	/* the bound gets 60% of the time; the master and the exact model the rest */
	double lag_deadline = 0.6 * c.deadline_ms;
	int stall = 0;
	for (int it = 0; it < 500; it++) {
		if (elapsed_ms(&c.t0) > lag_deadline || bcost - lb <= 1e-9 * fabs(bcost))
			break;
		double L = 0;
		long sub_fill = 0;
		memset(glam, 0, sizeof(double) * NG);
		memset(gmu, 0, sizeof(double) * (size_t)N);
		reset_stock(&c);
		bool timed_out = false;
		for (int i = 0; i < O && !(timed_out = elapsed_ms(&c.t0) > lag_deadline); i++) {
			struct slv_wave_order *o = &w->orders[i];
			struct slv_problem *p = &o->cand->prob;
			int K = p->nitems;
			order_stock(&c, i);
			for (int pn = 0; pn < p->nnodes; pn++) {
				int n = o->cand->node_of[pn];
				for (int k = 0; k < K; k++)
					price[pn * K + k] =
						lam[(size_t)n * (size_t)G + (size_t)o->sku[k]] +
						mu[n];
			}
			p->price = price;
			p->fill_reward = nu;
			slv_result_release(&sub[i]);
			rc = slv_source(p, &sub[i], err);
			p->price = NULL;
			if (rc)
				goto out;
			L += sub[i].bound;
			val[i] = sub[i].objective;
			pool_add(&c, i, &sub[i]);
			sub_fill += fill_of(&sub[i]);
			for (int s = 0; sub[i].status != SLV_EMPTY && s < sub[i].nshipments; s++) {
				int n = o->cand->node_of[p->options[sub[i].ship[s].option].node];
				for (int k = 0; k < K; k++)
					glam[(size_t)n * (size_t)G + (size_t)o->sku[k]] +=
						(double)sub[i].ship[s].qty[k];
				gmu[n] += (double)sub[i].ship[s].units;
			}
		}
		if (timed_out)
			break;
		out->iterations = it + 1;
		double norm = 0;
		for (size_t j = 0; j < NG; j++) {
			L -= lam[j] * (double)w->atp[j];
			glam[j] -= (double)w->atp[j];
			if (lam[j] > 0 || glam[j] > 0)
				norm += glam[j] * glam[j];
		}
		for (int n = 0; n < N; n++) {
			if (w->cap[n] == FL_UNLIMITED) {
				gmu[n] = 0;
				continue;
			}
			L -= mu[n] * (double)w->cap[n];
			gmu[n] -= (double)w->cap[n];
			if (mu[n] > 0 || gmu[n] > 0)
				norm += gmu[n] * gmu[n];
		}
		L += nu * (double)bfill;
		double gnu = (double)bfill - (double)sub_fill;
		if (nu > 0 || gnu > 0)
			norm += gnu * gnu;
		if (!isfinite(lb) || L > lb + 1e-9 * fabs(lb)) {
			lb = L;
			stall = 0;
		} else if (++stall >= 2) {
			theta /= 2;
			stall = 0;
		}
		/* every few rounds, repair the priced plans into a wave plan */
		if (it % 3 == 2 && elapsed_ms(&c.t0) < c.deadline_ms) {
			for (int i = 0; i < O; i++)
				perm[i] = i;
			for (int a = 1; a < O; a++)
				for (int b = a; b > 0 && val[perm[b]] < val[perm[b - 1]]; b--) {
					int t = perm[b];
					perm[b] = perm[b - 1], perm[b - 1] = t;
				}
			if ((rc = sequential(&c, perm, plans, err)))
				goto out;
			keep_best(w, best, &have, plans, &bfill, &bcost);
		}
		double gap = bcost > 0 ? (bcost - lb) / bcost : 0;
		if (gap <= 1e-9 || theta < 1e-4 || norm == 0)
			break;
		double t = theta * (bcost - lb) / norm;
		if (!(t > 0))
			t = theta * 1e-3;
		for (size_t j = 0; j < NG; j++)
			lam[j] = fmax(0, lam[j] + t * glam[j]);
		for (int n = 0; n < N; n++)
			mu[n] = fmax(0, mu[n] + t * gmu[n]);
		nu = fmax(0, nu + t * gnu);
	}
	/* the master over every plan seen: the best combination of them */
	if (elapsed_ms(&c.t0) < c.deadline_ms && !(bcost - lb <= 1e-9 * fabs(bcost))) {
		for (int i = 0; i < O; i++)
			pool_add(&c, i, &best[i]);
		struct model_run run = {best, &bfill, &bcost, NULL};
		if ((rc = run_model(&c, master_body, &run, "master", err)))
			goto out;
		totals(w, best, &bfill, &bcost);
	}
	/* small waves: the exact whole-wave model closes what the bound leaves open */
	bool proved = false;
	struct model_run exact_run = {best, &bfill, &bcost, &proved};
	if (elapsed_ms(&c.t0) < c.deadline_ms && (bcost - (isfinite(lb) ? lb : 0)) > 1e-9 * bcost &&
	    (rc = run_model(&c, exact_body, &exact_run, "exact model", err)))
		goto out;
	if (proved)
		lb = bcost;
	out->plans = best;
	best = NULL;
	out->filled = bfill;
	out->cost = bcost;
	/* costs are never negative: 0 bounds every wave */
	out->bound = lb > bcost ? bcost : (isfinite(lb) && lb > 0 ? lb : 0);
	out->gap = bcost > 0 ? fmax(0, (bcost - out->bound) / bcost) : 0;
	out->status =
		out->filled == out->fill_bound && out->gap <= 1e-9 ? SLV_OPTIMAL : SLV_FEASIBLE;
	/* leave each order's candidates with the stock its final plan was decided against */
	reset_stock(&c);
	for (int i = 0; i < O; i++)
		order_stock(&c, i);
out:
	out->time_ms = elapsed_ms(&c.t0);
	for (int i = 0; plans && i < O; i++)
		slv_result_release(&plans[i]);
	for (int i = 0; sub && i < O; i++)
		slv_result_release(&sub[i]);
	for (int i = 0; best && i < O; i++)
		slv_result_release(&best[i]);
	for (int i = 0; c.pool && i < O; i++)
		for (int j = 0; j < c.pool[i].n; j++)
			slv_result_release(&c.pool[i].col[j]);
	free(c.pool);
	free(plans), free(best), free(sub), free(perm), free(lam), free(mu), free(glam), free(gmu),
		free(val), free(price), free(c.rem_atp), free(c.rem_cap);
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
