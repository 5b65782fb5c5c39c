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

int flow_decision_get(struct store *st, const char *decision_id, json_t **answer,
		      struct fl_err *err)
{
	struct store_decision_info d;
	char *text;
	int rc;
	*answer = NULL;
	if ((rc = store_decision_info(st, decision_id, false, &d, err)) ||
	    (rc = store_decision_get(st, decision_id, &text, err)))
		return rc;
	*answer = json_loads(text, 0, NULL);
	free(text);
	if (!*answer)
		return fl_err_set(err, FL_EDB, "stored decision '%s' is unreadable", decision_id);
	flow__money_view(*answer);
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
