/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CSV import and export (DATA.md). Table-driven: each file is a list of columns with a
 * kind that says how a field is checked and bound, and one upsert statement. An import
 * is one transaction; the first bad row rolls it back and names FILE:LINE: field.
 *
 * Memory does not grow with file size: rows stream through the CSV reader, references
 * are checked against maps of the (small) node, SKU and zone tables, and a duplicate
 * key within one file is found by the row's `gen` (set to a number unique to this
 * file's import): an upsert that finds a row already carrying this gen changes nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"

#define QTY_MAX 1000000000000LL /* integers above this are refused (sums stay exact) */

enum col_kind {
	COL_ID,	  /* non-empty text, at most FL_ID_MAX - 1 bytes */
	COL_TEXT, /* any text, at most FL_NAME_MAX - 1 bytes */
	COL_TYPE, /* node type */
	COL_LAT,
	COL_LON,
	COL_MONEY,    /* decimal >= 0 */
	COL_POS,      /* decimal > 0 */
	COL_INT,      /* integer >= 0 */
	COL_INT_OPT,  /* integer >= 0, or empty for unlimited (NULL) */
	COL_BOOL,     /* 0 or 1 */
	COL_NODE,     /* a known node id, bound as its nid */
	COL_NODE_ALL, /* a known node id, or empty for every node (bound as 0) */
	COL_SKU,      /* a known SKU id, bound as its kid */
	COL_ZONE,     /* a known zone number */
	COL_DATE,     /* YYYY-MM-DD, bound as days since 1970-01-01 */
	COL_PACK,     /* optional: integer >= 1; absent or empty is 1 */
	COL_FLAG_OPT, /* optional: 0 or 1; absent or empty is 0 */
};

struct col_spec {
	const char *name;
	enum col_kind kind;
	bool key;
};

#define MAX_COLS 12

struct file_spec {
	const char *table;
	struct col_spec cols[MAX_COLS];
	int ncols;
	const char *upsert; /* parameters ?1..?ncols in column order, then ?ncols+1 = gen */
	const char *export_sql;
};

/* clang-format off */
static const struct file_spec specs[STORE_FILE_COUNT] = {
	[STORE_FILE_NODES] = {
		"nodes",
		{{"id", COL_ID, true}, {"name", COL_TEXT, false}, {"type", COL_TYPE, false},
		 {"lat", COL_LAT, false}, {"lon", COL_LON, false}, {"region", COL_TEXT, false},
		 {"capacity_units", COL_INT_OPT, false}, {"handling_cost", COL_MONEY, false},
		 {"pick_cost", COL_MONEY, false}, {"processing_days", COL_INT, false},
		 {"ships_hazmat", COL_BOOL, false}},
		11,
		"INSERT INTO nodes(id, name, type, lat, lon, region, capacity_units, handling_cost,"
		" pick_cost, processing_days, ships_hazmat, gen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
		" ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type,"
		" lat = excluded.lat, lon = excluded.lon, region = excluded.region,"
		" capacity_units = excluded.capacity_units, handling_cost = excluded.handling_cost,"
		" pick_cost = excluded.pick_cost, processing_days = excluded.processing_days,"
		" ships_hazmat = excluded.ships_hazmat, gen = excluded.gen"
		" WHERE nodes.gen <> excluded.gen",
		"SELECT id, name, type, lat, lon, region, capacity_units, handling_cost, pick_cost,"
		" processing_days, ships_hazmat FROM nodes ORDER BY id",
	},
	[STORE_FILE_SKUS] = {
		"skus",
		{{"id", COL_ID, true}, {"name", COL_TEXT, false}, {"weight_kg", COL_MONEY, false},
		 {"hazmat", COL_BOOL, false}, {"case_pack", COL_PACK, false}},
		5,
		"INSERT INTO skus(id, name, weight_kg, hazmat, case_pack, gen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT(id) DO UPDATE SET name = excluded.name, weight_kg = excluded.weight_kg,"
		" hazmat = excluded.hazmat, case_pack = excluded.case_pack, gen = excluded.gen"
		" WHERE skus.gen <> excluded.gen",
		"SELECT id, name, weight_kg, hazmat, case_pack FROM skus ORDER BY id",
	},
	[STORE_FILE_ZONES] = {
		"zones",
		{{"zone", COL_INT, true}, {"max_km", COL_POS, false}},
		2,
		"INSERT INTO zones(zone, max_km, gen) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(zone) DO UPDATE SET max_km = excluded.max_km, gen = excluded.gen"
		" WHERE zones.gen <> excluded.gen",
		"SELECT zone, max_km FROM zones ORDER BY zone",
	},
	[STORE_FILE_RATES] = {
		"rates",
		{{"carrier", COL_ID, true}, {"service", COL_ID, true}, {"zone", COL_ZONE, true},
		 {"base_cost", COL_MONEY, false}, {"per_kg", COL_MONEY, false},
		 {"transit_days", COL_INT, false}, {"hazmat_ok", COL_BOOL, false}},
		7,
		"INSERT INTO rates(carrier, service, zone, base_cost, per_kg, transit_days, hazmat_ok,"
		" gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT(carrier, service, zone) DO UPDATE SET base_cost = excluded.base_cost,"
		" per_kg = excluded.per_kg, transit_days = excluded.transit_days,"
		" hazmat_ok = excluded.hazmat_ok, gen = excluded.gen WHERE rates.gen <> excluded.gen",
		"SELECT carrier, service, zone, base_cost, per_kg, transit_days, hazmat_ok FROM rates"
		" ORDER BY carrier, service, zone",
	},
	[STORE_FILE_LANES] = {
		"lanes",
		{{"from", COL_NODE, true}, {"to", COL_NODE, true},
		 {"cost_per_unit", COL_MONEY, false}, {"fixed_cost", COL_MONEY, false},
		 {"lead_days", COL_INT, false}, {"capacity_units", COL_INT_OPT, false}},
		6,
		"INSERT INTO lanes(src, dst, cost_per_unit, fixed_cost, lead_days, capacity_units, gen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT(src, dst) DO UPDATE SET cost_per_unit = excluded.cost_per_unit,"
		" fixed_cost = excluded.fixed_cost, lead_days = excluded.lead_days,"
		" capacity_units = excluded.capacity_units, gen = excluded.gen"
		" WHERE lanes.gen <> excluded.gen",
		"SELECT a.id, b.id, cost_per_unit, fixed_cost, lead_days, l.capacity_units"
		" FROM lanes l JOIN nodes a ON a.nid = l.src JOIN nodes b ON b.nid = l.dst"
		" ORDER BY a.id, b.id",
	},
	[STORE_FILE_INVENTORY] = {
		"inventory",
		{{"node", COL_NODE, true}, {"sku", COL_SKU, true}, {"on_hand", COL_INT, false},
		 {"safety_stock", COL_INT, false}},
		4,
		"INSERT INTO inventory(node, sku, on_hand, safety_stock, gen)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT(node, sku) DO UPDATE SET on_hand = excluded.on_hand,"
		" safety_stock = excluded.safety_stock, gen = excluded.gen"
		" WHERE inventory.gen <> excluded.gen",
		"SELECT n.id, k.id, on_hand, safety_stock FROM inventory i"
		" JOIN nodes n ON n.nid = i.node JOIN skus k ON k.kid = i.sku ORDER BY n.id, k.id",
	},
	[STORE_FILE_CALENDAR] = {
		"calendar",
		{{"date", COL_DATE, true}, {"node", COL_NODE_ALL, true}, {"closed", COL_BOOL, false},
		 {"holiday", COL_FLAG_OPT, false}, {"payday", COL_FLAG_OPT, false}},
		5,
		"INSERT INTO calendar(day, node, closed, holiday, payday, gen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT(day, node) DO UPDATE SET closed = excluded.closed,"
		" holiday = excluded.holiday, payday = excluded.payday, gen = excluded.gen"
		" WHERE calendar.gen <> excluded.gen",
		"SELECT c.day, COALESCE(n.id, ''), c.closed, c.holiday, c.payday FROM calendar c"
		" LEFT JOIN nodes n ON n.nid = c.node ORDER BY c.day, c.node",
	},
	[STORE_FILE_SALES] = {
		"sales",
		{{"date", COL_DATE, true}, {"node", COL_NODE, true}, {"sku", COL_SKU, true},
		 {"qty", COL_INT, false}},
		4,
		"INSERT INTO sales(day, node, sku, qty, gen) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT(day, node, sku) DO UPDATE SET qty = excluded.qty, gen = excluded.gen"
		" WHERE sales.gen <> excluded.gen",
		/* the export is sorted by the file's key: date, node, sku */
		"SELECT s.day, n.id, k.id, s.qty FROM sales s JOIN nodes n ON n.nid = s.node"
		" JOIN skus k ON k.kid = s.sku ORDER BY s.day, n.id, k.id",
	},
};
/* clang-format on */

static const char *const file_names[STORE_FILE_COUNT] = {
#define STORE_FILE_NAME(k, name) name,
	STORE_FILE_MAP(STORE_FILE_NAME)
#undef STORE_FILE_NAME
};

const char *store_file_name(enum store_file_kind k)
{
	return (unsigned)k < STORE_FILE_COUNT ? file_names[k] : NULL;
}

int store_file_kind_of(const char *name)
{
	for (int i = 0; i < STORE_FILE_COUNT; i++)
		if (strcmp(name, file_names[i]) == 0)
			return i;
	return -1;
}

/* The maps from ids to surrogate keys that reference checks use. */
struct refs {
	struct strmap nodes, skus, zones;
};

static int load_map(struct store *st, const char *sql, struct strmap *m, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = 0, step;

	strmap_release(m);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_dberr(st, err, "import");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (strmap_put(m, (const char *)sqlite3_column_text(s, 1),
			       sqlite3_column_int64(s, 0))) {
			rc = fl_err_set(err, FL_ENOMEM, "import: out of memory");
			break;
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_dberr(st, err, "import");
	sqlite3_finalize(s);
	return rc;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	double d = strtod(s, &end);
	if (*end || !isfinite(d) || errno == ERANGE)
		return false;
	*out = d;
	return true;
}

static bool parse_int(const char *s, long long *out)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno == ERANGE)
		return false;
	*out = v;
	return true;
}

/* Check one field and bind it as parameter idx; detail in err (without FILE:LINE). */
static int bind_field(sqlite3_stmt *s, int idx, const struct col_spec *c, char *raw,
		      const struct refs *refs, struct fl_err *err)
{
	char *v = c->kind == COL_TEXT ? raw : trim(raw);
	double d;
	long long i;
	int64_t ref;

	switch (c->kind) {
	case COL_ID:
		if (!*v)
			return fl_err_set(err, FL_EINVAL, "%s: must not be empty", c->name);
		if (strlen(v) >= FL_ID_MAX)
			return fl_err_set(err, FL_EINVAL, "%s: longer than %d bytes", c->name,
					  FL_ID_MAX - 1);
		sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
		return 0;
	case COL_TEXT:
		if (strlen(v) >= FL_NAME_MAX)
			return fl_err_set(err, FL_EINVAL, "%s: longer than %d bytes", c->name,
					  FL_NAME_MAX - 1);
		sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
		return 0;
	case COL_TYPE: {
		enum fl_node_type t;
		if (!fl_node_type_parse(v, &t))
			return fl_err_set(err, FL_EINVAL,
					  "%s: unknown node type '%s' (dc, store, 3pl, mfc)",
					  c->name, v);
		sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
		return 0;
	}
	case COL_LAT:
	case COL_LON:
	case COL_MONEY:
	case COL_POS: {
		double lim = c->kind == COL_LAT ? 90.0 : 180.0;
		if (!parse_double(v, &d))
			return fl_err_set(err, FL_EINVAL, "%s: not a number: '%s'", c->name, v);
		if ((c->kind == COL_LAT || c->kind == COL_LON) && (d < -lim || d > lim))
			return fl_err_set(err, FL_EINVAL, "%s: %s out of range [-%g, %g]", c->name,
					  v, lim, lim);
		if (c->kind == COL_MONEY && d < 0)
			return fl_err_set(err, FL_EINVAL, "%s: must not be negative", c->name);
		if (c->kind == COL_POS && d <= 0)
			return fl_err_set(err, FL_EINVAL, "%s: must be positive", c->name);
		sqlite3_bind_double(s, idx, d);
		return 0;
	}
	case COL_INT_OPT:
		if (!*v) {
			sqlite3_bind_null(s, idx);
			return 0;
		}
		/* fall through */
	case COL_INT:
	case COL_ZONE:
		if (!parse_int(v, &i))
			return fl_err_set(err, FL_EINVAL, "%s: not an integer: '%s'", c->name, v);
		if (i < 0)
			return fl_err_set(err, FL_EINVAL, "%s: must not be negative", c->name);
		if (i > QTY_MAX)
			return fl_err_set(err, FL_EINVAL, "%s: larger than %lld", c->name, QTY_MAX);
		if (c->kind == COL_ZONE && !strmap_get(&refs->zones, v, &ref))
			return fl_err_set(err, FL_EINVAL, "%s: unknown zone '%s'", c->name, v);
		sqlite3_bind_int64(s, idx, i);
		return 0;
	case COL_PACK:
		if (!*v) {
			sqlite3_bind_int64(s, idx, 1);
			return 0;
		}
		if (!parse_int(v, &i) || i < 1 || i > 1000000)
			return fl_err_set(err, FL_EINVAL,
					  "%s: a whole number of units from 1 to 1000000, not '%s'",
					  c->name, v);
		sqlite3_bind_int64(s, idx, i);
		return 0;
	case COL_FLAG_OPT:
		if (!*v) {
			sqlite3_bind_int(s, idx, 0);
			return 0;
		}
		/* fall through */
	case COL_BOOL:
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			return fl_err_set(err, FL_EINVAL, "%s: must be 0 or 1, not '%s'", c->name,
					  v);
		sqlite3_bind_int(s, idx, v[0] == '1');
		return 0;
	case COL_NODE_ALL:
		if (!*v) {
			sqlite3_bind_int64(s, idx, 0);
			return 0;
		}
		/* fall through */
	case COL_NODE:
	case COL_SKU:
		if (!strmap_get(c->kind != COL_SKU ? &refs->nodes : &refs->skus, v, &ref))
			return fl_err_set(err, FL_EINVAL, "%s: unknown %s '%s'", c->name,
					  c->kind != COL_SKU ? "node" : "SKU", v);
		sqlite3_bind_int64(s, idx, ref);
		return 0;
	case COL_DATE: {
		int32_t day;
		if (!fl_date_parse(v, &day))
			return fl_err_set(err, FL_EINVAL, "%s: not a date (YYYY-MM-DD): '%s'",
					  c->name, v);
		sqlite3_bind_int(s, idx, day);
		return 0;
	}
	}
	return fl_err_set(err, FL_EINVAL, "%s: unknown column kind", c->name);
}

struct import_ctx {
	struct store *st;
	struct refs refs;
	int64_t gen;
	store_progress_fn *progress;
	void *progress_ctx;
};

/* The calendar is read whole by every forecast batch: its rows are bounded. */
static int calendar_within_limit(struct store *st, struct fl_err *err)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM calendar", -1, &s, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return store_dberr(st, err, "calendar");
	}
	const sqlite3_int64 n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (n > STORE_CALENDAR_MAX)
		return fl_err_set(
			err, FL_ELIMIT,
			"calendar.csv: the store would hold %lld calendar rows (limit %d)",
			(long long)n, STORE_CALENDAR_MAX);
	return 0;
}

static int import_file(struct import_ctx *ic, enum store_file_kind kind, FILE *fp,
		       unsigned long *rows_out, struct fl_err *err)
{
	const struct file_spec *fs = &specs[kind];
	const char *fname = file_names[kind];
	struct csv_reader *r;
	sqlite3_stmt *s = NULL;
	int map[MAX_COLS];
	size_t header_fields;
	unsigned long rows = 0;
	int rc;

	r = malloc(sizeof(*r));
	if (!r)
		return fl_err_set(err, FL_ENOMEM, "%s: out of memory", fname);
	csv_reader_init(r, fp);
	if ((rc = store_prepare(ic->st, &s, fs->upsert, err)))
		goto out;

	/* header: columns in any order, names matched without case, extras ignored */
	rc = csv_read(r, err);
	if (rc == 0) {
		rc = fl_err_set(err, FL_EINVAL, "1: empty file (no header row)");
		goto out_loc;
	}
	if (rc < 0)
		goto out_loc;
	header_fields = r->nfields;
	for (int c = 0; c < fs->ncols; c++) {
		map[c] = -1;
		for (size_t f = 0; f < r->nfields; f++) {
			if (strcasecmp(trim(r->fields[f]), fs->cols[c].name) != 0)
				continue;
			if (map[c] >= 0) {
				rc = fl_err_set(err, FL_EINVAL, "1: column '%s' appears twice",
						fs->cols[c].name);
				goto out_loc;
			}
			map[c] = (int)f;
		}
		if (map[c] < 0 && fs->cols[c].kind != COL_PACK &&
		    fs->cols[c].kind != COL_FLAG_OPT) { /* an optional one may be absent */
			rc = fl_err_set(err, FL_EINVAL, "1: missing column '%s'", fs->cols[c].name);
			goto out_loc;
		}
	}

	while ((rc = csv_read(r, err)) == 1) {
		if (r->nfields != header_fields) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: %zu fields where the header has %zu",
					r->line, r->nfields, header_fields);
			goto out_loc;
		}
		for (int c = 0; c < fs->ncols; c++) {
			char none[1] = "";
			rc = bind_field(s, c + 1, &fs->cols[c],
					map[c] < 0 ? none : r->fields[map[c]], &ic->refs, err);
			if (rc) {
				fl_err_prefix(err, "%lu", r->line);
				goto out_loc;
			}
		}
		sqlite3_bind_int64(s, fs->ncols + 1, ic->gen);
		if (kind == STORE_FILE_LANES &&
		    strcmp(trim(r->fields[map[0]]), trim(r->fields[map[1]])) == 0) {
			rc = fl_err_set(err, FL_EINVAL, "%lu: to: same node as from", r->line);
			goto out_loc;
		}
		if (sqlite3_step(s) != SQLITE_DONE) {
			rc = fl_err_set(err, FL_EDB, "%lu: %s", r->line,
					sqlite3_errmsg(ic->st->db));
			goto out_loc;
		}
		if (sqlite3_changes(ic->st->db) == 0) {
			char key[256] = "";
			size_t kl = 0;
			for (int c = 0; c < fs->ncols && kl < sizeof(key); c++)
				if (fs->cols[c].key)
					kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "%s%s",
							       kl ? ", " : "",
							       trim(r->fields[map[c]]));
			rc = fl_err_set(err, FL_EINVAL, "%lu: duplicate key (%s) within the file",
					r->line, key);
			goto out_loc;
		}
		sqlite3_reset(s);
		if (++rows % STORE_PROGRESS_ROWS == 0 && ic->progress)
			ic->progress(ic->progress_ctx, fname, rows, false);
	}
	if (rc < 0)
		goto out_loc;
	rc = 0;
	if (ferror(fp)) {
		rc = fl_err_set(err, FL_EIO, "%s: read error", fname);
		goto out;
	}
	if (kind == STORE_FILE_CALENDAR && (rc = calendar_within_limit(ic->st, err)))
		goto out;
	if (ic->progress)
		ic->progress(ic->progress_ctx, fname, rows, true);
	*rows_out = rows;
	goto out;
out_loc:
	/* the reader and the binder say "LINE: …"; the contract says "FILE:LINE: …" */
	if (err) {
		char msg[FL_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s:%s", fname, err->msg);
		memcpy(err->msg, msg, sizeof(msg));
	}
out:
	sqlite3_finalize(s);
	csv_reader_release(r);
	free(r);
	return rc;
}

static int refresh_refs(struct import_ctx *ic, enum store_file_kind kind, struct fl_err *err)
{
	switch (kind) {
	case STORE_FILE_NODES:
		return load_map(ic->st, "SELECT nid, id FROM nodes", &ic->refs.nodes, err);
	case STORE_FILE_SKUS:
		return load_map(ic->st, "SELECT kid, id FROM skus", &ic->refs.skus, err);
	case STORE_FILE_ZONES:
		return load_map(ic->st, "SELECT zone, CAST(zone AS TEXT) FROM zones",
				&ic->refs.zones, err);
	default: return 0;
	}
}

#define SALES_REINDEX_BYTES (8 << 20) /* sales files from this size rebuild the index */

int store_import(struct store *st, const struct store_import_src *src,
		 struct store_import_stats *stats, store_progress_fn *progress, void *progress_ctx,
		 struct fl_err *err)
{
	struct import_ctx ic = {.st = st, .progress = progress, .progress_ctx = progress_ctx};
	struct store_import_stats local;
	sqlite3_stmt *s = NULL;
	int rc;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	strmap_init(&ic.refs.nodes);
	strmap_init(&ic.refs.skus);
	strmap_init(&ic.refs.zones);

	/* the index build sorts 5 million rows: on disk, so memory stays bounded (this cannot
	 * change inside a transaction; the connection's setting comes back at the end) */
	struct stat sb;
	const bool reindex = src->files[STORE_FILE_SALES] &&
			     fstat(fileno(src->files[STORE_FILE_SALES]), &sb) == 0 &&
			     S_ISREG(sb.st_mode) && sb.st_size >= SALES_REINDEX_BYTES;
	if (reindex && (rc = store_exec(st, "PRAGMA temp_store = FILE", err)))
		goto out_free;
	if ((rc = store_write_begin(st, err)))
		goto out_free;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'import_gen'", -1, &s,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = store_dberr(st, err, "import");
		goto out;
	}
	ic.gen = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;

	for (int k = STORE_FILE_NODES; k <= STORE_FILE_ZONES; k++)
		if ((rc = refresh_refs(&ic, (enum store_file_kind)k, err)))
			goto out;
	for (int k = 0; k < STORE_FILE_COUNT; k++) {
		if (!src->files[k])
			continue;
		ic.gen++;
		/* a large sales file: the series index is built once after the rows are in
		 * (sorted, fast) rather than kept up to date row by row (random, 3x slower) */
		const bool rebuild = k == STORE_FILE_SALES && reindex;
		if (rebuild && (rc = store_exec(st, "DROP INDEX IF EXISTS sales_series", err)))
			goto out;
		rc = import_file(&ic, (enum store_file_kind)k, src->files[k], &stats->rows[k], err);
		if (!rc && rebuild)
			rc = store_exec(
				st, "CREATE INDEX sales_series ON sales(node, sku, day, qty)", err);
		if (rc || (rc = refresh_refs(&ic, (enum store_file_kind)k, err)))
			goto out;
		stats->total += stats->rows[k];
	}
	/* an import is taken to include the transfers in transit: their commitments end */
	if ((rc = store_exec(st, "UPDATE inventory SET committed = 0 WHERE committed <> 0", err)))
		goto out;
	if (sqlite3_prepare_v2(st->db, "UPDATE meta SET value = ?1 WHERE key = 'import_gen'", -1,
			       &s, NULL) != SQLITE_OK) {
		rc = store_dberr(st, err, "import");
		goto out;
	}
	sqlite3_bind_int64(s, 1, ic.gen);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_dberr(st, err, "import");
		goto out;
	}
out:
	sqlite3_finalize(s);
	rc = store_write_end(st, rc, err);
out_free:
	if (reindex)
		sqlite3_exec(st->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	strmap_release(&ic.refs.nodes);
	strmap_release(&ic.refs.skus);
	strmap_release(&ic.refs.zones);
	return rc;
}

int store_import_dir(struct store *st, const char *dir, struct store_import_stats *stats,
		     store_progress_fn *progress, void *progress_ctx, struct fl_err *err)
{
	struct store_import_src src = {{NULL}};
	struct stat sb;
	int rc = 0, found = 0;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return fl_err_set(err, FL_EINVAL, "import: '%s' is not a directory", dir);
	for (int k = 0; k < STORE_FILE_COUNT; k++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, file_names[k]);
		src.files[k] = fopen(path, "rb");
		if (src.files[k]) {
			found++;
		} else if (errno != ENOENT) {
			rc = fl_err_set(err, FL_EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	if (!found) {
		rc = fl_err_set(err, FL_EINVAL,
				"import: '%s' holds none of nodes.csv, skus.csv, zones.csv,"
				" rates.csv, lanes.csv, inventory.csv, sales.csv, calendar.csv",
				dir);
		goto out;
	}
	rc = store_import(st, &src, stats, progress, progress_ctx, err);
out:
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (src.files[k])
			fclose(src.files[k]);
	return rc;
}

/* ---- export ---- */

static void write_value(FILE *fp, sqlite3_stmt *s, int i, enum col_kind kind)
{
	char buf[64];
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_NULL: return;
	case SQLITE_INTEGER:
		if (kind == COL_DATE) {
			fl_date_format(sqlite3_column_int(s, i), buf);
			fputs(buf, fp);
		} else {
			fprintf(fp, "%lld", (long long)sqlite3_column_int64(s, i));
		}
		return;
	case SQLITE_FLOAT:
		csv_format_double(buf, sizeof(buf), sqlite3_column_double(s, i));
		fputs(buf, fp);
		return;
	default: csv_write_field(fp, (const char *)sqlite3_column_text(s, i));
	}
}

static int export_file(struct store *st, const char *dir, enum store_file_kind kind,
		       struct fl_err *err)
{
	const struct file_spec *fs = &specs[kind];
	char path[4096], tmp[4200];
	sqlite3_stmt *s = NULL;
	FILE *fp = NULL;
	int rc = 0, step;

	snprintf(path, sizeof(path), "%s/%s", dir, file_names[kind]);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (sqlite3_prepare_v2(st->db, fs->export_sql, -1, &s, NULL) != SQLITE_OK)
		return store_dberr(st, err, "export");
	fp = fopen(tmp, "wb");
	if (!fp) {
		rc = fl_err_set(err, FL_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (int c = 0; c < fs->ncols; c++)
		fprintf(fp, "%s%s", c ? "," : "", fs->cols[c].name);
	fputc('\n', fp);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		for (int c = 0; c < fs->ncols; c++) {
			if (c)
				fputc(',', fp);
			write_value(fp, s, c, fs->cols[c].kind);
		}
		fputc('\n', fp);
	}
	if (step != SQLITE_DONE) {
		rc = store_dberr(st, err, "export");
		goto out;
	}
	if (ferror(fp) | fclose(fp)) {
		fp = NULL;
		rc = fl_err_set(err, FL_EIO, "%s: write failed", tmp);
		goto out;
	}
	fp = NULL;
	if (rename(tmp, path) != 0)
		rc = fl_err_set(err, FL_EIO, "%s: %s", path, strerror(errno));
out:
	if (fp)
		fclose(fp);
	if (rc)
		unlink(tmp);
	sqlite3_finalize(s);
	return rc;
}

int store_export_dir(struct store *st, const char *dir, struct fl_err *err)
{
	struct stat sb;
	int rc;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return fl_err_set(err, FL_EINVAL, "export: '%s' is not a directory", dir);
	/* one read transaction: the seven files describe one instant */
	if ((rc = store_exec(st, "BEGIN", err)))
		return rc;
	for (int k = 0; k < STORE_FILE_COUNT && !rc; k++)
		rc = export_file(st, dir, (enum store_file_kind)k, err);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
