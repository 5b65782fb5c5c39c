/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * internal.h — what the files of flow/ share and nobody else sees: an order as the
 * fulfilment flows hold it, its parsing and answer, its candidates, the rules around a
 * decision, and the one path by which a plan becomes reservation rows. Names carry the
 * module's internal prefix flow__.
 */
#ifndef FULCRUM_FLOW_INTERNAL_H
#define FULCRUM_FLOW_INTERNAL_H

#include "flow/flow.h"
#include "solver/solver.h"

struct flow__adjust;

/* ---- an order (flow/order.c) ---- */

struct flow__order {
	char order_id[FL_ID_MAX];
	double lat, lon;
	int promise; /* -1: none */
	bool allow_split, allow_partial, reserve;
	double split_penalty;
	int time_limit_ms;
	int nitems;
	const struct fl_sku *sku[FLOW_MAX_LINES]; /* distinct SKUs, in first-seen order */
	struct slv_item items[FLOW_MAX_LINES];
};

/* An optional boolean member: 0 and *out (dflt when absent or null), or FL_EINVAL. */
int flow__get_bool(const json_t *o, const char *key, bool dflt, bool *out, struct fl_err *err);
/* Parse and validate one order body against the snapshot: 0, or FL_EINVAL with detail. */
int flow__order_parse(const json_t *j, const struct flow_snapshot *snap, struct flow__order *o,
		      struct fl_err *err);
/* Units the order asks for, over its lines. */
long flow__order_units(const struct flow__order *o);

/*
 * The decision's answer: shipments, unfilled units and why, cost, the explanation.
 * refuse_partial: the plan was refused (allow_partial false). atp: the order's stock at
 * every snapshot node (nodes × lines), what the reasons are judged by. adj: the
 * outages' and rules' exclusions and penalties. rules: effects shown (taken). NULL out
 * of memory.
 */
json_t *flow__answer(const struct flow__order *o, const struct flow_snapshot *snap,
		     const struct slv_candidates *c, const struct slv_result *r,
		     bool refuse_partial, const char *decision_id, const long *atp,
		     const struct flow__adjust *adj, json_t *rules, const char **status_out);

/*
 * Strict bodies: every member of obj must be in known (NULL-terminated), else FL_EINVAL
 * "PATH.KEY: unknown field" (path "" names the key alone).
 */
int flow__strict(const json_t *obj, const char *path, const char *const *known, struct fl_err *err);

/*
 * A decision answer as a caller sees it: its money (cost.*, each shipment's and each
 * alternative's cost) rounded to the cent, in place. The log keeps the exact answer.
 */
void flow__money_view(json_t *ans);

/* Seconds since the epoch as RFC 3339 in UTC ("2026-11-30T14:24:25Z"). */
void flow__rfc3339(int64_t t, char out[32]);

/* {"status", "units", "updated_at"} of a decision's reservation, from the store (NULL on a
 * store error, err set). */
json_t *flow__reservation_json(struct store *st, const char *decision_id, struct fl_err *err);

/* Order o's candidates (made afresh) under the adjustments adj (may be NULL). */
int flow__candidates(const struct flow_snapshot *snap, const struct flow__order *o, const long *atp,
		     const long *cap_left, const struct slv_adjust *adj,
		     struct slv_candidates *cand, struct fl_err *err);
/* Candidates, then the exact sourcing model (lp_path, if set, receives the model). */
int flow__solve(const struct flow_snapshot *snap, const struct flow__order *o, const char *lp_path,
		const struct slv_adjust *adj, const long *atp, const long *cap_left,
		struct slv_candidates *cand, struct slv_result *res, struct fl_err *err);

/*
 * The reservation rows of a plan: one (node, SKU, units) per shipment line, sized from
 * the plan (never a fixed array), so the units reserved are exactly the units answered.
 * 0 with *out (caller frees; NULL when n is 0) and *n, or FL_ENOMEM.
 */
int flow__plan_allocs(const struct flow_snapshot *snap, const struct flow__order *o,
		      const struct slv_candidates *c, const struct slv_result *r,
		      struct store_alloc **out, int *n, struct fl_err *err);

/* ---- scenarios (flow/rebalance.c, flow/scenarios.c) ---- */

/* Check a scenario's body against the network and stock (*name: its name, in body). */
int flow__scenario_check(struct store *st, const json_t *body, const char **name,
			 struct fl_err *err);
/* Compute a scenario as id: its answer and what accepting checks (the stock state it was
 * computed on, and with a tolerance the units it read where it moves stock; caller frees). */
int flow__scenario_compute(struct store *st, const json_t *body, const char *lp_path,
			   const struct flow_progress *pg, const char *id, json_t **answer,
			   char **stock_state, struct fl_err *err);

/* True when a write should be tried again: the stock moved under it (FL_EBUSY). */
bool flow__retry(int rc, int attempt);

/* ---- the rules around a decision (flow/order.c) ---- */

#define FLOW_RULE_REJECTS 2 /* re-solves after after_sourcing rejections */

struct flow__rule_ctx {
	const struct flow_snapshot *snap;
	const struct flow__order *o;
	const long *atp;
};

/* What the rules of one order work with: its lines, and its stock to read. */
struct flow__order_rules {
	struct rl_line lines[FLOW_MAX_LINES];
	struct rl_order ro;
	struct flow__rule_ctx ctx;
	struct rl_host host;
};

/* Exclusions and penalties for the sourcing model, per snapshot node and rate. */
struct flow__adjust {
	bool *excluded;
	double *penalty;
	bool *rate_excluded;
	const char **outage; /* per node: the event that took it out of sourcing, or NULL */
	struct slv_adjust adj;
	double split_penalty; /* NAN: the order's own */
	bool any;
};

int flow__adjust_init(struct flow__adjust *a, const struct flow_snapshot *snap);
void flow__adjust_release(struct flow__adjust *a);

void flow__order_rules_init(struct flow__order_rules *orl, const struct flow_snapshot *snap,
			    const struct flow__order *o, const long *atp);

/* What the door wants of the rules: the caller's exclusions, and whether a failure fails. */
struct flow__rules_opts {
	const char *exclude_node;
	const char *exclude_carrier;
	bool rules_fail;
};

/*
 * Before sourcing: node outages, the caller's exclusions, then every active set's
 * before_sourcing, folded into adj (made afresh) and the order's split penalty. atp is
 * the order's (nodes × lines). 0; FL_ERULE when a rule failed and rules_fail; FL_ENOMEM.
 */
int flow__rules_before(const struct flow_rules *rs, struct rl_engine *eng,
		       const struct flow_snapshot *snap, struct flow__order *o, double own_split,
		       const long *atp, const struct store_outage *outages, size_t noutages,
		       const struct flow__rules_opts *ro, struct flow__order_rules *orl,
		       struct flow__adjust *adj, struct rl_effects *fx, struct fl_err *err);

/*
 * After sourcing: every active set's after_sourcing on the plan; 1 when one rejects it
 * (the plan's nodes are then excluded in adj for the next solve), 0 when none does,
 * FL_ENOMEM.
 */
int flow__rules_after(const struct flow_rules *rs, struct rl_engine *eng,
		      const struct flow_snapshot *snap, const struct slv_candidates *cand,
		      const struct slv_result *res, struct flow__order_rules *orl,
		      struct flow__adjust *adj, struct rl_effects *fx);

#endif
