/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The router's table and the handlers of the service's own routes: health, metrics,
 * the OpenAPI document, reads of the store, and import. The table is the single source
 * of truth for what the server serves; a test compares it with the OpenAPI document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <strings.h>

#include "flow/flow.h"
#include "http/http.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

static void h_healthz(struct http_req *rq, struct http_resp *rs)
{
	(void)rq;
	rs->status = 200;
	rs->json = json_pack("{s:s}", "status", "ok");
}

static void h_readyz(struct http_req *rq, struct http_resp *rs)
{
	struct fl_err err = {0};
	if (store_ping(rq->st, &err)) {
		http_problem(rs, 503, "store: %s", err.msg);
		return;
	}
	/* after a write failed on the disk: ready again only once a write commits */
	if (store_write_failing() && store_write_probe(rq->st, &err)) {
		http_problem(rs, 503, "store: cannot write: %s", err.msg);
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:s, s:i}", "status", "ready", "schema", store_schema_version());
}

static void h_metrics(struct http_req *rq, struct http_resp *rs);

static void h_openapi(struct http_req *rq, struct http_resp *rs)
{
	(void)rq;
	rs->status = 200;
	rs->text = malloc(http_openapi_json_len + 1);
	if (!rs->text) {
		http_problem(rs, 500, "out of memory");
		return;
	}
	memcpy(rs->text, http_openapi_json, http_openapi_json_len);
	rs->text[http_openapi_json_len] = '\0';
	rs->content_type = "application/json";
}

static json_t *node_json(const struct fl_node *n)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:f, s:s, s:f, s:f, s:i, s:b}", "id", n->id,
			      "name", n->name, "type", fl_node_type_name(n->type), "lat", n->lat,
			      "lon", n->lon, "region", n->region, "handling_cost", n->handling_cost,
			      "pick_cost", n->pick_cost, "processing_days", n->processing_days,
			      "ships_hazmat", n->ships_hazmat);
	if (j)
		json_object_set_new(j, "capacity_units",
				    n->capacity_units == FL_UNLIMITED
					    ? json_null()
					    : json_integer(n->capacity_units));
	return j;
}

static void h_nodes(struct http_req *rq, struct http_resp *rs)
{
	struct fl_err err = {0};
	struct flow_snapshot *snap = flow_snapshot_get(rq->st, &err); /* nodes are reference data */
	if (!snap) {
		http_problem(rs, 503, "store: %s", err.msg);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < snap->nnodes; i++)
		json_array_append_new(items, node_json(&snap->nodes[i]));
	flow_snapshot_put(snap);
	rs->status = 200;
	rs->json = json_pack("{s:o}", "items", items);
}

/* ?limit=: 1..PAGE_MAX, default PAGE_DEFAULT; -1 (and a 422 set) when invalid. */
static long page_limit(struct http_req *rq, struct http_resp *rs)
{
	const char *s = http_query(rq, "limit");
	char *end;
	if (!s)
		return PAGE_DEFAULT;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > PAGE_MAX) {
		http_problem(rs, 422, "limit: must be an integer from 1 to %d", PAGE_MAX);
		return -1;
	}
	return v;
}

static bool id_param_ok(struct http_req *rq, struct http_resp *rs, const char *name)
{
	const char *v = http_query(rq, name);
	if (v && (strlen(v) == 0 || strlen(v) >= FL_ID_MAX)) {
		http_problem(rs, 422, "%s: must be 1 to %d bytes", name, FL_ID_MAX - 1);
		return false;
	}
	return true;
}

static void h_skus(struct http_req *rq, struct http_resp *rs)
{
	struct fl_sku *skus;
	size_t n;
	bool more;
	struct fl_err err = {0};
	long limit = page_limit(rq, rs);
	if (limit < 0 || !id_param_ok(rq, rs, "after"))
		return;
	const char *after = http_query(rq, "after");
	if (store_skus_page(rq->st, after ? after : "", (size_t)limit, &skus, &n, &more, &err)) {
		http_fail(rs, &err);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items,
				      json_pack("{s:s, s:s, s:f, s:b}", "id", skus[i].id, "name",
						skus[i].name, "weight_kg", skus[i].weight_kg,
						"hazmat", skus[i].hazmat));
	rs->status = 200;
	rs->json = json_pack("{s:o, s:o}", "items", items, "next",
			     more && n ? json_string(skus[n - 1].id) : json_null());
	free(skus);
}

static void h_inventory(struct http_req *rq, struct http_resp *rs)
{
	struct fl_inventory *inv;
	size_t n;
	bool more;
	struct fl_err err = {0};
	long limit = page_limit(rq, rs);
	if (limit < 0 || !id_param_ok(rq, rs, "node") || !id_param_ok(rq, rs, "sku") ||
	    !id_param_ok(rq, rs, "after_node") || !id_param_ok(rq, rs, "after_sku"))
		return;
	const char *an = http_query(rq, "after_node"), *ak = http_query(rq, "after_sku");
	if ((an == NULL) != (ak == NULL)) {
		http_problem(rs, 422, "after_node, after_sku: give both or neither");
		return;
	}
	if (store_inventory_page(rq->st, http_query(rq, "node"), http_query(rq, "sku"), an, ak,
				 (size_t)limit, &inv, &n, &more, &err)) {
		http_fail(rs, &err);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		long atp = inv[i].on_hand - inv[i].reserved - inv[i].safety_stock -
			   inv[i].committed_out;
		json_array_append_new(items,
				      json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "node",
						inv[i].node, "sku", inv[i].sku, "on_hand",
						(json_int_t)inv[i].on_hand, "safety_stock",
						(json_int_t)inv[i].safety_stock, "reserved",
						(json_int_t)inv[i].reserved, "committed_out",
						(json_int_t)inv[i].committed_out, "in_transit_in",
						(json_int_t)inv[i].in_transit_in, "atp",
						(json_int_t)(atp > 0 ? atp : 0)));
	}
	rs->status = 200;
	rs->json = json_pack("{s:o, s:o}", "items", items, "next",
			     more && n ? json_pack("{s:s, s:s}", "after_node", inv[n - 1].node,
						   "after_sku", inv[n - 1].sku)
				       : json_null());
	free(inv);
}

/* A flow that takes a parsed JSON body: 0 and *result, or FL_E* with err. */
typedef int body_flow_fn(struct http_req *rq, const json_t *body, json_t **result,
			 struct fl_err *err);

/* The shape every JSON-body route shares: parse (400s), run the flow, answer ok_status. */
static void json_route(struct http_req *rq, struct http_resp *rs, body_flow_fn *flow, int ok_status)
{
	json_t *body, *result = NULL;
	char detail[FL_ERR_MSG_MAX + 64];
	struct fl_err err = {0};
	int status = http_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, &body, detail,
				     sizeof(detail));
	if (status) {
		http_problem(rs, status, "%s", detail);
		return;
	}
	const int rc = flow(rq, body, &result, &err);
	json_decref(body);
	if (rc) {
		json_decref(result);
		if (!err.status)
			err.status = rc;
		http_fail(rs, &err);
		return;
	}
	rs->status = ok_status;
	rs->json = result;
}

static int decide_flow(struct http_req *rq, const json_t *body, json_t **result, struct fl_err *err)
{
	const struct flow_decide_opts o = {.rules_fail = rq->cfg->rules_fail};
	const int rc = flow_decide(rq->st, body, &o, result, err);
	if (!rc)
		http_metrics_decision(*result);
	return rc;
}

static int wave_flow(struct http_req *rq, const json_t *body, json_t **result, struct fl_err *err)
{
	const int rc = flow_wave(rq->st, body, rq->cfg->rules_fail, result, err);
	const json_t *d;
	size_t i;
	if (!rc)
		json_array_foreach(json_object_get(*result, "decisions"), i, d)
			http_metrics_decision(d);
	return rc;
}

static int import_flow(struct http_req *rq, const json_t *body, json_t **result, struct fl_err *err)
{
	const int rc = flow_import_json(rq->st, body, result, err);
	if (!rc)
		http_jobs_poke(); /* new sales: the background forecasts start now */
	return rc;
}

static int event_flow(struct http_req *rq, const json_t *body, json_t **result, struct fl_err *err)
{
	return flow_event(rq->st, body, rq->cfg->rules_fail, result, err);
}

static void h_wave(struct http_req *rq, struct http_resp *rs)
{
	json_route(rq, rs, wave_flow, 200);
}

static void h_import(struct http_req *rq, struct http_resp *rs)
{
	json_route(rq, rs, import_flow, 200);
}

static void h_decide(struct http_req *rq, struct http_resp *rs)
{
	json_route(rq, rs, decide_flow, 200);
}

static void h_events(struct http_req *rq, struct http_resp *rs)
{
	json_route(rq, rs, event_flow, 200);
}

/* A handler's common ending: a flow's status, error and answer. */
static void answer_with(struct http_resp *rs, int rc, int ok_status, json_t *answer,
			struct fl_err *err)
{
	if (rc) {
		if (!err->status)
			err->status = rc;
		http_fail(rs, err);
		if (answer && rs->json) { /* a failed upload's errors go with the problem */
			json_t *errors = json_object_get(answer, "errors");
			if (errors)
				json_object_set(rs->json, "errors", errors);
		}
		json_decref(answer);
		return;
	}
	rs->status = ok_status;
	rs->json = answer;
}

static void h_decision_get(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_decision_get(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_decisions(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	if (!id_param_ok(rq, rs, "order_id"))
		return;
	const int rc = flow_decisions_list(rq->st, http_query(rq, "order_id"), &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_timeline(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_order_timeline(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

/* Who the token is: the console shows each role its own pages. */
static void h_me(struct http_req *rq, struct http_resp *rs)
{
	rs->status = 200;
	rs->json =
		json_pack("{s:s, s:s}", "role", http_role_name(rq->role), "token_id", rq->token_id);
}

static void h_release(struct http_req *rq, struct http_resp *rs)
{
	long units;
	struct fl_err err = {0};
	if (store_decision_release(rq->st, rq->params[0], &units, &err)) {
		http_fail(rs, &err);
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:s, s:I}", "decision_id", rq->params[0], "released_units",
			     (json_int_t)units);
}

/* GET /v1/forecasts's query: horizon, level, method. false (and a 422 set) when invalid. */
static bool forecast_query(struct http_req *rq, struct http_resp *rs, struct fc_opts *o)
{
	const char *hs = http_query(rq, "horizon"), *ls = http_query(rq, "level");
	const char *ms = http_query(rq, "method");
	char *end;
	if (hs) {
		const long h = strtol(hs, &end, 10);
		if (*end || h < 1 || h > FC_HORIZON_MAX) {
			http_problem(rs, 422, "horizon: an integer from 1 to %d", FC_HORIZON_MAX);
			return false;
		}
		o->horizon = (int)h;
	}
	if (ls) {
		o->level = strtod(ls, &end);
		if (*end || !(o->level > 0 && o->level < 1)) {
			http_problem(rs, 422, "level: a number between 0 and 1 (exclusive)");
			return false;
		}
	}
	if (ms) {
		const int m = fc_method_parse(ms);
		if (m < 0) {
			http_problem(rs, 422, "method: '%.40s' is not a forecasting method", ms);
			return false;
		}
		o->method = (enum fc_method)m;
	}
	return true;
}

static void h_forecasts(struct http_req *rq, struct http_resp *rs)
{
	const char *node = http_query(rq, "node"), *sku = http_query(rq, "sku");
	struct fc_opts o = {.horizon = 28, .level = 0.9, .period = 7, .method = FC_AUTO};
	struct fl_err err = {0};
	if (!id_param_ok(rq, rs, "node") || !id_param_ok(rq, rs, "sku"))
		return;
	if (!node || !sku) {
		http_problem(rs, 422, "%s: required", node ? "sku" : "node");
		return;
	}
	if (!forecast_query(rq, rs, &o))
		return;
	json_t *answer = NULL;
	const int rc = flow_forecast_one(rq->st, node, sku, &o, &answer, &err);
	const char *accept = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Accept");
	if (!rc && accept && strstr(accept, "text/csv")) { /* a planner's spreadsheet */
		size_t len = 0, i;
		json_t *p;
		char *csv = NULL;
		FILE *fp = open_memstream(&csv, &len);
		if (fp) {
			fprintf(fp, "node,sku,date,mean,lo,hi,method\n");
			json_array_foreach(json_object_get(answer, "points"), i, p)
				fprintf(fp, "%s,%s,%s,%.6g,%.6g,%.6g,%s\n", node, sku,
					json_string_value(json_object_get(p, "date")),
					json_number_value(json_object_get(p, "mean")),
					json_number_value(json_object_get(p, "lo")),
					json_number_value(json_object_get(p, "hi")),
					json_string_value(json_object_get(answer, "method")));
		}
		json_decref(answer);
		if (!fp || fclose(fp)) {
			free(csv);
			http_problem(rs, 500, "out of memory");
			return;
		}
		rs->status = 200;
		rs->text = csv;
		rs->content_type = "text/csv; charset=utf-8";
		return;
	}
	answer_with(rs, rc, 200, answer, &err);
}

/* GET /v1/rebalancing/scenarios: the list, paged and filtered (without ?compare). */
static void scenarios_list(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const long limit = page_limit(rq, rs);
	if (limit < 0 || !id_param_ok(rq, rs, "after") || !id_param_ok(rq, rs, "status"))
		return;
	const char *name = http_query(rq, "name");
	if (name && strlen(name) >= FL_NAME_MAX) {
		http_problem(rs, 422, "name: at most %d bytes", FL_NAME_MAX - 1);
		return;
	}
	const int rc = flow_scenarios_list(rq->st, http_query(rq, "after"),
					   http_query(rq, "status"), name, limit, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

/* GET /v1/transfers?status=&node=&scenario_id=&limit=&after= */
static void h_transfers(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const long limit = page_limit(rq, rs);
	if (limit < 0 || !id_param_ok(rq, rs, "after") || !id_param_ok(rq, rs, "status") ||
	    !id_param_ok(rq, rs, "node") || !id_param_ok(rq, rs, "scenario_id"))
		return;
	const int rc = flow_transfers_list(rq->st, http_query(rq, "status"), http_query(rq, "node"),
					   http_query(rq, "scenario_id"), http_query(rq, "after"),
					   limit, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_transfer_get(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_transfer_get(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_transfer_cancel(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_transfer_cancel(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

/* ---- webhooks ---- */

static int webhook_create_flow(struct http_req *rq, const json_t *body, json_t **result,
			       struct fl_err *err)
{
	return flow_webhook_create(rq->st, body, rq->cfg->webhook_hosts, result, err);
}

static void h_webhook_create(struct http_req *rq, struct http_resp *rs)
{
	json_route(rq, rs, webhook_create_flow, 201);
}

static void h_webhooks(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_webhooks_list(rq->st, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_webhook_get(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_webhook_get(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_webhook_delete(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_webhook_delete(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_webhook_rotate(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_webhook_rotate(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_webhook_deliveries(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const long limit = page_limit(rq, rs);
	const char *after = http_query(rq, "after");
	char *end;
	const long long a = after ? strtoll(after, &end, 10) : 0;
	if (limit < 0)
		return;
	if (after && (!*after || *end || a < 0)) {
		http_problem(rs, 422, "after: a delivery_id");
		return;
	}
	if (!id_param_ok(rq, rs, "status"))
		return;
	const int rc = flow_webhook_deliveries(rq->st, rq->params[0], http_query(rq, "status"),
					       (int64_t)a, limit, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_webhook_retry(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	char *end;
	const long long d = strtoll(rq->params[1], &end, 10);
	if (!rq->params[1][0] || *end || d <= 0) {
		http_problem(rs, 404, "no delivery '%s'", rq->params[1]);
		return;
	}
	const int rc = flow_webhook_retry(rq->st, rq->params[0], (int64_t)d, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_webhook_replay(struct http_req *rq, struct http_resp *rs)
{
	json_t *body, *answer = NULL;
	char detail[FL_ERR_MSG_MAX + 64];
	struct fl_err err = {0};
	const int status = http_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, &body,
					   detail, sizeof(detail));
	if (status) {
		http_problem(rs, status, "%s", detail);
		return;
	}
	const int rc = flow_webhook_replay(rq->st, rq->params[0], body, &answer, &err);
	json_decref(body);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_scenarios(struct http_req *rq, struct http_resp *rs)
{
	const char *cmp = http_query(rq, "compare");
	char a[FL_ID_MAX + 1];
	struct fl_err err = {0};
	if (!cmp) {
		scenarios_list(rq, rs);
		return;
	}
	const char *comma = strchr(cmp, ',');
	if (!comma || comma == cmp || !comma[1] || strchr(comma + 1, ',') ||
	    (size_t)(comma - cmp) > FL_ID_MAX) {
		http_problem(rs, 422, "compare: two scenario ids, as compare=a,b");
		return;
	}
	snprintf(a, sizeof(a), "%.*s", (int)(comma - cmp), cmp);
	json_t *answer = NULL;
	const int rc = flow_scenario_compare(rq->st, a, comma + 1, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

/* ?lines_after=&lines_limit= on a scenario: the page of its transfer lines. */
static bool lines_query(struct http_req *rq, struct http_resp *rs, long *after, long *limit)
{
	const char *a = http_query(rq, "lines_after"), *l = http_query(rq, "lines_limit");
	char *end;
	if (a) {
		*after = strtol(a, &end, 10);
		if (!*a || *end || *after < 0 || *after > 100000000) {
			http_problem(rs, 422, "lines_after: a line number from 0");
			return false;
		}
	}
	if (l) {
		*limit = strtol(l, &end, 10);
		if (!*l || *end || *limit < 1 || *limit > FLOW_LINES_PAGE_MAX) {
			http_problem(rs, 422, "lines_limit: an integer from 1 to %d",
				     FLOW_LINES_PAGE_MAX);
			return false;
		}
	}
	return true;
}

static void h_scenario_get(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const char *accept = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Accept");
	if (accept && strstr(accept, "text/csv")) { /* the transfer lines, for a warehouse */
		char *csv = NULL;
		if (flow_scenario_csv(rq->st, rq->params[0], &csv, &err)) {
			http_fail(rs, &err);
			return;
		}
		rs->status = 200;
		rs->text = csv;
		rs->content_type = "text/csv; charset=utf-8";
		return;
	}
	long after = 0, limit = FLOW_LINES_PAGE;
	if (!lines_query(rq, rs, &after, &limit))
		return;
	const int rc = flow_scenario_get(rq->st, rq->params[0], &answer, &err);
	if (!rc && json_object_get(answer, "transfers"))
		flow_scenario_page(answer, (size_t)after, (size_t)limit);
	if (!rc) {
		const char *st = json_string_value(json_object_get(answer, "status"));
		json_t *p = strcmp(st, "queued") && strcmp(st, "running")
				    ? NULL
				    : http_jobs_progress(rq->params[0]);
		if (p)
			json_object_set_new(answer, "progress", p);
	}
	answer_with(rs, rc, 200, answer, &err);
}

static void h_forecasts_status(struct http_req *rq, struct http_resp *rs)
{
	struct fl_err err = {0};
	json_t *answer = http_jobs_forecast_status(rq->st, &err);
	answer_with(rs, answer ? 0 : err.status ? err.status : FL_ENOMEM, 200, answer, &err);
}

/*
 * A scenario body run: at once (201) when its forecasts are cached and the caller did not
 * ask otherwise; else as a job (202 with Location), with Prefer: respond-async or when
 * the forecasts must be made first (work of many seconds).
 */
static void scenario_submit(struct http_req *rq, struct http_resp *rs, const json_t *body,
			    const char *rerun_of)
{
	struct fl_err err = {0};
	json_t *answer = NULL;
	char id[32];
	const char *prefer = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Prefer");
	bool job = prefer && strstr(prefer, "respond-async");
	int rc = job ? 0 : flow_scenario_needs_job(rq->st, body, &job, &err);
	if (!rc && !job) {
		rc = flow_rebalance(rq->st, body, NULL, NULL, &answer, &err);
		if (!rc && rerun_of)
			json_object_set_new(answer, "rerun_of", json_string(rerun_of));
		if (!rc)
			flow_scenario_page(answer, 0, FLOW_LINES_PAGE);
		if (!rc)
			snprintf(rs->location, sizeof(rs->location), "/v1/rebalancing/scenarios/%s",
				 json_string_value(json_object_get(answer, "scenario_id")));
		answer_with(rs, rc, 201, answer, &err);
		return;
	}
	if (rc || (rc = http_jobs_submit(rq->st, body, id, &err))) {
		if (!err.status)
			err.status = rc;
		http_fail(rs, &err);
		return;
	}
	rs->status = 202;
	rs->async = prefer && strstr(prefer, "respond-async");
	snprintf(rs->location, sizeof(rs->location), "/v1/rebalancing/scenarios/%s", id);
	rs->json = json_pack("{s:s, s:s, s:s}", "scenario_id", id, "status", "queued", "location",
			     rs->location);
	if (rs->json && rerun_of)
		json_object_set_new(rs->json, "rerun_of", json_string(rerun_of));
}

static void h_scenario_new(struct http_req *rq, struct http_resp *rs)
{
	json_t *body;
	char detail[FL_ERR_MSG_MAX + 64];
	const int status = http_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, &body,
					   detail, sizeof(detail));
	if (status) {
		http_problem(rs, status, "%s", detail);
		return;
	}
	scenario_submit(rq, rs, body, NULL);
	json_decref(body);
}

static void h_scenario_rerun(struct http_req *rq, struct http_resp *rs)
{
	json_t *body = NULL;
	struct fl_err err = {0};
	if (flow_scenario_request(rq->st, rq->params[0], &body, &err)) {
		http_fail(rs, &err);
		return;
	}
	scenario_submit(rq, rs, body, rq->params[0]);
	json_decref(body);
}

#define CANCEL_WAIT_MS 3000 /* how long DELETE waits for a running job to stop */

static void h_scenario_cancel(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const char *id = rq->params[0];
	int rc = http_jobs_cancel(rq->st, id, &err);
	if (rc == FL_ENOTFOUND) {
		/* not live: finished (nothing to cancel) or unknown */
		if (!flow_scenario_get(rq->st, id, &answer, &err))
			fl_err_set(&err, FL_ECONFLICT,
				   "scenario '%s' is %s: only a queued or running scenario can "
				   "be cancelled",
				   id, json_string_value(json_object_get(answer, "status")));
		json_decref(answer);
		http_fail(rs, &err);
		return;
	}
	for (int waited = 0; !rc; waited += 20) {
		json_decref(answer);
		answer = NULL;
		if ((rc = flow_scenario_get(rq->st, id, &answer, &err)))
			break;
		const char *st = json_string_value(json_object_get(answer, "status"));
		if (strcmp(st, "queued") && strcmp(st, "running"))
			break;
		if (waited >= CANCEL_WAIT_MS) { /* still stopping: say so, the client polls */
			rs->status = 202;
			json_object_set_new(answer, "cancel_requested", json_true());
			rs->json = answer;
			return;
		}
		const struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	answer_with(rs, rc, 200, answer, &err);
}

static void h_scenario_accept(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_scenario_accept(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

/* A JSON body that may be empty (then {}): 0, or 400 with detail. */
static int optional_json(struct http_req *rq, json_t **body, char *detail, size_t cap)
{
	if (rq->body_len == 0) {
		*body = json_object();
		return 0;
	}
	return http_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, body, detail, cap);
}

static void h_outbox(struct http_req *rq, struct http_resp *rs)
{
	long limit = page_limit(rq, rs);
	if (limit < 0)
		return;
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_outbox_list(rq->st, (size_t)limit, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_outbox_ack(struct http_req *rq, struct http_resp *rs)
{
	char *end;
	const long long id = strtoll(rq->params[0], &end, 10);
	struct fl_err err = {0};
	if (*end || id < 1) {
		http_problem(rs, 422, "id: a message id");
		return;
	}
	if (store_outbox_ack(rq->st, id, (int64_t)time(NULL), &err)) {
		http_fail(rs, &err);
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:I, s:b}", "id", (json_int_t)id, "acked", 1);
}

static void h_rules_put(struct http_req *rq, struct http_resp *rs)
{
	const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Type");
	if (!ct || (strncasecmp(ct, "text/x-lua", 10) && strncasecmp(ct, "text/plain", 10))) {
		http_problem(rs, 415, "Content-Type: must be text/x-lua or text/plain");
		return;
	}
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_rules_push(rq->st, rq->params[0], rq->body, rq->body_len,
				       http_role_name(rq->role), &answer, &err);
	answer_with(rs, rc, 201, answer, &err);
}

static void h_rules_list(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_rules_list(rq->st, NULL, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_rules_versions(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	const int rc = flow_rules_list(rq->st, rq->params[0], &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_rules_source(struct http_req *rq, struct http_resp *rs)
{
	char *end, *src = NULL;
	struct fl_err err = {0};
	const long v = strtol(rq->params[1], &end, 10);
	if (*end || v < 1 || v > 1000000000) {
		http_problem(rs, 422, "version: a version number");
		return;
	}
	if (store_rule_source(rq->st, rq->params[0], (int)v, &src, &err)) {
		http_fail(rs, &err);
		return;
	}
	rs->status = 200;
	rs->text = src;
	rs->content_type = "text/x-lua; charset=utf-8";
}

/* {"version": n} (and "limit" for replay) from the body: false (a problem set) if bad. */
static bool version_of(struct http_req *rq, struct http_resp *rs, int *version, int *limit)
{
	json_t *body;
	char detail[FL_ERR_MSG_MAX];
	int status = optional_json(rq, &body, detail, sizeof(detail));
	if (status) {
		http_problem(rs, status, "%s", detail);
		return false;
	}
	const json_t *v = json_object_get(body, "version"), *l = json_object_get(body, "limit");
	const char *key;
	json_t *x;
	bool ok = true;
	json_object_foreach(body, key, x) /* strict: version, and limit for replay */
		if (strcmp(key, "version") && (!limit || strcmp(key, "limit")))
	{
		http_problem(rs, 422, "%.64s: unknown field", key);
		json_decref(body);
		return false;
	}
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		  json_integer_value(v) > 1000000000)) {
		http_problem(rs, 422, "version: a version number");
		ok = false;
	} else if (l && (!json_is_integer(l) || json_integer_value(l) < 1 ||
			 json_integer_value(l) > 1000000)) {
		http_problem(rs, 422, "limit: a positive integer");
		ok = false;
	}
	*version = v ? (int)json_integer_value(v) : -1;
	if (limit)
		*limit = l ? (int)json_integer_value(l) : 100;
	json_decref(body);
	return ok;
}

static void h_rules_activate(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	int version;
	if (!version_of(rq, rs, &version, NULL))
		return;
	if (version < 0) {
		http_problem(rs, 422, "version: required (0 deactivates)");
		return;
	}
	const int rc = flow_rules_activate(rq->st, rq->params[0], version, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_rules_test(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	int version;
	if (!version_of(rq, rs, &version, NULL))
		return;
	const int rc = flow_rules_test(rq->st, rq->params[0], version, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

static void h_rules_replay(struct http_req *rq, struct http_resp *rs)
{
	json_t *answer = NULL;
	struct fl_err err = {0};
	int version, limit;
	if (!version_of(rq, rs, &version, &limit))
		return;
	const int rc = flow_rules_replay(rq->st, rq->params[0], version, limit, &answer, &err);
	answer_with(rs, rc, 200, answer, &err);
}

/* clang-format off */
const struct http_route http_routes[] = {
	{"GET", "/healthz", 0, false, false, h_healthz, "liveness"},
	{"GET", "/readyz", 0, false, false, h_readyz, "readiness: the store answers"},
	{"GET", "/metrics", 0, false, false, h_metrics, "Prometheus metrics"},
	{"GET", "/v1/openapi.json", 0, false, false, h_openapi, "this API's OpenAPI 3.1 document"},
	{"GET", "/", 0, false, false, http_console_page, "the web console"},
	{"GET", "/console/{file}", 0, false, false, http_console_asset,
	 "the web console's script and its chunks, style sheet and rule reference"},
	{"GET", "/v1/me", HTTP_ROLE_ANY, false, false, h_me, "the token's role"},
	{"GET", "/v1/orders/{order_id}/timeline", HTTP_ROLE_ORCHESTRATOR | HTTP_ROLE_PLANNER, false,
	 false, h_timeline,
	 "an order's timeline: decisions, events, outbox messages, published events"},
	{"GET", "/v1/nodes", HTTP_ROLE_PLANNER, false, false, h_nodes, "list nodes"},
	{"GET", "/v1/skus", HTTP_ROLE_PLANNER, false, false, h_skus, "list SKUs, paged"},
	{"GET", "/v1/inventory", HTTP_ROLE_PLANNER, false, false, h_inventory,
	 "inventory positions, paged, by node and/or SKU"},
	{"POST", "/v1/import", HTTP_ROLE_ADMIN, true, true, h_import,
	 "import CSV files (a JSON map of file name to CSV text), all or nothing"},
	{"POST", "/v1/fulfillment/decisions", HTTP_ROLE_ORCHESTRATOR, true, false, h_decide,
	 "where to ship one order: the least-cost plan at the most fill, explained"},
	{"GET", "/v1/fulfillment/decisions", HTTP_ROLE_ORCHESTRATOR | HTTP_ROLE_PLANNER, false, false,
	 h_decisions, "an order's decisions, newest first, each with its reservation (?order_id=)"},
	{"GET", "/v1/fulfillment/decisions/{decision_id}", HTTP_ROLE_ORCHESTRATOR | HTTP_ROLE_PLANNER,
	 false, false, h_decision_get, "read a logged decision back"},
	{"POST", "/v1/fulfillment/decisions/{decision_id}/release", HTTP_ROLE_ORCHESTRATOR, false,
	 false, h_release, "free a decision's reservation"},
	{"POST", "/v1/fulfillment/waves", HTTP_ROLE_ORCHESTRATOR, true, true, h_wave,
	 "many orders decided together under shared stock and capacity"},
	{"GET", "/v1/forecasts", HTTP_ROLE_PLANNER | HTTP_ROLE_ORCHESTRATOR, false, false,
	 h_forecasts, "demand forecast of one (node, SKU) with intervals and its backtest"},
	{"POST", "/v1/rebalancing/scenarios", HTTP_ROLE_PLANNER, true, false, h_scenario_new,
	 "run and store a rebalancing scenario: transfers, costs, fill rates, the solver's gap "
	 "(201), or as a job (202) with Prefer: respond-async or while its forecasts are made"},
	{"GET", "/v1/rebalancing/scenarios", HTTP_ROLE_PLANNER, false, false, h_scenarios,
	 "stored scenarios newest first (?limit=&after=&status=&name=), or two side by side "
	 "(?compare=a,b)"},
	{"POST", "/v1/webhooks", HTTP_ROLE_ADMIN, true, false, h_webhook_create,
	 "subscribe an endpoint to topics: 201 with its id and signing secret (shown once)"},
	{"GET", "/v1/webhooks", HTTP_ROLE_ADMIN, false, false, h_webhooks,
	 "the subscriptions, with their delivery counts and health"},
	{"GET", "/v1/webhooks/{id}", HTTP_ROLE_ADMIN, false, false, h_webhook_get,
	 "one subscription"},
	{"DELETE", "/v1/webhooks/{id}", HTTP_ROLE_ADMIN, false, false, h_webhook_delete,
	 "unsubscribe (its pending deliveries go with it)"},
	{"POST", "/v1/webhooks/{id}/rotate-secret", HTTP_ROLE_ADMIN, false, false, h_webhook_rotate,
	 "a new signing secret (shown once), used from the next delivery on"},
	{"GET", "/v1/webhooks/{id}/deliveries", HTTP_ROLE_ADMIN, false, false,
	 h_webhook_deliveries,
	 "deliveries (?status=pending|delivered|dead&limit=&after=): attempts, last code, next"},
	{"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", HTTP_ROLE_ADMIN, false, false,
	 h_webhook_retry, "send a dead delivery again"},
	{"POST", "/v1/webhooks/{id}/replay", HTTP_ROLE_ADMIN, true, false, h_webhook_replay,
	 "send again every event of its topics since a time ({\"since\"})"},
	{"GET", "/v1/transfers", HTTP_ROLE_PLANNER, false, false, h_transfers,
	 "transfer orders of accepted scenarios (?status=&node=&scenario_id=&limit=&after=)"},
	{"GET", "/v1/transfers/{transfer_id}", HTTP_ROLE_PLANNER, false, false, h_transfer_get,
	 "one transfer order: planned, shipped and received units, status"},
	{"POST", "/v1/transfers/{transfer_id}/cancel", HTTP_ROLE_PLANNER, false, false,
	 h_transfer_cancel, "cancel a transfer order that has shipped nothing (its units sellable again)"},
	{"GET", "/v1/forecasts/status", HTTP_ROLE_PLANNER | HTTP_ROLE_ORCHESTRATOR, false, false,
	 h_forecasts_status,
	 "the background forecast batch: running (with progress), ready or stale"},
	{"GET", "/v1/rebalancing/scenarios/{scenario_id}", HTTP_ROLE_PLANNER, false, false,
	 h_scenario_get,
	 "read a scenario back: its result when done, its status and progress while a job"},
	{"DELETE", "/v1/rebalancing/scenarios/{scenario_id}", HTTP_ROLE_PLANNER, false, false,
	 h_scenario_cancel, "cancel a queued or running scenario job"},
	{"POST", "/v1/rebalancing/scenarios/{scenario_id}/rerun", HTTP_ROLE_PLANNER, false, false,
	 h_scenario_rerun, "run a stored scenario's request again, as a new scenario"},
	{"POST", "/v1/rebalancing/scenarios/{scenario_id}/accept", HTTP_ROLE_PLANNER, false, false,
	 h_scenario_accept, "accept a scenario: its transfers become stock in transit"},
	{"POST", "/v1/events", HTTP_ROLE_ORCHESTRATOR, true, false, h_events,
	 "a shipment, node or inventory event: deduplicated, ordered, handled by the rules"},
	{"GET", "/v1/outbox", HTTP_ROLE_ORCHESTRATOR | HTTP_ROLE_PLANNER, false, false, h_outbox,
	 "notifications and discounts waiting for delivery"},
	{"POST", "/v1/outbox/{id}/ack", HTTP_ROLE_ORCHESTRATOR, false, false, h_outbox_ack,
	 "acknowledge a delivered outbox message"},
	{"GET", "/v1/rules", HTTP_ROLE_ANALYST | HTTP_ROLE_PLANNER, false, false, h_rules_list,
	 "rule sets: latest and active versions"},
	{"PUT", "/v1/rules/{name}", HTTP_ROLE_ANALYST, false, false, h_rules_put,
	 "store a new version of a rule set (Lua text) after compiling and testing it"},
	{"GET", "/v1/rules/{name}/versions/{version}", HTTP_ROLE_ANALYST | HTTP_ROLE_PLANNER, false,
	 false, h_rules_source, "a stored version's Lua source"},
	{"GET", "/v1/rules/{name}/versions", HTTP_ROLE_ANALYST | HTTP_ROLE_PLANNER, false, false, h_rules_versions,
	 "every version of a rule set"},
	{"POST", "/v1/rules/{name}/activate", HTTP_ROLE_ANALYST, false, false, h_rules_activate,
	 "make a version active (0 deactivates), atomically for every worker"},
	{"POST", "/v1/rules/{name}/test", HTTP_ROLE_ANALYST, false, false, h_rules_test,
	 "run the tests a version carries"},
	{"POST", "/v1/rules/{name}/replay", HTTP_ROLE_ANALYST, false, false, h_rules_replay,
	 "re-decide the latest logged orders with a candidate version: what would change"},
};
/* clang-format on */

const size_t http_nroutes = sizeof(http_routes) / sizeof(http_routes[0]);

_Static_assert(sizeof(http_routes) / sizeof(http_routes[0]) <= 64, "metrics hold 64 routes");

static void h_metrics(struct http_req *rq, struct http_resp *rs)
{
	(void)rq;
	rs->text = http_metrics_text();
	if (!rs->text) {
		http_problem(rs, 500, "out of memory");
		return;
	}
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
