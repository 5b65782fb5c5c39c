/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rules.c — rule set versions and which one is active.
 */
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_impl.h"

/* ---- rule sets ---- */

int store_rule_put(struct store *st, const char *name, const char *source, const char *sha256,
		   const char *role, int passed, int failed, int64_t now, int *version,
		   struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if ((rc = store_prepare(
		     st, &s,
		     "SELECT coalesce(max(version), 0) + 1 FROM rule_versions WHERE name = ?1",
		     err)))
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = store_dberr(st, err, "number a rule version");
		goto out;
	}
	*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if ((rc = store_prepare(
		     st, &s,
		     "INSERT INTO rule_versions(name, version, sha256, source, author_role,"
		     " tests_passed, tests_failed, created_at)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		     err)))
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, *version);
	sqlite3_bind_text(s, 3, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, role, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, passed);
	sqlite3_bind_int(s, 7, failed);
	sqlite3_bind_int64(s, 8, now);
	rc = store__step_done(st, s, err, "store a rule version");
out:
	sqlite3_finalize(s);
	return store_write_end(st, rc, err);
}

int store_rule_source(struct store *st, const char *name, int version, char **source,
		      struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(
		st, &s, "SELECT source FROM rule_versions WHERE name = ?1 AND version = ?2", err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, version);
	const int step = sqlite3_step(s);
	*source = NULL;
	if (step == SQLITE_ROW) {
		*source = strdup((const char *)sqlite3_column_text(s, 0));
		if (!*source)
			rc = fl_err_set(err, FL_ENOMEM, "out of memory");
	} else {
		rc = step == SQLITE_DONE
			     ? fl_err_set(err, FL_ENOTFOUND, "rule set '%s' has no version %d",
					  name, version)
			     : store_dberr(st, err, "read a rule version");
	}
	sqlite3_finalize(s);
	return rc;
}

static int read_versions(struct store *st, sqlite3_stmt *s, struct store_rule_version **out,
			 size_t *n, struct fl_err *err)
{
	size_t cap = 0;
	int step, rc = 0;
	*out = NULL;
	*n = 0;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = fl_grow((void **)out, &cap, *n + 1, sizeof(**out), STORE_ROWS_MAX))) {
			fl_err_set(err, rc, "rule versions: %s", fl_strerror(rc));
			break;
		}
		struct store_rule_version *v = &(*out)[(*n)++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", (const char *)sqlite3_column_text(s, 0));
		v->version = sqlite3_column_int(s, 1);
		snprintf(v->sha256, sizeof(v->sha256), "%s",
			 (const char *)sqlite3_column_text(s, 2));
		snprintf(v->author_role, sizeof(v->author_role), "%s",
			 (const char *)sqlite3_column_text(s, 3));
		v->tests_passed = sqlite3_column_int(s, 4);
		v->tests_failed = sqlite3_column_int(s, 5);
		v->created_at = sqlite3_column_int64(s, 6);
		v->active = sqlite3_column_int(s, 7) != 0;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read rule versions");
	sqlite3_finalize(s);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

#define VERSION_COLS                                                                   \
	"v.name, v.version, v.sha256, v.author_role, v.tests_passed, v.tests_failed,"  \
	" v.created_at, (SELECT count(*) FROM rule_active a WHERE a.name = v.name AND" \
	" a.version = v.version)"

int store_rule_versions(struct store *st, const char *name, struct store_rule_version **out,
			size_t *n, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT " VERSION_COLS " FROM rule_versions v WHERE v.name = ?1"
			       " ORDER BY v.version DESC",
			       err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	if ((rc = read_versions(st, s, out, n, err)))
		return rc;
	if (!*n)
		return fl_err_set(err, FL_ENOTFOUND, "no rule set '%s'", name);
	return 0;
}

int store_rule_sets(struct store *st, struct store_rule_version **out, size_t *n,
		    struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT " VERSION_COLS " FROM rule_versions v WHERE v.version ="
			       " (SELECT max(version) FROM rule_versions w WHERE w.name = v.name)"
			       " ORDER BY v.name",
			       err);
	return rc ? rc : read_versions(st, s, out, n, err);
}

int store_rule_activate(struct store *st, const char *name, int version, int64_t now,
			struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	if (version > 0) {
		if ((rc = store_prepare(
			     st, &s, "SELECT 1 FROM rule_versions WHERE name = ?1 AND version = ?2",
			     err)))
			goto out;
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, version);
		const int step = sqlite3_step(s);
		sqlite3_finalize(s);
		s = NULL;
		if (step != SQLITE_ROW) {
			rc = fl_err_set(err, FL_ENOTFOUND, "rule set '%s' has no version %d", name,
					version);
			goto out;
		}
		sqlite3_stmt *n;
		if ((rc = store_prepare(st, &n, "SELECT count(*) FROM rule_active WHERE name <> ?1",
					err)))
			goto out;
		sqlite3_bind_text(n, 1, name, -1, SQLITE_STATIC);
		const int active = sqlite3_step(n) == SQLITE_ROW ? sqlite3_column_int(n, 0) : 0;
		sqlite3_finalize(n);
		if (active >= STORE_RULE_SETS_MAX) {
			rc = fl_err_set(err, FL_ELIMIT, "at most %d rule sets may be active",
					STORE_RULE_SETS_MAX);
			goto out;
		}
		rc = store_prepare(st, &s,
				   "INSERT INTO rule_active(name, version, activated_at)"
				   " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET"
				   " version = ?2, activated_at = ?3",
				   err);
	} else {
		rc = store_prepare(st, &s, "DELETE FROM rule_active WHERE name = ?1", err);
	}
	if (rc)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (version > 0) {
		sqlite3_bind_int(s, 2, version);
		sqlite3_bind_int64(s, 3, now);
	}
	if ((rc = store__step_done(st, s, err, "activate a rule version")))
		goto out;
	if (store__listened(st, "rules.activated")) {
		char *text = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&text, &len);
		if (fp) {
			fputs("{\"name\":", fp);
			store__json_str(fp, name);
			fprintf(fp, ",\"version\":%d,\"active\":%s}", version,
				version > 0 ? "true" : "false");
		}
		if ((rc = store__publish_stream(st, "rules.activated", NULL, fp, &text, err)))
			goto out;
	}
	rc = store_exec(st, "UPDATE meta SET value = value + 1 WHERE key = 'rules_gen'", err);
out:
	sqlite3_finalize(s);
	return store_write_end(st, rc, err);
}

int store_rules_generation(struct store *st, int64_t *gen, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_RULES_GEN, "SELECT value FROM meta WHERE key = 'rules_gen'",
			    &s, err);
	if (rc)
		return rc;
	rc = sqlite3_step(s) == SQLITE_ROW ? 0 : store_dberr(st, err, "read rules generation");
	*gen = rc ? 0 : sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc;
}

int store_rules_active(struct store *st, store_rule_fn *fn, void *ctx, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_prepare(st, &s,
			       "SELECT a.name, a.version, v.source FROM rule_active a JOIN"
			       " rule_versions v ON v.name = a.name AND v.version = a.version"
			       " ORDER BY a.name",
			       err);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = fn(ctx, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1),
			     (const char *)sqlite3_column_text(s, 2))))
			break;
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "read active rule sets");
	sqlite3_finalize(s);
	return rc;
}
