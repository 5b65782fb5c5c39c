/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fulcrum-bench sourcing --db FILE [--orders N] [--seed S]`: N random orders of 1–5
 * lines on the store's network, each decided twice against the same stock: by the
 * exact solver, and by the greedy baseline of the issue (each line from the nearest
 * node that has the stock, then per node the cheapest service that keeps the promise).
 * Prints total cost, fill rate, cost per unit, and whether the optimum was ever worse.
 */
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow.h"
#include "solver/rebalance.h"
#include "solver/solver.h"

struct greedy {
	long filled;
	double cost;
	int ships;
};

static void greedy_plan_used(const struct slv_candidates *c, struct greedy *g, long *used);

static void greedy_plan(const struct slv_candidates *c, struct greedy *g)
{
	greedy_plan_used(c, g, NULL);
}

/* The greedy baseline; used (problem nodes × items, may be NULL) receives its units. */
static void greedy_plan_used(const struct slv_candidates *c, struct greedy *g, long *used)
{
	const struct slv_problem *p = &c->prob;
	int K = p->nitems, N = p->nnodes;
	long *got = calloc((size_t)N * (size_t)K + 1, sizeof(long));
	long *room = calloc((size_t)N + 1, sizeof(long));
	int *order = calloc((size_t)N + 1, sizeof(int));
	memset(g, 0, sizeof(*g));
	if (!got || !room || !order)
		goto out;
	for (int n = 0; n < N; n++) {
		order[n] = n;
		room[n] = p->nodes[n].cap == FL_UNLIMITED ? (long)1 << 50 : p->nodes[n].cap;
	}
	for (int a = 1; a < N; a++) /* nearest first */
		for (int b = a; b > 0 && c->distance_km[c->node_of[order[b]]] <
						 c->distance_km[c->node_of[order[b - 1]]];
		     b--) {
			int t = order[b];
			order[b] = order[b - 1], order[b - 1] = t;
		}
	for (int k = 0; k < K; k++) {
		long left = p->items[k].qty;
		for (int i = 0; i < N && left > 0; i++) {
			int n = order[i];
			bool carries = false;
			for (int o = 0; o < p->noptions && !carries; o++)
				carries = p->options[o].node == n &&
					  (!p->items[k].hazmat ||
					   (p->nodes[n].ships_hazmat && p->options[o].hazmat_ok));
			if (!carries)
				continue;
			long t = left;
			t = t < p->nodes[n].atp[k] ? t : p->nodes[n].atp[k];
			t = t < room[n] ? t : room[n];
			if (t <= 0)
				continue;
			got[(size_t)n * (size_t)K + (size_t)k] += t;
			room[n] -= t;
			left -= t;
			g->filled += t;
		}
	}
	if (used)
		memcpy(used, got, sizeof(long) * (size_t)N * (size_t)K);
	long *q = calloc((size_t)K, sizeof(long));
	for (int n = 0; q && n < N; n++) {
		long *mine = &got[(size_t)n * (size_t)K];
		long units = 0;
		for (int k = 0; k < K; k++)
			units += mine[k];
		if (!units)
			continue;
		/* the cheapest option that carries all of this node's lines, else line by line */
		int best = -1;
		double best_cost = 0;
		for (int o = 0; o < p->noptions; o++) {
			if (p->options[o].node != n)
				continue;
			bool ok = true;
			for (int k = 0; k < K && ok; k++)
				ok = !mine[k] || !p->items[k].hazmat || p->options[o].hazmat_ok;
			double cst = ok ? slv_shipment_cost(p, o, mine) : 0;
			if (ok && (best < 0 || cst < best_cost))
				best = o, best_cost = cst;
		}
		if (best >= 0) {
			g->cost += best_cost;
			g->ships++;
			continue;
		}
		for (int k = 0; k < K; k++) {
			if (!mine[k])
				continue;
			memset(q, 0, sizeof(long) * (size_t)K);
			q[k] = mine[k];
			double bc = -1;
			for (int o = 0; o < p->noptions; o++)
				if (p->options[o].node == n &&
				    (!p->items[k].hazmat || p->options[o].hazmat_ok)) {
					double cst = slv_shipment_cost(p, o, q);
					if (bc < 0 || cst < bc)
						bc = cst;
				}
			g->cost += bc;
			g->ships++;
		}
	}
	free(q);
out:
	free(got);
	free(room);
	free(order);
}

/* Open the store and its snapshot (which must hold SKUs); NULL after saying why. */
static struct flow_snapshot *bench_open(const char *db, struct store **st)
{
	struct fl_err err = {0};
	if (store_open(db, st, &err)) {
		fprintf(stderr, "fulcrum: %s\n", err.msg);
		return NULL;
	}
	struct flow_snapshot *snap = flow_snapshot_get(*st, &err);
	if (!snap || snap->nskus == 0) {
		fprintf(stderr, "fulcrum: bench: %s\n", snap ? "no SKUs in the store" : err.msg);
		flow_snapshot_put(snap);
		store_close(*st);
		return NULL;
	}
	return snap;
}

static uint64_t rs;
static double rnd(void)
{
	rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}

static int bench_waves(int argc, char **argv);
static int bench_rebalance(int argc, char **argv);
static int bench_rules(int argc, char **argv);

static int bench_sourcing(int argc, char **argv)
{
	const char *db = NULL;
	long orders = 10000;
	rs = 20261123;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "sourcing") == 0)
			continue;
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--orders") == 0 && i + 1 < argc)
			orders = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			rs = strtoull(argv[++i], NULL, 10) | 1;
		else
			db = NULL, i = argc;
	}
	if (!db || orders < 1 || orders > 10000000) {
		fprintf(stderr,
			"usage: fulcrum-bench sourcing --db FILE [--orders N] [--seed S]\n");
		return 2;
	}
	struct store *st;
	struct fl_err err = {0};
	struct flow_snapshot *snap = bench_open(db, &st);
	if (!snap)
		return 1;
	size_t N = snap->nnodes;
	long *atp = malloc(sizeof(long) * N * 5), *cap = malloc(sizeof(long) * N);
	double opt_cost = 0, gr_cost = 0, opt_ms = 0, worst_ms = 0;
	long want = 0, opt_fill = 0, gr_fill = 0, worse = 0, opt_ships = 0, gr_ships = 0, mips = 0;
	long same_fill = 0, cheaper = 0, infeasible = 0;
	double same_opt = 0, same_gr = 0;
	for (long i = 0; i < orders; i++) {
		struct slv_item items[5];
		const char *ids[5];
		int K = 1 + (int)(rnd() * 5), nk = 0;
		for (int k = 0; k < K; k++) {
			const struct fl_sku *s = &snap->skus[(size_t)(rnd() * (double)snap->nskus)];
			bool dup = false;
			for (int j = 0; j < nk; j++)
				dup |= strcmp(ids[j], s->id) == 0;
			if (dup)
				continue;
			ids[nk] = s->id;
			items[nk++] =
				(struct slv_item){1 + (long)(rnd() * 3), s->weight_kg, s->hazmat};
		}
		static const int promises[] = {-1, 2, 3, 5};
		struct slv_order so = {.lat = 30 + rnd() * 15,
				       .lon = -120 + rnd() * 45,
				       .promise_days = promises[(int)(rnd() * 4)],
				       .allow_split = true,
				       .time_limit_ms = FLOW_SOLVE_MS,
				       .nitems = nk,
				       .items = items};
		struct slv_network net = {snap->nodes,	     (int)N,	  snap->zones,
					  (int)snap->nzones, snap->rates, (int)snap->nrates};
		struct slv_candidates c;
		struct slv_result r;
		struct greedy g;
		if (store_stock_read(st, ids, nk, snap->nodes, (int)N, atp, cap, &err) ||
		    slv_candidates_build(&net, &so, atp, cap, NULL, &c, &err) ||
		    slv_source(&c.prob, &r, &err)) {
			fprintf(stderr, "fulcrum: bench: %s\n", err.msg);
			infeasible++;
			continue;
		}
		greedy_plan(&c, &g);
		for (int k = 0; k < nk; k++)
			want += items[k].qty;
		long of = r.status == SLV_EMPTY ? 0 : r.filled;
		double oc = r.status == SLV_EMPTY ? 0 : r.cost;
		opt_fill += of, gr_fill += g.filled;
		opt_cost += oc, gr_cost += g.cost;
		opt_ships += r.nshipments, gr_ships += g.ships;
		mips += r.used_mip;
		opt_ms += r.time_ms;
		worst_ms = r.time_ms > worst_ms ? r.time_ms : worst_ms;
		if (of < g.filled || (of == g.filled && oc > g.cost + 1e-9))
			worse++;
		if (of == g.filled && of > 0) {
			same_fill++;
			same_opt += oc, same_gr += g.cost;
			cheaper += oc < g.cost - 1e-9;
		}
		slv_result_release(&r);
		slv_candidates_release(&c);
		if ((i + 1) % 2000 == 0)
			fprintf(stderr, "bench sourcing: %ld/%ld orders\n", i + 1, orders);
	}
	printf("orders: %ld of 1-5 lines on %zu nodes, %zu SKUs (seeded); %ld solved with the "
	       "MIP\n",
	       orders, N, snap->nskus, mips);
	printf("%-10s %14s %10s %14s %10s\n", "plan", "total cost", "fill", "cost/unit",
	       "shipments");
	printf("%-10s %14.2f %9.2f%% %14.4f %10ld\n", "optimal", opt_cost,
	       100.0 * (double)opt_fill / (double)want, opt_cost / (double)opt_fill, opt_ships);
	printf("%-10s %14.2f %9.2f%% %14.4f %10ld\n", "greedy", gr_cost,
	       100.0 * (double)gr_fill / (double)want, gr_cost / (double)gr_fill, gr_ships);
	printf("orders with the same fill: %ld; there the optimum costs %.2f vs greedy %.2f "
	       "(%.2f%% less), cheaper on %ld\n",
	       same_fill, same_opt, same_gr, 100.0 * (same_gr - same_opt) / same_gr, cheaper);
	printf("optimum worse than greedy (less fill, or more cost at equal fill): %ld orders\n",
	       worse);
	printf("solver time in process: mean %.3f ms, max %.3f ms\n", opt_ms / (double)orders,
	       worst_ms);
	free(atp);
	free(cap);
	flow_snapshot_put(snap);
	flow_snapshot_drop();
	slv_thread_release();
	store_close(st);
	return infeasible ? 1 : 0;
}

/*
 * `fulcrum-bench waves --db FILE [--sizes 100,500,2000] [--time-ms N]`: random waves of
 * 1-5-line orders drawn from the popular SKUs (so that orders compete for stock), each
 * decided (a) as a wave, (b) one by one in sequence with the exact single-order solver on
 * the stock that remains, (c) one by one with the greedy baseline. Read only.
 */
static int bench_waves(int argc, char **argv)
{
	const char *db = NULL, *sizes = "100,500,2000";
	int time_ms = FLOW_WAVE_MS;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "waves") == 0)
			continue;
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			sizes = argv[++i];
		else if (strcmp(argv[i], "--time-ms") == 0 && i + 1 < argc)
			time_ms = atoi(argv[++i]);
		else
			db = NULL, i = argc;
	}
	if (!db || time_ms < 1) {
		fprintf(stderr, "usage: fulcrum-bench waves --db FILE [--sizes 100,500,2000] "
				"[--time-ms N]\n");
		return 2;
	}
	struct store *st;
	struct fl_err err = {0};
	struct flow_snapshot *snap = bench_open(db, &st);
	if (!snap)
		return 1;
	int N = (int)snap->nnodes, G = snap->nskus < 300 ? (int)snap->nskus : 300, rc = 0;
	const char **gids = malloc(sizeof(char *) * (size_t)G);
	long *atp = malloc(sizeof(long) * (size_t)N * (size_t)G),
	     *cap = malloc(sizeof(long) * (size_t)N);
	long *slice = malloc(sizeof(long) * (size_t)N * 5);
	for (int g = 0; g < G; g++)
		gids[g] = snap->skus[g].id;
	if (store_stock_read(st, gids, G, snap->nodes, N, atp, cap, &err)) {
		fprintf(stderr, "fulcrum: bench: %s\n", err.msg);
		rc = 1;
		goto done;
	}
	printf("%-6s %-12s %9s %12s %8s %10s %9s %10s\n", "orders", "method", "time ms", "cost",
	       "fill %", "shipments", "gap %", "bound");
	for (const char *p = sizes; *p;) {
		int O = atoi(p);
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
		if (O < 1 || O > SLV_WAVE_MAX_ORDERS)
			continue;
		rs = 20261123u + (uint64_t)O;
		struct slv_item *items = calloc((size_t)O * 5, sizeof(*items));
		int *sk = calloc((size_t)O * 5, sizeof(int)), *nk = calloc((size_t)O, sizeof(int));
		double *lat = calloc((size_t)O, sizeof(double)),
		       *lon = calloc((size_t)O, sizeof(double));
		int *prom = calloc((size_t)O, sizeof(int));
		struct slv_candidates *cand = calloc((size_t)O, sizeof(*cand));
		struct slv_wave_order *wo = calloc((size_t)O, sizeof(*wo));
		long want = 0;
		static const int promises[] = {-1, 2, 3, 5};
		for (int i = 0; i < O; i++) {
			int K = 1 + (int)(rnd() * 5);
			for (int k = 0; k < K; k++) {
				int g = (int)(rnd() * G);
				bool dup = false;
				for (int j = 0; j < nk[i]; j++)
					dup |= sk[i * 5 + j] == g;
				if (dup)
					continue;
				sk[i * 5 + nk[i]] = g;
				items[i * 5 + nk[i]] = (struct slv_item){1 + (long)(rnd() * 3),
									 snap->skus[g].weight_kg,
									 snap->skus[g].hazmat};
				want += items[i * 5 + nk[i]].qty;
				nk[i]++;
			}
			lat[i] = 30 + rnd() * 15;
			lon[i] = -120 + rnd() * 45;
			prom[i] = promises[(int)(rnd() * 4)];
		}
		struct slv_network net = {snap->nodes,	     N,		  snap->zones,
					  (int)snap->nzones, snap->rates, (int)snap->nrates};
		/* candidates against the full shared stock */
		for (int i = 0; i < O; i++) {
			for (int n = 0; n < N; n++)
				for (int k = 0; k < nk[i]; k++)
					slice[n * nk[i] + k] = atp[n * G + sk[i * 5 + k]];
			struct slv_order so = {lat[i], lon[i],	      prom[i], true,
					       0,      FLOW_SOLVE_MS, nk[i],   &items[i * 5]};
			slv_candidates_build(&net, &so, slice, cap, NULL, &cand[i], &err);
			wo[i] = (struct slv_wave_order){&cand[i], &sk[i * 5], false};
		}
		/* (a) the wave */
		struct slv_wave w = {O, wo, N, G, atp, cap, time_ms, flow_threads_default()};
		struct slv_wave_result wr;
		if (slv_wave_solve(&w, &wr, &err)) {
			fprintf(stderr, "fulcrum: bench: %s\n", err.msg);
			rc = 1;
		} else {
			long ships = 0;
			for (int i = 0; i < O; i++)
				ships += wr.plans[i].status == SLV_EMPTY ? 0
									 : wr.plans[i].nshipments;
			printf("%-6d %-12s %9.1f %12.2f %8.2f %10ld %9.3f %10.2f\n", O, "wave",
			       wr.time_ms, wr.cost, 100.0 * (double)wr.filled / (double)want, ships,
			       100 * wr.gap, wr.bound);
			slv_wave_result_release(&wr, O);
		}
		/* (b) one by one in sequence, exact per order; (c) greedy per order */
		for (int method = 0; method < 2; method++) {
			long *rem = malloc(sizeof(long) * (size_t)N * (size_t)G);
			long *remcap = malloc(sizeof(long) * (size_t)N);
			memcpy(rem, atp, sizeof(long) * (size_t)N * (size_t)G);
			memcpy(remcap, cap, sizeof(long) * (size_t)N);
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			double cost = 0;
			long fill = 0, ships = 0;
			for (int i = 0; i < O; i++) {
				struct slv_candidates *cd = &cand[i];
				int K = nk[i];
				for (int pn = 0; pn < cd->prob.nnodes; pn++) {
					int n = cd->node_of[pn];
					for (int k = 0; k < K; k++)
						cd->atp[pn * K + k] = rem[n * G + sk[i * 5 + k]];
					cd->pnodes[pn].cap = remcap[n];
				}
				long *used = calloc((size_t)cd->prob.nnodes * (size_t)K + 1,
						    sizeof(long));
				if (method == 0) {
					struct slv_result r;
					if (slv_source(&cd->prob, &r, &err) == 0 &&
					    r.status != SLV_EMPTY) {
						cost += r.cost, fill += r.filled,
							ships += r.nshipments;
						for (int s = 0; s < r.nshipments; s++)
							for (int k = 0; k < K; k++)
								used[cd->prob.options[r.ship[s]
											      .option]
										     .node *
									     K +
								     k] += r.ship[s].qty[k];
					}
					slv_result_release(&r);
				} else {
					struct greedy gr;
					greedy_plan_used(cd, &gr, used);
					cost += gr.cost, fill += gr.filled, ships += gr.ships;
				}
				for (int pn = 0; pn < cd->prob.nnodes; pn++) {
					int n = cd->node_of[pn];
					for (int k = 0; k < K; k++) {
						rem[n * G + sk[i * 5 + k]] -= used[pn * K + k];
						if (remcap[n] != FL_UNLIMITED)
							remcap[n] -= used[pn * K + k];
					}
				}
				free(used);
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			printf("%-6d %-12s %9.1f %12.2f %8.2f %10ld %9s %10s\n", O,
			       method == 0 ? "sequential" : "greedy", ms, cost,
			       100.0 * (double)fill / (double)want, ships, "", "");
			free(rem), free(remcap);
		}
		for (int i = 0; i < O; i++)
			slv_candidates_release(&cand[i]);
		free(items), free(sk), free(nk), free(lat), free(lon), free(prom), free(cand),
			free(wo);
	}
done:
	free(gids), free(atp), free(cap), free(slice);
	flow_snapshot_put(snap);
	flow_snapshot_drop();
	slv_thread_release();
	store_close(st);
	return rc;
}

/*
 * `fulcrum-bench rebalance --nodes N --skus K [--coupled]`: a generated network (nodes
 * on a 1,000 km square, each linked to its 12 nearest; stock and targets drawn so that
 * about a third of the positions are short) solved by the transfer model and by the
 * greedy baseline. Coupled: lanes get capacities and fixed costs.
 */
static int bench_rebalance(int argc, char **argv)
{
	int N = 200, K = 20000, tl = 60000;
	bool coupled = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			N = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--skus") && i + 1 < argc)
			K = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--time-limit-ms") && i + 1 < argc)
			tl = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--coupled"))
			coupled = true;
		else
			N = 0, i = argc;
	}
	if (N < 2 || N > 2000 || K < 1 || K > 100000 || tl < 1) {
		fprintf(stderr, "usage: fulcrum-bench rebalance [--nodes 200] [--skus 20000] "
				"[--coupled] [--time-limit-ms N]\n");
		return 2;
	}
	enum { NEAR = 12 };
	double *x = malloc(sizeof(double) * N), *y = malloc(sizeof(double) * N);
	struct slv_rb_lane *lanes = malloc(sizeof(*lanes) * (size_t)N * NEAR);
	long *a = malloc(sizeof(long) * (size_t)N * K), *t = malloc(sizeof(long) * (size_t)N * K);
	if (!x || !y || !lanes || !a || !t) {
		fprintf(stderr, "fulcrum: bench rebalance: out of memory\n");
		return 1;
	}
	rs = 20261123;
	for (int i = 0; i < N; i++)
		x[i] = 1000 * rnd(), y[i] = 1000 * rnd();
	int L = 0;
	for (int i = 0; i < N; i++) {
		bool used[2048] = {false};
		used[i] = true;
		for (int n = 0; n < NEAR && n < N - 1; n++) {
			int best = -1;
			double bd = INFINITY;
			for (int j = 0; j < N; j++) {
				const double d = hypot(x[i] - x[j], y[i] - y[j]);
				if (!used[j] && d < bd)
					bd = d, best = j;
			}
			used[best] = true;
			lanes[L++] = (struct slv_rb_lane){
				i, best, 0.2 + bd / 500, coupled ? 20 + bd / 20 : 0,
				coupled ? 200 + (long)(rnd() * 800) : FL_UNLIMITED};
		}
	}
	for (size_t ik = 0; ik < (size_t)N * K; ik++) {
		const double u = rnd();
		a[ik] = u < 0.5 ? 0 : (long)(rnd() * 8);
		t[ik] = rnd() < 0.6 ? 0 : (long)(rnd() * 6);
	}
	struct slv_rb_problem p = {.nnodes = N,
				   .nskus = K,
				   .nlanes = L,
				   .lanes = lanes,
				   .avail = a,
				   .target = t,
				   .penalty = 25,
				   .time_limit_ms = tl,
				   .threads = flow_threads_default()};
	struct slv_rb_result r, g;
	struct fl_err err = {0};
	if (slv_rebalance(&p, &r, &err) || slv_rebalance_greedy(&p, &g, &err)) {
		fprintf(stderr, "fulcrum: bench rebalance: %s\n", err.msg);
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%d nodes x %d SKUs, %d lanes, %s: %s in %.0f ms (%s), gap %.2f%%, cost %.0f; "
	       "greedy %.0f in %.0f ms; optimised / greedy = %.3f; %zu transfers; peak RSS %.0f "
	       "MiB\n",
	       N, K, L, coupled ? "coupled (capacities + fixed costs)" : "uncoupled",
	       r.optimal ? "optimal" : "feasible", r.ms, r.method, 100 * r.gap, r.total, g.total,
	       g.ms, g.total > 0 ? r.total / g.total : 1, r.nt, (double)ru.ru_maxrss / 1024);
	slv_rb_release(&r);
	slv_rb_release(&g);
	slv_thread_release();
	free(x), free(y), free(lanes), free(a), free(t);
	return 0;
}

static double bench_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_dbl(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static long bench_atp(void *ctx, const char *node, const char *sku)
{
	(void)ctx;
	return (long)((strlen(node) * 31 + strlen(sku) * 7 + (unsigned char)sku[strlen(sku) - 1]) %
		      12);
}

/*
 * `fulcrum-bench rules --db FILE [--orders N]`: the active rule sets' before_sourcing on
 * random demo orders, in process: per decision (all sets), mean, p50, p99 in µs.
 */
static int bench_rules(int argc, char **argv)
{
	const char *db = NULL;
	long orders = 20000;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--orders") && i + 1 < argc)
			orders = strtol(argv[++i], NULL, 10);
		else
			db = NULL, i = argc;
	}
	if (!db || orders < 1 || orders > 10000000) {
		fprintf(stderr, "usage: fulcrum-bench rules --db FILE [--orders N]\n");
		return 2;
	}
	struct store *st;
	struct flow_snapshot *snap = bench_open(db, &st);
	if (!snap)
		return 1;
	struct fl_err err = {0};
	struct flow_rules *sets = flow_rules_get(st, &err);
	struct rl_engine *e = sets ? flow_rules_engine(snap, &err) : NULL;
	double *us = malloc(sizeof(double) * (size_t)orders);
	if (!sets || !e || !us || !sets->n) {
		fprintf(stderr, "fulcrum: bench rules: %s\n",
			sets && !sets->n ? "no active rule set"
			: err.msg[0]	 ? err.msg
					 : "out of memory");
		free(us);
		flow_rules_put(sets);
		flow_snapshot_put(snap);
		store_close(st);
		return 1;
	}
	rs = 20261123;
	size_t effects = 0, failed = 0;
	const struct rl_host host = {bench_atp, NULL};
	for (long i = 0; i < orders; i++) {
		struct rl_line lines[5];
		const int n = 1 + (int)(rnd() * 5);
		long units = 0;
		for (int k = 0; k < n; k++) {
			const struct fl_sku *s = &snap->skus[(size_t)(rnd() * (double)snap->nskus)];
			lines[k] = (struct rl_line){s->id, 1 + (long)(rnd() * 3), s->weight_kg,
						    s->hazmat};
			units += lines[k].qty;
		}
		const struct rl_order o = {"B", n,    lines, 30 + rnd() * 15, -120 + rnd() * 45,
					   5,	units};
		struct rl_effects fx = {0};
		const double t0 = bench_now_ms();
		for (int r = 0; r < sets->n; r++)
			if (!flow_rules_ensure(e, &sets->v[r], &fx))
				rl_before_sourcing(e, sets->v[r].key, &o, &host, &fx);
		us[i] = (bench_now_ms() - t0) * 1000;
		effects += fx.n;
		for (size_t k = 0; k < fx.n; k++)
			failed += fx.v[k].kind == RL_FAILED;
		rl_effects_release(&fx);
	}
	double sum = 0;
	for (long i = 0; i < orders; i++)
		sum += us[i];
	qsort(us, (size_t)orders, sizeof(double), cmp_dbl);
	printf("%ld orders, rule sets %s: before_sourcing per decision mean %.1f us, p50 %.1f us, "
	       "p99 %.1f us; %.1f effects per decision; %zu rule failures\n",
	       orders, sets->versions, sum / (double)orders, us[orders / 2],
	       us[(size_t)((double)orders * 0.99)], (double)effects / (double)orders, failed);
	free(us);
	flow_rules_put(sets);
	flow_rules_drop();
	flow_rules_thread_release();
	flow_snapshot_put(snap);
	flow_snapshot_drop();
	store_close(st);
	return 0;
}

/* fulcrum-bench: the benchmarks' own binary, outside the product (bench/run.sh runs it). */
int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *what = argc > 1 ? argv[1] : "";
	if (!strcmp(what, "waves"))
		return bench_waves(argc, argv);
	if (!strcmp(what, "rebalance"))
		return bench_rebalance(argc, argv);
	if (!strcmp(what, "rules"))
		return bench_rules(argc, argv);
	if (!strcmp(what, "sourcing"))
		return bench_sourcing(argc, argv);
	fprintf(stderr, "usage: fulcrum-bench sourcing|waves|rebalance|rules --db FILE [...]\n");
	return 2;
}
