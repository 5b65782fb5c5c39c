/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli.h — the command-line door: `fulcrum COMMAND [options]`. One file per command
 * group; each command parses its options with getopt_long, calls flows (flow/flow.h)
 * or the HTTP door (serve), and decides what a person sees.
 *
 * Conventions every command keeps: `--help` prints its usage to stdout and exits 0; a
 * bad or unknown option prints the usage to stderr and exits 2; a failure prints
 * "fulcrum: CMD: MESSAGE" to stderr and exits 1. A command that reads a store refuses a
 * path that does not exist (cli_store_open); only demo, import and serve --init create.
 */
#ifndef FULCRUM_CLI_CLI_H
#define FULCRUM_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "data/store.h"

#define FULCRUM_VERSION "0.2.0"

/* Returns the process exit status (0 ok, 1 failure, 2 usage). */
int cli_main(int argc, char **argv);

int cli_cmd_import(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);
int cli_cmd_demo(int argc, char **argv);
int cli_cmd_decide(int argc, char **argv);
int cli_cmd_wave(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_token(int argc, char **argv);
int cli_cmd_routes(int argc, char **argv);
int cli_cmd_forecast(int argc, char **argv);
int cli_cmd_backtest(int argc, char **argv);
int cli_cmd_rebalance(int argc, char **argv);
int cli_cmd_rules(int argc, char **argv);

/* A command's documentation: its name, its usage line(s) and the text after them. */
struct cli_doc {
	const char *name;  /* "import" */
	const char *usage; /* "DIR --db FILE" (several lines allowed) */
	const char *text;  /* what it does and its options; may be NULL */
};

/* The option every command takes; put it last before the terminator of an option table. */
#define CLI_OPT_HELP                           \
	{                                      \
		"help", no_argument, NULL, 'h' \
	}

/* --help: the usage and text on stdout; returns 0 (the exit status). */
int cli_help(const struct cli_doc *doc);
/* A bad command line: the usage on stderr; returns 2. */
int cli_usage(const struct cli_doc *doc);
/* "fulcrum: NAME: MSG" on stderr; returns 1. */
int cli_fail(const struct cli_doc *doc, const struct fl_err *err);

/*
 * Open an existing store: a path that does not exist is refused (FL_ENOTFOUND) rather
 * than created empty. create: open or create (demo, import, serve --init).
 */
int cli_store_open(const char *path, bool create, struct store **out, struct fl_err *err);

/* Long work's progress as a line on stderr at most once a second ("forecast: 1200/28901
 * series (4%), 2.1 s"). */
extern const struct flow_progress cli_progress;

/* Free what the flows keep per process and per thread (call before exit). */
void cli_flows_release(void);

/* An output file written whole or not at all: a temporary name renamed on commit. "-" is
 * stdout. */
struct cli_out {
	FILE *fp;
	char path[1024];
	char tmp[1100];
};
int cli_out_open(struct cli_out *o, const char *path, struct fl_err *err);
int cli_out_close(struct cli_out *o, bool commit, struct fl_err *err);

#endif
