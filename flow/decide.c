/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fulfil-an-order flow (ARCHITECTURE.md): validate → reference data from the
 * snapshot, stock read fresh → the active rule sets' before_sourcing (exclusions,
 * penalties, a required node, the split penalty) and node outages → candidates and the
 * exact sourcing model → after_sourcing (a rejection re-solves without the rejected
 * nodes, at most FLOW_RULE_REJECTS times) → the answer with its explanation and every
 * rule effect → the decision recorded (and its units reserved) in one transaction, keyed
 * by order_id when reserving. The HTTP handler and `fulcrum decide` both call flow_decide.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/internal.h"

/* Everything one decision holds from its start to its answer. */
struct decide {
	struct store *st;
	const json_t *body;
	const struct flow_decide_opts *opts;
	struct flow_snapshot *snap;
	struct flow_rules *own_rules; /* the active sets, when opts brings none */
	const struct flow_rules *rs;
	struct rl_engine *eng;
	struct flow__order o;
	double own_split; /* the order's split penalty, before any rule's */
	struct store_outage *outages;
	size_t noutages;
	char *request; /* the canonical request: same body (any key order), same hash */
	unsigned char hash[32];
	long *atp, *cap_left;
	struct flow__adjust adj;
	char *existing; /* a stored answer to replay */
};

static void decide_release(struct decide *d)
{
	free(d->outages);
	flow__adjust_release(&d->adj);
	free(d->atp);
	free(d->cap_left);
	free(d->existing);
	free(d->request);
	flow_rules_put(d->own_rules);
	flow_snapshot_put(d->snap);
}

/* Parse the order and load what deciding it needs: rules, outages, buffers. */
static int decide_load(struct decide *d, struct fl_err *err)
{
	int rc;
	if (!(d->snap = flow_snapshot_get(d->st, err)))
		return err && err->status ? err->status : FL_EDB;
	if ((rc = flow__order_parse(d->body, d->snap, &d->o, err)))
		return rc;
	d->own_split = d->o.split_penalty;
	if (d->opts->dry_run)
		d->o.reserve = false;
	if (!d->opts->rules && !(d->own_rules = flow_rules_get(d->st, err)))
		return err && err->status ? err->status : FL_EDB;
	d->rs = d->opts->rules ? d->opts->rules : d->own_rules;
	if ((rc = store_outages(d->st, &d->outages, &d->noutages, err)))
		return rc;
	d->request = json_dumps(d->body, JSON_COMPACT | JSON_SORT_KEYS);
	const size_t N = d->snap->nnodes;
	d->atp = malloc(sizeof(long) * (N * (size_t)d->o.nitems + 1));
	d->cap_left = malloc(sizeof(long) * (N + 1));
	if (!d->request || !d->atp || !d->cap_left || flow__adjust_init(&d->adj, d->snap))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	flow_sha256(d->request, strlen(d->request), d->hash);
	if (d->rs->n && d->opts->engine) /* its own state: nothing it loads touches the live one */
		d->eng = d->opts->engine;
	else if (d->rs->n && !(d->eng = flow_rules_engine(d->snap, err))) {
		fl_err_prefix(err, "rules");
		return err && err->status ? err->status : FL_ERULE;
	}
	return 0;
}

/* A reserving order seen before with the same body: its stored answer (1), or 0. */
static int decide_replayed(struct decide *d, struct fl_err *err)
{
	if (!d->o.reserve || d->opts->supersedes) /* a reroute decides anew */
		return 0;
	const int rc = store_order_key_get(d->st, d->o.order_id, d->hash, &d->existing, err);
	return rc == 0 ? 1 : rc == FL_ENOTFOUND ? 0 : rc;
}

/* One plan on the stock as read now: rules before, solve, rules after (re-solves). */
static int decide_plan(struct decide *d, bool first, struct slv_candidates *cand,
		       struct slv_result *res, struct rl_effects *fx, struct fl_err *err)
{
	const char **ids = malloc(sizeof(*ids) * (size_t)d->o.nitems);
	const size_t N = d->snap->nnodes;
	int rc;
	if (!ids)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	for (int k = 0; k < d->o.nitems; k++)
		ids[k] = d->o.sku[k]->id;
	rc = store_stock_read(d->st, ids, d->o.nitems, d->snap->nodes, (int)N, d->atp, d->cap_left,
			      err);
	free(ids);
	if (rc)
		return rc;
	const struct flow__rules_opts ro = {d->opts->exclude_node, d->opts->exclude_carrier,
					    d->opts->rules_fail};
	struct flow__order_rules orl;
	if ((rc = flow__rules_before(d->rs, d->eng, d->snap, &d->o, d->own_split, d->atp,
				     d->outages, d->noutages, &ro, &orl, &d->adj, fx, err)))
		return rc;
	for (int rejects = 0;; rejects++) {
		if ((rc = flow__solve(d->snap, &d->o, first && !rejects ? d->opts->lp_path : NULL,
				      d->adj.any ? &d->adj.adj : NULL, d->atp, d->cap_left, cand,
				      res, err)))
			return rc;
		if (!d->rs->n || rejects == FLOW_RULE_REJECTS || !res->nshipments)
			return 0;
		rc = flow__rules_after(d->rs, d->eng, d->snap, cand, res, &orl, &d->adj, fx);
		if (rc <= 0)
			return rc ? fl_err_set(err, rc, "rules: out of memory") : 0;
		slv_result_release(res);
		slv_candidates_release(cand);
	}
}

/*
 * Record the answer (and reserve the plan's units): 0, or the store's status (FL_EBUSY:
 * the stock moved, read it again). *existing: an identical request won the race.
 */
static int decide_record(struct decide *d, const json_t *ans, const char *dstatus, bool refuse,
			 const struct slv_candidates *cand, const struct slv_result *res,
			 const char *id, struct fl_err *err)
{
	struct store_alloc *allocs = NULL;
	int na = 0, rc;
	char *text = json_dumps(ans, JSON_COMPACT | JSON_REAL_PRECISION(15));
	if (!text)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	if (!refuse && (rc = flow__plan_allocs(d->snap, &d->o, cand, res, &allocs, &na, err))) {
		free(text);
		return rc;
	}
	const struct store_decision rec = {
		.id = id,
		.order_id = d->o.order_id,
		.request_hash = d->hash,
		.request = d->request,
		.response = text,
		.status = dstatus,
		.solver_status = res->status == SLV_FEASIBLE ? "feasible" : "optimal",
		.solver_ms = res->time_ms,
		.rules_version = d->rs->n ? d->rs->versions : NULL,
		.created_at = (int64_t)time(NULL),
		.supersedes = d->opts->supersedes,
	};
	rc = store_decision_record(d->st, &rec, d->o.reserve, allocs, na, &d->existing, err);
	free(allocs);
	free(text);
	return rc;
}

/* One attempt: plan, answer, record. 0 with *ans, 1 to replay d->existing, or an error. */
static int decide_once(struct decide *d, int attempt, json_t **ans, struct fl_err *err)
{
	struct slv_candidates cand = {0};
	struct slv_result res = {0};
	struct rl_effects fx = {0};
	char id[20] = "d_";
	const char *dstatus;
	int rc = decide_plan(d, attempt == 0, &cand, &res, &fx, err);
	if (rc)
		goto out;
	const bool refuse = !d->o.allow_partial && res.status != SLV_EMPTY &&
			    res.filled < flow__order_units(&d->o);
	/* a reroute replaces the decision only with a plan that holds what it held */
	const long fills = refuse ? 0 : (long)res.filled; /* an empty plan fills 0 */
	if (d->opts->supersedes && !d->opts->dry_run &&
	    (fills == 0 || fills < d->opts->keep_units)) {
		rc = fl_err_set(err, FL_ECONFLICT, "the new plan fills %ld of the %ld units held",
				fills, d->opts->keep_units);
		goto out;
	}
	flow_random_hex(id + 2, 8);
	*ans = flow__answer(&d->o, d->snap, &cand, &res, refuse, id, d->atp, &d->adj,
			    fx.n ? flow_effects_json(d->rs, &fx) : NULL, &dstatus);
	if (!*ans) {
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
		goto out;
	}
	if (d->opts->dry_run)
		goto out;
	rc = decide_record(d, *ans, dstatus, refuse, &cand, &res, id, err);
	if (rc || d->existing) {
		json_decref(*ans);
		*ans = NULL;
		rc = rc ? rc : 1;
	}
out:
	rl_effects_release(&fx);
	slv_result_release(&res);
	slv_candidates_release(&cand);
	return rc;
}

/* A decision just recorded holds exactly the units it answered when it reserves: said
 * without reading them back (the hot path). */
static json_t *fresh_reservation(const json_t *ans, bool reserve)
{
	json_int_t units = 0;
	size_t i, j;
	const json_t *s, *l;
	char when[32];
	json_array_foreach(json_object_get(ans, "shipments"), i, s)
		json_array_foreach(json_object_get(s, "lines"), j, l) units +=
		json_integer_value(json_object_get(l, "qty"));
	flow__rfc3339((int64_t)time(NULL), when);
	return json_pack("{s:s, s:I, s:s}", "status", reserve && units ? "reserved" : "none",
			 "units", reserve ? units : 0, "updated_at", when);
}

int flow_decide(struct store *st, const json_t *body, const struct flow_decide_opts *opts,
		json_t **answer, struct fl_err *err)
{
	static const struct flow_decide_opts none = {0};
	struct decide d = {.st = st, .body = body, .opts = opts ? opts : &none};
	int rc;

	*answer = NULL;
	if (!(rc = decide_load(&d, err)) && !(rc = decide_replayed(&d, err))) {
		for (int attempt = 0;; attempt++) {
			rc = decide_once(&d, attempt, answer, err);
			if (!flow__retry(rc, attempt)) /* else the stock moved: read it again */
				break;
		}
	}
	const bool replayed = rc == 1;
	if (replayed) { /* the stored answer of the same request */
		*answer = json_loads(d.existing, 0, NULL);
		rc = *answer ? 0 : fl_err_set(err, FL_EDB, "stored decision is unreadable");
	}
	if (!rc && !d.opts->dry_run) { /* the reservation: as recorded now, or as it was since */
		const char *id = json_string_value(json_object_get(*answer, "decision_id"));
		json_t *res = !id	 ? NULL
			      : replayed ? flow__reservation_json(st, id, err)
					 : fresh_reservation(*answer, d.o.reserve);
		if (!res) {
			json_decref(*answer);
			*answer = NULL;
			rc = err && err->status ? err->status : FL_EDB;
		} else {
			json_object_set_new(*answer, "reservation", res);
			flow__money_view(*answer); /* recorded exact; answered to the cent */
			if (d.opts->supersedes)
				json_object_set_new(*answer, "supersedes",
						    json_string(d.opts->supersedes));
		}
	}
	decide_release(&d);
	return rc;
}
