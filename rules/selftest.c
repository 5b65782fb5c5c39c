/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The tests a rule set carries: each test's order or event run through the hooks, the
 * effects compared with its expect table, coverage by rule.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- tests carried by a rule set ---- */

/* The line of the first `name = "…"` (or '…') with this name in src, else 0. */
static int line_of_test(const char *src, const char *name)
{
	char pat[RL_NAME_MAX + 4];
	for (int q = 0; q < 2; q++) {
		snprintf(pat, sizeof(pat), q ? "'%s'" : "\"%s\"", name);
		const char *p = strstr(src, pat);
		if (p) {
			int line = 1;
			for (const char *c = src; c < p; c++)
				line += *c == '\n';
			return line;
		}
	}
	return 0;
}

/* Read a Lua order table (at idx) into o, lines and strings in the caller's buffers. */
static bool read_order(lua_State *L, int idx, struct rl_order *o, struct rl_line *lines, int max)
{
	memset(o, 0, sizeof(*o));
	o->deliver_within_days = -1;
	o->lines = lines;
	if (rl__rawfield(L, idx, "order_id") == LUA_TSTRING)
		o->order_id = lua_tostring(L, -1);
	lua_pop(L, 1); /* the string stays alive: it is a field of the test's table */
	if (rl__rawfield(L, idx, "destination") == LUA_TTABLE) {
		rl__rawfield(L, -1, "lat");
		rl__rawfield(L, -2, "lon");
		o->lat = lua_tonumber(L, -2);
		o->lon = lua_tonumber(L, -1);
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	if (rl__rawfield(L, idx, "deliver_within_days") == LUA_TNUMBER)
		o->deliver_within_days = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	if (rl__rawfield(L, idx, "lines") != LUA_TTABLE) {
		lua_pop(L, 1);
		return false;
	}
	const int n = (int)lua_rawlen(L, -1);
	for (int i = 1; i <= n && o->nlines < max; i++) {
		if (lua_rawgeti(L, -1, i) != LUA_TTABLE) { /* raw reads need a table */
			lua_pop(L, 1);
			continue;
		}
		struct rl_line *l = &lines[o->nlines++];
		memset(l, 0, sizeof(*l));
		rl__rawfield(L, -1, "sku");
		l->sku = lua_tostring(L, -1);
		lua_pop(L, 1);
		rl__rawfield(L, -1, "qty");
		l->qty = (long)lua_tointeger(L, -1);
		lua_pop(L, 1);
		rl__rawfield(L, -1, "weight_kg");
		l->weight_kg = lua_tonumber(L, -1);
		lua_pop(L, 1);
		rl__rawfield(L, -1, "hazmat");
		l->hazmat = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (!l->sku)
			l->sku = "";
		o->units += l->qty;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return true;
}

static const char *str_field(lua_State *L, int idx, const char *k)
{
	rl__rawfield(L, idx, k);
	const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);
	return s;
}

static bool has_effect(const struct rl_effects *fx, enum rl_kind k, const char *node)
{
	for (size_t i = 0; i < fx->n; i++)
		if (fx->v[i].kind == k && (!node || !strcmp(fx->v[i].node, node)))
			return true;
	return false;
}

/* Compare the effects with the test's expect table (at idx); message on mismatch. */
static bool check_expect(lua_State *L, int idx, const struct rl_effects *fx, char *msg, size_t cap)
{
	for (size_t i = 0; i < fx->n; i++)
		if (fx->v[i].kind == RL_FAILED) {
			snprintf(msg, cap, "rule %s failed at line %d: %s", fx->v[i].rule,
				 fx->v[i].line, fx->v[i].reason);
			return false;
		}
	if (rl__rawfield(L, idx, "excluded") == LUA_TTABLE) {
		const int n = (int)lua_rawlen(L, -1);
		int count = 0;
		for (size_t i = 0; i < fx->n; i++)
			count += fx->v[i].kind == RL_EXCLUDE_NODE;
		for (int i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			const char *node = lua_tostring(L, -1);
			lua_pop(L, 1);
			if (node && !has_effect(fx, RL_EXCLUDE_NODE, node)) {
				snprintf(msg, cap, "expected %s to be excluded", node);
				lua_pop(L, 1);
				return false;
			}
		}
		if (count != n) {
			snprintf(msg, cap, "expected %d exclusions, got %d", n, count);
			lua_pop(L, 1);
			return false;
		}
	}
	lua_pop(L, 1);
	if (rl__rawfield(L, idx, "penalties") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			/* never lua_tostring a key in place: next() would lose its way */
			const char *node =
				lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
			const double want = lua_tonumber(L, -1);
			double got = 0;
			for (size_t i = 0; node && i < fx->n; i++)
				if (fx->v[i].kind == RL_PENALIZE_NODE &&
				    !strcmp(fx->v[i].node, node))
					got += fx->v[i].amount;
			lua_pop(L, 1);
			if (fabs(got - want) > 1e-9) {
				snprintf(msg, cap, "expected a penalty of %g on %s, got %g", want,
					 node ? node : "?", got);
				lua_pop(L, 2);
				return false;
			}
		}
	}
	lua_pop(L, 1);
	const char *req = str_field(L, idx, "required");
	if (req && !has_effect(fx, RL_REQUIRE_NODE, req)) {
		snprintf(msg, cap, "expected %s to be required", req);
		return false;
	}
	static const struct {
		const char *key;
		enum rl_kind kind;
	} flags[] = {{"reroute", RL_REROUTE},
		     {"discount", RL_DISCOUNT},
		     {"hold", RL_HOLD},
		     {"rejected", RL_REJECT}};
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		const int t = rl__rawfield(L, idx, flags[f].key);
		const bool want = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (t == LUA_TBOOLEAN && want != has_effect(fx, flags[f].kind, NULL)) {
			snprintf(msg, cap, "expected %s%s", want ? "" : "no ", flags[f].key);
			return false;
		}
	}
	if (rl__rawfield(L, idx, "notify") == LUA_TTABLE) {
		const int n = (int)lua_rawlen(L, -1);
		for (int i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			const char *ch = lua_tostring(L, -1);
			bool found = false;
			for (size_t k = 0; ch && k < fx->n && !found; k++)
				found = fx->v[k].kind == RL_NOTIFY && !strcmp(fx->v[k].channel, ch);
			lua_pop(L, 1);
			if (!found) {
				snprintf(msg, cap, "expected a notification on %s", ch ? ch : "?");
				lua_pop(L, 1);
				return false;
			}
		}
	}
	lua_pop(L, 1);
	return true;
}

struct tests_arg {
	struct rl_engine *e;
	const struct set *s;
	const char *key, *src;
	const struct rl_host *h;
	struct rl_test_report *rep;
	struct rl_effects *fx; /* one test's effects */
};

static int tests_body(lua_State *L, void *ud)
{
	const struct tests_arg *ta = ud;
	struct rl_engine *e = ta->e;
	const char *key = ta->key, *src = ta->src;
	const struct rl_host *h = ta->h;
	struct rl_test_report *rep = ta->rep;
	const int top = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, ta->s->env_ref);
	if (rl__rawfield(L, -1, "rules") == LUA_TTABLE)
		rep->rules = (int)lua_rawlen(L, -1);
	lua_pop(L, 1);
	if (rl__rawfield(L, -1, "tests") != LUA_TTABLE) {
		lua_settop(L, top);
		return FL_EINVAL;
	}
	const int tests = lua_gettop(L);
	const int n = (int)lua_rawlen(L, tests);
	/* the set's own test network, if it has one, for the tests' duration */
	lua_getfield(L, LUA_REGISTRYINDEX, REG_NODES);
	const int saved_nodes = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_CTX);
	const int saved_ctx = luaL_ref(L, LUA_REGISTRYINDEX);
	if (rl__rawfield(L, tests - 1, "test_nodes") == LUA_TTABLE) {
		struct rl_node nodes[256];
		int nn = 0;
		const int tn = (int)lua_rawlen(L, -1);
		for (int i = 1; i <= tn && nn < 256; i++) {
			if (lua_rawgeti(L, -1, i) == LUA_TTABLE) {
				const int t = lua_gettop(L);
				const char *region = str_field(L, t, "region");
				nodes[nn] = (struct rl_node){str_field(L, t, "id"),
							     str_field(L, t, "type"),
							     region ? region : ""};
				if (nodes[nn].id && nodes[nn].type)
					nn++;
			}
			lua_pop(L, 1);
		}
		rl_set_nodes(e, nodes, nn, NULL);
	}
	lua_pop(L, 1);
	for (int i = 1; i <= n && rep->n < RL_TESTS_MAX; i++) {
		struct rl_test_result *t = &rep->v[rep->n++];
		memset(t, 0, sizeof(*t));
		if (lua_rawgeti(L, tests, i) != LUA_TTABLE) {
			snprintf(t->name, sizeof(t->name), "#%d", i);
			snprintf(t->message, sizeof(t->message), "a test must be a table");
			rep->failed++;
			lua_pop(L, 1);
			continue;
		}
		const int tt = lua_gettop(L);
		const char *name = str_field(L, tt, "name");
		snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
		if (!name)
			snprintf(t->name, sizeof(t->name), "#%d", i);
		t->line = name ? line_of_test(src, name) : 0;
		/* the test's stock answers ctx:atp */
		e->stock_ref = LUA_NOREF;
		if (rl__rawfield(L, tt, "stock") == LUA_TTABLE)
			e->stock_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		else
			lua_pop(L, 1);
		struct rl_effects *fx = ta->fx; /* outside this frame: a raise cannot leak it */
		struct rl_line lines[100];
		struct rl_order o;
		int rc = 0;
		if (rl__rawfield(L, tt, "event") == LUA_TTABLE) {
			const int ev = lua_gettop(L);
			/* data.delay_days, as posted; a top-level delay_days for older sets */
			if (rl__rawfield(L, ev, "data") == LUA_TTABLE) {
				rl__rawfield(L, -1, "delay_days");
				lua_remove(L, -2);
			}
			if (!lua_isnumber(L, -1)) {
				lua_pop(L, 1);
				rl__rawfield(L, ev, "delay_days");
			}
			struct rl_event event = {
				.event_id = str_field(L, ev, "event_id"),
				.type = str_field(L, ev, "type"),
				.order_id = str_field(L, ev, "order_id"),
				.decision_id = str_field(L, ev, "decision_id"),
				.node = str_field(L, ev, "node"),
				.carrier = str_field(L, ev, "carrier"),
				.service = str_field(L, ev, "service"),
				.delay_days = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : NAN};
			lua_pop(L, 1);
			rc = rl_on_event(e, key, &event, h, fx);
		} else if (rl__rawfield(L, tt, "order") == LUA_TTABLE &&
			   read_order(L, lua_gettop(L), &o, lines, 100)) {
			rc = rl_before_sourcing(e, key, &o, h, fx);
		} else {
			snprintf(t->message, sizeof(t->message), "needs an `order` or an `event`");
			rc = -1;
		}
		if (!rc) {
			if (rl__rawfield(L, tt, "expect") == LUA_TTABLE)
				t->passed = check_expect(L, lua_gettop(L), fx, t->message,
							 sizeof(t->message));
			else
				snprintf(t->message, sizeof(t->message), "needs an `expect` table");
		}
		rep->passed += t->passed;
		rep->failed += !t->passed;
		/* coverage: the rules that made an effect */
		for (size_t k = 0; k < fx->n; k++) {
			bool seen = false;
			for (int f = 0; f < rep->nfired && !seen; f++)
				seen = !strcmp(rep->fired[f], fx->v[k].rule);
			if (!seen && fx->v[k].kind != RL_FAILED && rep->nfired < 16)
				snprintf(rep->fired[rep->nfired++], RL_NAME_MAX, "%s",
					 fx->v[k].rule);
		}
		rl_effects_release(fx);
		if (e->stock_ref != LUA_NOREF)
			luaL_unref(L, LUA_REGISTRYINDEX, e->stock_ref);
		e->stock_ref = LUA_NOREF;
		lua_settop(L, tests);
	}
	rep->rules_fired = rep->nfired;
	lua_rawgeti(L, LUA_REGISTRYINDEX, saved_nodes);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_NODES);
	lua_rawgeti(L, LUA_REGISTRYINDEX, saved_ctx);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_CTX);
	luaL_unref(L, LUA_REGISTRYINDEX, saved_nodes);
	luaL_unref(L, LUA_REGISTRYINDEX, saved_ctx);
	lua_settop(L, top);
	return 0;
}

int rl_run_tests(struct rl_engine *e, const char *key, const char *src, const struct rl_host *h,
		 struct rl_test_report *rep, struct fl_err *err)
{
	const struct set *s = rl__find_set(e, key);
	memset(rep, 0, sizeof(*rep));
	if (!s)
		return fl_err_set(err, FL_ENOTFOUND, "rules: set %s is not loaded", key);
	struct rl_effects fx = {0};
	struct tests_arg ta = {e, s, key, src, h, rep, &fx};
	const int rc = rl__protect(e->L, tests_body, &ta);
	rl_effects_release(&fx);
	if (e->stock_ref != LUA_NOREF) { /* a failure between a test's ref and its unref */
		luaL_unref(e->L, LUA_REGISTRYINDEX, e->stock_ref);
		e->stock_ref = LUA_NOREF;
	}
	if (rc == FL_EINVAL)
		return fl_err_set(err, FL_EINVAL, "the rule set carries no `tests` table");
	return rc ? fl_err_set(err, rc, "rules: the tests ran out of memory") : 0;
}
