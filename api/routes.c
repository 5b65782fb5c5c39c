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

#include "api.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

static void h_healthz(struct api_req *rq, struct api_resp *rs)
{
	(void)rq;
	rs->status = 200;
	rs->json = json_pack("{s:s}", "status", "ok");
}

static void h_readyz(struct api_req *rq, struct api_resp *rs)
{
	struct fl_err err = {0};
	if (store_ping(rq->st, &err)) {
		api_problem(rs, 503, "store: %s", err.msg);
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:s, s:i}", "status", "ready", "schema", store_schema_version());
}

static void h_metrics(struct api_req *rq, struct api_resp *rs);

static void h_openapi(struct api_req *rq, struct api_resp *rs)
{
	(void)rq;
	rs->status = 200;
	rs->text = malloc(api_openapi_json_len + 1);
	if (!rs->text) {
		api_problem(rs, 500, "out of memory");
		return;
	}
	memcpy(rs->text, api_openapi_json, api_openapi_json_len);
	rs->text[api_openapi_json_len] = '\0';
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

static void h_nodes(struct api_req *rq, struct api_resp *rs)
{
	struct fl_err err = {0};
	struct api_snapshot *snap = api_snapshot_get(rq->st, &err); /* nodes are reference data */
	if (!snap) {
		api_problem(rs, 503, "store: %s", err.msg);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < snap->nnodes; i++)
		json_array_append_new(items, node_json(&snap->nodes[i]));
	api_snapshot_put(snap);
	rs->status = 200;
	rs->json = json_pack("{s:o}", "items", items);
}

/* ?limit=: 1..PAGE_MAX, default PAGE_DEFAULT; -1 (and a 422 set) when invalid. */
static long page_limit(struct api_req *rq, struct api_resp *rs)
{
	const char *s = api_query(rq, "limit");
	char *end;
	if (!s)
		return PAGE_DEFAULT;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > PAGE_MAX) {
		api_problem(rs, 422, "limit: must be an integer from 1 to %d", PAGE_MAX);
		return -1;
	}
	return v;
}

static bool id_param_ok(struct api_req *rq, struct api_resp *rs, const char *name)
{
	const char *v = api_query(rq, name);
	if (v && (strlen(v) == 0 || strlen(v) >= FL_ID_MAX)) {
		api_problem(rs, 422, "%s: must be 1 to %d bytes", name, FL_ID_MAX - 1);
		return false;
	}
	return true;
}

static void h_skus(struct api_req *rq, struct api_resp *rs)
{
	struct fl_sku *skus;
	size_t n;
	bool more;
	struct fl_err err = {0};
	long limit = page_limit(rq, rs);
	if (limit < 0 || !id_param_ok(rq, rs, "after"))
		return;
	const char *after = api_query(rq, "after");
	if (store_skus_page(rq->st, after ? after : "", (size_t)limit, &skus, &n, &more, &err)) {
		api_problem(rs, 500, "store: %s", err.msg);
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

static void h_inventory(struct api_req *rq, struct api_resp *rs)
{
	struct fl_inventory *inv;
	size_t n;
	bool more;
	struct fl_err err = {0};
	long limit = page_limit(rq, rs);
	if (limit < 0 || !id_param_ok(rq, rs, "node") || !id_param_ok(rq, rs, "sku") ||
	    !id_param_ok(rq, rs, "after_node") || !id_param_ok(rq, rs, "after_sku"))
		return;
	const char *an = api_query(rq, "after_node"), *ak = api_query(rq, "after_sku");
	if ((an == NULL) != (ak == NULL)) {
		api_problem(rs, 422, "after_node, after_sku: give both or neither");
		return;
	}
	if (store_inventory_page(rq->st, api_query(rq, "node"), api_query(rq, "sku"), an, ak,
				 (size_t)limit, &inv, &n, &more, &err)) {
		api_problem(rs, 500, "store: %s", err.msg);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		long atp = inv[i].on_hand - inv[i].reserved - inv[i].safety_stock;
		json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "node",
						       inv[i].node, "sku", inv[i].sku, "on_hand",
						       (json_int_t)inv[i].on_hand, "safety_stock",
						       (json_int_t)inv[i].safety_stock, "reserved",
						       (json_int_t)inv[i].reserved, "atp",
						       (json_int_t)(atp > 0 ? atp : 0)));
	}
	rs->status = 200;
	rs->json = json_pack("{s:o, s:o}", "items", items, "next",
			     more && n ? json_pack("{s:s, s:s}", "after_node", inv[n - 1].node,
						   "after_sku", inv[n - 1].sku)
				       : json_null());
	free(inv);
}

int api_import_json(struct store *st, const json_t *map, json_t **result, char *detail, size_t cap)
{
	struct store_import_src src = {{NULL}};
	struct store_import_stats stats;
	struct fl_err err = {0};
	const char *key;
	json_t *val;
	int status = 0;

	*result = NULL;
	if (json_object_size(map) == 0) {
		snprintf(detail, cap,
			 "body: name at least one of nodes.csv, skus.csv, zones.csv,"
			 " rates.csv, lanes.csv, inventory.csv, sales.csv");
		return 422;
	}
	json_object_foreach((json_t *)map, key, val)
	{
		int k = store_file_kind_of(key);
		if (k < 0) {
			snprintf(detail, cap, "%s: not one of the import files", key);
			status = 422;
			goto out;
		}
		if (!json_is_string(val)) {
			snprintf(detail, cap, "%s: must be a string of CSV text", key);
			status = 422;
			goto out;
		}
		size_t len = json_string_length(val);
		src.files[k] =
			len ? fmemopen((void *)json_string_value(val), len, "rb") : tmpfile();
		if (!src.files[k]) {
			snprintf(detail, cap, "%s: cannot read", key);
			status = 500;
			goto out;
		}
	}
	if (store_import(st, &src, &stats, NULL, NULL, &err)) {
		snprintf(detail, cap, "%s", err.msg);
		status = err.status == FL_EINVAL || err.status == FL_ELIMIT ? 422 : 500;
		goto out;
	}
	json_t *rows = json_object();
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (src.files[k])
			json_object_set_new(rows, store_file_name((enum store_file_kind)k),
					    json_integer((json_int_t)stats.rows[k]));
	*result = json_pack("{s:o, s:I}", "rows", rows, "total", (json_int_t)stats.total);
out:
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (src.files[k])
			fclose(src.files[k]);
	return status;
}

/* A flow that takes a parsed JSON body: 0 and *result, or an HTTP status and detail. */
typedef int body_flow_fn(struct store *st, const json_t *body, json_t **result, char *detail,
			 size_t cap);

/* The shape every JSON-body route shares: parse (400s), run the flow, answer 200. */
static void json_route(struct api_req *rq, struct api_resp *rs, body_flow_fn *flow)
{
	json_t *body, *result;
	char detail[FL_ERR_MSG_MAX + 64];
	int status = api_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, &body, detail,
				    sizeof(detail));
	if (!status) {
		status = flow(rq->st, body, &result, detail, sizeof(detail));
		json_decref(body);
	}
	if (status) {
		api_problem(rs, status, "%s", detail);
		return;
	}
	rs->status = 200;
	rs->json = result;
}

static int decide_flow(struct store *st, const json_t *body, json_t **result, char *detail,
		       size_t cap)
{
	return api_decide(st, body, NULL, result, detail, cap);
}

static int wave_flow(struct store *st, const json_t *body, json_t **result, char *detail,
		     size_t cap)
{
	return api_wave(st, body, result, detail, cap);
}

static void h_wave(struct api_req *rq, struct api_resp *rs)
{
	json_route(rq, rs, wave_flow);
}

static void h_import(struct api_req *rq, struct api_resp *rs)
{
	json_route(rq, rs, api_import_json);
}

static void h_decide(struct api_req *rq, struct api_resp *rs)
{
	json_route(rq, rs, decide_flow);
}

static void h_decision_get(struct api_req *rq, struct api_resp *rs)
{
	char *text;
	struct fl_err err = {0};
	int rc = store_decision_get(rq->st, rq->params[0], &text, &err);
	if (rc) {
		api_problem(rs, rc == FL_ENOTFOUND ? 404 : 503, "%s", err.msg);
		return;
	}
	rs->json = json_loads(text, 0, NULL);
	free(text);
	if (!rs->json) {
		api_problem(rs, 500, "stored decision is unreadable");
		return;
	}
	rs->status = 200;
}

static void h_release(struct api_req *rq, struct api_resp *rs)
{
	long units;
	struct fl_err err = {0};
	int rc = store_decision_release(rq->st, rq->params[0], &units, &err);
	if (rc) {
		api_problem(rs,
			    rc == FL_ENOTFOUND	 ? 404
			    : rc == FL_ECONFLICT ? 409
						 : 503,
			    "%s", err.msg);
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:s, s:I}", "decision_id", rq->params[0], "released_units",
			     (json_int_t)units);
}

static void h_forecasts(struct api_req *rq, struct api_resp *rs)
{
	const char *node = api_query(rq, "node"), *sku = api_query(rq, "sku");
	const char *hs = api_query(rq, "horizon"), *ls = api_query(rq, "level");
	const char *ms = api_query(rq, "method");
	struct fc_opts o = {.horizon = 28, .level = 0.9, .period = 7, .method = FC_AUTO};
	char *end, detail[1024];
	if (!id_param_ok(rq, rs, "node") || !id_param_ok(rq, rs, "sku"))
		return;
	if (!node || !sku) {
		api_problem(rs, 422, "%s: required", node ? "sku" : "node");
		return;
	}
	if (hs) {
		const long h = strtol(hs, &end, 10);
		if (*end || h < 1 || h > FC_HORIZON_MAX) {
			api_problem(rs, 422, "horizon: an integer from 1 to %d", FC_HORIZON_MAX);
			return;
		}
		o.horizon = (int)h;
	}
	if (ls) {
		o.level = strtod(ls, &end);
		if (*end || !(o.level > 0 && o.level < 1)) {
			api_problem(rs, 422, "level: a number between 0 and 1 (exclusive)");
			return;
		}
	}
	if (ms) {
		const int m = fc_method_parse(ms);
		if (m < 0) {
			api_problem(rs, 422, "method: '%.40s' is not a forecasting method", ms);
			return;
		}
		o.method = (enum fc_method)m;
	}
	json_t *answer;
	const int status = api_forecast_one(rq->st, node, sku, &o, &answer, detail, sizeof(detail));
	if (status) {
		api_problem(rs, status, "%s", detail);
		return;
	}
	rs->status = 200;
	rs->json = answer;
}

static void h_scenario_new(struct api_req *rq, struct api_resp *rs)
{
	json_t *body, *answer;
	char detail[1024];
	int status = api_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, &body, detail,
				    sizeof(detail));
	if (!status) {
		status = api_rebalance(rq->st, body, NULL, false, &answer, detail, sizeof(detail));
		json_decref(body);
	}
	if (status) {
		api_problem(rs, status, "%s", detail);
		return;
	}
	rs->status = 201;
	rs->json = answer;
}

static void h_scenarios(struct api_req *rq, struct api_resp *rs)
{
	const char *cmp = api_query(rq, "compare");
	char a[FL_ID_MAX + 1], detail[1024];
	const char *comma = cmp ? strchr(cmp, ',') : NULL;
	if (!comma || comma == cmp || !comma[1] || strchr(comma + 1, ',') ||
	    (size_t)(comma - cmp) > FL_ID_MAX) {
		api_problem(rs, 422, "compare: two scenario ids, as compare=a,b");
		return;
	}
	snprintf(a, sizeof(a), "%.*s", (int)(comma - cmp), cmp);
	json_t *answer;
	const int status =
		api_scenario_compare(rq->st, a, comma + 1, &answer, detail, sizeof(detail));
	if (status) {
		api_problem(rs, status, "%s", detail);
		return;
	}
	rs->status = 200;
	rs->json = answer;
}

static void h_scenario_get(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer;
	char detail[1024];
	const int status = api_scenario_get(rq->st, rq->params[0], &answer, detail, sizeof(detail));
	if (status) {
		api_problem(rs, status, "%s", detail);
		return;
	}
	rs->status = 200;
	rs->json = answer;
}

static void h_scenario_accept(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer;
	char detail[1024];
	const int status =
		api_scenario_accept(rq->st, rq->params[0], &answer, detail, sizeof(detail));
	if (status) {
		api_problem(rs, status, "%s", detail);
		return;
	}
	rs->status = 200;
	rs->json = answer;
}

/* A handler's common ending: a flow's status, detail and answer. */
static void answer_with(struct api_resp *rs, int status, int ok_status, json_t *answer,
			const char *detail)
{
	if (status) {
		api_problem(rs, status, "%s", detail);
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

/* A JSON body that may be empty (then {}): 0, or 400 with detail. */
static int optional_json(struct api_req *rq, json_t **body, char *detail, size_t cap)
{
	if (rq->body_len == 0) {
		*body = json_object();
		return 0;
	}
	return api_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, body, detail, cap);
}

static void h_events(struct api_req *rq, struct api_resp *rs)
{
	json_t *body, *answer = NULL;
	char detail[1024];
	int status = api_json_parse(rq->body, rq->body_len, rq->cfg->json_depth, &body, detail,
				    sizeof(detail));
	if (!status) {
		status = api_event(rq->st, body, &answer, detail, sizeof(detail));
		json_decref(body);
	}
	answer_with(rs, status, 200, answer, detail);
}

static void h_outbox(struct api_req *rq, struct api_resp *rs)
{
	long limit = page_limit(rq, rs);
	if (limit < 0)
		return;
	json_t *answer = NULL;
	char detail[512];
	const int status = api_outbox_list(rq->st, (size_t)limit, &answer, detail, sizeof(detail));
	answer_with(rs, status, 200, answer, detail);
}

static void h_outbox_ack(struct api_req *rq, struct api_resp *rs)
{
	char *end;
	const long long id = strtoll(rq->params[0], &end, 10);
	struct fl_err err = {0};
	if (*end || id < 1) {
		api_problem(rs, 422, "id: a message id");
		return;
	}
	const int rc = store_outbox_ack(rq->st, id, (int64_t)time(NULL), &err);
	if (rc) {
		api_problem(rs, rc == FL_ENOTFOUND ? 404 : 503, "%s", err.msg);
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:I, s:b}", "id", (json_int_t)id, "acked", 1);
}

static void h_rules_put(struct api_req *rq, struct api_resp *rs)
{
	const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Type");
	if (!ct || (strncasecmp(ct, "text/x-lua", 10) && strncasecmp(ct, "text/plain", 10))) {
		api_problem(rs, 415, "Content-Type: must be text/x-lua or text/plain");
		return;
	}
	json_t *answer = NULL;
	char detail[1024];
	const int status = api_rules_push(rq->st, rq->params[0], rq->body, rq->body_len,
					  api_role_name(rq->role), &answer, detail, sizeof(detail));
	answer_with(rs, status, 201, answer, detail);
}

static void h_rules_list(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer = NULL;
	char detail[512];
	const int status = api_rules_list(rq->st, NULL, &answer, detail, sizeof(detail));
	answer_with(rs, status, 200, answer, detail);
}

static void h_rules_versions(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer = NULL;
	char detail[512];
	const int status = api_rules_list(rq->st, rq->params[0], &answer, detail, sizeof(detail));
	answer_with(rs, status, 200, answer, detail);
}

/* {"version": n} (and "limit" for replay) from the body. */
static int version_of(struct api_req *rq, int *version, int *limit, char *detail, size_t cap)
{
	json_t *body;
	int status = optional_json(rq, &body, detail, cap);
	if (status)
		return status;
	const json_t *v = json_object_get(body, "version"), *l = json_object_get(body, "limit");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		  json_integer_value(v) > 1000000000)) {
		snprintf(detail, cap, "version: a version number");
		status = 422;
	} else if (l && (!json_is_integer(l) || json_integer_value(l) < 1 ||
			 json_integer_value(l) > 1000000)) {
		snprintf(detail, cap, "limit: a positive integer");
		status = 422;
	}
	*version = v ? (int)json_integer_value(v) : -1;
	if (limit)
		*limit = l ? (int)json_integer_value(l) : 100;
	json_decref(body);
	return status;
}

static void h_rules_activate(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer = NULL;
	char detail[512];
	int version;
	int status = version_of(rq, &version, NULL, detail, sizeof(detail));
	if (!status && version < 0) {
		snprintf(detail, sizeof(detail), "version: required (0 deactivates)");
		status = 422;
	}
	if (!status)
		status = api_rules_activate(rq->st, rq->params[0], version, &answer, detail,
					    sizeof(detail));
	answer_with(rs, status, 200, answer, detail);
}

static void h_rules_test(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer = NULL;
	char detail[512];
	int version;
	int status = version_of(rq, &version, NULL, detail, sizeof(detail));
	if (!status)
		status = api_rules_test(rq->st, rq->params[0], version, &answer, detail,
					sizeof(detail));
	answer_with(rs, status, 200, answer, detail);
}

static void h_rules_replay(struct api_req *rq, struct api_resp *rs)
{
	json_t *answer = NULL;
	char detail[512];
	int version, limit;
	int status = version_of(rq, &version, &limit, detail, sizeof(detail));
	if (!status)
		status = api_rules_replay(rq->st, rq->params[0], version, limit, &answer, detail,
					  sizeof(detail));
	answer_with(rs, status, 200, answer, detail);
}

/* clang-format off */
const struct api_route api_routes[] = {
	{"GET", "/healthz", 0, false, false, h_healthz, "liveness"},
	{"GET", "/readyz", 0, false, false, h_readyz, "readiness: the store answers"},
	{"GET", "/metrics", 0, false, false, h_metrics, "Prometheus metrics"},
	{"GET", "/v1/openapi.json", 0, false, false, h_openapi, "this API's OpenAPI 3.1 document"},
	{"GET", "/v1/nodes", API_ROLE_PLANNER, false, false, h_nodes, "list nodes"},
	{"GET", "/v1/skus", API_ROLE_PLANNER, false, false, h_skus, "list SKUs, paged"},
	{"GET", "/v1/inventory", API_ROLE_PLANNER, false, false, h_inventory,
	 "inventory positions, paged, by node and/or SKU"},
	{"POST", "/v1/import", API_ROLE_ADMIN, true, true, h_import,
	 "import CSV files (a JSON map of file name to CSV text), all or nothing"},
	{"POST", "/v1/fulfillment/decisions", API_ROLE_ORCHESTRATOR, true, false, h_decide,
	 "where to ship one order: the least-cost plan at the most fill, explained"},
	{"GET", "/v1/fulfillment/decisions/{decision_id}", API_ROLE_ORCHESTRATOR | API_ROLE_PLANNER,
	 false, false, h_decision_get, "read a logged decision back"},
	{"POST", "/v1/fulfillment/decisions/{decision_id}/release", API_ROLE_ORCHESTRATOR, false,
	 false, h_release, "free a decision's reservation"},
	{"POST", "/v1/fulfillment/waves", API_ROLE_ORCHESTRATOR, true, true, h_wave,
	 "many orders decided together under shared stock and capacity"},
	{"GET", "/v1/forecasts", API_ROLE_PLANNER | API_ROLE_ORCHESTRATOR, false, false,
	 h_forecasts, "demand forecast of one (node, SKU) with intervals and its backtest"},
	{"POST", "/v1/rebalancing/scenarios", API_ROLE_PLANNER, true, false, h_scenario_new,
	 "run and store a rebalancing scenario: transfers, costs, fill rates, the solver's gap"},
	{"GET", "/v1/rebalancing/scenarios", API_ROLE_PLANNER, false, false, h_scenarios,
	 "two stored scenarios side by side (?compare=a,b)"},
	{"GET", "/v1/rebalancing/scenarios/{scenario_id}", API_ROLE_PLANNER, false, false,
	 h_scenario_get, "read a stored scenario back"},
	{"POST", "/v1/rebalancing/scenarios/{scenario_id}/accept", API_ROLE_PLANNER, false, false,
	 h_scenario_accept, "accept a scenario: its transfers become stock in transit"},
	{"POST", "/v1/events", API_ROLE_ORCHESTRATOR, true, false, h_events,
	 "a shipment, node or inventory event: deduplicated, ordered, handled by the rules"},
	{"GET", "/v1/outbox", API_ROLE_ORCHESTRATOR, false, false, h_outbox,
	 "notifications and discounts waiting for delivery"},
	{"POST", "/v1/outbox/{id}/ack", API_ROLE_ORCHESTRATOR, false, false, h_outbox_ack,
	 "acknowledge a delivered outbox message"},
	{"GET", "/v1/rules", API_ROLE_ANALYST, false, false, h_rules_list,
	 "rule sets: latest and active versions"},
	{"PUT", "/v1/rules/{name}", API_ROLE_ANALYST, false, false, h_rules_put,
	 "store a new version of a rule set (Lua text) after compiling and testing it"},
	{"GET", "/v1/rules/{name}/versions", API_ROLE_ANALYST, false, false, h_rules_versions,
	 "every version of a rule set"},
	{"POST", "/v1/rules/{name}/activate", API_ROLE_ANALYST, false, false, h_rules_activate,
	 "make a version active (0 deactivates), atomically for every worker"},
	{"POST", "/v1/rules/{name}/test", API_ROLE_ANALYST, false, false, h_rules_test,
	 "run the tests a version carries"},
	{"POST", "/v1/rules/{name}/replay", API_ROLE_ANALYST, false, false, h_rules_replay,
	 "re-decide the latest logged orders with a candidate version: what would change"},
};
/* clang-format on */

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

_Static_assert(sizeof(api_routes) / sizeof(api_routes[0]) <= 64, "metrics hold 64 routes");

static void h_metrics(struct api_req *rq, struct api_resp *rs)
{
	(void)rq;
	rs->text = api_metrics_text();
	if (!rs->text) {
		api_problem(rs, 500, "out of memory");
		return;
	}
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

int api_cmd_routes(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (size_t i = 0; i < api_nroutes; i++)
		printf("%s %s\n", api_routes[i].method, api_routes[i].pattern);
	return 0;
}
