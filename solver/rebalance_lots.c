/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rebalance_lots.c — transfer lines a warehouse would cut: no line below
 * min_transfer_units, every line in whole case packs. The plan found without these
 * rules is made to keep them, line by line, each line taken down to the largest
 * allowed quantity below it or up to the smallest above it (when the source's stock and
 * the lane's capacity allow), whichever costs less with every other line as it stands.
 * The bound of the plan without the rules is a bound with them (they only restrict), so
 * the gap stays a proved one; it is no longer optimal unless the bound meets it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rebalance_internal.h"

/* The penalty a (node, SKU) pays for net inflow net: P · max(0, t − a − net). */
static double short_cost(const struct slv_rb_problem *p, size_t ik, long net)
{
	const long s = p->target[ik] - p->avail[ik] - net;
	return s > 0 ? p->penalty * (double)s : 0;
}

bool slv_rb_has_lots(const struct slv_rb_problem *p)
{
	if (p->min_units > 1)
		return true;
	for (int k = 0; p->pack && k < p->nskus; k++)
		if (p->pack[k] > 1)
			return true;
	return false;
}

/*
 * What rounding left short: single units from many sources do not survive a minimum line,
 * but one source with room often can send the whole lot. For each (node, SKU) still short,
 * the lane whose source can give a full lot without falling short itself, at the least
 * cost, as long as a lot saves more in shortage than it costs to move.
 */
static int consolidate(const struct slv_rb_problem *p, struct slv_rb_result *r, long *net,
		       long *out, long *flow, struct fl_err *err)
{
	size_t cap = r->nt;
	for (size_t dst = 0; dst < (size_t)p->nnodes * p->nskus; dst++) {
		const int k = (int)(dst % (size_t)p->nskus), j = (int)(dst / (size_t)p->nskus);
		const long pack = p->pack && p->pack[k] > 1 ? p->pack[k] : 1;
		const long mu = ((p->min_units > 1 ? p->min_units : 1) + pack - 1) / pack * pack;
		for (;;) {
			const long s = p->target[dst] - p->avail[dst] - net[dst];
			if (s <= 0)
				break;
			int best = -1;
			long best_q = 0;
			double best_gain = 0;
			for (int l = 0; l < p->nlanes; l++) {
				const struct slv_rb_lane *ln = &p->lanes[l];
				if (ln->to != j)
					continue;
				const size_t src = (size_t)ln->from * p->nskus + (size_t)k;
				/* what the source holds beyond its own target, and may still send */
				long room = p->avail[src] + net[src] - p->target[src];
				if (room > p->avail[src] - out[src])
					room = p->avail[src] - out[src];
				if (ln->cap != FL_UNLIMITED && room > ln->cap - flow[l])
					room = ln->cap - flow[l];
				long q = (s + pack - 1) / pack * pack;
				if (q < mu)
					q = mu;
				while (q > room && q - pack >= mu)
					q -= pack;
				if (q > room || q <= 0)
					continue;
				const double gain = p->penalty * (double)(q < s ? q : s) -
						    ln->cost * (double)q -
						    (flow[l] ? 0 : ln->fixed);
				if (gain > best_gain + 1e-9)
					best_gain = gain, best = l, best_q = q;
			}
			if (best < 0)
				break;
			const size_t src = (size_t)p->lanes[best].from * p->nskus + (size_t)k;
			if (slv__push_transfer(r, &cap, best, k, best_q))
				return fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
			out[src] += best_q, net[src] -= best_q, net[dst] += best_q;
			flow[best] += best_q;
		}
	}
	return 0;
}

static int by_lane_sku(const void *a, const void *b)
{
	const struct slv_rb_transfer *x = a, *y = b;
	return x->lane != y->lane ? (x->lane > y->lane) - (x->lane < y->lane)
				  : (x->sku > y->sku) - (x->sku < y->sku);
}

/* One line per (lane, SKU): a consolidation may add to a line rounding kept (the sum of
 * two lots is a lot). */
static void merge(struct slv_rb_result *r)
{
	size_t n = 0;
	if (r->nt > 1)
		qsort(r->t, r->nt, sizeof(*r->t), by_lane_sku);
	for (size_t i = 0; i < r->nt; i++)
		if (n && r->t[n - 1].lane == r->t[i].lane && r->t[n - 1].sku == r->t[i].sku)
			r->t[n - 1].qty += r->t[i].qty;
		else
			r->t[n++] = r->t[i];
	r->nt = n;
}

int slv__lots(const struct slv_rb_problem *p, struct slv_rb_result *r, struct fl_err *err)
{
	const size_t NK = (size_t)p->nnodes * p->nskus;
	long *net = calloc(NK + 1, sizeof(long)), *out = calloc(NK + 1, sizeof(long));
	long *flow = calloc((size_t)p->nlanes + 1, sizeof(long));
	int rc = 0;
	if (!net || !out || !flow) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto done;
	}
	for (size_t i = 0; i < r->nt; i++) {
		const struct slv_rb_lane *l = &p->lanes[r->t[i].lane];
		out[(size_t)l->from * p->nskus + r->t[i].sku] += r->t[i].qty;
		net[(size_t)l->from * p->nskus + r->t[i].sku] -= r->t[i].qty;
		net[(size_t)l->to * p->nskus + r->t[i].sku] += r->t[i].qty;
		flow[r->t[i].lane] += r->t[i].qty;
	}
	size_t kept = 0;
	for (size_t i = 0; i < r->nt; i++) {
		struct slv_rb_transfer t = r->t[i];
		const struct slv_rb_lane *l = &p->lanes[t.lane];
		const long pack = p->pack && p->pack[t.sku] > 1 ? p->pack[t.sku] : 1;
		const long mu = ((p->min_units > 1 ? p->min_units : 1) + pack - 1) / pack * pack;
		const size_t src = (size_t)l->from * p->nskus + t.sku,
			     dst = (size_t)l->to * p->nskus + t.sku;
		long down = t.qty / pack * pack, up = (t.qty + pack - 1) / pack * pack;
		if (down < mu)
			down = 0;
		if (up < mu)
			up = mu;
		if (up - t.qty > p->avail[src] - out[src] ||
		    (l->cap != FL_UNLIMITED && up - t.qty > l->cap - flow[t.lane]))
			up = -1; /* no room to go up */
		long best = t.qty;
		if (down != t.qty || up != t.qty) {
			double cost_best = INFINITY;
			const long choices[2] = {down, up};
			for (int c = 0; c < 2; c++) {
				const long q = choices[c];
				if (q < 0)
					continue;
				const long d = q - t.qty;
				const bool empties = flow[t.lane] + d == 0;
				const double cost =
					l->cost * (double)d + short_cost(p, src, net[src] - d) +
					short_cost(p, dst, net[dst] + d) - (empties ? l->fixed : 0);
				if (cost < cost_best)
					cost_best = cost, best = q;
			}
		}
		const long d = best - t.qty;
		out[src] += d, net[src] -= d, net[dst] += d, flow[t.lane] += d;
		t.qty = best;
		if (t.qty > 0)
			r->t[kept++] = t;
	}
	r->nt = kept;
	rc = consolidate(p, r, net, out, flow, err);
	if (!rc)
		merge(r);
	if (!rc)
		rc = slv_rebalance_check(p, r, err);
done:
	free(net), free(out), free(flow);
	return rc;
}
