/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rules.h — the sandboxed Lua 5.4 rule engine.
 *
 * A rule set is Lua text (never bytecode) that defines
 *   rules = { {name = "…", before_sourcing = function(order, ctx) … end,
 *              after_sourcing = function(order, decision, ctx) … end,
 *              on_event = function(event, ctx) … end}, … }
 * (or the hooks as globals: one rule named after the set) and, optionally,
 *   tests = { {name = "…", order = {…}, expect = {excluded = {…}, penalties = {…},
 *              required = "…", split_penalty = x}}, {name = "…", event = {…},
 *              expect = {reroute = true, notify = {"email"}, discount = true, hold = true}} }.
 * Rules act only through ctx: exclude_node, exclude_service, penalize_node,
 * require_node, set_split_penalty (before_sourcing); reject, annotate (after_sourcing);
 * reroute, notify, discount, hold (on_event); and read ctx:atp(node, sku), ctx.nodes[id]
 * = {type, region}, ctx.stores / ctx.dcs (lists of ids). Every effect records the rule,
 * the line that made it, and a reason.
 *
 * The sandbox (NOTES.md's checklist): a capped allocator; base without load, loadstring,
 * dofile, loadfile, require, collectgarbage, rawset, rawget, print; table; string without
 * dump, with rep capped at RL_REP_MAX bytes and patterns refused on subjects over
 * RL_PATTERN_MAX; math without random; no io, os, package, debug, coroutine. Shared
 * tables are read-only proxies with locked metatables; the string metatable is locked;
 * setmetatable refuses __gc. Each rule set has its own environment. Each rule call has an
 * instruction budget and a wall-clock deadline enforced by a count hook that, once
 * tripped, fires on every instruction so pcall cannot swallow it; inside C, the pattern
 * and table functions are fulcrum's own (rules/bounded.c), whose loops check the deadline
 * every 1,024 units of work, and the allocator refuses the first allocation past it and
 * any block larger than the time left can fill (RL_ALLOC_BYTES_PER_MS): a rule call ends
 * at its deadline, wherever it runs.
 *
 * A rule that fails (an error, a limit) adds an RL_FAILED effect naming its line, and
 * its other effects from that call are dropped; the caller decides the policy.
 *
 * Threads: one rl_engine per thread (a Lua state is not shared). Inputs are borrowed.
 */
#ifndef FULCRUM_RULES_RULES_H
#define FULCRUM_RULES_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "data/model.h"

#define RL_REP_MAX (1u << 20)	   /* bytes string.rep may produce */
#define RL_PATTERN_MAX (64u << 10) /* subject bytes the pattern functions accept */
#define RL_SOURCE_MAX (256u << 10) /* bytes of one rule set */
#define RL_TABLE_OPS_MAX (1 << 20) /* elements one table library call may touch */
/*
 * A block a rule call allocates (past 64 KiB) must be one the time left before its
 * deadline can fill at 10^5 bytes per ms: the C operations that are one allocation and
 * one pass over it (.., string.upper, lower, sub, format, rep, table.concat) cannot be
 * interrupted, so their size is what bounds them. Measured on this machine (2 cores,
 * Lua 5.4.4): upper 1.2·10^5 bytes per ms, the slowest; a copy 3.6·10^5.
 */
#define RL_ALLOC_BYTES_PER_MS 1e5
#define RL_ALLOC_SMALL (64u << 10)
#define RL_EFFECTS_MAX 4096 /* effects one call may record */
#define RL_SETS_CACHED 32   /* compiled rule sets an engine keeps */
#define RL_NAME_MAX 64

struct rl_limits {
	size_t memory;	    /* bytes the Lua state may hold (default 32 MiB) */
	long instructions;  /* per rule call (default 5,000,000) */
	double deadline_ms; /* per rule call (default 50 ms) */
};

void rl_limits_default(struct rl_limits *l);

#define RL_KIND_MAP(X)                        \
	X(EXCLUDE_NODE, "exclude_node")       \
	X(EXCLUDE_SERVICE, "exclude_service") \
	X(PENALIZE_NODE, "penalize_node")     \
	X(REQUIRE_NODE, "require_node")       \
	X(SPLIT_PENALTY, "set_split_penalty") \
	X(REJECT, "reject")                   \
	X(ANNOTATE, "annotate")               \
	X(REROUTE, "reroute")                 \
	X(NOTIFY, "notify")                   \
	X(DISCOUNT, "discount")               \
	X(HOLD, "hold")                       \
	X(FAILED, "failed")

enum rl_kind {
#define RL_KIND_ENUM(k, name) RL_##k,
	RL_KIND_MAP(RL_KIND_ENUM)
#undef RL_KIND_ENUM
};
const char *rl_kind_name(enum rl_kind k);

struct rl_effect {
	enum rl_kind kind;
	char set[RL_NAME_MAX];	/* the rule set */
	char rule[RL_NAME_MAX]; /* the rule within it */
	int line;		/* where the effect (or the failure) happened */
	char node[FL_ID_MAX];	/* exclude/penalize/require, reroute's exclude_node */
	char carrier[32], service[32];
	double amount; /* penalty, split penalty, discount */
	char reason[160];
	char channel[32], template_[64];
	char fields[512]; /* notify: "key\037value\036…" */
};

struct rl_effects {
	struct rl_effect *v;
	size_t n, cap;
};
void rl_effects_release(struct rl_effects *x);
/* Record that rule (of set) failed at line: an RL_FAILED effect with the reason. */
void rl_effects_fail(struct rl_effects *x, const char *set, const char *rule, int line,
		     const char *reason);

/* What a rule may read from the caller. */
struct rl_host {
	long (*atp)(void *ctx, const char *node, const char *sku); /* -1 if unknown */
	void *ctx;
};

struct rl_line {
	const char *sku;
	long qty;
	double weight_kg;
	bool hazmat;
};

struct rl_order {
	const char *order_id;
	int nlines;
	const struct rl_line *lines;
	double lat, lon;
	int deliver_within_days; /* -1: none */
	long units;
};

struct rl_shipment {
	const char *node, *carrier, *service;
	long units;
	double cost;
};

struct rl_decision {
	const char *status;
	double total;
	int nshipments;
	const struct rl_shipment *ship;
};

struct rl_event {
	const char *event_id, *type, *order_id, *decision_id, *node, *carrier, *service;
	double delay_days; /* NAN when absent */
};

struct rl_node {
	const char *id, *type, *region;
};

struct rl_engine;

int rl_engine_new(const struct rl_limits *lim, struct rl_engine **out, struct fl_err *err);
void rl_engine_free(struct rl_engine *e);
/* The network as rules see it (ctx.nodes, ctx.stores, ctx.dcs); call when it changes. */
int rl_set_nodes(struct rl_engine *e, const struct rl_node *nodes, int n, struct fl_err *err);

/* A compile error, a failed test: where and what. */
struct rl_diag {
	int line;
	char message[256];
};

/*
 * Compile and run a rule set's top level under key (e.g. "name@3"); the engine keeps
 * the RL_SETS_CACHED most recent. FL_EINVAL with diag on a syntax or runtime error or
 * when the set defines no rule.
 */
int rl_load(struct rl_engine *e, const char *key, const char *set_name, const char *src, size_t len,
	    struct rl_diag *diag);
bool rl_loaded(struct rl_engine *e, const char *key);

/* Run the hook of every rule of the loaded set `key` that has it; effects appended. */
int rl_before_sourcing(struct rl_engine *e, const char *key, const struct rl_order *o,
		       const struct rl_host *h, struct rl_effects *out);
int rl_after_sourcing(struct rl_engine *e, const char *key, const struct rl_order *o,
		      const struct rl_decision *d, const struct rl_host *h, struct rl_effects *out);
int rl_on_event(struct rl_engine *e, const char *key, const struct rl_event *ev,
		const struct rl_host *h, struct rl_effects *out);

#define RL_TESTS_MAX 64

struct rl_test_result {
	char name[RL_NAME_MAX];
	int line;
	bool passed;
	char message[256];
};

struct rl_test_report {
	int passed, failed, n;
	struct rl_test_result v[RL_TESTS_MAX];
	int rules, rules_fired; /* coverage: rules that made an effect in some test */
	char fired[16][RL_NAME_MAX];
	int nfired;
};

/*
 * Run the tests the loaded set `key` carries (src: its text, to find each test's line).
 * Test orders and events are Lua tables; ctx:atp answers from the test's `stock`
 * table ({[node] = {[sku] = n}}), else h. FL_EINVAL if the set has no tests table.
 */
int rl_run_tests(struct rl_engine *e, const char *key, const char *src, const struct rl_host *h,
		 struct rl_test_report *rep, struct fl_err *err);

#endif
