/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The handle-an-event flow (ARCHITECTURE.md): normalise the carrier's status into the
 * taxonomy → deduplicate by event_id → refuse milestone regressions (stale) → apply what
 * the event means (shipped consumes the reservation; an outage takes a node out of
 * sourcing until restored) → the active rule sets' on_event → actions: a reroute decides
 * the order again with the exclusions, notify and discount are queued in the outbox →
 * everything recorded in one transaction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"

/* The taxonomy (API.md) with each shipment milestone's rank: a lower rank after a
 * higher one is stale. Node and inventory events have no rank. */
static const struct {
	const char *type;
	int rank;
} taxonomy[] = {
	{"shipment.shipped", 1},   {"shipment.picked_up", 2}, {"shipment.in_transit", 3},
	{"shipment.delayed", 3},   {"shipment.exception", 3}, {"shipment.failed_delivery", 4},
	{"shipment.delivered", 5}, {"node.outage", 0},	      {"node.restored", 0},
	{"inventory.adjusted", 0},
};

/*
 * Carrier status vocabularies (documented in the README): a code as the carrier sends
 * it, matched without regard to case, and the taxonomy type it means.
 */
static const struct {
	const char *vocabulary, *code, *type;
} vocab[] = {
	{"generic", "DL", "shipment.delivered"},
	{"generic", "Delivered", "shipment.delivered"},
	{"generic", "OD", "shipment.in_transit"}, /* out for delivery */
	{"generic", "Out for delivery", "shipment.in_transit"},
	{"generic", "IT", "shipment.in_transit"},
	{"generic", "In transit", "shipment.in_transit"},
	{"generic", "PU", "shipment.picked_up"},
	{"generic", "Picked up", "shipment.picked_up"},
	{"generic", "SH", "shipment.shipped"},
	{"generic", "Shipped", "shipment.shipped"},
	{"generic", "DY", "shipment.delayed"},
	{"generic", "Delayed", "shipment.delayed"},
	{"generic", "EX", "shipment.exception"},
	{"generic", "Exception", "shipment.exception"},
	{"generic", "FD", "shipment.failed_delivery"},
	{"generic", "Delivery attempted", "shipment.failed_delivery"},
	{"ups", "D", "shipment.delivered"},
	{"ups", "I", "shipment.in_transit"},
	{"ups", "P", "shipment.picked_up"},
	{"ups", "M", "shipment.shipped"}, /* manifest: label created */
	{"ups", "X", "shipment.exception"},
	{"ups", "RS", "shipment.failed_delivery"}, /* returned to shipper */
	{"fedex", "DL", "shipment.delivered"},
	{"fedex", "IT", "shipment.in_transit"},
	{"fedex", "OD", "shipment.in_transit"},
	{"fedex", "PU", "shipment.picked_up"},
	{"fedex", "OC", "shipment.shipped"}, /* order created */
	{"fedex", "DE", "shipment.exception"},
	{"fedex", "DY", "shipment.delayed"},
	{"fedex", "CA", "shipment.failed_delivery"},
	{"usps", "Delivered", "shipment.delivered"},
	{"usps", "In Transit", "shipment.in_transit"},
	{"usps", "Out for Delivery", "shipment.in_transit"},
	{"usps", "Accepted", "shipment.picked_up"},
	{"usps", "Pre-Shipment", "shipment.shipped"},
	{"usps", "Alert", "shipment.exception"},
	{"usps", "Delivery Attempted", "shipment.failed_delivery"},
};

static int rank_of(const char *type)
{
	for (size_t i = 0; i < sizeof(taxonomy) / sizeof(taxonomy[0]); i++)
		if (!strcmp(taxonomy[i].type, type))
			return taxonomy[i].rank;
	return -1;
}

/* The taxonomy type of a carrier code, or NULL. */
static const char *normalise(const char *vocabulary, const char *code)
{
	for (size_t i = 0; i < sizeof(vocab) / sizeof(vocab[0]); i++)
		if (!strcasecmp(vocab[i].vocabulary, vocabulary) &&
		    !strcasecmp(vocab[i].code, code))
			return vocab[i].type;
	return NULL;
}

#define BAD(...) (snprintf(detail, cap, __VA_ARGS__), 422)

static const char *opt_id(const json_t *body, const char *key, int *status, char *detail,
			  size_t cap)
{
	const json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= FL_ID_MAX)
		*status = BAD("%s: a string of 1 to %d bytes", key, FL_ID_MAX - 1);
	return json_string_value(v);
}

int api_event(struct store *st, const json_t *body, json_t **answer, char *detail, size_t cap)
{
	struct fl_err err = {0};
	int status = 0;
	*answer = NULL;

	/* validate and normalise */
	const char *event_id = opt_id(body, "event_id", &status, detail, cap);
	const char *order_id = opt_id(body, "order_id", &status, detail, cap);
	const char *decision_id = opt_id(body, "decision_id", &status, detail, cap);
	const char *node = opt_id(body, "node", &status, detail, cap);
	const char *carrier = opt_id(body, "carrier", &status, detail, cap);
	const char *service = opt_id(body, "service", &status, detail, cap);
	if (status)
		return status;
	if (!event_id)
		return BAD("event_id: required");
	const json_t *tv = json_object_get(body, "type");
	const char *type = json_string_value(tv);
	if (!type) {
		const char *voc = json_string_value(json_object_get(body, "vocabulary"));
		const char *code = json_string_value(json_object_get(body, "status_code"));
		if (!voc || !code)
			return BAD("type: required (or a vocabulary and a status_code to map)");
		type = normalise(voc, code);
		if (!type)
			return BAD("status_code: '%.40s' is not in the %.20s vocabulary", code,
				   voc);
	}
	const int rank = rank_of(type);
	if (rank < 0)
		return BAD("type: '%.60s' is not in the event taxonomy", type);
	const bool shipment = !strncmp(type, "shipment.", 9);
	if (shipment && !order_id)
		return BAD("order_id: required for %s", type);
	if (!strncmp(type, "node.", 5) && !node)
		return BAD("node: required for %s", type);
	const json_t *data = json_object_get(body, "data");
	if (data && !json_is_object(data))
		return BAD("data: must be an object");
	double delay = NAN;
	const json_t *dd = json_object_get(data, "delay_days");
	if (dd) {
		if (!json_is_number(dd) || json_number_value(dd) < 0 || json_number_value(dd) > 365)
			return BAD("data.delay_days: a number from 0 to 365");
		delay = json_number_value(dd);
	}
	if (!strcmp(type, "shipment.delayed") && isnan(delay))
		return BAD("data.delay_days: required for shipment.delayed");
	if (node) {
		struct api_snapshot *snap = api_snapshot_get(st, &err);
		const bool known = snap && api_snapshot_node(snap, node) >= 0;
		api_snapshot_put(snap);
		if (!known)
			return BAD("node: '%s' is not a node", node);
	}

	/* the same event again: nothing runs */
	char *prev = NULL;
	int rc = store_event_get(st, event_id, &prev, &err);
	if (rc == 0) {
		free(prev);
		*answer = json_pack("{s:s, s:s, s:s, s:[]}", "event_id", event_id, "type", type,
				    "status", "duplicate", "actions");
		return *answer ? 0 : 500;
	}
	if (rc != FL_ENOTFOUND) {
		snprintf(detail, cap, "store: %s", err.msg);
		return 503;
	}
	int current = 0;
	if (shipment && store_milestone_get(st, order_id, &current, &err)) {
		snprintf(detail, cap, "store: %s", err.msg);
		return 503;
	}
	const bool stale = shipment && rank < current;
	json_t *actions = json_array();
	struct store_outbox_msg msgs[64];
	char *payloads[64];
	size_t nmsgs = 0;
	char *consumed_decision = NULL;
	const char *estatus = stale ? "stale" : "applied";

	if (!stale) {
		/* what the event means by itself */
		if (!strcmp(type, "shipment.shipped")) {
			char *req = NULL, *did = NULL;
			if (decision_id) {
				consumed_decision = strdup(decision_id);
			} else if (!store_decision_request(st, order_id, &req, &did, &err)) {
				consumed_decision = did;
				free(req);
			}
			if (consumed_decision)
				json_array_append_new(actions,
						      json_pack("{s:s, s:s}", "type",
								"reservation_consumed",
								"decision_id", consumed_decision));
		}
		/* then the rules */
		struct api_rules *rs = api_rules_get(st, &err);
		struct rl_effects fx = {0};
		struct rl_engine *eng = rs && rs->n ? api_rules_engine(NULL, &err) : NULL;
		if (!rs || (rs->n && !eng)) {
			api_rules_put(rs);
			json_decref(actions);
			free(consumed_decision);
			snprintf(detail, cap, "rules: %s", err.msg);
			return 503;
		}
		if (rs->n) {
			/* the engine may not know the network yet: give it the snapshot's */
			struct api_snapshot *snap = api_snapshot_get(st, &err);
			if (snap)
				eng = api_rules_engine(snap, &err);
			api_snapshot_put(snap);
		}
		const struct rl_event ev = {event_id, type,    order_id, decision_id,
					    node,     carrier, service,	 delay};
		for (int i = 0; eng && i < rs->n; i++)
			if (!api_rules_ensure(eng, &rs->v[i], &fx))
				rl_on_event(eng, rs->v[i].key, &ev, NULL, &fx);
		for (size_t i = 0; i < fx.n; i++) {
			const struct rl_effect *x = &fx.v[i];
			json_t *src = json_pack("{s:s, s:s, s:i}", "set", x->set, "rule", x->rule,
						"line", x->line);
			if (x->kind == RL_REROUTE && order_id) {
				char *req = NULL, *did = NULL;
				json_t *a = json_pack("{s:s, s:O}", "type", "reroute", "rule", src);
				if (!store_decision_request(st, order_id, &req, &did, &err)) {
					json_t *b = json_loads(req, 0, NULL), *dec = NULL;
					char d2[512];
					/* a new decision without the failing node or carrier; it is
					 * not reserved (the original's reservation stands until
					 * released) */
					if (b)
						json_object_set_new(b, "reserve", json_false());
					const struct api_decide_opts op = {
						.exclude_node = x->node[0] ? x->node : NULL,
						.exclude_carrier =
							x->carrier[0] ? x->carrier : NULL};
					if (b &&
					    !api_decide_ex(st, b, NULL, &op, &dec, d2, sizeof(d2)))
						json_object_set_new(a, "decision", dec);
					else
						json_object_set_new(
							a, "error",
							json_string(b ? d2 : "bad request"));
					json_decref(b);
				} else {
					json_object_set_new(a, "error", json_string(err.msg));
				}
				free(req), free(did);
				json_object_set_new(a, "reason", json_string(x->reason));
				json_array_append_new(actions, a);
			} else if ((x->kind == RL_NOTIFY || x->kind == RL_DISCOUNT) && nmsgs < 64) {
				json_t *p = json_pack("{s:s, s:s?, s:s, s:O}", "event_id", event_id,
						      "order_id", order_id, "channel", x->channel,
						      "rule", src);
				if (x->kind == RL_NOTIFY) {
					json_object_set_new(p, "template",
							    json_string(x->template_));
					json_object_set_new(p, "fields", api_effect_fields(x));
				} else {
					json_object_set_new(p, "amount", json_real(x->amount));
					json_object_set_new(p, "reason", json_string(x->reason));
				}
				payloads[nmsgs] = json_dumps(p, JSON_COMPACT);
				msgs[nmsgs] = (struct store_outbox_msg){rl_kind_name(x->kind),
									payloads[nmsgs]};
				if (payloads[nmsgs])
					nmsgs++;
				json_object_set_new(p, "type", json_string(rl_kind_name(x->kind)));
				json_array_append_new(actions, p);
			} else if (x->kind == RL_HOLD) {
				json_array_append_new(actions,
						      json_pack("{s:s, s:s, s:O}", "type", "hold",
								"reason", x->reason, "rule", src));
			} else if (x->kind == RL_FAILED) {
				json_array_append_new(actions, json_pack("{s:s, s:s, s:O}", "type",
									 "rule_failed", "reason",
									 x->reason, "rule", src));
			}
			json_decref(src);
		}
		rl_effects_release(&fx);
		api_rules_put(rs);
	}
	*answer = json_pack("{s:s, s:s, s:s, s:o}", "event_id", event_id, "type", type, "status",
			    estatus, "actions", actions);
	char *req = json_dumps(body, JSON_COMPACT), *resp = json_dumps(*answer, JSON_COMPACT);
	const struct store_event_rec rec = {
		.event_id = event_id,
		.type = type,
		.order_id = order_id,
		.status = estatus,
		.request = req ? req : "{}",
		.response = resp ? resp : "{}",
		.rank = stale ? 0 : rank,
		.node = node,
		.outage = stale				   ? 0
			  : !strcmp(type, "node.outage")   ? 1
			  : !strcmp(type, "node.restored") ? -1
							   : 0,
		.consume_decision = consumed_decision,
		.msgs = msgs,
		.nmsgs = nmsgs,
		.now = (int64_t)time(NULL),
	};
	rc = store_event_record(st, &rec, &err);
	free(req), free(resp), free(consumed_decision);
	for (size_t i = 0; i < nmsgs; i++)
		free(payloads[i]);
	if (rc == FL_ECONFLICT) { /* the same event_id won a race: that one is the answer */
		json_decref(*answer);
		*answer = json_pack("{s:s, s:s, s:s, s:[]}", "event_id", event_id, "type", type,
				    "status", "duplicate", "actions");
		return 0;
	}
	if (rc) {
		json_decref(*answer);
		*answer = NULL;
		snprintf(detail, cap, "store: %s", err.msg);
		return 503;
	}
	return 0;
}

static int outbox_item(void *ctx, int64_t id, const char *event_id, const char *kind,
		       const char *payload, int64_t created_at)
{
	json_t *items = ctx;
	json_t *p = json_loads(payload, 0, NULL);
	json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:o, s:I}", "id", (json_int_t)id,
					       "event_id", event_id, "kind", kind, "payload",
					       p ? p : json_object(), "created_at",
					       (json_int_t)created_at));
	return 0;
}

int api_outbox_list(struct store *st, size_t limit, json_t **answer, char *detail, size_t cap)
{
	struct fl_err err = {0};
	json_t *items = json_array();
	if (store_outbox_list(st, limit, outbox_item, items, &err)) {
		json_decref(items);
		snprintf(detail, cap, "store: %s", err.msg);
		return 503;
	}
	*answer = json_pack("{s:o}", "items", items);
	return 0;
}
