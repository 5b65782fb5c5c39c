/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine.c — the Lua state, its sandbox and limits, rule sets, hooks and ctx.
 * rules.h says what the sandbox allows; this file is the only one that touches Lua.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules.h"

#define HOOK_EVERY 1000 /* instructions between limit checks */
#define REG_BASE "fulcrum.base"
#define REG_CTX "fulcrum.ctx"
#define REG_NODES "fulcrum.nodes"
#define REG_NEXT "fulcrum.next"

static const char *const kind_names[] = {
#define RL_KIND_NAME(k, name) name,
	RL_KIND_MAP(RL_KIND_NAME)
#undef RL_KIND_NAME
};

const char *rl_kind_name(enum rl_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

void rl_limits_default(struct rl_limits *l)
{
	l->memory = 32u << 20;
	l->instructions = 5000000;
	l->deadline_ms = 50;
}

struct set {
	char key[RL_NAME_MAX * 2];
	char name[RL_NAME_MAX];
	int env_ref; /* the set's environment in the registry */
	unsigned long used;
};

struct rl_engine {
	lua_State *L;
	struct rl_limits lim;
	size_t mem;
	bool capped; /* false while the engine builds its own tables */
	long instr;
	double deadline;
	bool tripped;
	const char *trip_reason;
	struct set sets[RL_SETS_CACHED];
	int nsets;
	unsigned long clock;
	/* the call in progress */
	struct rl_effects *out;
	const struct set *cur_set;
	char cur_rule[RL_NAME_MAX];
	unsigned allowed; /* bit per rl_kind */
	const struct rl_host *host;
	int stock_ref; /* a test's stock table, or LUA_NOREF */
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static struct rl_engine *engine_of(lua_State *L)
{
	return *(struct rl_engine **)lua_getextraspace(L);
}

/*
 * Read a field of a table the rules made, without metamethods: C code outside a rule
 * call must never run rule code (it would run unprotected and without limits).
 */
static int rawfield(lua_State *L, int idx, const char *k)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, k);
	return lua_rawget(L, idx);
}

/* ---- limits ---- */

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct rl_engine *e = ud;
	if (!ptr)
		osize = 0; /* then osize is a type tag, not a size */
	if (nsize == 0) {
		free(ptr);
		e->mem -= osize;
		return NULL;
	}
	if (e->capped && nsize > osize && e->mem - osize + nsize > e->lim.memory)
		return NULL; /* Lua raises "not enough memory" */
	void *p = realloc(ptr, nsize);
	if (p)
		e->mem = e->mem - osize + nsize;
	return p;
}

static void limit_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct rl_engine *e = engine_of(L);
	if (!e->tripped) {
		e->instr += HOOK_EVERY;
		if (e->instr > e->lim.instructions)
			e->trip_reason = "instruction budget exceeded";
		else if (now_ms() > e->deadline)
			e->trip_reason = "deadline exceeded";
		else
			return;
		e->tripped = true;
		/* sticky: from now on every instruction fails, so pcall cannot absorb it */
		lua_sethook(L, limit_hook, LUA_MASKCOUNT, 1);
	}
	luaL_error(L, "%s", e->trip_reason);
}

static void arm(struct rl_engine *e)
{
	e->instr = 0;
	e->tripped = false;
	e->deadline = now_ms() + e->lim.deadline_ms;
	e->capped = true;
	lua_sethook(e->L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

static void disarm(struct rl_engine *e)
{
	lua_sethook(e->L, NULL, 0, 0);
	e->tripped = false;
	e->capped = false;
}

/* ---- the sandbox ---- */

static int safe_rep(lua_State *L)
{
	size_t len, seplen = 0;
	luaL_checklstring(L, 1, &len);
	const lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &seplen);
	if (n > 0 && (double)n * (double)(len + seplen) > RL_REP_MAX)
		return luaL_error(L, "string.rep: the result would exceed %d bytes", RL_REP_MAX);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int safe_pattern(lua_State *L)
{
	size_t len;
	luaL_checklstring(L, 1, &len);
	if (len > RL_PATTERN_MAX)
		return luaL_error(L, "string patterns: subject longer than %d bytes",
				  RL_PATTERN_MAX);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int safe_setmetatable(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_istable(L, 2) && rawfield(L, 2, "__gc") != LUA_TNIL)
		return luaL_error(L, "setmetatable: __gc is not allowed in rules");
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

static int frozen_write(lua_State *L)
{
	return luaL_error(L, "this table is read-only");
}

/* pairs() and # on a proxy see the table behind it. */
static int frozen_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1)); /* next */
	lua_pushvalue(L, lua_upvalueindex(2)); /* the table */
	lua_pushnil(L);
	return 3;
}

static int frozen_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
	return 1;
}

/* Replace the table at the top with a read-only proxy of it. */
static void freeze(lua_State *L)
{
	lua_newtable(L);	  /* proxy */
	lua_createtable(L, 0, 6); /* its metatable */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, frozen_write);
	lua_setfield(L, -2, "__newindex");
	lua_getfield(L, LUA_REGISTRYINDEX, REG_NEXT);
	lua_pushvalue(L, -4);
	lua_pushcclosure(L, frozen_pairs, 2);
	lua_setfield(L, -2, "__pairs");
	lua_pushvalue(L, -3);
	lua_pushcclosure(L, frozen_len, 1);
	lua_setfield(L, -2, "__len");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_remove(L, -2);
}

/* Copy the named fields of the global library `lib` into a new table (on the stack). */
static void copy_lib(lua_State *L, const char *lib, const char *const *names)
{
	lua_getglobal(L, lib);
	lua_newtable(L);
	for (const char *const *n = names; *n; n++) {
		lua_getfield(L, -2, *n);
		lua_setfield(L, -2, *n);
	}
	lua_remove(L, -2);
}

static int build_base(lua_State *L)
{
	static const char *const base_ok[] = {"assert",	  "error",	  "ipairs", "next",
					      "pairs",	  "pcall",	  "select", "tonumber",
					      "tostring", "type",	  "xpcall", "rawequal",
					      "rawlen",	  "getmetatable", NULL};
	static const char *const string_ok[] = {"byte",	 "char",    "format", "len", "lower",
						"upper", "reverse", "sub",    NULL};
	static const char *const pattern_fns[] = {"find", "match", "gmatch", "gsub", NULL};
	static const char *const table_ok[] = {"concat", "insert", "move",   "pack",
					       "remove", "sort",   "unpack", NULL};
	static const char *const math_ok[] = {
		"abs", "ceil", "exp",	     "floor", "fmod",	    "huge",
		"log", "max",  "maxinteger", "min",   "mininteger", "modf",
		"pi",  "sqrt", "tointeger",  "type",  "ult",	    NULL};

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	lua_pop(L, 4);
	lua_getglobal(L, "next");
	lua_setfield(L, LUA_REGISTRYINDEX, REG_NEXT);

	copy_lib(L, LUA_GNAME, base_ok); /* the base environment every set reads */
	lua_getglobal(L, "setmetatable");
	lua_pushcclosure(L, safe_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	lua_pushliteral(L, LUA_VERSION);
	lua_setfield(L, -2, "_VERSION");

	copy_lib(L, LUA_STRLIBNAME, string_ok);
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, safe_rep, 1);
	lua_setfield(L, -3, "rep");
	for (const char *const *n = pattern_fns; *n; n++) {
		lua_getfield(L, -1, *n);
		lua_pushcclosure(L, safe_pattern, 1);
		lua_setfield(L, -3, *n);
	}
	lua_pop(L, 1);
	/* methods on strings ("x"):rep(…) go through the same safe table */
	lua_pushvalue(L, -1);
	freeze(L);
	lua_setfield(L, -3, "string");
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 3);

	copy_lib(L, LUA_TABLIBNAME, table_ok);
	freeze(L);
	lua_setfield(L, -2, "table");
	copy_lib(L, LUA_MATHLIBNAME, math_ok);
	freeze(L);
	lua_setfield(L, -2, "math");
	lua_getfield(L, -1, "table");
	lua_getfield(L, -1, "unpack");
	lua_setfield(L, -3, "unpack");
	lua_pop(L, 1);

	freeze(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_BASE);
	/* nothing of the real globals stays reachable */
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, -4);
	}
	lua_pop(L, 1);
	return 0;
}

/* ---- effects ---- */

void rl_effects_release(struct rl_effects *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

void rl_effects_fail(struct rl_effects *x, const char *set, const char *rule, int line,
		     const char *reason)
{
	/* failures are few (one per rule call at most); past the ceiling the last one
	 * already says a rule failed */
	if (fl_grow((void **)&x->v, &x->cap, x->n + 1, sizeof(*x->v), RL_EFFECTS_MAX + 64))
		return;
	struct rl_effect *f = &x->v[x->n++];
	memset(f, 0, sizeof(*f));
	f->kind = RL_FAILED;
	snprintf(f->set, sizeof(f->set), "%s", set);
	snprintf(f->rule, sizeof(f->rule), "%s", rule);
	f->line = line;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static struct rl_effect *effect_new(lua_State *L, enum rl_kind kind)
{
	struct rl_engine *e = engine_of(L);
	if (!(e->allowed & (1u << kind)))
		luaL_error(L, "ctx:%s is not available in this hook", rl_kind_name(kind));
	struct rl_effects *o = e->out;
	if (o->n >= RL_EFFECTS_MAX)
		luaL_error(L, "more than %d effects in one call", RL_EFFECTS_MAX);
	if (fl_grow((void **)&o->v, &o->cap, o->n + 1, sizeof(*o->v), RL_EFFECTS_MAX + 64))
		luaL_error(L, "not enough memory");
	struct rl_effect *x = &o->v[o->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	snprintf(x->set, sizeof(x->set), "%s", e->cur_set ? e->cur_set->name : "");
	snprintf(x->rule, sizeof(x->rule), "%s", e->cur_rule);
	lua_Debug ar;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
		x->line = ar.currentline;
	return x;
}

static void copy_arg(lua_State *L, int i, char *dst, size_t cap, bool required)
{
	size_t len;
	const char *s = required ? luaL_checklstring(L, i, &len) : luaL_optlstring(L, i, "", &len);
	snprintf(dst, cap, "%s", s);
}

static int ctx_exclude_node(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_EXCLUDE_NODE);
	copy_arg(L, 2, x->node, sizeof(x->node), true);
	copy_arg(L, 3, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_exclude_service(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_EXCLUDE_SERVICE);
	copy_arg(L, 2, x->carrier, sizeof(x->carrier), true);
	copy_arg(L, 3, x->service, sizeof(x->service), true);
	copy_arg(L, 4, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_penalize_node(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_PENALIZE_NODE);
	copy_arg(L, 2, x->node, sizeof(x->node), true);
	x->amount = luaL_checknumber(L, 3);
	if (!(x->amount >= 0) || !isfinite(x->amount))
		return luaL_error(L, "penalize_node: the amount must be a number >= 0");
	copy_arg(L, 4, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_require_node(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_REQUIRE_NODE);
	copy_arg(L, 2, x->node, sizeof(x->node), true);
	copy_arg(L, 3, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_set_split_penalty(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_SPLIT_PENALTY);
	x->amount = luaL_checknumber(L, 2);
	if (!(x->amount >= 0) || !isfinite(x->amount))
		return luaL_error(L, "set_split_penalty: must be a number >= 0");
	copy_arg(L, 3, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_reject(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_REJECT);
	copy_arg(L, 2, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_annotate(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_ANNOTATE);
	copy_arg(L, 2, x->reason, sizeof(x->reason), true);
	return 0;
}

static int ctx_reroute(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_REROUTE);
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		const char *fields[][2] = {{"exclude_node", x->node},
					   {"exclude_carrier", x->carrier},
					   {"reason", x->reason}};
		const size_t caps[] = {sizeof(x->node), sizeof(x->carrier), sizeof(x->reason)};
		for (int i = 0; i < 3; i++) {
			if (lua_getfield(L, 2, fields[i][0]) == LUA_TSTRING)
				snprintf((char *)fields[i][1], caps[i], "%s", lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	}
	return 0;
}

static int ctx_notify(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_NOTIFY);
	copy_arg(L, 2, x->channel, sizeof(x->channel), true);
	copy_arg(L, 3, x->template_, sizeof(x->template_), true);
	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		size_t at = 0;
		lua_pushnil(L);
		while (lua_next(L, 4)) {
			if (lua_type(L, -2) == LUA_TSTRING &&
			    (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
				const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
				const int w = snprintf(x->fields + at, sizeof(x->fields) - at,
						       "%s\037%s\036", k, v);
				if (w > 0 && at + (size_t)w < sizeof(x->fields))
					at += (size_t)w;
				else
					x->fields[at] = '\0';
			}
			lua_pop(L, 1);
		}
	}
	return 0;
}

static int ctx_discount(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_DISCOUNT);
	copy_arg(L, 2, x->channel, sizeof(x->channel), true); /* the kind of discount */
	x->amount = luaL_checknumber(L, 3);
	if (!(x->amount >= 0) || !isfinite(x->amount))
		return luaL_error(L, "discount: the amount must be a number >= 0");
	copy_arg(L, 4, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_hold(lua_State *L)
{
	struct rl_effect *x = effect_new(L, RL_HOLD);
	copy_arg(L, 2, x->reason, sizeof(x->reason), false);
	return 0;
}

static int ctx_atp(lua_State *L)
{
	struct rl_engine *e = engine_of(L);
	const char *node = luaL_checkstring(L, 2), *sku = luaL_checkstring(L, 3);
	if (e->stock_ref != LUA_NOREF) { /* a test's stock table */
		lua_rawgeti(L, LUA_REGISTRYINDEX, e->stock_ref);
		if (lua_getfield(L, -1, node) == LUA_TTABLE &&
		    lua_getfield(L, -1, sku) == LUA_TNUMBER)
			return 1;
		lua_pushinteger(L, 0);
		return 1;
	}
	const long v = e->host && e->host->atp ? e->host->atp(e->host->ctx, node, sku) : -1;
	if (v < 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, v);
	return 1;
}

static void build_ctx(lua_State *L)
{
	static const luaL_Reg fns[] = {{"exclude_node", ctx_exclude_node},
				       {"exclude_service", ctx_exclude_service},
				       {"penalize_node", ctx_penalize_node},
				       {"require_node", ctx_require_node},
				       {"set_split_penalty", ctx_set_split_penalty},
				       {"reject", ctx_reject},
				       {"annotate", ctx_annotate},
				       {"reroute", ctx_reroute},
				       {"notify", ctx_notify},
				       {"discount", ctx_discount},
				       {"hold", ctx_hold},
				       {"atp", ctx_atp},
				       {NULL, NULL}};
	luaL_newlib(L, fns);
	if (lua_getfield(L, LUA_REGISTRYINDEX, REG_NODES) == LUA_TTABLE) {
		lua_getfield(L, -1, "nodes");
		lua_setfield(L, -3, "nodes");
		lua_getfield(L, -1, "stores");
		lua_setfield(L, -3, "stores");
		lua_getfield(L, -1, "dcs");
		lua_setfield(L, -3, "dcs");
	}
	lua_pop(L, 1);
	freeze(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_CTX);
}

/* ---- every allocating call inside lua_pcall ---- */

/*
 * Lua raises on an allocation failure; outside a protected call that is a panic, and the
 * panic aborts the process. So every entry point runs its body through protect(): the
 * body runs in a C function under lua_pcall, and an error it does not catch itself (out
 * of memory) comes back as FL_ENOMEM.
 */
typedef int protected_fn(lua_State *L, void *ud);

struct protected_call {
	protected_fn *fn;
	void *ud;
	int rc;
};

static int trampoline(lua_State *L)
{
	struct protected_call *pc = lua_touserdata(L, 1);
	lua_pop(L, 1);
	pc->rc = pc->fn(L, pc->ud);
	return 0;
}

static int protect(lua_State *L, protected_fn *fn, void *ud)
{
	struct protected_call pc = {fn, ud, 0};
	const int top = lua_gettop(L);
	if (!lua_checkstack(L, 4))
		return FL_ENOMEM;
	lua_pushcfunction(L, trampoline); /* a light C function: no allocation */
	lua_pushlightuserdata(L, &pc);
	const int rc = lua_pcall(L, 1, 0, 0);
	lua_settop(L, top);
	return rc == LUA_OK ? pc.rc : FL_ENOMEM;
}

static int build_state(lua_State *L)
{
	build_base(L);
	build_ctx(L);
	return 0;
}

/* ---- the engine ---- */

int rl_engine_new(const struct rl_limits *lim, struct rl_engine **out, struct fl_err *err)
{
	struct rl_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return fl_err_set(err, FL_ENOMEM, "rules: out of memory");
	if (lim)
		e->lim = *lim;
	else
		rl_limits_default(&e->lim);
	e->stock_ref = LUA_NOREF;
	e->L = lua_newstate(capped_alloc, e);
	if (!e->L) {
		free(e);
		return fl_err_set(err, FL_ENOMEM, "rules: cannot create a Lua state");
	}
	*(struct rl_engine **)lua_getextraspace(e->L) = e;
	lua_pushcfunction(e->L, build_state);
	if (lua_pcall(e->L, 0, 0, 0) != LUA_OK) {
		fl_err_set(err, FL_ENOMEM, "rules: cannot build the sandbox: out of memory");
		rl_engine_free(e);
		return FL_ENOMEM;
	}
	*out = e;
	return 0;
}

void rl_engine_free(struct rl_engine *e)
{
	if (!e)
		return;
	lua_close(e->L);
	free(e);
}

struct nodes_arg {
	const struct rl_node *nodes;
	int n;
};

static int set_nodes_body(lua_State *L, void *ud)
{
	const struct nodes_arg *a = ud;
	const struct rl_node *nodes = a->nodes;
	const int n = a->n;
	if (!lua_checkstack(L, 8))
		return FL_ENOMEM;
	lua_createtable(L, 0, 3);
	lua_createtable(L, 0, n);
	lua_newtable(L); /* stores */
	lua_newtable(L); /* dcs */
	int ns = 0, nd = 0;
	for (int i = 0; i < n; i++) {
		lua_createtable(L, 0, 3);
		lua_pushstring(L, nodes[i].id);
		lua_setfield(L, -2, "id");
		lua_pushstring(L, nodes[i].type);
		lua_setfield(L, -2, "type");
		lua_pushstring(L, nodes[i].region);
		lua_setfield(L, -2, "region");
		freeze(L);
		lua_setfield(L, -4, nodes[i].id);
		if (!strcmp(nodes[i].type, "store")) {
			lua_pushstring(L, nodes[i].id);
			lua_rawseti(L, -3, ++ns);
		} else if (!strcmp(nodes[i].type, "dc")) {
			lua_pushstring(L, nodes[i].id);
			lua_rawseti(L, -2, ++nd);
		}
	}
	freeze(L);
	lua_setfield(L, -4, "dcs");
	freeze(L);
	lua_setfield(L, -3, "stores");
	freeze(L);
	lua_setfield(L, -2, "nodes");
	lua_setfield(L, LUA_REGISTRYINDEX, REG_NODES);
	build_ctx(L);
	return 0;
}

int rl_set_nodes(struct rl_engine *e, const struct rl_node *nodes, int n, struct fl_err *err)
{
	struct nodes_arg a = {nodes, n};
	return protect(e->L, set_nodes_body, &a)
		       ? fl_err_set(err, FL_ENOMEM, "rules: out of memory")
		       : 0;
}

static struct set *find_set(struct rl_engine *e, const char *key)
{
	for (int i = 0; i < e->nsets; i++)
		if (!strcmp(e->sets[i].key, key)) {
			e->sets[i].used = ++e->clock;
			return &e->sets[i];
		}
	return NULL;
}

bool rl_loaded(struct rl_engine *e, const char *key)
{
	return find_set(e, key) != NULL;
}

/* "name:7: message" → 7 and "message". */
static void diag_from(lua_State *L, struct rl_diag *d, int fallback_line)
{
	/* lua_tostring would convert a number in place: an allocation */
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	d->line = fallback_line;
	if (!msg) {
		snprintf(d->message, sizeof(d->message), "error object is not a string");
		return;
	}
	const char *c = strchr(msg, ':');
	if (c && c[1] >= '0' && c[1] <= '9') {
		d->line = (int)strtol(c + 1, NULL, 10);
		const char *m = strchr(c + 1, ':');
		msg = m ? m + 1 + (m[1] == ' ') : msg;
	}
	snprintf(d->message, sizeof(d->message), "%s", msg);
}

struct load_arg {
	struct rl_engine *e;
	const char *key, *set_name, *src;
	size_t len;
	struct rl_diag *diag;
};

/* Compile and run the chunk in an environment of its own; check and cache the set. */
static int load_body(lua_State *L, void *ud)
{
	const struct load_arg *a = ud;
	struct rl_engine *e = a->e;
	char chunk[RL_NAME_MAX + 2];
	snprintf(chunk, sizeof(chunk), "=%s", a->set_name);
	arm(e);
	/* text only: a bytecode chunk is refused by the "t" mode */
	int rc = luaL_loadbufferx(L, a->src, a->len, chunk, "t");
	if (rc == LUA_OK) {
		lua_newtable(L); /* the set's environment, reading the frozen base */
		lua_createtable(L, 0, 2);
		lua_getfield(L, LUA_REGISTRYINDEX, REG_BASE);
		lua_setfield(L, -2, "__index");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
		lua_setmetatable(L, -2);
		lua_pushvalue(L, -1);
		lua_setupvalue(L, -3, 1); /* _ENV */
		lua_insert(L, -2);
		rc = lua_pcall(L, 0, 0, 0);
	}
	disarm(e);
	if (rc != LUA_OK) {
		diag_from(L, a->diag, 0);
		lua_gc(L, LUA_GCCOLLECT);
		return FL_EINVAL;
	}
	/* it must define at least one rule: rules = {…} or a hook as a global */
	bool any = rawfield(L, -1, "rules") == LUA_TTABLE && lua_rawlen(L, -1) > 0;
	lua_pop(L, 1);
	static const char *const hooks[] = {"before_sourcing", "after_sourcing", "on_event"};
	for (int i = 0; i < 3 && !any; i++) {
		any = rawfield(L, -1, hooks[i]) == LUA_TFUNCTION;
		lua_pop(L, 1);
	}
	if (!any) {
		snprintf(a->diag->message, sizeof(a->diag->message),
			 "defines no rule (a `rules` table or a before_sourcing, after_sourcing or "
			 "on_event function)");
		return FL_EINVAL;
	}
	struct set *s = find_set(e, a->key);
	bool fresh = false;
	if (!s) {
		if (e->nsets < RL_SETS_CACHED) {
			s = &e->sets[e->nsets];
			s->env_ref = LUA_NOREF;
			fresh = true;
		} else { /* the least recently used goes */
			s = &e->sets[0];
			for (int i = 1; i < e->nsets; i++)
				if (e->sets[i].used < s->used)
					s = &e->sets[i];
		}
	}
	/* the reference first (it may fail): the slot changes only once it is had */
	const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
	luaL_unref(L, LUA_REGISTRYINDEX, s->env_ref);
	snprintf(s->key, sizeof(s->key), "%s", a->key);
	snprintf(s->name, sizeof(s->name), "%s", a->set_name);
	s->env_ref = ref;
	s->used = ++e->clock;
	e->nsets += fresh;
	return 0;
}

int rl_load(struct rl_engine *e, const char *key, const char *set_name, const char *src, size_t len,
	    struct rl_diag *diag)
{
	memset(diag, 0, sizeof(*diag));
	if (len > RL_SOURCE_MAX) {
		snprintf(diag->message, sizeof(diag->message), "longer than %d bytes",
			 RL_SOURCE_MAX);
		return FL_EINVAL;
	}
	if (strlen(key) >= sizeof(e->sets[0].key) || strlen(set_name) >= RL_NAME_MAX) {
		snprintf(diag->message, sizeof(diag->message), "name too long");
		return FL_EINVAL;
	}
	struct load_arg a = {e, key, set_name, src, len, diag};
	const int rc = protect(e->L, load_body, &a);
	if (rc == FL_ENOMEM && !diag->message[0])
		snprintf(diag->message, sizeof(diag->message), "not enough memory");
	return rc;
}

/* ---- hooks ---- */

static void push_order(lua_State *L, const struct rl_order *o)
{
	lua_createtable(L, 0, 6);
	lua_pushstring(L, o->order_id ? o->order_id : "");
	lua_setfield(L, -2, "order_id");
	lua_createtable(L, o->nlines, 0);
	for (int i = 0; i < o->nlines; i++) {
		lua_createtable(L, 0, 4);
		lua_pushstring(L, o->lines[i].sku);
		lua_setfield(L, -2, "sku");
		lua_pushinteger(L, o->lines[i].qty);
		lua_setfield(L, -2, "qty");
		lua_pushnumber(L, o->lines[i].weight_kg);
		lua_setfield(L, -2, "weight_kg");
		lua_pushboolean(L, o->lines[i].hazmat);
		lua_setfield(L, -2, "hazmat");
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "lines");
	lua_createtable(L, 0, 2);
	lua_pushnumber(L, o->lat);
	lua_setfield(L, -2, "lat");
	lua_pushnumber(L, o->lon);
	lua_setfield(L, -2, "lon");
	lua_setfield(L, -2, "destination");
	if (o->deliver_within_days >= 0) {
		lua_pushinteger(L, o->deliver_within_days);
		lua_setfield(L, -2, "deliver_within_days");
	}
	lua_pushinteger(L, o->units);
	lua_setfield(L, -2, "units");
}

static void push_decision(lua_State *L, const struct rl_decision *d)
{
	lua_createtable(L, 0, 3);
	lua_pushstring(L, d->status ? d->status : "");
	lua_setfield(L, -2, "status");
	lua_pushnumber(L, d->total);
	lua_setfield(L, -2, "total");
	lua_createtable(L, d->nshipments, 0);
	for (int i = 0; i < d->nshipments; i++) {
		const struct rl_shipment *s = &d->ship[i];
		lua_createtable(L, 0, 5);
		lua_pushstring(L, s->node);
		lua_setfield(L, -2, "node");
		lua_pushstring(L, s->carrier);
		lua_setfield(L, -2, "carrier");
		lua_pushstring(L, s->service);
		lua_setfield(L, -2, "service");
		lua_pushinteger(L, s->units);
		lua_setfield(L, -2, "units");
		lua_pushnumber(L, s->cost);
		lua_setfield(L, -2, "cost");
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "shipments");
}

static void push_event(lua_State *L, const struct rl_event *ev)
{
	lua_createtable(L, 0, 8);
	const char *f[][2] = {{"event_id", ev->event_id}, {"type", ev->type},
			      {"order_id", ev->order_id}, {"decision_id", ev->decision_id},
			      {"node", ev->node},	  {"carrier", ev->carrier},
			      {"service", ev->service}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i][1]) {
			lua_pushstring(L, f[i][1]);
			lua_setfield(L, -2, f[i][0]);
		}
	if (!isnan(ev->delay_days)) {
		lua_pushnumber(L, ev->delay_days);
		lua_setfield(L, -2, "delay_days");
	}
}

enum hook { H_BEFORE, H_AFTER, H_EVENT };
static const char *const hook_names[] = {"before_sourcing", "after_sourcing", "on_event"};
static const unsigned hook_allowed[] = {
	1u << RL_EXCLUDE_NODE | 1u << RL_EXCLUDE_SERVICE | 1u << RL_PENALIZE_NODE |
		1u << RL_REQUIRE_NODE | 1u << RL_SPLIT_PENALTY,
	1u << RL_REJECT | 1u << RL_ANNOTATE,
	1u << RL_REROUTE | 1u << RL_NOTIFY | 1u << RL_DISCOUNT | 1u << RL_HOLD,
};

/* The message handler: an error without a position gets the rule's current line. */
static int add_where(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	lua_Debug ar;
	if (msg && strchr(msg, ':') && strchr(msg, ':')[1] >= '0' && strchr(msg, ':')[1] <= '9')
		return 1;
	for (int level = 1; lua_getstack(L, level, &ar); level++)
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
			lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline,
					msg ? msg : "error object is not a string");
			return 1;
		}
	return 1;
}

/* Call fn (on the stack, with nargs arguments below it pushed after) for one rule. */
static void call_rule(struct rl_engine *e, const char *rule, int nargs, struct rl_effects *out)
{
	lua_State *L = e->L;
	const size_t mark = out->n;
	lua_Debug fn;
	lua_pushvalue(L, -1 - nargs);
	const int defined = lua_getinfo(L, ">S", &fn) ? fn.linedefined : 0;
	snprintf(e->cur_rule, sizeof(e->cur_rule), "%s", rule);
	lua_pushcfunction(L, add_where);
	const int handler = lua_gettop(L) - nargs - 1;
	lua_insert(L, handler);
	arm(e);
	const int rc = lua_pcall(L, nargs, 0, handler);
	disarm(e);
	lua_remove(L, handler);
	if (rc == LUA_OK)
		return;
	struct rl_diag d;
	diag_from(L, &d, defined); /* memory errors bypass the handler: the rule's line */
	lua_pop(L, 1);
	out->n = mark; /* a failed rule has no effects */
	rl_effects_fail(out, e->cur_set->name, rule, d.line,
			rc == LUA_ERRMEM ? "memory limit exceeded" : d.message);
	lua_gc(L, LUA_GCCOLLECT);
}

/* Push the hook's arguments (order / decision / event, then ctx); returns their count. */
static int push_args(struct rl_engine *e, enum hook h, const void *a, const void *b)
{
	lua_State *L = e->L;
	if (h == H_EVENT) {
		push_event(L, a);
	} else {
		push_order(L, a);
		if (h == H_AFTER)
			push_decision(L, b);
	}
	lua_getfield(L, LUA_REGISTRYINDEX, REG_CTX);
	return h == H_AFTER ? 3 : 2;
}

struct hook_arg {
	struct rl_engine *e;
	struct set *s;
	enum hook h;
	const void *a, *b;
	struct rl_effects *out;
};

/* The set's global hook, then each rule's, each in a protected call of its own. */
static int hook_body(lua_State *L, void *ud)
{
	const struct hook_arg *ha = ud;
	struct rl_engine *e = ha->e;
	const struct set *s = ha->s;
	const enum hook h = ha->h;
	if (!lua_checkstack(L, 16))
		return FL_ENOMEM;
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref);
	const int env = lua_gettop(L);
	/* a global hook is one rule named after the set */
	if (rawfield(L, env, hook_names[h]) == LUA_TFUNCTION) {
		const int n = push_args(e, h, ha->a, ha->b);
		call_rule(e, s->name, n, ha->out);
	} else {
		lua_pop(L, 1);
	}
	if (rawfield(L, env, "rules") == LUA_TTABLE) {
		const int rules = lua_gettop(L);
		const lua_Integer nr = lua_rawlen(L, rules);
		for (lua_Integer i = 1; i <= nr; i++) {
			if (lua_rawgeti(L, rules, i) != LUA_TTABLE) {
				lua_pop(L, 1);
				continue;
			}
			char name[RL_NAME_MAX];
			if (rawfield(L, -1, "name") == LUA_TSTRING)
				snprintf(name, sizeof(name), "%s", lua_tostring(L, -1));
			else
				snprintf(name, sizeof(name), "%s#%lld", s->name, (long long)i);
			lua_pop(L, 1);
			if (rawfield(L, -1, hook_names[h]) == LUA_TFUNCTION) {
				const int n = push_args(e, h, ha->a, ha->b);
				call_rule(e, name, n, ha->out);
			} else {
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
	}
	return 0;
}

static int run_hook(struct rl_engine *e, const char *key, enum hook h, const void *a, const void *b,
		    const struct rl_host *host, struct rl_effects *out)
{
	struct set *s = find_set(e, key);
	if (!s)
		return FL_ENOTFOUND;
	e->out = out;
	e->cur_set = s;
	e->allowed = hook_allowed[h];
	e->host = host;
	struct hook_arg ha = {e, s, h, a, b, out};
	const int rc = protect(e->L, hook_body, &ha);
	if (rc == FL_ENOMEM) /* outside any rule: the whole call failed */
		rl_effects_fail(out, s->name, hook_names[h], 0, "out of memory");
	e->out = NULL;
	e->host = NULL;
	return rc;
}

int rl_before_sourcing(struct rl_engine *e, const char *key, const struct rl_order *o,
		       const struct rl_host *h, struct rl_effects *out)
{
	return run_hook(e, key, H_BEFORE, o, NULL, h, out);
}

int rl_after_sourcing(struct rl_engine *e, const char *key, const struct rl_order *o,
		      const struct rl_decision *d, const struct rl_host *h, struct rl_effects *out)
{
	return run_hook(e, key, H_AFTER, o, d, h, out);
}

int rl_on_event(struct rl_engine *e, const char *key, const struct rl_event *ev,
		const struct rl_host *h, struct rl_effects *out)
{
	return run_hook(e, key, H_EVENT, ev, NULL, h, out);
}

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
	if (rawfield(L, idx, "order_id") == LUA_TSTRING)
		o->order_id = lua_tostring(L, -1);
	lua_pop(L, 1); /* the string stays alive: it is a field of the test's table */
	if (rawfield(L, idx, "destination") == LUA_TTABLE) {
		rawfield(L, -1, "lat");
		rawfield(L, -2, "lon");
		o->lat = lua_tonumber(L, -2);
		o->lon = lua_tonumber(L, -1);
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	if (rawfield(L, idx, "deliver_within_days") == LUA_TNUMBER)
		o->deliver_within_days = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	if (rawfield(L, idx, "lines") != LUA_TTABLE) {
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
		rawfield(L, -1, "sku");
		l->sku = lua_tostring(L, -1);
		lua_pop(L, 1);
		rawfield(L, -1, "qty");
		l->qty = (long)lua_tointeger(L, -1);
		lua_pop(L, 1);
		rawfield(L, -1, "weight_kg");
		l->weight_kg = lua_tonumber(L, -1);
		lua_pop(L, 1);
		rawfield(L, -1, "hazmat");
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
	rawfield(L, idx, k);
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
	if (rawfield(L, idx, "excluded") == LUA_TTABLE) {
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
	if (rawfield(L, idx, "penalties") == LUA_TTABLE) {
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
		const int t = rawfield(L, idx, flags[f].key);
		const bool want = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (t == LUA_TBOOLEAN && want != has_effect(fx, flags[f].kind, NULL)) {
			snprintf(msg, cap, "expected %s%s", want ? "" : "no ", flags[f].key);
			return false;
		}
	}
	if (rawfield(L, idx, "notify") == LUA_TTABLE) {
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
	if (rawfield(L, -1, "rules") == LUA_TTABLE)
		rep->rules = (int)lua_rawlen(L, -1);
	lua_pop(L, 1);
	if (rawfield(L, -1, "tests") != LUA_TTABLE) {
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
	if (rawfield(L, tests - 1, "test_nodes") == LUA_TTABLE) {
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
		if (rawfield(L, tt, "stock") == LUA_TTABLE)
			e->stock_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		else
			lua_pop(L, 1);
		struct rl_effects *fx = ta->fx; /* outside this frame: a raise cannot leak it */
		struct rl_line lines[100];
		struct rl_order o;
		int rc = 0;
		if (rawfield(L, tt, "event") == LUA_TTABLE) {
			const int ev = lua_gettop(L);
			rawfield(L, ev, "delay_days");
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
		} else if (rawfield(L, tt, "order") == LUA_TTABLE &&
			   read_order(L, lua_gettop(L), &o, lines, 100)) {
			rc = rl_before_sourcing(e, key, &o, h, fx);
		} else {
			snprintf(t->message, sizeof(t->message), "needs an `order` or an `event`");
			rc = -1;
		}
		if (!rc) {
			if (rawfield(L, tt, "expect") == LUA_TTABLE)
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
	const struct set *s = find_set(e, key);
	memset(rep, 0, sizeof(*rep));
	if (!s)
		return fl_err_set(err, FL_ENOTFOUND, "rules: set %s is not loaded", key);
	struct rl_effects fx = {0};
	struct tests_arg ta = {e, s, key, src, h, rep, &fx};
	const int rc = protect(e->L, tests_body, &ta);
	rl_effects_release(&fx);
	if (e->stock_ref != LUA_NOREF) { /* a failure between a test's ref and its unref */
		luaL_unref(e->L, LUA_REGISTRYINDEX, e->stock_ref);
		e->stock_ref = LUA_NOREF;
	}
	if (rc == FL_EINVAL)
		return fl_err_set(err, FL_EINVAL, "the rule set carries no `tests` table");
	return rc ? fl_err_set(err, rc, "rules: the tests ran out of memory") : 0;
}
