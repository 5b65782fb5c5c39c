/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * webhooks.c — outbound events: the events_out log, written inside the transaction of the
 * change it reports (store__publish), one delivery per subscription of its topic, the
 * subscriptions, and what the delivery worker reads and records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store.h"
#include "store_impl.h"

void store__json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; s && *s; s++) {
		const unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

bool store__listened(struct store *st, const char *topic)
{
	sqlite3_stmt *s;
	if (store_stmt(st, STMT_HOOKS_OF_TOPIC,
		       "SELECT EXISTS (SELECT 1 FROM webhooks w WHERE EXISTS (SELECT 1 FROM"
		       " json_each(w.topics) WHERE value = ?1 OR value = '*'))",
		       &s, NULL))
		return true; /* when in doubt, publish: publishing says what failed */
	sqlite3_bind_text(s, 1, topic, -1, SQLITE_STATIC);
	const bool any = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return any;
}

int store__publish_stream(struct store *st, const char *topic, const char *order_id, FILE *fp,
			  char **text, struct fl_err *err)
{
	if (!fp) {
		free(*text);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	const bool bad = ferror(fp) != 0;
	if (fclose(fp) || bad) {
		free(*text);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	const int rc = store__publish(st, topic, order_id, *text, err);
	free(*text);
	*text = NULL;
	return rc;
}

int store__publish(struct store *st, const char *topic, const char *order_id, const char *data,
		   struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc;
	if (!store__listened(st, topic))
		return 0; /* nobody listens: nothing to keep */
	unsigned char r[8];
	char id[32], when[32], *body = NULL;
	size_t len = 0;
	sqlite3_randomness(sizeof(r), r);
	snprintf(id, sizeof(id), "ev_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5], r[6], r[7]);
	const time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	FILE *fp = open_memstream(&body, &len);
	if (!fp)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	fprintf(fp,
		"{\"event_id\":\"%s\",\"topic\":\"%s\",\"occurred_at\":\"%s\",\"order_id\":", id,
		topic, when);
	if (order_id)
		store__json_str(fp, order_id);
	else
		fputs("null", fp);
	fprintf(fp, ",\"data\":%s}", data);
	if (fclose(fp)) {
		free(body);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	if (!(rc = store_stmt(st, STMT_EVENT_OUT,
			      "INSERT INTO events_out(event_id, topic, order_id, body, created_at)"
			      " VALUES (?1, ?2, ?3, ?4, ?5)",
			      &s, err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, topic, -1, SQLITE_STATIC);
		if (order_id)
			sqlite3_bind_text(s, 3, order_id, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 3);
		sqlite3_bind_text(s, 4, body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (int64_t)now);
		rc = store__step_done(st, s, err, "record an outbound event");
	}
	free(body);
	/* the event's seq, bound: last_insert_rowid() would move with each delivery row */
	const int64_t seq = sqlite3_last_insert_rowid(st->db);
	if (rc || (rc = store_stmt(st, STMT_DELIVERIES_NEW,
				   "INSERT INTO deliveries(hook, seq, order_id, created_at)"
				   " SELECT w.id, ?4, ?2, ?3 FROM webhooks w"
				   " WHERE EXISTS (SELECT 1 FROM json_each(w.topics)"
				   " WHERE value = ?1 OR value = '*')",
				   &s, err)))
		return rc;
	sqlite3_bind_text(s, 1, topic, -1, SQLITE_STATIC);
	if (order_id)
		sqlite3_bind_text(s, 2, order_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int64(s, 3, (int64_t)now * 1000);
	sqlite3_bind_int64(s, 4, seq);
	return store__step_done(st, s, err, "queue deliveries");
}

/* ---- subscriptions ---- */

#define HOOK_COLS                                                                              \
	"w.id, w.url, w.topics, w.description, w.created_at, w.failures, w.paused_until,"      \
	" (SELECT count(*) FROM deliveries d WHERE d.hook = w.id AND d.status = 'pending'),"   \
	" (SELECT count(*) FROM deliveries d WHERE d.hook = w.id AND d.status = 'delivered')," \
	" (SELECT count(*) FROM deliveries d WHERE d.hook = w.id AND d.status = 'dead')"

static void hook_row(sqlite3_stmt *s, struct store_webhook *w)
{
	memset(w, 0, sizeof(*w));
	store__col_text(s, 0, w->id, sizeof(w->id));
	store__col_text(s, 1, w->url, sizeof(w->url));
	store__col_text(s, 2, w->topics, sizeof(w->topics));
	store__col_text(s, 3, w->description, sizeof(w->description));
	w->created_at = sqlite3_column_int64(s, 4);
	w->failures = sqlite3_column_int(s, 5);
	w->paused_until = sqlite3_column_int64(s, 6);
	w->pending = sqlite3_column_int64(s, 7);
	w->delivered = sqlite3_column_int64(s, 8);
	w->dead = sqlite3_column_int64(s, 9);
}

int store_webhook_create(struct store *st, const struct store_webhook *w, const char *secret,
			 struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s,
				 "INSERT INTO webhooks(id, url, topics, description, secret,"
				 " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				 err))) {
		sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, w->url, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, w->topics, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, w->description, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, secret, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, w->created_at);
		rc = store__step_done(st, s, err, "create webhook");
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

int store_webhook_get(struct store *st, const char *id, struct store_webhook *out,
		      struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s, "SELECT " HOOK_COLS " FROM webhooks w WHERE w.id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	const int step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		hook_row(s, out);
	else
		rc = step == SQLITE_DONE ? fl_err_set(err, FL_ENOTFOUND, "no webhook '%s'", id)
					 : store_dberr(st, err, "read webhook");
	sqlite3_finalize(s);
	return rc;
}

int store_webhooks_list(struct store *st, store_webhook_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(
		st, &s, "SELECT " HOOK_COLS " FROM webhooks w ORDER BY w.created_at, w.id", err);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_webhook w;
		hook_row(s, &w);
		if ((rc = fn(ctx, &w)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "list webhooks");
	sqlite3_finalize(s);
	return rc;
}

/* One write of sql with ?1 = id (and ?2 = text when given): FL_ENOTFOUND if it changed
 * nothing. */
static int hook_write(struct store *st, const char *sql, const char *id, const char *text,
		      struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s, sql, err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		if (text)
			sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
		rc = store__step_done(st, s, err, "update webhook");
		sqlite3_finalize(s);
		if (!rc && sqlite3_changes(st->db) == 0)
			rc = fl_err_set(err, FL_ENOTFOUND, "no webhook '%s'", id);
	}
	return store_write_end(st, rc, err);
}

int store_webhook_delete(struct store *st, const char *id, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(st, &s, "DELETE FROM deliveries WHERE hook = ?1", err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		rc = store__step_done(st, s, err, "delete deliveries");
		sqlite3_finalize(s);
	}
	if (!rc && !(rc = store_prepare(st, &s, "DELETE FROM webhooks WHERE id = ?1", err))) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		rc = store__step_done(st, s, err, "delete webhook");
		sqlite3_finalize(s);
		if (!rc && sqlite3_changes(st->db) == 0)
			rc = fl_err_set(err, FL_ENOTFOUND, "no webhook '%s'", id);
	}
	return store_write_end(st, rc, err);
}

int store_webhook_secret(struct store *st, const char *id, const char *secret, struct fl_err *err)
{
	return hook_write(st, "UPDATE webhooks SET secret = ?2 WHERE id = ?1", id, secret, err);
}

/* ---- deliveries ---- */

#define DELIVERY_COLS                                                                       \
	"d.id, d.hook, e.event_id, e.topic, d.status, d.attempts, d.next_at,"               \
	" coalesce(d.last_code, 0), coalesce(d.last_error, ''), coalesce(d.updated_at, 0)," \
	" d.created_at, coalesce(d.order_id, ''), e.body, w.url, w.secret"

static void delivery_row(sqlite3_stmt *s, struct store_delivery *d)
{
	d->id = sqlite3_column_int64(s, 0);
	store__col_text(s, 1, d->hook, sizeof(d->hook));
	store__col_text(s, 2, d->event_id, sizeof(d->event_id));
	store__col_text(s, 3, d->topic, sizeof(d->topic));
	store__col_text(s, 4, d->status, sizeof(d->status));
	d->attempts = sqlite3_column_int(s, 5);
	d->next_at = sqlite3_column_int64(s, 6);
	d->last_code = sqlite3_column_int(s, 7);
	store__col_text(s, 8, d->last_error, sizeof(d->last_error));
	d->updated_at = sqlite3_column_int64(s, 9);
	d->created_at = sqlite3_column_int64(s, 10);
	store__col_text(s, 11, d->order_id, sizeof(d->order_id));
	d->body = (const char *)sqlite3_column_text(s, 12);
	d->url = (const char *)sqlite3_column_text(s, 13);
	d->secret = (const char *)sqlite3_column_text(s, 14);
}

static int deliveries_each(struct store *st, sqlite3_stmt *s, store_delivery_fn *fn, void *ctx,
			   struct fl_err *err)
{
	int rc = 0, step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_delivery d;
		delivery_row(s, &d);
		if ((rc = fn(ctx, &d)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read deliveries");
	sqlite3_finalize(s);
	return rc;
}

int store_deliveries_list(struct store *st, const char *hook, const char *status, int64_t after,
			  size_t limit, store_delivery_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc =
		store_prepare(st, &s,
			      "SELECT " DELIVERY_COLS " FROM deliveries d"
			      " JOIN events_out e ON e.seq = d.seq JOIN webhooks w ON w.id = d.hook"
			      " WHERE d.hook = ?1 AND (?2 IS NULL OR d.status = ?2) AND d.id > ?3"
			      " ORDER BY d.id LIMIT ?4",
			      err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, hook, -1, SQLITE_STATIC);
	if (status)
		sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, after);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)limit);
	return deliveries_each(st, s, fn, ctx, err);
}

int store_deliveries_due(struct store *st, int64_t now_ms, size_t limit, store_delivery_fn *fn,
			 void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	/* due, its endpoint not paused, and nothing earlier of its order still pending */
	int rc =
		store_prepare(st, &s,
			      "SELECT " DELIVERY_COLS " FROM deliveries d"
			      " INDEXED BY deliveries_pending"
			      " JOIN events_out e ON e.seq = d.seq JOIN webhooks w ON w.id = d.hook"
			      " WHERE d.status = 'pending' AND d.next_at <= ?1"
			      " AND w.paused_until <= ?1"
			      " AND (d.order_id IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries p"
			      " WHERE p.hook = d.hook AND p.order_id = d.order_id"
			      " AND p.status = 'pending' AND p.id < d.id))"
			      " ORDER BY d.id LIMIT ?2",
			      err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	return deliveries_each(st, s, fn, ctx, err);
}

/* One outcome inside the caller's transaction. */
static int delivery_result(struct store *st, const struct store_delivery_outcome *o,
			   struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc;
	if (!(rc = store_prepare(st, &s,
				 "UPDATE deliveries SET status = ?2, attempts = attempts + 1,"
				 " next_at = ?3, last_code = ?4, last_error = ?5, updated_at = ?6"
				 " WHERE id = ?1 AND status = 'pending'",
				 err))) {
		sqlite3_bind_int64(s, 1, o->id);
		sqlite3_bind_text(s, 2, o->status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, o->next_at);
		sqlite3_bind_int(s, 4, o->code);
		if (o->error && o->error[0])
			sqlite3_bind_text(s, 5, o->error, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 5);
		sqlite3_bind_int64(s, 6, o->now_ms / 1000);
		rc = store__step_done(st, s, err, "record a delivery");
		sqlite3_finalize(s);
	}
	/* the endpoint's health: failures in a row, and the pause they earn */
	if (!rc && !(rc = store_prepare(st, &s,
					"UPDATE webhooks SET paused_until = CASE WHEN ?2 THEN 0"
					" WHEN failures + 1 >= ?4 THEN ?3 ELSE paused_until END,"
					" failures = CASE WHEN ?2 THEN 0 ELSE failures + 1 END"
					" WHERE id = ?1",
					err))) {
		sqlite3_bind_text(s, 1, o->hook, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, !strcmp(o->status, "delivered"));
		sqlite3_bind_int64(s, 3, o->paused_until);
		sqlite3_bind_int(s, 4, o->breaker);
		rc = store__step_done(st, s, err, "record endpoint health");
		sqlite3_finalize(s);
	}
	return rc;
}

int store_delivery_results(struct store *st, const struct store_delivery_outcome *o, size_t n,
			   struct fl_err *err)
{
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++)
		rc = delivery_result(st, &o[i], err);
	return store_write_end(st, rc, err);
}

int store_delivery_retry(struct store *st, const char *hook, int64_t id, int64_t now_ms,
			 struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(
		      st, &s,
		      "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ?3"
		      " WHERE id = ?2 AND hook = ?1 AND status = 'dead'",
		      err))) {
		sqlite3_bind_text(s, 1, hook, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, id);
		sqlite3_bind_int64(s, 3, now_ms);
		rc = store__step_done(st, s, err, "retry a delivery");
		sqlite3_finalize(s);
		if (!rc && sqlite3_changes(st->db) == 0)
			rc = fl_err_set(err, FL_ECONFLICT,
					"delivery %lld of webhook '%s' is not dead (or not there)",
					(long long)id, hook);
	}
	if (!rc && !(rc = store_prepare(st, &s,
					"UPDATE webhooks SET failures = 0, paused_until = 0"
					" WHERE id = ?1",
					err))) {
		sqlite3_bind_text(s, 1, hook, -1, SQLITE_STATIC);
		rc = store__step_done(st, s, err, "retry a delivery");
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

int store_webhook_replay(struct store *st, const char *hook, int64_t since, int64_t now_ms, long *n,
			 struct fl_err *err)
{
	sqlite3_stmt *s;
	*n = 0;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (!(rc = store_prepare(
		      st, &s,
		      "INSERT INTO deliveries(hook, seq, order_id, created_at, next_at)"
		      " SELECT w.id, e.seq, e.order_id, ?3, ?3 FROM events_out e, webhooks w"
		      " WHERE w.id = ?1 AND e.created_at >= ?2 AND EXISTS (SELECT 1 FROM"
		      " json_each(w.topics) WHERE value = e.topic OR value = '*')"
		      " ORDER BY e.seq",
		      err))) {
		sqlite3_bind_text(s, 1, hook, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, since);
		sqlite3_bind_int64(s, 3, now_ms);
		rc = store__step_done(st, s, err, "replay");
		*n = rc ? 0 : sqlite3_changes(st->db);
		sqlite3_finalize(s);
	}
	return store_write_end(st, rc, err);
}

int store_deliveries_stats(struct store *st, struct store_delivery_stats *out, struct fl_err *err)
{
	sqlite3_stmt *s;
	memset(out, 0, sizeof(*out));
	int rc = store_prepare(st, &s,
			       "SELECT coalesce(sum(status = 'pending'), 0),"
			       " coalesce(sum(status = 'dead'), 0),"
			       " coalesce(min(CASE WHEN status = 'pending' THEN created_at END), 0)"
			       " FROM deliveries",
			       err);
	if (rc)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->pending = sqlite3_column_int64(s, 0);
		out->dead = sqlite3_column_int64(s, 1);
		out->oldest_pending_ms = sqlite3_column_int64(s, 2);
	} else {
		rc = store_dberr(st, err, "delivery figures");
	}
	sqlite3_finalize(s);
	return rc;
}

int store_inventory_changes_publish(struct store *st, size_t limit, long *n, struct fl_err *err)
{
	sqlite3_stmt *s = NULL, *del = NULL;
	*n = 0;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if ((rc = store_prepare(
		     st, &s,
		     "SELECT d.node, d.sku, n.id, k.id, coalesce(i.on_hand, 0),"
		     " coalesce(i.reserved, 0), coalesce(i.committed, 0),"
		     " coalesce(i.safety_stock, 0) FROM inventory_dirty d"
		     " JOIN nodes n ON n.nid = d.node JOIN skus k ON k.kid = d.sku"
		     " LEFT JOIN inventory i ON i.node = d.node AND i.sku = d.sku LIMIT ?1",
		     err)) ||
	    (rc = store_prepare(st, &del,
				"DELETE FROM inventory_dirty WHERE node = ?1 AND sku = ?2", err)))
		goto out;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
	int step;
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const long on_hand = (long)sqlite3_column_int64(s, 4),
			   reserved = (long)sqlite3_column_int64(s, 5),
			   committed = (long)sqlite3_column_int64(s, 6),
			   safety = (long)sqlite3_column_int64(s, 7);
		const long atp = on_hand - reserved - committed - safety;
		char *text = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&text, &len);
		if (fp) {
			fputs("{\"node\":", fp);
			store__json_str(fp, (const char *)sqlite3_column_text(s, 2));
			fputs(",\"sku\":", fp);
			store__json_str(fp, (const char *)sqlite3_column_text(s, 3));
			fprintf(fp,
				",\"on_hand\":%ld,\"reserved\":%ld,\"committed_out\":%ld,"
				"\"safety_stock\":%ld,\"atp\":%ld}",
				on_hand, reserved, committed, safety, atp > 0 ? atp : 0);
		}
		rc = store__publish_stream(st, "inventory.changed", NULL, fp, &text, err);
		sqlite3_bind_int64(del, 1, sqlite3_column_int64(s, 0));
		sqlite3_bind_int64(del, 2, sqlite3_column_int64(s, 1));
		if (!rc)
			rc = store__step_done(st, del, err, "clear an inventory mark");
		sqlite3_reset(del);
		*n += !rc;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read inventory marks");
out:
	sqlite3_finalize(s);
	sqlite3_finalize(del);
	return store_write_end(st, rc, err);
}
