/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the single-decision and wave flows share, one path per step: an order parsed
 * from its body, its candidates and solve, the answer with its explanation, the rules
 * around a decision (before_sourcing, after_sourcing) and the reservation rows of a plan.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/internal.h"

/* ---- the order ---- */

int flow__strict(const json_t *obj, const char *path, const char *const *known, struct fl_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (known[i] && strcmp(key, known[i]))
			i++;
		if (!known[i])
			return fl_err_set(err, FL_EINVAL, "%s%s%.64s: unknown field", path,
					  *path ? "." : "", key);
	}
	return 0;
}

static void to_cents(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_number(v))
		json_object_set_new(o, key, json_real(round(json_number_value(v) * 100) / 100));
}

void flow__money_view(json_t *ans)
{
	static const char *const parts[] = {"total", "shipping",      "handling",
					    "pick",  "split_penalty", "rule_penalty"};
	json_t *cost = json_object_get(ans, "cost"), *x;
	size_t i;
	for (size_t k = 0; cost && k < sizeof(parts) / sizeof(parts[0]); k++)
		to_cents(cost, parts[k]);
	json_array_foreach(json_object_get(ans, "shipments"), i, x) to_cents(x, "cost");
	json_array_foreach(json_object_get(json_object_get(ans, "explanation"), "alternatives"), i,
			   x) to_cents(x, "cost");
}

void flow__rfc3339(int64_t t, char out[32])
{
	const time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *flow__reservation_json(struct store *st, const char *decision_id, struct fl_err *err)
{
	struct store_reservation r;
	char when[32];
	if (store_reservation_get(st, decision_id, &r, err))
		return NULL;
	flow__rfc3339(r.updated_at, when);
	return json_pack("{s:s, s:I, s:s}", "status", r.status, "units", (json_int_t)r.units,
			 "updated_at", when);
}

long flow__order_units(const struct flow__order *o)
{
	long units = 0;
	for (int k = 0; k < o->nitems; k++)
		units += o->items[k].qty;
	return units;
}

#define BAD(...) fl_err_set(err, FL_EINVAL, __VA_ARGS__)

int flow__get_bool(const json_t *o, const char *key, bool dflt, bool *out, struct fl_err *err)
{
	const json_t *v = json_object_get(o, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return BAD("%s: must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int flow__order_parse(const json_t *j, const struct flow_snapshot *snap, struct flow__order *o,
		      struct fl_err *err)
{
	const json_t *v, *dest, *lines;
	int rc;

	static const char *const known[] = {
		"order_id",	 "destination",	  "lines",   "deliver_within_days",
		"allow_split",	 "allow_partial", "reserve", "split_penalty",
		"time_limit_ms", "channel",	  NULL};
	static const char *const known_dest[] = {"lat", "lon", "region", NULL};
	static const char *const known_line[] = {"sku", "qty", NULL};

	memset(o, 0, sizeof(*o));
	if ((rc = flow__strict(j, "", known, err)))
		return rc;
	v = json_object_get(j, "order_id");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return BAD("order_id: required, a non-empty string");
	if (json_string_length(v) >= FL_ID_MAX)
		return BAD("order_id: longer than %d bytes", FL_ID_MAX - 1);
	snprintf(o->order_id, sizeof(o->order_id), "%s", json_string_value(v));

	dest = json_object_get(j, "destination");
	if (!json_is_object(dest))
		return BAD("destination: required, an object with lat and lon");
	if ((rc = flow__strict(dest, "destination", known_dest, err)))
		return rc;
	v = json_object_get(dest, "region");
	if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) >= FL_NAME_MAX))
		return BAD("destination.region: a string of at most %d bytes", FL_NAME_MAX - 1);
	v = json_object_get(dest, "lat");
	if (!json_is_number(v) || fabs(json_number_value(v)) > 90)
		return BAD("destination.lat: required, a number from -90 to 90");
	o->lat = json_number_value(v);
	v = json_object_get(dest, "lon");
	if (!json_is_number(v) || fabs(json_number_value(v)) > 180)
		return BAD("destination.lon: required, a number from -180 to 180");
	o->lon = json_number_value(v);

	o->promise = -1;
	v = json_object_get(j, "deliver_within_days");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > FLOW_MAX_PROMISE_DAYS)
			return BAD("deliver_within_days: an integer from 0 to %d",
				   FLOW_MAX_PROMISE_DAYS);
		o->promise = (int)json_integer_value(v);
	}
	if ((rc = flow__get_bool(j, "allow_split", true, &o->allow_split, err)) ||
	    (rc = flow__get_bool(j, "allow_partial", true, &o->allow_partial, err)) ||
	    (rc = flow__get_bool(j, "reserve", false, &o->reserve, err)))
		return rc;
	v = json_object_get(j, "split_penalty");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    json_number_value(v) > 1e6)
			return BAD("split_penalty: a number from 0 to 1000000");
		o->split_penalty = json_number_value(v);
	}
	o->time_limit_ms = FLOW_SOLVE_MS;
	v = json_object_get(j, "time_limit_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > FLOW_SOLVE_MS_MAX)
			return BAD("time_limit_ms: an integer from 1 to %d", FLOW_SOLVE_MS_MAX);
		o->time_limit_ms = (int)json_integer_value(v);
	}
	v = json_object_get(j, "channel");
	if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) >= FL_ID_MAX))
		return BAD("channel: a string of at most %d bytes", FL_ID_MAX - 1);

	lines = json_object_get(j, "lines");
	if (!json_is_array(lines) || json_array_size(lines) == 0)
		return BAD("lines: required, a non-empty array");
	if (json_array_size(lines) > FLOW_MAX_LINES)
		return BAD("lines: at most %d lines", FLOW_MAX_LINES);
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line)
	{
		const json_t *sku = json_object_get(line, "sku"),
			     *qty = json_object_get(line, "qty");
		if (!json_is_object(line))
			return BAD("lines[%zu]: must be an object with sku and qty", i);
		char path[32];
		snprintf(path, sizeof(path), "lines[%zu]", i);
		if ((rc = flow__strict(line, path, known_line, err)))
			return rc;
		if (!json_is_string(sku))
			return BAD("lines[%zu].sku: required, a string", i);
		const long ks = flow_snapshot_sku(snap, json_string_value(sku));
		const struct fl_sku *s = ks >= 0 ? &snap->skus[ks] : NULL;
		if (!s)
			return BAD("lines[%zu].sku: unknown SKU '%.64s'", i,
				   json_string_value(sku));
		if (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
		    json_integer_value(qty) > FLOW_MAX_QTY)
			return BAD("lines[%zu].qty: must be a positive integer of at most %d", i,
				   FLOW_MAX_QTY);
		int k = 0;
		while (k < o->nitems && o->sku[k] != s)
			k++;
		if (k == o->nitems) { /* two lines with the same SKU add up */
			o->sku[k] = s;
			o->items[k] = (struct slv_item){0, s->weight_kg, s->hazmat};
			o->nitems++;
		}
		o->items[k].qty += (long)json_integer_value(qty);
		if (o->items[k].qty > FLOW_MAX_QTY)
			return BAD("lines[%zu].qty: the lines of '%s' add up to more than %d", i,
				   s->id, FLOW_MAX_QTY);
	}
	return 0;
}

/* ---- the answer ---- */

static double round6(double x)
{
	return round(x * 1e6) / 1e6;
}

static json_t *lines_json(const struct flow__order *o, const long *qty)
{
	json_t *a = json_array();
	for (int k = 0; k < o->nitems; k++)
		if (qty[k] > 0)
			json_array_append_new(a, json_pack("{s:s, s:I}", "sku", o->sku[k]->id,
							   "qty", (json_int_t)qty[k]));
	return a;
}

/*
 * Up to FLOW_ALTERNATIVES nodes the plan did not use, each with its best single shipment,
 * most units first then cheapest, and why it lost.
 */
static json_t *alternatives(const struct flow__order *o, const struct flow_snapshot *snap,
			    const struct slv_candidates *c, const bool *chosen, long filled)
{
	const struct slv_problem *p = &c->prob;
	json_t *alts = json_array();
	struct alt {
		int node, option;
		long units;
		double cost;
	} best[FLOW_ALTERNATIVES];
	int nalt = 0;
	long *q = calloc((size_t)o->nitems, sizeof(long));
	for (int pn = 0; q && pn < p->nnodes; pn++) {
		if (chosen[c->node_of[pn]])
			continue;
		long units;
		double cost;
		int opt = slv_best_single(p, pn, q, &units, &cost);
		if (opt < 0)
			continue;
		struct alt a = {c->node_of[pn], opt, units, cost};
		int at = nalt < FLOW_ALTERNATIVES ? nalt++ : FLOW_ALTERNATIVES;
		while (at > 0 && (best[at - 1].units < a.units ||
				  (best[at - 1].units == a.units && best[at - 1].cost > a.cost))) {
			if (at < FLOW_ALTERNATIVES)
				best[at] = best[at - 1];
			at--;
		}
		if (at < FLOW_ALTERNATIVES)
			best[at] = a;
	}
	free(q);
	for (int i = 0; i < nalt; i++) {
		const struct fl_rate *rt = &snap->rates[c->rate_of[best[i].option]];
		json_array_append_new(
			alts, json_pack("{s:s, s:s, s:s, s:I, s:f, s:s}", "node",
					snap->nodes[best[i].node].id, "carrier", rt->carrier,
					"service", rt->service, "units", (json_int_t)best[i].units,
					"cost", round6(best[i].cost), "why_not",
					best[i].units < filled ? "fills fewer units in one shipment"
							       : "costs more"));
	}
	return alts;
}

/* Why node n did not ship line k, as an explanation names it. */
static const char *node_reason(const struct slv_candidates *c, const struct flow__adjust *adj,
			       size_t n)
{
	if (c->why[n] == SLV_X_RULE && adj && adj->outage && adj->outage[n])
		return "outage";
	return slv_exclusion_name(c->why[n]);
}

/* Can candidate node n (not excluded) ship line k at all (hazmat)? */
static bool node_carries(const struct flow__order *o, const struct flow_snapshot *snap,
			 const struct slv_candidates *c, size_t n, int k)
{
	if (!o->items[k].hazmat)
		return true;
	if (!snap->nodes[n].ships_hazmat)
		return false;
	for (int op = 0; op < c->prob.noptions; op++)
		if ((size_t)c->node_of[c->prob.options[op].node] == n &&
		    c->prob.options[op].hazmat_ok)
			return true;
	return false;
}

/*
 * Why line k's missing units were not shipped, judged by the nodes that hold its stock:
 * none holds any (no_stock); the candidates that hold it could ship it all but the plan
 * could not (no_split without splits, else capacity); otherwise what stopped the largest
 * holder left out: promise, hazmat, outage, rule, beyond_zones or capacity.
 */
static const char *unfilled_reason(const struct flow__order *o, const struct flow_snapshot *snap,
				   const struct slv_candidates *c, const long *atp,
				   const struct flow__adjust *adj, int k)
{
	long usable = 0, best = 0;
	const char *why = "no_stock";
	for (size_t n = 0; n < snap->nnodes; n++) {
		const long a = atp[n * (size_t)o->nitems + (size_t)k];
		if (a <= 0)
			continue;
		const bool carries = c->why[n] == SLV_X_NONE && node_carries(o, snap, c, n, k);
		if (carries)
			usable += a;
		else if (a > best)
			best = a, why = c->why[n] == SLV_X_NONE ? "hazmat" : node_reason(c, adj, n);
	}
	if (usable >= o->items[k].qty || !best)
		return !best && !usable ? "no_stock" : !o->allow_split ? "no_split" : "capacity";
	return why;
}

/*
 * The days a node excluded for the promise would need: its processing days and its
 * zone's fastest service (-1 when it has none).
 */
static int days_needed(const struct flow_snapshot *snap, const struct slv_candidates *c, size_t n)
{
	int best = -1;
	for (size_t r = 0; c->zone[n] >= 0 && r < snap->nrates; r++)
		if (snap->rates[r].zone == c->zone[n] &&
		    (best < 0 || snap->rates[r].transit_days < best))
			best = snap->rates[r].transit_days;
	return best < 0 ? -1 : snap->nodes[n].processing_days + best;
}

static json_t *excluded_json(const struct flow_snapshot *snap, const struct slv_candidates *c,
			     const struct flow__adjust *adj)
{
	json_t *excluded = json_array();
	for (size_t n = 0; excluded && n < snap->nnodes; n++) {
		if (c->why[n] == SLV_X_NONE)
			continue;
		const char *why = node_reason(c, adj, n);
		json_t *x = json_pack("{s:s, s:s}", "node", snap->nodes[n].id, "reason", why);
		if (!strcmp(why, "outage")) /* the event that took it out */
			json_object_set_new(x, "event_id", json_string(adj->outage[n]));
		const int days = c->why[n] == SLV_X_PROMISE ? days_needed(snap, c, n) : -1;
		if (days >= 0)
			json_object_set_new(x, "days_needed", json_integer(days));
		json_array_append_new(excluded, x);
	}
	return excluded;
}

json_t *flow__answer(const struct flow__order *o, const struct flow_snapshot *snap,
		     const struct slv_candidates *c, const struct slv_result *r,
		     bool refuse_partial, const char *decision_id, const long *atp,
		     const struct flow__adjust *adj, json_t *rules, const char **status_out)
{
	const double *penalty = adj && adj->any ? adj->penalty : NULL;
	const struct slv_problem *p = &c->prob;
	long want = flow__order_units(o), filled = refuse_partial ? 0 : r->filled;
	const char *status = filled == 0 ? "unfulfillable" : filled < want ? "partial" : "complete";
	*status_out = status;

	double shipping = 0, handling = 0, pick = 0, total = 0, rule_pen = 0;
	long *got = calloc((size_t)o->nitems, sizeof(long));
	bool *chosen = calloc((size_t)snap->nnodes + 1, sizeof(bool));
	json_t *ships = json_array();
	if (!got || !chosen || !ships) {
		free(got), free(chosen), json_decref(ships), json_decref(rules);
		return NULL;
	}
	for (int i = 0; filled && i < r->nshipments; i++) {
		const struct slv_shipment *s = &r->ship[i];
		int n = c->node_of[p->options[s->option].node];
		const struct fl_node *node = &snap->nodes[n];
		const struct fl_rate *rt = &snap->rates[c->rate_of[s->option]];
		chosen[n] = true;
		for (int k = 0; k < o->nitems; k++)
			got[k] += s->qty[k];
		shipping += rt->base_cost + rt->per_kg * s->weight_kg;
		handling += node->handling_cost;
		rule_pen += penalty ? penalty[n] : 0;
		pick += node->pick_cost * (double)s->units;
		total += s->cost;
		json_array_append_new(
			ships,
			json_pack("{s:s, s:s, s:s, s:i, s:f, s:i, s:i, s:f, s:o, s:f}", "node",
				  node->id, "carrier", rt->carrier, "service", rt->service, "zone",
				  rt->zone, "distance_km", round(c->distance_km[n] * 10) / 10,
				  "transit_days", rt->transit_days, "days_to_deliver",
				  c->days_of[s->option], "weight_kg", round6(s->weight_kg), "lines",
				  lines_json(o, s->qty), "cost", round6(s->cost)));
	}
	double penalty_split =
		filled && r->nshipments > 1 ? o->split_penalty * (r->nshipments - 1) : 0;
	total += penalty_split;

	/* unfilled units and why */
	json_t *unfilled = json_array();
	for (int k = 0; k < o->nitems; k++) {
		long miss = o->items[k].qty - (filled ? got[k] : 0);
		if (miss <= 0)
			continue;
		const char *why = refuse_partial ? "partial_not_allowed"
						 : unfilled_reason(o, snap, c, atp, adj, k);
		json_array_append_new(unfilled, json_pack("{s:s, s:I, s:s}", "sku", o->sku[k]->id,
							  "qty", (json_int_t)miss, "reason", why));
	}

	/* explanation: candidates, every excluded node with its reason, alternatives */
	json_t *excluded = excluded_json(snap, c, adj);
	json_t *alts = alternatives(o, snap, c, chosen, filled);
	free(got);
	free(chosen);

	json_t *solver = json_pack("{s:s, s:f, s:f, s:i, s:b}", "status",
				   r->status == SLV_FEASIBLE ? "feasible" : "optimal", "gap",
				   r->gap, "time_ms", round(r->time_ms * 1000) / 1000, "options",
				   r->options_kept, "mip", r->used_mip);
	json_t *ans =
		json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:f, s:f, s:f, s:f, s:f}, s:o, "
			  "s:{s:i, s:o, s:o}, s:o}",
			  "decision_id", decision_id, "order_id", o->order_id, "status", status,
			  "shipments", ships, "unfilled", unfilled, "cost", "total", round6(total),
			  "shipping", round6(shipping), "handling", round6(handling), "pick",
			  round6(pick), "split_penalty", round6(penalty_split), "rules",
			  rules ? rules : json_array(), "explanation", "candidates", p->nnodes,
			  "excluded", excluded, "alternatives", alts, "solver", solver);
	/* rules' penalties are in the total (they steered the choice); shown apart */
	if (ans && rule_pen > 0)
		json_object_set_new(json_object_get(ans, "cost"), "rule_penalty",
				    json_real(round6(rule_pen)));
	return ans;
}

/* ---- the flow ---- */

/* Order o's candidates (made afresh) under the adjustments adj (may be NULL). */
int flow__candidates(const struct flow_snapshot *snap, const struct flow__order *o, const long *atp,
		     const long *cap_left, const struct slv_adjust *adj,
		     struct slv_candidates *cand, struct fl_err *err)
{
	struct slv_network net = {snap->nodes,	     (int)snap->nnodes, snap->zones,
				  (int)snap->nzones, snap->rates,	(int)snap->nrates};
	struct slv_order so = {o->lat,		 o->lon,	   o->promise, o->allow_split,
			       o->split_penalty, o->time_limit_ms, o->nitems,  o->items};
	slv_candidates_release(cand);
	memset(cand, 0, sizeof(*cand));
	return slv_candidates_build(&net, &so, atp, cap_left, adj, cand, err);
}

int flow__solve(const struct flow_snapshot *snap, const struct flow__order *o, const char *lp_path,
		const struct slv_adjust *adj, const long *atp, const long *cap_left,
		struct slv_candidates *cand, struct slv_result *res, struct fl_err *err)
{
	int rc;
	memset(cand, 0, sizeof(*cand));
	memset(res, 0, sizeof(*res));
	if ((rc = flow__candidates(snap, o, atp, cap_left, adj, cand, err)))
		return rc;
	if (lp_path && (rc = slv_export_lp(&cand->prob, lp_path, err)))
		return rc;
	return slv_source(&cand->prob, res, err);
}

/* ---- the plan's reservation rows ---- */

int flow__plan_allocs(const struct flow_snapshot *snap, const struct flow__order *o,
		      const struct slv_candidates *c, const struct slv_result *r,
		      struct store_alloc **out, int *n, struct fl_err *err)
{
	*out = NULL;
	*n = 0;
	if (r->status == SLV_EMPTY || r->nshipments == 0)
		return 0;
	long rows = 0;
	for (int i = 0; i < r->nshipments; i++)
		for (int k = 0; k < o->nitems; k++)
			rows += r->ship[i].qty[k] > 0;
	if (rows > FLOW_MAX_PLAN_ROWS) /* refused before anything is written */
		return fl_err_set(
			err, FL_ELIMIT,
			"the plan takes %ld (node, SKU) rows, more than %d: split the order", rows,
			FLOW_MAX_PLAN_ROWS);
	struct store_alloc *al = calloc((size_t)r->nshipments * (size_t)o->nitems, sizeof(*al));
	if (!al)
		return fl_err_set(err, FL_ENOMEM, "reservation: out of memory");
	int na = 0;
	for (int i = 0; i < r->nshipments; i++) {
		const struct slv_shipment *sh = &r->ship[i];
		const char *node = snap->nodes[c->node_of[c->prob.options[sh->option].node]].id;
		for (int k = 0; k < o->nitems; k++)
			if (sh->qty[k] > 0)
				al[na++] = (struct store_alloc){node, o->sku[k]->id, sh->qty[k]};
	}
	*out = al;
	*n = na;
	return 0;
}

bool flow__retry(int rc, int attempt)
{
	return rc == FL_EBUSY && attempt + 1 < FLOW_RESERVE_RETRIES;
}

/* ---- rules around a decision ---- */

static long host_atp(void *ctx, const char *node, const char *sku)
{
	const struct flow__rule_ctx *c = ctx;
	int k = 0;
	while (k < c->o->nitems && strcmp(c->o->sku[k]->id, sku))
		k++;
	if (k == c->o->nitems)
		return -1; /* only the order's SKUs are read */
	const long n = flow_snapshot_node(c->snap, node);
	return n < 0 ? -1 : c->atp[(size_t)n * (size_t)c->o->nitems + (size_t)k];
}

int flow__adjust_init(struct flow__adjust *a, const struct flow_snapshot *snap)
{
	memset(a, 0, sizeof(*a));
	a->excluded = calloc(snap->nnodes + 1, sizeof(bool));
	a->penalty = calloc(snap->nnodes + 1, sizeof(double));
	a->rate_excluded = calloc(snap->nrates + 1, sizeof(bool));
	a->outage = calloc(snap->nnodes + 1, sizeof(*a->outage));
	a->adj = (struct slv_adjust){a->excluded, a->penalty, a->rate_excluded};
	a->split_penalty = NAN;
	return a->excluded && a->penalty && a->rate_excluded && a->outage ? 0 : FL_ENOMEM;
}

void flow__adjust_release(struct flow__adjust *a)
{
	free(a->excluded), free(a->penalty), free(a->rate_excluded), free((void *)a->outage);
	a->excluded = NULL, a->penalty = NULL, a->rate_excluded = NULL, a->outage = NULL;
}

static void exclude_carrier(struct flow__adjust *a, const struct flow_snapshot *snap,
			    const char *carrier, const char *service)
{
	for (size_t r = 0; r < snap->nrates; r++)
		if (!strcmp(snap->rates[r].carrier, carrier) &&
		    (!service || !strcmp(snap->rates[r].service, service)))
			a->rate_excluded[r] = a->any = true;
}

/* Fold before_sourcing effects into the adjustments. */
static void apply_effects(struct flow__adjust *a, const struct flow_snapshot *snap,
			  const struct rl_effects *fx)
{
	long required = -1;
	for (size_t i = 0; i < fx->n; i++) {
		const struct rl_effect *x = &fx->v[i];
		const long n = x->node[0] ? flow_snapshot_node(snap, x->node) : -1;
		switch (x->kind) {
		case RL_EXCLUDE_NODE:
			if (n >= 0)
				a->excluded[n] = a->any = true;
			break;
		case RL_PENALIZE_NODE:
			if (n >= 0)
				a->penalty[n] += x->amount, a->any = true;
			break;
		case RL_EXCLUDE_SERVICE: exclude_carrier(a, snap, x->carrier, x->service); break;
		case RL_REQUIRE_NODE:
			if (n >= 0)
				required = n;
			break;
		case RL_SPLIT_PENALTY: a->split_penalty = x->amount; break;
		default: break;
		}
	}
	if (required >= 0) {
		for (size_t n = 0; n < snap->nnodes; n++)
			if ((long)n != required)
				a->excluded[n] = true;
		a->any = true;
	}
}

static void rl_order_of(const struct flow__order *o, struct rl_line *lines, struct rl_order *ro)
{
	long units = 0;
	for (int k = 0; k < o->nitems; k++) {
		lines[k] = (struct rl_line){o->sku[k]->id, o->items[k].qty, o->items[k].weight_kg,
					    o->items[k].hazmat};
		units += o->items[k].qty;
	}
	*ro = (struct rl_order){o->order_id, o->nitems, lines, o->lat, o->lon, o->promise, units};
}

/* The first failed rule as the error, or 0. */
static int first_failure(const struct rl_effects *fx, struct fl_err *err)
{
	for (size_t i = 0; i < fx->n; i++)
		if (fx->v[i].kind == RL_FAILED)
			return fl_err_set(err, FL_ERULE, "rule %s/%s failed at line %d: %s",
					  fx->v[i].set, fx->v[i].rule, fx->v[i].line,
					  fx->v[i].reason);
	return 0;
}

void flow__order_rules_init(struct flow__order_rules *orl, const struct flow_snapshot *snap,
			    const struct flow__order *o, const long *atp)
{
	orl->ctx = (struct flow__rule_ctx){snap, o, atp};
	orl->host = (struct rl_host){host_atp, &orl->ctx};
	rl_order_of(o, orl->lines, &orl->ro);
}

int flow__rules_before(const struct flow_rules *rs, struct rl_engine *eng,
		       const struct flow_snapshot *snap, struct flow__order *o, double own_split,
		       const long *atp, const struct store_outage *outages, size_t noutages,
		       const struct flow__rules_opts *ro, struct flow__order_rules *orl,
		       struct flow__adjust *adj, struct rl_effects *fx, struct fl_err *err)
{
	flow__adjust_release(adj);
	if (flow__adjust_init(adj, snap))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	for (size_t i = 0; i < noutages; i++) {
		const long n = flow_snapshot_node(snap, outages[i].node);
		if (n >= 0) {
			adj->excluded[n] = adj->any = true;
			adj->outage[n] = outages[i].event_id;
		}
	}
	if (ro->exclude_node) {
		const long n = flow_snapshot_node(snap, ro->exclude_node);
		if (n >= 0)
			adj->excluded[n] = adj->any = true;
	}
	if (ro->exclude_carrier)
		exclude_carrier(adj, snap, ro->exclude_carrier, NULL);
	flow__order_rules_init(orl, snap, o, atp);
	for (int i = 0; i < rs->n; i++)
		if (!flow_rules_ensure(eng, &rs->v[i], fx))
			rl_before_sourcing(eng, rs->v[i].key, &orl->ro, &orl->host, fx);
	int rc;
	if (ro->rules_fail && (rc = first_failure(fx, err)))
		return rc;
	apply_effects(adj, snap, fx);
	o->split_penalty = isnan(adj->split_penalty) ? own_split : adj->split_penalty;
	return 0;
}

int flow__rules_after(const struct flow_rules *rs, struct rl_engine *eng,
		      const struct flow_snapshot *snap, const struct slv_candidates *cand,
		      const struct slv_result *res, struct flow__order_rules *orl,
		      struct flow__adjust *adj, struct rl_effects *fx)
{
	const int nship = res->status == SLV_EMPTY ? 0 : res->nshipments;
	struct rl_shipment *ships = calloc((size_t)nship + 1, sizeof(*ships));
	if (!ships)
		return FL_ENOMEM;
	for (int i = 0; i < nship; i++) { /* every shipment: rules see the whole plan */
		const int n = cand->node_of[cand->prob.options[res->ship[i].option].node];
		const struct fl_rate *rt = &snap->rates[cand->rate_of[res->ship[i].option]];
		ships[i] = (struct rl_shipment){snap->nodes[n].id, rt->carrier, rt->service,
						res->ship[i].units, res->ship[i].cost};
	}
	const struct rl_decision dec = {res->filled ? "planned" : "unfulfillable", res->cost, nship,
					ships};
	const size_t before = fx->n;
	for (int i = 0; i < rs->n; i++)
		if (!flow_rules_ensure(eng, &rs->v[i], fx))
			rl_after_sourcing(eng, rs->v[i].key, &orl->ro, &dec, &orl->host, fx);
	bool rejected = false;
	for (size_t i = before; i < fx->n; i++)
		rejected |= fx->v[i].kind == RL_REJECT;
	for (int i = 0; rejected && i < nship; i++) { /* the rejected plan's nodes are out */
		const long n = flow_snapshot_node(snap, ships[i].node);
		if (n >= 0)
			adj->excluded[n] = adj->any = true;
	}
	free(ships);
	return rejected;
}
