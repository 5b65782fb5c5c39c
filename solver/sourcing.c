/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Per-order sourcing: max fill (combinatorial), then least cost (GLPK MIP). */
#include <glpk.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "solver.h"

/* Working state of one solve; everything here is freed by ctx_release. */
struct ctx {
	const struct slv_problem *p;
	int K;	   /* items */
	int *kept; /* kept option indices */
	int nkept;
	unsigned char *elig; /* noptions × K: option can carry item */
	long *u;	     /* noptions × K: most units of item on option (0 if not elig) */
	double *unit;	     /* noptions × K: per-unit cost of item on option */
	long fill;	     /* the most units that can be filled */
	long *flow;	     /* nnodes × K: a max-fill assignment (split) */
	/* the incumbent: per option × K units */
	long *inc;
	double inc_cost;
	bool have_inc;
	/* MIP bookkeeping */
	int *ycol; /* noptions: column of y_o (0 if none) */
	int *xcol; /* noptions × K: column of x_ok (0 if none) */
	double gap;
};

static void ctx_release(struct ctx *c)
{
	free(c->kept);
	free(c->elig);
	free(c->u);
	free(c->unit);
	free(c->flow);
	free(c->inc);
	free(c->ycol);
	free(c->xcol);
}

static long lmin(long a, long b)
{
	return a < b ? a : b;
}

static long node_cap(const struct slv_node *n)
{
	return n->cap == FL_UNLIMITED ? (long)1 << 50 : n->cap;
}

static double fixed_cost(const struct slv_problem *p, int o)
{
	return p->options[o].base_cost + p->nodes[p->options[o].node].handling_cost;
}

double slv_shipment_cost(const struct slv_problem *p, int o, const long *qty)
{
	const struct slv_option *op = &p->options[o];
	const struct slv_node *n = &p->nodes[op->node];
	double w = 0;
	long units = 0;
	for (int k = 0; k < p->nitems; k++) {
		w += (double)qty[k] * p->items[k].weight_kg;
		units += qty[k];
	}
	return op->base_cost + op->per_kg * w + n->handling_cost + n->pick_cost * (double)units;
}

static int validate(const struct slv_problem *p, struct fl_err *err)
{
	if (p->nitems < 1 || p->nitems > SLV_MAX_ITEMS)
		return fl_err_set(err, FL_EINVAL, "sourcing: 1 to %d items", SLV_MAX_ITEMS);
	if (p->nnodes < 0 || p->nnodes > SLV_MAX_NODES || p->noptions < 0 ||
	    p->noptions > SLV_MAX_OPTIONS)
		return fl_err_set(err, FL_ELIMIT, "sourcing: at most %d nodes and %d options",
				  SLV_MAX_NODES, SLV_MAX_OPTIONS);
	if (p->price && !(p->fill_reward >= 0))
		return fl_err_set(err, FL_EINVAL, "sourcing: fill_reward >= 0");
	if (!(p->split_penalty >= 0) || p->time_limit_ms <= 0)
		return fl_err_set(err, FL_EINVAL, "sourcing: split_penalty >= 0, time limit > 0");
	for (int k = 0; k < p->nitems; k++)
		if (p->items[k].qty <= 0 || !(p->items[k].weight_kg >= 0))
			return fl_err_set(err, FL_EINVAL, "sourcing: item %d: qty > 0, weight >= 0",
					  k);
	for (int n = 0; n < p->nnodes; n++) {
		if (p->nodes[n].cap < 0 && p->nodes[n].cap != FL_UNLIMITED)
			return fl_err_set(err, FL_EINVAL, "sourcing: node %d: negative capacity",
					  n);
		for (int k = 0; k < p->nitems; k++)
			if (p->nodes[n].atp[k] < 0)
				return fl_err_set(err, FL_EINVAL, "sourcing: node %d: negative atp",
						  n);
	}
	for (int o = 0; o < p->noptions; o++)
		if (p->options[o].node < 0 || p->options[o].node >= p->nnodes ||
		    !(p->options[o].base_cost >= 0) || !(p->options[o].per_kg >= 0))
			return fl_err_set(err, FL_EINVAL, "sourcing: option %d is malformed", o);
	return 0;
}

/* Eligibility, unit costs, and dominance pruning within each node. */
static int prepare(struct ctx *c)
{
	const struct slv_problem *p = c->p;
	int O = p->noptions, K = c->K;
	c->elig = calloc((size_t)O * (size_t)K + 1, 1);
	c->u = calloc((size_t)O * (size_t)K + 1, sizeof(long));
	c->unit = calloc((size_t)O * (size_t)K + 1, sizeof(double));
	c->kept = calloc((size_t)O + 1, sizeof(int));
	if (!c->elig || !c->u || !c->unit || !c->kept)
		return FL_ENOMEM;
	for (int o = 0; o < O; o++) {
		const struct slv_option *op = &p->options[o];
		const struct slv_node *n = &p->nodes[op->node];
		for (int k = 0; k < K; k++) {
			const struct slv_item *it = &p->items[k];
			bool ok = n->atp[k] > 0 && node_cap(n) > 0 &&
				  (!it->hazmat || (n->ships_hazmat && op->hazmat_ok));
			c->elig[o * K + k] = ok;
			c->u[o * K + k] = ok ? lmin(lmin(it->qty, n->atp[k]), node_cap(n)) : 0;
			c->unit[o * K + k] = op->per_kg * it->weight_kg + n->pick_cost;
			if (p->price)
				c->unit[o * K + k] += p->price[op->node * K + k] - p->fill_reward;
		}
	}
	for (int o = 0; o < O; o++) {
		bool any = false, dominated = false;
		for (int k = 0; k < K; k++)
			any |= c->elig[o * K + k];
		if (!any)
			continue;
		const struct slv_option *a = &p->options[o];
		for (int q = 0; q < O && !dominated; q++) {
			const struct slv_option *b = &p->options[q];
			if (q == o || b->node != a->node || b->base_cost > a->base_cost ||
			    b->per_kg > a->per_kg)
				continue;
			bool covers = true;
			for (int k = 0; k < K && covers; k++)
				covers = !c->elig[o * K + k] || c->elig[q * K + k];
			if (!covers)
				continue;
			/* equal in both costs and coverage: keep the lower index only */
			bool equal = b->base_cost == a->base_cost && b->per_kg == a->per_kg;
			bool same_cover = true;
			for (int k = 0; k < K && same_cover; k++)
				same_cover = c->elig[o * K + k] == c->elig[q * K + k];
			dominated = !(equal && same_cover) || q < o;
		}
		if (!dominated)
			c->kept[c->nkept++] = o;
	}
	return 0;
}

/* Max fill with splits allowed; also records a max-fill assignment in c->flow. */
static int max_fill_split(struct ctx *c)
{
	const struct slv_problem *p = c->p;
	int K = c->K, N = p->nnodes;
	int S = 0, T = 1, nv = 2 + K + N, maxe = 2 * (K + K * N + N) + 2;
	struct flow_graph g;
	int *arc = calloc((size_t)K * (size_t)N + 1, sizeof(int));
	unsigned char *canon = calloc((size_t)K * (size_t)N + 1, 1);
	c->flow = calloc((size_t)K * (size_t)N + 1, sizeof(long));
	if (!arc || !canon || !c->flow || flow_init(&g, nv, maxe)) {
		free(arc), free(canon);
		return FL_ENOMEM;
	}
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i], n = p->options[o].node;
		for (int k = 0; k < K; k++)
			if (c->elig[o * K + k])
				canon[n * K + k] = 1;
	}
	for (int k = 0; k < K; k++)
		flow_add(&g, S, 2 + k, p->items[k].qty);
	for (int n = 0; n < N; n++) {
		bool used = false;
		for (int k = 0; k < K; k++) {
			arc[n * K + k] = -1;
			if (canon[n * K + k]) {
				arc[n * K + k] = flow_add(&g, 2 + k, 2 + K + n, p->nodes[n].atp[k]);
				used = true;
			}
		}
		if (used)
			flow_add(&g, 2 + K + n, T, node_cap(&p->nodes[n]));
	}
	c->fill = flow_max(&g, S, T);
	for (int n = 0; n < N; n++)
		for (int k = 0; k < K; k++)
			c->flow[n * K + k] = flow_on(&g, arc[n * K + k]);
	flow_release(&g);
	free(arc), free(canon);
	return 0;
}

/*
 * The cheapest way for option o alone to carry `want` units (cheapest units first,
 * exact for one shipment): fills qty[], returns the shipment cost, or -1 if it cannot.
 */
static double single_plan(const struct ctx *c, int o, long want, long *qty)
{
	const struct slv_problem *p = c->p;
	int K = c->K;
	long room = node_cap(&p->nodes[p->options[o].node]), got = 0;
	bool *done = calloc((size_t)K, sizeof(bool));
	if (!done)
		return -1;
	memset(qty, 0, sizeof(long) * (size_t)K);
	while (got < want) {
		int best = -1;
		for (int k = 0; k < K; k++)
			if (!done[k] && c->u[o * K + k] > 0 &&
			    (best < 0 || c->unit[o * K + k] < c->unit[o * K + best]))
				best = k;
		if (best < 0)
			break;
		done[best] = true;
		long take = lmin(lmin(c->u[o * K + best], want - got), room - got);
		qty[best] = take;
		got += take;
	}
	free(done);
	return got == want ? slv_shipment_cost(p, o, qty) : -1;
}

static long single_fill(const struct ctx *c, int o)
{
	long s = 0;
	for (int k = 0; k < c->K; k++)
		s += c->u[o * c->K + k];
	return lmin(s, node_cap(&c->p->nodes[c->p->options[o].node]));
}

/* The incumbent: the best single shipment with the full fill, else the max-flow plan
 * with each node's lines on its cheapest options. */
static int make_incumbent(struct ctx *c)
{
	const struct slv_problem *p = c->p;
	int K = c->K, O = p->noptions;
	long *qty = calloc((size_t)K, sizeof(long));
	c->inc = calloc((size_t)O * (size_t)K + 1, sizeof(long));
	if (!qty || !c->inc) {
		free(qty);
		return FL_ENOMEM;
	}
	c->have_inc = false;
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i];
		double cost = single_plan(c, o, c->fill, qty);
		if (cost >= 0 && (!c->have_inc || cost < c->inc_cost)) {
			memset(c->inc, 0, sizeof(long) * (size_t)O * (size_t)K);
			memcpy(&c->inc[o * K], qty, sizeof(long) * (size_t)K);
			c->inc_cost = cost;
			c->have_inc = true;
		}
	}
	if (!c->have_inc && p->allow_split && c->flow) {
		/* per node: every flowed line on the cheapest kept option that carries it */
		for (int n = 0; n < p->nnodes; n++)
			for (int k = 0; k < K; k++) {
				long f = c->flow[n * K + k];
				if (!f)
					continue;
				int best = -1;
				for (int i = 0; i < c->nkept; i++) {
					int o = c->kept[i];
					if (p->options[o].node != n || !c->elig[o * K + k])
						continue;
					double v =
						fixed_cost(p, o) + c->unit[o * K + k] * (double)f;
					double bv = best < 0 ? 0
							     : fixed_cost(p, best) +
								       c->unit[best * K + k] *
									       (double)f;
					if (best < 0 || v < bv)
						best = o;
				}
				if (best >= 0)
					c->inc[best * K + k] += f;
			}
		double total = 0;
		int ships = 0;
		for (int o = 0; o < O; o++) {
			long units = 0;
			for (int k = 0; k < K; k++)
				units += c->inc[o * K + k];
			if (units) {
				total += slv_shipment_cost(p, o, &c->inc[o * K]);
				ships++;
			}
		}
		c->inc_cost = total + p->split_penalty * (ships - 1);
		c->have_inc = true;
	}
	free(qty);
	return 0;
}

/* ---- phase 2: the MIP ---- */

/* The phase-2 model; names (for an exported LP file) only when asked: they cost allocations. */
static glp_prob *build_mip(struct ctx *c, bool names)
{
	const struct slv_problem *p = c->p;
	int K = c->K, O = p->noptions;
	glp_prob *lp = glp_create_prob();
	glp_set_prob_name(lp, "fulcrum_sourcing");
	glp_set_obj_dir(lp, GLP_MIN);
	c->ycol = calloc((size_t)O + 1, sizeof(int));
	c->xcol = calloc((size_t)O * (size_t)K + 1, sizeof(int));
	if (!c->ycol || !c->xcol)
		return lp; /* the caller checks */
	/* columns */
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i];
		char name[64];
		int col = glp_add_cols(lp, 1);
		c->ycol[o] = col;
		if (names) {
			snprintf(name, sizeof(name), "y_%d", o);
			glp_set_col_name(lp, col, name);
		}
		glp_set_col_kind(lp, col, GLP_BV);
		glp_set_obj_coef(lp, col, fixed_cost(p, o) + (p->price ? 0 : p->split_penalty));
		for (int k = 0; k < K; k++) {
			if (!c->u[o * K + k])
				continue;
			col = glp_add_cols(lp, 1);
			c->xcol[o * K + k] = col;
			if (names) {
				snprintf(name, sizeof(name), "x_%d_%d", o, k);
				glp_set_col_name(lp, col, name);
			}
			glp_set_col_kind(lp, col, GLP_IV);
			glp_set_col_bnds(lp, col, GLP_DB, 0, (double)c->u[o * K + k]);
			glp_set_obj_coef(lp, col, c->unit[o * K + k]);
		}
	}
	int ncols = glp_get_num_cols(lp);
	int *ind = malloc(sizeof(int) * (size_t)(ncols + 2));
	double *val = malloc(sizeof(double) * (size_t)(ncols + 2));
	if (!ind || !val)
		goto out;
	/* fill: Σ x = F* (priced mode: filling is rewarded, not forced) */
	int row = 0, len = 0;
	if (p->price)
		goto demand;
	row = glp_add_rows(lp, 1);
	glp_set_row_name(lp, row, "fill");
	/* from our own map: GLPK reports an integer column bounded to [0, 1] as binary */
	for (int i = 0; i < c->nkept; i++)
		for (int k = 0; k < K; k++)
			if (c->xcol[c->kept[i] * K + k])
				ind[++len] = c->xcol[c->kept[i] * K + k], val[len] = 1;
	glp_set_row_bnds(lp, row, GLP_FX, (double)c->fill, (double)c->fill);
	glp_set_mat_row(lp, row, len, ind, val);
demand:
	/* demand per item */
	for (int k = 0; k < K; k++) {
		len = 0;
		for (int i = 0; i < c->nkept; i++)
			if (c->xcol[c->kept[i] * K + k])
				ind[++len] = c->xcol[c->kept[i] * K + k], val[len] = 1;
		if (len < 2)
			continue; /* a column bound already says it */
		row = glp_add_rows(lp, 1);
		glp_set_row_bnds(lp, row, GLP_UP, 0, (double)p->items[k].qty);
		glp_set_mat_row(lp, row, len, ind, val);
	}
	/* stock per (node, item) and capacity per node, where several columns share them */
	for (int n = 0; n < p->nnodes; n++) {
		int cap_len = 0;
		long potential = 0;
		for (int k = 0; k < K; k++) {
			len = 0;
			for (int i = 0; i < c->nkept; i++) {
				int o = c->kept[i];
				if (p->options[o].node == n && c->xcol[o * K + k])
					ind[++len] = c->xcol[o * K + k], val[len] = 1;
			}
			if (len)
				potential += p->nodes[n].atp[k];
			if (len < 2)
				continue;
			row = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, row, GLP_UP, 0, (double)p->nodes[n].atp[k]);
			glp_set_mat_row(lp, row, len, ind, val);
		}
		if (p->nodes[n].cap == FL_UNLIMITED || potential <= p->nodes[n].cap)
			continue;
		for (int i = 0; i < c->nkept; i++) {
			int o = c->kept[i];
			if (p->options[o].node != n)
				continue;
			for (int k = 0; k < K; k++)
				if (c->xcol[o * K + k])
					ind[++cap_len] = c->xcol[o * K + k], val[cap_len] = 1;
		}
		if (cap_len) {
			row = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, row, GLP_UP, 0, (double)p->nodes[n].cap);
			glp_set_mat_row(lp, row, cap_len, ind, val);
		}
	}
	/* x_ok <= u_ok y_o: the disaggregated (strong) linking rows */
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i];
		for (int k = 0; k < K; k++) {
			if (!c->xcol[o * K + k])
				continue;
			row = glp_add_rows(lp, 1);
			ind[1] = c->xcol[o * K + k], val[1] = 1;
			ind[2] = c->ycol[o], val[2] = -(double)c->u[o * K + k];
			glp_set_row_bnds(lp, row, GLP_UP, 0, 0);
			glp_set_mat_row(lp, row, 2, ind, val);
		}
	}
	/* no split: at most one shipment */
	if (!p->allow_split) {
		len = 0;
		for (int i = 0; i < c->nkept; i++)
			ind[++len] = c->ycol[c->kept[i]], val[len] = 1;
		row = glp_add_rows(lp, 1);
		glp_set_row_name(lp, row, "one_shipment");
		glp_set_row_bnds(lp, row, GLP_UP, 0, 1);
		glp_set_mat_row(lp, row, len, ind, val);
	}
out:
	free(ind);
	free(val);
	return lp;
}

static void on_tree(glp_tree *tree, void *info)
{
	struct ctx *c = info;
	switch (glp_ios_reason(tree)) {
	case GLP_IHEUR:
		if (c->have_inc && glp_ios_curr_node(tree) == 1) {
			glp_prob *lp = glp_ios_get_prob(tree);
			int ncols = glp_get_num_cols(lp);
			double *x = calloc((size_t)ncols + 1, sizeof(double));
			if (!x)
				return;
			int K = c->K;
			for (int i = 0; i < c->nkept; i++) {
				int o = c->kept[i];
				long units = 0;
				for (int k = 0; k < K; k++) {
					if (c->xcol[o * K + k])
						x[c->xcol[o * K + k]] = (double)c->inc[o * K + k];
					units += c->inc[o * K + k];
				}
				x[c->ycol[o]] = units > 0;
			}
			glp_ios_heur_sol(tree, x);
			free(x);
		}
		break;
	case GLP_IBINGO:
	case GLP_ISELECT: c->gap = glp_ios_mip_gap(tree); break;
	default: break;
	}
}

struct guard {
	jmp_buf jb;
};

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static pthread_key_t env_key;

static void env_free(void *unused)
{
	(void)unused;
	glp_free_env();
}

static void env_key_create(void)
{
	pthread_key_create(&env_key, env_free);
}

/* Arrange for this thread's GLPK environment to be freed when the thread exits. */
static void env_track(void)
{
	pthread_once(&env_once, env_key_create);
	if (!pthread_getspecific(env_key))
		pthread_setspecific(env_key, &env_once);
}

void slv_thread_release(void)
{
	pthread_once(&env_once, env_key_create);
	pthread_setspecific(env_key, NULL);
	glp_free_env();
}

static void on_glp_error(void *info)
{
	longjmp(((struct guard *)info)->jb, 1);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Turn per-option × item units into the result's shipments. */
static int set_plan(struct ctx *c, const long *units, struct slv_result *out)
{
	const struct slv_problem *p = c->p;
	int K = c->K;
	out->ship = calloc((size_t)c->nkept + 1, sizeof(*out->ship));
	if (!out->ship)
		return FL_ENOMEM;
	out->nshipments = 0;
	out->filled = 0;
	out->cost = 0;
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i];
		long n = 0;
		for (int k = 0; k < K; k++)
			n += units[o * K + k];
		if (!n)
			continue;
		struct slv_shipment *s = &out->ship[out->nshipments++];
		s->option = o;
		s->qty = malloc(sizeof(long) * (size_t)K);
		if (!s->qty)
			return FL_ENOMEM;
		memcpy(s->qty, &units[o * K], sizeof(long) * (size_t)K);
		s->units = n;
		s->weight_kg = 0;
		for (int k = 0; k < K; k++)
			s->weight_kg += (double)s->qty[k] * p->items[k].weight_kg;
		s->cost = slv_shipment_cost(p, o, s->qty);
		out->filled += n;
		out->cost += s->cost;
	}
	if (out->nshipments > 1)
		out->cost += p->split_penalty * (out->nshipments - 1);
	return 0;
}

static int solve_mip(struct ctx *c, struct slv_result *out, struct fl_err *err)
{
	const struct slv_problem *p = c->p;
	int K = c->K, O = p->noptions;
	struct guard g;
	glp_prob *volatile lp = NULL;
	long *units = calloc((size_t)O * (size_t)K + 1, sizeof(long));
	int rc = 0;

	if (!units)
		return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
	env_track();
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_error_hook(NULL, NULL);
		glp_free_env(); /* frees every GLPK object of this thread, lp included */
		free(units);
		return fl_err_set(err, FL_ESOLVER, "sourcing: GLPK failed");
	}
	lp = build_mip(c, false);
	if (!c->ycol || !c->xcol) {
		rc = fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
		goto out;
	}
	glp_smcp sm;
	glp_init_smcp(&sm);
	sm.msg_lev = GLP_MSG_OFF;
	sm.tm_lim = p->time_limit_ms;
	int s = glp_simplex(lp, &sm);
	if (s != 0 || glp_get_status(lp) != GLP_OPT) {
		/* the LP cannot fail to be feasible: the max-fill plan satisfies it */
		if (c->have_inc)
			goto use_incumbent;
		rc = fl_err_set(err, FL_ESOLVER, "sourcing: LP relaxation failed (%d)", s);
		goto out;
	}
	out->bound = glp_get_obj_val(lp); /* the LP relaxation bounds the MIP from below */
	if (c->have_inc && !p->price &&
	    glp_get_obj_val(lp) - p->split_penalty >= c->inc_cost - 1e-9 * fmax(1, c->inc_cost)) {
		/* the LP proves the incumbent optimal: no branching needed */
		out->status = SLV_OPTIMAL;
		out->gap = 0;
		rc = set_plan(c, c->inc, out);
		goto out;
	}
	glp_iocp io;
	glp_init_iocp(&io);
	io.msg_lev = GLP_MSG_OFF;
	io.tm_lim = p->time_limit_ms;
	io.cb_func = on_tree;
	io.cb_info = c;
	c->gap = 0;
	s = glp_intopt(lp, &io);
	int ms = glp_mip_status(lp);
	if (ms == GLP_OPT || ms == GLP_FEAS) {
		for (int i = 0; i < c->nkept; i++)
			for (int k = 0; k < K; k++) {
				int o = c->kept[i];
				if (c->xcol[o * K + k])
					units[o * K + k] =
						lround(glp_mip_col_val(lp, c->xcol[o * K + k]));
			}
		out->status = ms == GLP_OPT && s == 0 ? SLV_OPTIMAL : SLV_FEASIBLE;
		out->gap = out->status == SLV_OPTIMAL ? 0 : c->gap;
		rc = set_plan(c, units, out);
		goto out;
	}
use_incumbent:
	if (!c->have_inc) {
		rc = fl_err_set(err, FL_ETIMEOUT, "sourcing: no plan within the time limit");
		goto out;
	}
	out->status = SLV_FEASIBLE;
	{
		double bound =
			glp_get_status(lp) == GLP_OPT ? glp_get_obj_val(lp) - p->split_penalty : 0;
		out->gap = c->inc_cost > 0 ? fmax(0, (c->inc_cost - bound) / c->inc_cost) : 0;
	}
	rc = set_plan(c, c->inc, out);
out:
	glp_delete_prob(lp);
	glp_error_hook(NULL, NULL);
	free(units);
	return rc;
}

/* The priced value of option o carrying qty[] (fixed cost plus priced unit costs). */
static double priced_value(const struct ctx *c, int o, const long *qty)
{
	double v = fixed_cost(c->p, o);
	for (int k = 0; k < c->K; k++)
		v += c->unit[o * c->K + k] * (double)qty[k];
	return v;
}

/* One shipment on option o: every unit whose priced cost is negative, cheapest first. */
static double priced_single(const struct ctx *c, int o, long *qty)
{
	int K = c->K;
	long room = node_cap(&c->p->nodes[c->p->options[o].node]), n = 0;
	memset(qty, 0, sizeof(long) * (size_t)K);
	for (;;) {
		int best = -1;
		for (int k = 0; k < K; k++)
			if (!qty[k] && c->u[o * K + k] > 0 && c->unit[o * K + k] < 0 &&
			    (best < 0 || c->unit[o * K + k] < c->unit[o * K + best]))
				best = k;
		if (best < 0 || room <= 0)
			break;
		qty[best] = lmin(c->u[o * K + best], room);
		room -= qty[best];
		n += qty[best];
	}
	return n ? priced_value(c, o, qty) : 0;
}

#define DP_STATES 1024 /* the priced DP is used up to this many demand states */

/*
 * Priced mode, exactly, without GLPK, for small orders: a dynamic programme over the
 * units still unassigned per item (a mixed-radix state, at most DP_STATES of them),
 * option after option: open it (its fixed cost) and give it units of items whose priced
 * unit cost is negative, or leave it shut. Unfilled units cost nothing. Exact when
 * neither node capacity nor a node's stock shared by two of its options can bind;
 * returns 0 when it does not apply (the MIP then decides), 1 with the plan in units[].
 */
static int priced_dp(struct ctx *c, long *units)
{
	const struct slv_problem *p = c->p;
	int K = c->K, S = 1, radix[SLV_MAX_ITEMS];
	long want = 0;
	for (int k = 0; k < K; k++) {
		radix[k] = S;
		want += p->items[k].qty;
		if (S > DP_STATES / (int)(p->items[k].qty + 1))
			return 0;
		S *= (int)(p->items[k].qty + 1);
	}
	/* the useful options: some item priced below zero */
	int *use = malloc(sizeof(int) * (size_t)(c->nkept + 1)), nuse = 0;
	if (!use)
		return 0;
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i];
		bool any = false;
		for (int k = 0; k < K; k++)
			any |= c->u[o * K + k] > 0 && c->unit[o * K + k] < 0;
		if (!any)
			continue;
		const struct slv_node *nd = &p->nodes[p->options[o].node];
		if (node_cap(nd) < want)
			goto no;	       /* capacity could bind */
		for (int j = 0; j < nuse; j++) /* two options of one node: stock could bind */
			if (p->options[use[j]].node == p->options[o].node)
				for (int k = 0; k < K; k++)
					if ((nd->atp[k] > 0 && nd->atp[k] < p->items[k].qty) ||
					    (p->extra && p->extra(p->extra_ctx, p->options[o].node,
								  k, p->items[k].qty) > 0))
						goto no;
		use[nuse++] = o;
	}
	double *val = malloc(sizeof(double) * (size_t)S * (size_t)(nuse + 1));
	double *tmp = malloc(sizeof(double) * (size_t)S);
	/* ext[(l * K + k) * (qmax + 1) + a]: the extra cost of a units of item k on layer l */
	long qmax = 0;
	for (int k = 0; k < K; k++)
		qmax = p->items[k].qty > qmax ? p->items[k].qty : qmax;
	double *ext = calloc((size_t)(nuse + 1) * (size_t)K * (size_t)(qmax + 1), sizeof(double));
	if (!val || !tmp || !ext) {
		free(val), free(tmp), free(ext);
		goto no;
	}
	for (int l = 0; p->extra && l < nuse; l++)
		for (int k = 0; k < K; k++)
			for (long a = 1; a <= p->items[k].qty; a++)
				ext[((size_t)l * (size_t)K + (size_t)k) * (size_t)(qmax + 1) +
				    (size_t)a] =
					p->extra(p->extra_ctx, p->options[use[l]].node, k, a);
	for (int s = 0; s < S; s++)
		val[s] = INFINITY;
	val[S - 1] = 0; /* every unit unassigned */
	for (int l = 0; l < nuse; l++) {
		int o = use[l];
		const double *prev = &val[(size_t)l * (size_t)S];
		double *cur = &val[(size_t)(l + 1) * (size_t)S];
		double fixed = fixed_cost(p, o);
		for (int s = 0; s < S; s++)
			tmp[s] = prev[s] + fixed;
		for (int k = 0; k < K; k++) {
			long u = c->u[o * K + k];
			double uc = c->unit[o * K + k];
			if (u <= 0 || uc >= 0)
				continue;
			long q = p->items[k].qty;
			/* along item k, ascending remaining count: take a units from r + a */
			for (int s = 0; s < S; s++) {
				long r = (s / radix[k]) % (q + 1);
				const double *e = &ext[((size_t)l * (size_t)K + (size_t)k) *
						       (size_t)(qmax + 1)];
				for (long a = 1; a <= u && r + a <= q; a++) {
					double v =
						tmp[s + (int)a * radix[k]] + (double)a * uc + e[a];
					if (v < tmp[s])
						tmp[s] = v;
				}
			}
		}
		for (int s = 0; s < S; s++)
			cur[s] = prev[s] < tmp[s] ? prev[s] : tmp[s];
	}
	/* the best end state, then each option's units, last layer first */
	int s = 0;
	const double *last = &val[(size_t)nuse * (size_t)S];
	for (int t = 1; t < S; t++)
		if (last[t] < last[s])
			s = t;
	memset(units, 0, sizeof(long) * (size_t)p->noptions * (size_t)K);
	for (int l = nuse - 1; l >= 0; l--) {
		int o = use[l];
		const double *prev = &val[(size_t)l * (size_t)S];
		double cur = val[(size_t)(l + 1) * (size_t)S + (size_t)s];
		double eps = 1e-9 * (1 + fabs(cur));
		if (prev[s] <= cur + eps)
			continue; /* shut */
		/* opened: find the units it took (a_k per item, mixed radix counter) */
		long a[SLV_MAX_ITEMS] = {0};
		for (;;) {
			double v = fixed_cost(p, o);
			int from = s;
			bool ok = true;
			for (int k = 0; k < K && ok; k++) {
				long r = (s / radix[k]) % (p->items[k].qty + 1);
				ok = r + a[k] <= p->items[k].qty;
				from += (int)a[k] * radix[k];
				v += (double)a[k] * c->unit[o * K + k] +
				     (ok ? ext[((size_t)l * (size_t)K + (size_t)k) *
						       (size_t)(qmax + 1) +
					       (size_t)a[k]]
					 : 0);
			}
			if (ok && fabs(prev[from] + v - cur) <= eps) {
				for (int k = 0; k < K; k++)
					units[o * K + k] = a[k];
				s = from;
				break;
			}
			int k = 0; /* next a: items priced below zero, up to their bound */
			for (; k < K; k++) {
				long lim = c->unit[o * K + k] < 0 ? c->u[o * K + k] : 0;
				if (a[k] < lim) {
					a[k]++;
					break;
				}
				a[k] = 0;
			}
			if (k == K) { /* not found: numerical trouble, let the MIP decide */
				free(val), free(tmp), free(ext);
				goto no;
			}
		}
	}
	free(val), free(tmp), free(ext), free(use);
	return 1;
no:
	free(use);
	return 0;
}

/* Priced mode: min fixed + priced units over the order's plans, filling not forced. */
static int solve_priced(struct ctx *c, struct slv_result *out, struct fl_err *err)
{
	const struct slv_problem *p = c->p;
	int K = c->K, O = p->noptions, rc;
	long *qty = calloc((size_t)K + 1, sizeof(long));
	c->inc = calloc((size_t)O * (size_t)K + 1, sizeof(long));
	if (!qty || !c->inc) {
		free(qty);
		return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
	}
	/* the best single shipment (or nothing, value 0): exact without splits, and the
	 * incumbent with them */
	c->inc_cost = 0;
	c->have_inc = true;
	for (int i = 0; i < c->nkept; i++) {
		int o = c->kept[i];
		double v = priced_single(c, o, qty);
		if (v < c->inc_cost - 1e-12) {
			memset(c->inc, 0, sizeof(long) * (size_t)O * (size_t)K);
			memcpy(&c->inc[o * K], qty, sizeof(long) * (size_t)K);
			c->inc_cost = v;
		}
	}
	free(qty);
	bool exact = true; /* the search priced the extras too */
	if (!p->allow_split || (c->nkept <= 1 && !p->extra)) {
		out->status = SLV_OPTIMAL;
		if (set_plan(c, c->inc, out))
			return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
		exact = !p->extra;
		out->bound = c->inc_cost;
		goto value;
	}
	long *units = calloc((size_t)O * (size_t)K + 1, sizeof(long));
	if (!units)
		return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
	if (priced_dp(c, units)) {
		out->status = SLV_OPTIMAL;
		rc = set_plan(c, units, out);
		free(units);
		if (rc)
			return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
	} else {
		free(units);
		out->used_mip = true;
		exact = !p->extra;
		if ((rc = solve_mip(c, out, err)))
			return rc;
	}
value:
	out->objective = 0;
	for (int s = 0; s < out->nshipments; s++)
		out->objective += priced_value(c, out->ship[s].option, out->ship[s].qty);
	if (out->status == SLV_OPTIMAL)
		out->bound = out->objective; /* without the extras: still a lower bound */
	for (int s = 0; p->extra && s < out->nshipments; s++)
		for (int k = 0; k < K; k++)
			if (out->ship[s].qty[k])
				out->objective +=
					p->extra(p->extra_ctx, p->options[out->ship[s].option].node,
						 k, out->ship[s].qty[k]);
	if (exact && out->status == SLV_OPTIMAL)
		out->bound = out->objective;
	return 0;
}

int slv_source(const struct slv_problem *p, struct slv_result *out, struct fl_err *err)
{
	struct ctx c = {.p = p, .K = p->nitems};
	struct timespec t0;
	int rc;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = validate(p, err)))
		return rc;
	if (prepare(&c))
		goto nomem;
	out->options_kept = c.nkept;
	if (p->price) {
		if ((rc = solve_priced(&c, out, err))) {
			slv_result_release(out);
			goto fail;
		}
		if (out->nshipments == 0)
			out->status = SLV_EMPTY;
		goto done;
	}
	if (p->allow_split) {
		if (max_fill_split(&c))
			goto nomem;
	} else {
		c.fill = 0;
		for (int i = 0; i < c.nkept; i++)
			c.fill = c.fill > single_fill(&c, c.kept[i]) ? c.fill
								     : single_fill(&c, c.kept[i]);
	}
	if (c.fill == 0) {
		out->status = SLV_EMPTY;
		goto done;
	}
	if (make_incumbent(&c))
		goto nomem;
	if (!p->allow_split || c.nkept == 1) {
		/* one shipment: the best single plan is exact */
		out->status = SLV_OPTIMAL;
		rc = set_plan(&c, c.inc, out);
		if (rc)
			goto nomem;
		goto done;
	}
	out->used_mip = true;
	rc = solve_mip(&c, out, err);
	if (rc) {
		slv_result_release(out);
		goto fail;
	}
done:
	out->time_ms = ms_since(&t0);
	ctx_release(&c);
	return 0;
nomem:
	slv_result_release(out);
	rc = fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
fail:
	ctx_release(&c);
	return rc;
}

void slv_result_release(struct slv_result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nshipments; i++)
		free(r->ship[i].qty);
	free(r->ship);
	r->ship = NULL;
	r->nshipments = 0;
}

int slv_best_single(const struct slv_problem *p, int node, long *qty, long *units, double *cost)
{
	int K = p->nitems, best = -1;
	long best_units = 0, *q = calloc((size_t)K, sizeof(long));
	bool *done = calloc((size_t)K, sizeof(bool));
	double best_cost = 0;
	if (!q || !done)
		goto out;
	for (int o = 0; o < p->noptions; o++) {
		const struct slv_option *op = &p->options[o];
		const struct slv_node *n = &p->nodes[node];
		if (op->node != node)
			continue;
		long room = node_cap(n), got = 0;
		memset(q, 0, sizeof(long) * (size_t)K);
		memset(done, 0, sizeof(bool) * (size_t)K);
		for (;;) { /* cheapest eligible units first */
			int pick = -1;
			for (int k = 0; k < K; k++) {
				const struct slv_item *it = &p->items[k];
				bool ok = !done[k] && n->atp[k] > 0 &&
					  (!it->hazmat || (n->ships_hazmat && op->hazmat_ok));
				if (ok &&
				    (pick < 0 || op->per_kg * it->weight_kg <
							 op->per_kg * p->items[pick].weight_kg))
					pick = k;
			}
			if (pick < 0 || got >= room)
				break;
			done[pick] = true;
			q[pick] = lmin(lmin(p->items[pick].qty, n->atp[pick]), room - got);
			got += q[pick];
		}
		if (!got)
			continue;
		double c = slv_shipment_cost(p, o, q);
		if (got > best_units || (got == best_units && c < best_cost)) {
			best = o, best_units = got, best_cost = c;
			memcpy(qty, q, sizeof(long) * (size_t)K);
		}
	}
out:
	free(q);
	free(done);
	*units = best_units;
	*cost = best_cost;
	return best;
}

int slv_export_lp(const struct slv_problem *p, const char *path, struct fl_err *err)
{
	struct ctx c = {.p = p, .K = p->nitems};
	struct guard g;
	glp_prob *volatile lp = NULL;
	int rc;

	if ((rc = validate(p, err)))
		return rc;
	if (prepare(&c) || (p->allow_split && max_fill_split(&c))) {
		ctx_release(&c);
		return fl_err_set(err, FL_ENOMEM, "sourcing: out of memory");
	}
	if (!p->allow_split)
		for (int i = 0; i < c.nkept; i++)
			c.fill = c.fill > single_fill(&c, c.kept[i]) ? c.fill
								     : single_fill(&c, c.kept[i]);
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_error_hook(NULL, NULL);
		glp_free_env();
		ctx_release(&c);
		return fl_err_set(err, FL_ESOLVER, "export: GLPK failed");
	}
	lp = build_mip(&c, true);
	rc = glp_write_lp(lp, NULL, path)
		     ? fl_err_set(err, FL_EIO, "export: cannot write '%s'", path)
		     : 0;
	glp_delete_prob(lp);
	glp_error_hook(NULL, NULL);
	ctx_release(&c);
	return rc;
}
