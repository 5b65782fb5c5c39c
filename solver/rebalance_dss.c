/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Larger coupled problems: slope scaling over the per-SKU LPs, plans repaired and
 * completed, subgradient steps on the Lagrangian bound.
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

/* Units per lane in q (lane arcs only). */
static void lane_flows(const struct slv_rb_problem *p, const struct arcs *a, const long *q,
		       long *flow)
{
	memset(flow, 0, sizeof(long) * (size_t)p->nlanes);
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lane >= 0)
			flow[a->v[i].lane] += q[i];
}

/*
 * Make q respect the lane capacities (cut units off a full lane), then close the lanes
 * whose fixed cost exceeds what their units can save, (P − c) each. Cutting units only
 * raises shortages, so the plan stays feasible.
 */
static void repair(const struct slv_rb_problem *p, const struct arcs *a, long *q, long *flow)
{
	lane_flows(p, a, q, flow);
	for (size_t i = a->n; i-- > 0;) {
		const int l = a->v[i].lane;
		if (l < 0 || p->lanes[l].cap == FL_UNLIMITED || flow[l] <= p->lanes[l].cap)
			continue;
		const long cut =
			flow[l] - p->lanes[l].cap < q[i] ? flow[l] - p->lanes[l].cap : q[i];
		q[i] -= cut;
		flow[l] -= cut;
	}
	for (size_t i = 0; i < a->n; i++) {
		const int l = a->v[i].lane;
		if (l >= 0 && flow[l] > 0 &&
		    p->lanes[l].fixed > (double)flow[l] * (p->penalty - p->lanes[l].cost))
			q[i] = 0;
	}
	lane_flows(p, a, q, flow);
}

static int cmp_arc_cost(const void *x, const void *y, void *ctx)
{
	const struct slv_rb_problem *p = ctx;
	const struct arc *a = x, *b = y;
	const double ca = p->lanes[a->lane].cost, cb = p->lanes[b->lane].cost;
	return (ca > cb) - (ca < cb);
}

/*
 * Fill the shortage a repaired plan left, SKU by SKU, cheapest lane first, from the
 * slv__surplus and lane capacity that remain; a lane not yet used opens only if the units it
 * carries repay its fixed cost. Every addition keeps the plan feasible.
 */
static int complete(const struct slv_rb_problem *p, const struct arcs *a, long *q, long *flow)
{
	const int N = p->nnodes, K = p->nskus;
	long *pos = calloc((size_t)N + 1, sizeof(long)),
	     *sent = calloc((size_t)N + 1, sizeof(long));
	size_t *idx = malloc(sizeof(size_t) * (a->n + 1));
	struct arc *tmp = malloc(sizeof(struct arc) * (a->n + 1));
	if (!pos || !sent || !idx || !tmp) {
		free(pos), free(sent), free(idx), free(tmp);
		return FL_ENOMEM;
	}
	for (int k = 0; k < K; k++) {
		const size_t s = a->sku_start[k], e = a->sku_start[k + 1];
		size_t m = 0;
		for (size_t i = s; i < e; i++) {
			const struct arc *x = &a->v[i];
			pos[x->from] = p->avail[(size_t)x->from * K + k];
			pos[x->to] = p->avail[(size_t)x->to * K + k];
			sent[x->from] = sent[x->to] = 0;
		}
		for (size_t i = s; i < e; i++) {
			const struct arc *x = &a->v[i];
			if (x->lane < 0 || !q[i])
				continue;
			pos[x->from] -= q[i], pos[x->to] += q[i], sent[x->from] += q[i];
		}
		for (size_t i = s; i < e; i++)
			if (a->v[i].lane >= 0) {
				tmp[m] = a->v[i];
				tmp[m].ub = (long)i; /* where it came from */
				m++;
			}
		qsort_r(tmp, m, sizeof(*tmp), cmp_arc_cost, (void *)p);
		for (size_t t = 0; t < m; t++) {
			const size_t i = (size_t)tmp[t].ub;
			const struct arc *x = &a->v[i];
			const struct slv_rb_lane *l = &p->lanes[x->lane];
			const long own = p->avail[(size_t)x->from * K + k] - sent[x->from];
			const long spare = pos[x->from] - p->target[(size_t)x->from * K + k];
			const long need = p->target[(size_t)x->to * K + k] - pos[x->to];
			long add = own < spare ? own : spare;
			if (need < add)
				add = need;
			if (l->cap != FL_UNLIMITED && l->cap - flow[x->lane] < add)
				add = l->cap - flow[x->lane];
			if (add <= 0 || !(l->cost < p->penalty))
				continue;
			if (!flow[x->lane] && (double)add * (p->penalty - l->cost) <= l->fixed)
				continue;
			q[i] += add, flow[x->lane] += add;
			pos[x->from] -= add, pos[x->to] += add, sent[x->from] += add;
		}
	}
	free(pos), free(sent), free(idx), free(tmp);
	return 0;
}

int slv__plan_of(const struct slv_rb_problem *p, const struct arcs *a, const long *q,
		 struct slv_rb_result *r, struct fl_err *err)
{
	size_t cap = 0;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lane >= 0 && q[i] > 0 &&
		    slv__push_transfer(r, &cap, a->v[i].lane, a->v[i].sku, q[i]))
			return fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
	return slv_rebalance_check(p, r, err);
}

/*
 * Raise the Lagrangian bound by slv__subgradient steps on the SKU rows' multipliers (lam per
 * arc end, as slv__solve_sku writes them, is first gathered per row). The per-lane subproblem
 * also yields the x whose row sums give the slv__subgradient. Polyak steps towards ub.
 */
double slv__subgradient(const struct slv_rb_problem *p, const struct arcs *a, const double *lam0,
			double ub, double start, const struct timespec *t0, double limit)
{
	const size_t NK = (size_t)p->nnodes * p->nskus;
	double *ls = calloc(NK + 1, sizeof(double)), *ld = calloc(NK + 1, sizeof(double));
	double *gs = malloc(sizeof(double) * (NK + 1)), *gd = malloc(sizeof(double) * (NK + 1));
	double *lam = malloc(sizeof(double) * (2 * a->n + 1));
	double *x = malloc(sizeof(double) * (a->n + 1));
	double best = start, theta = 1;
	int stall = 0;

	if (!ls || !ld || !gs || !gd || !lam || !x)
		goto out;
	for (size_t i = 0; i < a->n; i++) {
		ls[(size_t)a->v[i].from * p->nskus + a->v[i].sku] = lam0[2 * i];
		ld[(size_t)a->v[i].to * p->nskus + a->v[i].sku] = lam0[2 * i + 1];
	}
	for (int it = 0; it < RB_SUBGRADIENT_ITERS && !slv__time_up(p, t0, limit); it++) {
		double base = 0;
		for (size_t i = 0; i < a->n; i++) {
			lam[2 * i] = ls[(size_t)a->v[i].from * p->nskus + a->v[i].sku];
			lam[2 * i + 1] = ld[(size_t)a->v[i].to * p->nskus + a->v[i].sku];
		}
		for (size_t ik = 0; ik < NK; ik++) {
			base += p->penalty * (double)p->target[ik] - ls[ik] * (double)p->avail[ik] -
				ld[ik] * (double)p->target[ik];
			gs[ik] = -(double)p->avail[ik];
			gd[ik] = -(double)p->target[ik];
		}
		const double L = slv__lagrangian(p, a, lam, base, x);
		if (!isfinite(L))
			break;
		if (L > best + 1e-9 * fabs(best)) {
			best = L;
			stall = 0;
		} else if (++stall >= 5) {
			theta /= 2;
			stall = 0;
		}
		/* slv__subgradient: row activity − right-hand side */
		for (size_t i = 0; i < a->n; i++) {
			gs[(size_t)a->v[i].from * p->nskus + a->v[i].sku] += x[i];
			gd[(size_t)a->v[i].to * p->nskus + a->v[i].sku] += x[i];
		}
		double norm = 0;
		for (size_t ik = 0; ik < NK; ik++) {
			if (ls[ik] <= 0 && gs[ik] < 0)
				gs[ik] = 0;
			if (ld[ik] <= 0 && gd[ik] < 0)
				gd[ik] = 0;
			norm += gs[ik] * gs[ik] + gd[ik] * gd[ik];
		}
		if (norm <= 0 || ub - L <= 1e-9 * fabs(ub))
			break;
		const double step = theta * (ub - L) / norm;
		for (size_t ik = 0; ik < NK; ik++) {
			ls[ik] = fmax(0, ls[ik] + step * gs[ik]);
			ld[ik] = fmax(0, ld[ik] + step * gd[ik]);
		}
	}
out:
	free(ls), free(ld), free(gs), free(gd), free(lam), free(x);
	return best;
}

/*
 * Large coupled problems: dynamic slope scaling. Each round solves every SKU's LP with
 * the lane's fixed cost spread over the units it carried last round (c + f / units),
 * repairs capacities and unprofitable lanes, and keeps the best plan; the SKU rows'
 * duals of each round give a Lagrangian lower bound, and the best bound is kept.
 */
int slv__slope_scaling(const struct slv_rb_problem *p, const struct arcs *a,
		       const struct timespec *t0, struct slv_rb_result *best, double *bound,
		       struct fl_err *err)
{
	const int L = p->nlanes;
	const double limit = p->time_limit_ms > 0 ? p->time_limit_ms : RB_DEFAULT_MS;
	double *cost = malloc(sizeof(double) * ((size_t)L + 1));
	long *q = malloc(sizeof(long) * (a->n + 1)), *flow = malloc(sizeof(long) * ((size_t)L + 1));
	double *lam = malloc(sizeof(double) * (2 * a->n + 1));
	double *lb = malloc(sizeof(double) * ((size_t)p->nskus + 1));
	long *room = calloc((size_t)L + 1, sizeof(long));
	double *best_lam = calloc(2 * a->n + 1, sizeof(double));
	double *over = calloc((size_t)L + 1, sizeof(double)); /* capacity prices */
	int rc = 0;

	*bound = -INFINITY;
	if (!cost || !q || !flow || !lam || !lb || !room || !best_lam || !over) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lane >= 0)
			room[a->v[i].lane] += a->v[i].ub;
	for (int l = 0; l < L; l++) {
		long u = room[l];
		if (p->lanes[l].cap != FL_UNLIMITED && p->lanes[l].cap < u)
			u = p->lanes[l].cap;
		cost[l] = p->lanes[l].cost + p->lanes[l].fixed / (double)(u > 0 ? u : 1);
	}
	struct pool w;
	/* warm rounds keep every SKU's LP: only while that stays a reasonable size */
	if (slv__pool_open(&w, p, a, q, lam, lb, a->n <= RB_KEEP_ARCS_MAX)) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto out;
	}
	double last = INFINITY;
	int flat = 0;
	for (int it = 0; it < RB_DSS_ROUNDS && !slv__time_up(p, t0, limit); it++) {
		if ((rc = slv__pool_round(&w, cost))) {
			fl_err_set(err, rc,
				   "rebalance: GLPK failed on a SKU's transportation problem");
			break;
		}
		const double lbnd = slv__lagrangian_bound(p, a, lam, lb);
		if (lbnd > *bound) {
			*bound = lbnd;
			memcpy(best_lam, lam, sizeof(double) * 2 * a->n);
		}
		lane_flows(p, a, q, flow);
		for (int l = 0; l < L; l++) {
			/* a lane over its capacity gets dearer next round: a price on it */
			const long c = p->lanes[l].cap;
			if (c != FL_UNLIMITED && flow[l] > c)
				over[l] += 0.5 * (p->penalty - p->lanes[l].cost) *
					   fmin(1, (double)(flow[l] - c) / (double)(c > 0 ? c : 1));
			else
				over[l] *= 0.5;
			if (flow[l] > 0)
				cost[l] = p->lanes[l].cost + over[l] +
					  p->lanes[l].fixed /
						  (double)(c != FL_UNLIMITED && c < flow[l]
								   ? (c > 0 ? c : 1)
								   : flow[l]);
		}
		repair(p, a, q, flow);
		if (complete(p, a, q, flow)) {
			rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
			break;
		}
		struct slv_rb_result r;
		if ((rc = slv__plan_of(p, a, q, &r, err)))
			break;
		if (getenv("FULCRUM_RB_TRACE"))
			fprintf(stderr,
				"rebalance: round %d: plan %.2f (best %.2f), bound %.2f, %.0f ms\n",
				it, r.total, best->total, *bound, slv__ms_since(t0));
		if (r.total < best->total - 1e-9) {
			slv_rb_release(best);
			*best = r;
		} else {
			slv_rb_release(&r);
		}
		/* converged: two rounds in a row within 0.2 % of the best so far */
		flat = best->total > last * (1 - RB_DSS_FLAT) ? flat + 1 : 0;
		last = best->total;
		if (flat >= 2)
			break;
	}
	slv__pool_close(&w);
	if (rc)
		goto out;
	/* the rest of the time raises the bound */
	if (isfinite(*bound))
		*bound = slv__subgradient(p, a, best_lam, best->total, *bound, t0, limit);
out:
	free(cost), free(q), free(flow), free(lam), free(lb), free(room), free(best_lam),
		free(over);
	return rc;
}
