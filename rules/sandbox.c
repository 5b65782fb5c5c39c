/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sandbox: the capped allocator, the instruction and deadline hook, the frozen base
 * environment and the library functions rules may call (bounded versions where the C
 * cost grows with the arguments).
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

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct rl_engine *rl__engine_of(lua_State *L)
{
	return *(struct rl_engine **)lua_getextraspace(L);
}

/*
 * Read a field of a table the rules made, without metamethods: C code outside a rule
 * call must never run rule code (it would run unprotected and without limits).
 */
int rl__rawfield(lua_State *L, int idx, const char *k)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, k);
	return lua_rawget(L, idx);
}

/* ---- limits ---- */

void *rl__capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
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

static void limit_hook(lua_State *L, lua_Debug *ar);

/* Trip the limits: from now on every instruction fails, so pcall cannot absorb it. */
static int trip(lua_State *L, struct rl_engine *e, const char *why)
{
	if (!e->tripped) {
		e->trip_reason = why;
		e->tripped = true;
		lua_sethook(L, limit_hook, LUA_MASKCOUNT, 1);
	}
	return luaL_error(L, "%s", e->trip_reason);
}

static void limit_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct rl_engine *e = rl__engine_of(L);
	if (!e->tripped) {
		e->instr += HOOK_EVERY;
		if (e->instr > e->lim.instructions)
			trip(L, e, "instruction budget exceeded");
		else if (now_ms() > e->deadline)
			trip(L, e, "deadline exceeded");
		return;
	}
	luaL_error(L, "%s", e->trip_reason);
}

/*
 * The library calls whose work happens in C check the deadline before they start: a
 * loop of a few instructions around such a call reaches the hook only every thousand
 * instructions, which could be a thousand bounded calls (5,000 string.rep of 1 MB took
 * 358 ms against a 50 ms deadline).
 */
static void deadline_check(lua_State *L)
{
	struct rl_engine *e = rl__engine_of(L);
	if (e->capped && (e->tripped || now_ms() > e->deadline))
		trip(L, e, "deadline exceeded");
}

/* The milliseconds left before the deadline (checked first); ∞ outside a rule call. */
static double time_left(lua_State *L)
{
	deadline_check(L);
	const struct rl_engine *e = rl__engine_of(L);
	return e->capped ? fmax(0, e->deadline - now_ms()) : INFINITY;
}

void rl__arm(struct rl_engine *e)
{
	e->instr = 0;
	e->tripped = false;
	e->deadline = now_ms() + e->lim.deadline_ms;
	e->capped = true;
	lua_sethook(e->L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

void rl__disarm(struct rl_engine *e)
{
	lua_sethook(e->L, NULL, 0, 0);
	e->tripped = false;
	e->capped = false;
}

/* ---- the sandbox ---- */

static int safe_rep(lua_State *L)
{
	deadline_check(L);
	size_t len, seplen = 0;
	luaL_checklstring(L, 1, &len);
	const lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &seplen);
	if (n > 0 && (double)n * (double)(len + seplen) > RL_REP_MAX)
		return luaL_error(L, "string.rep: the result would exceed %d bytes", RL_REP_MAX);
	if (n <= 0 || len + seplen == 0) { /* Lua's own would loop n times for nothing */
		lua_pushliteral(L, "");
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/*
 * The quantifiers (*, +, -, ?) of a Lua pattern, outside %-escapes and sets: each can
 * make the matcher try every remaining position, so a call's worst case grows as the
 * subject's length to their number, plus one when it is tried at every start.
 */
static int quantifiers(const char *p, size_t n, bool *anchored)
{
	int q = 0;
	*anchored = n && p[0] == '^';
	for (size_t i = *anchored; i < n; i++) {
		if (p[i] == '%') {
			i++; /* %x: one item */
		} else if (p[i] == '[') {
			i += i + 1 < n && p[i + 1] == '^';
			i += i + 1 < n && p[i + 1] == ']'; /* a leading ] is literal */
			while (++i < n && p[i] != ']')
				i += p[i] == '%';
		} else if (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?') {
			q++;
		}
	}
	return q;
}

static int safe_pattern(lua_State *L)
{
	const double left = time_left(L);
	size_t len, plen = 0;
	luaL_checklstring(L, 1, &len);
	if (len > RL_PATTERN_MAX)
		return luaL_error(L, "string patterns: subject longer than %d bytes",
				  RL_PATTERN_MAX);
	const char *pat = luaL_optlstring(L, 2, "", &plen);
	bool anchored;
	const int q = quantifiers(pat, plen, &anchored);
	const double work = pow((double)len + 1, (double)q + (anchored ? 0 : 1));
	const double most = fmin(RL_PATTERN_WORK, left * RL_PATTERN_WORK_PER_MS);
	if (q > 0 && work > most) {
		char msg[192]; /* luaL_error knows neither %zu nor %e */
		snprintf(msg, sizeof(msg),
			 "string patterns: %d quantifiers on %zu bytes could take %.0e steps (at "
			 "most %.0e, %.0f ms before the deadline)",
			 q, len, work, most, fmin(left, 1e9));
		return luaL_error(L, "%s", msg);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/*
 * The table library with a budget checked before the C code runs (that code does not
 * see the instruction hook): concat, unpack and move over at most RL_TABLE_OPS_MAX
 * elements; insert, remove and sort on tables at most that long (their length as the
 * call would see it, __len included).
 */
static lua_Integer opt_int(lua_State *L, int i, lua_Integer dflt)
{
	return lua_isnoneornil(L, i) ? dflt : luaL_checkinteger(L, i);
}

static int safe_table(lua_State *L)
{
	const double left = time_left(L);
	const char *fn = lua_tostring(L, lua_upvalueindex(2));
	double span;
	if (!strcmp(fn, "move")) {
		span = (double)luaL_checkinteger(L, 3) - (double)luaL_checkinteger(L, 2) + 1;
	} else if (!strcmp(fn, "concat") || !strcmp(fn, "unpack")) {
		const int first = !strcmp(fn, "concat") ? 3 : 2;
		const lua_Integer i = opt_int(L, first, 1);
		const lua_Integer j = lua_isnoneornil(L, first + 1)
					      ? luaL_len(L, 1)
					      : luaL_checkinteger(L, first + 1);
		span = (double)j - (double)i + 1;
	} else { /* insert, remove, sort: the work grows with the length */
		span = (double)luaL_len(L, 1);
	}
	if (span > RL_TABLE_OPS_MAX)
		return luaL_error(L, "table.%s: more than %d elements in one call", fn,
				  RL_TABLE_OPS_MAX);
	const bool sort = !strcmp(fn, "sort");
	const double work = sort ? span * log2(span + 1) : span;
	if (work > left * (sort ? RL_SORT_WORK_PER_MS : RL_TABLE_OPS_PER_MS))
		return luaL_error(L, "table.%s: %d elements could not be done in the %d ms left",
				  fn, (int)span, (int)left);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int safe_setmetatable(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_istable(L, 2) && rl__rawfield(L, 2, "__gc") != LUA_TNIL)
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

/*
 * pairs() and # on a proxy see the table behind it, but never hand it out: pairs returns
 * an iterator holding the table as its upvalue (state and control are its keys only).
 * Handing back the table itself let a rule replace ctx's functions for every set.
 */
static int frozen_next(lua_State *L)
{
	lua_settop(L, 2); /* (ignored state, the last key) */
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 2);
	if (lua_next(L, -2))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int frozen_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1)); /* the iterator */
	lua_pushnil(L);
	lua_pushnil(L);
	return 3;
}

static int frozen_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
	return 1;
}

/* Replace the table at the top with a read-only proxy of it. */
void rl__freeze(lua_State *L)
{
	lua_newtable(L);	  /* proxy */
	lua_createtable(L, 0, 6); /* its metatable */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, frozen_write);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, -3);
	lua_pushcclosure(L, frozen_next, 1);
	lua_pushcclosure(L, frozen_pairs, 1);
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

int rl__build_base(lua_State *L)
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
	rl__freeze(L);
	lua_setfield(L, -3, "string");
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 3);

	copy_lib(L, LUA_TABLIBNAME, table_ok);
	for (const char *const *n = table_ok; *n; n++) {
		if (!strcmp(*n, "pack"))
			continue; /* pack takes what is already on the stack */
		lua_getfield(L, -1, *n);
		lua_pushstring(L, *n);
		lua_pushcclosure(L, safe_table, 2);
		lua_setfield(L, -2, *n);
	}
	rl__freeze(L);
	lua_setfield(L, -2, "table");
	copy_lib(L, LUA_MATHLIBNAME, math_ok);
	rl__freeze(L);
	lua_setfield(L, -2, "math");
	lua_getfield(L, -1, "table");
	lua_getfield(L, -1, "unpack");
	lua_setfield(L, -3, "unpack");
	lua_pop(L, 1);

	rl__freeze(L);
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
