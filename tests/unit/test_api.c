/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The api module's pieces without a socket: SHA-256, tokens, the JSON body guard,
 * settings, the import map, and the router's table. */
#include "flow/flow.h"
#include "http/http.h"
#include "helpers.h"

static void hexs(const unsigned char *b, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_sha256_vectors(void **state)
{
	(void)state;
	unsigned char h[32];
	char s[65];
	flow_sha256("", 0, h);
	hexs(h, s);
	assert_string_equal(s, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	flow_sha256("abc", 3, h);
	hexs(h, s);
	assert_string_equal(s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	flow_sha256(m56, strlen(m56), h); /* padding spills into a second block */
	hexs(h, s);
	assert_string_equal(s, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *million = malloc(1000000);
	memset(million, 'a', 1000000);
	flow_sha256(million, 1000000, h);
	free(million);
	hexs(h, s);
	assert_string_equal(s, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_tokens_roundtrip(void **state)
{
	(void)state;
	char *dir = tmp_dir(), db[4200], tok[HTTP_TOKEN_MAX], id[17];
	struct store *st;
	struct fl_err err = {0};
	unsigned role;
	snprintf(db, sizeof(db), "%s/t.db", dir);
	assert_int_equal(store_open(db, &st, &err), 0);
	assert_int_equal(http_token_create(st, "superuser", tok, &err), FL_EINVAL);
	assert_int_equal(http_token_create(st, "analyst", tok, &err), 0);
	assert_int_equal(strlen(tok), 84);
	assert_int_equal(http_token_check(st, tok, &role, id), 0);
	assert_int_equal(role, HTTP_ROLE_ANALYST);
	char forged[HTTP_TOKEN_MAX];
	strcpy(forged, tok);
	forged[83] = forged[83] == '0' ? '1' : '0';
	assert_int_equal(http_token_check(st, forged, &role, id), FL_EAUTH);
	assert_int_equal(http_token_check(st, "fk_short", &role, id), FL_EAUTH);
	assert_int_equal(http_token_check(st, "", &role, id), FL_EAUTH);
	memcpy(forged, tok, sizeof(forged));
	forged[5] = forged[5] == 'a' ? 'b' : 'a'; /* an id that does not exist */
	assert_int_equal(http_token_check(st, forged, &role, id), FL_EAUTH);
	char tid[17];
	memcpy(tid, tok + 3, 16);
	tid[16] = '\0';
	assert_int_equal(store_token_revoke(st, tid, 1, &err), 0);
	assert_int_equal(http_token_check(st, tok, &role, id), FL_EAUTH);
	assert_int_equal(role, 0);
	store_close(st);
	rm_tree(dir);
}

static int parse(const char *s, json_t **out)
{
	char detail[256];
	return http_json_parse(s, strlen(s), 4, out, detail, sizeof(detail));
}

static void test_json_guard(void **state)
{
	(void)state;
	json_t *j;
	assert_int_equal(parse("{\"a\":[[1]]}", &j), 0);
	json_decref(j);
	assert_int_equal(parse("{\"a\":[[[[1]]]]}", &j), 400); /* depth 5 > 4 */
	assert_null(j);
	/* brackets inside strings do not count, escaped quotes do not end strings */
	assert_int_equal(parse("{\"a\":\"[[[[[\\\"[[[[\"}", &j), 0);
	json_decref(j);
	assert_int_equal(parse("{\"a\":1,\"a\":2}", &j), 400);
	assert_int_equal(parse("[1]", &j), 400);
	assert_int_equal(parse("{\"a\":\"\xff\"}", &j), 400);
	assert_int_equal(parse("", &j), 400);
	char detail[256];
	assert_int_equal(http_json_parse("{\"a\":", 5, 32, &j, detail, sizeof(detail)), 400);
	assert_non_null(strstr(detail, "body: "));
}

static void test_config(void **state)
{
	(void)state;
	struct http_config c;
	struct fl_err err = {0};
	http_config_default(&c);
	assert_int_equal(c.port, 8080);
	assert_int_equal(c.body_limit, 1u << 20);
	assert_int_equal(http_config_set(&c, "port", "9000", &err), 0);
	assert_int_equal(c.port, 9000);
	assert_int_equal(http_config_set(&c, "port", "70000", &err), FL_EINVAL);
	assert_int_equal(http_config_set(&c, "port", "", &err), FL_EINVAL);
	assert_int_equal(http_config_set(&c, "threads", "0", &err), FL_EINVAL);
	assert_int_equal(http_config_set(&c, "host", "localhost", &err), FL_EINVAL);
	assert_int_equal(http_config_set(&c, "access_log", "maybe", &err), FL_EINVAL);
	assert_int_equal(http_config_set(&c, "colour", "blue", &err), FL_EINVAL);
	assert_string_equal(err.msg, "unknown setting 'colour'");
	char *dir = tmp_dir(), path[4200];
	snprintf(path, sizeof(path), "%s/f.conf", dir);
	write_file(dir, "f.conf", "# settings\n  threads = 3  \n\nrate_limit=2.5 # per second\n");
	assert_int_equal(http_config_load(&c, path, &err), 0);
	assert_int_equal(c.threads, 3);
	assert_true(c.rate_limit == 2.5);
	write_file(dir, "f.conf", "threads 3\n");
	assert_int_equal(http_config_load(&c, path, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "f.conf:1: expected 'key = value'"));
	rm_tree(dir);
	setenv("FULCRUM_BODY_LIMIT", "2048", 1);
	assert_int_equal(http_config_env(&c, &err), 0);
	assert_int_equal(c.body_limit, 2048);
	setenv("FULCRUM_BODY_LIMIT", "tiny", 1);
	assert_int_equal(http_config_env(&c, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "FULCRUM_BODY_LIMIT"));
	unsetenv("FULCRUM_BODY_LIMIT");
}

static void test_import_map(void **state)
{
	(void)state;
	struct store *st;
	struct fl_err err = {0};
	json_t *res;
	assert_int_equal(store_open(":memory:", &st, &err), 0);
	json_t *m = json_pack("{s:s}", "zones.csv", "zone,max_km\n2,100\n3,200\n");
	assert_int_equal(flow_import_json(st, m, &res, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "total")), 2);
	json_decref(res);
	json_decref(m);
	m = json_pack("{s:i}", "zones.csv", 3);
	assert_int_equal(flow_import_json(st, m, &res, &err), FL_EINVAL);
	assert_string_equal(err.msg, "zones.csv: must be a string of CSV text");
	json_decref(m);
	m = json_pack("{s:s}", "zones.csv", "zone,max_km\n4,-1\n");
	assert_int_equal(flow_import_json(st, m, &res, &err), FL_EINVAL);
	assert_string_equal(err.msg, "zones.csv:2: max_km: must be positive");
	json_decref(m);
	m = json_object();
	assert_int_equal(flow_import_json(st, m, &res, &err), FL_EINVAL);
	json_decref(m);
	m = json_pack("{s:s}", "zones.csv", "");
	assert_int_equal(flow_import_json(st, m, &res, &err), FL_EINVAL);
	assert_string_equal(err.msg, "zones.csv:1: empty file (no header row)");
	json_decref(m);
	store_close(st);
}

static void test_route_table(void **state)
{
	(void)state;
	assert_true(http_nroutes > 0);
	for (size_t i = 0; i < http_nroutes; i++) {
		assert_true(http_routes[i].pattern[0] == '/');
		assert_non_null(http_routes[i].fn);
		assert_true(http_routes[i].summary && *http_routes[i].summary);
		for (size_t j = i + 1; j < http_nroutes; j++)
			assert_false(strcmp(http_routes[i].method, http_routes[j].method) == 0 &&
				     strcmp(http_routes[i].pattern, http_routes[j].pattern) == 0);
		/* /v1/ routes need a role; only probes and the document are public */
		if (strncmp(http_routes[i].pattern, "/v1/", 4) == 0 &&
		    strcmp(http_routes[i].pattern, "/v1/openapi.json") != 0)
			assert_true(http_routes[i].roles != 0);
	}
	assert_int_equal(http_role_parse("admin"), HTTP_ROLE_ADMIN);
	assert_int_equal(http_role_parse("root"), 0);
	assert_string_equal(http_role_name(HTTP_ROLE_PLANNER), "planner");
}

/* One table maps a flow's status to HTTP: a full disk is a 503, never a 200 or a 500. */
static void test_status_table(void **state)
{
	(void)state;
	assert_int_equal(http_status_of(0), 200);
	assert_int_equal(http_status_of(FL_EINVAL), 422);
	assert_int_equal(http_status_of(FL_ELIMIT), 422);
	assert_int_equal(http_status_of(FL_ENOTFOUND), 404);
	assert_int_equal(http_status_of(FL_ECONFLICT), 409);
	assert_int_equal(http_status_of(FL_ETOOBIG), 413);
	assert_int_equal(http_status_of(FL_EIO), 503);
	assert_int_equal(http_status_of(FL_EDB), 503);
	assert_int_equal(http_status_of(FL_EBUSY), 503);
	assert_int_equal(http_status_of(FL_ERULE), 503);
	assert_int_equal(http_status_of(FL_ENOMEM), 500);
	assert_int_equal(http_status_of(FL_ESOLVER), 500);
	assert_int_equal(http_status_of(-999), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_tokens_roundtrip),
		cmocka_unit_test(test_json_guard),     cmocka_unit_test(test_config),
		cmocka_unit_test(test_import_map),     cmocka_unit_test(test_route_table),
		cmocka_unit_test(test_status_table),
	};
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
