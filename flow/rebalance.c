/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rebalancing flow (ARCHITECTURE.md "Rebalance"): forecast demand per (node, SKU)
 * over the horizon (cached) → targets (forecast × multipliers, or the scenario's explicit
 * demand, plus safety stock) against stock net of transfers in transit → the transfer
 * model → a stored scenario with transfers, costs, fill rates and the solver's proof.
 * Compare and accept work on stored scenarios. The HTTP routes and `fulcrum rebalance`
 * call the same functions.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/internal.h"
#include "solver/rebalance.h"
#include "solver/solver.h"

#define RB_HORIZON_MAX 365
#define RB_OVERRIDES_MAX 10000 /* entries in one override list */
#define RB_UNSERVED_SHOWN 50
#define RB_LARGEST_SHOWN 20 /* the largest transfer lines in the summary */

struct net {
	struct flow_snapshot *snap; /* nodes and SKUs, sorted by id */
	const struct fl_node *nodes;
	size_t nn;
	const struct fl_sku *skus;
	size_t nk;
	double *demand; /* [i * nk + k] over the horizon */
	double *total_hi;
	long *avail;
};

static long node_ix(const struct net *c, const char *id)
{
	return flow_snapshot_node(c->snap, id);
}

static long sku_ix(const struct net *c, const char *id)
{
	return flow_snapshot_sku(c->snap, id);
}

static int collect(void *ctx, const struct flow_forecast *f)
{
	struct net *c = ctx;
	const long i = node_ix(c, f->series->node), k = sku_ix(c, f->series->sku);
	if (i >= 0 && k >= 0) {
		c->demand[i * c->nk + k] = f->r->sum_mean;
		c->total_hi[i * c->nk + k] = f->r->sum_hi;
	}
	return 0;
}

static int collect_cached(void *ctx, const struct store_forecast *f)
{
	struct net *c = ctx;
	const long i = node_ix(c, f->node), k = sku_ix(c, f->sku);
	if (i >= 0 && k >= 0) {
		c->demand[i * c->nk + k] = f->sum_mean;
		c->total_hi[i * c->nk + k] = f->sum_hi;
	}
	return 0;
}

static int in_transit(void *ctx, const struct store_transfer *t)
{
	struct net *c = ctx;
	const long from = node_ix(c, t->from), to = node_ix(c, t->to), k = sku_ix(c, t->sku);
	if (k < 0)
		return 0;
	/* what has not shipped is still in the source's on-hand; what has not been received
	 * is not yet in the destination's */
	if (from >= 0)
		c->avail[from * c->nk + k] -= t->qty - t->shipped;
	if (to >= 0)
		c->avail[to * c->nk + k] += t->qty - t->received;
	return 0;
}

static double fill_rate(const struct net *c, const long *a, const char *region)
{
	double served = 0, total = 0;
	for (size_t ik = 0; ik < c->nn * c->nk; ik++) {
		if (region && strcmp(c->nodes[ik / c->nk].region, region))
			continue;
		served += fmin(c->demand[ik], (double)(a[ik] > 0 ? a[ik] : 0));
		total += c->demand[ik];
	}
	return total > 0 ? served / total : 1;
}

/* ---- the request ---- */

struct lane_override {
	long from, to;
	double cost, fixed; /* NAN: unchanged */
	long cap;	    /* -2: unchanged */
};

struct request {
	const char *name;
	int horizon, time_limit_ms;
	double penalty, service_level; /* service_level 0: the imported safety stock */
	double *mult;		       /* [i * nk + k] */
	bool *closed;
	double *explicit_demand; /* NAN where none */
	struct lane_override *lanes;
	size_t nlanes;
	long min_units; /* min_transfer_units (0: none) */
	long tolerance; /* stock_tolerance: units a (node, SKU) the plan moves may drift */
};

#define bad(err, ...) fl_err_set(err, FL_EINVAL, __VA_ARGS__)

static int number(const json_t *o, const char *key, double lo, double hi, double *out,
		  struct fl_err *err)
{
	const json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
		return bad(err, "%s: must be a number from %g to %g", key, lo, hi);
	*out = json_number_value(v);
	return 0;
}

/* overrides.demand_multiplier: a factor on a region's, a node's or a SKU's demand. */
static int parse_multipliers(const json_t *ov, const struct net *c, struct request *r,
			     struct fl_err *err)
{
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(ov, "demand_multiplier"), i, v)
	{
		const char *region = json_string_value(json_object_get(v, "region"));
		const char *node = json_string_value(json_object_get(v, "node"));
		const char *sku = json_string_value(json_object_get(v, "sku"));
		double f = NAN;
		if (number(v, "factor", 0, 1000, &f, err))
			return bad(err,
				   "overrides.demand_multiplier[%zu].factor: a number "
				   "from 0 to 1000",
				   i);
		if (isnan(f) || (!region && !node && !sku))
			return bad(err,
				   "overrides.demand_multiplier[%zu]: needs a factor and a region, "
				   "node or sku",
				   i);
		const long n = node ? node_ix(c, node) : -1, k = sku ? sku_ix(c, sku) : -1;
		if (node && n < 0)
			return bad(err, "overrides.demand_multiplier[%zu].node: '%s' not found", i,
				   node);
		if (sku && k < 0)
			return bad(err, "overrides.demand_multiplier[%zu].sku: '%s' not found", i,
				   sku);
		bool any = false;
		for (size_t x = 0; x < c->nn; x++)
			any |= !region || !strcmp(c->nodes[x].region, region);
		if (!any)
			return bad(err,
				   "overrides.demand_multiplier[%zu].region: no node is in '%s'", i,
				   region);
		for (size_t ik = 0; ik < c->nn * c->nk; ik++) {
			const size_t x = ik / c->nk, y = ik % c->nk;
			if ((region && strcmp(c->nodes[x].region, region)) ||
			    (node && (long)x != n) || (sku && (long)y != k))
				continue;
			r->mult[ik] *= f;
		}
	}
	return 0;
}

/* overrides.closed_nodes and overrides.demand. */
static int parse_demand(const json_t *ov, const struct net *c, struct request *r,
			struct fl_err *err)
{
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(ov, "closed_nodes"), i, v)
	{
		const long n = node_ix(c, json_string_value(v));
		if (n < 0)
			return bad(err, "overrides.closed_nodes[%zu]: '%s' is not a node", i,
				   json_is_string(v) ? json_string_value(v) : "(not a string)");
		r->closed[n] = true;
	}
	json_array_foreach(json_object_get(ov, "demand"), i, v)
	{
		const char *node = json_string_value(json_object_get(v, "node"));
		const char *sku = json_string_value(json_object_get(v, "sku"));
		const long n = node_ix(c, node), k = sku_ix(c, sku);
		double q = NAN;
		if (n < 0 || k < 0)
			return bad(err, "overrides.demand[%zu].%s: '%s' not found", i,
				   n < 0 ? "node" : "sku",
				   (n < 0 ? node : sku) ? (n < 0 ? node : sku) : "");
		if (number(v, "qty", 0, 1e9, &q, err) || isnan(q))
			return bad(err, "overrides.demand[%zu].qty: a number >= 0", i);
		r->explicit_demand[n * c->nk + k] = q;
	}
	return 0;
}

/* overrides.lanes: a lane's costs and capacity for this scenario. */
static int parse_lanes(const json_t *ov, const struct net *c, struct request *r, struct fl_err *err)
{
	json_t *v;
	size_t i;
	const json_t *lanes = json_object_get(ov, "lanes");
	r->nlanes = json_array_size(lanes);
	json_array_foreach(lanes, i, v)
	{
		struct lane_override *o = &r->lanes[i];
		o->from = node_ix(c, json_string_value(json_object_get(v, "from")));
		o->to = node_ix(c, json_string_value(json_object_get(v, "to")));
		if (o->from < 0 || o->to < 0)
			return bad(err, "overrides.lanes[%zu].%s: not a node", i,
				   o->from < 0 ? "from" : "to");
		o->cost = o->fixed = NAN;
		o->cap = -2;
		double capv = NAN;
		if (number(v, "cost_per_unit", 0, 1e9, &o->cost, err) ||
		    number(v, "fixed_cost", 0, 1e12, &o->fixed, err))
			return bad(err, "overrides.lanes[%zu]: costs are numbers >= 0", i);
		const json_t *cv = json_object_get(v, "capacity_units");
		if (json_is_null(cv))
			o->cap = FL_UNLIMITED;
		else if (cv &&
			 (number(v, "capacity_units", 0, 1e12, &capv, err) || capv != floor(capv)))
			return bad(err,
				   "overrides.lanes[%zu].capacity_units: a whole number "
				   ">= 0 or null",
				   i);
		else if (cv)
			o->cap = (long)capv;
	}
	return 0;
}

static int parse_request(const json_t *body, const struct net *c, struct request *r,
			 struct fl_err *err)
{
	static const char *const known[] = {
		"name",		 "horizon_days", "shortage_penalty",   "service_level",
		"time_limit_ms", "overrides",	 "min_transfer_units", "stock_tolerance"};
	const char *key;
	json_t *v;
	double h = FLOW_SCENARIO_HORIZON_DEFAULT, tl = 10000, mu = 0, tol = 0;
	int st;

	json_object_foreach((json_t *)body, key, v)
	{
		size_t i = 0;
		while (i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]))
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			return bad(err, "%s: unknown field", key);
	}
	r->name = "scenario";
	if ((v = json_object_get(body, "name"))) {
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 128)
			return bad(err, "name: a string of 1 to 128 bytes");
		r->name = json_string_value(v);
	}
	r->penalty = 25;
	r->service_level = 0;
	if ((st = number(body, "horizon_days", 1, RB_HORIZON_MAX, &h, err)) ||
	    (st = number(body, "shortage_penalty", 1e-9, 1e9, &r->penalty, err)) ||
	    (st = number(body, "service_level", 0.5, 0.999, &r->service_level, err)) ||
	    (st = number(body, "time_limit_ms", 1, 60000, &tl, err)) ||
	    (st = number(body, "min_transfer_units", 1, 1000000, &mu, err)) ||
	    (st = number(body, "stock_tolerance", 0, 1000000, &tol, err)))
		return st;
	if (tol != floor(tol))
		return bad(err, "stock_tolerance: must be a whole number of units");
	r->tolerance = (long)tol;
	if (mu != floor(mu))
		return bad(err, "min_transfer_units: must be a whole number of units");
	r->min_units = (long)mu;
	if (h != floor(h))
		return bad(err, "horizon_days: must be a whole number of days");
	r->horizon = (int)h;
	r->time_limit_ms = (int)tl;
	for (size_t ik = 0; ik < c->nn * c->nk; ik++)
		r->mult[ik] = 1, r->explicit_demand[ik] = NAN;
	const json_t *ov = json_object_get(body, "overrides");
	if (!ov)
		return 0;
	if (!json_is_object(ov))
		return bad(err, "overrides: must be an object");
	json_object_foreach((json_t *)ov, key, v)
	{
		if (strcmp(key, "demand_multiplier") && strcmp(key, "closed_nodes") &&
		    strcmp(key, "demand") && strcmp(key, "lanes"))
			return bad(err, "overrides.%s: unknown field", key);
		if (!json_is_array(v) || json_array_size(v) > RB_OVERRIDES_MAX)
			return bad(err, "overrides.%s: an array of at most %d entries", key,
				   RB_OVERRIDES_MAX);
	}
	if ((st = parse_multipliers(ov, c, r, err)) || (st = parse_demand(ov, c, r, err)))
		return st;
	return parse_lanes(ov, c, r, err);
}

/* ---- the flow ---- */

/* Money in answers: to the cent (49294.0269999997 is 49294.03). */
static double cents(double x)
{
	return round(x * 100) / 100;
}

static json_t *transfers_json(const struct net *c, const struct slv_rb_problem *p,
			      const struct slv_rb_result *r)
{
	json_t *a = json_array();
	for (size_t t = 0; t < r->nt && a; t++) {
		const struct slv_rb_lane *l = &p->lanes[r->t[t].lane];
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:f}", "from",
						   c->nodes[l->from].id, "to", c->nodes[l->to].id,
						   "sku", c->skus[r->t[t].sku].id, "qty",
						   (json_int_t)r->t[t].qty, "cost",
						   cents(l->cost * (double)r->t[t].qty)));
	}
	return a;
}

struct lane_use {
	int lane;
	long units;
	size_t lines;
	double cost;
};

static int by_cost_desc(const void *a, const void *b)
{
	const struct lane_use *x = a, *y = b;
	return (x->cost < y->cost) - (x->cost > y->cost);
}

static int by_qty_desc(const void *a, const void *b, void *ctx)
{
	const struct slv_rb_transfer *t = ctx;
	const size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return (t[i].qty < t[j].qty) - (t[i].qty > t[j].qty);
}

/* The plan by lane (units, lines, transfer and fixed cost; dearest first) and its largest
 * lines: what a planner reads before the lines themselves. NULL out of memory. */
static json_t *lanes_json(const struct net *c, const struct slv_rb_problem *p,
			  const struct slv_rb_result *r, json_t **largest)
{
	struct lane_use *u = calloc((size_t)p->nlanes + 1, sizeof(*u));
	size_t *ix = calloc(r->nt + 1, sizeof(size_t)), used = 0;
	json_t *lanes = json_array();
	*largest = json_array();
	if (!u || !ix || !lanes || !*largest) {
		free(u), free(ix), json_decref(lanes), json_decref(*largest);
		*largest = NULL;
		return NULL;
	}
	for (int l = 0; l < p->nlanes; l++)
		u[l].lane = l;
	for (size_t t = 0; t < r->nt; t++) {
		struct lane_use *x = &u[r->t[t].lane];
		x->units += r->t[t].qty;
		x->lines++;
		x->cost += p->lanes[r->t[t].lane].cost * (double)r->t[t].qty;
		ix[t] = t;
	}
	for (int l = 0; l < p->nlanes; l++)
		if (u[l].lines) {
			u[used] = u[l];
			u[used++].cost += p->lanes[u[l].lane].fixed;
		}
	qsort(u, used, sizeof(*u), by_cost_desc);
	for (size_t i = 0; i < used; i++) {
		const struct slv_rb_lane *l = &p->lanes[u[i].lane];
		json_array_append_new(
			lanes,
			json_pack("{s:s, s:s, s:I, s:I, s:f, s:f}", "from", c->nodes[l->from].id,
				  "to", c->nodes[l->to].id, "units", (json_int_t)u[i].units,
				  "lines", (json_int_t)u[i].lines, "transfer_cost",
				  cents(u[i].cost - l->fixed), "fixed_cost", cents(l->fixed)));
	}
	qsort_r(ix, r->nt, sizeof(size_t), by_qty_desc, r->t);
	for (size_t i = 0; i < r->nt && i < RB_LARGEST_SHOWN; i++) {
		const struct slv_rb_transfer *t = &r->t[ix[i]];
		const struct slv_rb_lane *l = &p->lanes[t->lane];
		json_array_append_new(
			*largest,
			json_pack("{s:s, s:s, s:s, s:I, s:f}", "from", c->nodes[l->from].id, "to",
				  c->nodes[l->to].id, "sku", c->skus[t->sku].id, "qty",
				  (json_int_t)t->qty, "cost", cents(l->cost * (double)t->qty)));
	}
	free(u), free(ix);
	return lanes;
}

/* Everything one scenario holds from its request to its stored answer. */
struct scenario {
	struct net c;
	struct fl_lane *lanes;
	size_t nl;
	struct fl_inventory *inv;
	size_t ni;
	struct request rq;
	struct slv_rb_lane *rl;
	int L;
	long *target, *after;
	long *pack; /* per SKU: its case pack */
	long *raw;  /* on hand − reserved as read, before transfers in transit */
	struct slv_rb_problem p;
	struct slv_rb_result r;
	struct flow_forecast_stats fs;
	char stock_state[64]; /* what the scenario was computed on: accepting checks it */
};

static void scenario_release(struct scenario *sc)
{
	slv_rb_release(&sc->r);
	flow_snapshot_put(sc->c.snap);
	free(sc->c.demand), free(sc->c.total_hi), free(sc->c.avail);
	free(sc->lanes), free(sc->inv), free(sc->rl), free(sc->target), free(sc->after);
	free(sc->pack), free(sc->raw);
	free(sc->rq.mult), free(sc->rq.explicit_demand), free(sc->rq.closed), free(sc->rq.lanes);
}

/* The network, lanes and stock; the request parsed against them. */
static int scenario_load(struct store *st, const json_t *body, struct scenario *sc,
			 struct fl_err *err)
{
	struct net *c = &sc->c;
	struct store_stock_state state;
	bool more;
	int rc;
	/* the state first: stock that moves after it makes accepting refuse, never the reverse */
	if ((rc = store_stock_state(st, &state, err)))
		return rc;
	store_stock_state_format(&state, sc->stock_state);
	if (!(c->snap = flow_snapshot_get(st, err)))
		return err && err->status ? err->status : FL_EDB;
	if ((rc = store_lanes_load(st, &sc->lanes, &sc->nl, err)) ||
	    (rc = store_inventory_page(st, NULL, NULL, NULL, NULL, (size_t)1 << 40, &sc->inv,
				       &sc->ni, &more, err)))
		return rc;
	c->nodes = c->snap->nodes, c->nn = c->snap->nnodes;
	c->skus = c->snap->skus, c->nk = c->snap->nskus;
	if (!c->nn)
		return bad(err, "the store has no nodes: import data first");
	const size_t NK = c->nn * c->nk;
	c->demand = calloc(NK + 1, sizeof(double));
	c->total_hi = calloc(NK + 1, sizeof(double));
	c->avail = calloc(NK + 1, sizeof(long));
	sc->target = calloc(NK + 1, sizeof(long));
	sc->after = calloc(NK + 1, sizeof(long));
	sc->rl = calloc(sc->nl + 1, sizeof(*sc->rl));
	sc->rq.mult = calloc(NK + 1, sizeof(double));
	sc->rq.explicit_demand = calloc(NK + 1, sizeof(double));
	sc->rq.closed = calloc(c->nn + 1, sizeof(bool));
	sc->rq.lanes = calloc(
		json_array_size(json_object_get(json_object_get(body, "overrides"), "lanes")) + 1,
		sizeof(*sc->rq.lanes));
	if (!c->demand || !c->total_hi || !c->avail || !sc->target || !sc->after || !sc->rl ||
	    !sc->rq.mult || !sc->rq.explicit_demand || !sc->rq.closed || !sc->rq.lanes)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	return parse_request(body, c, &sc->rq, err);
}

/* Demand (the forecast's total over the horizon, cached while the history holds), stock
 * and targets (forecast + safety stock) per (node, SKU). */
void flow_scenario_forecast_opts(int horizon, double service_level, struct fc_opts *o)
{
	*o = (struct fc_opts){.horizon = horizon,
			      .level = service_level > 0 ? 2 * service_level - 1 : 0.9,
			      .period = 7,
			      .method = FC_AUTO};
}

static int scenario_targets(struct store *st, struct scenario *sc, const struct flow_progress *pg,
			    struct fl_err *err)
{
	struct net *c = &sc->c;
	const struct request *rq = &sc->rq;
	struct fc_opts fo;
	int rc;
	flow_scenario_forecast_opts(rq->horizon, rq->service_level, &fo);
	if ((rc = flow_forecast_all(st, &fo, pg, collect, collect_cached, c, &sc->fs, err))) {
		if (rc != FL_ECANCELLED)
			fl_err_prefix(err, "forecast");
		return rc;
	}
	for (size_t x = 0; x < sc->ni; x++) {
		const long i = node_ix(c, sc->inv[x].node), k = sku_ix(c, sc->inv[x].sku);
		if (i < 0 || k < 0)
			continue;
		const size_t ik = (size_t)i * c->nk + (size_t)k;
		c->avail[ik] = sc->inv[x].on_hand - sc->inv[x].reserved;
		if (rq->service_level == 0)
			sc->target[ik] = sc->inv[x].safety_stock;
	}
	if (!(sc->raw = malloc(sizeof(long) * (c->nn * c->nk + 1))))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	memcpy(sc->raw, c->avail, sizeof(long) * c->nn * c->nk);
	if ((rc = store_in_transit(st, in_transit, c, err)))
		return rc;
	for (size_t ik = 0; ik < c->nn * c->nk; ik++) {
		const size_t i = ik / c->nk;
		double ss = rq->service_level > 0 ? fmax(0, c->total_hi[ik] - c->demand[ik]) : 0;
		double d = c->demand[ik] * rq->mult[ik];
		if (!isnan(rq->explicit_demand[ik]))
			d = rq->explicit_demand[ik],
			ss *= c->demand[ik] > 0 ? d / c->demand[ik] : 0;
		if (rq->closed[i]) /* a closed node sells nothing and ships nothing */
			d = 0, ss = 0, sc->target[ik] = 0;
		c->demand[ik] = d;
		sc->target[ik] += (long)ceil(d + ss - 1e-9);
		if (c->avail[ik] < 0)
			c->avail[ik] = 0;
	}
	return 0;
}

/* The lanes open to the scenario, with its overrides, that arrive within the horizon. */
static void scenario_lanes(struct scenario *sc)
{
	const struct net *c = &sc->c;
	const struct request *rq = &sc->rq;
	sc->L = 0;
	for (size_t l = 0; l < sc->nl; l++) {
		const long from = node_ix(c, sc->lanes[l].from), to = node_ix(c, sc->lanes[l].to);
		if (from < 0 || to < 0 || rq->closed[from] || rq->closed[to])
			continue;
		struct slv_rb_lane x = {(int)from, (int)to, sc->lanes[l].cost_per_unit,
					sc->lanes[l].fixed_cost, sc->lanes[l].capacity_units};
		for (size_t o = 0; o < rq->nlanes; o++)
			if (rq->lanes[o].from == from && rq->lanes[o].to == to) {
				if (!isnan(rq->lanes[o].cost))
					x.cost = rq->lanes[o].cost;
				if (!isnan(rq->lanes[o].fixed))
					x.fixed = rq->lanes[o].fixed;
				if (rq->lanes[o].cap != -2)
					x.cap = rq->lanes[o].cap;
			}
		if (sc->lanes[l].lead_days <= rq->horizon)
			sc->rl[sc->L++] = x;
	}
}

/*
 * The largest shortages that remain, and why: no reachable node holds more than its own
 * target (no_supply), or moving more costs more than the shortage or meets a lane's
 * capacity (cost_or_capacity).
 */
static json_t *scenario_unserved(const struct scenario *sc)
{
	const struct net *c = &sc->c;
	const long *target = sc->target, *after = sc->after;
	json_t *unserved = json_array();
	size_t top[RB_UNSERVED_SHOWN], ntop = 0;
	for (size_t ik = 0; ik < c->nn * c->nk; ik++) {
		const long s = target[ik] - after[ik];
		if (s <= 0)
			continue;
		size_t at = ntop;
		while (at > 0 && target[top[at - 1]] - after[top[at - 1]] < s)
			at--;
		if (at >= RB_UNSERVED_SHOWN)
			continue;
		if (ntop < RB_UNSERVED_SHOWN)
			ntop++;
		memmove(&top[at + 1], &top[at], sizeof(top[0]) * (ntop - 1 - at));
		top[at] = ik;
	}
	for (size_t x = 0; x < ntop; x++) {
		const size_t ik = top[x], j = ik / c->nk, k = ik % c->nk;
		bool supply = false;
		for (int l = 0; l < sc->L && !supply; l++)
			supply = (size_t)sc->rl[l].to == j &&
				 after[(size_t)sc->rl[l].from * c->nk + k] >
					 target[(size_t)sc->rl[l].from * c->nk + k];
		json_array_append_new(unserved,
				      json_pack("{s:s, s:s, s:I, s:s}", "node", c->nodes[j].id,
						"sku", c->skus[k].id, "units",
						(json_int_t)(target[ik] - after[ik]), "reason",
						supply ? "cost_or_capacity" : "no_supply"));
	}
	return unserved;
}

/* The answer: transfers, costs, fill rates before and after, what remains short. */
static json_t *scenario_answer(struct scenario *sc, const char *id)
{
	const struct net *c = &sc->c;
	const struct slv_rb_result *r = &sc->r;
	memcpy(sc->after, c->avail, sizeof(long) * c->nn * c->nk);
	long units = 0;
	for (size_t t = 0; t < r->nt; t++) {
		sc->after[(size_t)sc->rl[r->t[t].lane].from * c->nk + r->t[t].sku] -= r->t[t].qty;
		sc->after[(size_t)sc->rl[r->t[t].lane].to * c->nk + r->t[t].sku] += r->t[t].qty;
		units += r->t[t].qty;
	}
	json_t *regions = json_object();
	for (size_t i = 0; i < c->nn; i++)
		if (!json_object_get(regions, c->nodes[i].region))
			json_object_set_new(regions, c->nodes[i].region,
					    json_pack("{s:f, s:f}", "before",
						      fill_rate(c, c->avail, c->nodes[i].region),
						      "after",
						      fill_rate(c, sc->after, c->nodes[i].region)));
	json_t *largest = NULL, *lanes = lanes_json(c, &sc->p, r, &largest);
	json_t *solver =
		json_pack("{s:s, s:f, s:f, s:f, s:s, s:b, s:i, s:b}", "status",
			  r->optimal ? "optimal" : "feasible", "gap", r->gap, "bound", r->bound,
			  "time_ms", r->ms, "method", r->method, "coupled", r->coupled,
			  "lanes_used", r->lanes_used, "rounded_to_lots", r->rounded);
	size_t packs = 0;
	for (size_t k = 0; k < c->nk; k++)
		packs += sc->pack && sc->pack[k] > 1;
	json_object_set_new(solver, "lot_rules",
			    json_pack("{s:I, s:I}", "min_transfer_units",
				      (json_int_t)sc->rq.min_units, "skus_with_case_packs",
				      (json_int_t)packs));
	return json_pack(
		"{s:s, s:s, s:i, s:f, s:o, s:{s:f, s:f, s:f, s:f}, s:{s:f, s:f, s:o}, s:I, "
		"s:{s:I, s:I, s:o}, s:o, s:{s:f, s:I}, s:{s:I, s:I}, s:o, s:o, s:I}",
		"scenario_id", id, "name", sc->rq.name, "horizon_days", sc->rq.horizon,
		"shortage_penalty", sc->rq.penalty, "transfers", transfers_json(c, &sc->p, r),
		"cost", "total", cents(r->total), "transfer", cents(r->transfer_cost), "fixed",
		cents(r->fixed_cost), "shortage", cents(r->shortage_cost), "fill_rate", "before",
		fill_rate(c, c->avail, NULL), "after", fill_rate(c, sc->after, NULL), "by_region",
		regions, "units_moved", (json_int_t)units, "shortage_units", "before",
		(json_int_t)r->short_before, "after", (json_int_t)r->short_after, "unserved",
		scenario_unserved(sc), "solver", solver, "baseline", "greedy_total",
		cents(r->greedy_total), "greedy_transfers", (json_int_t)r->greedy_transfers,
		"forecast", "series", (json_int_t)sc->fs.series, "cached",
		(json_int_t)sc->fs.cached, "lanes", lanes ? lanes : json_array(),
		"largest_transfers", largest ? largest : json_array(), "transfers_total",
		(json_int_t)r->nt);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

int flow__scenario_check(struct store *st, const json_t *body, const char **name,
			 struct fl_err *err)
{
	struct scenario sc = {0};
	int rc = scenario_load(st, body, &sc, err);
	*name = rc ? NULL : json_string_value(json_object_get(body, "name"));
	if (!rc && !*name)
		*name = "scenario";
	scenario_release(&sc);
	return rc;
}

/*
 * What accepting checks: the fingerprint of the stock read, and with a stock_tolerance,
 * "T<units>" and a line "node<TAB>sku<TAB>units" for each (node, SKU) the plan moves
 * from or to, its on-hand less reserved as read. NULL out of memory.
 */
static char *stock_seen(const struct scenario *sc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (!fp)
		return NULL;
	fputs(sc->stock_state, fp);
	if (sc->rq.tolerance > 0) {
		const struct net *c = &sc->c;
		fprintf(fp, "\nT%ld\n", sc->rq.tolerance);
		for (size_t t = 0; t < sc->r.nt; t++) {
			const struct slv_rb_lane *l = &sc->p.lanes[sc->r.t[t].lane];
			const size_t k = (size_t)sc->r.t[t].sku;
			for (int end = 0; end < 2; end++) {
				const size_t i = (size_t)(end ? l->to : l->from);
				fprintf(fp, "%s\t%s\t%ld\n", c->nodes[i].id, c->skus[k].id,
					sc->raw[i * c->nk + k]);
			}
		}
	}
	if (fclose(fp)) {
		free(text);
		return NULL;
	}
	return text;
}

int flow__scenario_compute(struct store *st, const json_t *body, const char *lp_path,
			   const struct flow_progress *pg, const char *id, json_t **answer,
			   char **stock_state, struct fl_err *err)
{
	struct scenario sc = {0};
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	*answer = NULL;
	flow_report(pg, "forecast", 0, 1);
	if ((rc = scenario_load(st, body, &sc, err)) || (rc = scenario_targets(st, &sc, pg, err)))
		goto out;
	flow_report(pg, "targets", 1, 1);
	scenario_lanes(&sc);
	/* time_limit_ms bounds the whole run: the solver gets what is left, less a twentieth
	 * for the answer and the store */
	if (!(sc.pack = calloc(sc.c.nk + 1, sizeof(long)))) {
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < sc.c.nk; k++)
		sc.pack[k] = sc.c.skus[k].case_pack > 1 ? sc.c.skus[k].case_pack : 1;
	const double left = sc.rq.time_limit_ms * 0.95 - ms_since(&t0);
	sc.p = (struct slv_rb_problem){.nnodes = (int)sc.c.nn,
				       .nskus = (int)sc.c.nk,
				       .nlanes = sc.L,
				       .lanes = sc.rl,
				       .avail = sc.c.avail,
				       .target = sc.target,
				       .penalty = sc.rq.penalty,
				       .time_limit_ms = left > 1 ? (int)left : 1,
				       .threads = flow_threads_default(),
				       .stop = pg ? pg->cancel : NULL,
				       .min_units = sc.rq.min_units,
				       .pack = sc.pack};
	flow_report(pg, "solve", 0, 1);
	if (flow_cancelled(pg)) {
		rc = fl_err_set(err, FL_ECANCELLED, "cancelled");
		goto out;
	}
	if ((lp_path && (rc = slv_rebalance_export_lp(&sc.p, lp_path, err))) ||
	    (rc = slv_rebalance(&sc.p, &sc.r, err)))
		goto out;
	slv_thread_release();
	if (flow_cancelled(pg)) {
		rc = fl_err_set(err, FL_ECANCELLED, "cancelled");
		goto out;
	}
	flow_report(pg, "store", 0, 1);
	if (!(*answer = scenario_answer(&sc, id)))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	if (!rc && !(*stock_state = stock_seen(&sc))) {
		json_decref(*answer);
		*answer = NULL;
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	}
out:
	scenario_release(&sc);
	return rc;
}

int flow_rebalance(struct store *st, const json_t *body, const char *lp_path,
		   const struct flow_progress *pg, json_t **answer, struct fl_err *err)
{
	char id[FLOW_SCENARIO_ID_MAX] = "s_", *state = NULL;
	flow_random_hex(id + 2, 8);
	int rc = flow__scenario_compute(st, body, lp_path, pg, id, answer, &state, err);
	if (rc)
		return rc;
	const char *name = json_string_value(json_object_get(*answer, "name"));
	char *req = json_dumps(body, JSON_COMPACT), *resp = json_dumps(*answer, JSON_COMPACT);
	rc = !req || !resp ? fl_err_set(err, FL_ENOMEM, "out of memory")
			   : store_scenario_put(st, id, name, req, resp, state, err);
	free(req), free(resp), free(state);
	if (rc) {
		json_decref(*answer);
		*answer = NULL;
	} else {
		json_object_set_new(*answer, "status", json_string("done"));
	}
	return rc;
}
