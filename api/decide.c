/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fulfil-an-order flow (ARCHITECTURE.md): validate → reference data from the
 * snapshot, stock read fresh → the active rule sets' before_sourcing (exclusions,
 * penalties, a required node, the split penalty) and node outages → candidates and the
 * exact sourcing model → after_sourcing (a rejection re-solves without the rejected
 * nodes, at most API_RULE_REJECTS times) → the answer with its explanation and every
 * rule effect → the decision recorded (and its units reserved) in one transaction, keyed
 * by order_id when reserving. The HTTP handler and `fulcrum decide` both call api_decide.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "solver/solver.h"

/* ---- the snapshot of reference data ---- */

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct api_snapshot *snap_current;

static void snapshot_free(struct api_snapshot *s)
{
	if (!s)
		return;
	free(s->nodes);
	free(s->skus);
	free(s->zones);
	free(s->rates);
	free(s);
}

int api_snapshot_load(struct store *st, struct api_snapshot **out, struct fl_err *err)
{
	struct api_snapshot *s = calloc(1, sizeof(*s));
	int rc;
	*out = NULL;
	if (!s)
		return fl_err_set(err, FL_ENOMEM, "snapshot: out of memory");
	if ((rc = store_import_generation(st, &s->generation, err)) ||
	    (rc = store_nodes_load(st, &s->nodes, &s->nnodes, err)) ||
	    (rc = store_skus_load(st, &s->skus, &s->nskus, err)) ||
	    (rc = store_zones_load(st, &s->zones, &s->nzones, err)) ||
	    (rc = store_rates_load(st, &s->rates, &s->nrates, err))) {
		snapshot_free(s);
		return rc;
	}
	atomic_init(&s->refs, 1);
	*out = s;
	return 0;
}

struct api_snapshot *api_snapshot_get(struct store *st, struct fl_err *err)
{
	int64_t gen;
	if (store_import_generation(st, &gen, err))
		return NULL;
	pthread_mutex_lock(&snap_lock);
	if (!snap_current || snap_current->generation != gen) {
		struct api_snapshot *fresh;
		if (api_snapshot_load(st, &fresh, err)) {
			pthread_mutex_unlock(&snap_lock);
			return NULL;
		}
		api_snapshot_put(snap_current);
		snap_current = fresh;
	}
	struct api_snapshot *s = snap_current;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&snap_lock);
	return s;
}

void api_snapshot_put(struct api_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

void api_snapshot_drop(void)
{
	pthread_mutex_lock(&snap_lock);
	struct api_snapshot *old = snap_current;
	snap_current = NULL;
	pthread_mutex_unlock(&snap_lock);
	api_snapshot_put(old);
}

static int cmp_sku_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct fl_sku *)elem)->id);
}

static int cmp_node_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct fl_node *)elem)->id);
}

long api_snapshot_node(const struct api_snapshot *s, const char *id)
{
	const struct fl_node *n =
		id ? bsearch(id, s->nodes, s->nnodes, sizeof(*s->nodes), cmp_node_id) : NULL;
	return n ? n - s->nodes : -1;
}

long api_snapshot_sku(const struct api_snapshot *s, const char *id)
{
	const struct fl_sku *k =
		id ? bsearch(id, s->skus, s->nskus, sizeof(*s->skus), cmp_sku_id) : NULL;
	return k ? k - s->skus : -1;
}

/* ---- the order ---- */

struct order {
	char order_id[FL_ID_MAX];
	double lat, lon;
	int promise; /* -1: none */
	bool allow_split, allow_partial, reserve;
	double split_penalty;
	int time_limit_ms;
	int nitems;
	const struct fl_sku *sku[API_MAX_LINES]; /* distinct SKUs, in first-seen order */
	struct slv_item items[API_MAX_LINES];
};

#define BAD(...) (snprintf(detail, cap, __VA_ARGS__), 422)

static int get_bool(const json_t *o, const char *key, bool dflt, bool *out, char *detail,
		    size_t cap)
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

static int parse_order(const json_t *j, const struct api_snapshot *snap, struct order *o,
		       char *detail, size_t cap)
{
	const json_t *v, *dest, *lines;
	int rc;

	memset(o, 0, sizeof(*o));
	v = json_object_get(j, "order_id");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return BAD("order_id: required, a non-empty string");
	if (json_string_length(v) >= FL_ID_MAX)
		return BAD("order_id: longer than %d bytes", FL_ID_MAX - 1);
	snprintf(o->order_id, sizeof(o->order_id), "%s", json_string_value(v));

	dest = json_object_get(j, "destination");
	if (!json_is_object(dest))
		return BAD("destination: required, an object with lat and lon");
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
		    json_integer_value(v) > API_MAX_PROMISE_DAYS)
			return BAD("deliver_within_days: an integer from 0 to %d",
				   API_MAX_PROMISE_DAYS);
		o->promise = (int)json_integer_value(v);
	}
	if ((rc = get_bool(j, "allow_split", true, &o->allow_split, detail, cap)) ||
	    (rc = get_bool(j, "allow_partial", true, &o->allow_partial, detail, cap)) ||
	    (rc = get_bool(j, "reserve", false, &o->reserve, detail, cap)))
		return rc;
	v = json_object_get(j, "split_penalty");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    json_number_value(v) > 1e6)
			return BAD("split_penalty: a number from 0 to 1000000");
		o->split_penalty = json_number_value(v);
	}
	o->time_limit_ms = API_SOLVE_MS;
	v = json_object_get(j, "time_limit_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > API_SOLVE_MS_MAX)
			return BAD("time_limit_ms: an integer from 1 to %d", API_SOLVE_MS_MAX);
		o->time_limit_ms = (int)json_integer_value(v);
	}
	v = json_object_get(j, "channel");
	if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) >= FL_ID_MAX))
		return BAD("channel: a string of at most %d bytes", FL_ID_MAX - 1);

	lines = json_object_get(j, "lines");
	if (!json_is_array(lines) || json_array_size(lines) == 0)
		return BAD("lines: required, a non-empty array");
	if (json_array_size(lines) > API_MAX_LINES)
		return BAD("lines: at most %d lines", API_MAX_LINES);
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line)
	{
		const json_t *sku = json_object_get(line, "sku"),
			     *qty = json_object_get(line, "qty");
		if (!json_is_object(line))
			return BAD("lines[%zu]: must be an object with sku and qty", i);
		if (!json_is_string(sku))
			return BAD("lines[%zu].sku: required, a string", i);
		const long ks = api_snapshot_sku(snap, json_string_value(sku));
		const struct fl_sku *s = ks >= 0 ? &snap->skus[ks] : NULL;
		if (!s)
			return BAD("lines[%zu].sku: unknown SKU '%.64s'", i,
				   json_string_value(sku));
		if (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
		    json_integer_value(qty) > API_MAX_QTY)
			return BAD("lines[%zu].qty: must be a positive integer of at most %d", i,
				   API_MAX_QTY);
		int k = 0;
		while (k < o->nitems && o->sku[k] != s)
			k++;
		if (k == o->nitems) { /* two lines with the same SKU add up */
			o->sku[k] = s;
			o->items[k] = (struct slv_item){0, s->weight_kg, s->hazmat};
			o->nitems++;
		}
		o->items[k].qty += (long)json_integer_value(qty);
		if (o->items[k].qty > API_MAX_QTY)
			return BAD("lines[%zu].qty: the lines of '%s' add up to more than %d", i,
				   s->id, API_MAX_QTY);
	}
	return 0;
}

/* ---- the answer ---- */

static double round6(double x)
{
	return round(x * 1e6) / 1e6;
}

static json_t *lines_json(const struct order *o, const long *qty)
{
	json_t *a = json_array();
	for (int k = 0; k < o->nitems; k++)
		if (qty[k] > 0)
			json_array_append_new(a, json_pack("{s:s, s:I}", "sku", o->sku[k]->id,
							   "qty", (json_int_t)qty[k]));
	return a;
}

static json_t *build_answer(const struct order *o, const struct api_snapshot *snap,
			    const struct slv_candidates *c, const struct slv_result *r,
			    bool refuse_partial, const char *decision_id, const double *penalty,
			    json_t *rules, const char **status_out)
{
	const struct slv_problem *p = &c->prob;
	long want = 0, filled = refuse_partial ? 0 : r->filled;
	for (int k = 0; k < o->nitems; k++)
		want += o->items[k].qty;
	const char *status = filled == 0 ? "unfulfillable" : filled < want ? "partial" : "complete";
	*status_out = status;

	json_t *ships = json_array();
	double shipping = 0, handling = 0, pick = 0, total = 0, rule_pen = 0;
	long *got = calloc((size_t)o->nitems, sizeof(long));
	bool *chosen = calloc((size_t)snap->nnodes + 1, sizeof(bool));
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
		long avail = 0;
		for (int n = 0; n < p->nnodes; n++)
			avail += p->nodes[n].atp[k];
		const char *why = refuse_partial	    ? "partial_not_allowed"
				  : avail < o->items[k].qty ? "no_stock"
				  : !o->allow_split	    ? "no_split"
							    : "capacity";
		json_array_append_new(unfilled, json_pack("{s:s, s:I, s:s}", "sku", o->sku[k]->id,
							  "qty", (json_int_t)miss, "reason", why));
	}

	/* explanation: candidates, every excluded node with its reason, alternatives */
	json_t *excluded = json_array();
	for (size_t n = 0; n < snap->nnodes; n++)
		if (c->why[n] != SLV_X_NONE)
			json_array_append_new(excluded,
					      json_pack("{s:s, s:s}", "node", snap->nodes[n].id,
							"reason", slv_exclusion_name(c->why[n])));
	json_t *alts = json_array();
	struct alt {
		int node, option;
		long units;
		double cost;
	} best[API_ALTERNATIVES];
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
		int at = nalt < API_ALTERNATIVES ? nalt++ : API_ALTERNATIVES;
		while (at > 0 && (best[at - 1].units < a.units ||
				  (best[at - 1].units == a.units && best[at - 1].cost > a.cost))) {
			if (at < API_ALTERNATIVES)
				best[at] = best[at - 1];
			at--;
		}
		if (at < API_ALTERNATIVES)
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
static int candidates_of(const struct api_snapshot *snap, const struct order *o, const long *atp,
			 const long *cap_left, const struct slv_adjust *adj,
			 struct slv_candidates *cand, char *detail, size_t cap)
{
	struct fl_err err = {0};
	struct slv_network net = {snap->nodes,	     (int)snap->nnodes, snap->zones,
				  (int)snap->nzones, snap->rates,	(int)snap->nrates};
	struct slv_order so = {o->lat,		 o->lon,	   o->promise, o->allow_split,
			       o->split_penalty, o->time_limit_ms, o->nitems,  o->items};
	slv_candidates_release(cand);
	memset(cand, 0, sizeof(*cand));
	if (slv_candidates_build(&net, &so, atp, cap_left, adj, cand, &err)) {
		snprintf(detail, cap, "%s", err.msg);
		return err.status == FL_ELIMIT ? 422 : 500;
	}
	return 0;
}

static int solve(const struct api_snapshot *snap, const struct order *o, const char *lp_path,
		 const struct slv_adjust *adj, const long *atp, const long *cap_left,
		 struct slv_candidates *cand, struct slv_result *res, char *detail, size_t cap)
{
	struct fl_err err = {0};
	int status;
	memset(cand, 0, sizeof(*cand));
	memset(res, 0, sizeof(*res));
	if ((status = candidates_of(snap, o, atp, cap_left, adj, cand, detail, cap)))
		return status;
	if (lp_path && slv_export_lp(&cand->prob, lp_path, &err)) {
		snprintf(detail, cap, "%s", err.msg);
		return 500;
	}
	if (slv_source(&cand->prob, res, &err)) {
		snprintf(detail, cap, "%s", err.msg);
		return 500;
	}
	return 0;
}

/* ---- rules around a decision ---- */

#define API_RULE_REJECTS 2 /* re-solves after after_sourcing rejections */

struct rule_ctx {
	const struct api_snapshot *snap;
	const struct order *o;
	const long *atp;
};

static long host_atp(void *ctx, const char *node, const char *sku)
{
	const struct rule_ctx *c = ctx;
	int k = 0;
	while (k < c->o->nitems && strcmp(c->o->sku[k]->id, sku))
		k++;
	if (k == c->o->nitems)
		return -1; /* only the order's SKUs are read */
	const long n = api_snapshot_node(c->snap, node);
	return n < 0 ? -1 : c->atp[(size_t)n * (size_t)c->o->nitems + (size_t)k];
}

struct adjust {
	bool *excluded;
	double *penalty;
	bool *rate_excluded;
	struct slv_adjust adj;
	double split_penalty; /* NAN: the order's own */
	bool any;
};

static int adjust_init(struct adjust *a, const struct api_snapshot *snap)
{
	memset(a, 0, sizeof(*a));
	a->excluded = calloc(snap->nnodes + 1, sizeof(bool));
	a->penalty = calloc(snap->nnodes + 1, sizeof(double));
	a->rate_excluded = calloc(snap->nrates + 1, sizeof(bool));
	a->adj = (struct slv_adjust){a->excluded, a->penalty, a->rate_excluded};
	a->split_penalty = NAN;
	return a->excluded && a->penalty && a->rate_excluded ? 0 : FL_ENOMEM;
}

static void adjust_release(struct adjust *a)
{
	free(a->excluded), free(a->penalty), free(a->rate_excluded);
}

static void exclude_carrier(struct adjust *a, const struct api_snapshot *snap, const char *carrier,
			    const char *service)
{
	for (size_t r = 0; r < snap->nrates; r++)
		if (!strcmp(snap->rates[r].carrier, carrier) &&
		    (!service || !strcmp(snap->rates[r].service, service)))
			a->rate_excluded[r] = a->any = true;
}

/* Fold before_sourcing effects into the adjustments. */
static void apply_effects(struct adjust *a, const struct api_snapshot *snap,
			  const struct rl_effects *fx)
{
	long required = -1;
	for (size_t i = 0; i < fx->n; i++) {
		const struct rl_effect *x = &fx->v[i];
		const long n = x->node[0] ? api_snapshot_node(snap, x->node) : -1;
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

static void rl_order_of(const struct order *o, struct rl_line *lines, struct rl_order *ro)
{
	long units = 0;
	for (int k = 0; k < o->nitems; k++) {
		lines[k] = (struct rl_line){o->sku[k]->id, o->items[k].qty, o->items[k].weight_kg,
					    o->items[k].hazmat};
		units += o->items[k].qty;
	}
	*ro = (struct rl_order){o->order_id, o->nitems, lines, o->lat, o->lon, o->promise, units};
}

static bool any_failed(const struct rl_effects *fx, char *detail, size_t cap)
{
	for (size_t i = 0; i < fx->n; i++)
		if (fx->v[i].kind == RL_FAILED) {
			snprintf(detail, cap, "rule %s/%s failed at line %d: %s", fx->v[i].set,
				 fx->v[i].rule, fx->v[i].line, fx->v[i].reason);
			return true;
		}
	return false;
}

/* What the rules of one order work with: its lines, and its stock to read. */
struct order_rules {
	struct rl_line lines[API_MAX_LINES];
	struct rl_order ro;
	struct rule_ctx ctx;
	struct rl_host host;
};

static void order_rules_init(struct order_rules *orl, const struct api_snapshot *snap,
			     const struct order *o, const long *atp)
{
	orl->ctx = (struct rule_ctx){snap, o, atp};
	orl->host = (struct rl_host){host_atp, &orl->ctx};
	rl_order_of(o, orl->lines, &orl->ro);
}

/*
 * Before sourcing: node outages, the caller's exclusions (opts may be NULL), then every
 * active set's before_sourcing, folded into adj (made afresh) and the order's split
 * penalty. atp is the order's (nodes × lines). 0; 503 when a rule failed and rules_fail
 * is set; 500 out of memory.
 */
static int rules_before(const struct api_rules *rs, struct rl_engine *eng,
			const struct api_snapshot *snap, struct order *o, double own_split,
			const long *atp, char *const *outages, size_t noutages,
			const struct api_decide_opts *opts, struct order_rules *orl,
			struct adjust *adj, struct rl_effects *fx, char *detail, size_t cap)
{
	adjust_release(adj);
	if (adjust_init(adj, snap)) {
		snprintf(detail, cap, "out of memory");
		return 500;
	}
	for (size_t i = 0; i < noutages; i++) {
		const long n = api_snapshot_node(snap, outages[i]);
		if (n >= 0)
			adj->excluded[n] = adj->any = true;
	}
	if (opts && opts->exclude_node) {
		const long n = api_snapshot_node(snap, opts->exclude_node);
		if (n >= 0)
			adj->excluded[n] = adj->any = true;
	}
	if (opts && opts->exclude_carrier)
		exclude_carrier(adj, snap, opts->exclude_carrier, NULL);
	order_rules_init(orl, snap, o, atp);
	for (int i = 0; i < rs->n; i++)
		if (!api_rules_ensure(eng, &rs->v[i], fx))
			rl_before_sourcing(eng, rs->v[i].key, &orl->ro, &orl->host, fx);
	if (atomic_load(&api_rules_fail_requests) && any_failed(fx, detail, cap))
		return 503;
	apply_effects(adj, snap, fx);
	o->split_penalty = isnan(adj->split_penalty) ? own_split : adj->split_penalty;
	return 0;
}

/*
 * After sourcing: every active set's after_sourcing on the plan; true when one rejects
 * it, and then the plan's nodes are excluded in adj for the next solve.
 */
static bool rules_after(const struct api_rules *rs, struct rl_engine *eng,
			const struct api_snapshot *snap, const struct slv_candidates *cand,
			const struct slv_result *res, struct order_rules *orl, struct adjust *adj,
			struct rl_effects *fx)
{
	struct rl_shipment ships[64];
	int ns = 0;
	for (int i = 0; res->status != SLV_EMPTY && i < res->nshipments && ns < 64; i++) {
		const int n = cand->node_of[cand->prob.options[res->ship[i].option].node];
		const struct fl_rate *rt = &snap->rates[cand->rate_of[res->ship[i].option]];
		ships[ns++] = (struct rl_shipment){snap->nodes[n].id, rt->carrier, rt->service,
						   res->ship[i].units, res->ship[i].cost};
	}
	const struct rl_decision dec = {res->filled ? "planned" : "unfulfillable", res->cost, ns,
					ships};
	const size_t before = fx->n;
	for (int i = 0; i < rs->n; i++)
		if (!api_rules_ensure(eng, &rs->v[i], fx))
			rl_after_sourcing(eng, rs->v[i].key, &orl->ro, &dec, &orl->host, fx);
	bool rejected = false;
	for (size_t i = before; i < fx->n; i++)
		rejected |= fx->v[i].kind == RL_REJECT;
	for (int i = 0; rejected && i < ns; i++) { /* the rejected plan's nodes are out */
		const long n = api_snapshot_node(snap, ships[i].node);
		if (n >= 0)
			adj->excluded[n] = adj->any = true;
	}
	return rejected;
}

int api_decide(struct store *st, const json_t *body, const char *lp_path, json_t **answer,
	       char *detail, size_t cap)
{
	return api_decide_ex(st, body, lp_path, NULL, answer, detail, cap);
}

int api_decide_ex(struct store *st, const json_t *body, const char *lp_path,
		  const struct api_decide_opts *opts, json_t **answer, char *detail, size_t cap)
{
	static const struct api_decide_opts none = {0};
	struct fl_err err = {0};
	struct order *o = malloc(sizeof(*o));
	struct api_snapshot *snap = api_snapshot_get(st, &err);
	struct api_rules *rules = NULL;
	unsigned char hash[32];
	char *request = NULL, *existing = NULL, **outages = NULL;
	size_t noutages = 0;
	long *atp = NULL, *cap_left = NULL;
	struct adjust adj = {0};
	int status = 0;

	if (!opts)
		opts = &none;
	*answer = NULL;
	if (!o || !snap) {
		snprintf(detail, cap, "%s", o ? err.msg : "out of memory");
		status = 503;
		goto out;
	}
	if ((status = parse_order(body, snap, o, detail, cap)))
		goto out;
	if (opts->dry_run)
		o->reserve = false;
	rules = opts->rules ? NULL : api_rules_get(st, &err);
	const struct api_rules *rs = opts->rules ? opts->rules : rules;
	if (!rs || store_outages(st, &outages, &noutages, &err)) {
		snprintf(detail, cap, "store: %s", err.msg);
		status = 503;
		goto out;
	}
	/* the canonical request: same body (any key order), same hash */
	request = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	const size_t N = snap->nnodes;
	atp = malloc(sizeof(long) * (N * (size_t)o->nitems + 1));
	cap_left = malloc(sizeof(long) * (N + 1));
	if (!request || !atp || !cap_left || adjust_init(&adj, snap)) {
		snprintf(detail, cap, "out of memory");
		status = 500;
		goto out;
	}
	api_sha256(request, strlen(request), hash);
	if (o->reserve) {
		int rc = store_order_key_get(st, o->order_id, hash, &existing, &err);
		if (rc == 0)
			goto replay;
		if (rc == FL_ECONFLICT) {
			snprintf(detail, cap, "%s", err.msg);
			status = 409;
			goto out;
		}
		if (rc != FL_ENOTFOUND) {
			snprintf(detail, cap, "store: %s", err.msg);
			status = 503;
			goto out;
		}
	}
	struct rl_engine *eng = rs->n ? api_rules_engine(snap, &err) : NULL;
	if (rs->n && !eng) {
		snprintf(detail, cap, "rules: %s", err.msg);
		status = 503;
		goto out;
	}
	const char *ids[API_MAX_LINES];
	for (int k = 0; k < o->nitems; k++)
		ids[k] = o->sku[k]->id;
	const double own_split = o->split_penalty;
	for (int attempt = 0;; attempt++) {
		struct slv_candidates cand;
		struct slv_result res;
		struct rl_effects fx = {0};
		char id[20] = "d_";
		const char *dstatus;

		if (store_stock_read(st, ids, o->nitems, snap->nodes, (int)N, atp, cap_left,
				     &err)) {
			snprintf(detail, cap, "store: %s", err.msg);
			status = 503;
			goto out;
		}
		/* outages and the caller's exclusions, then before_sourcing */
		struct order_rules orl;
		if ((status = rules_before(rs, eng, snap, o, own_split, atp, outages, noutages,
					   opts, &orl, &adj, &fx, detail, cap))) {
			rl_effects_release(&fx);
			goto out;
		}
		/* solve; after_sourcing may reject the plan's nodes and have it solved again */
		for (int rejects = 0;; rejects++) {
			if ((status = solve(snap, o, attempt || rejects ? NULL : lp_path,
					    adj.any ? &adj.adj : NULL, atp, cap_left, &cand, &res,
					    detail, cap))) {
				slv_candidates_release(&cand);
				rl_effects_release(&fx);
				goto out;
			}
			if (!rs->n || rejects == API_RULE_REJECTS || !res.nshipments ||
			    !rules_after(rs, eng, snap, &cand, &res, &orl, &adj, &fx))
				break;
			slv_result_release(&res);
			slv_candidates_release(&cand);
		}
		long want = 0;
		for (int k = 0; k < o->nitems; k++)
			want += o->items[k].qty;
		bool refuse = !o->allow_partial && res.status != SLV_EMPTY && res.filled < want;
		api_random_hex(id + 2, 8);
		json_t *ans =
			build_answer(o, snap, &cand, &res, refuse, id, adj.any ? adj.penalty : NULL,
				     fx.n ? api_effects_json(rs, &fx) : NULL, &dstatus);
		rl_effects_release(&fx);
		if (opts->dry_run) {
			slv_result_release(&res);
			slv_candidates_release(&cand);
			*answer = ans;
			if (!ans) {
				snprintf(detail, cap, "out of memory");
				status = 500;
			}
			goto out;
		}
		char *text = ans ? json_dumps(ans, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
		struct store_alloc allocs[API_MAX_LINES * 8];
		int na = 0;
		for (int i = 0; !refuse && i < res.nshipments; i++) {
			const struct slv_shipment *sh = &res.ship[i];
			const char *node =
				snap->nodes[cand.node_of[cand.prob.options[sh->option].node]].id;
			for (int k = 0;
			     k < o->nitems && na < (int)(sizeof(allocs) / sizeof(allocs[0])); k++)
				if (sh->qty[k] > 0)
					allocs[na++] = (struct store_alloc){node, o->sku[k]->id,
									    sh->qty[k]};
		}
		struct store_decision d = {
			.id = id,
			.order_id = o->order_id,
			.request_hash = hash,
			.request = request,
			.response = text ? text : "",
			.status = dstatus,
			.solver_status = res.status == SLV_FEASIBLE ? "feasible" : "optimal",
			.solver_ms = res.time_ms,
			.rules_version = rs->n ? rs->versions : NULL,
			.created_at = (int64_t)time(NULL),
		};
		int rc = text ? store_decision_record(st, &d, o->reserve, allocs, na, &existing,
						      &err)
			      : FL_ENOMEM;
		free(text);
		slv_result_release(&res);
		slv_candidates_release(&cand);
		if (rc == 0 && !existing) {
			api_metrics_decision(dstatus);
			*answer = ans;
			goto out;
		}
		json_decref(ans);
		if (rc == 0 && existing)
			goto replay; /* an identical request won the race */
		if (rc == FL_EBUSY && attempt + 1 < API_RESERVE_RETRIES)
			continue; /* stock moved under us: read it again and re-solve */
		snprintf(detail, cap, "%s", rc == FL_ENOMEM ? "out of memory" : err.msg);
		status = rc == FL_ECONFLICT ? 409 : rc == FL_EBUSY ? 503 : 500;
		goto out;
	}
replay:
	*answer = json_loads(existing, 0, NULL);
	if (!*answer) {
		snprintf(detail, cap, "stored decision is unreadable");
		status = 500;
	}
out:
	for (size_t i = 0; i < noutages; i++)
		free(outages[i]);
	free(outages);
	adjust_release(&adj);
	free(atp);
	free(cap_left);
	free(existing);
	free(request);
	free(o);
	api_rules_put(rules);
	api_snapshot_put(snap);
	return status;
}

/* ---- waves ---- */

static int cmp_order_id(const void *a, const void *b)
{
	return strcmp((*(const struct order *const *)a)->order_id,
		      (*(const struct order *const *)b)->order_id);
}

/* Order o's stock out of the wave's (nodes × the wave's SKUs) into slice (nodes × lines). */
static void wave_slice(const struct order *o, const int *skus, const long *atp, int N, int G,
		       long *slice)
{
	for (int n = 0; n < N; n++)
		for (int k = 0; k < o->nitems; k++)
			slice[n * o->nitems + k] = atp[(size_t)n * (size_t)G + (size_t)skus[k]];
}

int api_wave(struct store *st, const json_t *body, json_t **answer, char *detail, size_t cap)
{
	struct fl_err err = {0};
	struct api_snapshot *snap = api_snapshot_get(st, &err);
	const json_t *jorders = json_object_get(body, "orders"), *v;
	int O = 0, G = 0, status = 0, N;
	bool reserve = false;
	int time_limit = API_WAVE_MS;
	struct order *ords = NULL, **sorted = NULL;
	struct slv_candidates *cand = NULL;
	struct slv_wave_order *worders = NULL;
	int *gidx = NULL, *skus_of = NULL;
	const char **gids = NULL;
	long *atp = NULL, *capl = NULL, *slice = NULL;
	struct slv_wave_result wr = {0};
	json_t *decisions = NULL;
	struct api_rules *rules = NULL;
	struct rl_engine *eng = NULL;
	char **outages = NULL;
	size_t noutages = 0;
	struct adjust *adj = NULL; /* per order: outages and its rules' effects */
	struct rl_effects *fx = NULL;
	double *own_split = NULL;

	*answer = NULL;
	if (!snap) {
		snprintf(detail, cap, "store: %s", err.msg);
		return 503;
	}
	N = (int)snap->nnodes;
	rules = api_rules_get(st, &err);
	if (!rules || store_outages(st, &outages, &noutages, &err)) {
		snprintf(detail, cap, "store: %s", err.msg);
		status = 503;
		goto out;
	}
	if (rules->n && !(eng = api_rules_engine(snap, &err))) {
		snprintf(detail, cap, "rules: %s", err.msg);
		status = 503;
		goto out;
	}
	if (!json_is_array(jorders) || json_array_size(jorders) == 0) {
		status = BAD("orders: required, a non-empty array");
		goto out;
	}
	if (json_array_size(jorders) > SLV_WAVE_MAX_ORDERS) {
		status = BAD("orders: at most %d orders in a wave", SLV_WAVE_MAX_ORDERS);
		goto out;
	}
	O = (int)json_array_size(jorders);
	v = json_object_get(body, "time_limit_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > API_WAVE_MS_MAX) {
			status = BAD("time_limit_ms: an integer from 1 to %d", API_WAVE_MS_MAX);
			goto out;
		}
		time_limit = (int)json_integer_value(v);
	}
	if ((status = get_bool(body, "reserve", false, &reserve, detail, cap)))
		goto out;
	ords = calloc((size_t)O, sizeof(*ords));
	sorted = calloc((size_t)O, sizeof(*sorted));
	cand = calloc((size_t)O, sizeof(*cand));
	worders = calloc((size_t)O, sizeof(*worders));
	gidx = malloc(sizeof(int) * (snap->nskus + 1));
	gids = calloc(snap->nskus + 1, sizeof(*gids));
	skus_of = calloc((size_t)O * API_MAX_LINES, sizeof(int));
	adj = calloc((size_t)O, sizeof(*adj));
	fx = calloc((size_t)O, sizeof(*fx));
	own_split = calloc((size_t)O, sizeof(double));
	if (!ords || !sorted || !cand || !worders || !gidx || !gids || !skus_of || !adj || !fx ||
	    !own_split) {
		status = 500, snprintf(detail, cap, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < snap->nskus; i++)
		gidx[i] = -1;
	for (int i = 0; i < O; i++) {
		char inner[FL_ERR_MSG_MAX];
		const json_t *jo = json_array_get(jorders, (size_t)i);
		if (!json_is_object(jo)) {
			status = BAD("orders[%d]: must be an order object", i);
			goto out;
		}
		if ((status = parse_order(jo, snap, &ords[i], inner, sizeof(inner)))) {
			snprintf(detail, cap, "orders[%d].%s", i, inner);
			goto out;
		}
		own_split[i] = ords[i].split_penalty;
		sorted[i] = &ords[i];
		for (int k = 0; k < ords[i].nitems; k++) {
			size_t s = (size_t)(ords[i].sku[k] - snap->skus);
			if (gidx[s] < 0) {
				gidx[s] = G;
				gids[G++] = ords[i].sku[k]->id;
			}
			skus_of[i * API_MAX_LINES + k] = gidx[s];
		}
	}
	qsort(sorted, (size_t)O, sizeof(*sorted), cmp_order_id);
	for (int i = 1; i < O; i++)
		if (strcmp(sorted[i]->order_id, sorted[i - 1]->order_id) == 0) {
			status = BAD("orders: order_id '%s' appears twice", sorted[i]->order_id);
			goto out;
		}
	atp = malloc(sizeof(long) * (size_t)N * (size_t)G + 1);
	capl = malloc(sizeof(long) * (size_t)N + 1);
	slice = malloc(sizeof(long) * (size_t)N * API_MAX_LINES + 1);
	if (!atp || !capl || !slice) {
		status = 500, snprintf(detail, cap, "out of memory");
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		if (store_stock_read(st, gids, G, snap->nodes, N, atp, capl, &err)) {
			status = 503, snprintf(detail, cap, "store: %s", err.msg);
			goto out;
		}
		/* each order: outages and its rules' before_sourcing, then its candidates */
		for (int i = 0; i < O; i++) {
			char inner[FL_ERR_MSG_MAX];
			struct order_rules orl;
			wave_slice(&ords[i], &skus_of[i * API_MAX_LINES], atp, N, G, slice);
			rl_effects_release(&fx[i]);
			fx[i] = (struct rl_effects){0};
			if ((status = rules_before(rules, eng, snap, &ords[i], own_split[i], slice,
						   outages, noutages, NULL, &orl, &adj[i], &fx[i],
						   inner, sizeof(inner)))) {
				snprintf(detail, cap, "orders[%d]: %s", i, inner);
				goto out;
			}
			if ((status = candidates_of(snap, &ords[i], slice, capl,
						    adj[i].any ? &adj[i].adj : NULL, &cand[i],
						    inner, sizeof(inner)))) {
				snprintf(detail, cap, "orders[%d]: %s", i, inner);
				goto out;
			}
			worders[i] = (struct slv_wave_order){&cand[i], &skus_of[i * API_MAX_LINES],
							     !ords[i].allow_partial};
		}
		/* solve; after_sourcing may reject plans, and the wave is solved again */
		for (int rejects = 0;; rejects++) {
			struct slv_wave w = {O,	  worders, N,	       G,
					     atp, capl,	   time_limit, api_threads_default()};
			slv_wave_result_release(&wr, O);
			if (slv_wave_solve(&w, &wr, &err)) {
				status = 500, snprintf(detail, cap, "%s", err.msg);
				goto out;
			}
			if (!rules->n || rejects == API_RULE_REJECTS)
				break;
			bool again = false;
			for (int i = 0; i < O; i++) {
				struct order_rules orl;
				if (wr.plans[i].status == SLV_EMPTY)
					continue;
				wave_slice(&ords[i], &skus_of[i * API_MAX_LINES], atp, N, G, slice);
				order_rules_init(&orl, snap, &ords[i], slice);
				if (!rules_after(rules, eng, snap, &cand[i], &wr.plans[i], &orl,
						 &adj[i], &fx[i]))
					continue;
				again = true;
				char inner[FL_ERR_MSG_MAX];
				if ((status =
					     candidates_of(snap, &ords[i], slice, capl, &adj[i].adj,
							   &cand[i], inner, sizeof(inner)))) {
					snprintf(detail, cap, "orders[%d]: %s", i, inner);
					goto out;
				}
			}
			if (!again)
				break;
		}
		/* answers and the records: every decision of the wave in one transaction */
		char wave_id[20] = "w_";
		api_random_hex(wave_id + 2, 8);
		struct store_decision *ds = calloc((size_t)O, sizeof(*ds));
		struct store_alloc **al = calloc((size_t)O, sizeof(*al));
		int *nal = calloc((size_t)O, sizeof(int));
		char **texts = calloc((size_t)O, sizeof(char *)),
		     **reqs = calloc((size_t)O, sizeof(char *));
		char(*ids)[20] = calloc((size_t)O, sizeof(*ids));
		unsigned char(*hashes)[32] = calloc((size_t)O, sizeof(*hashes));
		json_decref(decisions);
		decisions = json_array();
		int rc = 0;
		long units = 0, ships = 0;
		if (!ds || !al || !nal || !texts || !reqs || !ids || !hashes || !decisions)
			rc = FL_ENOMEM;
		for (int i = 0; !rc && i < O; i++) {
			const char *dstatus;
			const struct slv_result *r = &wr.plans[i];
			snprintf(ids[i], sizeof(ids[i]), "d_");
			api_random_hex(ids[i] + 2, 8);
			/* an order that wants every unit or none, and got none though some were there */
			bool refuse = false;
			for (int n = 0; !ords[i].allow_partial && r->status == SLV_EMPTY &&
					n < cand[i].prob.nnodes * ords[i].nitems;
			     n++)
				refuse |= cand[i].atp[n] > 0;
			json_t *a = build_answer(&ords[i], snap, &cand[i], r, refuse, ids[i],
						 adj[i].any ? adj[i].penalty : NULL,
						 fx[i].n ? api_effects_json(rules, &fx[i]) : NULL,
						 &dstatus);
			texts[i] = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
			reqs[i] = json_dumps(json_array_get(jorders, (size_t)i),
					     JSON_COMPACT | JSON_SORT_KEYS);
			al[i] = calloc((size_t)(r->nshipments * ords[i].nitems) + 1, sizeof(**al));
			if (!a || !texts[i] || !reqs[i] || !al[i]) {
				json_decref(a);
				rc = FL_ENOMEM;
				break;
			}
			json_array_append_new(decisions, a);
			api_sha256(reqs[i], strlen(reqs[i]), hashes[i]);
			for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
				const char *node =
					snap->nodes[cand[i].node_of
							    [cand[i].prob.options[r->ship[s].option]
								     .node]]
						.id;
				for (int k = 0; k < ords[i].nitems; k++)
					if (r->ship[s].qty[k] > 0)
						al[i][nal[i]++] = (struct store_alloc){
							node, ords[i].sku[k]->id,
							r->ship[s].qty[k]};
				units += r->ship[s].units;
				ships++;
			}
			ds[i] = (struct store_decision){
				.id = ids[i],
				.order_id = ords[i].order_id,
				.request_hash = hashes[i],
				.request = reqs[i],
				.response = texts[i],
				.status = dstatus,
				.solver_status = wr.status == SLV_OPTIMAL ? "optimal" : "feasible",
				.solver_ms = wr.time_ms,
				.rules_version = rules->n ? rules->versions : NULL,
				.created_at = (int64_t)time(NULL)};
		}
		const char *wstatus = wr.status == SLV_OPTIMAL ? "optimal" : "feasible";
		struct store_wave sw = {wave_id,
					wstatus,
					wr.cost,
					wr.bound,
					wr.gap,
					wr.time_ms,
					(int64_t)time(NULL),
					O,
					ds,
					(const struct store_alloc *const *)al,
					nal};
		if (!rc)
			rc = store_wave_record(st, &sw, reserve, &err);
		for (int i = 0; i < O; i++) {
			if (al)
				free(al[i]);
			if (texts)
				free(texts[i]);
			if (reqs)
				free(reqs[i]);
		}
		free(ds), free(al), free(nal), free(texts), free(reqs), free(ids), free(hashes);
		if (rc == FL_EBUSY && attempt + 1 < API_RESERVE_RETRIES)
			continue; /* stock moved under us: read it again and re-solve */
		if (rc) {
			snprintf(detail, cap, "%s", rc == FL_ENOMEM ? "out of memory" : err.msg);
			status = rc == FL_ECONFLICT ? 409 : rc == FL_EBUSY ? 503 : 500;
			goto out;
		}
		for (size_t i = 0; i < json_array_size(decisions); i++)
			api_metrics_decision(json_string_value(
				json_object_get(json_array_get(decisions, i), "status")));
		long want = 0;
		for (int i = 0; i < O; i++)
			for (int k = 0; k < ords[i].nitems; k++)
				want += ords[i].items[k].qty;
		*answer = json_pack(
			"{s:s, s:o, s:{s:f, s:I, s:I, s:I}, s:{s:s, s:f, s:f, s:I, s:i, s:f}}",
			"wave_id", wave_id, "decisions", decisions, "cost", "total",
			round6(wr.cost), "units_filled", (json_int_t)units, "units_ordered",
			(json_int_t)want, "shipments", (json_int_t)ships, "solver", "status",
			wstatus, "gap", wr.gap, "bound", round6(wr.bound), "fill_bound",
			(json_int_t)wr.fill_bound, "iterations", wr.iterations, "time_ms",
			round(wr.time_ms * 1000) / 1000);
		decisions = NULL;
		if (!*answer)
			status = 500, snprintf(detail, cap, "out of memory");
		break;
	}
out:
	json_decref(decisions);
	slv_wave_result_release(&wr, O);
	for (int i = 0; cand && i < O; i++)
		slv_candidates_release(&cand[i]);
	for (int i = 0; adj && i < O; i++)
		adjust_release(&adj[i]);
	for (int i = 0; fx && i < O; i++)
		rl_effects_release(&fx[i]);
	for (size_t i = 0; i < noutages; i++)
		free(outages[i]);
	free(outages), free(adj), free(fx), free(own_split);
	free(ords), free(sorted), free(cand), free(worders), free(gidx), free(gids), free(skus_of);
	free(atp), free(capl), free(slice);
	api_rules_put(rules);
	api_snapshot_put(snap);
	return status;
}
