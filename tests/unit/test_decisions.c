/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The store's decision log and reservations: every outcome of store_decision_record and
 * store_decision_release, and that a refused write leaves nothing behind. */
#include "helpers.h"

struct fx {
	char *dir;
	struct store *st;
	struct fl_node *nodes;
	size_t nnodes;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct fl_err err = {0};
	char db[4200];
	fx->dir = tmp_dir();
	snprintf(db, sizeof(db), "%s/t.db", fx->dir);
	assert_int_equal(store_open(db, &fx->st, &err), 0);
	char *in = tmp_dir();
	write_file(
		in, "nodes.csv",
		"id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
		"processing_days,ships_hazmat\nA,a,dc,1,1,r,,1,1,0,1\nB,b,store,2,2,r,3,1,1,1,0\n");
	write_file(in, "skus.csv", "id,name,weight_kg,hazmat\nS,s,1,0\nT,t,2,0\n");
	write_file(in, "inventory.csv",
		   "node,sku,on_hand,safety_stock\nA,S,10,2\nA,T,1,0\nB,S,5,0\n");
	assert_int_equal(store_import_dir(fx->st, in, NULL, NULL, NULL, &err), 0);
	rm_tree(in);
	assert_int_equal(store_nodes_load(fx->st, &fx->nodes, &fx->nnodes, &err), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	free(fx->nodes);
	store_close(fx->st);
	rm_tree(fx->dir);
	free(fx);
	return 0;
}

static void stock(struct fx *fx, long atp[4], long cap[2])
{
	static const char *const skus[] = {"S", "T"};
	struct fl_err err = {0};
	assert_int_equal(store_stock_read(fx->st, skus, 2, fx->nodes, 2, atp, cap, &err), 0);
}

static struct store_decision dec(const char *id, const char *order, unsigned char h)
{
	static unsigned char hash[256][32];
	memset(hash[h], h, 32);
	return (struct store_decision){.id = id,
				       .order_id = order,
				       .request_hash = hash[h],
				       .request = "{}",
				       .response = "{\"ok\":1}",
				       .status = "complete",
				       .solver_status = "optimal",
				       .created_at = 1};
}

static void test_stock_read(void **state)
{
	struct fx *fx = *state;
	long atp[4], cap[2];
	stock(fx, atp, cap);
	/* A: S 10 - 2 safety = 8, T 1; B: S 5, T none; capacity A unlimited, B 3 */
	assert_int_equal(atp[0], 8);
	assert_int_equal(atp[1], 1);
	assert_int_equal(atp[2], 5);
	assert_int_equal(atp[3], 0);
	assert_true(cap[0] == FL_UNLIMITED);
	assert_int_equal(cap[1], 3);
}

static void test_reserve_and_release(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *existing, *resp;
	long atp[4], cap[2], units;
	struct store_alloc a[] = {{"A", "S", 3}, {"B", "S", 2}, {"A", "S", 1}};
	struct store_decision d = dec("d_1", "O-1", 1);
	assert_int_equal(store_decision_record(fx->st, &d, true, a, 3, &existing, &err), 0);
	assert_null(existing);
	stock(fx, atp, cap);
	assert_int_equal(atp[0], 4); /* 8 - 3 - 1 */
	assert_int_equal(atp[2], 3);
	assert_int_equal(cap[1], 1); /* B's capacity counts its open reservation */
	/* the same key and hash: the stored answer, nothing reserved again */
	struct store_decision again = dec("d_2", "O-1", 1);
	assert_int_equal(store_decision_record(fx->st, &again, true, a, 3, &existing, &err), 0);
	assert_non_null(existing);
	assert_string_equal(existing, "{\"ok\":1}");
	free(existing);
	assert_int_equal(store_order_key_get(fx->st, "O-1", d.request_hash, &resp, &err), 0);
	free(resp);
	stock(fx, atp, cap);
	assert_int_equal(atp[0], 4);
	/* the same key, another request: conflict */
	struct store_decision other = dec("d_3", "O-1", 2);
	assert_int_equal(store_decision_record(fx->st, &other, true, a, 1, &existing, &err),
			 FL_ECONFLICT);
	assert_int_equal(store_decision_get(fx->st, "d_3", &resp, &err), FL_ENOTFOUND);
	/* release frees everything, once */
	assert_int_equal(store_decision_release(fx->st, "d_1", &units, &err), 0);
	assert_int_equal(units, 6);
	stock(fx, atp, cap);
	assert_int_equal(atp[0], 8);
	assert_int_equal(cap[1], 3);
	assert_int_equal(store_decision_release(fx->st, "d_1", &units, &err), FL_ECONFLICT);
	assert_int_equal(store_decision_release(fx->st, "d_404", &units, &err), FL_ENOTFOUND);
}

static void test_stale_stock_is_refused_whole(void **state)
{
	struct fx *fx = *state;
	struct fl_err err = {0};
	char *existing, *resp;
	long atp[4], cap[2];
	/* the first allocation fits, the second asks more than A's T: nothing may land */
	struct store_alloc a[] = {{"A", "S", 2}, {"A", "T", 2}};
	struct store_decision d = dec("d_9", "O-9", 9);
	assert_int_equal(store_decision_record(fx->st, &d, true, a, 2, &existing, &err), FL_EBUSY);
	assert_non_null(strstr(err.msg, "stock of 'T' at 'A' changed"));
	stock(fx, atp, cap);
	assert_int_equal(atp[0], 8);
	assert_int_equal(store_decision_get(fx->st, "d_9", &resp, &err), FL_ENOTFOUND);
	assert_int_equal(store_order_key_get(fx->st, "O-9", d.request_hash, &resp, &err),
			 FL_ENOTFOUND);
	/* capacity too: B takes at most 3 */
	struct store_alloc b[] = {{"B", "S", 4}};
	struct store_decision e = dec("d_10", "O-10", 10);
	assert_int_equal(store_decision_record(fx->st, &e, true, b, 1, &existing, &err), FL_EBUSY);
	/* without reserve the decision is only logged */
	struct store_decision f = dec("d_11", "O-11", 11);
	assert_int_equal(store_decision_record(fx->st, &f, false, b, 1, &existing, &err), 0);
	assert_int_equal(store_decision_get(fx->st, "d_11", &resp, &err), 0);
	free(resp);
	stock(fx, atp, cap);
	assert_int_equal(atp[2], 5);
	long units;
	assert_int_equal(store_decision_release(fx->st, "d_11", &units, &err), FL_ECONFLICT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stock_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_stock_is_refused_whole, setup, teardown),
	};
	return cmocka_run_group_tests_name("decisions", tests, NULL, NULL);
}
