/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `fulcrum rebalance`: run a scenario, print its summary, write its transfers; accept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flow/flow.h"

static void print_summary(const json_t *a)
{
	const json_t *cost = json_object_get(a, "cost"), *fr = json_object_get(a, "fill_rate");
	const json_t *sv = json_object_get(a, "solver"), *sh = json_object_get(a, "shortage_units");
	const json_t *bl = json_object_get(a, "baseline");
	const double total = json_number_value(json_object_get(cost, "total"));
	const double greedy = json_number_value(json_object_get(bl, "greedy_total"));
	printf("scenario %s (%s): horizon %lld days, penalty %.2f per unit short\n",
	       json_string_value(json_object_get(a, "scenario_id")),
	       json_string_value(json_object_get(a, "name")),
	       json_integer_value(json_object_get(a, "horizon_days")),
	       json_number_value(json_object_get(a, "shortage_penalty")));
	printf("solver: %s, gap %.2f%% to the proved bound %.2f, %.0f ms (%s)\n",
	       json_string_value(json_object_get(sv, "status")),
	       100 * json_number_value(json_object_get(sv, "gap")),
	       json_number_value(json_object_get(sv, "bound")),
	       json_number_value(json_object_get(sv, "time_ms")),
	       json_string_value(json_object_get(sv, "method")));
	printf("cost: total %.2f = transfers %.2f + fixed %.2f + shortage %.2f\n", total,
	       json_number_value(json_object_get(cost, "transfer")),
	       json_number_value(json_object_get(cost, "fixed")),
	       json_number_value(json_object_get(cost, "shortage")));
	printf("transfers: %zu on %lld lanes, %lld units; units short %lld -> %lld\n",
	       json_array_size(json_object_get(a, "transfers")),
	       json_integer_value(json_object_get(sv, "lanes_used")),
	       json_integer_value(json_object_get(a, "units_moved")),
	       json_integer_value(json_object_get(sh, "before")),
	       json_integer_value(json_object_get(sh, "after")));
	printf("greedy baseline (nearest surplus first): %.2f; optimised / greedy = %.3f\n", greedy,
	       greedy > 0 ? total / greedy : 1);
	printf("fill rate (forecast demand a node serves from its own stock): %.1f%% -> %.1f%%\n",
	       100 * json_number_value(json_object_get(fr, "before")),
	       100 * json_number_value(json_object_get(fr, "after")));
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)json_object_get(fr, "by_region"), key, v)
		printf("  %-14s %.1f%% -> %.1f%%\n", key,
		       100 * json_number_value(json_object_get(v, "before")),
		       100 * json_number_value(json_object_get(v, "after")));
}

static const struct cli_doc rebalance_doc = {
	"rebalance",
	"--db FILE [--name N] [--horizon 14] [--penalty 25] [--service-level 0.95]\n"
	"       [--multiplier region|node|sku=ID:FACTOR]... [--close NODE]...\n"
	"       [--demand NODE/SKU:QTY]... [--time-limit-ms N] [--transfers OUT.csv]\n"
	"       [--export-lp FILE] [--json]\n"
	"   or: fulcrum rebalance accept SCENARIO_ID --db FILE",
	"Run and store a rebalancing scenario: transfers between nodes at least cost before\n"
	"demand arrives, against the forecast over the horizon. Prints a summary (--json: the\n"
	"whole answer); --transfers writes its lines as CSV (from,to,sku,qty,cost).\n"
	"`accept` turns a stored scenario's transfers into stock in transit.\n"};

/* --multiplier KIND=ID:FACTOR or --demand NODE/SKU:QTY into the overrides' arrays. */
static int override_arg(bool multiplier, const char *v, json_t *mult, json_t *demand)
{
	const char *colon = strrchr(v, ':'), *eq = strchr(v, '='), *sl = strchr(v, '/');
	char *end;
	if (!colon || (multiplier && (!eq || eq > colon)) || (!multiplier && (!sl || sl > colon)))
		return -1;
	const double x = strtod(colon + 1, &end);
	if (*end || end == colon + 1)
		return -1;
	if (multiplier) {
		char kind[16];
		snprintf(kind, sizeof(kind), "%.*s", (int)(eq - v), v);
		return json_array_append_new(mult,
					     json_pack("{s:s%, s:f}", kind, eq + 1,
						       (size_t)(colon - eq - 1), "factor", x));
	}
	return json_array_append_new(demand,
				     json_pack("{s:s%, s:s%, s:f}", "node", v, (size_t)(sl - v),
					       "sku", sl + 1, (size_t)(colon - sl - 1), "qty", x));
}

/* A number option into body[key]: -1 if it is not a number. */
static int number_arg(json_t *body, const char *key, const char *v)
{
	char *end;
	const double x = strtod(v, &end);
	if (!*v || *end)
		return -1;
	return json_object_set_new(body, key, json_real(x));
}

static int rebalance_accept(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'}, CLI_OPT_HELP, {NULL, 0, NULL, 0}};
	const char *db = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(&rebalance_doc);
		if (c != 'd')
			return cli_usage(&rebalance_doc);
		db = optarg;
	}
	if (!db || optind != argc - 1)
		return cli_usage(&rebalance_doc);
	struct store *st;
	struct fl_err err = {0};
	json_t *a = NULL;
	if (cli_store_open(db, false, &st, &err))
		return cli_fail(&rebalance_doc, &err);
	const int rc = flow_scenario_accept(st, argv[optind], &a, &err);
	store_close(st);
	cli_flows_release();
	if (rc)
		return cli_fail(&rebalance_doc, &err);
	printf("accepted %s: %lld transfers, %lld units in transit\n", argv[optind],
	       json_integer_value(json_object_get(a, "transfers")),
	       json_integer_value(json_object_get(a, "units_in_transit")));
	json_decref(a);
	return 0;
}

/* The scenario's body from the options: 0, or 2 after printing the usage. */
static int rebalance_args(int argc, char **argv, json_t *body, const char **db, const char **csv,
			  const char **lp, bool *as_json)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"transfers", required_argument, NULL, 't'},
					     {"export-lp", required_argument, NULL, 'l'},
					     {"json", no_argument, NULL, 'j'},
					     {"name", required_argument, NULL, 'n'},
					     {"horizon", required_argument, NULL, 'H'},
					     {"penalty", required_argument, NULL, 'p'},
					     {"service-level", required_argument, NULL, 's'},
					     {"time-limit-ms", required_argument, NULL, 'T'},
					     {"close", required_argument, NULL, 'c'},
					     {"multiplier", required_argument, NULL, 'm'},
					     {"demand", required_argument, NULL, 'D'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	json_t *mult = json_array(), *closed = json_array(), *demand = json_array();
	int c, bad = 0;
	optind = 1;
	while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': bad = 1; break;
		case 'd': *db = optarg; break;
		case 't': *csv = optarg; break;
		case 'l': *lp = optarg; break;
		case 'j': *as_json = true; break;
		case 'n': json_object_set_new(body, "name", json_string(optarg)); break;
		case 'H': bad = number_arg(body, "horizon_days", optarg) ? 2 : 0; break;
		case 'p': bad = number_arg(body, "shortage_penalty", optarg) ? 2 : 0; break;
		case 's': bad = number_arg(body, "service_level", optarg) ? 2 : 0; break;
		case 'T': bad = number_arg(body, "time_limit_ms", optarg) ? 2 : 0; break;
		case 'c': json_array_append_new(closed, json_string(optarg)); break;
		case 'm':
		case 'D': bad = override_arg(c == 'm', optarg, mult, demand) ? 2 : 0; break;
		default: bad = 2;
		}
	}
	if (!bad && (!*db || optind != argc))
		bad = 2;
	if (!bad && (json_array_size(mult) || json_array_size(closed) || json_array_size(demand))) {
		json_t *ov = json_object();
		if (json_array_size(mult))
			json_object_set(ov, "demand_multiplier", mult);
		if (json_array_size(closed))
			json_object_set(ov, "closed_nodes", closed);
		if (json_array_size(demand))
			json_object_set(ov, "demand", demand);
		json_object_set_new(body, "overrides", ov);
	}
	json_decref(mult), json_decref(closed), json_decref(demand);
	return bad == 1 ? cli_help(&rebalance_doc) - 1 : bad ? cli_usage(&rebalance_doc) : 0;
}

int cli_cmd_rebalance(int argc, char **argv)
{
	const char *db = NULL, *csv = NULL, *lp = NULL;
	bool as_json = false;
	struct fl_err err = {0};
	struct store *st;
	json_t *answer = NULL;
	int code;

	if (argc >= 2 && !strcmp(argv[1], "accept"))
		return rebalance_accept(argc - 1, argv + 1);
	json_t *body = json_object();
	if ((code = rebalance_args(argc, argv, body, &db, &csv, &lp, &as_json))) {
		json_decref(body);
		return code < 0 ? 0 : code; /* -1: --help was printed */
	}
	if (cli_store_open(db, false, &st, &err)) {
		json_decref(body);
		return cli_fail(&rebalance_doc, &err);
	}
	const int rc = flow_rebalance(st, body, lp, as_json ? NULL : &cli_progress, &answer, &err);
	json_decref(body);
	store_close(st);
	cli_flows_release();
	if (rc)
		return cli_fail(&rebalance_doc, &err);
	if (as_json) {
		char *text = json_dumps(answer, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
		if (text)
			puts(text);
		free(text);
	} else {
		print_summary(answer);
	}
	code = 0;
	if (csv) {
		struct cli_out o;
		if (cli_out_open(&o, csv, &err)) {
			code = cli_fail(&rebalance_doc, &err);
		} else {
			size_t i;
			json_t *t;
			fprintf(o.fp, "from,to,sku,qty,cost\n");
			json_array_foreach(json_object_get(answer, "transfers"), i, t)
				fprintf(o.fp, "%s,%s,%s,%lld,%.2f\n",
					json_string_value(json_object_get(t, "from")),
					json_string_value(json_object_get(t, "to")),
					json_string_value(json_object_get(t, "sku")),
					json_integer_value(json_object_get(t, "qty")),
					json_number_value(json_object_get(t, "cost")));
			if (cli_out_close(&o, true, &err))
				code = cli_fail(&rebalance_doc, &err);
			else if (!as_json)
				printf("transfers written to %s\n", csv);
		}
	}
	if (lp && !as_json)
		printf("model written to %s (solve it with: glpsol --lp %s)\n", lp, lp);
	json_decref(answer);
	return code;
}
