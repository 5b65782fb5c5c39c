/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The data module's pieces: dates, distance, the CSV reader, the string map, the demo
 * generator's determinism, tokens. */
#include <math.h>

#include "data/internal.h"
#include <stdatomic.h>

#include "helpers.h"

static void test_dates(void **state)
{
	(void)state;
	int32_t d;
	char buf[11];
	assert_true(fl_date_parse("1970-01-01", &d));
	assert_int_equal(d, 0);
	assert_true(fl_date_parse("2024-02-29", &d));
	fl_date_format(d, buf);
	assert_string_equal(buf, "2024-02-29");
	assert_true(fl_date_parse("2000-03-01", &d));
	assert_int_equal(d, 11017);
	assert_false(fl_date_parse("2023-02-29", &d)); /* not a leap year */
	assert_false(fl_date_parse("1900-02-29", &d));
	assert_false(fl_date_parse("2026-13-01", &d));
	assert_false(fl_date_parse("2026-1-01", &d));
	assert_false(fl_date_parse("2026-01-01T00", &d));
	assert_false(fl_date_parse("", &d));
	for (int32_t day = -719000; day < 2900000; day += 997) {
		fl_date_format(day, buf);
		int32_t back;
		assert_true(fl_date_parse(buf, &back));
		assert_int_equal(back, day);
	}
}

static void test_haversine(void **state)
{
	(void)state;
	/* New York to Los Angeles, about 3,936 km on a 6,371 km sphere */
	double km = fl_haversine_km(40.7128, -74.0060, 34.0522, -118.2437);
	assert_true(fabs(km - 3935.75) < 1.0);
	assert_true(fl_haversine_km(10, 10, 10, 10) == 0.0);
	/* antipodes: half the circumference */
	assert_true(fabs(fl_haversine_km(0, 0, 0, 180) - M_PI * 6371.0) < 1e-6);
}

static int read_all(const char *text, char out[][64], size_t *nrec, unsigned long *lines,
		    struct fl_err *err)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "rb");
	struct csv_reader *r = malloc(sizeof(*r));
	int rc;
	size_t k = 0;
	csv_reader_init(r, fp);
	while ((rc = csv_read(r, err)) == 1) {
		char joined[64] = "";
		for (size_t i = 0; i < r->nfields; i++) {
			strncat(joined, r->fields[i], sizeof(joined) - strlen(joined) - 2);
			if (i + 1 < r->nfields)
				strcat(joined, "|");
		}
		lines[k] = r->line;
		strcpy(out[k++], joined);
	}
	*nrec = k;
	csv_reader_release(r);
	free(r);
	fclose(fp);
	return rc;
}

static void test_csv_reader(void **state)
{
	(void)state;
	char out[8][64];
	unsigned long lines[8];
	size_t n;
	struct fl_err err = {0};

	assert_int_equal(read_all("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n,\n\n", out, &n, lines, &err),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "a|b");
	assert_string_equal(out[1], "x,1|say \"hi\"");
	assert_string_equal(out[2], "|");
	assert_int_equal(lines[2], 3);
	/* a quoted empty field is a record, a blank line is not; no final newline */
	assert_int_equal(read_all("\"\"\n\nq", out, &n, lines, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0], "");
	assert_string_equal(out[1], "q");
	assert_int_equal(lines[1], 3);
	/* a lone CR ends a line too */
	assert_int_equal(read_all("a\rb\r", out, &n, lines, &err), 0);
	assert_int_equal(n, 2);
	/* refusals */
	assert_int_equal(read_all("a\"b\n", out, &n, lines, &err), FL_EINVAL);
	assert_string_equal(err.msg, "1: quote inside an unquoted field");
	assert_int_equal(read_all("\"a\"b\n", out, &n, lines, &err), FL_EINVAL);
	assert_string_equal(err.msg, "1: text after a closing quote");
	assert_int_equal(read_all("ok\n\"a\nb\nc", out, &n, lines, &err), FL_EINVAL);
	assert_string_equal(err.msg, "2: quoted field is not closed");
	assert_int_equal(read_all("\xC0\xAF\n", out, &n, lines, &err), FL_EINVAL); /* overlong */
	assert_int_equal(read_all("\xED\xA0\x80\n", out, &n, lines, &err),
			 FL_EINVAL);						  /* surrogate */
	assert_int_equal(read_all("ok,\xE2\x82\xAC\n", out, &n, lines, &err), 0); /* euro sign */
}

static void test_csv_limits(void **state)
{
	(void)state;
	char out[8][64];
	unsigned long lines[8];
	size_t n;
	struct fl_err err = {0};
	/* too many fields */
	char *many = malloc(CSV_FIELDS_MAX * 2 + 2);
	for (int i = 0; i < CSV_FIELDS_MAX; i++)
		many[2 * i] = 'x', many[2 * i + 1] = ',';
	strcpy(many + 2 * CSV_FIELDS_MAX, "\n");
	assert_int_equal(read_all(many, out, &n, lines, &err), FL_ELIMIT);
	free(many);
	/* a record beyond the byte ceiling */
	size_t big = CSV_RECORD_MAX + 10;
	char *huge = malloc(big + 2);
	memset(huge, 'y', big);
	strcpy(huge + big, "\n");
	assert_int_equal(read_all(huge, out, &n, lines, &err), FL_ELIMIT);
	assert_non_null(strstr(err.msg, "record longer than"));
	free(huge);
}

static void test_csv_write_and_numbers(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	csv_write_field(fp, "plain");
	fputc(' ', fp);
	csv_write_field(fp, "a,\"b\"\nc");
	fclose(fp);
	assert_string_equal(buf, "plain \"a,\"\"b\"\"\nc\"");
	free(buf);
	char num[64];
	csv_format_double(num, sizeof(num), 0.1);
	assert_string_equal(num, "0.1");
	csv_format_double(num, sizeof(num), 1.0 / 3.0);
	assert_true(strtod(num, NULL) == 1.0 / 3.0);
}

static void test_strmap(void **state)
{
	(void)state;
	struct strmap m;
	int64_t v;
	char key[32];
	strmap_init(&m);
	assert_false(strmap_get(&m, "x", &v));
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(strmap_put(&m, key, i), 0);
	}
	assert_int_equal(strmap_put(&m, "k7", 70), 0);
	assert_int_equal(m.count, 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(strmap_get(&m, key, &v));
		assert_int_equal(v, i == 7 ? 70 : i);
	}
	assert_false(strmap_get(&m, "k5000", &v));
	strmap_release(&m);
}

static char *demo_digest(uint64_t seed)
{
	struct store_demo_opts o;
	struct fl_err err = {0};
	store_demo_opts_default(&o);
	o.seed = seed;
	o.skus = 60;
	o.days = 45;
	char *dir = tmp_dir();
	assert_int_equal(store_demo_write(&o, dir, NULL, NULL, &err), 0);
	size_t total = 0;
	char *all = calloc(1, 1);
	for (int k = 0; k < STORE_FILE_COUNT; k++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir,
			 store_file_name((enum store_file_kind)k));
		char *t = read_file(path);
		size_t n = strlen(t);
		all = realloc(all, total + n + 1);
		memcpy(all + total, t, n + 1);
		total += n;
		free(t);
	}
	/* and it imports cleanly */
	char db[4200];
	struct store *st;
	snprintf(db, sizeof(db), "%s/demo.db", dir);
	assert_int_equal(store_open(db, &st, &err), 0);
	int rc = store_import_dir(st, dir, NULL, NULL, NULL, &err);
	if (rc)
		fail_msg("%s", err.msg);
	unsigned long counts[STORE_FILE_COUNT];
	assert_int_equal(store_counts(st, counts, &err), 0);
	assert_true(counts[STORE_FILE_NODES] >= 40);
	assert_int_equal(counts[STORE_FILE_SKUS], 60);
	assert_true(counts[STORE_FILE_SALES] > 1000);
	store_close(st);
	rm_tree(dir);
	return all;
}

static void test_demo_deterministic(void **state)
{
	(void)state;
	char *a = demo_digest(7), *b = demo_digest(7), *c = demo_digest(8);
	assert_string_equal(a, b);
	assert_true(strcmp(a, c) != 0);
	free(a), free(b), free(c);
}

static void test_demo_bad_options(void **state)
{
	(void)state;
	struct store_demo_opts o;
	struct fl_err err = {0};
	store_demo_opts_default(&o);
	o.stores = 500;
	assert_int_equal(store_demo_write(&o, "/nonexistent", NULL, NULL, &err), FL_EINVAL);
	store_demo_opts_default(&o);
	assert_int_equal(store_demo_write(&o, "/nonexistent/dir", NULL, NULL, &err), FL_EIO);
}

static void test_tokens(void **state)
{
	(void)state;
	char *dir = tmp_dir(), db[4200];
	struct store *st;
	struct fl_err err = {0};
	snprintf(db, sizeof(db), "%s/t.db", dir);
	assert_int_equal(store_open(db, &st, &err), 0);
	struct store_token t = {.id = "0123456789abcdef", .role = "planner", .created_at = 5};
	memset(t.hash, 0xAB, sizeof(t.hash));
	assert_int_equal(store_token_insert(st, &t, &err), 0);
	assert_int_not_equal(store_token_insert(st, &t, &err), 0); /* same id twice */
	struct store_token got;
	assert_int_equal(store_token_get(st, t.id, &got, &err), 0);
	assert_string_equal(got.role, "planner");
	assert_memory_equal(got.hash, t.hash, sizeof(t.hash));
	assert_int_equal(got.revoked_at, 0);
	assert_int_equal(store_token_get(st, "nope", &got, &err), FL_ENOTFOUND);
	strcpy(t.role, "root");
	strcpy(t.id, "fedcba9876543210");
	assert_int_equal(store_token_insert(st, &t, &err), FL_EDB); /* unknown role */
	assert_int_equal(store_token_revoke(st, "0123456789abcdef", 9, &err), 0);
	assert_int_equal(store_token_revoke(st, "0123456789abcdef", 9, &err), FL_ENOTFOUND);
	assert_int_equal(store_token_get(st, "0123456789abcdef", &got, &err), 0);
	assert_int_equal(got.revoked_at, 9);
	struct store_token *list;
	size_t n;
	assert_int_equal(store_token_list(st, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(store_ping(st, &err), 0);
	store_close(st);
	store_close(NULL);
	rm_tree(dir);
}

static void test_status_text(void **state)
{
	(void)state;
	assert_string_equal(fl_strerror(FL_ENOMEM), "out of memory");
	assert_string_equal(fl_strerror(-999), "unknown status");
	struct fl_err err = {0};
	assert_int_equal(fl_err_set(&err, FL_EINVAL, "lat: %s", "not a number"), FL_EINVAL);
	fl_err_prefix(&err, "nodes.csv:%d", 57);
	assert_string_equal(err.msg, "nodes.csv:57: lat: not a number");
	assert_int_equal(fl_err_set(NULL, FL_EIO, "x"), FL_EIO);
}

/* The one growable array: doubles, stops at its ceiling with FL_ELIMIT, keeps the block. */
static void test_grow_ceiling(void **state)
{
	(void)state;
	int *v = NULL;
	size_t cap = 0;
	assert_int_equal(fl_grow((void **)&v, &cap, 1, sizeof(int), 100), 0);
	assert_int_equal(cap, 16);
	v[15] = 7;
	assert_int_equal(fl_grow((void **)&v, &cap, 17, sizeof(int), 100), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(v[15], 7);
	assert_int_equal(fl_grow((void **)&v, &cap, 90, sizeof(int), 100), 0);
	assert_int_equal(cap, 100); /* never past the ceiling */
	int *before = v;
	assert_int_equal(fl_grow((void **)&v, &cap, 101, sizeof(int), 100), FL_ELIMIT);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 100);
	assert_int_equal(fl_grow((void **)&v, &cap, 50, sizeof(int), 100), 0); /* no-op */
	free(v);
}

struct pool_count {
	atomic_int calls;
	atomic_int by_worker[FL_POOL_MAX];
	atomic_size_t next;
	atomic_size_t sum;
};

static void count_each(void *ctx, int worker)
{
	struct pool_count *c = ctx;
	atomic_fetch_add(&c->calls, 1);
	atomic_fetch_add(&c->by_worker[worker], 1);
}

static void sum_indices(void *ctx, int worker)
{
	struct pool_count *c = ctx;
	size_t i;
	(void)worker;
	while ((i = atomic_fetch_add(&c->next, 1)) < 1000)
		atomic_fetch_add(&c->sum, i);
}

/* The one pool: each worker runs once per call, the same workers call after call. */
static void test_pool(void **state)
{
	(void)state;
	struct fl_pool *p;
	struct pool_count c = {0};
	assert_int_equal(fl_pool_create(4, &p), 0);
	const int n = fl_pool_size(p);
	assert_true(n >= 1 && n <= 4);
	for (int round = 0; round < 50; round++)
		fl_pool_each(p, count_each, &c);
	assert_int_equal(atomic_load(&c.calls), 50 * n);
	for (int w = 0; w < n; w++)
		assert_int_equal(atomic_load(&c.by_worker[w]), 50);
	fl_pool_destroy(p);
	fl_pool_destroy(NULL);
	struct pool_count d = {0};
	const int ran = fl_run_workers(3, sum_indices, &d);
	assert_true(ran >= 1 && ran <= 3);
	assert_int_equal(atomic_load(&d.sum), 999 * 1000 / 2);
	assert_int_equal(fl_run_workers(0, count_each, &d), 1); /* the caller alone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_ceiling),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_haversine),
		cmocka_unit_test(test_csv_reader),
		cmocka_unit_test(test_csv_limits),
		cmocka_unit_test(test_csv_write_and_numbers),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_demo_deterministic),
		cmocka_unit_test(test_demo_bad_options),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_status_text),
	};
	return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
