/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rebalance_internal.h — what the files of the rebalancing solver share (solver/
 * rebalance*.c): the flow view's arcs and the functions one phase lends another.
 * Private to solver/; its names carry slv__.
 */
#ifndef FULCRUM_SOLVER_REBALANCE_INTERNAL_H
#define FULCRUM_SOLVER_REBALANCE_INTERNAL_H

#include <glpk.h>
#include <setjmp.h>
#include <stdbool.h>
#include <time.h>

#include "rebalance.h"
#include "solver.h"

#define RB_DEFAULT_MS 10000
#define RB_MIP_ARCS_MAX 4000 /* coupled problems up to this many arcs: the exact MIP */
#define RB_DSS_ROUNDS 12     /* slope-scaling rounds for larger coupled problems */
#define RB_SUBGRADIENT_ITERS 100
#define RB_DSS_FLAT 0.002	      /* slope scaling stops when a round gains less */
#define RB_KEEP_ARCS_MAX 1000000      /* arcs up to which the SKUs' LPs stay between rounds */
#define RB_ARCS_MAX ((size_t)1 << 28) /* arcs (and transfers) one problem may have: FL_ELIMIT */

/*
 * The flow view: node i's stock a_ik either stays (a "keep" arc, lane −1) or leaves on a
 * lane; node j's target t_jk is covered by what stays and what arrives. So a node may
 * send its own units while receiving others (a relay where no direct lane is cheap).
 */
struct arc {
	int lane, sku; /* lane −1: the stock that stays at `from` */
	int from, to;
	long ub; /* min(a at the source, t at the destination) */
};

struct arcs {
	struct arc *v;
	size_t n, cap;
	size_t *sku_start; /* arcs of SKU k: [sku_start[k], sku_start[k + 1]) */
};

struct guard {
	jmp_buf jb;
};

/*
 * The per-SKU LPs on a persistent pool (fl_pool): worker t owns SKUs k ≡ t (mod T) and
 * their LPs (GLPK objects belong to the thread that made them) for every round. Worker 0
 * is the caller.
 */
struct pool {
	const struct slv_rb_problem *p;
	const struct arcs *a;
	const double *cost; /* per lane: the (linearised) unit cost of this round */
	long *q;	    /* per arc */
	double *lam;	    /* per arc: two multipliers */
	double *lb;	    /* per SKU: Σ λ·b */
	glp_prob **lps;	    /* per SKU, kept between rounds */
	int *arow;	    /* per arc: its source and destination rows in its SKU's LP */
	int threads;	    /* the pool's size: SKU k belongs to worker k % threads */
	bool keep;	    /* keep each SKU's LP for the next round (else free it at once) */
	atomic_int failed;
	struct fl_pool *workers; /* persistent: each keeps its GLPK environment warm */
};

/* rebalance.c */
void slv__arcs_release(struct arcs *a);
int slv__begin(const struct slv_rb_problem *p, struct slv_rb_result *r, struct arcs *a,
	       bool *coupled, struct timespec *t0, struct fl_err *err);
long slv__deficit(const struct slv_rb_problem *p, int i, int k);
double slv__ms_since(const struct timespec *t0);
/* Make r keep p's lot rules (rebalance_lots.c), its costs recomputed. */
int slv__lots(const struct slv_rb_problem *p, struct slv_rb_result *r, struct fl_err *err);
/* Time is up: limit ms since t0, or the caller's stop flag. */
bool slv__time_up(const struct slv_rb_problem *p, const struct timespec *t0, double limit);
int slv__push_transfer(struct slv_rb_result *r, size_t *cap, int lane, int sku, long qty);
long slv__surplus(const struct slv_rb_problem *p, int i, int k);

/* rebalance_lp.c */
void slv__rb_on_glp_error(void *info);
void slv__pool_close(struct pool *w);
int slv__pool_open(struct pool *w, const struct slv_rb_problem *p, const struct arcs *a, long *q,
		   double *lam, double *lb, bool keep);
int slv__pool_round(struct pool *w, const double *cost);
int slv__solve_sku(const struct slv_rb_problem *p, const double *cost, const struct arc *v,
		   size_t n, glp_prob **keep, int *arow, long *q, double *lam, double *lb);
int slv__solve_skus(const struct slv_rb_problem *p, const struct arcs *a, const double *cost,
		    long *q, double *lam, double *lb);

/* rebalance_mip.c */
double slv__lagrangian(const struct slv_rb_problem *p, const struct arcs *a, const double *lam,
		       double base, double *x);
double slv__lagrangian_bound(const struct slv_rb_problem *p, const struct arcs *a,
			     const double *lam, const double *lb);
int slv__solve_coupled(const struct slv_rb_problem *p, const struct arcs *a,
		       const struct slv_rb_result *greedy, long *q, double *bound, bool *optimal);

/* rebalance_dss.c */
int slv__plan_of(const struct slv_rb_problem *p, const struct arcs *a, const long *q,
		 struct slv_rb_result *r, struct fl_err *err);
int slv__slope_scaling(const struct slv_rb_problem *p, const struct arcs *a,
		       const struct timespec *t0, struct slv_rb_result *best, double *bound,
		       struct fl_err *err);
double slv__subgradient(const struct slv_rb_problem *p, const struct arcs *a, const double *lam0,
			double ub, double start, const struct timespec *t0, double limit);

#endif
