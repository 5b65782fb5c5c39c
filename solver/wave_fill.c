/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fill bound: a max-flow over (order, line) → (node, SKU) → node, and its minimum cut.
 */
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

/*
 * The most units the wave can fill, splits relaxed, and a minimum cut: cut_ng[ng] when
 * stock row ng is cut, cut_n[n] when node n's capacity is (the rows that limit the fill:
 * each of their units is worth a filled unit).
 */
int slv__fill_bound(const struct slv_wave *w, long *ub, unsigned char *cut_ng, unsigned char *cut_n)
{
	int N = w->nnodes, G = w->nskus, nv = 2, ne = 0;
	for (int i = 0; i < w->norders; i++) {
		const struct slv_problem *p = &w->orders[i].cand->prob;
		nv += p->nitems;
		ne += p->nitems * (1 + p->nnodes);
	}
	int base_ng = nv, base_n = nv + N * G;
	nv += N * G + N;
	ne += N * G + N;
	struct flow_graph g;
	bool *ng_used = calloc((size_t)N * (size_t)G + 1, sizeof(bool));
	if (!ng_used || flow_init(&g, nv, 2 * ne + 2)) {
		free(ng_used);
		return FL_ENOMEM;
	}
	int v = 2;
	for (int i = 0; i < w->norders; i++) {
		const struct slv_candidates *cd = w->orders[i].cand;
		const struct slv_problem *p = &cd->prob;
		for (int k = 0; k < p->nitems; k++, v++) {
			flow_add(&g, 0, v, p->items[k].qty);
			for (int pn = 0; pn < p->nnodes; pn++) {
				bool ok = false;
				for (int o = 0; o < p->noptions && !ok; o++)
					ok = p->options[o].node == pn &&
					     (!p->items[k].hazmat || (p->nodes[pn].ships_hazmat &&
								      p->options[o].hazmat_ok));
				if (!ok)
					continue;
				int ng = cd->node_of[pn] * G + w->orders[i].sku[k];
				ng_used[ng] = true;
				flow_add(&g, v, base_ng + ng, p->items[k].qty);
			}
		}
	}
	for (int n = 0; n < N; n++) {
		for (int k = 0; k < G; k++)
			if (ng_used[n * G + k])
				flow_add(&g, base_ng + n * G + k, base_n + n, w->atp[n * G + k]);
		flow_add(&g, base_n + n, 1, w->cap[n] == FL_UNLIMITED ? (long)1 << 50 : w->cap[n]);
	}
	*ub = flow_max(&g, 0, 1);
	for (int n = 0; n < N; n++) {
		cut_n[n] = flow_source_side(&g, base_n + n);
		for (int k = 0; k < G; k++)
			cut_ng[n * G + k] = ng_used[n * G + k] &&
					    flow_source_side(&g, base_ng + n * G + k) && !cut_n[n];
	}
	free(ng_used);
	flow_release(&g);
	return 0;
}
