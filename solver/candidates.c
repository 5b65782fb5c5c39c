/* SPDX-License-Identifier: GPL-3.0-or-later */
/* From DATA.md's network to a sourcing problem: the cost model's steps 1–3 and 6. */
#include <stdlib.h>
#include <string.h>

#include "solver.h"

const char *slv_exclusion_name(enum slv_exclusion x)
{
	static const char *const names[] = {"none",    "beyond_zones", "no_stock", "capacity",
					    "promise", "hazmat",       "rule"};
	return (unsigned)x < sizeof(names) / sizeof(names[0]) ? names[x] : "unknown";
}

/* DATA.md step 2: the zone with the smallest max_km such that distance <= max_km. */
static int zone_of(const struct slv_network *net, double km)
{
	int best = -1;
	for (int z = 0; z < net->nzones; z++)
		if (km <= net->zones[z].max_km &&
		    (best < 0 || net->zones[z].max_km < net->zones[best].max_km))
			best = z;
	return best < 0 ? -1 : net->zones[best].zone;
}

void slv_candidates_release(struct slv_candidates *c)
{
	if (!c)
		return;
	free(c->node_of);
	free(c->distance_km);
	free(c->zone);
	free(c->why);
	free(c->rate_of);
	free(c->days_of);
	free(c->pnodes);
	free(c->options);
	free(c->atp);
	memset(c, 0, sizeof(*c));
}

int slv_candidates_build(const struct slv_network *net, const struct slv_order *ord,
			 const long *atp, const long *cap_left, const struct slv_adjust *adj,
			 struct slv_candidates *out, struct fl_err *err)
{
	const bool *excluded = adj ? adj->excluded : NULL;
	int N = net->nnodes, K = ord->nitems, R = net->nrates;
	memset(out, 0, sizeof(*out));
	if (K < 1 || K > SLV_MAX_ITEMS || N < 0 || N > SLV_MAX_NODES)
		return fl_err_set(err, FL_ELIMIT, "sourcing: 1 to %d lines, at most %d nodes",
				  SLV_MAX_ITEMS, SLV_MAX_NODES);
	out->node_of = calloc((size_t)N + 1, sizeof(int));
	out->distance_km = calloc((size_t)N + 1, sizeof(double));
	out->zone = calloc((size_t)N + 1, sizeof(int));
	out->why = calloc((size_t)N + 1, sizeof(*out->why));
	out->pnodes = calloc((size_t)N + 1, sizeof(*out->pnodes));
	out->atp = calloc((size_t)N * (size_t)K + 1, sizeof(long));
	size_t maxo = (size_t)N * (size_t)R + 1;
	if (maxo > SLV_MAX_OPTIONS)
		maxo = SLV_MAX_OPTIONS;
	out->options = calloc(maxo, sizeof(*out->options));
	out->rate_of = calloc(maxo, sizeof(int));
	out->days_of = calloc(maxo, sizeof(int));
	if (!out->node_of || !out->distance_km || !out->zone || !out->why || !out->pnodes ||
	    !out->atp || !out->options || !out->rate_of || !out->days_of) {
		slv_candidates_release(out);
		return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
	}
	int pn = 0, no = 0;
	for (int n = 0; n < N; n++) {
		const struct fl_node *node = &net->nodes[n];
		double km = fl_haversine_km(node->lat, node->lon, ord->lat, ord->lon);
		int zone = zone_of(net, km);
		out->distance_km[n] = km;
		out->zone[n] = zone;
		bool any_stock = false, any_cap = cap_left[n] == FL_UNLIMITED || cap_left[n] > 0;
		for (int k = 0; k < K; k++)
			any_stock |= atp[(size_t)n * (size_t)K + (size_t)k] > 0;
		bool has_rate = false, in_promise = false, carries = false, rule_cut = false;
		int first_option = no;
		for (int r = 0; zone >= 0 && r < R; r++) {
			const struct fl_rate *rt = &net->rates[r];
			if (rt->zone != zone)
				continue;
			has_rate = true;
			if (adj && adj->rate_excluded && adj->rate_excluded[r]) {
				rule_cut = true;
				continue;
			}
			int days = node->processing_days + rt->transit_days;
			if (ord->promise_days >= 0 && days > ord->promise_days)
				continue;
			in_promise = true;
			/* can it carry at least one line that has stock here? */
			bool ok = false;
			for (int k = 0; k < K && !ok; k++)
				ok = atp[(size_t)n * (size_t)K + (size_t)k] > 0 &&
				     (!ord->items[k].hazmat ||
				      (node->ships_hazmat && rt->hazmat_ok));
			if (!ok)
				continue;
			carries = true;
			if (no >= (int)maxo) {
				slv_candidates_release(out);
				return fl_err_set(err, FL_ELIMIT, "sourcing: more than %d options",
						  SLV_MAX_OPTIONS);
			}
			out->options[no] = (struct slv_option){.node = pn,
							       .base_cost = rt->base_cost,
							       .per_kg = rt->per_kg,
							       .hazmat_ok = rt->hazmat_ok};
			out->rate_of[no] = r;
			out->days_of[no] = days;
			no++;
		}
		enum slv_exclusion why = SLV_X_NONE;
		if (excluded && excluded[n])
			why = SLV_X_RULE;
		else if (zone < 0 || !has_rate)
			why = SLV_X_BEYOND_ZONES;
		else if (!any_stock)
			why = SLV_X_NO_STOCK;
		else if (!any_cap)
			why = SLV_X_CAPACITY;
		else if (!in_promise)
			why = rule_cut ? SLV_X_RULE : SLV_X_PROMISE;
		else if (!carries)
			why = SLV_X_HAZMAT;
		out->why[n] = why;
		if (why != SLV_X_NONE) {
			no = first_option; /* drop what this node added */
			continue;
		}
		out->node_of[pn] = n;
		out->pnodes[pn] = (struct slv_node){
			.cap = cap_left[n],
			.ships_hazmat = node->ships_hazmat,
			.handling_cost =
				node->handling_cost + (adj && adj->penalty ? adj->penalty[n] : 0),
			.pick_cost = node->pick_cost,
			.atp = &out->atp[(size_t)pn * (size_t)K]};
		memcpy(&out->atp[(size_t)pn * (size_t)K], &atp[(size_t)n * (size_t)K],
		       sizeof(long) * (size_t)K);
		pn++;
	}
	out->prob = (struct slv_problem){.nitems = K,
					 .items = ord->items,
					 .nnodes = pn,
					 .nodes = out->pnodes,
					 .noptions = no,
					 .options = out->options,
					 .allow_split = ord->allow_split,
					 .split_penalty = ord->split_penalty,
					 .time_limit_ms = ord->time_limit_ms};
	return 0;
}
