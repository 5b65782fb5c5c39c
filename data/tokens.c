/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tokens.c — access tokens: only a secret's hash is kept.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_impl.h"

/* ---- tokens ---- */

int store_token_insert(struct store *st, const struct store_token *t, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(
		st, STMT_TOKEN_INSERT,
		"INSERT INTO tokens(id, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->role, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, t->hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, t->created_at);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_dberr(st, err, "create token");
	sqlite3_reset(s);
	return rc;
}

static void token_row(sqlite3_stmt *s, void *rec)
{
	struct store_token *t = rec;
	store__col_text(s, 0, t->id, sizeof(t->id));
	store__col_text(s, 1, t->role, sizeof(t->role));
	if (sqlite3_column_bytes(s, 2) == STORE_TOKEN_HASH_LEN)
		memcpy(t->hash, sqlite3_column_blob(s, 2), STORE_TOKEN_HASH_LEN);
	t->created_at = sqlite3_column_int64(s, 3);
	t->revoked_at = sqlite3_column_int64(s, 4);
}

int store_token_get(struct store *st, const char *id, struct store_token *out, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(
		st, STMT_TOKEN_GET,
		"SELECT id, role, hash, created_at, revoked_at FROM tokens WHERE id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		token_row(s, out);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = fl_err_set(err, FL_ENOTFOUND, "token '%s' not found", id);
	} else {
		rc = store_dberr(st, err, "read token");
	}
	sqlite3_reset(s);
	return rc;
}

int store_token_list(struct store *st, struct store_token **out, size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_TOKEN_LIST,
			    "SELECT id, role, hash, created_at, revoked_at FROM tokens"
			    " ORDER BY created_at, id",
			    &s, err);
	if (rc)
		return rc;
	return store__collect(st, s, sizeof(**out), token_row, 0, (void **)out, n, NULL, err);
}

int store_token_revoke(struct store *st, const char *id, int64_t now, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_TOKEN_REVOKE,
			    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0",
			    &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_dberr(st, err, "revoke token");
	else if (sqlite3_changes(st->db) == 0)
		rc = fl_err_set(err, FL_ENOTFOUND, "token '%s': no such valid token", id);
	sqlite3_reset(s);
	return rc;
}
