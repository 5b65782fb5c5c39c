/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Large-neighbourhood search: an order re-decided with the orders holding the stock
 * it wanted, by the exact model over them.
 */
#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

#define LNS_ORDERS 24 /* orders re-decided together by one exact model: at most */
#define LNS_FIRST 6   /* at first; a pass that finds nothing adds LNS_STEP */
#define LNS_STEP 6
#define LNS_MS 15 /* and the time it may slv__take */

/* Set the stock rows plan r of order i takes from to v in mark[] (nodes × SKUs). */
static void mark_rows(const struct slv_wave *w, int i, const struct slv_result *r,
		      unsigned char *mark, unsigned char v)
{
	const struct slv_wave_order *o = &w->orders[i];
	const struct slv_problem *p = &o->cand->prob;
	for (int s = 0; r->status != SLV_EMPTY && s < r->nshipments; s++) {
		size_t n = (size_t)o->cand->node_of[p->options[r->ship[s].option].node];
		for (int k = 0; k < p->nitems; k++)
			if (r->ship[s].qty[k])
				mark[n * (size_t)w->nskus + (size_t)o->sku[k]] = v;
	}
}

/*
 * Large-neighbourhood search on the best plan. An order that pays more than it would
 * alone (its regret, a lost unit counting M) is re-decided together with the orders
 * that hold the stock its own plan wanted, by the exact model over those orders and the
 * stock the others leave them: never worse. Seeds go by regret, pass after pass, until
 * a pass improves nothing or until_ms.
 */
int slv__lns(struct cg *g, struct slv_result *best, double until_ms, struct fl_err *err)
{
	struct wctx *c = g->c;
	const struct slv_wave *w = c->w;
	int O = w->norders, G = w->nskus, rc = 0, clock = 0;
	size_t NG = (size_t)w->nnodes * (size_t)G;
	struct zorder *seed = malloc(sizeof(*seed) * (size_t)O);
	struct zorder *near = malloc(sizeof(*near) * (size_t)O);
	unsigned char *wanted = calloc(NG, 1);
	/* when an order's plan last changed, and when a seed was last tried in vain */
	int *changed = calloc((size_t)O, sizeof(int)), *tried = calloc((size_t)O, sizeof(int));
	int set[LNS_ORDERS];
	if (!seed || !near || !wanted || !changed || !tried) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto out;
	}
	for (int size = LNS_FIRST; size <= LNS_ORDERS && !rc;) {
		bool better = false;
		int ns = 0;
		bool fill_max = c->bfill == c->fill_bound; /* then a lost unit is no one's fault */
		for (int i = 0; i < O; i++) {
			if (g->solo_col[i] < 0)
				continue;
			double regret = slv__cost_of(&best[i]) - g->solo[i];
			if (!fill_max)
				regret += g->M * (double)(g->solo_fill[i] - slv__fill_of(&best[i]));
			if (regret > 1e-6)
				seed[ns++] = (struct zorder){regret, i, 0, false};
		}
		qsort(seed, (size_t)ns, sizeof(*seed), slv__zorder_cmp);
		for (int a = 0; a < ns && !rc; a++) {
			if (slv__elapsed_ms(&c->t0) > until_ms)
				goto out;
			int i = seed[a].i;
			const struct slv_result *r = &c->pool[i].col[g->solo_col[i]];
			mark_rows(w, i, r, wanted, 1);
			/* the orders holding that stock, most units first */
			int nn = 0;
			for (int j = 0; j < O; j++) {
				const struct slv_wave_order *oj = &w->orders[j];
				const struct slv_problem *pj = &oj->cand->prob;
				const struct slv_result *rj = &best[j];
				long held = 0;
				for (int s = 0;
				     j != i && rj->status != SLV_EMPTY && s < rj->nshipments; s++) {
					size_t n = (size_t)oj->cand->node_of
							   [pj->options[rj->ship[s].option].node];
					for (int k = 0; k < pj->nitems; k++)
						if (wanted[n * (size_t)G + (size_t)oj->sku[k]])
							held += rj->ship[s].qty[k];
				}
				if (held)
					near[nn++] = (struct zorder){(double)held, j, 0, false};
			}
			mark_rows(w, i, r, wanted, 0); /* the marks off again */
			if (!nn)
				continue;
			qsort(near, (size_t)nn, sizeof(*near), slv__zorder_cmp);
			int nset = 0;
			bool fresh = !tried[i] || changed[i] >= tried[i];
			set[nset++] = i;
			for (int b = 0; b < nn && nset < size; b++) {
				set[nset++] = near[b].i;
				fresh |= changed[near[b].i] >= tried[i];
			}
			if (!fresh)
				continue; /* tried, and nothing in it changed since */
			/* the stock the other orders leave these */
			slv__reset_stock(c);
			for (int j = 0; j < O; j++)
				slv__take(c, j, &best[j], +1);
			for (int b = 0; b < nset; b++)
				slv__take(c, set[b], &best[set[b]], -1);
			long f0 = c->bfill;
			double c0 = c->bcost;
			struct model_run run = {
				.plans = best,
				.set = set,
				.nset = nset,
				.atp = c->rem_atp,
				.cap = c->rem_cap,
				.until_ms = fmin(until_ms, slv__elapsed_ms(&c->t0) + LNS_MS),
				.fill_max = c->bfill == c->fill_bound};
			rc = slv__run_model(c, slv__exact_body, &run, "neighbourhood model", err);
			clock++;
			if (c->bfill > f0 || c->bcost < c0 - 1e-9 * c0) {
				better = true;
				for (int b = 0; b < nset; b++)
					changed[set[b]] = clock;
			} else {
				tried[i] = clock;
			}
		}
		if (!better) { /* a local optimum for this size: larger neighbourhoods */
			size += LNS_STEP;
			memset(tried, 0, sizeof(int) * (size_t)O);
		}
	}
out:
	free(seed), free(near), free(wanted), free(changed), free(tried);
	return rc;
}
