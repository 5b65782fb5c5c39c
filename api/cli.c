/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The command line: `fulcrum COMMAND [options]`. Each command is a thin door onto the
 * same functions the HTTP service calls; this is one of the two places (with the HTTP
 * layer) that decides what a person sees.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "solver/solver.h"

#define FULCRUM_VERSION "0.1.0"

static void progress_line(void *ctx, const char *file, unsigned long rows, bool done)
{
	(void)ctx;
	fprintf(stderr, "%s: %lu rows%s\n", file, rows, done ? "" : " …");
}

int api_fail(const struct fl_err *err)
{
	fprintf(stderr, "fulcrum: %s\n", err->msg);
	return 1;
}

int api_usage(const char *cmd, const char *usage)
{
	fprintf(stderr, "usage: fulcrum %s %s\n", cmd, usage);
	return 2;
}

int api_out_open(struct api_out *o, const char *path, struct fl_err *err)
{
	memset(o, 0, sizeof(*o));
	if (strcmp(path, "-") == 0) {
		o->fp = stdout;
		return 0;
	}
	snprintf(o->path, sizeof(o->path), "%s", path);
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		/* a device or a pipe (/dev/null, /dev/stdout): written in place, never renamed */
		o->fp = fopen(path, "wb");
		return o->fp ? 0
			     : fl_err_set(err, FL_EIO, "%s: cannot open: %s", path,
					  strerror(errno));
	}
	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.%ld", path, (long)getpid());
	o->fp = fopen(o->tmp, "wb");
	return o->fp ? 0
		     : fl_err_set(err, FL_EIO, "%s: cannot create: %s", o->tmp, strerror(errno));
}

int api_out_close(struct api_out *o, bool commit, struct fl_err *err)
{
	if (o->fp == stdout)
		return fflush(stdout) ? fl_err_set(err, FL_EIO, "stdout: write failed") : 0;
	const bool ok = !ferror(o->fp);
	if (!o->tmp[0]) /* written in place */
		return fclose(o->fp) || !ok ? fl_err_set(err, FL_EIO, "%s: write failed", o->path)
					    : 0;
	if (fclose(o->fp) || !ok || !commit) {
		remove(o->tmp);
		return commit ? fl_err_set(err, FL_EIO, "%s: write failed", o->path) : 0;
	}
	if (rename(o->tmp, o->path)) {
		remove(o->tmp);
		return fl_err_set(err, FL_EIO, "%s: %s", o->path, strerror(errno));
	}
	return 0;
}

/* Parse --db FILE (required) plus one positional argument when want_arg. */
static int parse_db_args(int argc, char **argv, const char **db, const char **arg)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	int c;
	*db = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return -1;
		*db = optarg;
	}
	if (arg) {
		if (optind != argc - 1)
			return -1;
		*arg = argv[optind];
	} else if (optind != argc) {
		return -1;
	}
	return *db ? 0 : -1;
}

static int cmd_import(int argc, char **argv)
{
	const char *db, *dir;
	struct store *st = NULL;
	struct store_import_stats stats;
	struct fl_err err = {0};
	struct timespec t0, t1;

	if (parse_db_args(argc, argv, &db, &dir))
		return api_usage("import", "DIR --db FILE");
	if (store_open(db, &st, &err))
		return api_fail(&err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = store_import_dir(st, dir, &stats, progress_line, NULL, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	store_close(st);
	if (rc)
		return api_fail(&err);
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

static int cmd_export(int argc, char **argv)
{
	const char *db, *dir;
	struct store *st = NULL;
	struct fl_err err = {0};

	if (parse_db_args(argc, argv, &db, &dir))
		return api_usage("export", "DIR --db FILE");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "fulcrum: export: '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	if (store_open(db, &st, &err))
		return api_fail(&err);
	int rc = store_export_dir(st, dir, &err);
	store_close(st);
	if (rc)
		return api_fail(&err);
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

static int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},	{"csv", required_argument, NULL, 'c'},
		{"seed", required_argument, NULL, 's'}, {"skus", required_argument, NULL, 'k'},
		{"days", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
	const char *db = NULL, *csv = NULL;
	struct store_demo_opts o;
	struct fl_err err = {0};
	char staging[4096];
	int c, rc;

	store_demo_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		long long v = optarg ? strtoll(optarg, &end, 10) : 0;
		if (c != 'd' && c != 'c' && (c == '?' || !end || *end || v < 0))
			return api_usage("demo",
					 "--db FILE | --csv DIR [--seed N] [--skus N] [--days N]");
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': csv = optarg; break;
		case 's': o.seed = (uint64_t)v; break;
		case 'k': o.skus = (int)(v > 99999 ? 0 : v); break;
		case 'n': o.days = (int)(v > 3660 ? 0 : v); break;
		}
	}
	if ((!db && !csv) || optind != argc)
		return api_usage("demo", "--db FILE | --csv DIR [--seed N] [--skus N] [--days N]");
	if (csv) {
		if (mkdir(csv, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "fulcrum: demo: '%s': %s\n", csv, strerror(errno));
			return 1;
		}
		if (store_demo_write(&o, csv, progress_line, NULL, &err))
			return api_fail(&err);
		fprintf(stderr, "demo data set written to %s\n", csv);
		if (!db)
			return 0;
		snprintf(staging, sizeof(staging), "%s", csv);
	} else {
		/* stage the CSV files beside the database, import them, remove them */
		snprintf(staging, sizeof(staging), "%s.demo.XXXXXX", db);
		if (!mkdtemp(staging)) {
			fprintf(stderr, "fulcrum: demo: '%s': %s\n", staging, strerror(errno));
			return 1;
		}
		if (store_demo_write(&o, staging, progress_line, NULL, &err)) {
			remove_staging(staging);
			return api_fail(&err);
		}
	}
	struct store *st = NULL;
	rc = store_open(db, &st, &err);
	if (!rc)
		rc = store_import_dir(st, staging, NULL, progress_line, NULL, &err);
	/* the demo runs with the default rule pack active (an import alone runs none) */
	json_t *answer = NULL, *act = NULL;
	char detail[1024];
	if (!rc && (api_rules_push(st, "default", api_default_pack, api_default_pack_len, "admin",
				   &answer, detail, sizeof(detail)) ||
		    api_rules_activate(st, "default",
				       (int)json_integer_value(json_object_get(answer, "version")),
				       &act, detail, sizeof(detail))))
		rc = fl_err_set(&err, FL_EINVAL, "default rule pack: %s", detail);
	json_decref(answer);
	json_decref(act);
	api_snapshot_drop();
	api_rules_drop();
	store_close(st);
	if (!csv)
		remove_staging(staging);
	if (rc)
		return api_fail(&err);
	fprintf(stderr, "demo data set imported into %s, rule pack 'default' active\n", db);
	return 0;
}

/* A flow over one JSON file: decide (with an LP path) or wave. */
typedef int json_file_flow(struct store *st, const json_t *body, const char *lp, json_t **answer,
			   char *detail, size_t cap);

static int wave_file_flow(struct store *st, const json_t *body, const char *lp, json_t **answer,
			  char *detail, size_t cap)
{
	(void)lp;
	return api_wave(st, body, answer, detail, cap);
}

/*
 * `fulcrum NAME FILE.json --db DB [--export-lp LP]` (LP only where allow_lp): load the
 * JSON object (FILE "-" reads stdin), run the flow, print the answer as indented JSON.
 */
static int run_json_file(int argc, char **argv, const char *name, bool allow_lp,
			 json_file_flow *flow)
{
	const char *db = NULL, *path = NULL, *lp = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (allow_lp && strcmp(argv[i], "--export-lp") == 0 && i + 1 < argc)
			lp = argv[++i];
		else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !path)
			path = argv[i]; /* "-": stdin */
		else
			path = NULL, db = NULL, i = argc;
	}
	if (!db || !path)
		return api_usage(name, allow_lp ? "ORDER.json --db FILE [--export-lp FILE]"
						: "ORDERS.json --db FILE");
	json_error_t je;
	json_t *body = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
					      : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!body || !json_is_object(body)) {
		fprintf(stderr, "fulcrum: %s: %s:%d: %s\n", name, path, je.line,
			body ? "must be a JSON object" : je.text);
		json_decref(body);
		return 1;
	}
	struct store *st = NULL;
	struct fl_err err = {0};
	if (store_open(db, &st, &err)) {
		json_decref(body);
		return api_fail(&err);
	}
	json_t *answer;
	char detail[1024];
	int status = flow(st, body, lp, &answer, detail, sizeof(detail));
	json_decref(body);
	api_snapshot_drop();
	api_rules_drop();
	api_rules_thread_release();
	slv_thread_release();
	store_close(st);
	if (status) {
		fprintf(stderr, "fulcrum: %s: %s\n", name, detail);
		return 1;
	}
	char *text = json_dumps(answer, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	json_decref(answer);
	if (!text)
		return 1;
	puts(text);
	free(text);
	if (lp)
		fprintf(stderr, "model written to %s (solve it with: glpsol --lp %s)\n", lp, lp);
	return 0;
}

int api_cmd_decide(int argc, char **argv)
{
	return run_json_file(argc, argv, "decide", true, api_decide);
}

int api_cmd_wave(int argc, char **argv)
{
	return run_json_file(argc, argv, "wave", false, wave_file_flow);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"import", cmd_import, "import DIR --db FILE      load DIR's CSV files (all or nothing)"},
	{"export", cmd_export, "export DIR --db FILE      write the store as CSV files into DIR"},
	{"demo", cmd_demo, "demo --db FILE|--csv DIR  generate the demo data set"},
	{"serve", api_cmd_serve, "serve --db FILE [--port N] the HTTP service (serve --help)"},
	{"token", api_cmd_token, "token create|list|revoke  access tokens (--db FILE --role ROLE)"},
	{"decide", api_cmd_decide, "decide ORDER.json --db FILE [--export-lp FILE] one decision"},
	{"wave", api_cmd_wave, "wave ORDERS.json --db FILE  many orders decided together"},
	{"forecast", api_cmd_forecast,
	 "forecast --input CSV|--db FILE --horizon H  demand forecasts"},
	{"backtest", api_cmd_backtest,
	 "backtest --input CSV --horizon H  score methods on a hold-out"},
	{"rebalance", api_cmd_rebalance,
	 "rebalance --db FILE [--horizon 14]  transfers before demand"},
	{"rules", api_cmd_rules, "rules check|test|push|activate|list  Lua rule sets"},
	{"bench", api_cmd_bench, "bench sourcing --db FILE  optimal vs greedy on random orders"},
	{"routes", api_cmd_routes, "routes                    the HTTP routes the server serves"},
};

static void print_help(FILE *fp)
{
	fprintf(fp,
		"fulcrum %s — decision service for omni-channel fulfillment\n\n"
		"usage: fulcrum COMMAND [options]\n\n",
		FULCRUM_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %s\n", commands[i].help);
	fprintf(fp, "  version                   print the version\n");
}

int api_cli_main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		print_help(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("fulcrum %s (schema %d)\n", FULCRUM_VERSION, store_schema_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "fulcrum: unknown command '%s' (fulcrum help lists them)\n", argv[1]);
	return 2;
}
