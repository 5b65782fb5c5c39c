/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The decision log as the lifecycle reads it: one decision with its state, an order's. */
#include <stdlib.h>
#include <string.h>

#include "flow/internal.h"

/* Overlay what changed since the answer: the reservation, the decisions around it. */
static int with_state(struct store *st, json_t *ans, const struct store_decision_info *d,
		      struct fl_err *err)
{
	json_t *res = flow__reservation_json(st, d->id, err);
	if (!res)
		return err && err->status ? err->status : FL_EDB;
	json_object_set_new(ans, "reservation", res);
	if (d->supersedes[0])
		json_object_set_new(ans, "supersedes", json_string(d->supersedes));
	if (d->superseded_by[0])
		json_object_set_new(ans, "superseded_by", json_string(d->superseded_by));
	return 0;
}

/* "locations": where each node the answer names is, for a map of the decision */
static void with_locations(struct store *st, json_t *ans)
{
	struct flow_snapshot *snap = flow_snapshot_get(st, NULL);
	json_t *loc = json_object(), *x;
	const json_t *ex = json_object_get(ans, "explanation");
	const json_t *lists[] = {json_object_get(ans, "shipments"),
				 json_object_get(ex, "alternatives"),
				 json_object_get(ex, "excluded")};
	size_t i;
	for (size_t k = 0; snap && loc && k < 3; k++)
		json_array_foreach(lists[k], i, x)
		{
			const char *id = json_string_value(json_object_get(x, "node"));
			const long n = id ? flow_snapshot_node(snap, id) : -1;
			if (n >= 0)
				json_object_set_new(loc, id,
						    json_pack("{s:f, s:f, s:s}", "lat",
							      snap->nodes[n].lat, "lon",
							      snap->nodes[n].lon, "name",
							      snap->nodes[n].name));
		}
	flow_snapshot_put(snap);
	json_object_set_new(ans, "locations", loc);
}

int flow_decision_get(struct store *st, const char *decision_id, json_t **answer,
		      struct fl_err *err)
{
	struct store_decision_info d;
	char *text;
	int rc;
	*answer = NULL;
	if ((rc = store_decision_info(st, decision_id, true, &d, err)))
		return rc;
	if ((rc = store_decision_get(st, decision_id, &text, err))) {
		free(d.request);
		return rc;
	}
	*answer = json_loads(text, 0, NULL);
	free(text);
	/* where the order was going (from its request), for a map of the shipments */
	json_t *req = d.request ? json_loads(d.request, 0, NULL) : NULL;
	free(d.request);
	if (*answer && json_object_get(req, "destination"))
		json_object_set(*answer, "destination", json_object_get(req, "destination"));
	json_decref(req);
	if (!*answer)
		return fl_err_set(err, FL_EDB, "stored decision '%s' is unreadable", decision_id);
	flow__money_view(*answer);
	with_locations(st, *answer);
	if ((rc = with_state(st, *answer, &d, err))) {
		json_decref(*answer);
		*answer = NULL;
	}
	return rc;
}

struct listing {
	struct store *st;
	json_t *items;
	struct fl_err *err;
	bool more; /* older decisions than those listed exist */
};

static int list_one(void *ctx, const struct store_decision_info *d)
{
	struct listing *l = ctx;
	if (json_array_size(l->items) == FLOW_DECISIONS_LISTED) { /* the one past the page */
		l->more = true;
		return 0;
	}
	char when[32];
	flow__rfc3339(d->created_at, when);
	json_t *it = json_pack("{s:s, s:s, s:s}", "decision_id", d->id, "status", d->status,
			       "created_at", when);
	if (!it || json_array_append_new(l->items, it))
		return fl_err_set(l->err, FL_ENOMEM, "out of memory");
	return with_state(l->st, it, d, l->err);
}

int flow_decisions_list(struct store *st, const char *order_id, json_t **answer, struct fl_err *err)
{
	struct listing l = {st, json_array(), err, false};
	int rc;
	*answer = NULL;
	if (!order_id || !*order_id || strlen(order_id) >= FL_ID_MAX)
		rc = fl_err_set(err, FL_EINVAL, "order_id: required, 1 to %d bytes", FL_ID_MAX - 1);
	else if (!l.items)
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	else
		rc = store_decisions_of_order(st, order_id, FLOW_DECISIONS_LISTED + 1, list_one, &l,
					      err);
	if (!rc && !(*answer = json_pack("{s:s, s:O, s:b}", "order_id", order_id, "decisions",
					 l.items, "more", l.more)))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	json_decref(l.items);
	return rc;
}

struct timeline {
	json_t *entries;
	struct fl_err *err;
	bool more;
};

static int timeline_one(void *ctx, int64_t at, const char *kind, const char *id, const char *facts)
{
	struct timeline *t = ctx;
	if (json_array_size(t->entries) == FLOW_TIMELINE_LISTED) {
		t->more = true; /* the one past the page (the store reads one more) */
		return 0;
	}
	char when[32];
	flow__rfc3339(at, when);
	json_t *e = json_loads(facts, 0, NULL);
	if (!e)
		return fl_err_set(t->err, FL_EDB, "an order's timeline entry is unreadable");
	if (json_object_set_new(e, "at", json_string(when)) ||
	    json_object_set_new(e, "kind", json_string(kind)) ||
	    json_object_set_new(e, "id", json_string(id)) || json_array_append_new(t->entries, e))
		return fl_err_set(t->err, FL_ENOMEM, "out of memory");
	return 0;
}

int flow_order_timeline(struct store *st, const char *order_id, json_t **answer, struct fl_err *err)
{
	struct timeline t = {json_array(), err, false};
	int rc;
	*answer = NULL;
	if (!order_id || !*order_id || strlen(order_id) >= FL_ID_MAX)
		rc = fl_err_set(err, FL_EINVAL, "order_id: 1 to %d bytes", FL_ID_MAX - 1);
	else if (!t.entries)
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	else
		rc = store_order_timeline(st, order_id, FLOW_TIMELINE_LISTED + 1, timeline_one, &t,
					  err);
	if (!rc && !json_array_size(t.entries))
		rc = fl_err_set(err, FL_ENOTFOUND, "order '%s': nothing decided or recorded",
				order_id);
	if (!rc && !(*answer = json_pack("{s:s, s:O, s:b}", "order_id", order_id, "entries",
					 t.entries, "more", t.more)))
		rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	json_decref(t.entries);
	return rc;
}
