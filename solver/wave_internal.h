/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * wave_internal.h — what the files of the wave solver share (solver/wave*.c): the
 * wave's context, the models' buffers, the master's state. Private to solver/; its
 * names carry slv__. The phases and the method are described in wave.c.
 */
#ifndef FULCRUM_SOLVER_WAVE_INTERNAL_H
#define FULCRUM_SOLVER_WAVE_INTERNAL_H

#include <glpk.h>
#include <setjmp.h>
#include <stdbool.h>
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

struct guard {
	jmp_buf jb;
};

struct master_cb {
	double *x; /* the incumbent, by column (1-based) */
};

/* The master's buffers: owned by master(), so a GLPK fault (longjmp) frees them too. */
struct mbuf {
	int *first, *row_ng, *row_n, *ind, *ia, *ja;
	double *val, *x, *ar;
	size_t nz, capz;
	glp_prob *lp;
};

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

/* ---- column generation: a master LP over the pooled plans, priced by every order ---- */

/*
 * The master: at most one plan per order (row i + 1), shared stock rows per (node, SKU)
 * and capacity rows per node, made when a column first touches them. Its objective is
 * Σ (cost − M · fill): with M at least the fill row's dual, the LP bounds the least cost
 * at the most fill (see slv__cg_round's caller). The same problem, its columns made binary
 * and a fill row added, is the integer master at the end.
 */
struct cut {
	long ng;	  /* the stock row */
	long atp;	  /* its right-hand side before rounding */
	int m, row, next; /* the cut's right-hand side, master row, the row's next cut */
	int special;	  /* -1; or the one order whose units count rounded up (slv__cut_coef) */
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
	/* rank-1 Chvátal–Gomory cuts on stock rows (see slv__cut_coef) */
	struct cut *cuts;
	int ncuts, cutcap;
	int *cut_of;			 /* per (node, SKU): its first cut, -1 if none */
	long *ung, *ua;			 /* slv__plan_usage's scratch */
	double *glam, *gmu, *dlam, *dmu; /* slv__subgradient_step's */
	unsigned char *cut_ng, *cut_n;	 /* the fill's minimum cut (slv__fill_bound) */
	int ucap;
	double best_lbm; /* the best Σ v − Σ λ·atp − Σ μ·cap − Σ σ·rhs seen */
	bool have_lbm, have_lp;
	int rounds;
};

#define CG_LP_ORDERS 1000 /* larger waves move their duals by subgradient steps alone */

#define CUT_ROUNDS 8 /* separation rounds */
#define CUT_MMAX 8   /* right-hand sides 1 … CUT_MMAX */

/* an order's share of one plan in the master's LP (slv__cg_round, slv__lns) */
struct zorder {
	double z;
	int i, col;
	bool frac; /* some plan of the order has a fractional share */
};

/* wave.c */
double slv__cost_of(const struct slv_result *r);
int slv__decide_one(struct wctx *c, int i, struct slv_result *plans, struct fl_err *err);
double slv__elapsed_ms(const struct timespec *t0);
long slv__fill_of(const struct slv_result *r);
bool slv__fits(const struct wctx *c, int i, const struct slv_result *r);
int slv__improve(struct wctx *c, struct slv_result *plans, struct fl_err *err);
void slv__keep_best(struct wctx *c, struct slv_result *best, struct slv_result *cand);
void slv__order_stock(struct wctx *c, int i);
int slv__pool_add(struct wctx *c, int i, const struct slv_result *r);
int slv__pool_find(const struct wctx *c, int i, const struct slv_result *r);
void slv__reset_stock(struct wctx *c);
int slv__result_copy(const struct slv_result *src, int K, struct slv_result *dst);
bool slv__same_plan(const struct slv_result *a, const struct slv_result *b, int K);
void slv__take(struct wctx *c, int i, const struct slv_result *r, int sign);
void slv__totals(const struct slv_wave *w, const struct slv_result *plans, long *fill,
		 double *cost);
long slv__want_of(const struct slv_wave_order *o);
void slv__whole_or_none(const struct slv_wave_order *o, struct slv_result *r);

/* wave_exact.c */
int slv__exact_body(struct wctx *c, struct mbuf *m, struct model_run *run, struct fl_err *err);
void slv__on_glp_error(void *info);
void slv__quiet_params(glp_smcp *sm, glp_iocp *io, struct master_cb *cb);
int slv__run_model(struct wctx *c, model_body_fn *body, struct model_run *run, const char *what,
		   struct fl_err *err);

/* wave_fill.c */
int slv__fill_bound(const struct slv_wave *w, long *ub, unsigned char *cut_ng,
		    unsigned char *cut_n);

/* wave_master.c */
int slv__cg_round(struct cg *g, struct slv_result *plans, struct fl_err *err);
int slv__cg_solve(struct cg *g, struct slv_result *best, struct slv_result *plans, double cg_until,
		  double lns_until, double mip_until, struct fl_err *err);
long slv__cut_coef(const struct cut *k, long a, int i);
int slv__plan_usage(const struct slv_wave *w, int i, const struct slv_result *r, long *ng, long *a);
int slv__subgradient_step(struct cg *g, double theta, double lbm);
int slv__zorder_cmp(const void *a, const void *b);

/* wave_lns.c */
int slv__lns(struct cg *g, struct slv_result *best, double until_ms, struct fl_err *err);

/* wave_cuts.c */
int slv__cg_separate(struct cg *g);

#endif
