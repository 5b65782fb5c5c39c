/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The wave flow: many orders decided together under shared stock and capacity. Each
 * order is parsed, ruled and answered as a single decision is (flow/order.c); the wave
 * solver (solver/wave*.c) plans them jointly; every decision is logged, and with reserve
 * reserved, in one transaction, retried on fresh stock when it moved.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/internal.h"

struct wave {
	struct store *st;
	const json_t *body, *jorders;
	bool rules_fail, reserve;
	int time_limit;
	struct flow_snapshot *snap;
	struct flow_rules *rules;
	struct rl_engine *eng;
	struct store_outage *outages;
	size_t noutages;
	int O, G, N;			/* orders, distinct SKUs, nodes */
	struct flow__order *ords;	/* O */
	double *own_split;		/* O: each order's split penalty before rules */
	int *skus_of;			/* O × FLOW_MAX_LINES: a line's index among the G SKUs */
	const char **gids;		/* G: the wave's SKU ids */
	long *atp, *capl, *slice;	/* nodes × G, nodes, nodes × FLOW_MAX_LINES */
	struct slv_candidates *cand;	/* O */
	struct slv_wave_order *worders; /* O */
	struct flow__adjust *adj;	/* O: outages and each order's rules' effects */
	struct rl_effects *fx;		/* O */
	struct slv_wave_result wr;
};

static void wave_release(struct wave *w)
{
	slv_wave_result_release(&w->wr, w->O);
	for (int i = 0; i < w->O; i++) {
		if (w->cand)
			slv_candidates_release(&w->cand[i]);
		if (w->adj)
			flow__adjust_release(&w->adj[i]);
		if (w->fx)
			rl_effects_release(&w->fx[i]);
	}
	free(w->outages), free(w->adj), free(w->fx), free(w->own_split);
	free(w->ords), free(w->cand), free(w->worders), free(w->gids), free(w->skus_of);
	free(w->atp), free(w->capl), free(w->slice);
	flow_rules_put(w->rules);
	flow_snapshot_put(w->snap);
}

static int cmp_order_id(const void *a, const void *b)
{
	return strcmp((*(const struct flow__order *const *)a)->order_id,
		      (*(const struct flow__order *const *)b)->order_id);
}

/* The wave's own members: orders (count only), time_limit_ms, reserve. */
static int wave_options(struct wave *w, struct fl_err *err)
{
	static const char *const known[] = {"orders", "time_limit_ms", "reserve", NULL};
	const json_t *v;
	int rc;
	if ((rc = flow__strict(w->body, "", known, err)))
		return rc;
	w->jorders = json_object_get(w->body, "orders");
	if (!json_is_array(w->jorders) || json_array_size(w->jorders) == 0)
		return fl_err_set(err, FL_EINVAL, "orders: required, a non-empty array");
	if (json_array_size(w->jorders) > SLV_WAVE_MAX_ORDERS)
		return fl_err_set(err, FL_EINVAL, "orders: at most %d orders in a wave",
				  SLV_WAVE_MAX_ORDERS);
	w->time_limit = FLOW_WAVE_MS;
	v = json_object_get(w->body, "time_limit_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > FLOW_WAVE_MS_MAX)
			return fl_err_set(err, FL_EINVAL, "time_limit_ms: an integer from 1 to %d",
					  FLOW_WAVE_MS_MAX);
		w->time_limit = (int)json_integer_value(v);
	}
	return flow__get_bool(w->body, "reserve", false, &w->reserve, err);
}

static int wave_alloc(struct wave *w, struct fl_err *err)
{
	const size_t O = (size_t)w->O, N = (size_t)w->N, S = w->snap->nskus;
	w->ords = calloc(O, sizeof(*w->ords));
	w->cand = calloc(O, sizeof(*w->cand));
	w->worders = calloc(O, sizeof(*w->worders));
	w->gids = calloc(S + 1, sizeof(*w->gids));
	w->skus_of = calloc(O * FLOW_MAX_LINES, sizeof(int));
	w->adj = calloc(O, sizeof(*w->adj));
	w->fx = calloc(O, sizeof(*w->fx));
	w->own_split = calloc(O, sizeof(double));
	w->capl = malloc(sizeof(long) * N + 1);
	w->slice = malloc(sizeof(long) * N * FLOW_MAX_LINES + 1);
	if (!w->ords || !w->cand || !w->worders || !w->gids || !w->skus_of || !w->adj || !w->fx ||
	    !w->own_split || !w->capl || !w->slice)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	return 0;
}

/* Every order parsed; the wave's distinct SKUs numbered; order ids unique. */
static int wave_orders(struct wave *w, struct fl_err *err)
{
	int *gidx = malloc(sizeof(int) * (w->snap->nskus + 1));
	const struct flow__order **sorted = calloc((size_t)w->O, sizeof(*sorted));
	int rc = 0;
	if (!gidx || !sorted) {
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < w->snap->nskus; i++)
		gidx[i] = -1;
	for (int i = 0; i < w->O; i++) {
		struct fl_err inner = {0};
		const json_t *jo = json_array_get(w->jorders, (size_t)i);
		if (!json_is_object(jo)) {
			rc = fl_err_set(err, FL_EINVAL, "orders[%d]: must be an order object", i);
			goto out;
		}
		if ((rc = flow__order_parse(jo, w->snap, &w->ords[i], &inner))) {
			fl_err_set(err, rc, "orders[%d].%s", i, inner.msg);
			goto out;
		}
		w->own_split[i] = w->ords[i].split_penalty;
		sorted[i] = &w->ords[i];
		for (int k = 0; k < w->ords[i].nitems; k++) {
			const size_t s = (size_t)(w->ords[i].sku[k] - w->snap->skus);
			if (gidx[s] < 0) {
				gidx[s] = w->G;
				w->gids[w->G++] = w->ords[i].sku[k]->id;
			}
			w->skus_of[i * FLOW_MAX_LINES + k] = gidx[s];
		}
	}
	qsort(sorted, (size_t)w->O, sizeof(*sorted), cmp_order_id);
	for (int i = 1; i < w->O; i++)
		if (strcmp(sorted[i]->order_id, sorted[i - 1]->order_id) == 0) {
			rc = fl_err_set(err, FL_EINVAL, "orders: order_id '%s' appears twice",
					sorted[i]->order_id);
			goto out;
		}
	w->atp = malloc(sizeof(long) * (size_t)w->N * (size_t)w->G + 1);
	if (!w->atp)
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
out:
	free(gidx);
	free(sorted);
	return rc;
}

static int wave_load(struct wave *w, struct fl_err *err)
{
	int rc;
	if (!(w->snap = flow_snapshot_get(w->st, err)))
		return err && err->status ? err->status : FL_EDB;
	w->N = (int)w->snap->nnodes;
	if (!(w->rules = flow_rules_get(w->st, err)))
		return err && err->status ? err->status : FL_EDB;
	if ((rc = store_outages(w->st, &w->outages, &w->noutages, err)))
		return rc;
	if (w->rules->n && !(w->eng = flow_rules_engine(w->snap, err))) {
		fl_err_prefix(err, "rules");
		return err && err->status ? err->status : FL_ERULE;
	}
	if ((rc = wave_options(w, err)))
		return rc;
	w->O = (int)json_array_size(w->jorders);
	if ((rc = wave_alloc(w, err)))
		return rc;
	return wave_orders(w, err);
}

/* Order i's stock out of the wave's (nodes × the wave's SKUs) into w->slice (nodes × lines). */
static void wave_slice(struct wave *w, int i)
{
	const struct flow__order *o = &w->ords[i];
	const int *skus = &w->skus_of[i * FLOW_MAX_LINES];
	for (int n = 0; n < w->N; n++)
		for (int k = 0; k < o->nitems; k++)
			w->slice[n * o->nitems + k] =
				w->atp[(size_t)n * (size_t)w->G + (size_t)skus[k]];
}

/* Each order on the stock as read now: outages and its rules' before_sourcing, candidates. */
static int wave_candidates(struct wave *w, struct fl_err *err)
{
	const struct flow__rules_opts ro = {NULL, NULL, w->rules_fail};
	int rc;
	if ((rc = store_stock_read(w->st, w->gids, w->G, w->snap->nodes, w->N, w->atp, w->capl,
				   err)))
		return rc;
	for (int i = 0; i < w->O; i++) {
		struct fl_err inner = {0};
		struct flow__order_rules orl;
		wave_slice(w, i);
		rl_effects_release(&w->fx[i]);
		w->fx[i] = (struct rl_effects){0};
		if ((rc = flow__rules_before(w->rules, w->eng, w->snap, &w->ords[i],
					     w->own_split[i], w->slice, w->outages, w->noutages,
					     &ro, &orl, &w->adj[i], &w->fx[i], &inner)) ||
		    (rc = flow__candidates(w->snap, &w->ords[i], w->slice, w->capl,
					   w->adj[i].any ? &w->adj[i].adj : NULL, &w->cand[i],
					   &inner)))
			return fl_err_set(err, rc, "orders[%d]: %s", i, inner.msg);
		w->worders[i] = (struct slv_wave_order){
			&w->cand[i], &w->skus_of[i * FLOW_MAX_LINES], !w->ords[i].allow_partial};
	}
	return 0;
}

/* Every order's after_sourcing on its plan: 1 when one rejected (its candidates are
 * rebuilt without the rejected nodes), 0 when none did, or an error. */
static int wave_rules_after(struct wave *w, struct fl_err *err)
{
	bool again = false;
	for (int i = 0; i < w->O; i++) {
		struct fl_err inner = {0};
		struct flow__order_rules orl;
		if (w->wr.plans[i].status == SLV_EMPTY)
			continue;
		wave_slice(w, i);
		flow__order_rules_init(&orl, w->snap, &w->ords[i], w->slice);
		int rc = flow__rules_after(w->rules, w->eng, w->snap, &w->cand[i], &w->wr.plans[i],
					   &orl, &w->adj[i], &w->fx[i]);
		if (rc < 0)
			return fl_err_set(err, rc, "rules: out of memory");
		if (rc == 0)
			continue;
		again = true;
		if ((rc = flow__candidates(w->snap, &w->ords[i], w->slice, w->capl, &w->adj[i].adj,
					   &w->cand[i], &inner)))
			return fl_err_set(err, rc, "orders[%d]: %s", i, inner.msg);
	}
	return again;
}

/* Solve the wave; after_sourcing may reject plans, and the wave is solved again. */
static int wave_solve(struct wave *w, struct fl_err *err)
{
	for (int rejects = 0;; rejects++) {
		struct slv_wave sw = {w->O,   w->worders, w->N,		 w->G,
				      w->atp, w->capl,	  w->time_limit, flow_threads_default()};
		int rc;
		slv_wave_result_release(&w->wr, w->O);
		if ((rc = slv_wave_solve(&sw, &w->wr, err)))
			return rc;
		if (!w->rules->n || rejects == FLOW_RULE_REJECTS)
			return 0;
		if ((rc = wave_rules_after(w, err)) <= 0)
			return rc;
	}
}

/* The records of one attempt: every decision's answer, request and reservation rows. */
struct wave_records {
	struct store_decision *ds;
	struct store_alloc **al;
	int *nal;
	char **texts, **reqs;
	char (*ids)[20];
	unsigned char (*hashes)[32];
	json_t *decisions;
	long units, ships;
};

static void records_release(struct wave_records *r, int O)
{
	for (int i = 0; i < O; i++) {
		if (r->al)
			free(r->al[i]);
		if (r->texts)
			free(r->texts[i]);
		if (r->reqs)
			free(r->reqs[i]);
	}
	free(r->ds), free(r->al), free(r->nal), free(r->texts), free(r->reqs), free(r->ids);
	free(r->hashes);
	json_decref(r->decisions);
}

/* Order i's answer and record. */
static int wave_record_one(struct wave *w, struct wave_records *r, int i, struct fl_err *err)
{
	const struct slv_result *p = &w->wr.plans[i];
	const struct flow__order *o = &w->ords[i];
	const char *dstatus;
	snprintf(r->ids[i], sizeof(r->ids[i]), "d_");
	flow_random_hex(r->ids[i] + 2, 8);
	/* an order that wants every unit or none, and got none though some were there */
	bool refuse = false;
	for (int n = 0;
	     !o->allow_partial && p->status == SLV_EMPTY && n < w->cand[i].prob.nnodes * o->nitems;
	     n++)
		refuse |= w->cand[i].atp[n] > 0;
	wave_slice(w, i); /* the order's stock at every node: its reasons are judged by it */
	json_t *a =
		flow__answer(o, w->snap, &w->cand[i], p, refuse, r->ids[i], w->slice, &w->adj[i],
			     w->fx[i].n ? flow_effects_json(w->rules, &w->fx[i]) : NULL, &dstatus);
	if (!a || json_array_append_new(r->decisions, a))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	r->texts[i] = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15));
	r->reqs[i] =
		json_dumps(json_array_get(w->jorders, (size_t)i), JSON_COMPACT | JSON_SORT_KEYS);
	if (!r->texts[i] || !r->reqs[i])
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	flow_sha256(r->reqs[i], strlen(r->reqs[i]), r->hashes[i]);
	int rc = flow__plan_allocs(w->snap, o, &w->cand[i], p, &r->al[i], &r->nal[i], err);
	if (rc)
		return rc;
	for (int s = 0; p->status != SLV_EMPTY && s < p->nshipments; s++)
		r->units += p->ship[s].units, r->ships++;
	r->ds[i] = (struct store_decision){
		.id = r->ids[i],
		.order_id = o->order_id,
		.request_hash = r->hashes[i],
		.request = r->reqs[i],
		.response = r->texts[i],
		.status = dstatus,
		.solver_status = w->wr.status == SLV_OPTIMAL ? "optimal" : "feasible",
		.solver_ms = w->wr.time_ms,
		.rules_version = w->rules->n ? w->rules->versions : NULL,
		.created_at = (int64_t)time(NULL)};
	return 0;
}

/* Answers and records: every decision of the wave in one transaction. */
static int wave_record(struct wave *w, struct wave_records *r, const char *wave_id,
		       struct fl_err *err)
{
	const size_t O = (size_t)w->O;
	r->ds = calloc(O, sizeof(*r->ds));
	r->al = calloc(O, sizeof(*r->al));
	r->nal = calloc(O, sizeof(int));
	r->texts = calloc(O, sizeof(char *));
	r->reqs = calloc(O, sizeof(char *));
	r->ids = calloc(O, sizeof(*r->ids));
	r->hashes = calloc(O, sizeof(*r->hashes));
	r->decisions = json_array();
	if (!r->ds || !r->al || !r->nal || !r->texts || !r->reqs || !r->ids || !r->hashes ||
	    !r->decisions)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	int rc;
	for (int i = 0; i < w->O; i++)
		if ((rc = wave_record_one(w, r, i, err)))
			return rc;
	const struct store_wave sw = {wave_id,
				      w->wr.status == SLV_OPTIMAL ? "optimal" : "feasible",
				      w->wr.cost,
				      w->wr.bound,
				      w->wr.gap,
				      w->wr.time_ms,
				      (int64_t)time(NULL),
				      w->O,
				      r->ds,
				      (const struct store_alloc *const *)r->al,
				      r->nal};
	return store_wave_record(w->st, &sw, w->reserve, err);
}

/* Each recorded decision's reservation as the store now holds it. */
static int wave_states(struct wave *w, struct wave_records *r, struct fl_err *err)
{
	json_t *a;
	size_t i;
	json_array_foreach(r->decisions, i, a)
	{
		json_t *res = flow__reservation_json(
			w->st, json_string_value(json_object_get(a, "decision_id")), err);
		if (!res)
			return err && err->status ? err->status : FL_EDB;
		json_object_set_new(a, "reservation", res);
		flow__money_view(a); /* recorded exact; answered to the cent */
	}
	return 0;
}

static json_t *wave_answer(struct wave *w, struct wave_records *r, const char *wave_id)
{
	long want = 0;
	for (int i = 0; i < w->O; i++)
		want += flow__order_units(&w->ords[i]);
	json_t *a = json_pack(
		"{s:s, s:O, s:{s:f, s:I, s:I, s:I}, s:{s:s, s:f, s:f, s:I, s:i, s:f}}", "wave_id",
		wave_id, "decisions", r->decisions, "cost", "total", round(w->wr.cost * 100) / 100,
		"units_filled", (json_int_t)r->units, "units_ordered", (json_int_t)want,
		"shipments", (json_int_t)r->ships, "solver", "status",
		w->wr.status == SLV_OPTIMAL ? "optimal" : "feasible", "gap", w->wr.gap, "bound",
		round(w->wr.bound * 1e6) / 1e6, "fill_bound", (json_int_t)w->wr.fill_bound,
		"iterations", w->wr.iterations, "time_ms", round(w->wr.time_ms * 1000) / 1000);
	return a;
}

int flow_wave(struct store *st, const json_t *body, bool rules_fail, json_t **answer,
	      struct fl_err *err)
{
	struct wave w = {.st = st, .body = body, .rules_fail = rules_fail};
	int rc = wave_load(&w, err);

	*answer = NULL;
	for (int attempt = 0; !rc; attempt++) {
		struct wave_records r = {0};
		char wave_id[20] = "w_";
		flow_random_hex(wave_id + 2, 8);
		if (!(rc = wave_candidates(&w, err)) && !(rc = wave_solve(&w, err)))
			rc = wave_record(&w, &r, wave_id, err);
		if (!rc)
			rc = wave_states(&w, &r, err);
		if (!rc && !(*answer = wave_answer(&w, &r, wave_id)))
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
		records_release(&r, w.O);
		if (!flow__retry(rc, attempt)) /* else the stock moved: read it again */
			break;
		rc = 0;
	}
	wave_release(&w);
	return rc;
}
