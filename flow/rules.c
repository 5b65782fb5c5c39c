/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rules in the flows: the active rule sets as an immutable snapshot (swapped whole when
 * an activation commits, so a request sees one version of everything), one Lua engine
 * per worker thread, the hooks a decision runs, rule set upload/test/activate/list, replay.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/internal.h"

/* ---- the active sets, as one snapshot ---- */

static pthread_mutex_t rs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct flow_rules *rs_current;

static void rules_free(struct flow_rules *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++)
		free(r->v[i].source);
	free(r);
}

void flow_rules_put(struct flow_rules *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1)
		rules_free(r);
}

static int add_active(void *ctx, const char *name, int version, const char *source)
{
	struct flow_rules *r = ctx;
	if (r->n >= STORE_RULE_SETS_MAX)
		return 0;
	struct flow_rule_set *s = &r->v[r->n];
	s->source = strdup(source);
	if (!s->source)
		return FL_ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->version = version;
	snprintf(s->key, sizeof(s->key), "%s@%d", name, version);
	const size_t used = strlen(r->versions);
	snprintf(r->versions + used, sizeof(r->versions) - used, "%s%s", used ? "," : "", s->key);
	r->n++;
	return 0;
}

struct flow_rules *flow_rules_get(struct store *st, struct fl_err *err)
{
	int64_t gen;
	if (store_rules_generation(st, &gen, err))
		return NULL;
	pthread_mutex_lock(&rs_lock);
	struct flow_rules *r = rs_current;
	if (r && r->gen == gen) {
		atomic_fetch_add(&r->refs, 1);
		pthread_mutex_unlock(&rs_lock);
		return r;
	}
	pthread_mutex_unlock(&rs_lock);
	r = calloc(1, sizeof(*r));
	if (!r) {
		fl_err_set(err, FL_ENOMEM, "out of memory");
		return NULL;
	}
	r->gen = gen;
	atomic_init(&r->refs, 1);
	if (store_rules_active(st, add_active, r, err)) {
		rules_free(r);
		return NULL;
	}
	pthread_mutex_lock(&rs_lock);
	if (!rs_current || rs_current->gen < gen) {
		struct flow_rules *old = rs_current;
		atomic_fetch_add(&r->refs, 1);
		rs_current = r;
		pthread_mutex_unlock(&rs_lock);
		flow_rules_put(old);
	} else {
		pthread_mutex_unlock(&rs_lock);
	}
	return r;
}

void flow_rules_drop(void)
{
	pthread_mutex_lock(&rs_lock);
	struct flow_rules *r = rs_current;
	rs_current = NULL;
	pthread_mutex_unlock(&rs_lock);
	flow_rules_put(r);
}

/* ---- one engine per thread ---- */

static pthread_once_t eng_once = PTHREAD_ONCE_INIT;
static pthread_key_t eng_key;
static _Thread_local struct rl_engine *tl_engine;
static _Thread_local int64_t tl_nodes_gen = -1;

static void eng_free(void *e)
{
	rl_engine_free(e);
}

static void eng_key_create(void)
{
	pthread_key_create(&eng_key, eng_free);
}

/* The snapshot's nodes as rules see them (ctx.nodes, ctx.stores, ctx.dcs). */
static int set_network(struct rl_engine *e, const struct flow_snapshot *snap, struct fl_err *err)
{
	struct rl_node *nodes = malloc(sizeof(*nodes) * (snap->nnodes + 1));
	if (!nodes)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	for (size_t i = 0; i < snap->nnodes; i++)
		nodes[i] =
			(struct rl_node){snap->nodes[i].id, fl_node_type_name(snap->nodes[i].type),
					 snap->nodes[i].region};
	const int rc = rl_set_nodes(e, nodes, (int)snap->nnodes, err);
	free(nodes);
	return rc;
}

/* This thread's engine, with the snapshot's network loaded. */
struct rl_engine *flow_rules_engine(const struct flow_snapshot *snap, struct fl_err *err)
{
	pthread_once(&eng_once, eng_key_create);
	if (!tl_engine) {
		if (rl_engine_new(NULL, &tl_engine, err))
			return NULL;
		pthread_setspecific(eng_key, tl_engine);
		tl_nodes_gen = -1;
	}
	if (snap && snap->generation != tl_nodes_gen) {
		if (set_network(tl_engine, snap, err))
			return NULL;
		tl_nodes_gen = snap->generation;
	}
	return tl_engine;
}

void flow_rules_thread_release(void)
{
	if (tl_engine) {
		pthread_once(&eng_once, eng_key_create);
		pthread_setspecific(eng_key, NULL);
		rl_engine_free(tl_engine);
		tl_engine = NULL;
	}
}

/* Make sure set s is compiled in e; a set that no longer compiles adds a failure. */
int flow_rules_ensure(struct rl_engine *e, const struct flow_rule_set *s, struct rl_effects *fx)
{
	if (rl_loaded(e, s->key))
		return 0;
	struct rl_diag d;
	if (!rl_load(e, s->key, s->name, s->source, strlen(s->source), &d))
		return 0;
	if (fx) /* the set no longer compiles: its only effect is that failure */
		rl_effects_fail(fx, s->name, s->name, d.line, d.message);
	return FL_EINVAL;
}

static atomic_ulong rule_failures;

unsigned long flow_rule_failures_total(void)
{
	return atomic_load(&rule_failures);
}

json_t *flow_effects_json(const struct flow_rules *rs, const struct rl_effects *fx)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < fx->n; i++) {
		const struct rl_effect *x = &fx->v[i];
		if (x->kind == RL_FAILED)
			atomic_fetch_add(&rule_failures, 1);
		int version = 0;
		for (int k = 0; rs && k < rs->n; k++)
			if (!strcmp(rs->v[k].name, x->set))
				version = rs->v[k].version;
		/* "effect" says it in words (API.md: "excluded node ST-0042"); "kind" for code */
		char what[256];
		switch (x->kind) {
		case RL_EXCLUDE_NODE:
			snprintf(what, sizeof(what), "excluded node %s", x->node);
			break;
		case RL_PENALIZE_NODE:
			snprintf(what, sizeof(what), "penalized node %s by %g", x->node, x->amount);
			break;
		case RL_EXCLUDE_SERVICE:
			snprintf(what, sizeof(what), "excluded service %s %s", x->carrier,
				 x->service);
			break;
		case RL_REQUIRE_NODE:
			snprintf(what, sizeof(what), "required node %s", x->node);
			break;
		case RL_SPLIT_PENALTY:
			snprintf(what, sizeof(what), "set the split penalty to %g", x->amount);
			break;
		case RL_REJECT: snprintf(what, sizeof(what), "rejected the plan"); break;
		case RL_ANNOTATE: snprintf(what, sizeof(what), "noted: %s", x->reason); break;
		case RL_FAILED: snprintf(what, sizeof(what), "failed: %s", x->reason); break;
		default: snprintf(what, sizeof(what), "%s", rl_kind_name(x->kind)); break;
		}
		json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:s}", "set", x->set,
				      "version", version, "rule", x->rule, "effect", what, "kind",
				      rl_kind_name(x->kind), "line", x->line, "reason", x->reason);
		if (x->node[0])
			json_object_set_new(o, "node", json_string(x->node));
		if (x->carrier[0])
			json_object_set_new(o, "carrier", json_string(x->carrier));
		if (x->service[0])
			json_object_set_new(o, "service", json_string(x->service));
		if (x->kind == RL_PENALIZE_NODE || x->kind == RL_SPLIT_PENALTY ||
		    x->kind == RL_DISCOUNT)
			json_object_set_new(o, "amount", json_real(x->amount));
		if (x->kind == RL_NOTIFY || x->kind == RL_DISCOUNT)
			json_object_set_new(o, "channel", json_string(x->channel));
		if (x->kind == RL_NOTIFY)
			json_object_set_new(o, "template", json_string(x->template_));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *flow_effect_fields(const struct rl_effect *x)
{
	json_t *o = json_object();
	const char *p = x->fields;
	while (o && *p) {
		const char *us = strchr(p, '\037'), *rs = us ? strchr(us + 1, '\036') : NULL;
		if (!us || !rs)
			break;
		char key[128], num[64];
		snprintf(key, sizeof(key), "%.*s", (int)(us - p), p);
		const char *v = us + 2; /* after the type: 'n' a number, 's' a string */
		const size_t len = (size_t)(rs - v);
		char *end = NULL;
		double d = 0;
		if (us[1] == 'n' && len < sizeof(num)) {
			snprintf(num, sizeof(num), "%.*s", (int)len, v);
			d = strtod(num, &end);
		}
		json_object_set_new(o, key,
				    end && !*end && isfinite(d)
					    ? (d == floor(d) && fabs(d) < 1e15 && !strchr(num, '.')
						       ? json_integer((json_int_t)d)
						       : json_real(d))
					    : json_stringn(v, len));
		p = rs + 1;
	}
	return o;
}

/* ---- upload, test, activate, list ---- */

static bool name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return false;
	return n > 0 && n < 64;
}

static json_t *report_json(const struct rl_test_report *rep)
{
	json_t *items = json_array(), *fired = json_array();
	for (int i = 0; i < rep->n; i++) {
		json_t *t = json_pack("{s:s, s:i, s:b}", "name", rep->v[i].name, "line",
				      rep->v[i].line, "passed", rep->v[i].passed);
		if (!rep->v[i].passed)
			json_object_set_new(t, "message", json_string(rep->v[i].message));
		json_array_append_new(items, t);
	}
	for (int i = 0; i < rep->nfired; i++)
		json_array_append_new(fired, json_string(rep->fired[i]));
	return json_pack("{s:i, s:i, s:o, s:{s:i, s:i, s:o}}", "passed", rep->passed, "failed",
			 rep->failed, "results", items, "coverage", "rules", rep->rules, "fired",
			 rep->rules_fired, "rules_fired", fired);
}

/*
 * Compile src in a throwaway engine (the live ones are never touched) and run the tests
 * it carries. 0 with *report; FL_EINVAL with *errors ([{line, message}]); FL_EINTERNAL
 * when no engine could be made.
 */
int flow_rules_check(const struct flow_snapshot *snap, const char *name, const char *src,
		     size_t len, json_t **report, json_t **errors)
{
	struct rl_engine *e;
	struct fl_err err = {0};
	struct rl_diag d;
	*report = *errors = NULL;
	if (rl_engine_new(NULL, &e, &err)) {
		*errors = json_pack("[{s:i, s:s}]", "line", 0, "message", err.msg);
		return FL_EINTERNAL;
	}
	if (snap && set_network(e, snap, &err)) {
		*errors = json_pack("[{s:i, s:s}]", "line", 0, "message", err.msg);
		rl_engine_free(e);
		return FL_EINTERNAL;
	}
	int status = 0;
	if (memchr(src, '\0', len) || rl_load(e, "check", name, src, len, &d)) {
		if (memchr(src, '\0', len))
			d = (struct rl_diag){0, "the source contains a NUL byte"};
		*errors = json_pack("[{s:i, s:s}]", "line", d.line, "message", d.message);
		status = FL_EINVAL;
		goto out;
	}
	struct rl_test_report *rep = malloc(sizeof(*rep));
	if (!rep) {
		status = FL_ENOMEM;
		goto out;
	}
	if (rl_run_tests(e, "check", src, NULL, rep, &err)) {
		rep->n = rep->passed = rep->failed = 0; /* no tests: nothing to fail */
		rep->rules = rep->rules_fired = rep->nfired = 0;
	}
	*report = report_json(rep);
	if (rep->failed) {
		*errors = json_array();
		for (int i = 0; i < rep->n; i++)
			if (!rep->v[i].passed)
				json_array_append_new(*errors, json_pack("{s:i, s:s++}", "line",
									 rep->v[i].line, "message",
									 rep->v[i].name, ": ",
									 rep->v[i].message));
		status = FL_EINVAL;
	}
	free(rep);
out:
	rl_engine_free(e);
	return status;
}

int flow_rules_push(struct store *st, const char *name, const char *src, size_t len,
		    const char *role, json_t **answer, struct fl_err *err)
{
	*answer = NULL;
	if (!name_ok(name))
		return fl_err_set(err, FL_EINVAL, "name: 1 to 63 of A-Z a-z 0-9 _ -");
	if (len > RL_SOURCE_MAX)
		return fl_err_set(err, FL_ETOOBIG, "the rule set is longer than %u bytes",
				  RL_SOURCE_MAX);
	struct flow_snapshot *snap = flow_snapshot_get(st, NULL);
	json_t *report, *errors;
	const int status = flow_rules_check(snap, name, src, len, &report, &errors);
	flow_snapshot_put(snap);
	if (status) {
		*answer = json_pack("{s:s, s:o, s:o?}", "name", name, "errors", errors, "tests",
				    report);
		return fl_err_set(
			err, status, "the rule set was not stored: %s",
			json_string_value(json_object_get(json_array_get(errors, 0), "message")));
	}
	unsigned char h[32];
	char hex[65];
	flow_sha256(src, len, h);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	char *text = strndup(src, len);
	int version = 0;
	const int passed = (int)json_integer_value(json_object_get(report, "passed"));
	const int rc = !text ? fl_err_set(err, FL_ENOMEM, "out of memory")
			     : store_rule_put(st, name, text, hex, role, passed, 0,
					      (int64_t)time(NULL), &version, err);
	if (rc) {
		free(text);
		json_decref(report);
		return rc;
	}
	free(text);
	const bool untested = json_integer_value(json_object_get(report, "passed")) +
				      json_integer_value(json_object_get(report, "failed")) ==
			      0;
	*answer = json_pack("{s:s, s:i, s:s, s:o}", "name", name, "version", version, "sha256", hex,
			    "tests", report);
	if (*answer && untested) /* accepted, but a person should know */
		json_object_set_new(*answer, "warnings",
				    json_pack("[s]",
					      "the rule set carries no tests: nothing proves "
					      "what it does"));
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_rules_activate(struct store *st, const char *name, int version, json_t **answer,
			struct fl_err *err)
{
	*answer = NULL;
	if (version < 0)
		return fl_err_set(err, FL_EINVAL, "version: a version number, or 0 to deactivate");
	const int rc = store_rule_activate(st, name, version, (int64_t)time(NULL), err);
	if (rc)
		return rc;
	*answer = json_pack("{s:s, s:i, s:b}", "name", name, "version", version, "active",
			    version > 0);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

static json_t *version_json(const struct store_rule_version *v)
{
	char when[32];
	flow__rfc3339(v->created_at, when);
	return json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:b}", "name", v->name, "version",
			 v->version, "sha256", v->sha256, "author_role", v->author_role,
			 "tests_passed", v->tests_passed, "created_at", when, "active", v->active);
}

int flow_rules_list(struct store *st, const char *name, json_t **answer, struct fl_err *err)
{
	struct store_rule_version *v;
	size_t n;
	const int rc = name ? store_rule_versions(st, name, &v, &n, err)
			    : store_rule_sets(st, &v, &n, err);
	*answer = NULL;
	if (rc)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, version_json(&v[i]));
	free(v);
	if (!name) { /* the active version of each set, read once */
		struct flow_rules *rs = flow_rules_get(st, NULL);
		json_t *it;
		size_t i;
		json_array_foreach(items, i, it)
		{
			int active = 0;
			for (int k = 0; rs && k < rs->n; k++)
				if (!strcmp(rs->v[k].name,
					    json_string_value(json_object_get(it, "name"))))
					active = rs->v[k].version;
			json_object_set_new(it, "active_version",
					    active ? json_integer(active) : json_null());
			json_object_del(it, "active");
		}
		flow_rules_put(rs);
	}
	*answer = json_pack("{s:o}", "items", items);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

int flow_rules_test(struct store *st, const char *name, int version, json_t **answer,
		    struct fl_err *err)
{
	int rc;
	*answer = NULL;
	if (version <= 0) {
		struct store_rule_version *v;
		size_t n;
		if ((rc = store_rule_versions(st, name, &v, &n, err)))
			return rc;
		version = v[0].version;
		free(v);
	}
	char *src;
	if ((rc = store_rule_source(st, name, version, &src, err)))
		return rc;
	struct flow_snapshot *snap = flow_snapshot_get(st, NULL);
	json_t *report, *errors;
	const int status = flow_rules_check(snap, name, src, strlen(src), &report, &errors);
	flow_snapshot_put(snap);
	free(src);
	if (status && status != FL_EINVAL) {
		json_decref(errors);
		json_decref(report);
		return fl_err_set(err, status, "rules: cannot run the tests");
	}
	*answer = json_pack("{s:s, s:i, s:o?, s:o?}", "name", name, "version", version, "tests",
			    report, "errors", errors);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}

/* ---- replay: what a candidate version would change ---- */

/* change's "rules": each "set/rule" the candidate's decision recorded an effect of, once */
static json_t *with_rules_fired(json_t *after, json_t *change)
{
	json_t *names = json_array(), *fx;
	size_t i;
	json_array_foreach(json_object_get(after, "rules"), i, fx)
	{
		char name[160];
		const char *set = json_string_value(json_object_get(fx, "set"));
		const char *rule = json_string_value(json_object_get(fx, "rule"));
		snprintf(name, sizeof(name), "%s/%s", set ? set : "?", rule ? rule : "?");
		bool seen = false;
		for (size_t k = 0; k < json_array_size(names) && !seen; k++)
			seen = !strcmp(json_string_value(json_array_get(names, k)), name);
		if (!seen)
			json_array_append_new(names, json_string(name));
	}
	json_object_set_new(change, "rules", names);
	return change;
}

#define REPLAY_MAX 10000
#define REPLAY_SHOWN 100

struct replay {
	struct store *st;
	const struct flow_rules *active, *candidate;
	struct rl_engine *engine; /* a throwaway state for the candidate's and the active's runs */
	json_t *changes;
	int replayed, changed, errors;
	double delta;
};

/* "node/carrier/service" of each shipment, sorted, joined: a plan's shape. */
static void plan_shape(const json_t *ans, char *buf, size_t cap)
{
	const char *parts[64];
	char tmp[64][160];
	size_t n = 0, i;
	const json_t *s;
	json_array_foreach(json_object_get(ans, "shipments"), i, s)
	{
		if (n == 64)
			break;
		snprintf(tmp[n], sizeof(tmp[n]), "%s/%s/%s",
			 json_string_value(json_object_get(s, "node")),
			 json_string_value(json_object_get(s, "carrier")),
			 json_string_value(json_object_get(s, "service")));
		parts[n] = tmp[n];
		n++;
	}
	for (size_t a = 1; a < n; a++) /* few shipments: insertion sort */
		for (size_t b = a; b > 0 && strcmp(parts[b - 1], parts[b]) > 0; b--) {
			const char *t = parts[b];
			parts[b] = parts[b - 1];
			parts[b - 1] = t;
		}
	buf[0] = '\0';
	for (size_t k = 0, at = 0; k < n && at < cap; k++)
		at += (size_t)snprintf(buf + at, cap - at, "%s%s", k ? "," : "", parts[k]);
}

static int replay_one(void *ctx, const char *id, const char *order_id, const char *request)
{
	struct replay *r = ctx;
	json_error_t je;
	json_t *body = json_loads(request, 0, &je), *before = NULL, *after = NULL;
	if (!body) {
		r->errors++;
		return 0;
	}
	const struct flow_decide_opts ob = {
		.dry_run = true, .rules = r->active, .engine = r->engine};
	const struct flow_decide_opts oa = {
		.dry_run = true, .rules = r->candidate, .engine = r->engine};
	if (flow_decide(r->st, body, &ob, &before, NULL) ||
	    flow_decide(r->st, body, &oa, &after, NULL)) {
		r->errors++;
		json_decref(body), json_decref(before), json_decref(after);
		return 0;
	}
	r->replayed++;
	char sb[4096], sa[4096];
	plan_shape(before, sb, sizeof(sb));
	plan_shape(after, sa, sizeof(sa));
	const double cb =
		json_number_value(json_object_get(json_object_get(before, "cost"), "total"));
	const double ca =
		json_number_value(json_object_get(json_object_get(after, "cost"), "total"));
	if (strcmp(sb, sa) || fabs(ca - cb) > 1e-6) {
		r->changed++;
		r->delta += ca - cb;
		if (json_array_size(r->changes) < REPLAY_SHOWN)
			json_array_append_new(
				r->changes,
				with_rules_fired(
					after, json_pack("{s:s, s:s, s:{s:s, s:f, s:s}, s:{s:s, "
							 "s:f, s:s}, s:f}",
							 "decision_id", id, "order_id", order_id,
							 "before", "plan", sb, "cost", cb, "status",
							 json_string_value(
								 json_object_get(before, "status")),
							 "after", "plan", sa, "cost", ca, "status",
							 json_string_value(
								 json_object_get(after, "status")),
							 "cost_delta", ca - cb)));
	}
	json_decref(body), json_decref(before), json_decref(after);
	return 0;
}

int flow_rules_replay(struct store *st, const char *name, int version, int limit, json_t **answer,
		      struct fl_err *err)
{
	int rc;
	*answer = NULL;
	if (limit < 1 || limit > REPLAY_MAX)
		return fl_err_set(err, FL_EINVAL, "limit: 1 to %d decisions", REPLAY_MAX);
	if (version < 1)
		return fl_err_set(err, FL_EINVAL, "version: required");
	char *src;
	if ((rc = store_rule_source(st, name, version, &src, err)))
		return rc;
	struct flow_rules *active = flow_rules_get(st, err);
	struct flow_rules *cand = calloc(1, sizeof(*cand));
	if (!active || !cand) {
		free(src), free(cand);
		flow_rules_put(active);
		return active		    ? fl_err_set(err, FL_ENOMEM, "out of memory")
		       : err && err->status ? err->status
					    : FL_EDB;
	}
	/* the candidate: the active sets with this one at the version asked */
	for (int i = 0; i < active->n; i++)
		if (strcmp(active->v[i].name, name))
			add_active(cand, active->v[i].name, active->v[i].version,
				   active->v[i].source);
	add_active(cand, name, version, src);
	free(src);
	/* the candidate runs in a state of its own, made for this replay and thrown away: a
	 * version under review never touches the engines that serve decisions */
	struct rl_engine *eng = NULL;
	struct flow_snapshot *snap = flow_snapshot_get(st, err);
	rc = !snap			      ? (err && err->status ? err->status : FL_EDB)
	     : rl_engine_new(NULL, &eng, err) ? FL_ENOMEM
					      : set_network(eng, snap, err);
	flow_snapshot_put(snap);
	if (rc) {
		rl_engine_free(eng);
		rules_free(cand);
		flow_rules_put(active);
		return rc;
	}
	struct replay r = {.st = st,
			   .active = active,
			   .candidate = cand,
			   .engine = eng,
			   .changes = json_array()};
	rc = store_decisions_recent(st, (size_t)limit, replay_one, &r, err);
	rl_engine_free(eng);
	rules_free(cand);
	flow_rules_put(active);
	if (rc) {
		json_decref(r.changes);
		return rc;
	}
	*answer = json_pack("{s:s, s:i, s:i, s:i, s:i, s:f, s:o}", "name", name, "version", version,
			    "replayed", r.replayed, "changed", r.changed, "errors", r.errors,
			    "cost_delta", r.delta, "changes", r.changes);
	return *answer ? 0 : fl_err_set(err, FL_ENOMEM, "out of memory");
}
