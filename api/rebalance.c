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

#include "api.h"
#include "solver/rebalance.h"
#include "solver/solver.h"

#define RB_HORIZON_MAX 365
#define RB_OVERRIDES_MAX 10000 /* entries in one override list */
#define RB_UNSERVED_SHOWN 50

struct net {
	struct api_snapshot *snap; /* nodes and SKUs, sorted by id */
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
	return api_snapshot_node(c->snap, id);
}

static long sku_ix(const struct net *c, const char *id)
{
	return api_snapshot_sku(c->snap, id);
}

static int collect(void *ctx, const struct api_forecast *f)
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
	if (from >= 0)
		c->avail[from * c->nk + k] -= t->qty;
	if (to >= 0)
		c->avail[to * c->nk + k] += t->qty;
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
};

static int bad(char *detail, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(char *detail, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, cap, fmt, ap);
	va_end(ap);
	return 422;
}

static int number(const json_t *o, const char *key, double lo, double hi, double *out, char *detail,
		  size_t cap)
{
	const json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
		return bad(detail, cap, "%s: must be a number from %g to %g", key, lo, hi);
	*out = json_number_value(v);
	return 0;
}

static int parse_request(const json_t *body, const struct net *c, struct request *r, char *detail,
			 size_t cap)
{
	static const char *const known[] = {"name",	     "horizon_days",  "shortage_penalty",
					    "service_level", "time_limit_ms", "overrides"};
	const char *key;
	json_t *v;
	double h = 14, tl = 10000;
	int st;

	json_object_foreach((json_t *)body, key, v)
	{
		size_t i = 0;
		while (i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]))
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			return bad(detail, cap, "%s: unknown field", key);
	}
	r->name = "scenario";
	if ((v = json_object_get(body, "name"))) {
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 128)
			return bad(detail, cap, "name: a string of 1 to 128 bytes");
		r->name = json_string_value(v);
	}
	r->penalty = 25;
	r->service_level = 0;
	if ((st = number(body, "horizon_days", 1, RB_HORIZON_MAX, &h, detail, cap)) ||
	    (st = number(body, "shortage_penalty", 1e-9, 1e9, &r->penalty, detail, cap)) ||
	    (st = number(body, "service_level", 0.5, 0.999, &r->service_level, detail, cap)) ||
	    (st = number(body, "time_limit_ms", 1, 60000, &tl, detail, cap)))
		return st;
	if (h != floor(h))
		return bad(detail, cap, "horizon_days: must be a whole number of days");
	r->horizon = (int)h;
	r->time_limit_ms = (int)tl;
	for (size_t ik = 0; ik < c->nn * c->nk; ik++)
		r->mult[ik] = 1, r->explicit_demand[ik] = NAN;
	const json_t *ov = json_object_get(body, "overrides");
	if (!ov)
		return 0;
	if (!json_is_object(ov))
		return bad(detail, cap, "overrides: must be an object");
	json_object_foreach((json_t *)ov, key, v)
	{
		if (strcmp(key, "demand_multiplier") && strcmp(key, "closed_nodes") &&
		    strcmp(key, "demand") && strcmp(key, "lanes"))
			return bad(detail, cap, "overrides.%s: unknown field", key);
		if (!json_is_array(v) || json_array_size(v) > RB_OVERRIDES_MAX)
			return bad(detail, cap, "overrides.%s: an array of at most %d entries", key,
				   RB_OVERRIDES_MAX);
	}
	size_t i;
	json_array_foreach(json_object_get(ov, "demand_multiplier"), i, v)
	{
		const char *region = json_string_value(json_object_get(v, "region"));
		const char *node = json_string_value(json_object_get(v, "node"));
		const char *sku = json_string_value(json_object_get(v, "sku"));
		double f = NAN;
		if ((st = number(v, "factor", 0, 1000, &f, detail, cap)))
			return bad(detail, cap,
				   "overrides.demand_multiplier[%zu].factor: a number "
				   "from 0 to 1000",
				   i);
		if (isnan(f) || (!region && !node && !sku))
			return bad(detail, cap,
				   "overrides.demand_multiplier[%zu]: needs a factor and a region, "
				   "node or sku",
				   i);
		const long n = node ? node_ix(c, node) : -1, k = sku ? sku_ix(c, sku) : -1;
		if (node && n < 0)
			return bad(detail, cap,
				   "overrides.demand_multiplier[%zu].node: '%s' not found", i,
				   node);
		if (sku && k < 0)
			return bad(detail, cap,
				   "overrides.demand_multiplier[%zu].sku: '%s' not found", i, sku);
		bool any = false;
		for (size_t x = 0; x < c->nn; x++)
			any |= !region || !strcmp(c->nodes[x].region, region);
		if (!any)
			return bad(detail, cap,
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
	json_array_foreach(json_object_get(ov, "closed_nodes"), i, v)
	{
		const long n = node_ix(c, json_string_value(v));
		if (n < 0)
			return bad(detail, cap, "overrides.closed_nodes[%zu]: '%s' is not a node",
				   i, json_is_string(v) ? json_string_value(v) : "(not a string)");
		r->closed[n] = true;
	}
	json_array_foreach(json_object_get(ov, "demand"), i, v)
	{
		const char *node = json_string_value(json_object_get(v, "node"));
		const char *sku = json_string_value(json_object_get(v, "sku"));
		const long n = node_ix(c, node), k = sku_ix(c, sku);
		double q = NAN;
		if (n < 0 || k < 0)
			return bad(detail, cap, "overrides.demand[%zu].%s: '%s' not found", i,
				   n < 0 ? "node" : "sku",
				   (n < 0 ? node : sku) ? (n < 0 ? node : sku) : "");
		if (number(v, "qty", 0, 1e9, &q, detail, cap) || isnan(q))
			return bad(detail, cap, "overrides.demand[%zu].qty: a number >= 0", i);
		r->explicit_demand[n * c->nk + k] = q;
	}
	const json_t *lanes = json_object_get(ov, "lanes");
	r->nlanes = json_array_size(lanes);
	json_array_foreach(lanes, i, v)
	{
		struct lane_override *o = &r->lanes[i];
		o->from = node_ix(c, json_string_value(json_object_get(v, "from")));
		o->to = node_ix(c, json_string_value(json_object_get(v, "to")));
		if (o->from < 0 || o->to < 0)
			return bad(detail, cap, "overrides.lanes[%zu].%s: not a node", i,
				   o->from < 0 ? "from" : "to");
		o->cost = o->fixed = NAN;
		o->cap = -2;
		double capv = NAN;
		if (number(v, "cost_per_unit", 0, 1e9, &o->cost, detail, cap) ||
		    number(v, "fixed_cost", 0, 1e12, &o->fixed, detail, cap))
			return bad(detail, cap, "overrides.lanes[%zu]: costs are numbers >= 0", i);
		const json_t *cv = json_object_get(v, "capacity_units");
		if (cv && json_is_null(cv))
			o->cap = FL_UNLIMITED;
		else if (cv && (number(v, "capacity_units", 0, 1e12, &capv, detail, cap) ||
				capv != floor(capv)))
			return bad(detail, cap,
				   "overrides.lanes[%zu].capacity_units: a whole number "
				   ">= 0 or null",
				   i);
		else if (cv)
			o->cap = (long)capv;
	}
	return 0;
}

/* ---- the flow ---- */

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
						   l->cost * (double)r->t[t].qty));
	}
	return a;
}

int api_rebalance(struct store *st, const json_t *body, const char *lp_path, bool progress,
		  json_t **answer, char *detail, size_t cap)
{
	struct fl_err err = {0};
	struct net c = {0};
	struct fl_lane *lanes = NULL;
	struct fl_inventory *inv = NULL;
	size_t nl = 0, ni = 0;
	bool more;
	struct request rq = {0};
	struct slv_rb_lane *rl = NULL;
	long *target = NULL, *after = NULL;
	struct slv_rb_result r = {0};
	int status = 0;

	*answer = NULL;
	if (!(c.snap = api_snapshot_get(st, &err)) || store_lanes_load(st, &lanes, &nl, &err) ||
	    store_inventory_page(st, NULL, NULL, NULL, NULL, (size_t)1 << 40, &inv, &ni, &more,
				 &err)) {
		status = 503;
		snprintf(detail, cap, "store: %s", err.msg);
		goto out;
	}
	c.nodes = c.snap->nodes, c.nn = c.snap->nnodes;
	c.skus = c.snap->skus, c.nk = c.snap->nskus;
	if (!c.nn) {
		status = bad(detail, cap, "the store has no nodes: import data first");
		goto out;
	}
	const size_t NK = c.nn * c.nk;
	c.demand = calloc(NK + 1, sizeof(double));
	c.total_hi = calloc(NK + 1, sizeof(double));
	c.avail = calloc(NK + 1, sizeof(long));
	target = calloc(NK + 1, sizeof(long));
	after = calloc(NK + 1, sizeof(long));
	rl = calloc(nl + 1, sizeof(*rl));
	rq.mult = calloc(NK + 1, sizeof(double));
	rq.explicit_demand = calloc(NK + 1, sizeof(double));
	rq.closed = calloc(c.nn + 1, sizeof(bool));
	rq.lanes = calloc(
		json_array_size(json_object_get(json_object_get(body, "overrides"), "lanes")) + 1,
		sizeof(*rq.lanes));
	if (!c.demand || !c.total_hi || !c.avail || !target || !after || !rl || !rq.mult ||
	    !rq.explicit_demand || !rq.closed || !rq.lanes) {
		status = 500;
		snprintf(detail, cap, "out of memory");
		goto out;
	}
	if ((status = parse_request(body, &c, &rq, detail, cap)))
		goto out;

	/* demand: the forecast's total over the horizon (cached while the history holds) */
	const double level = rq.service_level > 0 ? 2 * rq.service_level - 1 : 0.9;
	struct fc_opts fo = {.horizon = rq.horizon, .level = level, .period = 7, .method = FC_AUTO};
	struct api_forecast_stats fs;
	if (api_forecast_all(st, &fo, progress, collect, collect_cached, &c, &fs, &err)) {
		status = 503;
		snprintf(detail, cap, "forecast: %s", err.msg);
		goto out;
	}
	for (size_t x = 0; x < ni; x++) {
		const long i = node_ix(&c, inv[x].node), k = sku_ix(&c, inv[x].sku);
		if (i < 0 || k < 0)
			continue;
		const size_t ik = (size_t)i * c.nk + (size_t)k;
		c.avail[ik] = inv[x].on_hand - inv[x].reserved;
		if (rq.service_level == 0)
			target[ik] = inv[x].safety_stock;
	}
	if (store_in_transit(st, in_transit, &c, &err)) {
		status = 503;
		snprintf(detail, cap, "store: %s", err.msg);
		goto out;
	}
	for (size_t ik = 0; ik < NK; ik++) {
		const size_t i = ik / c.nk;
		double ss = rq.service_level > 0 ? fmax(0, c.total_hi[ik] - c.demand[ik]) : 0;
		double d = c.demand[ik] * rq.mult[ik];
		if (!isnan(rq.explicit_demand[ik]))
			d = rq.explicit_demand[ik], ss *= c.demand[ik] > 0 ? d / c.demand[ik] : 0;
		if (rq.closed[i]) /* a closed node sells nothing and ships nothing */
			d = 0, ss = 0, target[ik] = 0;
		c.demand[ik] = d;
		target[ik] += (long)ceil(d + ss - 1e-9);
		if (c.avail[ik] < 0)
			c.avail[ik] = 0;
	}
	int L = 0;
	for (size_t l = 0; l < nl; l++) {
		const long from = node_ix(&c, lanes[l].from), to = node_ix(&c, lanes[l].to);
		if (from < 0 || to < 0 || rq.closed[from] || rq.closed[to])
			continue;
		struct slv_rb_lane x = {(int)from, (int)to, lanes[l].cost_per_unit,
					lanes[l].fixed_cost, lanes[l].capacity_units};
		int lead = lanes[l].lead_days;
		for (size_t o = 0; o < rq.nlanes; o++)
			if (rq.lanes[o].from == from && rq.lanes[o].to == to) {
				if (!isnan(rq.lanes[o].cost))
					x.cost = rq.lanes[o].cost;
				if (!isnan(rq.lanes[o].fixed))
					x.fixed = rq.lanes[o].fixed;
				if (rq.lanes[o].cap != -2)
					x.cap = rq.lanes[o].cap;
			}
		if (lead <= rq.horizon)
			rl[L++] = x;
	}
	struct slv_rb_problem p = {.nnodes = (int)c.nn,
				   .nskus = (int)c.nk,
				   .nlanes = L,
				   .lanes = rl,
				   .avail = c.avail,
				   .target = target,
				   .penalty = rq.penalty,
				   .time_limit_ms = rq.time_limit_ms,
				   .threads = api_threads_default()};
	if (lp_path && slv_rebalance_export_lp(&p, lp_path, &err)) {
		status = 500;
		snprintf(detail, cap, "%s", err.msg);
		goto out;
	}
	if (slv_rebalance(&p, &r, &err)) {
		status = err.status == FL_EINVAL ? 422 : 500;
		snprintf(detail, cap, "%s", err.msg);
		goto out;
	}
	slv_thread_release();

	/* the answer */
	memcpy(after, c.avail, sizeof(long) * NK);
	long units = 0;
	for (size_t t = 0; t < r.nt; t++) {
		after[(size_t)rl[r.t[t].lane].from * c.nk + r.t[t].sku] -= r.t[t].qty;
		after[(size_t)rl[r.t[t].lane].to * c.nk + r.t[t].sku] += r.t[t].qty;
		units += r.t[t].qty;
	}
	json_t *regions = json_object();
	for (size_t i = 0; i < c.nn; i++)
		if (!json_object_get(regions, c.nodes[i].region))
			json_object_set_new(regions, c.nodes[i].region,
					    json_pack("{s:f, s:f}", "before",
						      fill_rate(&c, c.avail, c.nodes[i].region),
						      "after",
						      fill_rate(&c, after, c.nodes[i].region)));
	/* the largest shortages that remain, and why: no reachable node holds more than its
	 * own target (no_supply), or moving more costs more than the shortage or meets a
	 * lane's capacity (cost_or_capacity) */
	json_t *unserved = json_array();
	size_t top[RB_UNSERVED_SHOWN], ntop = 0;
	for (size_t ik = 0; ik < NK; ik++) {
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
		const size_t ik = top[x], j = ik / c.nk, k = ik % c.nk;
		bool supply = false;
		for (int l = 0; l < L && !supply; l++)
			supply = (size_t)rl[l].to == j &&
				 after[(size_t)rl[l].from * c.nk + k] >
					 target[(size_t)rl[l].from * c.nk + k];
		json_array_append_new(unserved,
				      json_pack("{s:s, s:s, s:I, s:s}", "node", c.nodes[j].id,
						"sku", c.skus[k].id, "units",
						(json_int_t)(target[ik] - after[ik]), "reason",
						supply ? "cost_or_capacity" : "no_supply"));
	}
	char id[19] = "s_";
	api_random_hex(id + 2, 8);
	json_t *solver = json_pack("{s:s, s:f, s:f, s:f, s:s, s:b, s:i}", "status",
				   r.optimal ? "optimal" : "feasible", "gap", r.gap, "bound",
				   r.bound, "time_ms", r.ms, "method", r.method, "coupled",
				   r.coupled, "lanes_used", r.lanes_used);
	*answer = json_pack(
		"{s:s, s:s, s:i, s:f, s:o, s:{s:f, s:f, s:f, s:f}, s:{s:f, s:f, s:o}, s:I, "
		"s:{s:I, s:I, s:o}, s:o, s:{s:f, s:I}, s:{s:I, s:I}}",
		"scenario_id", id, "name", rq.name, "horizon_days", rq.horizon, "shortage_penalty",
		rq.penalty, "transfers", transfers_json(&c, &p, &r), "cost", "total", r.total,
		"transfer", r.transfer_cost, "fixed", r.fixed_cost, "shortage", r.shortage_cost,
		"fill_rate", "before", fill_rate(&c, c.avail, NULL), "after",
		fill_rate(&c, after, NULL), "by_region", regions, "units_moved", (json_int_t)units,
		"shortage_units", "before", (json_int_t)r.short_before, "after",
		(json_int_t)r.short_after, "unserved", unserved, "solver", solver, "baseline",
		"greedy_total", r.greedy_total, "greedy_transfers", (json_int_t)r.greedy_transfers,
		"forecast", "series", (json_int_t)fs.series, "cached", (json_int_t)fs.cached);
	if (!*answer) {
		status = 500;
		snprintf(detail, cap, "out of memory");
		goto out;
	}
	char *req = json_dumps(body, JSON_COMPACT), *resp = json_dumps(*answer, JSON_COMPACT);
	if (!req || !resp || store_scenario_put(st, id, rq.name, req, resp, &err)) {
		status = 503;
		snprintf(detail, cap, "store: %s", req && resp ? err.msg : "out of memory");
		json_decref(*answer);
		*answer = NULL;
	}
	free(req), free(resp);
out:
	slv_rb_release(&r);
	api_snapshot_put(c.snap);
	free(c.demand), free(c.total_hi), free(c.avail);
	free(lanes), free(inv), free(rl), free(target), free(after);
	free(rq.mult), free(rq.explicit_demand), free(rq.closed), free(rq.lanes);
	return status;
}

int api_scenario_get(struct store *st, const char *id, json_t **answer, char *detail, size_t cap)
{
	struct fl_err err = {0};
	char *text;
	int64_t accepted;
	int rc = store_scenario_get(st, id, &text, &accepted, &err);
	if (rc) {
		snprintf(detail, cap, "%s", err.msg);
		return rc == FL_ENOTFOUND ? 404 : 503;
	}
	json_error_t je;
	*answer = json_loads(text, 0, &je);
	free(text);
	if (!*answer) {
		snprintf(detail, cap, "stored scenario unreadable");
		return 500;
	}
	json_object_set_new(*answer, "accepted_at",
			    accepted ? json_integer(accepted) : json_null());
	return 0;
}

int api_scenario_compare(struct store *st, const char *a, const char *b, json_t **answer,
			 char *detail, size_t cap)
{
	json_t *x = NULL, *y = NULL;
	int status = api_scenario_get(st, a, &x, detail, cap);
	if (!status)
		status = api_scenario_get(st, b, &y, detail, cap);
	if (status) {
		json_decref(x);
		return status;
	}
	json_t *rows = json_object();
#define PAIR(name, jx, jy)                                                          \
	json_object_set_new(rows, name,                                             \
			    json_pack("{s:O, s:O, s:f}", "a", jx, "b", jy, "delta", \
				      json_number_value(jy) - json_number_value(jx)))
	PAIR("cost_total", json_object_get(json_object_get(x, "cost"), "total"),
	     json_object_get(json_object_get(y, "cost"), "total"));
	PAIR("cost_transfer", json_object_get(json_object_get(x, "cost"), "transfer"),
	     json_object_get(json_object_get(y, "cost"), "transfer"));
	PAIR("cost_fixed", json_object_get(json_object_get(x, "cost"), "fixed"),
	     json_object_get(json_object_get(y, "cost"), "fixed"));
	PAIR("cost_shortage", json_object_get(json_object_get(x, "cost"), "shortage"),
	     json_object_get(json_object_get(y, "cost"), "shortage"));
	PAIR("units_moved", json_object_get(x, "units_moved"), json_object_get(y, "units_moved"));
	PAIR("fill_rate_after", json_object_get(json_object_get(x, "fill_rate"), "after"),
	     json_object_get(json_object_get(y, "fill_rate"), "after"));
	json_t *nx = json_integer((json_int_t)json_array_size(json_object_get(x, "transfers")));
	json_t *ny = json_integer((json_int_t)json_array_size(json_object_get(y, "transfers")));
	PAIR("transfers", nx, ny);
	json_decref(nx), json_decref(ny);
	json_t *regions = json_object();
	const char *key;
	json_t *v;
	json_t *ry = json_object_get(json_object_get(y, "fill_rate"), "by_region");
	json_object_foreach(json_object_get(json_object_get(x, "fill_rate"), "by_region"), key, v)
	{
		json_t *w = json_object_get(ry, key);
		json_object_set_new(regions, key,
				    json_pack("{s:O, s:O}", "a", json_object_get(v, "after"), "b",
					      w ? json_object_get(w, "after") : json_null()));
	}
#undef PAIR
	*answer = json_pack("{s:[{s:O, s:O}, {s:O, s:O}], s:o, s:o}", "scenarios", "scenario_id",
			    json_object_get(x, "scenario_id"), "name", json_object_get(x, "name"),
			    "scenario_id", json_object_get(y, "scenario_id"), "name",
			    json_object_get(y, "name"), "compare", rows, "fill_rate_by_region",
			    regions);
	json_decref(x);
	json_decref(y);
	if (!*answer) {
		snprintf(detail, cap, "out of memory");
		return 500;
	}
	return 0;
}

int api_scenario_accept(struct store *st, const char *id, json_t **answer, char *detail, size_t cap)
{
	json_t *s = NULL;
	int status = api_scenario_get(st, id, &s, detail, cap);
	if (status)
		return status;
	const json_t *tr = json_object_get(s, "transfers");
	const size_t n = json_array_size(tr);
	struct store_transfer *t = calloc(n + 1, sizeof(*t));
	long units = 0;
	if (!t) {
		json_decref(s);
		snprintf(detail, cap, "out of memory");
		return 500;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(tr, i);
		t[i] = (struct store_transfer){json_string_value(json_object_get(x, "from")),
					       json_string_value(json_object_get(x, "to")),
					       json_string_value(json_object_get(x, "sku")),
					       (long)json_integer_value(json_object_get(x, "qty"))};
		units += t[i].qty;
	}
	struct fl_err err = {0};
	const int64_t now = (int64_t)time(NULL);
	const int rc = store_scenario_accept(st, id, t, n, now, &err);
	free(t);
	json_decref(s);
	if (rc) {
		snprintf(detail, cap, "%s", err.msg);
		return rc == FL_ECONFLICT ? 409 : rc == FL_ENOTFOUND ? 404 : 503;
	}
	*answer =
		json_pack("{s:s, s:I, s:I, s:I}", "scenario_id", id, "accepted_at", (json_int_t)now,
			  "transfers", (json_int_t)n, "units_in_transit", (json_int_t)units);
	return *answer ? 0 : 500;
}

/* ---- the command line ---- */

static void print_summary(const json_t *a)
{
	const json_t *cost = json_object_get(a, "cost"), *fr = json_object_get(a, "fill_rate");
	const json_t *sv = json_object_get(a, "solver"), *sh = json_object_get(a, "shortage_units");
	const json_t *bl = json_object_get(a, "baseline");
	const double total = json_number_value(json_object_get(cost, "total"));
	const double greedy = json_number_value(json_object_get(bl, "greedy_total"));
	printf("scenario %s (%s): horizon %lld days, penalty %.2f per unit short\n",
	       json_string_value(json_object_get(a, "scenario_id")),
	       json_string_value(json_object_get(a, "name")),
	       json_integer_value(json_object_get(a, "horizon_days")),
	       json_number_value(json_object_get(a, "shortage_penalty")));
	printf("solver: %s, gap %.2f%% to the proved bound %.2f, %.0f ms (%s)\n",
	       json_string_value(json_object_get(sv, "status")),
	       100 * json_number_value(json_object_get(sv, "gap")),
	       json_number_value(json_object_get(sv, "bound")),
	       json_number_value(json_object_get(sv, "time_ms")),
	       json_string_value(json_object_get(sv, "method")));
	printf("cost: total %.2f = transfers %.2f + fixed %.2f + shortage %.2f\n", total,
	       json_number_value(json_object_get(cost, "transfer")),
	       json_number_value(json_object_get(cost, "fixed")),
	       json_number_value(json_object_get(cost, "shortage")));
	printf("transfers: %zu on %lld lanes, %lld units; units short %lld -> %lld\n",
	       json_array_size(json_object_get(a, "transfers")),
	       json_integer_value(json_object_get(sv, "lanes_used")),
	       json_integer_value(json_object_get(a, "units_moved")),
	       json_integer_value(json_object_get(sh, "before")),
	       json_integer_value(json_object_get(sh, "after")));
	printf("greedy baseline (nearest surplus first): %.2f; optimised / greedy = %.3f\n", greedy,
	       greedy > 0 ? total / greedy : 1);
	printf("fill rate (forecast demand a node serves from its own stock): %.1f%% -> %.1f%%\n",
	       100 * json_number_value(json_object_get(fr, "before")),
	       100 * json_number_value(json_object_get(fr, "after")));
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)json_object_get(fr, "by_region"), key, v)
		printf("  %-14s %.1f%% -> %.1f%%\n", key,
		       100 * json_number_value(json_object_get(v, "before")),
		       100 * json_number_value(json_object_get(v, "after")));
}

int api_cmd_rebalance(int argc, char **argv)
{
	static const char *const usage =
		"--db FILE [--name N] [--horizon 14] [--penalty 25] [--service-level 0.95]\n"
		"       [--multiplier region|node|sku=ID:FACTOR]... [--close NODE]...\n"
		"       [--demand NODE/SKU:QTY]... [--time-limit-ms N] [--transfers OUT.csv]\n"
		"       [--export-lp FILE] [--json]\n"
		"   or: fulcrum rebalance accept SCENARIO_ID --db FILE";
	const char *db = NULL, *csv = NULL, *lp = NULL;
	bool as_json = false;
	json_t *body = json_object(), *mult = json_array(), *closed = json_array(),
	       *demand = json_array();
	int code = 2;

	if (argc >= 3 && !strcmp(argv[1], "accept")) {
		if (argc != 5 || strcmp(argv[3], "--db")) {
			code = api_usage("rebalance", usage);
			goto done;
		}
		struct store *st;
		struct fl_err err = {0};
		if (store_open(argv[4], &st, &err)) {
			code = api_fail(&err);
			goto done;
		}
		json_t *a;
		char detail[1024];
		const int status = api_scenario_accept(st, argv[2], &a, detail, sizeof(detail));
		store_close(st);
		if (status) {
			fprintf(stderr, "fulcrum: rebalance accept: %s\n", detail);
			code = 1;
			goto done;
		}
		printf("accepted %s: %lld transfers, %lld units in transit\n", argv[2],
		       json_integer_value(json_object_get(a, "transfers")),
		       json_integer_value(json_object_get(a, "units_in_transit")));
		json_decref(a);
		code = 0;
		goto done;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(a, "--json")) {
			as_json = true;
			continue;
		}
		if (!v) {
			code = api_usage("rebalance", usage);
			goto done;
		}
		i++;
		if (!strcmp(a, "--db"))
			db = v;
		else if (!strcmp(a, "--transfers"))
			csv = v;
		else if (!strcmp(a, "--export-lp"))
			lp = v;
		else if (!strcmp(a, "--name"))
			json_object_set_new(body, "name", json_string(v));
		else if (!strcmp(a, "--horizon"))
			json_object_set_new(body, "horizon_days", json_real(strtod(v, &end)));
		else if (!strcmp(a, "--penalty"))
			json_object_set_new(body, "shortage_penalty", json_real(strtod(v, &end)));
		else if (!strcmp(a, "--service-level"))
			json_object_set_new(body, "service_level", json_real(strtod(v, &end)));
		else if (!strcmp(a, "--time-limit-ms"))
			json_object_set_new(body, "time_limit_ms", json_real(strtod(v, &end)));
		else if (!strcmp(a, "--close"))
			json_array_append_new(closed, json_string(v));
		else if (!strcmp(a, "--multiplier") || !strcmp(a, "--demand")) {
			const char *colon = strrchr(v, ':'), *eq = strchr(v, '='),
				   *sl = strchr(v, '/');
			const bool m = !strcmp(a, "--multiplier");
			if (!colon || (m && (!eq || eq > colon)) || (!m && (!sl || sl > colon))) {
				code = api_usage("rebalance", usage);
				goto done;
			}
			const double x = strtod(colon + 1, &end);
			if (m) {
				char kind[16];
				snprintf(kind, sizeof(kind), "%.*s", (int)(eq - v), v);
				json_array_append_new(mult, json_pack("{s:s%, s:f}", kind, eq + 1,
								      (size_t)(colon - eq - 1),
								      "factor", x));
			} else {
				json_array_append_new(
					demand, json_pack("{s:s%, s:s%, s:f}", "node", v,
							  (size_t)(sl - v), "sku", sl + 1,
							  (size_t)(colon - sl - 1), "qty", x));
			}
		} else {
			code = api_usage("rebalance", usage);
			goto done;
		}
		if (end && *end) {
			code = api_usage("rebalance", usage);
			goto done;
		}
	}
	if (!db) {
		code = api_usage("rebalance", usage);
		goto done;
	}
	if (json_array_size(mult) || json_array_size(closed) || json_array_size(demand)) {
		json_t *ov = json_object();
		if (json_array_size(mult))
			json_object_set(ov, "demand_multiplier", mult);
		if (json_array_size(closed))
			json_object_set(ov, "closed_nodes", closed);
		if (json_array_size(demand))
			json_object_set(ov, "demand", demand);
		json_object_set_new(body, "overrides", ov);
	}
	struct store *st;
	struct fl_err err = {0};
	if (store_open(db, &st, &err)) {
		code = api_fail(&err);
		goto done;
	}
	json_t *answer;
	char detail[1024];
	const int status = api_rebalance(st, body, lp, !as_json, &answer, detail, sizeof(detail));
	api_snapshot_drop();
	store_close(st);
	if (status) {
		fprintf(stderr, "fulcrum: rebalance: %s\n", detail);
		code = 1;
		goto done;
	}
	if (as_json) {
		char *text = json_dumps(answer, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
		if (text)
			puts(text);
		free(text);
	} else {
		print_summary(answer);
	}
	code = 0;
	if (csv) {
		struct api_out o;
		if (api_out_open(&o, csv, &err)) {
			code = api_fail(&err);
		} else {
			size_t i;
			json_t *t;
			fprintf(o.fp, "from,to,sku,qty,cost\n");
			json_array_foreach(json_object_get(answer, "transfers"), i, t)
				fprintf(o.fp, "%s,%s,%s,%lld,%.2f\n",
					json_string_value(json_object_get(t, "from")),
					json_string_value(json_object_get(t, "to")),
					json_string_value(json_object_get(t, "sku")),
					json_integer_value(json_object_get(t, "qty")),
					json_number_value(json_object_get(t, "cost")));
			if (api_out_close(&o, true, &err))
				code = api_fail(&err);
			else if (!as_json)
				printf("transfers written to %s\n", csv);
		}
	}
	if (lp && !as_json)
		printf("model written to %s (solve it with: glpsol --lp %s)\n", lp, lp);
	json_decref(answer);
done:
	json_decref(body), json_decref(mult), json_decref(closed), json_decref(demand);
	return code;
}
