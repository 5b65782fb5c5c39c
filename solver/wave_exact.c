/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GLPK under its error hook, the models' buffers, and the exact whole-wave model (also
 * the large-neighbourhood search's model over a few orders).
 */
#include <glpk.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "wave_internal.h"

void slv__on_glp_error(void *info)
{
	longjmp(((struct guard *)info)->jb, 1);
}

static void master_tree(glp_tree *tree, void *info)
{
	struct master_cb *m = info;
	if (glp_ios_reason(tree) == GLP_IHEUR && glp_ios_curr_node(tree) == 1 && m->x)
		glp_ios_heur_sol(tree, m->x);
}

/* Silent simplex and branch-and-cut settings, the incumbent handed over at the root. */
void slv__quiet_params(glp_smcp *sm, glp_iocp *io, struct master_cb *cb)
{
	glp_init_smcp(sm);
	sm->msg_lev = GLP_MSG_OFF;
	glp_init_iocp(io);
	io->msg_lev = GLP_MSG_OFF;
	io->cb_func = master_tree;
	io->cb_info = cb;
}

static int mbuf_alloc(struct mbuf *m, int orders, int node_skus, int nodes, int ncols)
{
	m->first = calloc((size_t)orders + 1, sizeof(int));
	m->row_ng = calloc((size_t)node_skus + 1, sizeof(int));
	m->row_n = calloc((size_t)nodes + 1, sizeof(int));
	m->ind = malloc(sizeof(int) * (size_t)(ncols + 2));
	m->val = malloc(sizeof(double) * (size_t)(ncols + 2));
	m->x = calloc((size_t)ncols + 2, sizeof(double));
	m->capz = 1024;
	m->ia = malloc(sizeof(int) * m->capz);
	m->ja = malloc(sizeof(int) * m->capz);
	m->ar = malloc(sizeof(double) * m->capz);
	return m->first && m->row_ng && m->row_n && m->ind && m->val && m->x && m->ia && m->ja &&
			       m->ar
		       ? 0
		       : FL_ENOMEM;
}

static void mbuf_release(struct mbuf *m)
{
	if (m->lp)
		glp_delete_prob(m->lp);
	free(m->first), free(m->row_ng), free(m->row_n), free(m->ind), free(m->ia), free(m->ja);
	free(m->val), free(m->x), free(m->ar);
}

static int nz_add(struct mbuf *m, int r, int col, double v)
{
	if (m->nz + 2 >= m->capz) { /* three parallel arrays: each grows alike */
		const size_t need = (size_t)m->nz + 3;
		size_t ci = m->capz, cj = m->capz, ca = m->capz;
		int rc;
		if ((rc = fl_grow((void **)&m->ia, &ci, need, sizeof(int), WAVE_NZ_MAX)) ||
		    (rc = fl_grow((void **)&m->ja, &cj, need, sizeof(int), WAVE_NZ_MAX)) ||
		    (rc = fl_grow((void **)&m->ar, &ca, need, sizeof(double), WAVE_NZ_MAX)))
			return rc;
		m->capz = ci;
	}
	m->nz++;
	m->ia[m->nz] = r, m->ja[m->nz] = col, m->ar[m->nz] = v;
	return 0;
}

/*
 * Which options of order o get columns against the stock atp/cap: dom[op] = op when some
 * line can use it and no option of the same node is as cheap in both rates and can carry
 * every line it can (ties: the lower index); else the kept option that does, or -1.
 */
static void exact_options(const struct slv_wave_order *o, const long *atp, const long *capn, int G,
			  int *dom)
{
	const struct slv_problem *p = &o->cand->prob;
	int K = p->nitems, O = p->noptions;
#define USABLE(op, k)                                                                              \
	(atp[(size_t)o->cand->node_of[p->options[op].node] * (size_t)G + (size_t)o->sku[k]] > 0 && \
	 capn[o->cand->node_of[p->options[op].node]] != 0 &&                                       \
	 (!p->items[k].hazmat ||                                                                   \
	  (p->nodes[p->options[op].node].ships_hazmat && p->options[op].hazmat_ok)))
	for (int op = 0; op < O; op++) {
		bool any = false;
		for (int k = 0; k < K && !any; k++)
			any = USABLE(op, k);
		dom[op] = any ? op : -1;
	}
	for (int op = 0; op < O; op++) {
		const struct slv_option *a = &p->options[op];
		for (int q = 0; q < O && dom[op] == op; q++) {
			const struct slv_option *b = &p->options[q];
			if (q == op || dom[q] < 0 || b->node != a->node ||
			    b->base_cost > a->base_cost || b->per_kg > a->per_kg)
				continue;
			bool covers = true, same = true;
			for (int k = 0; k < K && covers; k++) {
				bool ua = USABLE(op, k), ub = USABLE(q, k);
				covers = !ua || ub;
				same &= ua == ub;
			}
			bool equal = b->base_cost == a->base_cost && b->per_kg == a->per_kg && same;
			if (covers && (!equal || q < op))
				dom[op] = q;
		}
	}
#undef USABLE
	for (int op = 0; op < O; op++) /* a chain ends at a kept option */
		while (dom[op] >= 0 && dom[dom[op]] != dom[op])
			dom[op] = dom[dom[op]];
}

/*
 * The exact model over a set of orders (all of a small wave, or a neighbourhood of a
 * large one): per order the disaggregated sourcing model over its undominated options,
 * the stock and capacity rows shared; the most fill, then the least cost. Started from
 * the current plans. A better plan replaces theirs; *proved is set when the whole wave
 * was solved to optimality.
 */
int slv__exact_body(struct wctx *c, struct mbuf *m, struct model_run *run, struct fl_err *err)
{
	struct slv_result *plans = run->plans;
	struct slv_wave *w = c->w;
	const long *atp = run->set ? run->atp : w->atp, *capn = run->set ? run->cap : w->cap;
	int G = w->nskus, O = run->set ? run->nset : w->norders, ncols = 0, nopt = 0;
	long sfill = 0; /* the orders' fill and cost now */
	double scost = 0;
	for (int a = 0; a < O; a++) {
		int i = run->set ? run->set[a] : a;
		sfill += slv__fill_of(&plans[i]);
		scost += slv__cost_of(&plans[i]);
		nopt += w->orders[i].cand->prob.noptions;
	}
	/* dom: per order and option (see exact_options); yof: an option's y column */
	int *dom = malloc(sizeof(int) * (size_t)(nopt + 1));
	int *yof = calloc((size_t)nopt + 1, sizeof(int));
	if (!dom || !yof) {
		free(dom), free(yof);
		return fl_err_set(err, FL_ENOMEM, "wave: out of memory");
	}
	for (int a = 0, off = 0; a < O; a++) {
		int i = run->set ? run->set[a] : a;
		const struct slv_problem *p = &w->orders[i].cand->prob;
		exact_options(&w->orders[i], atp, capn, G, dom + off);
		ncols++;
		for (int op = 0; op < p->noptions; op++)
			ncols += dom[off + op] == op ? 1 + p->nitems : 0;
		off += p->noptions;
	}
	int rc = 0;
	if (ncols > EXACT_COLS)
		goto done;
	if (mbuf_alloc(m, O, w->nnodes * G, w->nnodes, ncols)) {
		rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
		goto done;
	}
	glp_prob *lp = m->lp = glp_create_prob();
	glp_add_cols(lp, ncols);
	int fill_row = glp_add_rows(lp, 1);
	/* per order: z (any shipment), then per kept option y and x per line */
	int col = 1;
	for (int a = 0, off = 0; a < O;
	     off += w->orders[run->set ? run->set[a] : a].cand->prob.noptions, a++) {
		int i = run->set ? run->set[a] : a;
		const struct slv_wave_order *o = &w->orders[i];
		const struct slv_problem *p = &o->cand->prob;
		int K = p->nitems, zc = col++, r;
		m->first[a] = zc;
		glp_set_col_kind(lp, zc, GLP_BV);
		glp_set_obj_coef(lp, zc, -p->split_penalty);
		int line0 = glp_add_rows(lp, K); /* Σ x per line <= its qty */
		for (int k = 0; k < K; k++)
			glp_set_row_bnds(lp, line0 + k, GLP_UP, 0, (double)p->items[k].qty);
		int ysum = glp_add_rows(lp, 1); /* z <= Σ y: the penalty's "any shipment" */
		glp_set_row_bnds(lp, ysum, GLP_LO, 0, 0);
		int one = 0; /* without splits, Σ y <= 1 */
		if (!p->allow_split) {
			one = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, one, GLP_UP, 0, 1);
		}
		int all = 0; /* every unit or none: Σ x = want · z */
		if (o->whole) {
			all = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, all, GLP_FX, 0, 0);
			if (nz_add(m, all, zc, -(double)slv__want_of(o)))
				goto nomem;
		}
		if (nz_add(m, ysum, zc, -1.0))
			goto nomem;
		for (int op = 0; op < p->noptions; op++) {
			if (dom[off + op] != op)
				continue;
			const struct slv_option *opt = &p->options[op];
			const struct slv_node *nd = &p->nodes[opt->node];
			int n = o->cand->node_of[opt->node], yc = col++;
			yof[off + op] = yc;
			glp_set_col_kind(lp, yc, GLP_BV);
			glp_set_obj_coef(lp, yc,
					 opt->base_cost + nd->handling_cost + p->split_penalty);
			if (nz_add(m, ysum, yc, 1.0) || (one && nz_add(m, one, yc, 1.0)))
				goto nomem;
			for (int k = 0; k < K; k++) {
				int xc = col++;
				const struct slv_item *it = &p->items[k];
				int ng = n * G + o->sku[k];
				long u = atp[ng] < it->qty ? atp[ng] : it->qty;
				if (capn[n] != FL_UNLIMITED && capn[n] < u)
					u = capn[n];
				if (it->hazmat && !(nd->ships_hazmat && opt->hazmat_ok))
					u = 0;
				glp_set_col_kind(lp, xc, GLP_IV);
				glp_set_col_bnds(lp, xc, u > 0 ? GLP_DB : GLP_FX, 0, (double)u);
				if (u <= 0)
					continue;
				glp_set_obj_coef(lp, xc,
						 opt->per_kg * it->weight_kg + nd->pick_cost);
				r = glp_add_rows(lp, 1); /* x <= u y */
				glp_set_row_bnds(lp, r, GLP_UP, 0, 0);
				if (nz_add(m, r, xc, 1.0) || nz_add(m, r, yc, -(double)u) ||
				    nz_add(m, line0 + k, xc, 1.0) || nz_add(m, fill_row, xc, 1.0) ||
				    (all && nz_add(m, all, xc, 1.0)))
					goto nomem;
				if (!m->row_ng[ng]) {
					m->row_ng[ng] = glp_add_rows(lp, 1);
					glp_set_row_bnds(lp, m->row_ng[ng], GLP_UP, 0,
							 (double)atp[ng]);
				}
				if (nz_add(m, m->row_ng[ng], xc, 1.0))
					goto nomem;
				if (capn[n] != FL_UNLIMITED) {
					if (!m->row_n[n]) {
						m->row_n[n] = glp_add_rows(lp, 1);
						glp_set_row_bnds(lp, m->row_n[n], GLP_UP, 0,
								 (double)capn[n]);
					}
					if (nz_add(m, m->row_n[n], xc, 1.0))
						goto nomem;
				}
			}
		}
		/* the incumbent: the order's current plan, each shipment on its kept option */
		const struct slv_result *pl = &plans[i];
		for (int s = 0; pl->status != SLV_EMPTY && s < pl->nshipments; s++) {
			int kept = dom[off + pl->ship[s].option];
			if (kept < 0)
				continue; /* cannot happen: the plan's own stock is in atp */
			int base = yof[off + kept];
			m->x[zc] = 1;
			m->x[base] = 1;
			for (int k = 0; k < K; k++)
				m->x[base + 1 + k] += (double)pl->ship[s].qty[k];
		}
	}
	glp_set_row_bnds(lp, fill_row, GLP_FR, 0, 0);
	glp_load_matrix(lp, (int)m->nz, m->ia, m->ja, m->ar);

	glp_smcp sm;
	glp_iocp io;
	struct master_cb cb = {m->x};
	slv__quiet_params(&sm, &io, &cb);
	/* phase 1: the most fill (the objective is the fill row's columns) */
	double *cost = calloc((size_t)ncols + 1, sizeof(double));
	if (!cost)
		goto nomem;
	for (int j = 1; j <= ncols; j++) {
		cost[j] = glp_get_obj_coef(lp, j);
		glp_set_obj_coef(lp, j, 0);
	}
	int len = glp_get_mat_row(lp, fill_row, m->ind, m->val);
	for (int j = 1; j <= len; j++)
		glp_set_obj_coef(lp, m->ind[j], 1);
	glp_set_obj_dir(lp, GLP_MAX);
	double left = run->until_ms - slv__elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	bool fill_proved = run->fill_max;
	double fbest = (double)sfill;
	if (!run->fill_max && left >= 1 && !glp_simplex(lp, &sm) && glp_get_status(lp) == GLP_OPT) {
		int st = glp_intopt(lp, &io);
		if (glp_mip_status(lp) == GLP_OPT || glp_mip_status(lp) == GLP_FEAS) {
			fill_proved = st == 0 && glp_mip_status(lp) == GLP_OPT;
			if (round(glp_mip_obj_val(lp)) > fbest) {
				fbest = round(glp_mip_obj_val(lp));
				for (int j = 1; j <= ncols; j++)
					m->x[j] = round(glp_mip_col_val(lp, j));
			}
		}
	}
	/* phase 2: the least cost at that fill */
	glp_set_row_bnds(lp, fill_row, GLP_LO, fbest, 0);
	glp_set_obj_dir(lp, GLP_MIN);
	for (int j = 1; j <= ncols; j++)
		glp_set_obj_coef(lp, j, cost[j]);
	free(cost);
	left = run->until_ms - slv__elapsed_ms(&c->t0);
	sm.tm_lim = io.tm_lim = (int)left;
	if (left < 1 || glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT)
		goto done;
	int st = glp_intopt(lp, &io);
	if (glp_mip_status(lp) != GLP_OPT && glp_mip_status(lp) != GLP_FEAS)
		goto done;
	double mcost = glp_mip_obj_val(lp);
	if (run->proved)
		*run->proved = fill_proved && st == 0 && glp_mip_status(lp) == GLP_OPT;
	if (fbest == (double)sfill && mcost >= scost - 1e-9 * fmax(1, scost))
		goto done;
	/* read the plan back, order by order */
	for (int a = 0, off = 0; a < O; a++) {
		int i = run->set ? run->set[a] : a;
		const struct slv_problem *p = &w->orders[i].cand->prob;
		int K = p->nitems;
		struct slv_result r = {.status = SLV_EMPTY};
		r.ship = calloc((size_t)p->noptions + 1, sizeof(*r.ship));
		if (!r.ship)
			goto nomem;
		for (int op = 0; op < p->noptions; op++) {
			int base = yof[off + op];
			long units = 0;
			for (int k = 0; base && k < K; k++)
				units += lround(glp_mip_col_val(lp, base + 1 + k));
			if (!units)
				continue;
			struct slv_shipment *sh = &r.ship[r.nshipments];
			sh->qty = calloc((size_t)K, sizeof(long));
			if (!sh->qty) {
				slv_result_release(&r);
				goto nomem;
			}
			r.nshipments++;
			sh->option = op;
			sh->units = units;
			for (int k = 0; k < K; k++) {
				sh->qty[k] = lround(glp_mip_col_val(lp, base + 1 + k));
				sh->weight_kg += (double)sh->qty[k] * p->items[k].weight_kg;
			}
			sh->cost = slv_shipment_cost(p, op, sh->qty);
			r.filled += units;
			r.cost += sh->cost;
		}
		if (r.nshipments) {
			r.status = SLV_OPTIMAL;
			r.cost += p->split_penalty * (r.nshipments - 1);
		}
		slv_result_release(&plans[i]);
		plans[i] = r;
		off += p->noptions;
	}
	slv__totals(w, plans, &c->bfill, &c->bcost);
	goto done;
nomem:
	rc = fl_err_set(err, FL_ENOMEM, "wave: out of memory");
done:
	free(dom), free(yof);
	return rc;
}

/*
 * Run body under GLPK's error hook: a GLPK fault becomes FL_ESOLVER. The model's buffers
 * live in the caller's frame, not this one: after the longjmp this frame reads only the
 * volatile rc and the unchanged pointer m (C11 7.13.2.1).
 */
static int run_guarded(struct wctx *c, model_body_fn *body, struct model_run *run, struct mbuf *m,
		       const char *what, struct fl_err *err)
{
	struct guard g;
	volatile int rc = 0;
	glp_term_out(GLP_OFF);
	glp_error_hook(slv__on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_free_env(); /* frees the model's problem too */
		m->lp = NULL;
		rc = fl_err_set(err, FL_ESOLVER, "wave: GLPK failed in the %s", what);
	} else {
		rc = body(c, m, run, err);
	}
	glp_error_hook(NULL, NULL);
	return rc;
}

/* One whole-wave GLPK model (the master or the exact model); its buffers freed on every
 * path. */
int slv__run_model(struct wctx *c, model_body_fn *body, struct model_run *run, const char *what,
		   struct fl_err *err)
{
	struct mbuf m = {0};
	const int rc = run_guarded(c, body, run, &m, what, err);
	mbuf_release(&m);
	return rc;
}
