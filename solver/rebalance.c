/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rebalance.c — transfers before demand arrives (rebalance.h explains the method).
 */
#include <glpk.h>
#include <math.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rebalance.h"
#include "solver.h"

#define RB_DEFAULT_MS 10000
#define RB_MIP_ARCS_MAX 4000 /* coupled problems up to this many arcs: the exact MIP */
#define RB_DSS_ROUNDS 12     /* slope-scaling rounds for larger coupled problems */
#define RB_SUBGRADIENT_ITERS 100
#define RB_DSS_FLAT 0.002	      /* slope scaling stops when a round gains less */
#define RB_KEEP_ARCS_MAX 1000000      /* arcs up to which the SKUs' LPs stay between rounds */
#define RB_ARCS_MAX ((size_t)1 << 28) /* arcs (and transfers) one problem may have: FL_ELIMIT */

/*
 * The flow view: node i's stock a_ik either stays (a "keep" arc, lane −1) or leaves on a
 * lane; node j's target t_jk is covered by what stays and what arrives. So a node may
 * send its own units while receiving others (a relay where no direct lane is cheap).
 */
struct arc {
	int lane, sku; /* lane −1: the stock that stays at `from` */
	int from, to;
	long ub; /* min(a at the source, t at the destination) */
};

struct arcs {
	struct arc *v;
	size_t n, cap;
	size_t *sku_start; /* arcs of SKU k: [sku_start[k], sku_start[k + 1]) */
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static long surplus(const struct slv_rb_problem *p, int i, int k)
{
	const long d = p->avail[(size_t)i * p->nskus + k] - p->target[(size_t)i * p->nskus + k];
	return d > 0 ? d : 0;
}

static long deficit(const struct slv_rb_problem *p, int i, int k)
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

static void arcs_release(struct arcs *a)
{
	free(a->v);
	free(a->sku_start);
}

void slv_rb_release(struct slv_rb_result *r)
{
	free(r->t);
	memset(r, 0, sizeof(*r));
}

static int push_transfer(struct slv_rb_result *r, size_t *cap, int lane, int sku, long qty)
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
static int begin(const struct slv_rb_problem *p, struct slv_rb_result *r, struct arcs *a,
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

	if ((rc = begin(p, r, &a, &coupled, &t0, err)))
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
			u[i] = surplus(p, i, k), d[i] = deficit(p, i, k);
		/* the cheapest lane (the nearest surplus) first */
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
			rc = push_transfer(r, &cap, v[i].lane, k, q) ? FL_ENOMEM : 0;
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
	r->ms = ms_since(&t0);
out:
	free(u), free(d), free(left);
	arcs_release(&a);
	if (rc)
		slv_rb_release(r);
	return rc;
}

/* ---- GLPK ---- */

struct guard {
	jmp_buf jb;
};

static void on_glp_error(void *info)
{
	longjmp(((struct guard *)info)->jb, 1);
}

/*
 * One SKU's transportation LP in the flow view: rows are the sources (≤ a) and the
 * destinations (≤ t) of its arcs; column costs are cost[lane] − P (keep arcs: −P).
 * Built once; later rounds (slope scaling) change only the costs and re-solve from the
 * kept basis with the primal simplex, which stays feasible. Writes each arc's units into
 * q and, for the Lagrangian bound, the multipliers of its two rows (λ = −dual ≥ 0) into
 * lam[2 * arc] and lam[2 * arc + 1], and Σ λ·b into *lb.
 */
static int solve_sku(const struct slv_rb_problem *p, const double *cost, const struct arc *v,
		     size_t n, glp_prob **keep, int *arow, long *q, double *lam, double *lb)
{
	glp_prob *lp = *keep;
	int rc = 0;
	const bool warm = lp != NULL;

	if (!lp) {
		lp = glp_create_prob();
		int *row_of = calloc(2 * (size_t)p->nnodes, sizeof(int));
		int *ia = malloc(sizeof(int) * (2 * n + 1)),
		    *ja = malloc(sizeof(int) * (2 * n + 1));
		double *ar = malloc(sizeof(double) * (2 * n + 1));
		if (!row_of || !ia || !ja || !ar) {
			free(row_of), free(ia), free(ja), free(ar);
			glp_delete_prob(lp);
			return FL_ENOMEM;
		}
		glp_set_obj_dir(lp, GLP_MIN);
		int rows = 0, nz = 0;
		glp_add_cols(lp, (int)n);
		for (size_t i = 0; i < n; i++) {
			const int col = (int)i + 1;
			glp_set_col_bnds(lp, col, GLP_DB, 0, (double)v[i].ub);
			for (int side = 0; side < 2; side++) {
				const int node = side ? v[i].to : v[i].from;
				int *r = &row_of[2 * node + side];
				if (!*r) {
					*r = ++rows;
					glp_add_rows(lp, 1);
					const size_t ik = (size_t)node * p->nskus + v[i].sku;
					glp_set_row_bnds(
						lp, rows, GLP_UP, 0,
						(double)(side ? p->target[ik] : p->avail[ik]));
				}
				++nz;
				ia[nz] = *r, ja[nz] = col, ar[nz] = 1;
				arow[2 * i + side] = *r;
			}
		}
		glp_load_matrix(lp, nz, ia, ja, ar);
		free(row_of), free(ia), free(ja), free(ar);
	}
	for (size_t i = 0; i < n; i++)
		glp_set_obj_coef(lp, (int)i + 1,
				 (v[i].lane < 0 ? 0 : cost[v[i].lane]) - p->penalty);
	glp_smcp sm;
	glp_init_smcp(&sm);
	sm.msg_lev = GLP_MSG_OFF;
	sm.meth = warm ? GLP_PRIMAL : GLP_DUALP;
	if (glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT) {
		rc = FL_ESOLVER;
		goto out;
	}
	const int rows = glp_get_num_rows(lp);
	for (size_t i = 0; i < n; i++) {
		q[i] = lround(glp_get_col_prim(lp, (int)i + 1));
		lam[2 * i] = fmax(0, -glp_get_row_dual(lp, arow[2 * i]));
		lam[2 * i + 1] = fmax(0, -glp_get_row_dual(lp, arow[2 * i + 1]));
	}
	*lb = 0;
	for (int r = 1; r <= rows; r++)
		*lb += fmax(0, -glp_get_row_dual(lp, r)) * glp_get_row_ub(lp, r);
out:
	if (rc) {
		glp_delete_prob(lp);
		lp = NULL;
	}
	*keep = lp;
	return rc;
}

/*
 * Worker threads that live across rounds: thread t owns SKUs k ≡ t (mod T) and their
 * LPs (GLPK objects belong to the thread that made them), and waits on a barrier for
 * each round. Thread 0 is the caller.
 */
struct pool {
	const struct slv_rb_problem *p;
	const struct arcs *a;
	const double *cost; /* per lane: the (linearised) unit cost of this round */
	long *q;	    /* per arc */
	double *lam;	    /* per arc: two multipliers */
	double *lb;	    /* per SKU: Σ λ·b */
	glp_prob **lps;	    /* per SKU, kept between rounds */
	int *arow;	    /* per arc: its source and destination rows in its SKU's LP */
	int threads;	    /* the pool's size: SKU k belongs to worker k % threads */
	bool keep;	    /* keep each SKU's LP for the next round (else free it at once) */
	atomic_int failed;
	struct fl_pool *workers; /* persistent: each keeps its GLPK environment warm */
};

static void run_share(struct pool *w, int t)
{
	for (int k = t; k < w->p->nskus && !atomic_load(&w->failed); k += w->threads) {
		const size_t s = w->a->sku_start[k], n = w->a->sku_start[k + 1] - s;
		w->lb[k] = 0;
		if (n && solve_sku(w->p, w->cost, w->a->v + s, n, &w->lps[k], w->arow + 2 * s,
				   w->q + s, w->lam + 2 * s, &w->lb[k]))
			atomic_store(&w->failed, FL_ESOLVER);
		if (!w->keep && w->lps[k]) {
			glp_delete_prob(w->lps[k]);
			w->lps[k] = NULL;
		}
	}
}

/* Run thread t's share with GLPK faults caught; on a fault its LPs are gone. */
static void forget_share(struct pool *w, int t)
{
	for (int k = t; k < w->p->nskus; k += w->threads)
		w->lps[k] = NULL;
}

static void guarded_share(void *ctx, const int t)
{
	struct pool *w = ctx;
	struct guard g;
	volatile int tv = t;
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_error_hook(NULL, NULL);
		glp_free_env(); /* this thread's LPs with it */
		forget_share(w, tv);
		atomic_store(&w->failed, FL_ESOLVER);
		return;
	}
	run_share(w, tv);
	glp_error_hook(NULL, NULL);
}

/* At the end: each worker but the caller frees its GLPK environment (its LPs with it);
 * the caller deletes its own share's LPs. */
static void free_share(void *ctx, const int t)
{
	struct pool *w = ctx;
	if (t == 0) {
		for (int k = 0; k < w->p->nskus; k += w->threads)
			if (w->lps[k])
				glp_delete_prob(w->lps[k]);
		return;
	}
	glp_free_env();
}

static int pool_open(struct pool *w, const struct slv_rb_problem *p, const struct arcs *a, long *q,
		     double *lam, double *lb, bool keep)
{
	memset(w, 0, sizeof(*w));
	w->p = p, w->a = a, w->q = q, w->lam = lam, w->lb = lb;
	w->keep = keep;
	int threads = p->threads < 1 ? 1 : p->threads > FL_POOL_MAX ? FL_POOL_MAX : p->threads;
	if (threads > p->nskus)
		threads = p->nskus > 0 ? p->nskus : 1;
	w->lps = calloc((size_t)p->nskus + 1, sizeof(*w->lps));
	w->arow = malloc(sizeof(int) * (2 * a->n + 1));
	if (!w->lps || !w->arow || fl_pool_create(threads, &w->workers)) {
		free(w->lps), free(w->arow);
		return FL_ENOMEM;
	}
	w->threads = fl_pool_size(w->workers); /* fewer when the system refused a thread */
	return 0;
}

/* Every SKU's LP at the given lane costs, warm from the last round. */
static int pool_round(struct pool *w, const double *cost)
{
	w->cost = cost;
	fl_pool_each(w->workers, guarded_share, w);
	return atomic_load(&w->failed);
}

static void pool_close(struct pool *w)
{
	fl_pool_each(w->workers, free_share, w);
	fl_pool_destroy(w->workers);
	free(w->lps), free(w->arow);
}

/* One round on a throwaway pool (the uncoupled case needs only one). */
static int solve_skus(const struct slv_rb_problem *p, const struct arcs *a, const double *cost,
		      long *q, double *lam, double *lb)
{
	struct pool w;
	if (pool_open(&w, p, a, q, lam, lb, false))
		return FL_ENOMEM;
	const int rc = pool_round(&w, cost);
	pool_close(&w);
	return rc;
}

struct lane_rc {
	double rc;
	long ub;
};

static int cmp_rc(const void *a, const void *b)
{
	const double x = ((const struct lane_rc *)a)->rc, y = ((const struct lane_rc *)b)->rc;
	return (x > y) - (x < y);
}

/*
 * The Lagrangian relaxation of the SKU rows at multipliers λ (two per arc: its source
 * and destination rows): base + Σ_keep min(0, rc)·ub + Σ_lanes min(0, f + the best fill
 * of its arcs with rc = c − P + λ_from + λ_to < 0 up to its capacity), where base is
 * P Σ t − Σ λ·b. Valid as a lower bound for any λ ≥ 0. With x, the subproblem's solution
 * (units per arc) is written too: the subgradient needs it. (struct lane_rc's ub holds
 * the arc's index while a lane's arcs are gathered.) -INFINITY when out of memory.
 */
static double lagrangian(const struct slv_rb_problem *p, const struct arcs *a, const double *lam,
			 double base, double *x)
{
	double L = base;
	struct lane_rc *buf = malloc(sizeof(*buf) * (a->n + 1));
	size_t *first = malloc(sizeof(size_t) * ((size_t)p->nlanes + 1));
	size_t *cnt = calloc((size_t)p->nlanes + 1, sizeof(size_t));
	if (!buf || !first || !cnt) {
		free(buf), free(first), free(cnt);
		return -INFINITY;
	}
	for (size_t i = 0; i < a->n; i++) {
		const double rc = (a->v[i].lane < 0 ? 0 : p->lanes[a->v[i].lane].cost) -
				  p->penalty + lam[2 * i] + lam[2 * i + 1];
		if (x)
			x[i] = 0;
		if (a->v[i].lane >= 0) {
			cnt[a->v[i].lane] += rc < 0;
		} else if (rc < 0) {
			L += rc * (double)a->v[i].ub;
			if (x)
				x[i] = (double)a->v[i].ub;
		}
	}
	size_t off = 0;
	for (int l = 0; l < p->nlanes; l++)
		first[l] = off, off += cnt[l], cnt[l] = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].lane < 0)
			continue;
		const double rc =
			p->lanes[a->v[i].lane].cost - p->penalty + lam[2 * i] + lam[2 * i + 1];
		if (rc < 0)
			buf[first[a->v[i].lane] + cnt[a->v[i].lane]++] =
				(struct lane_rc){rc, (long)i};
	}
	for (int l = 0; l < p->nlanes; l++) {
		struct lane_rc *v = buf + first[l];
		double left = p->lanes[l].cap == FL_UNLIMITED ? INFINITY : (double)p->lanes[l].cap;
		double room = 0;
		for (size_t j = 0; j < cnt[l]; j++)
			room += (double)a->v[v[j].ub].ub;
		if (room > left) /* the capacity binds: the most negative first */
			qsort(v, cnt[l], sizeof(*v), cmp_rc);
		double val = p->lanes[l].fixed;
		size_t used = 0;
		for (size_t j = 0; j < cnt[l] && left > 0; j++, used++) {
			const double u = fmin(left, (double)a->v[v[j].ub].ub);
			val += v[j].rc * u;
			left -= u;
			if (x)
				x[v[j].ub] = u;
		}
		if (val < 0)
			L += val;
		else if (x) /* the lane stays closed */
			for (size_t j = 0; j < used; j++)
				x[v[j].ub] = 0;
	}
	free(buf), free(first), free(cnt);
	return L;
}

/* The bound at the multipliers the SKU LPs' duals give (lb: Σ λ·b per SKU). */
static double lagrangian_bound(const struct slv_rb_problem *p, const struct arcs *a,
			       const double *lam, const double *lb)
{
	double base = 0;
	for (size_t ik = 0; ik < (size_t)p->nnodes * p->nskus; ik++)
		base += p->penalty * (double)p->target[ik];
	for (int k = 0; k < p->nskus; k++)
		base -= lb[k];
	return lagrangian(p, a, lam, base, NULL);
}

struct mip_cb {
	const double *x0; /* the incumbent (columns 1…n), or NULL */
	double bound;
};

static void mip_callback(glp_tree *tree, void *info)
{
	struct mip_cb *c = info;
	if (glp_ios_reason(tree) == GLP_IHEUR && glp_ios_curr_node(tree) == 1 && c->x0)
		glp_ios_heur_sol(tree, c->x0);
	const int best = glp_ios_best_node(tree);
	if (best)
		c->bound = glp_ios_node_bound(tree, best);
}

/*
 * The coupled model over every SKU. Columns: x per arc (integer), then y per lane that has
 * arcs and a fixed cost. Rows: supply (i, k) and demand (j, k), x ≤ ub·y per arc of a
 * fixed lane, and Σ_k x ≤ cap (·y) per capped lane.
 */
static int solve_coupled(const struct slv_rb_problem *p, const struct arcs *a,
			 const struct slv_rb_result *greedy, long *q, double *bound, bool *optimal)
{
	const size_t n = a->n;
	const int L = p->nlanes;
	int *ycol = calloc((size_t)L + 1, sizeof(int)),
	    *caprow = calloc((size_t)L + 1, sizeof(int));
	int *srow = NULL, *drow = NULL;
	const size_t nzcap = 5 * n + (size_t)L + 1; /* per arc ≤ 5 entries, per lane 1 */
	int *ia = malloc(sizeof(int) * nzcap), *ja = malloc(sizeof(int) * nzcap);
	double *ar = malloc(sizeof(double) * nzcap), *x0 = NULL;
	glp_prob *lp = glp_create_prob();
	int rc = 0, rows = 0, nz = 0;

	srow = calloc((size_t)p->nnodes, sizeof(int));
	drow = calloc((size_t)p->nnodes, sizeof(int));
	if (!ycol || !caprow || !ia || !ja || !ar || !srow || !drow) {
		rc = FL_ENOMEM;
		goto out;
	}
	glp_set_obj_dir(lp, GLP_MIN);
	glp_add_cols(lp, (int)n);
	int cols = (int)n;
	for (size_t i = 0; i < n; i++) {
		glp_set_col_kind(lp, (int)i + 1, GLP_IV);
		glp_set_col_bnds(lp, (int)i + 1, GLP_DB, 0, (double)a->v[i].ub);
		if (a->v[i].lane < 0) {
			glp_set_obj_coef(lp, (int)i + 1, -p->penalty);
			continue;
		}
		const struct slv_rb_lane *l = &p->lanes[a->v[i].lane];
		glp_set_obj_coef(lp, (int)i + 1, l->cost - p->penalty);
		if (l->fixed > 0 && !ycol[a->v[i].lane]) {
			ycol[a->v[i].lane] = ++cols;
			glp_add_cols(lp, 1);
			glp_set_col_kind(lp, cols, GLP_BV);
			glp_set_obj_coef(lp, cols, l->fixed);
		}
		if (l->cap != FL_UNLIMITED && !caprow[a->v[i].lane]) {
			caprow[a->v[i].lane] = ++rows;
			glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, rows, GLP_UP, 0, l->fixed > 0 ? 0 : (double)l->cap);
		}
	}
	/* supply and demand rows, SKU by SKU (rows are per (node, SKU): reset per SKU) */
	for (int k = 0; k < p->nskus; k++) {
		for (size_t i = a->sku_start[k]; i < a->sku_start[k + 1]; i++)
			srow[a->v[i].from] = drow[a->v[i].to] = 0;
		for (size_t i = a->sku_start[k]; i < a->sku_start[k + 1]; i++) {
			const struct arc *x = &a->v[i];
			const int col = (int)i + 1;
			if (!srow[x->from]) {
				srow[x->from] = ++rows;
				glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, rows, GLP_UP, 0,
						 (double)p->avail[(size_t)x->from * p->nskus + k]);
			}
			if (!drow[x->to]) {
				drow[x->to] = ++rows;
				glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, rows, GLP_UP, 0,
						 (double)p->target[(size_t)x->to * p->nskus + k]);
			}
			ia[++nz] = srow[x->from], ja[nz] = col, ar[nz] = 1;
			ia[++nz] = drow[x->to], ja[nz] = col, ar[nz] = 1;
			if (x->lane < 0)
				continue;
			if (caprow[a->v[i].lane])
				ia[++nz] = caprow[a->v[i].lane], ja[nz] = col, ar[nz] = 1;
			if (ycol[a->v[i].lane]) {
				/* strong linking: x ≤ ub · y, one row per arc */
				glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, ++rows, GLP_UP, 0, 0);
				ia[++nz] = rows, ja[nz] = col, ar[nz] = 1;
				ia[++nz] = rows, ja[nz] = ycol[a->v[i].lane],
				ar[nz] = -(double)a->v[i].ub;
			}
		}
	}
	for (int l = 0; l < L; l++)
		if (caprow[l] && ycol[l]) {
			ia[++nz] = caprow[l], ja[nz] = ycol[l], ar[nz] = -(double)p->lanes[l].cap;
		}
	glp_load_matrix(lp, nz, ia, ja, ar);

	/* the greedy plan as the incumbent */
	x0 = calloc((size_t)cols + 1, sizeof(double));
	if (!x0) {
		rc = FL_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) /* greedy sends surplus only: all of min(a, t) stays */
		if (a->v[i].lane < 0)
			x0[i + 1] = (double)a->v[i].ub;
	for (size_t t = 0; t < greedy->nt; t++) {
		const struct slv_rb_transfer *g = &greedy->t[t];
		for (size_t i = a->sku_start[g->sku]; i < a->sku_start[g->sku + 1]; i++)
			if (a->v[i].lane == g->lane) {
				x0[i + 1] += (double)g->qty;
				if (ycol[g->lane])
					x0[ycol[g->lane]] = 1;
			}
	}
	glp_smcp sm;
	glp_init_smcp(&sm);
	sm.msg_lev = GLP_MSG_OFF;
	sm.meth = GLP_DUALP;
	sm.tm_lim = p->time_limit_ms > 0 ? p->time_limit_ms : RB_DEFAULT_MS;
	if (glp_simplex(lp, &sm) || glp_get_status(lp) != GLP_OPT) {
		rc = FL_ESOLVER;
		goto out;
	}
	struct mip_cb cb = {.x0 = x0, .bound = glp_get_obj_val(lp)};
	glp_iocp io;
	glp_init_iocp(&io);
	io.msg_lev = GLP_MSG_OFF;
	io.tm_lim = sm.tm_lim;
	io.cb_func = mip_callback;
	io.cb_info = &cb;
	io.mip_gap = 1e-6;
	const int st = glp_intopt(lp, &io);
	const int ms = glp_mip_status(lp);
	if ((st && st != GLP_ETMLIM && st != GLP_EMIPGAP) || (ms != GLP_OPT && ms != GLP_FEAS)) {
		rc = FL_ESOLVER;
		goto out;
	}
	*optimal = ms == GLP_OPT;
	*bound = *optimal ? glp_mip_obj_val(lp) : cb.bound;
	for (size_t i = 0; i < n; i++)
		q[i] = lround(glp_mip_col_val(lp, (int)i + 1));
out:
	glp_delete_prob(lp);
	free(ycol), free(caprow), free(srow), free(drow), free(ia), free(ja), free(ar), free(x0);
	return rc;
}

/* Units per lane in q (lane arcs only). */
static void lane_flows(const struct slv_rb_problem *p, const struct arcs *a, const long *q,
		       long *flow)
{
	memset(flow, 0, sizeof(long) * (size_t)p->nlanes);
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lane >= 0)
			flow[a->v[i].lane] += q[i];
}

/*
 * Make q respect the lane capacities (cut units off a full lane), then close the lanes
 * whose fixed cost exceeds what their units can save, (P − c) each. Cutting units only
 * raises shortages, so the plan stays feasible.
 */
static void repair(const struct slv_rb_problem *p, const struct arcs *a, long *q, long *flow)
{
	lane_flows(p, a, q, flow);
	for (size_t i = a->n; i-- > 0;) {
		const int l = a->v[i].lane;
		if (l < 0 || p->lanes[l].cap == FL_UNLIMITED || flow[l] <= p->lanes[l].cap)
			continue;
		const long cut =
			flow[l] - p->lanes[l].cap < q[i] ? flow[l] - p->lanes[l].cap : q[i];
		q[i] -= cut;
		flow[l] -= cut;
	}
	for (size_t i = 0; i < a->n; i++) {
		const int l = a->v[i].lane;
		if (l >= 0 && flow[l] > 0 &&
		    p->lanes[l].fixed > (double)flow[l] * (p->penalty - p->lanes[l].cost))
			q[i] = 0;
	}
	lane_flows(p, a, q, flow);
}

static int cmp_arc_cost(const void *x, const void *y, void *ctx)
{
	const struct slv_rb_problem *p = ctx;
	const struct arc *a = x, *b = y;
	const double ca = p->lanes[a->lane].cost, cb = p->lanes[b->lane].cost;
	return (ca > cb) - (ca < cb);
}

/*
 * Fill the shortage a repaired plan left, SKU by SKU, cheapest lane first, from the
 * surplus and lane capacity that remain; a lane not yet used opens only if the units it
 * carries repay its fixed cost. Every addition keeps the plan feasible.
 */
static int complete(const struct slv_rb_problem *p, const struct arcs *a, long *q, long *flow)
{
	const int N = p->nnodes, K = p->nskus;
	long *pos = calloc((size_t)N + 1, sizeof(long)),
	     *sent = calloc((size_t)N + 1, sizeof(long));
	size_t *idx = malloc(sizeof(size_t) * (a->n + 1));
	struct arc *tmp = malloc(sizeof(struct arc) * (a->n + 1));
	if (!pos || !sent || !idx || !tmp) {
		free(pos), free(sent), free(idx), free(tmp);
		return FL_ENOMEM;
	}
	for (int k = 0; k < K; k++) {
		const size_t s = a->sku_start[k], e = a->sku_start[k + 1];
		size_t m = 0;
		for (size_t i = s; i < e; i++) {
			const struct arc *x = &a->v[i];
			pos[x->from] = p->avail[(size_t)x->from * K + k];
			pos[x->to] = p->avail[(size_t)x->to * K + k];
			sent[x->from] = sent[x->to] = 0;
		}
		for (size_t i = s; i < e; i++) {
			const struct arc *x = &a->v[i];
			if (x->lane < 0 || !q[i])
				continue;
			pos[x->from] -= q[i], pos[x->to] += q[i], sent[x->from] += q[i];
		}
		for (size_t i = s; i < e; i++)
			if (a->v[i].lane >= 0) {
				tmp[m] = a->v[i];
				tmp[m].ub = (long)i; /* where it came from */
				m++;
			}
		qsort_r(tmp, m, sizeof(*tmp), cmp_arc_cost, (void *)p);
		for (size_t t = 0; t < m; t++) {
			const size_t i = (size_t)tmp[t].ub;
			const struct arc *x = &a->v[i];
			const struct slv_rb_lane *l = &p->lanes[x->lane];
			const long own = p->avail[(size_t)x->from * K + k] - sent[x->from];
			const long spare = pos[x->from] - p->target[(size_t)x->from * K + k];
			const long need = p->target[(size_t)x->to * K + k] - pos[x->to];
			long add = own < spare ? own : spare;
			if (need < add)
				add = need;
			if (l->cap != FL_UNLIMITED && l->cap - flow[x->lane] < add)
				add = l->cap - flow[x->lane];
			if (add <= 0 || !(l->cost < p->penalty))
				continue;
			if (!flow[x->lane] && (double)add * (p->penalty - l->cost) <= l->fixed)
				continue;
			q[i] += add, flow[x->lane] += add;
			pos[x->from] -= add, pos[x->to] += add, sent[x->from] += add;
		}
	}
	free(pos), free(sent), free(idx), free(tmp);
	return 0;
}

static int plan_of(const struct slv_rb_problem *p, const struct arcs *a, const long *q,
		   struct slv_rb_result *r, struct fl_err *err)
{
	size_t cap = 0;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lane >= 0 && q[i] > 0 &&
		    push_transfer(r, &cap, a->v[i].lane, a->v[i].sku, q[i]))
			return fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
	return slv_rebalance_check(p, r, err);
}

/*
 * Raise the Lagrangian bound by subgradient steps on the SKU rows' multipliers (lam per
 * arc end, as solve_sku writes them, is first gathered per row). The per-lane subproblem
 * also yields the x whose row sums give the subgradient. Polyak steps towards ub.
 */
static double subgradient(const struct slv_rb_problem *p, const struct arcs *a, const double *lam0,
			  double ub, double start, const struct timespec *t0, double limit)
{
	const size_t NK = (size_t)p->nnodes * p->nskus;
	double *ls = calloc(NK + 1, sizeof(double)), *ld = calloc(NK + 1, sizeof(double));
	double *gs = malloc(sizeof(double) * (NK + 1)), *gd = malloc(sizeof(double) * (NK + 1));
	double *lam = malloc(sizeof(double) * (2 * a->n + 1));
	double *x = malloc(sizeof(double) * (a->n + 1));
	double best = start, theta = 1;
	int stall = 0;

	if (!ls || !ld || !gs || !gd || !lam || !x)
		goto out;
	for (size_t i = 0; i < a->n; i++) {
		ls[(size_t)a->v[i].from * p->nskus + a->v[i].sku] = lam0[2 * i];
		ld[(size_t)a->v[i].to * p->nskus + a->v[i].sku] = lam0[2 * i + 1];
	}
	for (int it = 0; it < RB_SUBGRADIENT_ITERS && ms_since(t0) < limit; it++) {
		double base = 0;
		for (size_t i = 0; i < a->n; i++) {
			lam[2 * i] = ls[(size_t)a->v[i].from * p->nskus + a->v[i].sku];
			lam[2 * i + 1] = ld[(size_t)a->v[i].to * p->nskus + a->v[i].sku];
		}
		for (size_t ik = 0; ik < NK; ik++) {
			base += p->penalty * (double)p->target[ik] - ls[ik] * (double)p->avail[ik] -
				ld[ik] * (double)p->target[ik];
			gs[ik] = -(double)p->avail[ik];
			gd[ik] = -(double)p->target[ik];
		}
		const double L = lagrangian(p, a, lam, base, x);
		if (!isfinite(L))
			break;
		if (L > best + 1e-9 * fabs(best)) {
			best = L;
			stall = 0;
		} else if (++stall >= 5) {
			theta /= 2;
			stall = 0;
		}
		/* subgradient: row activity − right-hand side */
		for (size_t i = 0; i < a->n; i++) {
			gs[(size_t)a->v[i].from * p->nskus + a->v[i].sku] += x[i];
			gd[(size_t)a->v[i].to * p->nskus + a->v[i].sku] += x[i];
		}
		double norm = 0;
		for (size_t ik = 0; ik < NK; ik++) {
			if (ls[ik] <= 0 && gs[ik] < 0)
				gs[ik] = 0;
			if (ld[ik] <= 0 && gd[ik] < 0)
				gd[ik] = 0;
			norm += gs[ik] * gs[ik] + gd[ik] * gd[ik];
		}
		if (norm <= 0 || ub - L <= 1e-9 * fabs(ub))
			break;
		const double step = theta * (ub - L) / norm;
		for (size_t ik = 0; ik < NK; ik++) {
			ls[ik] = fmax(0, ls[ik] + step * gs[ik]);
			ld[ik] = fmax(0, ld[ik] + step * gd[ik]);
		}
	}
out:
	free(ls), free(ld), free(gs), free(gd), free(lam), free(x);
	return best;
}

/*
 * Large coupled problems: dynamic slope scaling. Each round solves every SKU's LP with
 * the lane's fixed cost spread over the units it carried last round (c + f / units),
 * repairs capacities and unprofitable lanes, and keeps the best plan; the SKU rows'
 * duals of each round give a Lagrangian lower bound, and the best bound is kept.
 */
static int slope_scaling(const struct slv_rb_problem *p, const struct arcs *a,
			 const struct timespec *t0, struct slv_rb_result *best, double *bound,
			 struct fl_err *err)
{
	const int L = p->nlanes;
	const double limit = p->time_limit_ms > 0 ? p->time_limit_ms : RB_DEFAULT_MS;
	double *cost = malloc(sizeof(double) * ((size_t)L + 1));
	long *q = malloc(sizeof(long) * (a->n + 1)), *flow = malloc(sizeof(long) * ((size_t)L + 1));
	double *lam = malloc(sizeof(double) * (2 * a->n + 1));
	double *lb = malloc(sizeof(double) * ((size_t)p->nskus + 1));
	long *room = calloc((size_t)L + 1, sizeof(long));
	double *best_lam = calloc(2 * a->n + 1, sizeof(double));
	double *over = calloc((size_t)L + 1, sizeof(double)); /* capacity prices */
	int rc = 0;

	*bound = -INFINITY;
	if (!cost || !q || !flow || !lam || !lb || !room || !best_lam || !over) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lane >= 0)
			room[a->v[i].lane] += a->v[i].ub;
	for (int l = 0; l < L; l++) {
		long u = room[l];
		if (p->lanes[l].cap != FL_UNLIMITED && p->lanes[l].cap < u)
			u = p->lanes[l].cap;
		cost[l] = p->lanes[l].cost + p->lanes[l].fixed / (double)(u > 0 ? u : 1);
	}
	struct pool w;
	/* warm rounds keep every SKU's LP: only while that stays a reasonable size */
	if (pool_open(&w, p, a, q, lam, lb, a->n <= RB_KEEP_ARCS_MAX)) {
		rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
		goto out;
	}
	double last = INFINITY;
	int flat = 0;
	for (int it = 0; it < RB_DSS_ROUNDS && ms_since(t0) < limit; it++) {
		if ((rc = pool_round(&w, cost))) {
			fl_err_set(err, rc,
				   "rebalance: GLPK failed on a SKU's transportation problem");
			break;
		}
		const double lbnd = lagrangian_bound(p, a, lam, lb);
		if (lbnd > *bound) {
			*bound = lbnd;
			memcpy(best_lam, lam, sizeof(double) * 2 * a->n);
		}
		lane_flows(p, a, q, flow);
		for (int l = 0; l < L; l++) {
			/* a lane over its capacity gets dearer next round: a price on it */
			const long c = p->lanes[l].cap;
			if (c != FL_UNLIMITED && flow[l] > c)
				over[l] += 0.5 * (p->penalty - p->lanes[l].cost) *
					   fmin(1, (double)(flow[l] - c) / (double)(c > 0 ? c : 1));
			else
				over[l] *= 0.5;
			if (flow[l] > 0)
				cost[l] = p->lanes[l].cost + over[l] +
					  p->lanes[l].fixed /
						  (double)(c != FL_UNLIMITED && c < flow[l]
								   ? (c > 0 ? c : 1)
								   : flow[l]);
		}
		repair(p, a, q, flow);
		if (complete(p, a, q, flow)) {
			rc = fl_err_set(err, FL_ENOMEM, "rebalance: out of memory");
			break;
		}
		struct slv_rb_result r;
		if ((rc = plan_of(p, a, q, &r, err)))
			break;
		if (getenv("FULCRUM_RB_TRACE"))
			fprintf(stderr,
				"rebalance: round %d: plan %.2f (best %.2f), bound %.2f, %.0f ms\n",
				it, r.total, best->total, *bound, ms_since(t0));
		if (r.total < best->total - 1e-9) {
			slv_rb_release(best);
			*best = r;
		} else {
			slv_rb_release(&r);
		}
		/* converged: two rounds in a row within 0.2 % of the best so far */
		flat = best->total > last * (1 - RB_DSS_FLAT) ? flat + 1 : 0;
		last = best->total;
		if (flat >= 2)
			break;
	}
	pool_close(&w);
	if (rc)
		goto out;
	/* the rest of the time raises the bound */
	if (isfinite(*bound))
		*bound = subgradient(p, a, best_lam, best->total, *bound, t0, limit);
out:
	free(cost), free(q), free(flow), free(lam), free(lb), free(room), free(best_lam),
		free(over);
	return rc;
}

/*
 * solve_coupled under GLPK's error hook: 1 after a GLPK fault (its environment freed),
 * else solve_coupled's status. Its own frame holds nothing the longjmp could clobber.
 */
static int guarded_coupled(const struct slv_rb_problem *p, const struct arcs *a,
			   const struct slv_rb_result *greedy, long *q, double *bound,
			   bool *optimal)
{
	struct guard g;
	glp_term_out(GLP_OFF);
	glp_error_hook(on_glp_error, &g);
	if (setjmp(g.jb)) {
		glp_error_hook(NULL, NULL);
		glp_free_env();
		return 1;
	}
	const int rc = solve_coupled(p, a, greedy, q, bound, optimal);
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

	if ((rc = begin(p, r, &a, &coupled, &t0, err)))
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
		if ((rc = solve_skus(p, &a, cost, q, lam, lb))) {
			fl_err_set(err, rc,
				   "rebalance: GLPK failed on a SKU's transportation problem");
			goto out;
		}
		if ((rc = plan_of(p, &a, q, r, err)))
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
				rc = plan_of(p, &a, q, r, err);
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
			rc = slope_scaling(p, &a, &t0, r, &bound, err);
			r->method = "slope scaling, Lagrangian bound";
		}
		if (rc)
			goto out;
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
	r->ms = ms_since(&t0);
	arcs_release(&a);
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
