/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * solver.h — GLPK models. Today: per-order sourcing (DATA.md "What a sourcing decision
 * must respect"): choose shipments (node, carrier-service option) and the units each
 * carries so that the filled units are as many as possible and, among those plans, the
 * total cost (Σ shipment costs + split_penalty × (shipments − 1)) is least.
 *
 * Method, exact: (1) the most units that can be filled is a max-flow (split allowed) or
 * the best single option (no split), computed combinatorially; (2) with the fill fixed
 * at that maximum, a disaggregated MIP (x ≤ u·y per option and line) is solved by GLPK
 * from an incumbent (the best single-shipment plan). Options of one node dominated in
 * (base cost, per kg) by another option of that node that can carry the same lines are
 * pruned first: days only matter through the promise, which the caller has applied.
 * No-split orders need no MIP: per option, the cheapest units first is optimal.
 *
 * Ownership: inputs are borrowed for the call; struct slv_result is caller-owned and
 * embedded (slv_result_release frees what it holds).
 * Errors: 0, or a negative FL_E* status with detail in err. GLPK never prints and never
 * aborts the process: its error hook turns a fault into FL_ESOLVER.
 * Threads: reentrant; GLPK's environment is per thread.
 */
#ifndef FULCRUM_SOLVER_SOLVER_H
#define FULCRUM_SOLVER_SOLVER_H

#include "data/model.h"

#define SLV_MAX_ITEMS 100    /* distinct SKUs in one order */
#define SLV_MAX_OPTIONS 4096 /* (node, carrier, service) options in one problem */
#define SLV_MAX_NODES 2048

/* One distinct SKU of the order (lines with the same SKU are added up by the caller). */
struct slv_item {
	long qty; /* > 0 */
	double weight_kg;
	bool hazmat;
};

/* A candidate node: what it may still give. */
struct slv_node {
	long cap; /* units it may still take: FL_UNLIMITED or >= 0 */
	bool ships_hazmat;
	double handling_cost; /* per shipment */
	double pick_cost;     /* per unit */
	const long *atp;      /* per item: units available to promise (>= 0) */
};

/* A (node, carrier, service) that can reach the destination within the promise. */
struct slv_option {
	int node;	  /* index into nodes */
	double base_cost; /* the rate row's base cost for the zone */
	double per_kg;
	bool hazmat_ok; /* the service carries hazmat */
};

struct slv_problem {
	int nitems;
	const struct slv_item *items;
	int nnodes;
	const struct slv_node *nodes;
	int noptions;
	const struct slv_option *options;
	bool allow_split;
	double split_penalty; /* >= 0 */
	int time_limit_ms;    /* for the MIP; > 0 */
	/*
	 * Priced mode (waves' Lagrangian subproblems), when price is not NULL: each unit of
	 * item k from problem node n costs price[n * nitems + k] more, each filled unit earns
	 * fill_reward, filling is not forced, and the split penalty is left out. The result
	 * minimises that objective (result.objective) and bounds it (result.bound).
	 */
	const double *price;
	double fill_reward;
	/*
	 * Priced mode, optional: what taking a units of item k from problem node n costs on
	 * top (>= 0, 0 at a = 0; the waves' cuts). The exact path (a dynamic programme for
	 * small orders) prices it; where the MIP decides instead, it is left out of the
	 * search, so result.bound stays a lower bound, and result.objective includes it.
	 */
	double (*extra)(const void *ctx, int node, int item, long a);
	const void *extra_ctx;
};

enum slv_status {
	SLV_OPTIMAL,  /* proved least cost at the most fill */
	SLV_FEASIBLE, /* time ran out: the best plan found, with its gap */
	SLV_EMPTY,    /* nothing can be filled */
};

struct slv_shipment {
	int option;
	long units;
	double weight_kg;
	double cost; /* base + per_kg × weight + handling + pick × units */
	long *qty;   /* per item (nitems entries) */
};

struct slv_result {
	enum slv_status status;
	double gap; /* relative, 0 when optimal */
	double time_ms;
	long filled; /* units */
	double cost; /* Σ shipment costs + split_penalty × (shipments − 1) */
	int nshipments;
	struct slv_shipment *ship;
	int options_kept; /* after dominance pruning */
	bool used_mip;
	double objective; /* priced mode: the plan's priced objective */
	double bound;	  /* priced mode: a lower bound on the priced optimum */
};

/* Solve; on success *out holds the plan (release it with slv_result_release). */
int slv_source(const struct slv_problem *p, struct slv_result *out, struct fl_err *err);
void slv_result_release(struct slv_result *r);

/*
 * GLPK keeps an environment per thread. A thread that solved frees it when it exits
 * (a destructor registered on first use); the main thread, whose destructors never
 * run, calls slv_thread_release() when it is done with the solver.
 */
void slv_thread_release(void);

/* The cost of one shipment from option o carrying qty[] (DATA.md step 5). */
double slv_shipment_cost(const struct slv_problem *p, int o, const long *qty);

/* ---- from DATA.md's network to a problem: distance, zone, rates, promise, hazmat ---- */

/* Why a node is not a candidate (API: explanation.excluded[].reason). */
enum slv_exclusion {
	SLV_X_NONE,
	SLV_X_BEYOND_ZONES, /* farther than the largest zone, or no rate for its zone */
	SLV_X_NO_STOCK,	    /* no unit of any line available to promise */
	SLV_X_CAPACITY,	    /* no capacity left */
	SLV_X_PROMISE,	    /* no service delivers within deliver_within_days */
	SLV_X_HAZMAT,	    /* it has stock only of hazmat lines and cannot ship them */
	SLV_X_RULE,	    /* excluded by the caller (a rule, an outage) */
};

const char *slv_exclusion_name(enum slv_exclusion x);

/* The reference data a problem is built from (borrowed; zones in any order). */
struct slv_network {
	const struct fl_node *nodes;
	int nnodes;
	const struct fl_zone *zones;
	int nzones;
	const struct fl_rate *rates;
	int nrates;
};

struct slv_order {
	double lat, lon;
	int promise_days; /* -1: no promise */
	bool allow_split;
	double split_penalty;
	int time_limit_ms;
	int nitems;
	const struct slv_item *items;
};

/* A built problem and, per node, what the explanation needs. All owned. */
struct slv_candidates {
	struct slv_problem prob; /* points into the arrays below */
	int *node_of;		 /* problem node -> network node */
	double *distance_km;	 /* per network node */
	int *zone;		 /* per network node, -1 if none */
	enum slv_exclusion *why; /* per network node */
	int *rate_of;		 /* per option: index into network rates */
	int *days_of;		 /* per option: processing + transit days */
	struct slv_node *pnodes;
	struct slv_option *options;
	long *atp; /* per problem node × item */
};

/* What the caller (rules, outages) changes about one order's candidates. */
struct slv_adjust {
	const bool *excluded;	   /* per network node: ruled out (SLV_X_RULE), or NULL */
	const double *penalty;	   /* per network node: added to each shipment's cost, or NULL */
	const bool *rate_excluded; /* per network rate (a carrier's service), or NULL */
};

/*
 * Build the candidates for one order. atp is network-node-major (nnodes × nitems,
 * already on_hand − reserved − safety_stock, >= 0); cap_left is per network node
 * (FL_UNLIMITED or >= 0); adj (may be NULL) carries the caller's exclusions and
 * penalties. A node whose every service in the promise is ruled out is SLV_X_RULE.
 */
int slv_candidates_build(const struct slv_network *net, const struct slv_order *ord,
			 const long *atp, const long *cap_left, const struct slv_adjust *adj,
			 struct slv_candidates *out, struct fl_err *err);
void slv_candidates_release(struct slv_candidates *c);

/*
 * The best one-shipment plan from problem node `node` alone: the most units it can
 * carry in one shipment, then the least cost (cheapest units first). Writes qty[]
 * (nitems), returns the option used, or -1 if the node can carry nothing.
 */
int slv_best_single(const struct slv_problem *p, int node, long *qty, long *units, double *cost);

/* ---- waves: many orders under shared stock and capacity ---- */

#define SLV_WAVE_MAX_ORDERS 5000

struct slv_wave_order {
	struct slv_candidates *cand; /* borrowed; its stock is rewritten while solving */
	const int *sku;		     /* per item of the order: index into the wave's SKUs */
	bool whole;		     /* every unit or none (allow_partial false) */
};

struct slv_wave {
	int norders;
	struct slv_wave_order *orders;
	int nnodes;	 /* network nodes (the candidates' node_of space) */
	int nskus;	 /* distinct SKUs of the wave */
	const long *atp; /* nnodes × nskus, shared by every order */
	const long *cap; /* nnodes: FL_UNLIMITED or >= 0, shared */
	int time_limit_ms;
	int threads; /* orders priced in parallel (0 or 1: this thread alone) */
};

struct slv_wave_result {
	struct slv_result *plans; /* per order, as slv_source's */
	long filled;		  /* units the plan fills */
	long fill_bound;	  /* no plan fills more (max-flow over the wave) */
	double cost;		  /* the plan's total cost */
	double bound;		  /* proved: no plan filling >= filled costs less */
	double gap;		  /* (cost − bound) / cost */
	enum slv_status status;	  /* OPTIMAL: fill proved max and gap <= 1e-9 */
	int iterations;		  /* pricing rounds of the bound */
	double time_ms;
};

/*
 * Decide a wave: the most units in all, then the least total cost, with every order
 * keeping its own rules (promise, hazmat, no split, every unit or none) and all sharing
 * ATP and capacity. Method (solver/wave.c): a max-flow bounds the fill; column
 * generation over per-order plans with cuts gives the proved cost bound; plans from
 * sequential decisions, the master LP rounded, a neighbourhood search with an exact
 * model, and the master as a MIP. Honours time_limit_ms; the best plan found is
 * returned with its gap.
 */
int slv_wave_solve(struct slv_wave *w, struct slv_wave_result *out, struct fl_err *err);
void slv_wave_result_release(struct slv_wave_result *r, int norders);

/* Write the phase-2 model (fill fixed at its maximum) in CPLEX LP format to path. */
int slv_export_lp(const struct slv_problem *p, const char *path, struct fl_err *err);

#endif
