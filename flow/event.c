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
	{"inventory.adjusted", 0}, {"transfer.shipped", 0},   {"transfer.received", 0},
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
	double delay;		   /* NAN when absent */
	char target[FL_ID_MAX];	   /* the decision it is about ("" for none) */
	const char *unknown;	   /* "unknown_order" / "unknown_node": nothing to act on */
	const char *status;	   /* applied | stale | reroute_limit | … */
	char order_buf[FL_ID_MAX]; /* order_id from the named decision, when not posted */
	bool rerouted;		   /* a reroute ran (at most one per event) */
	const char *transfer_id;   /* transfer.shipped / transfer.received: what moves */
	long transfer_qty;	   /* data.qty, 0: all that is left */
	long transfer_applied;	   /* the units moved */
};

/* Milestones at or past hand-over: the first of them consumes the reservation. */
static bool handover(const char *type)
{
	return !strcmp(type, "shipment.picked_up") || !strcmp(type, "shipment.shipped") ||
	       !strcmp(type, "shipment.in_transit") || !strcmp(type, "shipment.delivered");
}

/* n decimal digits at s into *v: false if any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* "2026-11-30T14:24:25Z", "…T14:24:25.123+01:00": RFC 3339's date-time. */
static bool rfc3339(const char *s)
{
	int y, mo, d, h, mi, se, oh, om;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	s += 19;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	return (*s == '+' || *s == '-') && digits(s + 1, 2, &oh) && s[3] == ':' &&
	       digits(s + 4, 2, &om) && !s[6] && oh <= 23 && om <= 59;
}

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

/* transfer.shipped / transfer.received: data.transfer_id (required) and data.qty (a
 * positive whole number, else all that is left); a transfer fulcrum does not know is
 * unknown_transfer. */
static int event_transfer(struct store *st, struct event *e, const json_t *data, struct fl_err *err)
{
	if (strncmp(e->type, "transfer.", 9))
		return 0;
	const json_t *id = json_object_get(data, "transfer_id"), *q = json_object_get(data, "qty");
	if (!json_is_string(id) || !json_string_length(id) || json_string_length(id) >= 32)
		return BAD("data.transfer_id: required for %s (a transfer order's id, t_…)",
			   e->type);
	if (q && (!json_is_integer(q) || json_integer_value(q) < 1 ||
		  json_integer_value(q) > 1000000000))
		return BAD("data.qty: a whole number of units from 1 to 1000000000");
	e->transfer_id = json_string_value(id);
	e->transfer_qty = q ? (long)json_integer_value(q) : 0;
	struct store_transfer_row t;
	const int rc = store_transfer_get(st, e->transfer_id, &t, err);
	if (rc == FL_ENOTFOUND)
		e->unknown = "unknown_transfer";
	return rc == FL_ENOTFOUND ? 0 : rc;
}

static int event_parse(struct store *st, struct event *e, struct fl_err *err)
{
	static const char *const known[] = {"event_id",	   "type",     "vocabulary",  "status_code",
					    "occurred_at", "order_id", "decision_id", "node",
					    "carrier",	   "service",  "data",	      NULL};
	int status = flow__strict(e->body, "", known, err);
	if (status)
		return status;
	const json_t *at = json_object_get(e->body, "occurred_at");
	if (at && !json_is_null(at) && (!json_is_string(at) || !rfc3339(json_string_value(at))))
		return BAD("occurred_at: an RFC 3339 date-time (2026-11-30T14:24:25Z)");
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
	if (e->shipment && !e->order_id && !e->decision_id)
		return BAD("order_id: required for %s (or a decision_id)", e->type);
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
	if ((status = event_transfer(st, e, data, err)))
		return status;
	if (e->node) {
		struct flow_snapshot *snap = flow_snapshot_get(st, err);
		if (!snap)
			return err && err->status ? err->status : FL_EDB;
		const bool node_known = flow_snapshot_node(snap, e->node) >= 0;
		flow_snapshot_put(snap);
		if (!node_known)
			e->unknown = "unknown_node";
	}
	return 0;
}

/*
 * The decision a shipment event is about: the one it names (whose order must be the
 * event's), else its order's latest. None: e->unknown. FL_EINVAL when they disagree.
 */
static int event_target(struct store *st, struct event *e, struct fl_err *err)
{
	struct store_decision_info d;
	int rc;
	if (!e->shipment)
		return 0;
	if (e->decision_id) {
		rc = store_decision_info(st, e->decision_id, false, &d, err);
		if (rc == FL_ENOTFOUND) {
			e->unknown = "unknown_order";
			return 0;
		}
		if (rc)
			return rc;
		if (e->order_id && strcmp(e->order_id, d.order_id))
			return BAD("decision_id: '%s' decides order '%s', not '%s'", e->decision_id,
				   d.order_id, e->order_id);
		snprintf(e->target, sizeof(e->target), "%s", d.id);
		if (!e->order_id) {
			snprintf(e->order_buf, sizeof(e->order_buf), "%s", d.order_id);
			e->order_id = e->order_buf;
		}
		return 0;
	}
	char *req = NULL, *did = NULL;
	rc = store_decision_request(st, e->order_id, &req, &did, err);
	if (rc == FL_ENOTFOUND) {
		e->unknown = "unknown_order";
		return 0;
	}
	if (!rc)
		snprintf(e->target, sizeof(e->target), "%s", did);
	free(req), free(did);
	return rc;
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

/* How many times one order may be rerouted: then a person is told instead. */
#define FLOW_REROUTES_MAX 3

static int count_reroutes(void *ctx, const struct store_decision_info *d)
{
	*(int *)ctx += d->supersedes[0] != 0;
	return 0;
}

/*
 * A reroute: the target decision decided again without the failing node or carrier,
 * as a decision that supersedes it. When the target held a reservation, the new plan is
 * reserved and the old released in one transaction (if the new plan cannot be reserved,
 * the action says so and the old reservation stays).
 */
static json_t *event_reroute(struct store *st, struct event *e, const struct rl_effect *x,
			     bool rules_fail, json_t *src)
{
	struct store_decision_info d;
	struct store_reservation res;
	struct fl_err rerr = {0};
	json_t *a = json_pack("{s:s, s:O, s:s}", "type", "reroute", "rule", src, "reason",
			      x->reason),
	       *b = NULL, *dec = NULL;
	if (store_decision_info(st, e->target, true, &d, &rerr) ||
	    store_reservation_get(st, e->target, &res, &rerr)) {
		json_object_set_new(a, "error", json_string(rerr.msg));
		return a;
	}
	if ((b = json_loads(d.request, 0, NULL)))
		json_object_set_new(b, "reserve", json_boolean(!strcmp(res.status, "reserved")));
	const struct flow_decide_opts op = {.exclude_node = x->node[0] ? x->node : NULL,
					    .exclude_carrier = x->carrier[0] ? x->carrier : NULL,
					    .supersedes = e->target,
					    .keep_units =
						    strcmp(res.status, "reserved") ? 0 : res.units,
					    .rules_fail = rules_fail};
	if (b && !flow_decide(st, b, &op, &dec, &rerr))
		json_object_set_new(a, "decision", dec);
	else
		json_object_set_new(
			a, "error",
			json_sprintf(
				"%s; decision %s stands%s", b ? rerr.msg : "bad request", e->target,
				strcmp(res.status, "reserved") ? "" : ", its reservation kept"));
	json_decref(b);
	free(d.request);
	e->rerouted = true;
	return a;
}

/* Past FLOW_REROUTES_MAX reroutes of one order: a notification for a person instead. */
static json_t *reroute_limit(struct store *st, struct event *e, json_t *src, struct event_out *out,
			     bool *limited)
{
	int n = 0;
	*limited = false;
	if (store_decisions_of_order(st, e->order_id, FLOW_DECISIONS_LISTED, count_reroutes, &n,
				     NULL) ||
	    n < FLOW_REROUTES_MAX)
		return NULL;
	*limited = true;
	e->status = "reroute_limit";
	json_t *p =
		json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:O}", "event_id", e->event_id,
			  "order_id", e->order_id, "channel", "ops", "template", "reroute_limit",
			  "fields", "decision_id", e->target, "reroutes", n, "rule", src);
	out->payloads[out->nmsgs] = p ? json_dumps(p, JSON_COMPACT) : NULL;
	out->msgs[out->nmsgs] = (struct store_outbox_msg){"notify", out->payloads[out->nmsgs]};
	if (out->payloads[out->nmsgs])
		out->nmsgs++;
	if (p)
		json_object_set_new(p, "type", json_string("notify"));
	return p;
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
static void event_action(struct store *st, struct event *e, const struct rl_effect *x,
			 bool rules_fail, struct event_out *out)
{
	json_t *src = json_pack("{s:s, s:s, s:i}", "set", x->set, "rule", x->rule, "line", x->line);
	bool limited = false;
	json_t *lim;
	if (x->kind == RL_REROUTE && e->target[0] && !e->rerouted &&
	    (lim = reroute_limit(st, e, src, out, &limited)))
		json_array_append_new(out->actions, lim);
	else if (x->kind == RL_REROUTE && e->target[0] && !e->rerouted && !limited)
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
static int event_rules(struct store *st, struct event *e, bool rules_fail, struct event_out *out,
		       struct fl_err *err)
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
	out->msgs = calloc(fx.n + 2, sizeof(*out->msgs)); /* + the reroute limit's notice */
	out->payloads = calloc(fx.n + 2, sizeof(*out->payloads));
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
static int event_record(struct store *st, struct event *e, bool stale, const struct event_out *out,
			long *consumed, json_t **answer, struct fl_err *err)
{
	char *req = json_dumps(e->body, JSON_COMPACT), *resp = json_dumps(*answer, JSON_COMPACT);
	const struct store_event_rec rec = {
		.event_id = e->event_id,
		.type = e->type,
		.order_id = e->order_id,
		.status = e->status,
		.request = req ? req : "{}",
		.response = resp ? resp : "{}",
		.rank = stale || e->unknown ? 0 : e->rank,
		.node = e->node,
		.outage = stale || e->unknown		      ? 0
			  : !strcmp(e->type, "node.outage")   ? 1
			  : !strcmp(e->type, "node.restored") ? -1
							      : 0,
		.consume_decision = out->consumed_decision,
		.msgs = out->msgs,
		.nmsgs = out->nmsgs,
		.now = (int64_t)time(NULL),
		.consumed = consumed,
		.transfer_id = e->unknown ? NULL : e->transfer_id,
		.transfer_move = e->transfer_id && !strcmp(e->type, "transfer.received")
					 ? STORE_TRANSFER_RECEIVE
					 : STORE_TRANSFER_SHIP,
		.transfer_qty = e->transfer_qty,
		.transfer_applied = &e->transfer_applied,
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

/* What the event means by itself, then the rules, unless it is stale or about nothing. */
static int event_effects(struct store *st, struct event *e, bool stale, bool rules_fail,
			 struct event_out *out, struct fl_err *err)
{
	/* the first milestone at or past hand-over consumes the reservation, whatever
	 * order milestones arrive in: a stale one too; the store settles it once */
	if (handover(e->type) && e->target[0] && !(out->consumed_decision = strdup(e->target)))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	if (stale || e->unknown)
		return 0;
	return event_rules(st, e, rules_fail, out, err);
}

int flow_event(struct store *st, const json_t *body, bool rules_fail, json_t **answer,
	       struct fl_err *err)
{
	struct event e = {.body = body, .status = "applied"};
	struct event_out out = {0};
	char *prev = NULL;
	int rc, current = 0;
	long consumed = 0;

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
	if ((rc = event_target(st, &e, err)) ||
	    (e.shipment && !e.unknown && (rc = store_milestone_get(st, e.order_id, &current, err))))
		return rc;
	const bool stale = e.shipment && e.rank < current;
	e.status = e.unknown ? e.unknown : stale ? "stale" : "applied";
	if (!(out.actions = json_array()))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	if ((rc = event_effects(st, &e, stale, rules_fail, &out, err))) {
		event_out_release(&out);
		return rc;
	}
	*answer = json_pack("{s:s, s:s, s:s, s:O}", "event_id", e.event_id, "type", e.type,
			    "status", e.status, "actions", out.actions);
	rc = *answer ? event_record(st, &e, stale, &out, &consumed, answer, err)
		     : fl_err_set(err, FL_ENOMEM, "out of memory");
	if (!rc && e.transfer_applied > 0 &&
	    strcmp(json_string_value(json_object_get(*answer, "status")), "duplicate"))
		json_array_append_new(json_object_get(*answer, "actions"),
				      json_pack("{s:s, s:s, s:I}", "type",
						!strcmp(e.type, "transfer.received")
							? "transfer_received"
							: "transfer_shipped",
						"transfer_id", e.transfer_id, "units",
						(json_int_t)e.transfer_applied));
	if (!rc && consumed > 0 &&
	    strcmp(json_string_value(json_object_get(*answer, "status")), "duplicate"))
		json_array_append_new(json_object_get(*answer, "actions"),
				      json_pack("{s:s, s:s, s:I}", "type", "reservation_consumed",
						"decision_id", e.target, "units",
						(json_int_t)consumed));
	event_out_release(&out);
	return rc;
}

static int outbox_item(void *ctx, int64_t id, const char *event_id, const char *kind,
		       const char *payload, int64_t created_at)
{
	json_t *items = ctx;
	json_t *p = json_loads(payload, 0, NULL);
	char when[32];
	flow__rfc3339(created_at, when);
	json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:o, s:s}", "id", (json_int_t)id,
					       "event_id", event_id, "kind", kind, "payload",
					       p ? p : json_object(), "created_at", when));
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
