/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fulcrum COMMAND [options]`: the command table, help and version, and the helpers
 * every command shares (usage, errors, opening a store, output files).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "flow/flow.h"
#include "solver/solver.h"

int cli_help(const struct cli_doc *doc)
{
	printf("usage: fulcrum %s %s\n", doc->name, doc->usage);
	if (doc->text)
		printf("\n%s", doc->text);
	return 0;
}

int cli_usage(const struct cli_doc *doc)
{
	fprintf(stderr, "usage: fulcrum %s %s\n(fulcrum %s --help says more)\n", doc->name,
		doc->usage, doc->name);
	return 2;
}

int cli_fail(const struct cli_doc *doc, const struct fl_err *err)
{
	fprintf(stderr, "fulcrum: %s: %s\n", doc->name,
		err->msg[0] ? err->msg : fl_strerror(err->status));
	return 1;
}

int cli_store_open(const char *path, bool create, struct store **out, struct fl_err *err)
{
	struct stat sb;
	*out = NULL;
	if (!create && stat(path, &sb) != 0)
		return fl_err_set(err, FL_ENOTFOUND,
				  "%s: no such store (fulcrum demo or fulcrum import creates one)",
				  path);
	return store_open(path, out, err);
}

static struct {
	pthread_mutex_t lock;
	double t0, last;
} progress_line = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress_print(void *ctx, const char *phase, size_t done, size_t total)
{
	(void)ctx;
	const double t = mono_s();
	pthread_mutex_lock(&progress_line.lock);
	if (!progress_line.t0)
		progress_line.t0 = progress_line.last = t;
	if (strcmp(phase, "forecast") == 0 && total > 1 && t - progress_line.last >= 1.0) {
		progress_line.last = t;
		fprintf(stderr, "forecast: %zu/%zu series (%.0f%%), %.1f s\n", done, total,
			100.0 * (double)done / (double)total, t - progress_line.t0);
	}
	pthread_mutex_unlock(&progress_line.lock);
}

const struct flow_progress cli_progress = {progress_print, NULL, NULL, NULL};

void cli_flows_release(void)
{
	flow_snapshot_drop();
	flow_rules_drop();
	flow_rules_thread_release();
	slv_thread_release();
}

int cli_out_open(struct cli_out *o, const char *path, struct fl_err *err)
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

int cli_out_close(struct cli_out *o, bool commit, struct fl_err *err)
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

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"import", cli_cmd_import,
	 "import DIR --db FILE      load DIR's CSV files (all or nothing)"},
	{"export", cli_cmd_export,
	 "export DIR --db FILE      write the store as CSV files into DIR"},
	{"demo", cli_cmd_demo, "demo --db FILE|--csv DIR  generate the demo data set"},
	{"serve", cli_cmd_serve, "serve --db FILE [--port N] the HTTP service"},
	{"token", cli_cmd_token, "token create|list|revoke  access tokens (--db FILE --role ROLE)"},
	{"decide", cli_cmd_decide, "decide ORDER.json --db FILE [--export-lp FILE] one decision"},
	{"wave", cli_cmd_wave, "wave ORDERS.json --db FILE  many orders decided together"},
	{"forecast", cli_cmd_forecast,
	 "forecast --input CSV|--db FILE --horizon H  demand forecasts"},
	{"backtest", cli_cmd_backtest,
	 "backtest --input CSV --horizon H  score methods on a hold-out"},
	{"rebalance", cli_cmd_rebalance,
	 "rebalance --db FILE [--horizon 14]  transfers before demand"},
	{"rules", cli_cmd_rules, "rules check|test|push|activate|list  Lua rule sets"},
	{"routes", cli_cmd_routes, "routes                    the HTTP routes the server serves"},
};

static void print_help(FILE *fp)
{
	fprintf(fp,
		"fulcrum %s — decision service for omni-channel fulfillment\n\n"
		"usage: fulcrum COMMAND [options]\n\n",
		FULCRUM_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %s\n", commands[i].help);
	fprintf(fp, "  help [COMMAND]            this list, or a command's own help\n"
		    "  version                   print the version\n\n"
		    "fulcrum COMMAND --help describes each command and its options.\n");
}

int cli_main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		if (argc == 2) {
			print_help(stdout);
			return 0;
		}
		cmd = argv[2]; /* fulcrum help CMD: CMD --help */
		char *args[] = {(char *)cmd, "--help", NULL};
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(cmd, commands[i].name))
				return commands[i].fn(2, args);
	} else if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("fulcrum %s (schema %d)\n", FULCRUM_VERSION, store_schema_version());
		return 0;
	} else {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(cmd, commands[i].name))
				return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "fulcrum: unknown command '%s' (fulcrum help lists them)\n", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
