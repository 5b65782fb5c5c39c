/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rebalancing flow from the command line: forecast (cached) → targets (forecast ×
 * multipliers + safety stock) against stock → the transfer model → a readable summary,
 * the greedy baseline beside it, and the transfers as CSV. Scenarios are not stored yet.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "solver/rebalance.h"
#include "solver/solver.h"

#define MULT_MAX 32

struct mult {
	char key[FL_ID_MAX + 16]; /* region | node | sku, as "region=west" */
	double factor;
};

struct rb_ctx {
	const struct fl_node *nodes;
	size_t nn;
	const struct fl_sku *skus;
	size_t nk;
	double *demand; /* [i * nk + k] over the horizon */
};

static int by_node_id(const void *a, const void *b)
{
	return strcmp(((const struct fl_node *)a)->id, ((const struct fl_node *)b)->id);
}

static int by_sku_id(const void *a, const void *b)
{
	return strcmp(((const struct fl_sku *)a)->id, ((const struct fl_sku *)b)->id);
}

static long node_ix(const struct rb_ctx *c, const char *id)
{
	struct fl_node key;
	snprintf(key.id, sizeof(key.id), "%s", id);
	const struct fl_node *n = bsearch(&key, c->nodes, c->nn, sizeof(key), by_node_id);
	return n ? n - c->nodes : -1;
}

static long sku_ix(const struct rb_ctx *c, const char *id)
{
	struct fl_sku key;
	snprintf(key.id, sizeof(key.id), "%s", id);
	const struct fl_sku *s = bsearch(&key, c->skus, c->nk, sizeof(key), by_sku_id);
	return s ? s - c->skus : -1;
}

static int collect(void *ctx, const struct api_forecast *f)
{
	struct rb_ctx *c = ctx;
	const long i = node_ix(c, f->series->node), k = sku_ix(c, f->series->sku);
	if (i >= 0 && k >= 0)
		c->demand[i * c->nk + k] = f->r->sum_mean;
	return 0;
}

static double fill_rate(const double *d, const long *a, size_t n, const char *const *region,
			const char *only, size_t nk)
{
	double served = 0, total = 0;
	for (size_t ik = 0; ik < n; ik++) {
		if (only && strcmp(region[ik / nk], only))
			continue;
		served += fmin(d[ik], (double)(a[ik] > 0 ? a[ik] : 0));
		total += d[ik];
	}
	return total > 0 ? served / total : 1;
}

int api_cmd_rebalance(int argc, char **argv)
{
	static const char *const usage =
		"--db FILE [--horizon 14] [--penalty 25] [--multiplier region|node|sku=ID:FACTOR]...\n"
		"       [--close NODE]... [--time-limit-ms N] [--transfers OUT.csv] [--export-lp FILE]";
	const char *db = NULL, *csv = NULL, *lp = NULL, *closed[MULT_MAX];
	struct mult mult[MULT_MAX];
	int nmult = 0, nclosed = 0, horizon = 14, tl = 10000;
	double penalty = 25;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!v)
			return api_usage("rebalance", usage);
		i++;
		if (!strcmp(a, "--db"))
			db = v;
		else if (!strcmp(a, "--transfers"))
			csv = v;
		else if (!strcmp(a, "--export-lp"))
			lp = v;
		else if (!strcmp(a, "--horizon"))
			horizon = (int)strtol(v, &end, 10);
		else if (!strcmp(a, "--time-limit-ms"))
			tl = (int)strtol(v, &end, 10);
		else if (!strcmp(a, "--penalty"))
			penalty = strtod(v, &end);
		else if (!strcmp(a, "--close") && nclosed < MULT_MAX)
			closed[nclosed++] = v;
		else if (!strcmp(a, "--multiplier") && nmult < MULT_MAX) {
			const char *colon = strrchr(v, ':');
			if (!colon || colon - v >= (long)sizeof(mult[0].key) ||
			    (strncmp(v, "region=", 7) && strncmp(v, "node=", 5) && strncmp(v, "sku=", 4)))
				return api_usage("rebalance", usage);
			snprintf(mult[nmult].key, sizeof(mult[nmult].key), "%.*s", (int)(colon - v), v);
			mult[nmult].factor = strtod(colon + 1, &end);
			if (*end || !(mult[nmult].factor >= 0) || !isfinite(mult[nmult].factor)) {
				fprintf(stderr, "fulcrum: rebalance: --multiplier %s: the factor must be "
						"a number >= 0\n", v);
				return 2;
			}
			nmult++;
		} else
			return api_usage("rebalance", usage);
		if (end && *end)
			return api_usage("rebalance", usage);
	}
	if (!db || horizon < 1 || horizon > FC_HORIZON_MAX || tl < 1 || !(penalty > 0)) {
		if (db)
			fprintf(stderr, "fulcrum: rebalance: horizon must be 1 to %d days, the penalty "
					"and time limit positive\n", FC_HORIZON_MAX);
		return db ? 1 : api_usage("rebalance", usage);
	}

	struct fl_err err = {0};
	struct store *st = NULL;
	struct fl_node *nodes = NULL;
	struct fl_sku *skus = NULL;
	struct fl_lane *lanes = NULL;
	struct fl_inventory *inv = NULL;
	size_t nn = 0, nk = 0, nl = 0, ni = 0;
	struct store_series_set set = {0};
	struct slv_rb_lane *rl = NULL;
	long *avail = NULL, *target = NULL, *after = NULL;
	double *demand = NULL;
	const char **region = NULL;
	struct slv_rb_result r = {0}, g = {0};
	int rc = store_open(db, &st, &err);
	bool more = false;
	if (!rc)
		rc = store_nodes_load(st, &nodes, &nn, &err);
	if (!rc)
		rc = store_skus_load(st, &skus, &nk, &err);
	if (!rc)
		rc = store_lanes_load(st, &lanes, &nl, &err);
	if (!rc)
		rc = store_inventory_page(st, NULL, NULL, NULL, NULL, 100000000, &inv, &ni, &more,
					  &err);
	if (rc)
		goto out;
	qsort(nodes, nn, sizeof(*nodes), by_node_id);
	qsort(skus, nk, sizeof(*skus), by_sku_id);
	struct rb_ctx c = {nodes, nn, skus, nk, NULL};
	const size_t NK = nn * nk;
	demand = calloc(NK + 1, sizeof(double));
	avail = calloc(NK + 1, sizeof(long));
	target = calloc(NK + 1, sizeof(long));
	after = calloc(NK + 1, sizeof(long));
	rl = calloc(nl + 1, sizeof(*rl));
	region = calloc(nn + 1, sizeof(*region));
	if (!demand || !avail || !target || !after || !rl || !region) {
		rc = fl_err_set(&err, FL_ENOMEM, "out of memory");
		goto out;
	}
	c.demand = demand;
	bool *is_closed = calloc(nn + 1, sizeof(bool));
	if (!is_closed) {
		rc = fl_err_set(&err, FL_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nclosed; i++) {
		const long n = node_ix(&c, closed[i]);
		if (n < 0) {
			free(is_closed);
			rc = fl_err_set(&err, FL_EINVAL, "--close: node '%s' not found", closed[i]);
			goto out;
		}
		is_closed[n] = true;
	}
	for (int m = 0; m < nmult; m++) {
		const char *id = strchr(mult[m].key, '=') + 1;
		bool found = false;
		if (!strncmp(mult[m].key, "node=", 5))
			found = node_ix(&c, id) >= 0;
		else if (!strncmp(mult[m].key, "sku=", 4))
			found = sku_ix(&c, id) >= 0;
		else
			for (size_t i = 0; i < nn && !found; i++)
				found = !strcmp(nodes[i].region, id);
		if (!found) {
			free(is_closed);
			rc = fl_err_set(&err, FL_EINVAL, "--multiplier: %s: no such %.*s", id,
					(int)(strchr(mult[m].key, '=') - mult[m].key), mult[m].key);
			goto out;
		}
	}

	/* demand: the forecast total over the horizon, from the cache where unchanged */
	struct fc_opts fo = {.horizon = horizon, .level = 0.9, .period = 7, .method = FC_AUTO};
	struct api_forecast_stats fs;
	if ((rc = store_sales_series(st, NULL, NULL, &set, &err)) ||
	    (rc = api_forecast_many(st, &set, &fo, false, api_threads_default(), true, collect, &c,
				    NULL, &fs, &err))) {
		free(is_closed);
		goto out;
	}
	fprintf(stderr, "forecast: %zu series (%zu from the cache) in %.2f s\n", fs.series,
		fs.cached, fs.seconds);
	for (size_t i = 0; i < nn; i++)
		region[i] = nodes[i].region;
	for (size_t x = 0; x < ni; x++) {
		const long i = node_ix(&c, inv[x].node), k = sku_ix(&c, inv[x].sku);
		if (i < 0 || k < 0)
			continue;
		const size_t ik = (size_t)i * nk + (size_t)k;
		const long a = inv[x].on_hand - inv[x].reserved;
		avail[ik] = a > 0 ? a : 0;
		target[ik] = inv[x].safety_stock; /* plus demand below */
	}
	for (size_t ik = 0; ik < NK; ik++) {
		const size_t i = ik / nk, k = ik % nk;
		double f = 1;
		for (int m = 0; m < nmult; m++) {
			const char *id = strchr(mult[m].key, '=') + 1;
			if ((!strncmp(mult[m].key, "node=", 5) && !strcmp(nodes[i].id, id)) ||
			    (!strncmp(mult[m].key, "sku=", 4) && !strcmp(skus[k].id, id)) ||
			    (!strncmp(mult[m].key, "region=", 7) && !strcmp(nodes[i].region, id)))
				f *= mult[m].factor;
		}
		demand[ik] = is_closed[i] ? 0 : demand[ik] * f;
		if (is_closed[i])
			target[ik] = 0;
		target[ik] += (long)ceil(demand[ik] - 1e-9);
	}
	int L = 0;
	for (size_t l = 0; l < nl; l++) {
		const long from = node_ix(&c, lanes[l].from), to = node_ix(&c, lanes[l].to);
		if (from < 0 || to < 0 || is_closed[from] || is_closed[to] ||
		    lanes[l].lead_days > horizon)
			continue;
		rl[L++] = (struct slv_rb_lane){(int)from, (int)to, lanes[l].cost_per_unit,
					       lanes[l].fixed_cost, lanes[l].capacity_units};
	}
	free(is_closed);
	struct slv_rb_problem p = {.nnodes = (int)nn, .nskus = (int)nk, .nlanes = L, .lanes = rl,
				   .avail = avail, .target = target, .penalty = penalty,
				   .time_limit_ms = tl, .threads = api_threads_default()};
	if (lp && (rc = slv_rebalance_export_lp(&p, lp, &err)))
		goto out;
	if ((rc = slv_rebalance(&p, &r, &err)) || (rc = slv_rebalance_greedy(&p, &g, &err)))
		goto out;
	slv_thread_release();

	memcpy(after, avail, sizeof(long) * NK);
	long units = 0;
	for (size_t t = 0; t < r.nt; t++) {
		after[(size_t)rl[r.t[t].lane].from * nk + r.t[t].sku] -= r.t[t].qty;
		after[(size_t)rl[r.t[t].lane].to * nk + r.t[t].sku] += r.t[t].qty;
		units += r.t[t].qty;
	}
	printf("rebalance: %zu nodes, %zu SKUs, %d lanes within %d days, penalty %.2f per unit short\n",
	       nn, nk, L, horizon, penalty);
	printf("solver: %s%s, gap %.4f%%, %.0f ms (%s)\n", r.optimal ? "optimal" : "feasible",
	       r.coupled ? " (coupled: lane capacities/fixed costs)" : " (by SKU)", 100 * r.gap,
	       r.ms, r.coupled ? "one MIP" : "one transportation LP per SKU");
	printf("cost: total %.2f = transfers %.2f + fixed %.2f + shortage %.2f\n", r.total,
	       r.transfer_cost, r.fixed_cost, r.shortage_cost);
	printf("transfers: %zu on %d lanes, %ld units; units short %ld -> %ld\n", r.nt,
	       r.lanes_used, units, r.short_before, r.short_after);
	printf("greedy baseline (cheapest surplus first): total %.2f (%zu transfers); optimal / "
	       "greedy = %.3f\n",
	       g.total, g.nt, g.total > 0 ? r.total / g.total : 1);
	printf("fill rate (forecast demand a node serves from its own stock): %.1f%% -> %.1f%%\n",
	       100 * fill_rate(demand, avail, NK, region, NULL, nk),
	       100 * fill_rate(demand, after, NK, region, NULL, nk));
	for (size_t i = 0; i < nn; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(region[j], region[i]);
		if (!seen)
			printf("  %-12s %.1f%% -> %.1f%%\n", region[i],
			       100 * fill_rate(demand, avail, NK, region, region[i], nk),
			       100 * fill_rate(demand, after, NK, region, region[i], nk));
	}
	if (csv) {
		struct api_out o;
		if ((rc = api_out_open(&o, csv, &err)))
			goto out;
		fprintf(o.fp, "from,to,sku,qty,cost\n");
		for (size_t t = 0; t < r.nt; t++) {
			const struct slv_rb_lane *l = &rl[r.t[t].lane];
			fprintf(o.fp, "%s,%s,%s,%ld,%.2f\n", nodes[l->from].id, nodes[l->to].id,
				skus[r.t[t].sku].id, r.t[t].qty, l->cost * (double)r.t[t].qty);
		}
		rc = api_out_close(&o, true, &err);
	}
out:
	slv_rb_release(&r);
	slv_rb_release(&g);
	store_series_release(&set);
	free(nodes), free(skus), free(lanes), free(inv), free(rl), free(avail), free(target);
	free(after), free(demand), free(region);
	store_close(st);
	return rc ? api_fail(&err) : 0;
}
