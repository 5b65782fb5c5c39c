/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rank-1 Chvátal–Gomory cuts on the master's stock rows.
 */
#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

/*
 * Rank-1 Chvátal–Gomory cuts on the master's stock rows: Σ_j a_j z_j <= atp over whole z
 * gives Σ_j floor(a_j/d) z_j <= floor(atp/d). Adds those the LP solution violates (at
 * most 4 per order in all); returns how many, or a negative error.
 */
int slv__cg_separate(struct cg *g)
{
	const struct slv_wave *w = g->c->w;
	size_t NG = (size_t)w->nnodes * (size_t)w->nskus;
	int *ind = malloc(sizeof(int) * (size_t)(g->ncols + 2)), added = 0;
	double *val = malloc(sizeof(double) * (size_t)(g->ncols + 2));
	double *x = malloc(sizeof(double) * (size_t)(g->ncols + 2));
	double *up = calloc((size_t)w->norders, sizeof(double)); /* per order, one cut's */
	if (!ind || !val || !x || !up) {
		added = FL_ENOMEM;
		goto out;
	}
	for (int col = 1; col <= g->ncols; col++)
		x[col] = glp_get_col_prim(g->lp, col);
	for (size_t ng = 0; ng < NG && g->ncuts < 4 * w->norders; ng++) {
		if (!g->row_ng[ng] || w->atp[ng] < 2)
			continue;
		int len = glp_get_mat_row(g->lp, g->row_ng[ng], ind, val);
		for (int t = 0; t < 2 * CUT_MMAX; t++) {
			int m = 1 + t / 2; /* each m: the first kind, then the second */
			if (m >= w->atp[ng])
				break;
			struct cut k = {.ng = (long)ng, .atp = w->atp[ng], .m = m, .special = -1};
			if (t % 2) { /* the order whose rounding up adds the most */
				for (int e = 1; e <= len; e++) {
					long a = lround(val[e]);
					up[g->col_order[ind[e]]] +=
						(double)((a * m + k.atp - 1) / k.atp -
							 a * m / k.atp) *
						x[ind[e]];
				}
				double most = 0;
				for (int e = 1; e <= len; e++) {
					int s = g->col_order[ind[e]];
					if (up[s] > most + 1e-9)
						most = up[s], k.special = s;
				}
				for (int e = 1; e <= len; e++)
					up[g->col_order[ind[e]]] = 0;
				if (k.special < 0)
					continue;
			}
			bool have = false;
			for (int ci = g->cut_of[ng]; ci >= 0 && !have; ci = g->cuts[ci].next)
				have = g->cuts[ci].m == m && g->cuts[ci].special == k.special;
			double lhs = 0;
			for (int e = 1; e <= len; e++)
				lhs += (double)slv__cut_coef(&k, lround(val[e]),
							     g->col_order[ind[e]]) *
				       x[ind[e]];
			if (have || lhs <= m + 1e-6)
				continue;
			if (g->ncuts == g->cutcap) {
				size_t ncap = (size_t)g->cutcap;
				if ((added = fl_grow((void **)&g->cuts, &ncap, (size_t)g->ncuts + 1,
						     sizeof(*g->cuts), WAVE_CUTS_MAX)))
					goto out;
				g->cutcap = (int)ncap;
			}
			int l2 = 0;
			for (int e = 1; e <= len; e++) {
				long f = slv__cut_coef(&k, lround(val[e]), g->col_order[ind[e]]);
				if (f > 0)
					ind[++l2] = ind[e], val[l2] = (double)f;
			}
			k.row = glp_add_rows(g->lp, 1);
			k.next = g->cut_of[ng];
			glp_set_row_bnds(g->lp, k.row, GLP_UP, 0, m);
			glp_set_mat_row(g->lp, k.row, l2, ind, val);
			g->cuts[g->ncuts] = k;
			g->cut_of[ng] = g->ncuts++;
			added++;
			len = glp_get_mat_row(g->lp, g->row_ng[ng], ind, val);
		}
	}
out:
	free(ind), free(val), free(x), free(up);
	return added;
}
