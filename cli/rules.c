/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `fulcrum rules`: check, test, push, activate and list Lua rule sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flow/flow.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	size_t cap = 0, n = 0;
	char *buf = NULL;
	for (;;) { /* one byte past the ceiling: flow_rules_push says how long is too long */
		if (n == cap && fl_grow((void **)&buf, &cap, n + 4096, 1, RL_SOURCE_MAX + 4096)) {
			free(buf);
			buf = NULL;
			break;
		}
		const size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (!got)
			break;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static void print_report(const json_t *rep)
{
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(rep, "results"), i, t)
	{
		const bool ok = json_is_true(json_object_get(t, "passed"));
		printf("%s %s (line %lld)%s%s\n", ok ? "ok  " : "FAIL",
		       json_string_value(json_object_get(t, "name")),
		       json_integer_value(json_object_get(t, "line")), ok ? "" : ": ",
		       ok ? "" : json_string_value(json_object_get(t, "message")));
	}
	const json_t *cov = json_object_get(rep, "coverage");
	printf("%lld passed, %lld failed; %lld of %lld rules fired\n",
	       json_integer_value(json_object_get(rep, "passed")),
	       json_integer_value(json_object_get(rep, "failed")),
	       json_integer_value(json_object_get(cov, "fired")),
	       json_integer_value(json_object_get(cov, "rules")));
}

static void print_errors(const char *file, const json_t *errors)
{
	size_t i;
	const json_t *x;
	json_array_foreach(errors, i, x) fprintf(stderr, "%s:%lld: %s\n", file,
						 json_integer_value(json_object_get(x, "line")),
						 json_string_value(json_object_get(x, "message")));
}

/* The rule set's name: the file's base name without .lua. */
static void name_of(const char *path, char *name, size_t cap)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	snprintf(name, cap, "%s", b);
	char *dot = strrchr(name, '.');
	if (dot)
		*dot = '\0';
}

static const struct cli_doc rules_doc = {
	"rules",
	"check FILE | test FILE [--name N]\n"
	"       | push FILE --db DB [--name N] [--activate]\n"
	"       | activate NAME VERSION --db DB | list [NAME] --db DB",
	"Lua rule sets (docs/RULES.md). check compiles a file and runs its tests; test prints\n"
	"each test's outcome and coverage; push stores a new version after both; activate\n"
	"makes a version active (0 deactivates); list shows the sets or one set's versions.\n"
	"FILE '-' reads stdin; a set's name is the file's base name unless --name says.\n"};

/* check and test: no store, a throwaway engine. */
static int rules_check(const char *cmd, const char *file, const char *name)
{
	size_t len;
	char set[64];
	struct fl_err err = {0};
	char *src = slurp(file, &len);
	if (!src) {
		fl_err_set(&err, FL_EIO, "%s: cannot read", file);
		return cli_fail(&rules_doc, &err);
	}
	name_of(file, set, sizeof(set));
	json_t *rep, *errors;
	const int status = flow_rules_check(NULL, name ? name : set, src, len, &rep, &errors);
	free(src);
	if (rep && !strcmp(cmd, "test"))
		print_report(rep);
	if (errors)
		print_errors(file, errors);
	if (!status && !strcmp(cmd, "check"))
		printf("%s: compiles; %lld tests pass\n", file,
		       json_integer_value(json_object_get(rep, "passed")));
	json_decref(rep);
	json_decref(errors);
	return status ? 1 : 0;
}

static int rules_push(struct store *st, const char *file, const char *name, bool activate,
		      struct fl_err *err)
{
	size_t len;
	char set[64];
	json_t *answer = NULL;
	char *src = slurp(file, &len);
	if (!src)
		return fl_err_set(err, FL_EIO, "%s: cannot read", file);
	name_of(file, set, sizeof(set));
	int rc = flow_rules_push(st, name ? name : set, src, len, "admin", &answer, err);
	free(src);
	if (rc && answer)
		print_errors(file, json_object_get(answer, "errors"));
	if (!rc) {
		printf("%s version %lld stored (%lld tests pass)\n",
		       json_string_value(json_object_get(answer, "name")),
		       json_integer_value(json_object_get(answer, "version")),
		       json_integer_value(
			       json_object_get(json_object_get(answer, "tests"), "passed")));
		const int v = (int)json_integer_value(json_object_get(answer, "version"));
		json_decref(answer);
		answer = NULL;
		if (activate && !(rc = flow_rules_activate(st, name ? name : set, v, &answer, err)))
			printf("activated\n");
	}
	json_decref(answer);
	return rc;
}

static int rules_list(struct store *st, const char *name, struct fl_err *err)
{
	json_t *answer = NULL;
	const int rc = flow_rules_list(st, name, &answer, err);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(answer, "items"), i, v)
	{
		const json_t *act = json_object_get(v, "active_version");
		char state[32] = "";
		if (name)
			snprintf(state, sizeof(state), "%s",
				 json_is_true(json_object_get(v, "active")) ? "active" : "");
		else if (act && !json_is_null(act))
			snprintf(state, sizeof(state), "active: version %lld",
				 json_integer_value(act));
		else
			snprintf(state, sizeof(state), "inactive");
		printf("%-24s version %-4lld %s\n", json_string_value(json_object_get(v, "name")),
		       json_integer_value(json_object_get(v, "version")), state);
	}
	json_decref(answer);
	return rc;
}

static int rules_activate(struct store *st, const char *name, const char *version,
			  struct fl_err *err)
{
	char *end;
	const long v = strtol(version, &end, 10);
	json_t *answer = NULL;
	if (!*version || *end || v < 0 || v > 1000000000)
		return fl_err_set(err, FL_EINVAL, "version '%s': a version number (0 deactivates)",
				  version);
	const int rc = flow_rules_activate(st, name, (int)v, &answer, err);
	json_decref(answer);
	if (!rc)
		printf("%s version %ld %s\n", name, v, v ? "active" : "deactivated");
	return rc;
}

int cli_cmd_rules(int argc, char **argv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"name", required_argument, NULL, 'n'},
					     {"activate", no_argument, NULL, 'a'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	const char *db = NULL, *name = NULL;
	bool activate = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return cli_help(&rules_doc);
		case 'd': db = optarg; break;
		case 'n': name = optarg; break;
		case 'a': activate = true; break;
		default: return cli_usage(&rules_doc);
		}
	}
	const int nargs = argc - optind;
	const char *cmd = nargs ? argv[optind] : "", *const *args =
							     (const char *const *)argv + optind;
	if ((!strcmp(cmd, "check") || !strcmp(cmd, "test")) && nargs == 2)
		return rules_check(cmd, args[1], name);
	const bool ok = (!strcmp(cmd, "push") && nargs == 2) ||
			(!strcmp(cmd, "activate") && nargs == 3) ||
			(!strcmp(cmd, "list") && nargs <= 2 && nargs >= 1);
	if (!ok || !db)
		return cli_usage(&rules_doc);
	struct store *st;
	struct fl_err err = {0};
	if (cli_store_open(db, false, &st, &err))
		return cli_fail(&rules_doc, &err);
	int rc = !strcmp(cmd, "push")	    ? rules_push(st, args[1], name, activate, &err)
		 : !strcmp(cmd, "activate") ? rules_activate(st, args[1], args[2], &err)
					    : rules_list(st, nargs == 2 ? args[1] : NULL, &err);
	store_close(st);
	cli_flows_release();
	if (rc && err.msg[0])
		return cli_fail(&rules_doc, &err);
	return rc ? 1 : 0;
}
