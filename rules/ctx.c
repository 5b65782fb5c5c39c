/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ctx API rules call (exclude_node, reroute, notify, …) and the effects it records.
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
	struct rl_engine *e = rl__engine_of(L);
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

/*
 * A string argument into a fixed field: at most cap − 1 bytes, up to a NUL, cut back to
 * a whole UTF-8 character (a reason cut inside one made the answer's JSON invalid). Only
 * what is kept is read: a 1 MB reason costs what a short one does.
 */
static void copy_arg(lua_State *L, int i, char *dst, size_t cap, bool required)
{
	size_t len;
	const char *s = required ? luaL_checklstring(L, i, &len) : luaL_optlstring(L, i, "", &len);
	size_t n = strnlen(s, len < cap - 1 ? len : cap - 1);
	if (n < len && n < strnlen(s, len)) /* cut: do not end inside a character */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	memcpy(dst, s, n);
	dst[n] = '\0';
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
				/* a number keeps its type: "n" before its text, "s" before a
				 * string's (lua_tostring of a number converts a copy, not the key) */
				const bool num = lua_type(L, -1) == LUA_TNUMBER;
				lua_pushvalue(L, -1);
				const char *k = lua_tostring(L, -3), *v = lua_tostring(L, -1);
				const int w = snprintf(x->fields + at, sizeof(x->fields) - at,
						       "%s\037%c%s\036", k, num ? 'n' : 's', v);
				lua_pop(L, 1);
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
	struct rl_engine *e = rl__engine_of(L);
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

void rl__build_ctx(lua_State *L)
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
	rl__freeze(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_CTX);
}
