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

#include "flow/internal.h"

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

#define BAD(...) fl_err_set(err, FL_EINVAL, __VA_ARGS__)

/* An event as posted, validated and normalised. */
struct event {
	const json_t *body;
	const char *event_id, *order_id, *decision_id, *node, *carrier, *service, *type;
	int rank;
	bool shipment;
	double delay; /* NAN when absent */
};

static const char *opt_id(const json_t *body, const char *key, int *status, struct fl_err *err)
{
	const json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= FL_ID_MAX)
		*status = BAD("%s: a string of 1 to %d bytes", key, FL_ID_MAX - 1);
	return json_string_value(v);
}

/* The type: given, or mapped from a carrier's vocabulary and status code. */
static int event_type(struct event *e, struct fl_err *err)
{
	e->type = json_string_value(json_object_get(e->body, "type"));
	if (!e->type) {
		const char *voc = json_string_value(json_object_get(e->body, "vocabulary"));
		const char *code = json_string_value(json_object_get(e->body, "status_code"));
		if (!voc || !code)
			return BAD("type: required (or a vocabulary and a status_code to map)");
		e->type = normalise(voc, code);
		if (!e->type)
			return BAD("status_code: '%.40s' is not in the %.20s vocabulary", code,
				   voc);
	}
	e->rank = rank_of(e->type);
	if (e->rank < 0)
		return BAD("type: '%.60s' is not in the event taxonomy", e->type);
	e->shipment = !strncmp(e->type, "shipment.", 9);
	return 0;
}

static int event_parse(struct store *st, struct event *e, struct fl_err *err)
{
	int status = 0;
	e->event_id = opt_id(e->body, "event_id", &status, err);
	e->order_id = opt_id(e->body, "order_id", &status, err);
	e->decision_id = opt_id(e->body, "decision_id", &status, err);
	e->node = opt_id(e->body, "node", &status, err);
	e->carrier = opt_id(e->body, "carrier", &status, err);
	e->service = opt_id(e->body, "service", &status, err);
	if (status)
		return status;
	if (!e->event_id)
		return BAD("event_id: required");
	if ((status = event_type(e, err)))
		return status;
	if (e->shipment && !e->order_id)
		return BAD("order_id: required for %s", e->type);
	if (!strncmp(e->type, "node.", 5) && !e->node)
		return BAD("node: required for %s", e->type);
	const json_t *data = json_object_get(e->body, "data");
	if (data && !json_is_object(data))
		return BAD("data: must be an object");
	e->delay = NAN;
	const json_t *dd = json_object_get(data, "delay_days");
	if (dd) {
		if (!json_is_number(dd) || json_number_value(dd) < 0 || json_number_value(dd) > 365)
			return BAD("data.delay_days: a number from 0 to 365");
		e->delay = json_number_value(dd);
	}
	if (!strcmp(e->type, "shipment.delayed") && isnan(e->delay))
		return BAD("data.delay_days: required for shipment.delayed");
	if (e->node) {
		struct flow_snapshot *snap = flow_snapshot_get(st, err);
		const bool known = snap && flow_snapshot_node(snap, e->node) >= 0;
		flow_snapshot_put(snap);
		if (!known)
			return BAD("node: '%s' is not a node", e->node);
	}
	return 0;
}

/* What the rules' actions leave to record: outbox messages, sized from the effects. */
struct event_out {
	json_t *actions;
	struct store_outbox_msg *msgs;
	char **payloads;
	size_t nmsgs;
	char *consumed_decision;
};

static void event_out_release(struct event_out *out)
{
	for (size_t i = 0; i < out->nmsgs; i++)
		free(out->payloads[i]);
	free(out->payloads), free(out->msgs), free(out->consumed_decision);
	json_decref(out->actions);
}

/* shipment.shipped consumes the decision's reservation. */
static void event_shipped(struct store *st, const struct event *e, struct event_out *out)
{
	char *req = NULL, *did = NULL;
	if (e->decision_id) {
		out->consumed_decision = strdup(e->decision_id);
	} else if (!store_decision_request(st, e->order_id, &req, &did, NULL)) {
		out->consumed_decision = did;
		free(req);
	}
	if (out->consumed_decision)
		json_array_append_new(out->actions,
				      json_pack("{s:s, s:s}", "type", "reservation_consumed",
						"decision_id", out->consumed_decision));
}

/* A reroute: the order decided again without the failing node or carrier. The new
 * decision is not reserved (the original's reservation stands until released). */
static json_t *event_reroute(struct store *st, const struct event *e, const struct rl_effect *x,
			     bool rules_fail, json_t *src)
{
	char *req = NULL, *did = NULL;
	struct fl_err rerr = {0};
	json_t *a = json_pack("{s:s, s:O}", "type", "reroute", "rule", src);
	if (!store_decision_request(st, e->order_id, &req, &did, &rerr)) {
		json_t *b = json_loads(req, 0, NULL), *dec = NULL;
		if (b)
			json_object_set_new(b, "reserve", json_false());
		const struct flow_decide_opts op = {.exclude_node = x->node[0] ? x->node : NULL,
						    .exclude_carrier =
							    x->carrier[0] ? x->carrier : NULL,
						    .rules_fail = rules_fail};
		if (b && !flow_decide(st, b, &op, &dec, &rerr))
			json_object_set_new(a, "decision", dec);
		else
			json_object_set_new(a, "error", json_string(b ? rerr.msg : "bad request"));
		json_decref(b);
	} else {
		json_object_set_new(a, "error", json_string(rerr.msg));
	}
	free(req), free(did);
	json_object_set_new(a, "reason", json_string(x->reason));
	return a;
}

/* A notify or discount: queued in the outbox and shown among the actions. */
static void event_message(const struct event *e, const struct rl_effect *x, json_t *src,
			  struct event_out *out)
{
	json_t *p = json_pack("{s:s, s:s?, s:s, s:O}", "event_id", e->event_id, "order_id",
			      e->order_id, "channel", x->channel, "rule", src);
	if (x->kind == RL_NOTIFY) {
		json_object_set_new(p, "template", json_string(x->template_));
		json_object_set_new(p, "fields", flow_effect_fields(x));
	} else {
		json_object_set_new(p, "amount", json_real(x->amount));
		json_object_set_new(p, "reason", json_string(x->reason));
	}
	out->payloads[out->nmsgs] = json_dumps(p, JSON_COMPACT);
	out->msgs[out->nmsgs] =
		(struct store_outbox_msg){rl_kind_name(x->kind), out->payloads[out->nmsgs]};
	if (out->payloads[out->nmsgs])
		out->nmsgs++;
	json_object_set_new(p, "type", json_string(rl_kind_name(x->kind)));
	json_array_append_new(out->actions, p);
}

/* One effect of on_event as an action. */
static void event_action(struct store *st, const struct event *e, const struct rl_effect *x,
			 bool rules_fail, struct event_out *out)
{
	json_t *src = json_pack("{s:s, s:s, s:i}", "set", x->set, "rule", x->rule, "line", x->line);
	if (x->kind == RL_REROUTE && e->order_id)
		json_array_append_new(out->actions, event_reroute(st, e, x, rules_fail, src));
	else if (x->kind == RL_NOTIFY || x->kind == RL_DISCOUNT)
		event_message(e, x, src, out);
	else if (x->kind == RL_HOLD)
		json_array_append_new(out->actions, json_pack("{s:s, s:s, s:O}", "type", "hold",
							      "reason", x->reason, "rule", src));
	else if (x->kind == RL_FAILED)
		json_array_append_new(out->actions,
				      json_pack("{s:s, s:s, s:O}", "type", "rule_failed", "reason",
						x->reason, "rule", src));
	json_decref(src);
}

/* The active rule sets' on_event, and each effect as an action. */
static int event_rules(struct store *st, const struct event *e, bool rules_fail,
		       struct event_out *out, struct fl_err *err)
{
	struct flow_rules *rs = flow_rules_get(st, err);
	struct rl_effects fx = {0};
	struct rl_engine *eng = NULL;
	int rc = 0;
	if (!rs)
		return err && err->status ? err->status : FL_EDB;
	if (rs->n) {
		/* the engine may not know the network yet: give it the snapshot's */
		struct flow_snapshot *snap = flow_snapshot_get(st, err);
		eng = flow_rules_engine(snap, err);
		flow_snapshot_put(snap);
		if (!eng) {
			flow_rules_put(rs);
			fl_err_prefix(err, "rules");
			return err && err->status ? err->status : FL_ERULE;
		}
	}
	const struct rl_event ev = {e->event_id, e->type,    e->order_id, e->decision_id,
				    e->node,	 e->carrier, e->service,  e->delay};
	for (int i = 0; i < rs->n; i++)
		if (!flow_rules_ensure(eng, &rs->v[i], &fx))
			rl_on_event(eng, rs->v[i].key, &ev, NULL, &fx);
	out->msgs = calloc(fx.n + 1, sizeof(*out->msgs));
	out->payloads = calloc(fx.n + 1, sizeof(*out->payloads));
	if (!out->msgs || !out->payloads)
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < fx.n; i++)
		event_action(st, e, &fx.v[i], rules_fail, out);
	rl_effects_release(&fx);
	flow_rules_put(rs);
	return rc;
}

static json_t *duplicate(const struct event *e)
{
	return json_pack("{s:s, s:s, s:s, s:[]}", "event_id", e->event_id, "type", e->type,
			 "status", "duplicate", "actions");
}

/* The event, its answer and its messages in one transaction. */
static int event_record(struct store *st, const struct event *e, bool stale,
			const struct event_out *out, json_t **answer, struct fl_err *err)
{
	char *req = json_dumps(e->body, JSON_COMPACT), *resp = json_dumps(*answer, JSON_COMPACT);
	const struct store_event_rec rec = {
		.event_id = e->event_id,
		.type = e->type,
		.order_id = e->order_id,
		.status = stale ? "stale" : "applied",
		.request = req ? req : "{}",
		.response = resp ? resp : "{}",
		.rank = stale ? 0 : e->rank,
		.node = e->node,
		.outage = stale				      ? 0
			  : !strcmp(e->type, "node.outage")   ? 1
			  : !strcmp(e->type, "node.restored") ? -1
							      : 0,
		.consume_decision = out->consumed_decision,
		.msgs = out->msgs,
		.nmsgs = out->nmsgs,
		.now = (int64_t)time(NULL),
	};
	int rc = store_event_record(st, &rec, err);
	free(req), free(resp);
	if (rc == FL_ECONFLICT) { /* the same event_id won a race: that one is the answer */
		json_decref(*answer);
		*answer = duplicate(e);
		return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	if (rc) {
		json_decref(*answer);
		*answer = NULL;
	}
	return rc;
}

int flow_event(struct store *st, const json_t *body, bool rules_fail, json_t **answer,
	       struct fl_err *err)
{
	struct event e = {.body = body};
	struct event_out out = {0};
	char *prev = NULL;
	int rc, current = 0;

	*answer = NULL;
	if ((rc = event_parse(st, &e, err)))
		return rc;
	/* the same event again: nothing runs */
	rc = store_event_get(st, e.event_id, &prev, err);
	free(prev);
	if (rc == 0)
		return (*answer = duplicate(&e)) ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
	if (rc != FL_ENOTFOUND)
		return rc;
	if (e.shipment && (rc = store_milestone_get(st, e.order_id, &current, err)))
		return rc;
	const bool stale = e.shipment && e.rank < current;
	if (!(out.actions = json_array()))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	if (!stale) {
		if (!strcmp(e.type, "shipment.shipped"))
			event_shipped(st, &e, &out);
		if ((rc = event_rules(st, &e, rules_fail, &out, err))) {
			event_out_release(&out);
			return rc;
		}
	}
	*answer = json_pack("{s:s, s:s, s:s, s:O}", "event_id", e.event_id, "type", e.type,
			    "status", stale ? "stale" : "applied", "actions", out.actions);
	rc = *answer ? event_record(st, &e, stale, &out, answer, err)
		     : fl_err_set(err, FL_ENOMEM, "out of memory");
	event_out_release(&out);
	return rc;
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

int flow_outbox_list(struct store *st, size_t limit, json_t **answer, struct fl_err *err)
{
	json_t *items = json_array();
	int rc;
	*answer = NULL;
	if (!items)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	if ((rc = store_outbox_list(st, limit, outbox_item, items, err))) {
		json_decref(items);
		return rc;
	}
	*answer = json_pack("{s:o}", "items", items);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}
