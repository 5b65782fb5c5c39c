/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One transportation LP per SKU, warm between rounds, on a persistent pool of workers
 * (GLPK's objects belong to the thread that made them).
 */
#include <glpk.h>
#include <math.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rebalance_internal.h"

void slv__rb_on_glp_error(void *info)
{
	longjmp(((struct guard *)info)->jb, 1);
}

/*
 * One SKU's transportation LP in the flow view: rows are the sources (≤ a) and the
 * destinations (≤ t) of its arcs; column costs are cost[lane] − P (keep arcs: −P).
 * Built once; later rounds (slope scaling) change only the costs and re-solve from the
 * kept basis with the primal simplex, which stays feasible. Writes each arc's units into
 * q and, for the Lagrangian bound, the multipliers of its two rows (λ = −dual ≥ 0) into
 * lam[2 * arc] and lam[2 * arc + 1], and Σ λ·b into *lb.
 */
int slv__solve_sku(const struct slv_rb_problem *p, const double *cost, const struct arc *v,
		   size_t n, glp_prob **keep, int *arow, long *q, double *lam, double *lb)
{
	glp_prob *lp = *keep;
	int rc = 0;
	const bool warm = lp != NULL;

	if (!lp) {
		lp = glp_create_prob();
		int *row_of = calloc(2 * (size_t)p->nnodes, sizeof(int));
		int *ia = malloc(sizeof(int) * (2 * n + 1)),
		    *ja = malloc(sizeof(int) * (2 * n + 1));
		double *ar = malloc(sizeof(double) * (2 * n + 1));
		if (!row_of || !ia || !ja || !ar) {
			free(row_of), free(ia), free(ja), free(ar);
			glp_delete_prob(lp);
			return FL_ENOMEM;
		}
		glp_set_obj_dir(lp, GLP_MIN);
		int rows = 0, nz = 0;
		glp_add_cols(lp, (int)n);
		for (size_t i = 0; i < n; i++) {
			const int col = (int)i + 1;
			glp_set_col_bnds(lp, col, GLP_DB, 0, (double)v[i].ub);
			for (int side = 0; side < 2; side++) {
				const int node = side ? v[i].to : v[i].from;
				int *r = &row_of[2 * node + side];
				if (!*r) {
					*r = ++rows;
					glp_add_rows(lp, 1);
					const size_t ik = (size_t)node * p->nskus + v[i].sku;
					glp_set_row_bnds(
						lp, rows, GLP_UP, 0,
						(double)(side ? p->target[ik] : p->avail[ik]));
				}
				++nz;
				ia[nz] = *r, ja[nz] = col, ar[nz] = 1;
				arow[2 * i + side] = *r;
			}
		}
		glp_load_matrix(lp, nz, ia, ja, ar);
		free(row_of), free(ia), free(ja), free(ar);
	}
	for (size_t i = 0; i < n; i++)
		glp_set_obj_coef(lp, (int)i + 1,
				 (v[i].lane < 0 ? 0 : cost[v[i].lane]) - p->penalty);
	glp_smcp sm;
	glp_init_smcp(&sm);
	sm.msg_lev = GLP_MSG_OFF;
	sm.meth = warm ? GLP_PRIMAL : GLP_DUALP;
	if (glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT) {
		rc = FL_ESOLVER;
		goto out;
	}
	const int rows = glp_get_num_rows(lp);
	for (size_t i = 0; i < n; i++) {
		q[i] = lround(glp_get_col_prim(lp, (int)i + 1));
		lam[2 * i] = fmax(0, -glp_get_row_dual(lp, arow[2 * i]));
		lam[2 * i + 1] = fmax(0, -glp_get_row_dual(lp, arow[2 * i + 1]));
	}
	*lb = 0;
	for (int r = 1; r <= rows; r++)
		*lb += fmax(0, -glp_get_row_dual(lp, r)) * glp_get_row_ub(lp, r);
out:
	if (rc) {
		glp_delete_prob(lp);
		lp = NULL;
	}
	*keep = lp;
	return rc;
}

static void run_share(struct pool *w, int t)
{
	for (int k = t; k < w->p->nskus && !atomic_load(&w->failed); k += w->threads) {
		const size_t s = w->a->sku_start[k], n = w->a->sku_start[k + 1] - s;
		w->lb[k] = 0;
		if (n && slv__solve_sku(w->p, w->cost, w->a->v + s, n, &w->lps[k], w->arow + 2 * s,
					w->q + s, w->lam + 2 * s, &w->lb[k]))
			atomic_store(&w->failed, FL_ESOLVER);
		if (!w->keep && w->lps[k]) {
			glp_delete_prob(w->lps[k]);
			w->lps[k] = NULL;
		}
	}
}

/* Run thread t's share with GLPK faults caught; on a fault its LPs are gone. */
static void forget_share(struct pool *w, int t)
{
	for (int k = t; k < w->p->nskus; k += w->threads)
		w->lps[k] = NULL;
}

static void guarded_share(void *ctx, const int t)
{
	struct pool *w = ctx;
	struct guard g;
	volatile int tv = t;
	glp_term_out(GLP_OFF);
	glp_error_hook(slv__rb_on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_error_hook(NULL, NULL);
		glp_free_env(); /* this thread's LPs with it */
		forget_share(w, tv);
		atomic_store(&w->failed, FL_ESOLVER);
		return;
	}
	run_share(w, tv);
	glp_error_hook(NULL, NULL);
}

/* At the end: each worker but the caller frees its GLPK environment (its LPs with it);
 * the caller deletes its own share's LPs. */
static void free_share(void *ctx, const int t)
{
	struct pool *w = ctx;
	if (t == 0) {
		for (int k = 0; k < w->p->nskus; k += w->threads)
			if (w->lps[k])
				glp_delete_prob(w->lps[k]);
		return;
	}
	glp_free_env();
}

int slv__pool_open(struct pool *w, const struct slv_rb_problem *p, const struct arcs *a, long *q,
		   double *lam, double *lb, bool keep)
{
	memset(w, 0, sizeof(*w));
	w->p = p, w->a = a, w->q = q, w->lam = lam, w->lb = lb;
	w->keep = keep;
	int threads = p->threads < 1 ? 1 : p->threads > FL_POOL_MAX ? FL_POOL_MAX : p->threads;
	if (threads > p->nskus)
		threads = p->nskus > 0 ? p->nskus : 1;
	w->lps = calloc((size_t)p->nskus + 1, sizeof(*w->lps));
	w->arow = malloc(sizeof(int) * (2 * a->n + 1));
	if (!w->lps || !w->arow || fl_pool_create(threads, &w->workers)) {
		free(w->lps), free(w->arow);
		return FL_ENOMEM;
	}
	w->threads = fl_pool_size(w->workers); /* fewer when the system refused a thread */
	return 0;
}

/* Every SKU's LP at the given lane costs, warm from the last round. */
int slv__pool_round(struct pool *w, const double *cost)
{
	w->cost = cost;
	fl_pool_each(w->workers, guarded_share, w);
	return atomic_load(&w->failed);
}

void slv__pool_close(struct pool *w)
{
	fl_pool_each(w->workers, free_share, w);
	fl_pool_destroy(w->workers);
	free(w->lps), free(w->arow);
}

/* One round on a throwaway pool (the uncoupled case needs only one). */
int slv__solve_skus(const struct slv_rb_problem *p, const struct arcs *a, const double *cost,
		    long *q, double *lam, double *lb)
{
	struct pool w;
	if (slv__pool_open(&w, p, a, q, lam, lb, false))
		return FL_ENOMEM;
	const int rc = slv__pool_round(&w, cost);
	slv__pool_close(&w);
	return rc;
}
