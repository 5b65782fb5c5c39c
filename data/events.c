/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * events.c — events with their milestones and outages, and the outbox of messages an
 * orchestrator delivers at least once.
 */
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_impl.h"

/* ---- events ---- */

int store_event_get(struct store *st, const char *event_id, char **response, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s, "SELECT response FROM events WHERE event_id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, event_id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	*response = NULL;
	if (step == SQLITE_ROW) {
		*response = strdup((const char *)sqlite3_column_text(s, 0));
		if (!*response)
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	} else {
		rc = step == SQLITE_DONE ? FL_ENOTFOUND : store_dberr(st, err, "read event");
	}
	sqlite3_finalize(s);
	return rc;
}

int store_milestone_get(struct store *st, const char *order_id, int *rank, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s, "SELECT rank FROM milestones WHERE order_id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	*rank = step == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read milestone");
	sqlite3_finalize(s);
	return rc;
}

int store_event_record(struct store *st, const struct store_event_rec *ev, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if ((rc = store_prepare(st, &s,
				"INSERT INTO events(event_id, type, order_id, status, request,"
				" response, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
				" ON CONFLICT (event_id) DO NOTHING",
				err)))
		goto out;
	sqlite3_bind_text(s, 1, ev->event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ev->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ev->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ev->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, ev->request, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, ev->response, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, ev->now);
	if ((rc = store__step_done(st, s, err, "record event")))
		goto out;
	if (sqlite3_changes(st->db) != 1) {
		rc = fl_err_set(err, FL_ECONFLICT, "event '%s' is already recorded", ev->event_id);
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (ev->rank > 0 && ev->order_id) {
		if ((rc = store_prepare(
			     st, &s,
			     "INSERT INTO milestones(order_id, rank, type) VALUES (?1, ?2, ?3)"
			     " ON CONFLICT (order_id) DO UPDATE SET rank = ?2, type = ?3"
			     " WHERE rank < ?2",
			     err)))
			goto out;
		sqlite3_bind_text(s, 1, ev->order_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, ev->rank);
		sqlite3_bind_text(s, 3, ev->type, -1, SQLITE_STATIC);
		if ((rc = store__step_done(st, s, err, "record milestone")))
			goto out;
		sqlite3_finalize(s);
		s = NULL;
	}
	if (ev->outage && ev->node) {
		if ((rc = store_prepare(st, &s,
					ev->outage > 0
						? "INSERT INTO outages(node, event_id, since)"
						  " VALUES (?1, ?2, ?3) ON CONFLICT (node)"
						  " DO NOTHING"
						: "DELETE FROM outages WHERE node = ?1"
						  " AND ?2 IS NOT NULL AND ?3 IS NOT NULL",
					err)))
			goto out;
		sqlite3_bind_text(s, 1, ev->node, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, ev->event_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, ev->now);
		if ((rc = store__step_done(st, s, err, "record outage")))
			goto out;
		sqlite3_finalize(s);
		s = NULL;
	}
	long units = 0;
	if (ev->transfer_id &&
	    (rc = store__transfer_move(st, ev->transfer_id, ev->transfer_move, ev->transfer_qty,
				       ev->now, ev->transfer_applied, err)))
		goto out;
	if (ev->consume_decision &&
	    (rc = store_reservations_settle(st, ev->consume_decision, true, &units, err)))
		goto out;
	if (ev->consumed)
		*ev->consumed = units; /* settled only once: a later milestone finds none open */
	if (ev->nmsgs) {
		if ((rc = store_prepare(st, &s,
					"INSERT INTO outbox(event_id, kind, payload, created_at)"
					" VALUES (?1, ?2, ?3, ?4)",
					err)))
			goto out;
		for (size_t i = 0; i < ev->nmsgs && !rc; i++) {
			sqlite3_bind_text(s, 1, ev->event_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, ev->msgs[i].kind, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 3, ev->msgs[i].payload, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 4, ev->now);
			rc = store__step_done(st, s, err, "queue message");
			/* pushed too, to whoever subscribes to rule.notify / rule.discount */
			char topic[48];
			snprintf(topic, sizeof(topic), "rule.%s", ev->msgs[i].kind);
			if (!rc)
				rc = store__publish(st, topic, ev->order_id, ev->msgs[i].payload,
						    err);
		}
	}
out:
	sqlite3_finalize(s);
	return store_write_end(st, rc, err);
}

int store_outages(struct store *st, struct store_outage **out, size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_OUTAGES, "SELECT node, event_id FROM outages ORDER BY node",
			    &s, err);
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = fl_grow((void **)out, &cap, *n + 1, sizeof(**out), STORE_ROWS_MAX))) {
			fl_err_set(err, rc, "outages: %s", fl_strerror(rc));
			break;
		}
		store__col_text(s, 0, (*out)[*n].node, sizeof((*out)[*n].node));
		store__col_text(s, 1, (*out)[*n].event_id, sizeof((*out)[*n].event_id));
		++*n;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read outages");
	sqlite3_reset(s);
	return rc;
}

int store_outbox_list(struct store *st, size_t limit, store_outbox_fn *fn, void *ctx,
		      struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT id, event_id, kind, payload, created_at FROM outbox"
			       " WHERE acked_at IS NULL ORDER BY id LIMIT ?1",
			       err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = fn(ctx, sqlite3_column_int64(s, 0),
			     (const char *)sqlite3_column_text(s, 1),
			     (const char *)sqlite3_column_text(s, 2),
			     (const char *)sqlite3_column_text(s, 3), sqlite3_column_int64(s, 4))))
			break;
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read outbox");
	sqlite3_finalize(s);
	return rc;
}

int store_outbox_ack(struct store *st, int64_t id, int64_t now, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(
		      st, &s, "UPDATE outbox SET acked_at = coalesce(acked_at, ?2) WHERE id = ?1",
		      err))) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, now);
		rc = store__step_done(st, s, err, "acknowledge message");
		if (!rc && sqlite3_changes(st->db) != 1)
			rc = fl_err_set(err, FL_ENOTFOUND, "no outbox message %lld", (long long)id);
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}
