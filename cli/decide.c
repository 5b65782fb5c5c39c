/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `fulcrum decide` and `fulcrum wave`: the fulfilment flows over a JSON file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flow/flow.h"

static const struct cli_doc decide_doc = {
	"decide", "ORDER.json --db FILE [--export-lp FILE] [--rules-fail]",
	"Decide one order (the body of POST /v1/fulfillment/decisions; '-' reads stdin) and\n"
	"print the answer. --export-lp also writes the sourcing model as CPLEX LP (glpsol\n"
	"--lp FILE solves it); --rules-fail fails the decision when a rule fails, as the\n"
	"server does with rules_fail = 1.\n"};

static const struct cli_doc wave_doc = {
	"wave", "ORDERS.json --db FILE [--rules-fail]",
	"Decide many orders together under shared stock and capacity (the body of POST\n"
	"/v1/fulfillment/waves: {\"orders\": [...], \"time_limit_ms\", \"reserve\"}).\n"};

/* The options of decide (lp allowed) and wave: 0, or the exit status (-1: --help). */
static int json_file_args(int argc, char **argv, const struct cli_doc *doc, bool allow_lp,
			  const char **db, const char **path, const char **lp, bool *rules_fail)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"export-lp", required_argument, NULL, 'l'},
					     {"rules-fail", no_argument, NULL, 'r'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return cli_help(doc) - 1;
		case 'd': *db = optarg; break;
		case 'l':
			if (!allow_lp)
				return cli_usage(doc);
			*lp = optarg;
			break;
		case 'r': *rules_fail = true; break;
		default: return cli_usage(doc);
		}
	}
	if (!*db || optind != argc - 1)
		return cli_usage(doc);
	*path = argv[optind]; /* "-": stdin */
	return 0;
}

/* Load the JSON object at path ("-": stdin): 0 and *body, or FL_EINVAL. */
static int json_file(const char *path, json_t **body, struct fl_err *err)
{
	json_error_t je;
	*body = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
				       : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (json_is_object(*body))
		return 0;
	const int rc = fl_err_set(err, FL_EINVAL, "%s:%d: %s", path, je.line,
				  *body ? "must be a JSON object" : je.text);
	json_decref(*body);
	*body = NULL;
	return rc;
}

static int print_answer(json_t *answer)
{
	char *text = json_dumps(answer, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	json_decref(answer);
	if (!text)
		return 1;
	puts(text);
	free(text);
	return 0;
}

/* decide (wave false) or wave over one JSON file. */
static int run_json_file(int argc, char **argv, const struct cli_doc *doc, bool wave)
{
	const char *db = NULL, *path = NULL, *lp = NULL;
	bool rules_fail = false;
	struct store *st = NULL;
	struct fl_err err = {0};
	json_t *body, *answer = NULL;
	int rc = json_file_args(argc, argv, doc, !wave, &db, &path, &lp, &rules_fail);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (json_file(path, &body, &err))
		return cli_fail(doc, &err);
	if (cli_store_open(db, false, &st, &err)) {
		json_decref(body);
		return cli_fail(doc, &err);
	}
	const struct flow_decide_opts o = {.lp_path = lp, .rules_fail = rules_fail};
	rc = wave ? flow_wave(st, body, rules_fail, &answer, &err)
		  : flow_decide(st, body, &o, &answer, &err);
	json_decref(body);
	cli_flows_release();
	store_close(st);
	if (rc)
		return cli_fail(doc, &err);
	if (print_answer(answer))
		return 1;
	if (lp)
		fprintf(stderr, "model written to %s (solve it with: glpsol --lp %s)\n", lp, lp);
	return 0;
}

int cli_cmd_decide(int argc, char **argv)
{
	return run_json_file(argc, argv, &decide_doc, false);
}

int cli_cmd_wave(int argc, char **argv)
{
	return run_json_file(argc, argv, &wave_doc, true);
}
