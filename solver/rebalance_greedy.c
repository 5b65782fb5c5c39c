/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The greedy baseline: each shortage filled from the cheapest surplus.
 */
#include <glpk.h>
#include <math.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rebalance_internal.h"

/* ---- greedy: the baseline ---- */

static int cmp_cost(const void *a, const void *b, void *ctx)
{
	const struct slv_rb_problem *p = ctx;
	const struct arc *x = a, *y = b;
	const double cx = x->lane < 0 ? 0 : p->lanes[x->lane].cost;
	const double cy = y->lane < 0 ? 0 : p->lanes[y->lane].cost;
	return (cx > cy) - (cx < cy);
}

int slv_rebalance_greedy(const struct slv_rb_problem *p, struct slv_rb_result *r,
			 struct fl_err *err)
{
	struct arcs a;
	bool coupled;
	struct timespec t0;
	size_t cap = 0;
	int rc;

	if ((rc = slv__begin(p, r, &a, &coupled, &t0, err)))
		return rc;
	long *u = malloc(sizeof(long) * (size_t)p->nnodes),
	     *d = malloc(sizeof(long) * (size_t)p->nnodes);
	long *left = malloc(sizeof(long) * ((size_t)p->nlanes + 1));
	if (!u || !d || !left) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto out;
	}
	for (int l = 0; l < p->nlanes; l++)
		left[l] = p->lanes[l].cap;
	for (int k = 0; k < p->nskus && !rc; k++) {
		struct arc *v = a.v + a.sku_start[k];
		const size_t n = a.sku_start[k + 1] - a.sku_start[k];
		if (!n)
			continue;
		for (int i = 0; i < p->nnodes; i++)
			u[i] = slv__surplus(p, i, k), d[i] = slv__deficit(p, i, k);
		/* the cheapest lane (the nearest slv__surplus) first */
		qsort_r(v, n, sizeof(*v), cmp_cost, (void *)p);
		for (size_t i = 0; i < n && !rc; i++) {
			if (v[i].lane < 0)
				continue;
			const struct slv_rb_lane *l = &p->lanes[v[i].lane];
			long q = u[l->from] < d[l->to] ? u[l->from] : d[l->to];
			if (l->cap != FL_UNLIMITED && left[v[i].lane] < q)
				q = left[v[i].lane];
			if (q <= 0)
				continue;
			u[l->from] -= q, d[l->to] -= q;
			if (l->cap != FL_UNLIMITED)
				left[v[i].lane] -= q;
			rc = slv__push_transfer(r, &cap, v[i].lane, k, q) ? FL_ENOMEM : 0;
		}
	}
	if (rc) {
		fl_err_set(err, rc, "rebalance: out of memory");
		goto out;
	}
	rc = slv_rebalance_check(p, r, err);
	r->coupled = coupled;
	r->bound = -INFINITY;
	r->gap = NAN;
	r->method = "greedy";
	r->ms = slv__ms_since(&t0);
out:
	free(u), free(d), free(left);
	slv__arcs_release(&a);
	if (rc)
		slv_rb_release(r);
	return rc;
}
