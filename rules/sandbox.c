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

static void limit_hook(lua_State *L, lua_Debug *ar);

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
	if (e->capped && nsize > osize) {
		if (e->mem - osize + nsize > e->lim.memory)
			return NULL; /* Lua raises "not enough memory" */
		/* the watchdog in every allocation, which most library calls make: the first
		 * one past the deadline fails (the rule fails, with the deadline as its
		 * reason), and from then on every instruction fails, as trip() does; the
		 * allocations that raising needs still succeed */
		const double left = e->deadline - now_ms();
		if (!e->tripped && left < 0) {
			e->trip_reason = "deadline exceeded";
			e->tripped = true;
			lua_sethook(e->L, limit_hook, LUA_MASKCOUNT, 1);
			return NULL;
		}
		if (nsize > RL_ALLOC_SMALL && (double)nsize > left * RL_ALLOC_BYTES_PER_MS) {
			e->too_big = true; /* what fills it could not end by the deadline */
			return NULL;
		}
	}
	void *p = realloc(ptr, nsize);
	if (p)
		e->mem = e->mem - osize + nsize;
	return p;
}

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

void rl__tick(lua_State *L)
{
	if (rl__engine_of(L)) /* a state of the engine's (not a bare one, as in a test) */
		deadline_check(L);
}

void rl__arm(struct rl_engine *e)
{
	e->last_trip = NULL;
	e->too_big = false;
	e->instr = 0;
	e->tripped = false;
	e->deadline = now_ms() + e->lim.deadline_ms;
	e->capped = true;
	lua_sethook(e->L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

void rl__disarm(struct rl_engine *e)
{
	lua_sethook(e->L, NULL, 0, 0);
	e->last_trip = e->tripped ? e->trip_reason : NULL;
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
	static const char *const table_ok[] = {"pack", NULL}; /* the rest: bounded.c */
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
	lua_pop(L, 1);
	copy_lib(L, LUA_TABLIBNAME, table_ok);
	rl__open_bounded(L, -2, -1); /* the patterns and the rest of table */
	lua_insert(L, -2);
	/* methods on strings ("x"):rep(…) go through the same safe table */
	lua_pushvalue(L, -1);
	rl__freeze(L);
	lua_setfield(L, -4, "string");
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 3);

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
