/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SQLite store: open, migrations, write transactions and their errors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include "store_impl.h"

/*
 * Migrations: entry i brings user_version from i to i + 1. Never edit a released
 * entry; append a new one. Node and SKU rows carry an integer surrogate key (nid, kid)
 * that the large tables reference; `gen` marks the import that last wrote a row, which
 * is how a duplicate key within one file is found without holding the file in memory.
 */
static const char *const migrations[] = {
	/* 1: the reference data of DATA.md, sales history, reservations, tokens */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"INSERT INTO meta VALUES('import_gen', 0);"
	"CREATE TABLE nodes("
	" nid INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" type TEXT NOT NULL CHECK (type IN ('dc','store','3pl','mfc')),"
	" lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),"
	" lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),"
	" region TEXT NOT NULL,"
	" capacity_units INTEGER CHECK (capacity_units >= 0),"
	" handling_cost REAL NOT NULL CHECK (handling_cost >= 0),"
	" pick_cost REAL NOT NULL CHECK (pick_cost >= 0),"
	" processing_days INTEGER NOT NULL CHECK (processing_days >= 0),"
	" ships_hazmat INTEGER NOT NULL CHECK (ships_hazmat IN (0,1)),"
	" gen INTEGER NOT NULL);"
	"CREATE TABLE skus("
	" kid INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" weight_kg REAL NOT NULL CHECK (weight_kg >= 0),"
	" hazmat INTEGER NOT NULL CHECK (hazmat IN (0,1)),"
	" gen INTEGER NOT NULL);"
	"CREATE TABLE zones("
	" zone INTEGER PRIMARY KEY,"
	" max_km REAL NOT NULL CHECK (max_km > 0),"
	" gen INTEGER NOT NULL);"
	"CREATE TABLE rates("
	" carrier TEXT NOT NULL, service TEXT NOT NULL,"
	" zone INTEGER NOT NULL REFERENCES zones(zone),"
	" base_cost REAL NOT NULL CHECK (base_cost >= 0),"
	" per_kg REAL NOT NULL CHECK (per_kg >= 0),"
	" transit_days INTEGER NOT NULL CHECK (transit_days >= 0),"
	" hazmat_ok INTEGER NOT NULL CHECK (hazmat_ok IN (0,1)),"
	" gen INTEGER NOT NULL,"
	" PRIMARY KEY (carrier, service, zone)) WITHOUT ROWID;"
	"CREATE TABLE lanes("
	" src INTEGER NOT NULL REFERENCES nodes(nid),"
	" dst INTEGER NOT NULL REFERENCES nodes(nid),"
	" cost_per_unit REAL NOT NULL CHECK (cost_per_unit >= 0),"
	" fixed_cost REAL NOT NULL CHECK (fixed_cost >= 0),"
	" lead_days INTEGER NOT NULL CHECK (lead_days >= 0),"
	" capacity_units INTEGER CHECK (capacity_units >= 0),"
	" gen INTEGER NOT NULL,"
	" PRIMARY KEY (src, dst), CHECK (src <> dst)) WITHOUT ROWID;"
	"CREATE TABLE inventory("
	" node INTEGER NOT NULL REFERENCES nodes(nid),"
	" sku INTEGER NOT NULL REFERENCES skus(kid),"
	" on_hand INTEGER NOT NULL CHECK (on_hand >= 0),"
	" safety_stock INTEGER NOT NULL CHECK (safety_stock >= 0),"
	" reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),"
	" gen INTEGER NOT NULL,"
	" PRIMARY KEY (node, sku)) WITHOUT ROWID;"
	/* keyed by day first: exports arrive sorted by date, so an import appends */
	"CREATE TABLE sales("
	" day INTEGER NOT NULL,"
	" node INTEGER NOT NULL REFERENCES nodes(nid),"
	" sku INTEGER NOT NULL REFERENCES skus(kid),"
	" qty INTEGER NOT NULL CHECK (qty >= 0),"
	" gen INTEGER NOT NULL,"
	" PRIMARY KEY (day, node, sku)) WITHOUT ROWID;"
	"CREATE TABLE reservations("
	" rid INTEGER PRIMARY KEY,"
	" decision_id TEXT NOT NULL,"
	" node INTEGER NOT NULL REFERENCES nodes(nid),"
	" sku INTEGER NOT NULL REFERENCES skus(kid),"
	" qty INTEGER NOT NULL CHECK (qty > 0),"
	" state TEXT NOT NULL CHECK (state IN ('open','released','consumed')),"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX reservations_decision ON reservations(decision_id);"
	"CREATE TABLE tokens("
	" id TEXT PRIMARY KEY,"
	" role TEXT NOT NULL CHECK (role IN ('orchestrator','planner','analyst','admin')),"
	" hash BLOB NOT NULL CHECK (length(hash) = 32),"
	" created_at INTEGER NOT NULL,"
	" revoked_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
	/* 2: the decision log, idempotency keys, units reserved per node, stock by SKU */
	"ALTER TABLE nodes ADD COLUMN reserved_units INTEGER NOT NULL DEFAULT 0"
	" CHECK (reserved_units >= 0);"
	"CREATE INDEX inventory_sku ON inventory(sku, node);"
	/* a rowid table: its rows are kilobytes, and WITHOUT ROWID suits small rows only */
	"CREATE TABLE decisions("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" order_id TEXT NOT NULL,"
	" request TEXT NOT NULL,"
	" response TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" solver_status TEXT NOT NULL,"
	" solver_ms REAL NOT NULL,"
	" rules_version TEXT,"
	" reserved_units INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX decisions_order ON decisions(order_id);"
	"CREATE TABLE order_keys("
	" order_id TEXT PRIMARY KEY,"
	" decision_id TEXT NOT NULL REFERENCES decisions(id),"
	" request_hash BLOB NOT NULL) WITHOUT ROWID;",
	/* 3: waves: many decisions made together, with their bound and gap */
	"CREATE TABLE waves("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" orders INTEGER NOT NULL,"
	" status TEXT NOT NULL,"
	" cost REAL NOT NULL,"
	" bound REAL NOT NULL,"
	" gap REAL NOT NULL,"
	" solver_ms REAL NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"ALTER TABLE decisions ADD COLUMN wave_id TEXT;",
	/* 4: stock by SKU from the index alone: a decision reads a few index pages per SKU
	 * instead of one table page per node holding it */
	"DROP INDEX inventory_sku;"
	"CREATE INDEX inventory_sku ON inventory(sku, node, on_hand, reserved, safety_stock);",
	/* 5: a (node, SKU)'s history from the index alone; the forecast cache */
	"CREATE INDEX sales_series ON sales(node, sku, day, qty);"
	"CREATE TABLE forecasts("
	" node TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" spec TEXT NOT NULL,"
	" history INTEGER NOT NULL,"
	" method TEXT NOT NULL,"
	" model TEXT NOT NULL,"
	" first_day INTEGER NOT NULL,"
	" horizon INTEGER NOT NULL,"
	" sum_mean REAL NOT NULL,"
	" sum_lo REAL NOT NULL,"
	" sum_hi REAL NOT NULL,"
	" mase REAL,"
	" points BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" UNIQUE (spec, node, sku));",
	/* 6: rebalancing scenarios, and the transfers of accepted ones while in transit */
	"CREATE TABLE scenarios("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" request TEXT NOT NULL,"
	" response TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" accepted_at INTEGER);"
	"CREATE TABLE in_transit("
	" scenario_id TEXT NOT NULL REFERENCES scenarios(id),"
	" src TEXT NOT NULL,"
	" dst TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" qty INTEGER NOT NULL CHECK (qty > 0),"
	" gen INTEGER NOT NULL);"
	"CREATE INDEX in_transit_gen ON in_transit(gen);",
	/* 7: rule sets (immutable versions, one active per name), events, the outbox */
	"CREATE TABLE rule_versions("
	" name TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" author_role TEXT NOT NULL,"
	" tests_passed INTEGER NOT NULL,"
	" tests_failed INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" PRIMARY KEY (name, version)) WITHOUT ROWID;"
	"CREATE TABLE rule_active("
	" name TEXT PRIMARY KEY,"
	" version INTEGER NOT NULL,"
	" activated_at INTEGER NOT NULL,"
	" FOREIGN KEY (name, version) REFERENCES rule_versions(name, version));"
	"INSERT INTO meta VALUES('rules_gen', 0);"
	"CREATE TABLE events("
	" event_id TEXT PRIMARY KEY,"
	" type TEXT NOT NULL,"
	" order_id TEXT,"
	" status TEXT NOT NULL,"
	" request TEXT NOT NULL,"
	" response TEXT NOT NULL,"
	" received_at INTEGER NOT NULL);"
	"CREATE TABLE milestones("
	" order_id TEXT PRIMARY KEY,"
	" rank INTEGER NOT NULL,"
	" type TEXT NOT NULL);"
	"CREATE TABLE outages("
	" node TEXT PRIMARY KEY,"
	" event_id TEXT NOT NULL,"
	" since INTEGER NOT NULL);"
	"CREATE TABLE outbox("
	" id INTEGER PRIMARY KEY,"
	" event_id TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" acked_at INTEGER);"
	"CREATE INDEX outbox_open ON outbox(acked_at, id);",
	/* 8: the lifecycle: when a reservation last changed, which decision replaced which */
	"ALTER TABLE reservations ADD COLUMN updated_at INTEGER;"
	"ALTER TABLE decisions ADD COLUMN supersedes TEXT;"
	"ALTER TABLE decisions ADD COLUMN superseded_by TEXT;",
	/* 9: the stock state a scenario was computed on (accepting it checks it) */
	"ALTER TABLE scenarios ADD COLUMN stock_state TEXT;",
	/* 10: units committed to accepted transfers at their source: not sellable */
	"ALTER TABLE inventory ADD COLUMN committed INTEGER NOT NULL DEFAULT 0"
	" CHECK (committed >= 0);"
	"DROP INDEX inventory_sku;"
	"CREATE INDEX inventory_sku ON inventory(sku, node, on_hand, reserved, safety_stock,"
	" committed);"
	"CREATE INDEX in_transit_dst ON in_transit(dst, sku, gen);",
	/* 11: scenarios as jobs: queued, running, done, failed or cancelled, and why */
	"ALTER TABLE scenarios ADD COLUMN status TEXT NOT NULL DEFAULT 'done';"
	"ALTER TABLE scenarios ADD COLUMN reason TEXT;",
	/* 12: transfer orders: an accepted transfer line is planned, then shipped and
	 * received (in parts), or cancelled; its id is "t_" and its rowid */
	"ALTER TABLE in_transit ADD COLUMN status TEXT NOT NULL DEFAULT 'planned';"
	"ALTER TABLE in_transit ADD COLUMN shipped INTEGER NOT NULL DEFAULT 0"
	" CHECK (shipped >= 0);"
	"ALTER TABLE in_transit ADD COLUMN received INTEGER NOT NULL DEFAULT 0"
	" CHECK (received >= 0);"
	"ALTER TABLE in_transit ADD COLUMN updated_at INTEGER;"
	"CREATE INDEX in_transit_scenario ON in_transit(scenario_id);",
	/* 13: skus.csv's optional case_pack: transfers move whole packs */
	"ALTER TABLE skus ADD COLUMN case_pack INTEGER NOT NULL DEFAULT 1 CHECK (case_pack >= 1);",
	/* 14: outbound events: subscriptions, the event log written with each change, and one
	 * delivery per subscription of its topic (times in ms) */
	"CREATE TABLE webhooks("
	" id TEXT PRIMARY KEY,"
	" url TEXT NOT NULL,"
	" topics TEXT NOT NULL,"
	" description TEXT NOT NULL DEFAULT '',"
	" secret TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" paused_until INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE events_out("
	" seq INTEGER PRIMARY KEY,"
	" event_id TEXT NOT NULL UNIQUE,"
	" topic TEXT NOT NULL,"
	" order_id TEXT,"
	" body TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX events_out_time ON events_out(created_at);"
	"CREATE TABLE deliveries("
	" id INTEGER PRIMARY KEY,"
	" hook TEXT NOT NULL,"
	" seq INTEGER NOT NULL REFERENCES events_out(seq),"
	" order_id TEXT,"
	" status TEXT NOT NULL DEFAULT 'pending',"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL DEFAULT 0,"
	" last_code INTEGER,"
	" last_error TEXT,"
	" updated_at INTEGER,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX deliveries_due ON deliveries(status, next_at);"
	"CREATE INDEX deliveries_hook ON deliveries(hook, status, id);"
	"CREATE INDEX deliveries_order ON deliveries(hook, order_id, status, id);",
	/* 15: the worker scans pending deliveries oldest first and stops at its batch */
	"CREATE INDEX deliveries_pending ON deliveries(id) WHERE status = 'pending';",
	/* 16: inventory.changed: a change to a (node, SKU)'s stock marks it, in the changing
	 * transaction, while anyone subscribes; the delivery worker turns the marks into one
	 * event per (node, SKU) a second at most */
	"CREATE TABLE inventory_dirty("
	" node INTEGER NOT NULL,"
	" sku INTEGER NOT NULL,"
	" PRIMARY KEY (node, sku)) WITHOUT ROWID;"
	"CREATE TRIGGER inventory_changed_upd AFTER UPDATE OF on_hand, reserved, committed"
	" ON inventory WHEN EXISTS (SELECT 1 FROM webhooks w, json_each(w.topics) j"
	" WHERE j.value IN ('inventory.changed', '*'))"
	" BEGIN INSERT OR IGNORE INTO inventory_dirty(node, sku) VALUES (NEW.node, NEW.sku);"
	" END;"
	"CREATE TRIGGER inventory_changed_ins AFTER INSERT ON inventory"
	" WHEN EXISTS (SELECT 1 FROM webhooks w, json_each(w.topics) j"
	" WHERE j.value IN ('inventory.changed', '*'))"
	" BEGIN INSERT OR IGNORE INTO inventory_dirty(node, sku) VALUES (NEW.node, NEW.sku);"
	" END;",
	/* 17: an order's timeline (the console's support page) reads its events and published
	 * messages by order */
	"CREATE INDEX events_order ON events(order_id) WHERE order_id IS NOT NULL;"
	"CREATE INDEX events_out_order ON events_out(order_id) WHERE order_id IS NOT NULL;",
	/* 18: calendar.csv: the days a node (node 0: every node) is closed, a holiday or a
	 * payday */
	"CREATE TABLE calendar("
	" day INTEGER NOT NULL,"
	" node INTEGER NOT NULL,"
	" closed INTEGER NOT NULL CHECK (closed IN (0, 1)),"
	" holiday INTEGER NOT NULL CHECK (holiday IN (0, 1)),"
	" payday INTEGER NOT NULL CHECK (payday IN (0, 1)),"
	" gen INTEGER NOT NULL,"
	" PRIMARY KEY (day, node)) WITHOUT ROWID;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

int store_write_begin(struct store *st, struct fl_err *err)
{
	pthread_mutex_lock(&write_lock);
	int rc = store_exec(st, "BEGIN IMMEDIATE", err);
	if (rc)
		pthread_mutex_unlock(&write_lock);
	return rc;
}

static atomic_int write_failing; /* the last write failed on the disk */

bool store_write_failing(void)
{
	return atomic_load(&write_failing) != 0;
}

int store_write_end(struct store *st, int rc, struct fl_err *err)
{
	if (rc == 0 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = store_dberr(st, err, "commit");
	if (rc == 0)
		atomic_store(&write_failing, 0);
	else if (rc == FL_EIO)
		atomic_store(&write_failing, 1);
	/* a failed COMMIT may leave the transaction open (busy) or have rolled it back
	 * (disk full, I/O error): either way nothing of it stays */
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&write_lock);
	return rc;
}

int store_write_probe(struct store *st, struct fl_err *err)
{
	/* Real writes, of a row nothing reads, the size of many decisions: a probe of one page
	 * fits in what the failed writes already grew the log by and says "ready" while the
	 * next decision is refused. Once it commits, the row is taken back; its pages stay
	 * in the files for the writes that follow. */
	int rc = store_write_begin(st, err);
	if (rc)
		return rc;
	rc = store_exec(st,
			"INSERT OR REPLACE INTO meta VALUES('write_probe', "
			"zeroblob(" STORE_PROBE_BYTES_STR "))",
			err);
	if ((rc = store_write_end(st, rc, err)))
		return rc;
	if ((rc = store_write_begin(st, err)))
		return rc;
	rc = store_exec(st, "DELETE FROM meta WHERE key = 'write_probe'", err);
	return store_write_end(st, rc, err);
}

void store_write_abort(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&write_lock);
}

int store__step_done(struct store *st, sqlite3_stmt *s, struct fl_err *err, const char *what)
{
	const int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_dberr(st, err, what);
	sqlite3_reset(s);
	return rc;
}

int store_schema_version(void)
{
	return N_MIGRATIONS;
}

int store_dberr(struct store *st, struct fl_err *err, const char *what)
{
	switch (sqlite3_errcode(st->db) & 0xff) { /* the primary code of an extended one */
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		/* the disk, not the request: the caller must not report success */
		return fl_err_set(err, FL_EIO, "%s: %s", what, sqlite3_errmsg(st->db));
	default: return fl_err_set(err, FL_EDB, "%s: %s", what, sqlite3_errmsg(st->db));
	}
}

int store_exec(struct store *st, const char *sql, struct fl_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_dberr(st, err, "database");
	return 0;
}

int store_prepare(struct store *st, sqlite3_stmt **stmt, const char *sql, struct fl_err *err)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
		return store_dberr(st, err, "prepare");
	return 0;
}

static int migrate(struct store *st, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, version;

	if ((rc = store_exec(st, "BEGIN IMMEDIATE", err)))
		return rc;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = store_dberr(st, err, "read schema version");
		goto out;
	}
	version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s); /* a pending statement would lock the tables a migration drops */
	s = NULL;
	if (version > N_MIGRATIONS) {
		rc = fl_err_set(err, FL_EDB,
				"database schema version %d is newer than this build's %d", version,
				N_MIGRATIONS);
		goto out;
	}
	for (; version < N_MIGRATIONS; version++) {
		char pragma[64];
		if ((rc = store_exec(st, migrations[version], err))) {
			fl_err_prefix(err, "migration %d", version + 1);
			goto out;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version + 1);
		if ((rc = store_exec(st, pragma, err)))
			goto out;
	}
	rc = store_exec(st, "COMMIT", err);
out:
	sqlite3_finalize(s);
	if (rc)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int store_open(const char *path, struct store **out, struct fl_err *err)
{
	struct store *st;
	int rc;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return fl_err_set(err, FL_ENOMEM, "open store: out of memory");
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = fl_err_set(err, FL_EDB, "open '%s': %s", path,
				st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	rc = store_exec(st,
			"PRAGMA journal_mode = WAL;"
			"PRAGMA synchronous = NORMAL;"
			"PRAGMA foreign_keys = ON;"
			"PRAGMA cache_size = -32768;"
			"PRAGMA temp_store = MEMORY;",
			err);
	if (rc) {
		fl_err_prefix(err, "open '%s'", path);
		goto fail;
	}
	if ((rc = migrate(st, err))) {
		fl_err_prefix(err, "open '%s'", path);
		goto fail;
	}
	*out = st;
	return 0;
fail:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < sizeof(st->stmts) / sizeof(st->stmts[0]); i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	free(st);
}

/* The cached statement for slot, prepared on first use. */
int store_stmt(struct store *st, enum store_stmt_slot slot, const char *sql, sqlite3_stmt **out,
	       struct fl_err *err)
{
	if (!st->stmts[slot]) {
		int rc = store_prepare(st, &st->stmts[slot], sql, err);
		if (rc)
			return rc;
	}
	sqlite3_reset(st->stmts[slot]);
	sqlite3_clear_bindings(st->stmts[slot]);
	*out = st->stmts[slot];
	return 0;
}

int store_set_autocheckpoint(struct store *st, bool on, struct fl_err *err)
{
	return store_exec(
		st, on ? "PRAGMA wal_autocheckpoint = 1000" : "PRAGMA wal_autocheckpoint = 0", err);
}

int store_checkpoint(struct store *st, struct fl_err *err)
{
	return store_exec(st, "PRAGMA wal_checkpoint(PASSIVE)", err);
}

int store_ping(struct store *st, struct fl_err *err)
{
	sqlite3_stmt *s;
	int rc = store_stmt(st, STMT_PING, "SELECT count(*) FROM meta", &s, err);
	if (rc)
		return rc;
	rc = sqlite3_step(s) == SQLITE_ROW ? 0 : store_dberr(st, err, "ping");
	sqlite3_reset(s);
	return rc;
}
