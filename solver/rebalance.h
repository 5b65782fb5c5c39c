/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rebalance.h — DATA.md's rebalancing problem: whole-unit transfers x_ijk on lanes so
 * that Σ_j x_ijk ≤ a_ik, Σ_k x_ijk ≤ capacity of lane (i, j), shortage
 * s_jk ≥ t_jk − (a_jk − out_jk + in_jk), minimising Σ c x + Σ fixed [lane used] + P Σ s.
 *
 * Structure, not brute force. In the flow view each node's stock a_ik either stays (and
 * covers its own target) or leaves on a lane; each target t_jk is covered by what stays
 * and what arrives. Only lanes with c < P can pay. So a node may send its own units while
 * receiving others' (a relay where no cheap direct lane exists), and each SKU is a
 * bipartite transportation problem.
 *  - Uncoupled (no lane used has a capacity or a fixed cost): the SKUs are independent;
 *    each SKU's transportation LP is solved by GLPK's dual simplex (its matrix is totally
 *    unimodular, so the vertex is whole units), SKUs spread over `threads` threads.
 *  - Coupled, up to RB_MIP_ARCS_MAX arcs: one GLPK MIP over every SKU, with binary
 *    lane-use variables, the strong (disaggregated) x_lk ≤ min(a, t) · y_l and shared
 *    capacities, started from the greedy plan as incumbent; it stops at the time limit
 *    with the gap to GLPK's bound.
 *  - Coupled and larger: dynamic slope scaling (every SKU's LP with each lane's fixed
 *    cost spread over the units it carried the round before, then capacities and
 *    unprofitable lanes repaired) keeps the best plan; a Lagrangian relaxation of the
 *    SKU rows (multipliers from the LPs' duals, then subgradient steps) proves a lower
 *    bound, so the gap reported is a proved one.
 * Lot rules (min_units, case packs) are kept by rounding the plan found without them,
 * line by line, at least cost (rebalance_lots.c); the bound without them bounds the plan
 * with them, so the gap answered stays proved.
 *
 * Ownership: inputs borrowed; slv_rb_result owned by the caller (slv_rb_release).
 * Errors: 0, or FL_EINVAL / FL_ENOMEM / FL_ESOLVER with detail. Threads: reentrant.
 */
#ifndef FULCRUM_SOLVER_REBALANCE_H
#define FULCRUM_SOLVER_REBALANCE_H

#include <stdatomic.h>

#include "data/model.h"

struct slv_rb_lane {
	int from, to; /* node indices */
	double cost;  /* per unit */
	double fixed; /* when the lane carries anything */
	long cap;     /* units over all SKUs, or FL_UNLIMITED */
};

struct slv_rb_problem {
	int nnodes, nskus, nlanes;
	const struct slv_rb_lane *lanes; /* usable lanes only (lead within the horizon) */
	const long *avail;		 /* a_ik at [i * nskus + k], >= 0 */
	const long *target;		 /* t_ik, >= 0 */
	double penalty;			 /* per unit short, > 0 */
	int time_limit_ms;		 /* coupled MIP; 0 = default 10 s */
	int threads;			 /* uncoupled: SKUs in parallel */
	atomic_bool *stop; /* may be NULL; once set, coupled searches stop as at the limit */
	long min_units;	   /* no transfer line below it (0, 1: none) */
	const long *pack;  /* per SKU: lines in whole case packs (NULL: 1) */
};

struct slv_rb_transfer {
	int lane, sku;
	long qty;
};

struct slv_rb_result {
	struct slv_rb_transfer *t;
	size_t nt;
	double transfer_cost, fixed_cost, shortage_cost, total;
	long short_before, short_after; /* units */
	double bound, gap;		/* a proved lower bound on total; (total − bound)/total */
	bool optimal, coupled;
	double ms;
	int lanes_used;
	const char *method;  /* how the plan was found (static text) */
	bool rounded;	     /* then rounded to the lot rules (bound: the plan's without them) */
	double greedy_total; /* the baseline's cost (slv_rebalance fills it in) */
	size_t greedy_transfers;
};

int slv_rebalance(const struct slv_rb_problem *p, struct slv_rb_result *r, struct fl_err *err);
/* The baseline: each deficit, largest first, from the cheapest lane with surplus. */
int slv_rebalance_greedy(const struct slv_rb_problem *p, struct slv_rb_result *r,
			 struct fl_err *err);
/* The full model of DATA.md as written (no reductions), in CPLEX LP format. */
int slv_rebalance_export_lp(const struct slv_rb_problem *p, const char *path, struct fl_err *err);
/* Recompute the costs of r's transfers under p; FL_EINVAL if any constraint is broken. */
int slv_rebalance_check(const struct slv_rb_problem *p, struct slv_rb_result *r,
			struct fl_err *err);
void slv_rb_release(struct slv_rb_result *r);
/* Does p have lot rules (a minimum line above 1, a case pack above 1)? */
bool slv_rb_has_lots(const struct slv_rb_problem *p);

#endif
