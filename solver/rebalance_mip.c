/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Coupled problems up to RB_MIP_ARCS_MAX arcs: one MIP over every SKU, and the
 * Lagrangian bound.
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

struct lane_rc {
	double rc;
	long ub;
};

static int cmp_rc(const void *a, const void *b)
{
	const double x = ((const struct lane_rc *)a)->rc, y = ((const struct lane_rc *)b)->rc;
	return (x > y) - (x < y);
}

/*
 * The Lagrangian relaxation of the SKU rows at multipliers λ (two per arc: its source
 * and destination rows): base + Σ_keep min(0, rc)·ub + Σ_lanes min(0, f + the best fill
 * of its arcs with rc = c − P + λ_from + λ_to < 0 up to its capacity), where base is
 * P Σ t − Σ λ·b. Valid as a lower bound for any λ ≥ 0. With x, the subproblem's solution
 * (units per arc) is written too: the slv__subgradient needs it. (struct lane_rc's ub holds
 * the arc's index while a lane's arcs are gathered.) -INFINITY when out of memory.
 */
double slv__lagrangian(const struct slv_rb_problem *p, const struct arcs *a, const double *lam,
		       double base, double *x)
{
	double L = base;
	struct lane_rc *buf = malloc(sizeof(*buf) * (a->n + 1));
	size_t *first = malloc(sizeof(size_t) * ((size_t)p->nlanes + 1));
	size_t *cnt = calloc((size_t)p->nlanes + 1, sizeof(size_t));
	if (!buf || !first || !cnt) {
		free(buf), free(first), free(cnt);
		return -INFINITY;
	}
	for (size_t i = 0; i < a->n; i++) {
		const double rc = (a->v[i].lane < 0 ? 0 : p->lanes[a->v[i].lane].cost) -
				  p->penalty + lam[2 * i] + lam[2 * i + 1];
		if (x)
			x[i] = 0;
		if (a->v[i].lane >= 0) {
			cnt[a->v[i].lane] += rc < 0;
		} else if (rc < 0) {
			L += rc * (double)a->v[i].ub;
			if (x)
				x[i] = (double)a->v[i].ub;
		}
	}
	size_t off = 0;
	for (int l = 0; l < p->nlanes; l++)
		first[l] = off, off += cnt[l], cnt[l] = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].lane < 0)
			continue;
		const double rc =
			p->lanes[a->v[i].lane].cost - p->penalty + lam[2 * i] + lam[2 * i + 1];
		if (rc < 0)
			buf[first[a->v[i].lane] + cnt[a->v[i].lane]++] =
				(struct lane_rc){rc, (long)i};
	}
	for (int l = 0; l < p->nlanes; l++) {
		struct lane_rc *v = buf + first[l];
		double left = p->lanes[l].cap == FL_UNLIMITED ? INFINITY : (double)p->lanes[l].cap;
		double room = 0;
		for (size_t j = 0; j < cnt[l]; j++)
			room += (double)a->v[v[j].ub].ub;
		if (room > left) /* the capacity binds: the most negative first */
			qsort(v, cnt[l], sizeof(*v), cmp_rc);
		double val = p->lanes[l].fixed;
		size_t used = 0;
		for (size_t j = 0; j < cnt[l] && left > 0; j++, used++) {
			const double u = fmin(left, (double)a->v[v[j].ub].ub);
			val += v[j].rc * u;
			left -= u;
			if (x)
				x[v[j].ub] = u;
		}
		if (val < 0)
			L += val;
		else if (x) /* the lane stays closed */
			for (size_t j = 0; j < used; j++)
				x[v[j].ub] = 0;
	}
	free(buf), free(first), free(cnt);
	return L;
}

/* The bound at the multipliers the SKU LPs' duals give (lb: Σ λ·b per SKU). */
double slv__lagrangian_bound(const struct slv_rb_problem *p, const struct arcs *a,
			     const double *lam, const double *lb)
{
	double base = 0;
	for (size_t ik = 0; ik < (size_t)p->nnodes * p->nskus; ik++)
		base += p->penalty * (double)p->target[ik];
	for (int k = 0; k < p->nskus; k++)
		base -= lb[k];
	return slv__lagrangian(p, a, lam, base, NULL);
}

struct mip_cb {
	const double *x0; /* the incumbent (columns 1…n), or NULL */
	double bound;
	atomic_bool *stop;
};

static void mip_callback(glp_tree *tree, void *info)
{
	struct mip_cb *c = info;
	if (c->stop && atomic_load(c->stop)) {
		glp_ios_terminate(tree); /* as at the time limit: the incumbent stands */
		return;
	}
	if (glp_ios_reason(tree) == GLP_IHEUR && glp_ios_curr_node(tree) == 1 && c->x0)
		glp_ios_heur_sol(tree, c->x0);
	const int best = glp_ios_best_node(tree);
	if (best)
		c->bound = glp_ios_node_bound(tree, best);
}

/*
 * The coupled model over every SKU. Columns: x per arc (integer), then y per lane that has
 * arcs and a fixed cost. Rows: supply (i, k) and demand (j, k), x ≤ ub·y per arc of a
 * fixed lane, and Σ_k x ≤ cap (·y) per capped lane.
 */
int slv__solve_coupled(const struct slv_rb_problem *p, const struct arcs *a,
		       const struct slv_rb_result *greedy, long *q, double *bound, bool *optimal)
{
	const size_t n = a->n;
	const int L = p->nlanes;
	int *ycol = calloc((size_t)L + 1, sizeof(int)),
	    *caprow = calloc((size_t)L + 1, sizeof(int));
	int *srow = NULL, *drow = NULL;
	const size_t nzcap = 5 * n + (size_t)L + 1; /* per arc ≤ 5 entries, per lane 1 */
	int *ia = malloc(sizeof(int) * nzcap), *ja = malloc(sizeof(int) * nzcap);
	double *ar = malloc(sizeof(double) * nzcap), *x0 = NULL;
	glp_prob *lp = glp_create_prob();
	int rc = 0, rows = 0, nz = 0;

	srow = calloc((size_t)p->nnodes, sizeof(int));
	drow = calloc((size_t)p->nnodes, sizeof(int));
	if (!ycol || !caprow || !ia || !ja || !ar || !srow || !drow) {
		rc = FL_ENOMEM;
		goto out;
	}
	glp_set_obj_dir(lp, GLP_MIN);
	glp_add_cols(lp, (int)n);
	int cols = (int)n;
	for (size_t i = 0; i < n; i++) {
		glp_set_col_kind(lp, (int)i + 1, GLP_IV);
		glp_set_col_bnds(lp, (int)i + 1, GLP_DB, 0, (double)a->v[i].ub);
		if (a->v[i].lane < 0) {
			glp_set_obj_coef(lp, (int)i + 1, -p->penalty);
			continue;
		}
		const struct slv_rb_lane *l = &p->lanes[a->v[i].lane];
		glp_set_obj_coef(lp, (int)i + 1, l->cost - p->penalty);
		if (l->fixed > 0 && !ycol[a->v[i].lane]) {
			ycol[a->v[i].lane] = ++cols;
			glp_add_cols(lp, 1);
			glp_set_col_kind(lp, cols, GLP_BV);
			glp_set_obj_coef(lp, cols, l->fixed);
		}
		if (l->cap != FL_UNLIMITED && !caprow[a->v[i].lane]) {
			caprow[a->v[i].lane] = ++rows;
			glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, rows, GLP_UP, 0, l->fixed > 0 ? 0 : (double)l->cap);
		}
	}
	/* supply and demand rows, SKU by SKU (rows are per (node, SKU): reset per SKU) */
	for (int k = 0; k < p->nskus; k++) {
		for (size_t i = a->sku_start[k]; i < a->sku_start[k + 1]; i++)
			srow[a->v[i].from] = drow[a->v[i].to] = 0;
		for (size_t i = a->sku_start[k]; i < a->sku_start[k + 1]; i++) {
			const struct arc *x = &a->v[i];
			const int col = (int)i + 1;
			if (!srow[x->from]) {
				srow[x->from] = ++rows;
				glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, rows, GLP_UP, 0,
						 (double)p->avail[(size_t)x->from * p->nskus + k]);
			}
			if (!drow[x->to]) {
				drow[x->to] = ++rows;
				glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, rows, GLP_UP, 0,
						 (double)p->target[(size_t)x->to * p->nskus + k]);
			}
			ia[++nz] = srow[x->from], ja[nz] = col, ar[nz] = 1;
			ia[++nz] = drow[x->to], ja[nz] = col, ar[nz] = 1;
			if (x->lane < 0)
				continue;
			if (caprow[a->v[i].lane])
				ia[++nz] = caprow[a->v[i].lane], ja[nz] = col, ar[nz] = 1;
			if (ycol[a->v[i].lane]) {
				/* strong linking: x ≤ ub · y, one row per arc */
				glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, ++rows, GLP_UP, 0, 0);
				ia[++nz] = rows, ja[nz] = col, ar[nz] = 1;
				ia[++nz] = rows, ja[nz] = ycol[a->v[i].lane],
				ar[nz] = -(double)a->v[i].ub;
			}
		}
	}
	for (int l = 0; l < L; l++)
		if (caprow[l] && ycol[l]) {
			ia[++nz] = caprow[l], ja[nz] = ycol[l], ar[nz] = -(double)p->lanes[l].cap;
		}
	glp_load_matrix(lp, nz, ia, ja, ar);

	/* the greedy plan as the incumbent */
	x0 = calloc((size_t)cols + 1, sizeof(double));
	if (!x0) {
		rc = FL_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) /* greedy sends slv__surplus only: all of min(a, t) stays */
		if (a->v[i].lane < 0)
			x0[i + 1] = (double)a->v[i].ub;
	for (size_t t = 0; t < greedy->nt; t++) {
		const struct slv_rb_transfer *g = &greedy->t[t];
		for (size_t i = a->sku_start[g->sku]; i < a->sku_start[g->sku + 1]; i++)
			if (a->v[i].lane == g->lane) {
				x0[i + 1] += (double)g->qty;
				if (ycol[g->lane])
					x0[ycol[g->lane]] = 1;
			}
	}
	glp_smcp sm;
	glp_init_smcp(&sm);
	sm.msg_lev = GLP_MSG_OFF;
	sm.meth = GLP_DUALP;
	sm.tm_lim = p->time_limit_ms > 0 ? p->time_limit_ms : RB_DEFAULT_MS;
	if (glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT) {
		rc = FL_ESOLVER;
		goto out;
	}
	struct mip_cb cb = {.x0 = x0, .bound = glp_get_obj_val(lp), .stop = p->stop};
	glp_iocp io;
	glp_init_iocp(&io);
	io.msg_lev = GLP_MSG_OFF;
	io.tm_lim = sm.tm_lim;
	io.cb_func = mip_callback;
	io.cb_info = &cb;
	io.mip_gap = 1e-6;
	const int st = glp_intopt(lp, &io);
	const int ms = glp_mip_status(lp);
	if ((st && st != GLP_ETMLIM && st != GLP_EMIPGAP && st != GLP_ESTOP) ||
	    (ms != GLP_OPT && ms != GLP_FEAS)) {
		rc = FL_ESOLVER;
		goto out;
	}
	*optimal = ms == GLP_OPT;
	*bound = *optimal ? glp_mip_obj_val(lp) : cb.bound;
	for (size_t i = 0; i < n; i++)
		q[i] = lround(glp_mip_col_val(lp, (int)i + 1));
out:
	glp_delete_prob(lp);
	free(ycol), free(caprow), free(srow), free(drow), free(ia), free(ja), free(ar), free(x0);
	return rc;
}
