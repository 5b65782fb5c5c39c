/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `fulcrum serve`, `fulcrum token` and `fulcrum routes`: the HTTP door's commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "flow/flow.h"
#include "http/http.h"

static const struct cli_doc serve_doc = {
	"serve",
	"--db FILE [--init] [--port N] [--host ADDR] [--threads N]\n"
	"       [--config FILE] [--set KEY=VALUE]... [--KEY VALUE]...",
	"Settings, lowest precedence first: defaults, the --config file (lines\n"
	"'key = value', # comments), FULCRUM_<KEY> environment variables, flags.\n"
	"--init creates the store when it does not exist (else a missing one is refused).\n\n"
	"  db                  the SQLite store (required)\n"
	"  host                IPv4 address to listen on (127.0.0.1)\n"
	"  port                TCP port (8080; 0 picks a free one and prints it)\n"
	"  health_port         a second port serving only /healthz and /readyz, reachable\n"
	"                      when the main one is at its connection limit; 0 picks a\n"
	"                      free one and prints it; -1 = none (-1)\n"
	"  threads             worker threads (the number of cores)\n"
	"  connection_limit    open connections at once (1000)\n"
	"  connection_timeout  seconds an idle connection is kept (30)\n"
	"  header_timeout      seconds a request's head may take in all, from the\n"
	"                      connection or the previous answer; 0 = no limit (10)\n"
	"  connection_limit_per_ip  open connections from one address; 0 = no cap (256)\n"
	"  body_limit          bytes of a request body, 413 beyond (1048576)\n"
	"  import_limit        bytes of a POST /v1/import body (67108864)\n"
	"  json_depth          nesting of a JSON body, 400 beyond (32)\n"
	"  rate_limit          requests/s per token, 429 beyond; 0 = off (0)\n"
	"  rate_burst          requests a token may burst (100)\n"
	"  access_log          on|off: one JSON line per request on stderr (on)\n"
	"  shutdown_grace      seconds in-flight requests get on SIGINT/SIGTERM (10)\n"
	"  rules_fail          1: a failing rule fails the request (503); 0: it is\n"
	"                      skipped and reported in the decision (0)\n"
	"  job_queue           scenario jobs waiting at once, 503 beyond (16)\n"
	"  forecast_warm       on|off: forecast the default scenario's demand in the\n"
	"                      background, at start-up and after each import (on)\n"
	"  webhook_hosts       hosts webhooks may name, comma-separated; private and\n"
	"                      loopback ones only when listed (\"\": any public host)\n"
	"  webhook_max_attempts  attempts before a delivery is dead (12)\n"
	"  webhook_backoff_ms  retry wait: random up to this · 2^attempts (30000)\n"
	"  webhook_timeout_ms  one POST's whole time (10000)\n"
	"  webhook_connect_timeout_ms  its connect time (2000)\n"
	"  webhook_concurrency POSTs in flight at once (16)\n"
	"  webhook_breaker     failures in a row that pause an endpoint (5)\n"
	"  webhook_pause_ms    how long it is paused before a probe (60000)\n"};

/* Every setting as --key and --key-with-dashes; values are checked by http_config_set. */
static const struct option serve_opts[] = {
	{"db", required_argument, NULL, 'S'},
	{"host", required_argument, NULL, 'S'},
	{"port", required_argument, NULL, 'S'},
	{"health_port", required_argument, NULL, 'S'},
	{"health-port", required_argument, NULL, 'S'},
	{"threads", required_argument, NULL, 'S'},
	{"connection_limit", required_argument, NULL, 'S'},
	{"connection-limit", required_argument, NULL, 'S'},
	{"connection_timeout", required_argument, NULL, 'S'},
	{"connection-timeout", required_argument, NULL, 'S'},
	{"header_timeout", required_argument, NULL, 'S'},
	{"header-timeout", required_argument, NULL, 'S'},
	{"connection_limit_per_ip", required_argument, NULL, 'S'},
	{"connection-limit-per-ip", required_argument, NULL, 'S'},
	{"body_limit", required_argument, NULL, 'S'},
	{"body-limit", required_argument, NULL, 'S'},
	{"import_limit", required_argument, NULL, 'S'},
	{"import-limit", required_argument, NULL, 'S'},
	{"json_depth", required_argument, NULL, 'S'},
	{"json-depth", required_argument, NULL, 'S'},
	{"rate_limit", required_argument, NULL, 'S'},
	{"rate-limit", required_argument, NULL, 'S'},
	{"rate_burst", required_argument, NULL, 'S'},
	{"rate-burst", required_argument, NULL, 'S'},
	{"access_log", required_argument, NULL, 'S'},
	{"access-log", required_argument, NULL, 'S'},
	{"shutdown_grace", required_argument, NULL, 'S'},
	{"shutdown-grace", required_argument, NULL, 'S'},
	{"rules_fail", required_argument, NULL, 'S'},
	{"rules-fail", required_argument, NULL, 'S'},
	{"job_queue", required_argument, NULL, 'S'},
	{"job-queue", required_argument, NULL, 'S'},
	{"forecast_warm", required_argument, NULL, 'S'},
	{"forecast-warm", required_argument, NULL, 'S'},
	{"webhook_hosts", required_argument, NULL, 'S'},
	{"webhook-hosts", required_argument, NULL, 'S'},
	{"webhook_max_attempts", required_argument, NULL, 'S'},
	{"webhook-max-attempts", required_argument, NULL, 'S'},
	{"webhook_backoff_ms", required_argument, NULL, 'S'},
	{"webhook-backoff-ms", required_argument, NULL, 'S'},
	{"webhook_timeout_ms", required_argument, NULL, 'S'},
	{"webhook-timeout-ms", required_argument, NULL, 'S'},
	{"webhook_connect_timeout_ms", required_argument, NULL, 'S'},
	{"webhook-connect-timeout-ms", required_argument, NULL, 'S'},
	{"webhook_concurrency", required_argument, NULL, 'S'},
	{"webhook-concurrency", required_argument, NULL, 'S'},
	{"webhook_pause_ms", required_argument, NULL, 'S'},
	{"webhook-pause-ms", required_argument, NULL, 'S'},
	{"webhook_breaker", required_argument, NULL, 'S'},
	{"webhook-breaker", required_argument, NULL, 'S'},
	{"set", required_argument, NULL, 's'},
	{"config", required_argument, NULL, 'c'},
	{"init", no_argument, NULL, 'i'},
	CLI_OPT_HELP,
	{NULL, 0, NULL, 0}};

/* One flag's setting; --set's KEY=VALUE. */
static int serve_set(struct http_config *cfg, const char *name, const char *v, struct fl_err *err)
{
	char key[64], kv[2048];
	if (!name) {
		snprintf(kv, sizeof(kv), "%s", v);
		char *eq = strchr(kv, '=');
		if (!eq)
			return fl_err_set(err, FL_EINVAL, "--set: KEY=VALUE, not '%s'", v);
		*eq = '\0';
		return http_config_set(cfg, kv, eq + 1, err);
	}
	snprintf(key, sizeof(key), "%s", name);
	for (char *p = key; *p; p++)
		if (*p == '-')
			*p = '_';
	return http_config_set(cfg, key, v, err);
}

int cli_cmd_serve(int argc, char **argv)
{
	struct http_config cfg;
	struct fl_err err = {0};
	const char *config = NULL;
	bool init = false;
	int c, ix;

	http_config_default(&cfg);
	/* the config file first, then the environment, then the flags over both */
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", serve_opts, &ix)) != -1) {
		if (c == 'h')
			return cli_help(&serve_doc);
		if (c == '?' || c == ':')
			return cli_usage(&serve_doc);
		if (c == 'c')
			config = optarg;
	}
	if (optind != argc)
		return cli_usage(&serve_doc);
	if ((config && http_config_load(&cfg, config, &err)) || http_config_env(&cfg, &err))
		return cli_fail(&serve_doc, &err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", serve_opts, &ix)) != -1) {
		if (c == 'i')
			init = true;
		else if ((c == 'S' || c == 's') &&
			 serve_set(&cfg, c == 'S' ? serve_opts[ix].name : NULL, optarg, &err))
			return cli_fail(&serve_doc, &err);
	}
	if (!cfg.db[0])
		return cli_usage(&serve_doc);
	struct store *probe;
	if (cli_store_open(cfg.db, init, &probe, &err))
		return cli_fail(&serve_doc, &err);
	store_close(probe);
	const int rc = http_serve(&cfg, &err);
	cli_flows_release();
	return rc ? cli_fail(&serve_doc, &err) : 0;
}

static const struct cli_doc token_doc = {
	"token",
	"create --db FILE --role ROLE\n"
	"       fulcrum token list --db FILE\n"
	"       fulcrum token revoke ID --db FILE",
	"Access tokens for the HTTP service. A token is printed once, when created; the\n"
	"store keeps only its hash. Roles: orchestrator, planner, analyst, admin.\n"};

static int token_list(struct store *st, struct fl_err *err)
{
	struct store_token *list;
	size_t n;
	const int rc = store_token_list(st, &list, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		char when[32];
		time_t c = (time_t)list[i].created_at;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&c));
		printf("%s  %-12s  created %s%s\n", list[i].id, list[i].role, when,
		       list[i].revoked_at ? "  revoked" : "");
	}
	if (!rc)
		free(list);
	return rc;
}

int cli_cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"role", required_argument, NULL, 'r'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	const char *db = NULL, *role = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return cli_help(&token_doc);
		case 'd': db = optarg; break;
		case 'r': role = optarg; break;
		default: return cli_usage(&token_doc);
		}
	}
	const int nargs = argc - optind;
	const char *sub = nargs ? argv[optind] : "", *id = nargs > 1 ? argv[optind + 1] : NULL;
	const bool ok = (!strcmp(sub, "create") && nargs == 1 && role) ||
			(!strcmp(sub, "revoke") && nargs == 2 && !role) ||
			(!strcmp(sub, "list") && nargs == 1 && !role);
	if (!ok || !db)
		return cli_usage(&token_doc);
	struct store *st = NULL;
	struct fl_err err = {0};
	if (cli_store_open(db, false, &st, &err))
		return cli_fail(&token_doc, &err);
	int rc;
	if (!strcmp(sub, "create")) {
		char token[HTTP_TOKEN_MAX];
		rc = http_token_create(st, role, token, &err);
		if (!rc)
			printf("created %s token (shown once, keep it secret): %s\n", role, token);
	} else if (!strcmp(sub, "revoke")) {
		rc = store_token_revoke(st, id, (int64_t)time(NULL), &err);
		if (!rc)
			printf("revoked token %s\n", id);
	} else {
		rc = token_list(st, &err);
	}
	store_close(st);
	return rc ? cli_fail(&token_doc, &err) : 0;
}

static const struct cli_doc routes_doc = {"routes", "",
					  "Print the HTTP routes the server serves.\n"};

int cli_cmd_routes(int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPT_HELP, {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return c == 'h' ? cli_help(&routes_doc) : cli_usage(&routes_doc);
	if (optind != argc)
		return cli_usage(&routes_doc);
	for (size_t i = 0; i < http_nroutes; i++)
		printf("%s %s\n", http_routes[i].method, http_routes[i].pattern);
	return 0;
}
