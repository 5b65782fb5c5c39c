/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine.c — the Lua engine: states built and freed, rule sets loaded into environments of
 * their own, hooks called one rule at a time, every allocating call inside lua_pcall.
 * rules.h says what the sandbox allows; rules/ is the only module that touches Lua.
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

/* ---- every allocating call inside lua_pcall ---- */

/*
 * Lua raises on an allocation failure; outside a protected call that is a panic, and the
 * panic aborts the process. So every entry point runs its body through rl__protect(): the
 * body runs in a C function under lua_pcall, and an error it does not catch itself (out
 * of memory) comes back as FL_ENOMEM.
 */
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

int rl__protect(lua_State *L, protected_fn *fn, void *ud)
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
	rl__build_base(L);
	rl__build_ctx(L);
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
	e->L = lua_newstate(rl__capped_alloc, e);
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
		rl__freeze(L);
		lua_setfield(L, -4, nodes[i].id);
		if (!strcmp(nodes[i].type, "store")) {
			lua_pushstring(L, nodes[i].id);
			lua_rawseti(L, -3, ++ns);
		} else if (!strcmp(nodes[i].type, "dc")) {
			lua_pushstring(L, nodes[i].id);
			lua_rawseti(L, -2, ++nd);
		}
	}
	rl__freeze(L);
	lua_setfield(L, -4, "dcs");
	rl__freeze(L);
	lua_setfield(L, -3, "stores");
	rl__freeze(L);
	lua_setfield(L, -2, "nodes");
	lua_setfield(L, LUA_REGISTRYINDEX, REG_NODES);
	rl__build_ctx(L);
	return 0;
}

int rl_set_nodes(struct rl_engine *e, const struct rl_node *nodes, int n, struct fl_err *err)
{
	struct nodes_arg a = {nodes, n};
	return rl__protect(e->L, set_nodes_body, &a)
		       ? fl_err_set(err, FL_ENOMEM, "rules: out of memory")
		       : 0;
}

struct set *rl__find_set(struct rl_engine *e, const char *key)
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
	return rl__find_set(e, key) != NULL;
}

/* What a memory error of the last call means. */
static const char *memory_reason(const struct rl_engine *e)
{
	if (e->last_trip) /* an allocation refused past the deadline */
		return e->last_trip;
	if (e->too_big)
		return "memory: a block larger than the time left before the deadline can fill";
	return "memory limit exceeded";
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
	if (!strcmp(msg, "not enough memory"))
		msg = memory_reason(rl__engine_of(L));
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
	rl__arm(e);
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
	rl__disarm(e);
	if (rc != LUA_OK) {
		diag_from(L, a->diag, 0);
		lua_gc(L, LUA_GCCOLLECT);
		return FL_EINVAL;
	}
	/* it must define at least one rule: rules = {…} or a hook as a global */
	bool any = rl__rawfield(L, -1, "rules") == LUA_TTABLE && lua_rawlen(L, -1) > 0;
	lua_pop(L, 1);
	static const char *const hooks[] = {"before_sourcing", "after_sourcing", "on_event"};
	for (int i = 0; i < 3 && !any; i++) {
		any = rl__rawfield(L, -1, hooks[i]) == LUA_TFUNCTION;
		lua_pop(L, 1);
	}
	if (!any) {
		snprintf(a->diag->message, sizeof(a->diag->message),
			 "defines no rule (a `rules` table or a before_sourcing, after_sourcing or "
			 "on_event function)");
		return FL_EINVAL;
	}
	struct set *s = rl__find_set(e, a->key);
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
	const int rc = rl__protect(e->L, load_body, &a);
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
	/* event.data mirrors the posted event's data; event.delay_days stays an alias */
	lua_createtable(L, 0, 1);
	if (!isnan(ev->delay_days)) { /* 3, not 3.0, when the event said 3 */
		const double dd = ev->delay_days;
		for (int i = 0; i < 2; i++) {
			if (dd == floor(dd) && fabs(dd) < 1e15)
				lua_pushinteger(L, (lua_Integer)dd);
			else
				lua_pushnumber(L, dd);
			lua_setfield(L, i ? -3 : -2, "delay_days");
		}
	}
	lua_setfield(L, -2, "data");
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
	rl__arm(e);
	const int rc = lua_pcall(L, nargs, 0, handler);
	rl__disarm(e);
	lua_remove(L, handler);
	if (rc == LUA_OK)
		return;
	struct rl_diag d;
	diag_from(L, &d, defined); /* memory errors bypass the handler: the rule's line */
	lua_pop(L, 1);
	out->n = mark; /* a failed rule has no effects */
	rl_effects_fail(out, e->cur_set->name, rule, d.line,
			rc == LUA_ERRMEM ? memory_reason(e) : d.message);
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
	if (rl__rawfield(L, env, hook_names[h]) == LUA_TFUNCTION) {
		const int n = push_args(e, h, ha->a, ha->b);
		call_rule(e, s->name, n, ha->out);
	} else {
		lua_pop(L, 1);
	}
	if (rl__rawfield(L, env, "rules") == LUA_TTABLE) {
		const int rules = lua_gettop(L);
		const lua_Integer nr = lua_rawlen(L, rules);
		for (lua_Integer i = 1; i <= nr; i++) {
			if (lua_rawgeti(L, rules, i) != LUA_TTABLE) {
				lua_pop(L, 1);
				continue;
			}
			char name[RL_NAME_MAX];
			if (rl__rawfield(L, -1, "name") == LUA_TSTRING)
				snprintf(name, sizeof(name), "%s", lua_tostring(L, -1));
			else
				snprintf(name, sizeof(name), "%s#%lld", s->name, (long long)i);
			lua_pop(L, 1);
			if (rl__rawfield(L, -1, hook_names[h]) == LUA_TFUNCTION) {
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
	struct set *s = rl__find_set(e, key);
	if (!s)
		return FL_ENOTFOUND;
	e->out = out;
	e->cur_set = s;
	e->allowed = hook_allowed[h];
	e->host = host;
	struct hook_arg ha = {e, s, h, a, b, out};
	const int rc = rl__protect(e->L, hook_body, &ha);
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
