/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `fulcrum import`, `export` and `demo`: data in and out of a store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "flow/flow.h"

static void progress_line(void *ctx, const char *file, unsigned long rows, bool done)
{
	(void)ctx;
	fprintf(stderr, "%s: %lu rows%s\n", file, rows, done ? "" : " …");
}

/* DIR --db FILE: 0, or the exit status (--help printed: 0 via -1; usage: 2). */
static int parse_db_args(int argc, char **argv, const struct cli_doc *doc, const char **db,
			 const char **arg)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'}, CLI_OPT_HELP, {NULL, 0, NULL, 0}};
	int c;
	*db = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(doc) - 1;
		if (c != 'd')
			return cli_usage(doc);
		*db = optarg;
	}
	if (optind != argc - 1 || !*db)
		return cli_usage(doc);
	*arg = argv[optind];
	return 0;
}

static const struct cli_doc import_doc = {
	"import", "DIR --db FILE",
	"Load DIR's CSV files (DATA.md: nodes, skus, zones, rates, lanes, inventory, sales,\n"
	"calendar) into the store, all or nothing; creates the store if it does not exist.\n"};

static const struct cli_doc export_doc = {"export", "DIR --db FILE",
					  "Write the store's reference data and stock as CSV files "
					  "into DIR.\n"};

static const struct cli_doc demo_doc = {
	"demo", "--db FILE | --csv DIR [--seed N] [--skus N] [--days N]",
	"Generate the demo data set (48 nodes, a year of daily sales) and import it with the\n"
	"default rule pack active (--db), or write its CSV files (--csv), or both.\n"};

int cli_cmd_import(int argc, char **argv)
{
	const char *db, *dir;
	struct store *st = NULL;
	struct store_import_stats stats;
	struct fl_err err = {0};
	struct timespec t0, t1;

	int code = parse_db_args(argc, argv, &import_doc, &db, &dir);
	if (code)
		return code < 0 ? 0 : code;
	if (cli_store_open(db, true, &st, &err))
		return cli_fail(&import_doc, &err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = store_import_dir(st, dir, &stats, progress_line, NULL, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	store_close(st);
	if (rc)
		return cli_fail(&import_doc, &err);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("imported %lu rows in %.2f s", stats.total, s);
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (stats.rows[k])
			printf(", %s %lu", store_file_name((enum store_file_kind)k), stats.rows[k]);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("\n%.0f rows/s, peak memory %.1f MiB\n", s > 0 ? (double)stats.total / s : 0.0,
	       (double)ru.ru_maxrss / 1024.0);
	return 0;
}

int cli_cmd_export(int argc, char **argv)
{
	const char *db, *dir;
	struct store *st = NULL;
	struct fl_err err = {0};

	int code = parse_db_args(argc, argv, &export_doc, &db, &dir);
	if (code)
		return code < 0 ? 0 : code;
	if (cli_store_open(db, false, &st, &err))
		return cli_fail(&export_doc, &err);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		store_close(st);
		fl_err_set(&err, FL_EIO, "'%s': %s", dir, strerror(errno));
		return cli_fail(&export_doc, &err);
	}
	int rc = store_export_dir(st, dir, &err);
	store_close(st);
	if (rc)
		return cli_fail(&export_doc, &err);
	printf("exported to %s\n", dir);
	return 0;
}

/* Remove a demo staging directory and the CSV files in it. */
static void remove_staging(const char *dir)
{
	for (int k = 0; k < STORE_FILE_COUNT; k++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir,
			 store_file_name((enum store_file_kind)k));
		unlink(path);
	}
	rmdir(dir);
}

/* The demo's own options: 0, or the exit status (--help: -1 for 0; usage: 2). */
static int demo_args(int argc, char **argv, struct store_demo_opts *o, const char **db,
		     const char **csv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"csv", required_argument, NULL, 'c'},
					     {"seed", required_argument, NULL, 's'},
					     {"skus", required_argument, NULL, 'k'},
					     {"days", required_argument, NULL, 'n'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end = NULL;
		long long v = optarg ? strtoll(optarg, &end, 10) : 0;
		if (c == 'h')
			return cli_help(&demo_doc) - 1;
		if (c != 'd' && c != 'c' && (c == '?' || !end || *end || v < 0))
			return cli_usage(&demo_doc);
		switch (c) {
		case 'd': *db = optarg; break;
		case 'c': *csv = optarg; break;
		case 's': o->seed = (uint64_t)v; break;
		case 'k': o->skus = (int)(v > 99999 ? 0 : v); break;
		case 'n': o->days = (int)(v > 3660 ? 0 : v); break;
		}
	}
	if ((!*db && !*csv) || optind != argc)
		return cli_usage(&demo_doc);
	return 0;
}

/* Import the staged files and activate the default rule pack (an import alone runs none). */
static int demo_import(const char *db, const char *staging, struct fl_err *err)
{
	struct store *st = NULL;
	json_t *answer = NULL, *act = NULL;
	int rc = cli_store_open(db, true, &st, err);
	if (!rc)
		rc = store_import_dir(st, staging, NULL, progress_line, NULL, err);
	if (!rc && (rc = flow_rules_push(st, "default", flow_default_pack, flow_default_pack_len,
					 "admin", &answer, err)) == 0)
		rc = flow_rules_activate(
			st, "default", (int)json_integer_value(json_object_get(answer, "version")),
			&act, err);
	json_decref(answer);
	json_decref(act);
	cli_flows_release();
	store_close(st);
	return rc;
}

int cli_cmd_demo(int argc, char **argv)
{
	const char *db = NULL, *csv = NULL;
	struct store_demo_opts o;
	struct fl_err err = {0};
	char staging[4096];
	int rc;

	store_demo_opts_default(&o);
	if ((rc = demo_args(argc, argv, &o, &db, &csv)))
		return rc < 0 ? 0 : rc;
	if (csv) {
		if (mkdir(csv, 0755) != 0 && errno != EEXIST) {
			fl_err_set(&err, FL_EIO, "'%s': %s", csv, strerror(errno));
			return cli_fail(&demo_doc, &err);
		}
		if (store_demo_write(&o, csv, progress_line, NULL, &err))
			return cli_fail(&demo_doc, &err);
		fprintf(stderr, "demo data set written to %s\n", csv);
		if (!db)
			return 0;
		snprintf(staging, sizeof(staging), "%s", csv);
	} else {
		/* stage the CSV files beside the database, import them, remove them */
		snprintf(staging, sizeof(staging), "%s.demo.XXXXXX", db);
		if (!mkdtemp(staging)) {
			fl_err_set(&err, FL_EIO, "'%s': %s", staging, strerror(errno));
			return cli_fail(&demo_doc, &err);
		}
		if (store_demo_write(&o, staging, progress_line, NULL, &err)) {
			remove_staging(staging);
			return cli_fail(&demo_doc, &err);
		}
	}
	rc = demo_import(db, staging, &err);
	if (!csv)
		remove_staging(staging);
	if (rc)
		return cli_fail(&demo_doc, &err);
	fprintf(stderr, "demo data set imported into %s, rule pack 'default' active\n", db);
	return 0;
}
