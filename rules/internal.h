/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * internal.h — what the files of the rule engine share (rules/engine.c, sandbox.c, ctx.c, selftest.c): the engine's state,
 * the registry keys, the sandbox's and ctx's builders, protected calls. Private to
 * rules/; its names carry rl__.
 */
#ifndef FULCRUM_RULES_INTERNAL_H
#define FULCRUM_RULES_INTERNAL_H

#include <lua.h>
#include <stdbool.h>

#include "rules.h"

/* instructions between limit checks: one instruction can be a pass over a long string
 * (an == or < of two 5 MB strings, about 0.3 ms), so a hundred of them is at most ~30 ms
 * past the deadline (a thousand made a loop of == end 15 % late at 4 MiB) */
#define HOOK_EVERY 100
#define REG_BASE "fulcrum.base"
#define REG_CTX "fulcrum.ctx"
#define REG_NODES "fulcrum.nodes"
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
	const char *last_trip; /* the limit the last call tripped, if any (after disarm) */
	bool too_big;	       /* it was refused a block the time left could not fill */
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

/* A body run under lua_pcall by rl__protect: 0 or FL_E*; a raise comes back FL_ENOMEM. */
typedef int protected_fn(lua_State *L, void *ud);

/* engine.c */
struct set *rl__find_set(struct rl_engine *e, const char *key);
int rl__protect(lua_State *L, protected_fn *fn, void *ud);

/* sandbox.c */
void rl__arm(struct rl_engine *e);
int rl__build_base(lua_State *L);
void *rl__capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void rl__disarm(struct rl_engine *e);
struct rl_engine *rl__engine_of(lua_State *L);
void rl__freeze(lua_State *L);
int rl__rawfield(lua_State *L, int idx, const char *k);

/* bounded.c: string.find/match/gmatch/gsub and table.concat/insert/move/remove/sort/unpack,
 * set into the tables at string_lib and table_lib */
void rl__open_bounded(lua_State *L, int string_lib, int table_lib);
/* sandbox.c: called by bounded.c's loops; raises once the rule call is past its deadline */
void rl__tick(lua_State *L);

/* ctx.c */
void rl__build_ctx(lua_State *L);

#endif
