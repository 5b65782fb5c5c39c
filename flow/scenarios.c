/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stored scenarios: read back, listed, compared, accepted, rerun, as CSV; and scenarios as
 * jobs (queued, then run by a job worker, which the HTTP door owns): queue, run, cancel,
 * and the restart that fails what was unfinished.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/internal.h"
#include "solver/solver.h"

int flow_scenario_queue(struct store *st, const json_t *body, char id[FLOW_SCENARIO_ID_MAX],
			struct fl_err *err)
{
	const char *name;
	int rc = flow__scenario_check(st, body, &name, err);
	if (rc)
		return rc;
	memcpy(id, "s_", 3);
	flow_random_hex(id + 2, 8);
	char *req = json_dumps(body, JSON_COMPACT);
	rc = req ? store_scenario_queue(st, id, name, req, err)
		 : fl_err_set(err, FL_ENOMEM, "out of memory");
	free(req);
	return rc;
}

int flow_scenario_run(struct store *st, const char *id, const struct flow_progress *pg,
		      struct fl_err *err)
{
	json_t *body = NULL, *answer = NULL;
	char *state = NULL;
	struct fl_err why = {0};
	int rc = flow_scenario_request(st, id, &body, err);
	if (rc || (rc = store_scenario_advance(st, id, "running", NULL, err))) {
		json_decref(body);
		return rc; /* FL_ECONFLICT: cancelled while queued */
	}
	rc = flow__scenario_compute(st, body, NULL, pg, id, &answer, &state, &why);
	json_decref(body);
	slv_thread_release();
	if (rc == FL_ECANCELLED || flow_cancelled(pg)) {
		json_decref(answer);
		free(state);
		const bool stop = pg->shutdown && atomic_load(pg->shutdown);
		const int s = store_scenario_advance(
			st, id, stop ? "failed" : "cancelled",
			stop ? "the server stopped while it ran (jobs do not survive a restart): "
			       "rerun it"
			     : "cancelled while it ran",
			err);
		return s ? s : fl_err_set(err, FL_ECANCELLED, "cancelled");
	}
	if (rc) {
		int s = store_scenario_advance(st, id, "failed", why.msg[0] ? why.msg : "failed",
					       err);
		if (err && !s)
			*err = why;
		return s ? s : rc;
	}
	char *resp = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	rc = resp ? store_scenario_finish(st, id, resp, state, err)
		  : fl_err_set(err, FL_ENOMEM, "out of memory");
	free(resp), free(state);
	return rc;
}

int flow_scenario_needs_job(struct store *st, const json_t *body, bool *needs, struct fl_err *err)
{
	const json_t *h = json_object_get(body, "horizon_days"),
		     *l = json_object_get(body, "service_level");
	struct fc_opts o;
	bool fresh;
	*needs = false;
	if ((h && !json_is_number(h)) || (l && !json_is_number(l)))
		return 0; /* the synchronous run says what is wrong */
	flow_scenario_forecast_opts(h ? (int)json_number_value(h) : FLOW_SCENARIO_HORIZON_DEFAULT,
				    l ? json_number_value(l) : 0, &o);
	int rc = flow_forecast_fresh(st, &o, &fresh, err);
	*needs = !rc && !fresh;
	return rc;
}

int flow_scenario_cancel_queued(struct store *st, const char *id, struct fl_err *err)
{
	return store_scenario_advance(st, id, "cancelled", "cancelled before it ran", err);
}

int flow_scenarios_orphaned(struct store *st, int *n, struct fl_err *err)
{
	return store_scenarios_fail_unfinished(
		st,
		"the server stopped before this scenario finished (jobs do not survive a "
		"restart): rerun it",
		n, err);
}

/* A scenario's head as an answer: id, name, status, created_at, reason when there is one. */
static json_t *head_json(const struct store_scenario_row *h)
{
	char when[32];
	flow__rfc3339(h->created_at, when);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "scenario_id", h->id, "name", h->name,
			      "status", h->status, "created_at", when);
	if (o && h->reason[0])
		json_object_set_new(o, "reason", json_string(h->reason));
	return o;
}

int flow_scenario_get(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	char *text;
	struct store_scenario_row h;
	int rc = store_scenario_get(st, id, &text, &h, err);
	*answer = NULL;
	if (rc)
		return rc;
	if (strcmp(h.status, "done")) {
		free(text);
		*answer = head_json(&h);
		return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	*answer = json_loads(text, 0, NULL);
	free(text);
	if (!*answer)
		return fl_err_set(err, FL_EDB, "stored scenario unreadable");
	char when[32];
	flow__rfc3339(h.accepted_at, when);
	json_object_set_new(*answer, "status", json_string("done"));
	flow__rfc3339(h.created_at, when);
	json_object_set_new(*answer, "created_at", json_string(when));
	flow__rfc3339(h.accepted_at, when);
	json_object_set_new(*answer, "accepted_at",
			    h.accepted_at ? json_string(when) : json_null());
	return 0;
}

/* A done scenario's answer; FL_ECONFLICT naming its status otherwise. */
static int scenario_done(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	int rc = flow_scenario_get(st, id, answer, err);
	if (rc)
		return rc;
	const char *status = json_string_value(json_object_get(*answer, "status"));
	if (status && !strcmp(status, "done"))
		return 0;
	rc = fl_err_set(err, FL_ECONFLICT, "scenario '%s' is %s: only a done scenario has a result",
			id, status ? status : "unknown");
	json_decref(*answer);
	*answer = NULL;
	return rc;
}

int flow_scenario_compare(struct store *st, const char *a, const char *b, json_t **answer,
			  struct fl_err *err)
{
	json_t *x = NULL, *y = NULL;
	int status = scenario_done(st, a, &x, err);
	if (!status)
		status = scenario_done(st, b, &y, err);
	if (status) {
		json_decref(x);
		return status;
	}
	json_t *rows = json_object();
#define PAIR(name, jx, jy)                                                          \
	json_object_set_new(rows, name,                                             \
			    json_pack("{s:O, s:O, s:f}", "a", jx, "b", jy, "delta", \
				      json_number_value(jy) - json_number_value(jx)))
	PAIR("cost_total", json_object_get(json_object_get(x, "cost"), "total"),
	     json_object_get(json_object_get(y, "cost"), "total"));
	PAIR("cost_transfer", json_object_get(json_object_get(x, "cost"), "transfer"),
	     json_object_get(json_object_get(y, "cost"), "transfer"));
	PAIR("cost_fixed", json_object_get(json_object_get(x, "cost"), "fixed"),
	     json_object_get(json_object_get(y, "cost"), "fixed"));
	PAIR("cost_shortage", json_object_get(json_object_get(x, "cost"), "shortage"),
	     json_object_get(json_object_get(y, "cost"), "shortage"));
	PAIR("units_moved", json_object_get(x, "units_moved"), json_object_get(y, "units_moved"));
	PAIR("fill_rate_after", json_object_get(json_object_get(x, "fill_rate"), "after"),
	     json_object_get(json_object_get(y, "fill_rate"), "after"));
	json_t *nx = json_integer((json_int_t)json_array_size(json_object_get(x, "transfers")));
	json_t *ny = json_integer((json_int_t)json_array_size(json_object_get(y, "transfers")));
	PAIR("transfers", nx, ny);
	json_decref(nx), json_decref(ny);
	json_t *regions = json_object();
	const char *key;
	json_t *v;
	json_t *ry = json_object_get(json_object_get(y, "fill_rate"), "by_region");
	json_object_foreach(json_object_get(json_object_get(x, "fill_rate"), "by_region"), key, v)
	{
		json_t *w = json_object_get(ry, key);
		json_object_set_new(regions, key,
				    json_pack("{s:O, s:O}", "a", json_object_get(v, "after"), "b",
					      w ? json_object_get(w, "after") : json_null()));
	}
#undef PAIR
	*answer = json_pack("{s:[{s:O, s:O}, {s:O, s:O}], s:o, s:o}", "scenarios", "scenario_id",
			    json_object_get(x, "scenario_id"), "name", json_object_get(x, "name"),
			    "scenario_id", json_object_get(y, "scenario_id"), "name",
			    json_object_get(y, "name"), "compare", rows, "fill_rate_by_region",
			    regions);
	json_decref(x);
	json_decref(y);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_scenario_accept(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	json_t *s = NULL;
	int rc = scenario_done(st, id, &s, err);
	if (rc)
		return rc;
	const json_t *tr = json_object_get(s, "transfers");
	const size_t n = json_array_size(tr);
	struct store_transfer *t = calloc(n + 1, sizeof(*t));
	long units = 0;
	if (!t) {
		json_decref(s);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(tr, i);
		t[i] = (struct store_transfer){
			.from = json_string_value(json_object_get(x, "from")),
			.to = json_string_value(json_object_get(x, "to")),
			.sku = json_string_value(json_object_get(x, "sku")),
			.qty = (long)json_integer_value(json_object_get(x, "qty"))};
		units += t[i].qty;
	}
	const int64_t now = (int64_t)time(NULL);
	char when[32];
	flow__rfc3339(now, when);
	rc = store_scenario_accept_checked(st, id, t, n, now, err);
	free(t);
	json_decref(s);
	if (rc)
		return rc;
	*answer = json_pack("{s:s, s:s, s:I, s:I}", "scenario_id", id, "accepted_at", when,
			    "transfers", (json_int_t)n, "units_in_transit", (json_int_t)units);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_scenario_request(struct store *st, const char *id, json_t **body, struct fl_err *err)
{
	char *req = NULL;
	int rc = store_scenario_request(st, id, &req, err);
	*body = NULL;
	if (rc)
		return rc;
	*body = json_loads(req, 0, NULL);
	free(req);
	return *body ? 0
		     : fl_err_set(err, FL_EDB, "scenario '%s': its stored request is unreadable",
				  id);
}

int flow_scenario_csv(struct store *st, const char *id, char **csv, struct fl_err *err)
{
	json_t *s = NULL, *t;
	size_t i, len = 0;
	int rc = scenario_done(st, id, &s, err);
	*csv = NULL;
	if (rc)
		return rc;
	FILE *fp = open_memstream(csv, &len);
	if (!fp) {
		json_decref(s);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	fprintf(fp, "from,to,sku,qty,cost\n");
	json_array_foreach(json_object_get(s, "transfers"), i, t)
		fprintf(fp, "%s,%s,%s,%lld,%.2f\n", json_string_value(json_object_get(t, "from")),
			json_string_value(json_object_get(t, "to")),
			json_string_value(json_object_get(t, "sku")),
			json_integer_value(json_object_get(t, "qty")),
			json_number_value(json_object_get(t, "cost")));
	json_decref(s);
	if (fclose(fp)) {
		free(*csv);
		*csv = NULL;
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	return 0;
}

static int list_row(void *ctx, const struct store_scenario_row *r)
{
	json_t *items = ctx;
	json_t *resp = r->response && r->response[0] ? json_loads(r->response, 0, NULL) : NULL;
	char acc[32];
	flow__rfc3339(r->accepted_at, acc);
	const json_t *cost = json_object_get(resp, "cost"),
		     *fill = json_object_get(resp, "fill_rate");
	json_t *row = head_json(r);
	if (row && json_object_update_new(
			   row, json_pack("{s:O?, s:{s:O?}, s:{s:O?, s:O?}, s:b, s:o}",
					  "horizon_days", json_object_get(resp, "horizon_days"),
					  "cost", "total", json_object_get(cost, "total"),
					  "fill_rate", "before", json_object_get(fill, "before"),
					  "after", json_object_get(fill, "after"), "accepted",
					  r->accepted_at != 0, "accepted_at",
					  r->accepted_at ? json_string(acc) : json_null()))) {
		json_decref(row);
		row = NULL;
	}
	json_decref(resp);
	return row && !json_array_append_new(items, row) ? 0 : FL_ENOMEM;
}

int flow_scenarios_list(struct store *st, const char *after, const char *status, const char *name,
			long limit, json_t **answer, struct fl_err *err)
{
	static const char *const statuses[] = {"queued", "running", "done", "failed", "cancelled"};
	json_t *items = json_array();
	bool known = !status;
	*answer = NULL;
	for (size_t i = 0; status && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known |= !strcmp(status, statuses[i]);
	if (!known) {
		json_decref(items);
		return fl_err_set(err, FL_EINVAL,
				  "status: one of queued, running, done, failed, cancelled");
	}
	if (limit < 1 || limit > FLOW_SCENARIOS_LISTED) {
		json_decref(items);
		return fl_err_set(err, FL_EINVAL, "limit: an integer from 1 to %d",
				  FLOW_SCENARIOS_LISTED);
	}
	if (!items)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	int rc = store_scenarios_list(st, after, name, status, (size_t)limit, list_row, items, err);
	if (rc == FL_ENOMEM)
		fl_err_set(err, rc, "out of memory");
	const size_t n = json_array_size(items);
	if (!rc && !(*answer = json_pack("{s:O, s:o}", "scenarios", items, "next",
					 n == (size_t)limit ? json_incref(json_object_get(
								      json_array_get(items, n - 1),
								      "scenario_id"))
							    : json_null())))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	json_decref(items);
	return rc;
}

/* ---- transfer orders ---- */

static json_t *transfer_json(const struct store_transfer_row *t)
{
	char when[32];
	flow__rfc3339(t->updated_at, when);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:b}", "transfer_id",
			 t->id, "scenario_id", t->scenario_id, "from", t->from, "to", t->to, "sku",
			 t->sku, "qty", (json_int_t)t->qty, "shipped", (json_int_t)t->shipped,
			 "received", (json_int_t)t->received, "status", t->status, "updated_at",
			 when, "current", t->current);
}

static int transfer_row(void *ctx, const struct store_transfer_row *t)
{
	json_t *row = transfer_json(t);
	return row && !json_array_append_new(ctx, row) ? 0 : FL_ENOMEM;
}

int flow_transfers_list(struct store *st, const char *status, const char *node,
			const char *scenario_id, const char *after, long limit, json_t **answer,
			struct fl_err *err)
{
	static const char *const statuses[] = {"planned", "shipped", "received", "cancelled"};
	bool known = !status;
	*answer = NULL;
	for (size_t i = 0; status && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known |= !strcmp(status, statuses[i]);
	if (!known)
		return fl_err_set(err, FL_EINVAL,
				  "status: one of planned, shipped, received, cancelled");
	if (limit < 1 || limit > FLOW_TRANSFERS_LISTED)
		return fl_err_set(err, FL_EINVAL, "limit: an integer from 1 to %d",
				  FLOW_TRANSFERS_LISTED);
	json_t *items = json_array();
	if (!items)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	int rc = store_transfers_list(st, status, node, scenario_id, after, (size_t)limit,
				      transfer_row, items, err);
	if (rc == FL_ENOMEM)
		fl_err_set(err, rc, "out of memory");
	const size_t n = json_array_size(items);
	if (!rc && !(*answer = json_pack("{s:O, s:o}", "transfers", items, "next",
					 n == (size_t)limit ? json_incref(json_object_get(
								      json_array_get(items, n - 1),
								      "transfer_id"))
							    : json_null())))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	json_decref(items);
	return rc;
}

int flow_transfer_get(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	struct store_transfer_row t;
	int rc = store_transfer_get(st, id, &t, err);
	*answer = NULL;
	if (rc)
		return rc;
	*answer = transfer_json(&t);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_transfer_cancel(struct store *st, const char *id, json_t **answer, struct fl_err *err)
{
	int rc = store_transfer_cancel(st, id, (int64_t)time(NULL), err);
	*answer = NULL;
	if (rc == FL_EINVAL && err)
		err->status = FL_ECONFLICT; /* its state, not the request, says no */
	if (rc)
		return rc == FL_EINVAL ? FL_ECONFLICT : rc;
	return flow_transfer_get(st, id, answer, err);
}

void flow_scenario_page(json_t *answer, size_t after, size_t limit)
{
	json_t *all = json_object_get(answer, "transfers");
	const size_t n = json_array_size(all);
	if (!all || (after == 0 && n <= limit)) {
		json_object_set_new(answer, "transfers_next", json_null());
		return;
	}
	json_t *page = json_array();
	for (size_t i = after; i < n && i - after < limit; i++)
		json_array_append(page, json_array_get(all, i));
	json_object_set_new(answer, "transfers", page);
	json_object_set_new(answer, "transfers_total", json_integer((json_int_t)n));
	json_object_set_new(answer, "transfers_next",
			    after + limit < n ? json_integer((json_int_t)after + (json_int_t)limit)
					      : json_null());
}
