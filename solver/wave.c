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
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "solver.h"

#define POOL_MAX 128			/* plans kept per order for the master */
#define EXACT_COLS 6000			/* the whole-wave model is tried up to this many columns */
#define WAVE_NZ_MAX ((size_t)1 << 30)	/* GLPK nonzeros and columns one model may hold */
#define WAVE_CUTS_MAX ((size_t)1 << 20) /* cuts kept by the master */

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
	long fill_bound; /* no plan fills more */
	long bfill;	 /* the best plan's fill (-1 before the first) and cost */
	double bcost;
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

/* Does plan r of order i fit in the remaining stock and capacity? */
static bool fits(const struct wctx *c, int i, const struct slv_result *r)
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

static void reset_stock(struct wctx *c)
{
	size_t N = (size_t)c->w->nnodes, G = (size_t)c->w->nskus;
	memcpy(c->rem_atp, c->w->atp, sizeof(long) * N * G);
	memcpy(c->rem_cap, c->w->cap, sizeof(long) * N);
}

/* The units order i asks for. */
static long want_of(const struct slv_wave_order *o)
{
	long want = 0;
	for (int k = 0; k < o->cand->prob.nitems; k++)
		want += o->cand->prob.items[k].qty;
	return want;
}

/* An order that wants every unit or none gets none from a partial plan. */
static void whole_or_none(const struct slv_wave_order *o, struct slv_result *r)
{
	if (o->whole && r->status != SLV_EMPTY && r->filled < want_of(o)) {
		double bound = r->bound;
		slv_result_release(r);
		*r = (struct slv_result){.status = SLV_EMPTY, .bound = bound};
	}
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

/* The pool index of plan r of order i, or -1. */
static int pool_find(const struct wctx *c, int i, const struct slv_result *r)
{
	for (int j = 0; j < c->pool[i].n; j++)
		if (same_plan(&c->pool[i].col[j], r, c->w->orders[i].cand->prob.nitems))
			return j;
	return -1;
}

/* Keep plan r of order i for the master: its index, or -1 (a duplicate, empty, no room). */
static int pool_add(struct wctx *c, int i, const struct slv_result *r)
{
	struct pool *pl = &c->pool[i];
	int K = c->w->orders[i].cand->prob.nitems;
	if (fill_of(r) == 0 || pl->n == POOL_MAX || pool_find(c, i, r) >= 0)
		return -1;
	if (result_copy(r, K, &pl->col[pl->n]))
		return -1;
	return pl->n++;
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
	whole_or_none(&c->w->orders[i], &r);
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

/* Keep cand as the best (c->bfill, c->bcost) if it fills more, or as much for less. */
static void keep_best(struct wctx *c, struct slv_result *best, struct slv_result *cand)
{
	const struct slv_wave *w = c->w;
	long f;
	double cst;
	totals(w, cand, &f, &cst);
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
	reset_stock(c);
	for (int i = 0; i < c->w->norders; i++)
		if ((rc = decide_one(c, i, plans, err)))
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
	if (m->nz + 2 >= m->capz) { /* three parallel arrays: each grows alike */
		const size_t need = (size_t)m->nz + 3;
		size_t ci = m->capz, cj = m->capz, ca = m->capz;
		int rc;
		if ((rc = fl_grow((void **)&m->ia, &ci, need, sizeof(int), WAVE_NZ_MAX)) ||
		    (rc = fl_grow((void **)&m->ja, &cj, need, sizeof(int), WAVE_NZ_MAX)) ||
		    (rc = fl_grow((void **)&m->ar, &ca, need, sizeof(double), WAVE_NZ_MAX)))
			return rc;
		m->capz = ci;
	}
	m->nz++;
	m->ia[m->nz] = r, m->ja[m->nz] = col, m->ar[m->nz] = v;
	return 0;
}

/* What a whole-wave model reads and improves: the plan and its fill and cost. */
struct model_run {
	struct slv_result *plans; /* every order's; c->bfill and c->bcost follow them */
	bool *proved;		  /* whole wave: fill and cost proved optimal */
	const int *set;		  /* a subset of the orders (NULL: all) ... */
	int nset;
	const long *atp, *cap; /* ... and the stock the others leave it */
	double until_ms;
	bool fill_max; /* the wave's fill is proved the most: skip the fill phase */
};

typedef int model_body_fn(struct wctx *c, struct mbuf *m, struct model_run *run,
			  struct fl_err *err);

/*
 * Which options of order o get columns against the stock atp/cap: dom[op] = op when some
 * line can use it and no option of the same node is as cheap in both rates and can carry
 * every line it can (ties: the lower index); else the kept option that does, or -1.
 */
static void exact_options(const struct slv_wave_order *o, const long *atp, const long *capn, int G,
			  int *dom)
{
	const struct slv_problem *p = &o->cand->prob;
	int K = p->nitems, O = p->noptions;
#define USABLE(op, k)                                                                              \
	(atp[(size_t)o->cand->node_of[p->options[op].node] * (size_t)G + (size_t)o->sku[k]] > 0 && \
	 capn[o->cand->node_of[p->options[op].node]] != 0 &&                                       \
	 (!p->items[k].hazmat ||                                                                   \
	  (p->nodes[p->options[op].node].ships_hazmat && p->options[op].hazmat_ok)))
	for (int op = 0; op < O; op++) {
		bool any = false;
		for (int k = 0; k < K && !any; k++)
			any = USABLE(op, k);
		dom[op] = any ? op : -1;
	}
	for (int op = 0; op < O; op++) {
		const struct slv_option *a = &p->options[op];
		for (int q = 0; q < O && dom[op] == op; q++) {
			const struct slv_option *b = &p->options[q];
			if (q == op || dom[q] < 0 || b->node != a->node ||
			    b->base_cost > a->base_cost || b->per_kg > a->per_kg)
				continue;
			bool covers = true, same = true;
			for (int k = 0; k < K && covers; k++) {
				bool ua = USABLE(op, k), ub = USABLE(q, k);
				covers = !ua || ub;
				same &= ua == ub;
			}
			bool equal = b->base_cost == a->base_cost && b->per_kg == a->per_kg && same;
			if (covers && (!equal || q < op))
				dom[op] = q;
		}
	}
#undef USABLE
	for (int op = 0; op < O; op++) /* a chain ends at a kept option */
		while (dom[op] >= 0 && dom[dom[op]] != dom[op])
			dom[op] = dom[dom[op]];
}

/*
 * The exact model over a set of orders (all of a small wave, or a neighbourhood of a
 * large one): per order the disaggregated sourcing model over its undominated options,
 * the stock and capacity rows shared; the most fill, then the least cost. Started from
 * the current plans. A better plan replaces theirs; *proved is set when the whole wave
 * was solved to optimality.
 */
static int exact_body(struct wctx *c, struct mbuf *m, struct model_run *run, struct fl_err *err)
{
	struct slv_result *plans = run->plans;
	struct slv_wave *w = c->w;
	const long *atp = run->set ? run->atp : w->atp, *capn = run->set ? run->cap : w->cap;
	int G = w->nskus, O = run->set ? run->nset : w->norders, ncols = 0, nopt = 0;
	long sfill = 0; /* the orders' fill and cost now */
	double scost = 0;
	for (int a = 0; a < O; a++) {
		int i = run->set ? run->set[a] : a;
		sfill += fill_of(&plans[i]);
		scost += cost_of(&plans[i]);
		nopt += w->orders[i].cand->prob.noptions;
	}
	/* dom: per order and option (see exact_options); yof: an option's y column */
	int *dom = malloc(sizeof(int) * (size_t)(nopt + 1));
	int *yof = calloc((size_t)nopt + 1, sizeof(int));
	if (!dom || !yof) {
		free(dom), free(yof);
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	}
	for (int a = 0, off = 0; a < O; a++) {
		int i = run->set ? run->set[a] : a;
		const struct slv_problem *p = &w->orders[i].cand->prob;
		exact_options(&w->orders[i], atp, capn, G, dom + off);
		ncols++;
		for (int op = 0; op < p->noptions; op++)
			ncols += dom[off + op] == op ? 1 + p->nitems : 0;
		off += p->noptions;
	}
	int rc = 0;
	if (ncols > EXACT_COLS)
		goto done;
	if (mbuf_alloc(m, O, w->nnodes * G, w->nnodes, ncols)) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto done;
	}
	glp_prob *lp = m->lp = glp_create_prob();
	glp_add_cols(lp, ncols);
	int fill_row = glp_add_rows(lp, 1);
	/* per order: z (any shipment), then per kept option y and x per line */
	int col = 1;
	for (int a = 0, off = 0; a < O;
	     off += w->orders[run->set ? run->set[a] : a].cand->prob.noptions, a++) {
		int i = run->set ? run->set[a] : a;
		const struct slv_wave_order *o = &w->orders[i];
		const struct slv_problem *p = &o->cand->prob;
		int K = p->nitems, zc = col++, r;
		m->first[a] = zc;
		glp_set_col_kind(lp, zc, GLP_BV);
		glp_set_obj_coef(lp, zc, -p->split_penalty);
		int line0 = glp_add_rows(lp, K); /* Σ x per line <= its qty */
		for (int k = 0; k < K; k++)
			glp_set_row_bnds(lp, line0 + k, GLP_UP, 0, (double)p->items[k].qty);
		int ysum = glp_add_rows(lp, 1); /* z <= Σ y: the penalty's "any shipment" */
		glp_set_row_bnds(lp, ysum, GLP_LO, 0, 0);
		int one = 0; /* without splits, Σ y <= 1 */
		if (!p->allow_split) {
			one = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, one, GLP_UP, 0, 1);
		}
		int all = 0; /* every unit or none: Σ x = want · z */
		if (o->whole) {
			all = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, all, GLP_FX, 0, 0);
			if (nz_add(m, all, zc, -(double)want_of(o)))
				goto nomem;
		}
		if (nz_add(m, ysum, zc, -1.0))
			goto nomem;
		for (int op = 0; op < p->noptions; op++) {
			if (dom[off + op] != op)
				continue;
			const struct slv_option *opt = &p->options[op];
			const struct slv_node *nd = &p->nodes[opt->node];
			int n = o->cand->node_of[opt->node], yc = col++;
			yof[off + op] = yc;
			glp_set_col_kind(lp, yc, GLP_BV);
			glp_set_obj_coef(lp, yc,
					 opt->base_cost + nd->handling_cost + p->split_penalty);
			if (nz_add(m, ysum, yc, 1.0) || (one && nz_add(m, one, yc, 1.0)))
				goto nomem;
			for (int k = 0; k < K; k++) {
				int xc = col++;
				const struct slv_item *it = &p->items[k];
				int ng = n * G + o->sku[k];
				long u = atp[ng] < it->qty ? atp[ng] : it->qty;
				if (capn[n] != FL_UNLIMITED && capn[n] < u)
					u = capn[n];
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
				    nz_add(m, line0 + k, xc, 1.0) || nz_add(m, fill_row, xc, 1.0) ||
				    (all && nz_add(m, all, xc, 1.0)))
					goto nomem;
				if (!m->row_ng[ng]) {
					m->row_ng[ng] = glp_add_rows(lp, 1);
					glp_set_row_bnds(lp, m->row_ng[ng], GLP_UP, 0,
							 (double)atp[ng]);
				}
				if (nz_add(m, m->row_ng[ng], xc, 1.0))
					goto nomem;
				if (capn[n] != FL_UNLIMITED) {
					if (!m->row_n[n]) {
						m->row_n[n] = glp_add_rows(lp, 1);
						glp_set_row_bnds(lp, m->row_n[n], GLP_UP, 0,
								 (double)capn[n]);
					}
					if (nz_add(m, m->row_n[n], xc, 1.0))
						goto nomem;
				}
			}
		}
		/* the incumbent: the order's current plan, each shipment on its kept option */
		const struct slv_result *pl = &plans[i];
		for (int s = 0; pl->status != SLV_EMPTY && s < pl->nshipments; s++) {
			int kept = dom[off + pl->ship[s].option];
			if (kept < 0)
				continue; /* cannot happen: the plan's own stock is in atp */
			int base = yof[off + kept];
			m->x[zc] = 1;
			m->x[base] = 1;
			for (int k = 0; k < K; k++)
				m->x[base + 1 + k] += (double)pl->ship[s].qty[k];
		}
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
		goto nomem;
	for (int j = 1; j <= ncols; j++) {
		cost[j] = glp_get_obj_coef(lp, j);
		glp_set_obj_coef(lp, j, 0);
	}
	int len = glp_get_mat_row(lp, fill_row, m->ind, m->val);
	for (int j = 1; j <= len; j++)
		glp_set_obj_coef(lp, m->ind[j], 1);
	glp_set_obj_dir(lp, GLP_MAX);
	double left = run->until_ms - elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	bool fill_proved = run->fill_max;
	double fbest = (double)sfill;
	if (!run->fill_max && left >= 1 && !glp_simplex(lp, &sm) && glp_get_status(lp) == GLP_OPT) {
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
	left = run->until_ms - elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	if (left < 1 || glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT)
		goto done;
	int st = glp_intopt(lp, &io);
	if (glp_mip_status(lp) != GLP_OPT && glp_mip_status(lp) != GLP_FEAS)
		goto done;
	double mcost = glp_mip_obj_val(lp);
	if (run->proved)
		*run->proved = fill_proved && st == 0 && glp_mip_status(lp) == GLP_OPT;
	if (fbest == (double)sfill && mcost >= scost - 1e-9 * fmax(1, scost))
		goto done;
	/* read the plan back, order by order */
	for (int a = 0, off = 0; a < O; a++) {
		int i = run->set ? run->set[a] : a;
		const struct slv_problem *p = &w->orders[i].cand->prob;
		int K = p->nitems;
		struct slv_result r = {.status = SLV_EMPTY};
		r.ship = calloc((size_t)p->noptions + 1, sizeof(*r.ship));
		if (!r.ship)
			goto nomem;
		for (int op = 0; op < p->noptions; op++) {
			int base = yof[off + op];
			long units = 0;
			for (int k = 0; base && k < K; k++)
				units += lround(glp_mip_col_val(lp, base + 1 + k));
			if (!units)
				continue;
			struct slv_shipment *sh = &r.ship[r.nshipments];
			sh->qty = calloc((size_t)K, sizeof(long));
			if (!sh->qty) {
				slv_result_release(&r);
				goto nomem;
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
		off += p->noptions;
	}
	totals(w, plans, &c->bfill, &c->bcost);
	goto done;
nomem:
	rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
done:
	free(dom), free(yof);
	return rc;
}

/*
 * Run body under GLPK's error hook: a GLPK fault becomes FL_ESOLVER. The model's buffers
 * live in the caller's frame, not this one: after the longjmp this frame reads only the
 * volatile rc and the unchanged pointer m (C11 7.13.2.1).
 */
static int run_guarded(struct wctx *c, model_body_fn *body, struct model_run *run, struct mbuf *m,
		       const char *what, struct fl_err *err)
{
	struct guard g;
	volatile int rc = 0;
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_free_env(); /* frees the model's problem too */
		m->lp = NULL;
		rc = fl_err_set(err, FL_ESOLVER, "wave: GLPK failed in the %s", what);
	} else {
		rc = body(c, m, run, err);
	}
	glp_error_hook(NULL, NULL);
	return rc;
}

/* One whole-wave GLPK model (the master or the exact model); its buffers freed on every
 * path. */
static int run_model(struct wctx *c, model_body_fn *body, struct model_run *run, const char *what,
		     struct fl_err *err)
{
	struct mbuf m = {0};
	const int rc = run_guarded(c, body, run, &m, what, err);
	mbuf_release(&m);
	return rc;
}

/*
 * The most units the wave can fill, splits relaxed, and a minimum cut: cut_ng[ng] when
 * stock row ng is cut, cut_n[n] when node n's capacity is (the rows that limit the fill:
 * each of their units is worth a filled unit).
 */
static int fill_bound(const struct slv_wave *w, long *ub, unsigned char *cut_ng,
		      unsigned char *cut_n)
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
	for (int n = 0; n < N; n++) {
		cut_n[n] = flow_source_side(&g, base_n + n);
		for (int k = 0; k < G; k++)
			cut_ng[n * G + k] = ng_used[n * G + k] &&
					    flow_source_side(&g, base_ng + n * G + k) && !cut_n[n];
	}
	free(ng_used);
	flow_release(&g);
	return 0;
}

/* ---- column generation: a master LP over the pooled plans, priced by every order ---- */

/*
 * The master: at most one plan per order (row i + 1), shared stock rows per (node, SKU)
 * and capacity rows per node, made when a column first touches them. Its objective is
 * Σ (cost − M · fill): with M at least the fill row's dual, the LP bounds the least cost
 * at the most fill (see cg_round's caller). The same problem, its columns made binary
 * and a fill row added, is the integer master at the end.
 */
struct cut {
	long ng;		 /* the stock row */
	long atp;		 /* its right-hand side before rounding */
	int m, row, next;	 /* the cut's right-hand side, master row, the row's next cut */
	int special;		 /* -1; or the one order whose units count rounded up (cut_coef) */
	double sigma, sigma_new; /* its dual last priced and now (>= 0, as a cost) */
};

struct cg {
	struct wctx *c;
	struct guard *guard;
	glp_prob *lp;
	int *row_ng;		   /* per (node, SKU): its master row, 0 if none yet */
	int *row_n;		   /* per node */
	int *pooled;		   /* per order: its pool plans already in the master */
	int *col_order, *col_plan; /* per master column (1-based) */
	int ncols, colcap;
	int *ind;
	double *val;
	int scratch;
	double M;		       /* what a filled unit earns: fill first, then cost */
	double *lam, *mu;	       /* the duals last priced (>= 0, as costs) */
	double *lam_new, *mu_new, *pi; /* the master's duals now; pi per order (<= 0) */
	double *v;		       /* per order: a lower bound on its priced minimum */
	struct slv_result *sub;	       /* per order: its last priced plan */
	int *list;		       /* the orders to price this round */
	int nlist, threads, maxpk;
	bool *priced; /* per order: priced this round */
	double *solo; /* per order: its cost alone, with all the stock */
	long *solo_fill;
	int *solo_col; /* and that plan's pool index, -1 if none */
	/* rank-1 Chvátal–Gomory cuts on stock rows (see cut_coef) */
	struct cut *cuts;
	int ncuts, cutcap;
	int *cut_of;			 /* per (node, SKU): its first cut, -1 if none */
	long *ung, *ua;			 /* plan_usage's scratch */
	double *glam, *gmu, *dlam, *dmu; /* subgradient_step's */
	unsigned char *cut_ng, *cut_n;	 /* the fill's minimum cut (fill_bound) */
	int ucap;
	double best_lbm; /* the best Σ v − Σ λ·atp − Σ μ·cap − Σ σ·rhs seen */
	bool have_lbm, have_lp;
	int rounds;
};

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
static int plan_usage(const struct slv_wave *w, int i, const struct slv_result *r, long *ng,
		      long *a)
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
 *    m = 2: if s takes one unit, no two others take 2 each.
 */
static long cut_coef(const struct cut *k, long a, int i)
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
		e += g->cuts[ci].sigma_new * (double)cut_coef(&g->cuts[ci], a, i);
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
	int nu = plan_usage(w, i, r, g->ung, g->ua), ncut = 0;
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
			if (cut_coef(&g->cuts[ci], g->ua[u], i) > 0) {
				g->ind[++len] = g->cuts[ci].row;
				g->val[len] = (double)cut_coef(&g->cuts[ci], g->ua[u], i);
			}
	int col = glp_add_cols(g->lp, 1);
	glp_set_col_bnds(g->lp, col, GLP_LO, 0, 0);
	glp_set_obj_coef(g->lp, col, cost_of(r) - g->M * (double)fill_of(r));
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
	double d = cost_of(r) - g->M * (double)fill_of(r) - g->pi[i];
	for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
		int n = o->cand->node_of[p->options[r->ship[s].option].node];
		for (int k = 0; k < p->nitems; k++)
			d += g->lam_new[(size_t)n * (size_t)w->nskus + (size_t)o->sku[k]] *
			     (double)r->ship[s].qty[k];
		d += g->mu_new[n] * (double)r->ship[s].units;
	}
	if (usage_reserve(g, i, r))
		return 0; /* out of memory: not taken as a column (the bound stands) */
	int nu = plan_usage(w, i, r, g->ung, g->ua);
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
		if (elapsed_ms(&c->t0) > pr->deadline_ms) {
			atomic_store(&pr->late, 1);
			break;
		}
		int i = g->list[j];
		struct slv_wave_order *o = &w->orders[i];
		struct slv_problem *p = &o->cand->prob;
		int K = p->nitems;
		order_stock(c, i);
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
			whole_or_none(o, &r); /* its bound stays: a relaxation's */
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
	glp_error_hook(on_glp_error, g->guard);
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

struct zorder {
	double z;
	int i, col;
	bool frac; /* some plan of the order has a fractional share */
};

static int zorder_cmp(const void *a, const void *b)
{
	const struct zorder *x = a, *y = b;
	return x->z > y->z ? -1 : x->z < y->z ? 1 : x->i - y->i;
}

/*
 * A plan from the master's LP: orders by their largest share of one plan, most whole
 * first; each takes that plan if the stock left still allows it, or is decided exactly
 * against what is left; then one improving pass.
 */
static int cg_round(struct cg *g, struct slv_result *plans, struct fl_err *err)
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
	qsort(zo, (size_t)O, sizeof(*zo), zorder_cmp);
	reset_stock(c);
	for (int a = 0; a < O && !rc; a++) {
		int i = zo[a].i;
		if (zo[a].col && zo[a].z > 1e-6) {
			const struct slv_wave_order *o = &w->orders[i];
			const struct slv_problem *p = &o->cand->prob;
			const struct slv_result *r = &c->pool[i].col[g->col_plan[zo[a].col]];
			if (fits(c, i, r)) {
				take(c, i, r, +1);
				slv_result_release(&plans[i]);
				if (result_copy(r, p->nitems, &plans[i])) {
					plans[i] = (struct slv_result){.status = SLV_EMPTY};
					take(c, i, r, -1);
					rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
				}
				continue;
			}
		}
		slv_result_release(&plans[i]);
		plans[i] = (struct slv_result){.status = SLV_EMPTY};
		rc = decide_one(c, i, plans, err);
	}
	free(zo);
	if (!rc)
		rc = improve(c, plans, err);
	for (int i = 0; !rc && i < O; i++)
		pool_add(c, i, &plans[i]);
	return rc;
}

#define LNS_ORDERS 24 /* orders re-decided together by one exact model: at most */
#define LNS_FIRST 6   /* at first; a pass that finds nothing adds LNS_STEP */
#define LNS_STEP 6
#define LNS_MS 15 /* and the time it may take */

/* Set the stock rows plan r of order i takes from to v in mark[] (nodes × SKUs). */
static void mark_rows(const struct slv_wave *w, int i, const struct slv_result *r,
		      unsigned char *mark, unsigned char v)
{
	const struct slv_wave_order *o = &w->orders[i];
	const struct slv_problem *p = &o->cand->prob;
	for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
		size_t n = (size_t)o->cand->node_of[p->options[r->ship[s].option].node];
		for (int k = 0; k < p->nitems; k++)
			if (r->ship[s].qty[k])
				mark[n * (size_t)w->nskus + (size_t)o->sku[k]] = v;
	}
}

/*
 * Large-neighbourhood search on the best plan. An order that pays more than it would
 * alone (its regret, a lost unit counting M) is re-decided together with the orders
 * that hold the stock its own plan wanted, by the exact model over those orders and the
 * stock the others leave them: never worse. Seeds go by regret, pass after pass, until
 * a pass improves nothing or until_ms.
 */
static int lns(struct cg *g, struct slv_result *best, double until_ms, struct fl_err *err)
{
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	int O = w->norders, G = w->nskus, rc = 0, clock = 0;
	size_t NG = (size_t)w->nnodes * (size_t)G;
	struct zorder *seed = malloc(sizeof(*seed) * (size_t)O);
	struct zorder *near = malloc(sizeof(*near) * (size_t)O);
	unsigned char *wanted = calloc(NG, 1);
	/* when an order's plan last changed, and when a seed was last tried in vain */
	int *changed = calloc((size_t)O, sizeof(int)), *tried = calloc((size_t)O, sizeof(int));
	int set[LNS_ORDERS];
	if (!seed || !near || !wanted || !changed || !tried) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto out;
	}
	for (int size = LNS_FIRST; size <= LNS_ORDERS && !rc;) {
		bool better = false;
		int ns = 0;
		bool fill_max = c->bfill == c->fill_bound; /* then a lost unit is no one's fault */
		for (int i = 0; i < O; i++) {
			if (g->solo_col[i] < 0)
				continue;
			double regret = cost_of(&best[i]) - g->solo[i];
			if (!fill_max)
				regret += g->M * (double)(g->solo_fill[i] - fill_of(&best[i]));
			if (regret > 1e-6)
				seed[ns++] = (struct zorder){regret, i, 0, false};
		}
		qsort(seed, (size_t)ns, sizeof(*seed), zorder_cmp);
		for (int a = 0; a < ns && !rc; a++) {
			if (elapsed_ms(&c->t0) > until_ms)
				goto out;
			int i = seed[a].i;
			const struct slv_result *r = &c->pool[i].col[g->solo_col[i]];
			mark_rows(w, i, r, wanted, 1);
			/* the orders holding that stock, most units first */
			int nn = 0;
			for (int j = 0; j < O; j++) {
				const struct slv_wave_order *oj = &w->orders[j];
				const struct slv_problem *pj = &oj->cand->prob;
				const struct slv_result *rj = &best[j];
				long held = 0;
				for (int s = 0;
				     j != i && rj->status != SLV_EMPTY && s < rj->nshipments; s++) {
					size_t n = (size_t)oj->cand->node_of
							   [pj->options[rj->ship[s].option].node];
					for (int k = 0; k < pj->nitems; k++)
						if (wanted[n * (size_t)G + (size_t)oj->sku[k]])
							held += rj->ship[s].qty[k];
				}
				if (held)
					near[nn++] = (struct zorder){(double)held, j, 0, false};
			}
			mark_rows(w, i, r, wanted, 0); /* the marks off again */
			if (!nn)
				continue;
			qsort(near, (size_t)nn, sizeof(*near), zorder_cmp);
			int nset = 0;
			bool fresh = !tried[i] || changed[i] >= tried[i];
			set[nset++] = i;
			for (int b = 0; b < nn && nset < size; b++) {
				set[nset++] = near[b].i;
				fresh |= changed[near[b].i] >= tried[i];
			}
			if (!fresh)
				continue; /* tried, and nothing in it changed since */
			/* the stock the other orders leave these */
			reset_stock(c);
			for (int j = 0; j < O; j++)
				take(c, j, &best[j], +1);
			for (int b = 0; b < nset; b++)
				take(c, set[b], &best[set[b]], -1);
			long f0 = c->bfill;
			double c0 = c->bcost;
			struct model_run run = {.plans = best,
						.set = set,
						.nset = nset,
						.atp = c->rem_atp,
						.cap = c->rem_cap,
						.until_ms =
							fmin(until_ms, elapsed_ms(&c->t0) + LNS_MS),
						.fill_max = c->bfill == c->fill_bound};
			rc = run_model(c, exact_body, &run, "neighbourhood model", err);
			clock++;
			if (c->bfill > f0 || c->bcost < c0 - 1e-9 * c0) {
				better = true;
				for (int b = 0; b < nset; b++)
					changed[set[b]] = clock;
			} else {
				tried[i] = clock;
			}
		}
		if (!better) { /* a local optimum for this size: larger neighbourhoods */
			size += LNS_STEP;
			memset(tried, 0, sizeof(int) * (size_t)O);
		}
	}
out:
	free(seed), free(near), free(wanted), free(changed), free(tried);
	return rc;
}

#define CUT_ROUNDS 8 /* separation rounds */
#define CUT_MMAX 8   /* right-hand sides 1 … CUT_MMAX */

/*
 * Rank-1 Chvátal–Gomory cuts on the master's stock rows: Σ_j a_j z_j <= atp over whole z
 * gives Σ_j floor(a_j/d) z_j <= floor(atp/d). Adds those the LP solution violates (at
 * most 4 per order in all); returns how many, or a negative error.
 */
static int cg_separate(struct cg *g)
{
	const struct slv_wave *w = g->c->w;
	size_t NG = (size_t)w->nnodes * (size_t)w->nskus;
	int *ind = malloc(sizeof(int) * (size_t)(g->ncols + 2)), added = 0;
	double *val = malloc(sizeof(double) * (size_t)(g->ncols + 2));
	double *x = malloc(sizeof(double) * (size_t)(g->ncols + 2));
	double *up = calloc((size_t)w->norders, sizeof(double)); /* per order, one cut's */
	if (!ind || !val || !x || !up) {
		added = FL_ENOMEM;
		goto out;
	}
	for (int col = 1; col <= g->ncols; col++)
		x[col] = glp_get_col_prim(g->lp, col);
	for (size_t ng = 0; ng < NG && g->ncuts < 4 * w->norders; ng++) {
		if (!g->row_ng[ng] || w->atp[ng] < 2)
			continue;
		int len = glp_get_mat_row(g->lp, g->row_ng[ng], ind, val);
		for (int t = 0; t < 2 * CUT_MMAX; t++) {
			int m = 1 + t / 2; /* each m: the first kind, then the second */
			if (m >= w->atp[ng])
				break;
			struct cut k = {.ng = (long)ng, .atp = w->atp[ng], .m = m, .special = -1};
			if (t % 2) { /* the order whose rounding up adds the most */
				for (int e = 1; e <= len; e++) {
					long a = lround(val[e]);
					up[g->col_order[ind[e]]] +=
						(double)((a * m + k.atp - 1) / k.atp -
							 a * m / k.atp) *
						x[ind[e]];
				}
				double most = 0;
				for (int e = 1; e <= len; e++) {
					int s = g->col_order[ind[e]];
					if (up[s] > most + 1e-9)
						most = up[s], k.special = s;
				}
				for (int e = 1; e <= len; e++)
					up[g->col_order[ind[e]]] = 0;
				if (k.special < 0)
					continue;
			}
			bool have = false;
			for (int ci = g->cut_of[ng]; ci >= 0 && !have; ci = g->cuts[ci].next)
				have = g->cuts[ci].m == m && g->cuts[ci].special == k.special;
			double lhs = 0;
			for (int e = 1; e <= len; e++)
				lhs += (double)cut_coef(&k, lround(val[e]), g->col_order[ind[e]]) *
				       x[ind[e]];
			if (have || lhs <= m + 1e-6)
				continue;
			if (g->ncuts == g->cutcap) {
				size_t ncap = (size_t)g->cutcap;
				if ((added = fl_grow((void **)&g->cuts, &ncap, (size_t)g->ncuts + 1,
						     sizeof(*g->cuts), WAVE_CUTS_MAX)))
					goto out;
				g->cutcap = (int)ncap;
			}
			int l2 = 0;
			for (int e = 1; e <= len; e++) {
				long f = cut_coef(&k, lround(val[e]), g->col_order[ind[e]]);
				if (f > 0)
					ind[++l2] = ind[e], val[l2] = (double)f;
			}
			k.row = glp_add_rows(g->lp, 1);
			k.next = g->cut_of[ng];
			glp_set_row_bnds(g->lp, k.row, GLP_UP, 0, m);
			glp_set_mat_row(g->lp, k.row, l2, ind, val);
			g->cuts[g->ncuts] = k;
			g->cut_of[ng] = g->ncuts++;
			added++;
			len = glp_get_mat_row(g->lp, g->row_ng[ng], ind, val);
		}
	}
out:
	free(ind), free(val), free(x), free(up);
	return added;
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

#define CG_LP_ORDERS 1000 /* larger waves move their duals by subgradient steps alone */

/*
 * One subgradient step on the stock and capacity duals (waves whose LP is too slow): g =
 * what the last priced plans take − what there is; Polyak's step towards the best plan's
 * value. Returns 1 when there is nowhere to go.
 */
static int subgradient_step(struct cg *g, double theta, double lbm)
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
		reset_stock(c);
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
				g->solo[i] = cost_of(&g->sub[i]);
				g->solo_fill[i] = fill_of(&g->sub[i]);
				pool_add(c, i, &g->sub[i]);
				g->solo_col[i] = pool_find(c, i, &g->sub[i]);
				added++;
				continue;
			}
			if (g->sub[i].status != SLV_EMPTY &&
			    (sg || cg_reduced(g, i, &g->sub[i]) < -1e-7 * (1 + fabs(g->pi[i]))))
				added += pool_add(c, i, &g->sub[i]) >= 0;
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
			if (theta < 1e-4 || subgradient_step(g, theta, lbm))
				break;
			continue;
		}
		if (!first && added == 0) { /* the LP is optimal: a plan from it, then cut it */
			if (cut_rounds == 0) {
				if ((rc = cg_round(g, plans, err)))
					return rc;
				glp_error_hook(on_glp_error, g->guard); /* slv_source reset it */
				keep_best(c, best, plans);
			}
			int nc = cut_rounds++ < CUT_ROUNDS ? cg_separate(g) : 0;
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
				if (g->col_plan[col] == pool_find(c, i, &best[i])) {
					glp_set_col_stat(g->lp, col, GLP_BS);
					glp_set_row_stat(g->lp, i + 1, GLP_NU);
				}
			}
		double left = until_ms - elapsed_ms(&c->t0);
		if (left < 1)
			break;
		sm.tm_lim = (int)left;
		double t_lp = elapsed_ms(&c->t0);
		int src = glp_simplex(g->lp, &sm);
		sm.meth = GLP_PRIMAL;
		if (src || glp_get_status(g->lp) != GLP_OPT)
			break;
		g->have_lp = true;
		cg_duals(g);
		/* an LP that takes much of the time left: move the duals by subgradient steps */
		sg = elapsed_ms(&c->t0) - t_lp > 0.3 * (until_ms - elapsed_ms(&c->t0));
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
		pool_add(c, i, &best[i]);
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
		fillc[col] = (double)fill_of(r);
		glp_set_col_kind(g->lp, col, GLP_BV);
		glp_set_obj_coef(g->lp, col, fillc[col]);
		if (same_plan(r, &best[i], w->orders[i].cand->prob.nitems))
			x[col] = 1;
	}
	int fill_row = glp_add_rows(g->lp, 1);
	glp_set_mat_row(g->lp, fill_row, ncols, ind, fillc);
	glp_smcp sm;
	glp_iocp io;
	struct master_cb cb = {x};
	quiet_params(&sm, &io, &cb);
	double fbest = (double)c->bfill;
	if (c->bfill < c->fill_bound) { /* phase 1: the most fill */
		glp_set_row_bnds(g->lp, fill_row, GLP_FR, 0, 0);
		glp_set_obj_dir(g->lp, GLP_MAX);
		if (!mip_within(g->lp, &sm, &io, until_ms - elapsed_ms(&c->t0)))
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
				 cost_of(&c->pool[g->col_order[col]].col[g->col_plan[col]]));
	if (!mip_within(g->lp, &sm, &io, until_ms - elapsed_ms(&c->t0)))
		goto out;
	if (fbest == (double)c->bfill && glp_mip_obj_val(g->lp) >= c->bcost - 1e-9 * c->bcost)
		goto out;
	for (int col = 1; col <= ncols; col++)
		x[col] = glp_mip_col_val(g->lp, col);
	for (int col = 1; col <= ncols; col++) {
		int i = g->col_order[col];
		if (x[col] > 0.5 && !chosen[i].ship &&
		    result_copy(&c->pool[i].col[g->col_plan[col]], w->orders[i].cand->prob.nitems,
				&chosen[i])) {
			rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
			goto out;
		}
	}
	for (int i = 0; i < O; i++)
		if (!chosen[i].ship)
			chosen[i].status = SLV_EMPTY;
	keep_best(c, best, chosen);
out:
	for (int i = 0; chosen && i < O; i++)
		slv_result_release(&chosen[i]);
	free(x), free(fillc), free(ind), free(chosen);
	return rc;
}

/* Column generation, a plan rounded from its LP, then the integer master, under GLPK's
 * error hook (a GLPK fault becomes FL_ESOLVER). */
static int cg_solve(struct cg *g, struct slv_result *best, struct slv_result *plans,
		    double cg_until, double lns_until, double mip_until, struct fl_err *err)
{
	struct guard gd;
	volatile int rc = 0;
	g->guard = &gd;
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &gd);
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
		if (!rc && g->have_lp && elapsed_ms(&g->c->t0) < mip_until) {
			rc = cg_round(g, plans, err);
			glp_error_hook(on_glp_error, &gd); /* slv_source set it back to none */
			if (!rc)
				keep_best(g->c, best, plans);
		}
		if (!rc && elapsed_ms(&g->c->t0) < lns_until)
			rc = lns(g, best, lns_until, err);
		glp_error_hook(on_glp_error, &gd);
		if (!rc && elapsed_ms(&g->c->t0) < mip_until)
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
	if ((rc = fill_bound(w, &c.fill_bound, g.cut_ng, g.cut_n))) {
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
	keep_best(&c, best, plans);

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
	if ((rc = cg_solve(&g, best, plans, cg_until, lns_until, mip_until, err)))
		goto out;
	double lb = g.have_lbm ? g.best_lbm + g.M * (double)c.bfill : -INFINITY;
	out->iterations = g.rounds;

	/* small waves: the exact whole-wave model closes what the bound leaves open */
	bool proved = false;
	struct model_run exact_run = {.plans = best,
				      .proved = &proved,
				      .until_ms = c.deadline_ms,
				      .fill_max = c.bfill == c.fill_bound};
	if (elapsed_ms(&c.t0) < c.deadline_ms &&
	    (c.bcost - (isfinite(lb) ? lb : 0)) > 1e-9 * c.bcost &&
	    (rc = run_model(&c, exact_body, &exact_run, "exact model", err)))
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
	reset_stock(&c);
	for (int i = 0; i < O; i++)
		order_stock(&c, i);
out:
	out->time_ms = elapsed_ms(&c.t0);
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
