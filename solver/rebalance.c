/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rebalance.c — transfers before demand arrives (rebalance.h explains the method): the
 * problem checked, its arcs, the plan checked, slv_rebalance choosing the method, the LP
 * file.
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

double slv__ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

bool slv__time_up(const struct slv_rb_problem *p, const struct timespec *t0, double limit)
{
	return (p->stop && atomic_load(p->stop)) || slv__ms_since(t0) >= limit;
}

long slv__surplus(const struct slv_rb_problem *p, int i, int k)
{
	const long d = p->avail[(size_t)i * p->nskus + k] - p->target[(size_t)i * p->nskus + k];
	return d > 0 ? d : 0;
}

long slv__deficit(const struct slv_rb_problem *p, int i, int k)
{
	const long d = p->target[(size_t)i * p->nskus + k] - p->avail[(size_t)i * p->nskus + k];
	return d > 0 ? d : 0;
}

static int check_problem(const struct slv_rb_problem *p, struct fl_err *err)
{
	if (p->nnodes < 1 || p->nskus < 0 || p->nlanes < 0 || !p->avail || !p->target)
		return fl_err_set(err, FL_EINVAL, "rebalance: empty problem");
	if (!(p->penalty > 0) || !isfinite(p->penalty))
		return fl_err_set(err, FL_EINVAL, "shortage_penalty: must be a positive number");
	for (int l = 0; l < p->nlanes; l++) {
		const struct slv_rb_lane *x = &p->lanes[l];
		if (x->from < 0 || x->from >= p->nnodes || x->to < 0 || x->to >= p->nnodes ||
		    x->from == x->to || x->cost < 0 || x->fixed < 0 ||
		    (x->cap != FL_UNLIMITED && x->cap < 0))
			return fl_err_set(err, FL_EINVAL, "rebalance: lane %d is invalid", l);
	}
	return 0;
}

/* Every (lane, SKU) that could carry a useful unit, grouped by SKU. */
static int build_arcs(const struct slv_rb_problem *p, struct arcs *a, bool *coupled)
{
	const int N = p->nnodes;
	int *in_first = malloc(sizeof(int) * (size_t)N),
	    *next = malloc(sizeof(int) * (p->nlanes + 1));
	int rc = 0;

	memset(a, 0, sizeof(*a));
	*coupled = false;
	a->sku_start = calloc((size_t)p->nskus + 1, sizeof(size_t));
	if (!in_first || !next || !a->sku_start) {
		rc = FL_ENOMEM;
		goto out;
	}
	/* lanes into each node */
	for (int i = 0; i < N; i++)
		in_first[i] = -1;
	for (int l = 0; l < p->nlanes; l++) {
		next[l] = in_first[p->lanes[l].to];
		in_first[p->lanes[l].to] = l;
	}
	for (int k = 0; k < p->nskus; k++) {
		a->sku_start[k] = a->n;
		for (int j = 0; j < N; j++) {
			const long t = p->target[(size_t)j * p->nskus + k];
			if (!t)
				continue;
			/* l = −2 stands for the keep arc, then the lanes into j */
			for (int l = -2; l != -1; l = l == -2 ? in_first[j] : next[l]) {
				const int from = l < 0 ? j : p->lanes[l].from;
				const int lane = l < 0 ? -1 : l;
				const long av = p->avail[(size_t)from * p->nskus + k];
				if (!av || (l >= 0 && !(p->lanes[l].cost < p->penalty)))
					continue;
				if ((rc = fl_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v),
						  RB_ARCS_MAX)))
					goto out;
				a->v[a->n++] = (struct arc){lane, k, from, j, av < t ? av : t};
				if (l >= 0 &&
				    (p->lanes[l].fixed > 0 || p->lanes[l].cap != FL_UNLIMITED))
					*coupled = true;
			}
		}
	}
	a->sku_start[p->nskus] = a->n;
out:
	free(in_first);
	free(next);
	return rc;
}

void slv__arcs_release(struct arcs *a)
{
	free(a->v);
	free(a->sku_start);
}

void slv_rb_release(struct slv_rb_result *r)
{
	free(r->t);
	memset(r, 0, sizeof(*r));
}

int slv__push_transfer(struct slv_rb_result *r, size_t *cap, int lane, int sku, long qty)
{
	if (r->nt == *cap) {
		const int rc = fl_grow((void **)&r->t, cap, r->nt + 1, sizeof(*r->t), RB_ARCS_MAX);
		if (rc)
			return rc;
	}
	r->t[r->nt++] = (struct slv_rb_transfer){lane, sku, qty};
	return 0;
}

int slv_rebalance_check(const struct slv_rb_problem *p, struct slv_rb_result *r, struct fl_err *err)
{
	const size_t NK = (size_t)p->nnodes * p->nskus;
	long *net = calloc(NK + 1, sizeof(long)), *out = calloc(NK + 1, sizeof(long));
	long *lane_units = calloc((size_t)p->nlanes + 1, sizeof(long));
	int rc = 0;

	if (!net || !out || !lane_units) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto done;
	}
	r->transfer_cost = r->fixed_cost = r->shortage_cost = 0;
	r->short_before = r->short_after = 0;
	r->lanes_used = 0;
	for (size_t i = 0; i < r->nt; i++) {
		const struct slv_rb_transfer *t = &r->t[i];
		if (t->lane < 0 || t->lane >= p->nlanes || t->sku < 0 || t->sku >= p->nskus ||
		    t->qty <= 0) {
			rc = fl_err_set(err, FL_EINVAL, "rebalance: transfer %zu is malformed", i);
			goto done;
		}
		const struct slv_rb_lane *l = &p->lanes[t->lane];
		out[(size_t)l->from * p->nskus + t->sku] += t->qty;
		net[(size_t)l->from * p->nskus + t->sku] -= t->qty;
		net[(size_t)l->to * p->nskus + t->sku] += t->qty;
		lane_units[t->lane] += t->qty;
		r->transfer_cost += l->cost * (double)t->qty;
	}
	for (int l = 0; l < p->nlanes; l++) {
		if (!lane_units[l])
			continue;
		r->lanes_used++;
		r->fixed_cost += p->lanes[l].fixed;
		if (p->lanes[l].cap != FL_UNLIMITED && lane_units[l] > p->lanes[l].cap) {
			rc = fl_err_set(err, FL_EINVAL,
					"rebalance: lane %d carries %ld > capacity %ld", l,
					lane_units[l], p->lanes[l].cap);
			goto done;
		}
	}
	for (size_t ik = 0; ik < NK; ik++) {
		if (out[ik] > p->avail[ik]) {
			rc = fl_err_set(err, FL_EINVAL,
					"rebalance: node %zu sends %ld of SKU %zu, has %ld",
					ik / p->nskus, out[ik], ik % p->nskus, p->avail[ik]);
			goto done;
		}
		const long before = p->target[ik] - p->avail[ik];
		const long after = before - net[ik];
		r->short_before += before > 0 ? before : 0;
		r->short_after += after > 0 ? after : 0;
	}
	r->shortage_cost = p->penalty * (double)r->short_after;
	r->total = r->transfer_cost + r->fixed_cost + r->shortage_cost;
done:
	free(net);
	free(out);
	free(lane_units);
	return rc;
}

/* The start of every solve: the clock, an empty result, the problem checked, its arcs. */
int slv__begin(const struct slv_rb_problem *p, struct slv_rb_result *r, struct arcs *a,
	       bool *coupled, struct timespec *t0, struct fl_err *err)
{
	clock_gettime(CLOCK_MONOTONIC, t0);
	memset(r, 0, sizeof(*r));
	const int rc = check_problem(p, err);
	if (rc)
		return rc;
	if (build_arcs(p, a, coupled))
		return fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
	return 0;
}

/*
 * slv__solve_coupled under GLPK's error hook: 1 after a GLPK fault (its environment freed),
 * else slv__solve_coupled's status. Its own frame holds nothing the longjmp could clobber.
 */
static int guarded_coupled(const struct slv_rb_problem *p, const struct arcs *a,
			   const struct slv_rb_result *greedy, long *q, double *bound,
			   bool *optimal)
{
	struct guard g;
	glp_term_out(GLP_OFF);
	glp_error_hook(slv__rb_on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_error_hook(NULL, NULL);
		glp_free_env();
		return 1;
	}
	const int rc = slv__solve_coupled(p, a, greedy, q, bound, optimal);
	glp_error_hook(NULL, NULL);
	return rc;
}

int slv_rebalance(const struct slv_rb_problem *p, struct slv_rb_result *r, struct fl_err *err)
{
	struct arcs a;
	bool coupled;
	struct timespec t0;
	long *q = NULL;
	double *lam = NULL, *lb = NULL, *cost = NULL;
	int rc;

	if ((rc = slv__begin(p, r, &a, &coupled, &t0, err)))
		return rc;
	q = calloc(a.n + 1, sizeof(long));
	lam = calloc(2 * a.n + 1, sizeof(double));
	lb = calloc((size_t)p->nskus + 1, sizeof(double));
	cost = malloc(sizeof(double) * ((size_t)p->nlanes + 1));
	if (!q || !lam || !lb || !cost) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto out;
	}
	for (int l = 0; l < p->nlanes; l++)
		cost[l] = p->lanes[l].cost;
	double bound = -INFINITY;
	bool optimal = false;
	struct slv_rb_result greedy;
	if ((rc = slv_rebalance_greedy(p, &greedy, err)))
		goto out;
	const double greedy_total = greedy.total;
	const size_t greedy_nt = greedy.nt;
	if (!coupled) {
		slv_rb_release(&greedy);
		/* independent SKUs: each LP's vertex is whole units and optimal */
		if ((rc = slv__solve_skus(p, &a, cost, q, lam, lb))) {
			fl_err_set(err, rc,
				   "rebalance: GLPK failed on a SKU's transportation problem");
			goto out;
		}
		if ((rc = slv__plan_of(p, &a, q, r, err)))
			goto out;
		optimal = true;
		bound = r->total;
		r->method = "a transportation LP per SKU";
	} else {
		if (a.n <= RB_MIP_ARCS_MAX) {
			rc = guarded_coupled(p, &a, &greedy, q, &bound, &optimal);
			if (rc == 1) { /* a GLPK fault */
				slv_rb_release(&greedy);
				rc = fl_err_set(err, FL_ESOLVER, "rebalance: GLPK failed");
				goto out;
			}
			slv_thread_release();
			if (!rc) {
				double tsum = 0;
				for (size_t ik = 0; ik < (size_t)p->nnodes * p->nskus; ik++)
					tsum += (double)p->target[ik];
				bound +=
					p->penalty * tsum; /* the MIP counted −P per unit covered */
				rc = slv__plan_of(p, &a, q, r, err);
				r->method = "one MIP over every SKU";
				slv_rb_release(&greedy);
			} else if (rc == FL_ESOLVER) {
				*r = greedy; /* nothing better within the limits: the greedy plan */
				r->method = "greedy (the MIP found nothing better in time)";
				rc = 0;
			} else {
				slv_rb_release(&greedy);
				fl_err_set(err, rc, "rebalance: out of memory");
			}
		} else {
			*r = greedy;
			rc = slv__slope_scaling(p, &a, &t0, r, &bound, err);
			r->method = "slope scaling, Lagrangian bound";
		}
		if (rc)
			goto out;
	}
	if (slv_rb_has_lots(p)) {
		if ((rc = slv__lots(p, r, err)))
			goto out;
		optimal = false; /* proved only if the bound meets it, below */
		r->rounded = true;
	}
	r->coupled = coupled;
	r->greedy_total = greedy_total;
	r->greedy_transfers = greedy_nt;
	if (bound > r->total)
		bound = r->total;
	r->bound = bound;
	r->gap = r->total > 0 ? (r->total - bound) / r->total : 0;
	r->optimal = optimal || r->gap <= 1e-9;
	if (r->optimal)
		r->gap = 0, r->bound = r->total;
out:
	r->ms = slv__ms_since(&t0);
	slv__arcs_release(&a);
	free(q), free(lam), free(lb), free(cost);
	if (rc)
		slv_rb_release(r);
	return rc;
}

/* x_l_k exists where the lane's source holds the SKU: the supply row forces the rest to 0. */
static bool x_exists(const struct slv_rb_problem *p, int l, int k)
{
	return p->avail[(size_t)p->lanes[l].from * p->nskus + k] > 0;
}

/* s_i_k matters where the node holds or needs the SKU; elsewhere s = 0 satisfies it. */
static bool s_exists(const struct slv_rb_problem *p, int i, int k)
{
	const size_t ik = (size_t)i * p->nskus + k;
	return p->avail[ik] > 0 || p->target[ik] > 0;
}

int slv_rebalance_export_lp(const struct slv_rb_problem *p, const char *path, struct fl_err *err)
{
	FILE *f = fopen(path, "w");
	const int K = p->nskus;
	if (!f)
		return fl_err_set(err, FL_EIO, "%s: cannot create", path);
	fprintf(f, "\\ fulcrum rebalancing model (DATA.md), %d nodes, %d SKUs, %d lanes\n",
		p->nnodes, K, p->nlanes);
	fprintf(f, "\\ x_l_k: units of SKU k on lane l (listed only where l's source holds k)\n");
	fprintf(f, "Minimize\n obj: 0 y_dummy\n");
	for (int l = 0; l < p->nlanes; l++) {
		for (int k = 0; k < K; k++)
			if (x_exists(p, l, k))
				fprintf(f, " + %.17g x_%d_%d\n", p->lanes[l].cost, l, k);
		if (p->lanes[l].fixed > 0)
			fprintf(f, " + %.17g y_%d\n", p->lanes[l].fixed, l);
	}
	for (int i = 0; i < p->nnodes; i++)
		for (int k = 0; k < K; k++)
			if (s_exists(p, i, k))
				fprintf(f, " + %.17g s_%d_%d\n", p->penalty, i, k);
	fprintf(f, "Subject To\n");
	for (int i = 0; i < p->nnodes; i++)
		for (int k = 0; k < K; k++) {
			if (!s_exists(p, i, k))
				continue;
			/* supply: Σ_j x_ijk ≤ a_ik */
			bool any = false;
			for (int l = 0; l < p->nlanes; l++)
				if (p->lanes[l].from == i && x_exists(p, l, k)) {
					if (!any)
						fprintf(f, " sup_%d_%d: 0 y_dummy", i, k);
					fprintf(f, " + x_%d_%d", l, k);
					any = true;
				}
			if (any)
				fprintf(f, " <= %ld\n", p->avail[(size_t)i * K + k]);
			/* shortage: s_ik + in − out ≥ t − a */
			fprintf(f, " sh_%d_%d: s_%d_%d", i, k, i, k);
			for (int l = 0; l < p->nlanes; l++) {
				if (p->lanes[l].to == i && x_exists(p, l, k))
					fprintf(f, " + x_%d_%d", l, k);
				if (p->lanes[l].from == i && x_exists(p, l, k))
					fprintf(f, " - x_%d_%d", l, k);
			}
			fprintf(f, " >= %ld\n",
				p->target[(size_t)i * K + k] - p->avail[(size_t)i * K + k]);
		}
	for (int l = 0; l < p->nlanes; l++) {
		const struct slv_rb_lane *x = &p->lanes[l];
		if (x->cap == FL_UNLIMITED && x->fixed <= 0)
			continue;
		long m = x->cap;
		if (m == FL_UNLIMITED) { /* a valid big-M: all the source can send */
			m = 0;
			for (int k = 0; k < K; k++)
				m += p->avail[(size_t)x->from * K + k];
		}
		fprintf(f, " cap_%d: 0 y_dummy", l);
		for (int k = 0; k < K; k++)
			if (x_exists(p, l, k))
				fprintf(f, " + x_%d_%d", l, k);
		if (x->fixed > 0)
			fprintf(f, " - %ld y_%d <= 0\n", m, l);
		else
			fprintf(f, " <= %ld\n", m);
	}
	fprintf(f, "Bounds\n y_dummy = 0\nGeneral\n");
	for (int l = 0; l < p->nlanes; l++)
		for (int k = 0; k < K; k++)
			if (x_exists(p, l, k))
				fprintf(f, " x_%d_%d\n", l, k);
	fprintf(f, "Binary\n");
	for (int l = 0; l < p->nlanes; l++)
		if (p->lanes[l].fixed > 0)
			fprintf(f, " y_%d\n", l);
	fprintf(f, "End\n");
	const bool bad = ferror(f);
	if (fclose(f) || bad)
		return fl_err_set(err, FL_EIO, "%s: write failed", path);
	return 0;
}
