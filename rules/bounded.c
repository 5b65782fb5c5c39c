/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounded.c — the library functions whose work happens in C, where the count hook cannot
 * see it, written again so that their loops tick: every RL_TICK_EVERY units of work they
 * call rl__tick, which ends the rule call (an error that unwinds to its pcall) once the
 * deadline has passed. That is the watchdog inside C: a rule call ends at its deadline
 * whatever it runs, a loop of instructions (the hook), a library call (the ticks here) or
 * an allocation (the capped allocator), and never later than one tick's work past it.
 *
 * The pattern functions (string.find, match, gmatch, gsub) follow Lua 5.4's semantics and
 * error messages: a backtracking matcher over the same pattern language (classes, sets,
 * captures, position captures, %b, %f, back references, anchors), and a plain find that
 * is linear (memmem). The table functions (concat, insert, move, remove, sort, unpack)
 * follow Lua 5.4's too; sort is a heap sort, so an inconsistent order function cannot
 * send it out of bounds, and equal elements may come out in another order than Lua's
 * (whose order for them is unspecified too).
 */
#include <ctype.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define RL_TICK_EVERY 1024 /* units of work between deadline checks */
#define MAXCAPTURES 32
#define MAXDEPTH 200 /* the matcher's recursion */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define ESC '%'
#define SPECIALS "^$*+?.([%-"

#define uchar(c) ((unsigned char)(c))

/* ---- the work counter ---- */

struct work {
	lua_State *L;
	size_t done, next;
};

static void spend(struct work *w, size_t n)
{
	w->done += n;
	if (w->done >= w->next) {
		w->next = w->done + RL_TICK_EVERY;
		rl__tick(w->L);
	}
}

/* ---- the matcher ---- */

struct ms {
	const char *src_init, *src_end, *p_end;
	lua_State *L;
	int depth, level;
	struct work *w;
	struct {
		const char *init;
		ptrdiff_t len;
	} cap[MAXCAPTURES];
};

static const char *match(struct ms *ms, const char *s, const char *p);

static int check_capture(struct ms *ms, int l)
{
	l -= '1';
	if (l < 0 || l >= ms->level || ms->cap[l].len == CAP_UNFINISHED)
		return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
	return l;
}

static int capture_to_close(struct ms *ms)
{
	for (int level = ms->level - 1; level >= 0; level--)
		if (ms->cap[level].len == CAP_UNFINISHED)
			return level;
	return luaL_error(ms->L, "invalid pattern capture");
}

/* The end of the single-character class at p (an escape, a set or one character). */
static const char *class_end(struct ms *ms, const char *p)
{
	switch (*p++) {
	case ESC:
		if (p == ms->p_end)
			luaL_error(ms->L, "malformed pattern (ends with '%%')");
		return p + 1;
	case '[':
		if (*p == '^')
			p++;
		do { /* the first character is part of the set, even a ']' */
			if (p == ms->p_end)
				luaL_error(ms->L, "malformed pattern (missing ']')");
			if (*(p++) == ESC && p < ms->p_end)
				p++;
		} while (*p != ']');
		return p + 1;
	default: return p;
	}
}

static bool match_class(int c, int cl)
{
	bool res;
	switch (tolower(cl)) {
	case 'a': res = isalpha(c); break;
	case 'c': res = iscntrl(c); break;
	case 'd': res = isdigit(c); break;
	case 'g': res = isgraph(c); break;
	case 'l': res = islower(c); break;
	case 'p': res = ispunct(c); break;
	case 's': res = isspace(c); break;
	case 'u': res = isupper(c); break;
	case 'w': res = isalnum(c); break;
	case 'x': res = isxdigit(c); break;
	default: return cl == c;
	}
	return isupper(cl) ? !res : res;
}

/* c in the set [p … ec], ec at its closing ']'. */
static bool match_set(int c, const char *p, const char *ec)
{
	bool in = true;
	if (*(p + 1) == '^') {
		in = false;
		p++;
	}
	while (++p < ec) {
		if (*p == ESC) {
			p++;
			if (match_class(c, uchar(*p)))
				return in;
		} else if (*(p + 1) == '-' && p + 2 < ec) {
			p += 2;
			if (uchar(*(p - 2)) <= c && c <= uchar(*p))
				return in;
		} else if (uchar(*p) == c) {
			return in;
		}
	}
	return !in;
}

static bool single_match(const struct ms *ms, const char *s, const char *p, const char *ep)
{
	if (s >= ms->src_end)
		return false;
	const int c = uchar(*s);
	switch (*p) {
	case '.': return true;
	case ESC: return match_class(c, uchar(*(p + 1)));
	case '[': return match_set(c, p, ep - 1);
	default: return uchar(*p) == c;
	}
}

static const char *match_balance(struct ms *ms, const char *s, const char *p)
{
	if (p >= ms->p_end - 1)
		luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
	if (s >= ms->src_end || *s != *p)
		return NULL;
	const char open = *p, close = *(p + 1);
	int depth = 1;
	while (++s < ms->src_end) {
		spend(ms->w, 1);
		if (*s == close) {
			if (--depth == 0)
				return s + 1;
		} else if (*s == open) {
			depth++;
		}
	}
	return NULL;
}

static const char *max_expand(struct ms *ms, const char *s, const char *p, const char *ep)
{
	ptrdiff_t i = 0;
	while (single_match(ms, s + i, p, ep)) {
		i++;
		spend(ms->w, 1);
	}
	for (; i >= 0; i--) { /* the longest first, then shorter */
		const char *res = match(ms, s + i, ep + 1);
		if (res)
			return res;
	}
	return NULL;
}

static const char *min_expand(struct ms *ms, const char *s, const char *p, const char *ep)
{
	for (;;) {
		const char *res = match(ms, s, ep + 1);
		if (res)
			return res;
		if (!single_match(ms, s, p, ep))
			return NULL;
		s++;
	}
}

static const char *start_capture(struct ms *ms, const char *s, const char *p, int what)
{
	if (ms->level >= MAXCAPTURES)
		luaL_error(ms->L, "too many captures");
	ms->cap[ms->level].init = s;
	ms->cap[ms->level].len = what;
	ms->level++;
	const char *res = match(ms, s, p);
	if (!res)
		ms->level--;
	return res;
}

static const char *end_capture(struct ms *ms, const char *s, const char *p)
{
	const int l = capture_to_close(ms);
	ms->cap[l].len = s - ms->cap[l].init;
	const char *res = match(ms, s, p);
	if (!res)
		ms->cap[l].len = CAP_UNFINISHED;
	return res;
}

static const char *match_capture(struct ms *ms, const char *s, int l)
{
	l = check_capture(ms, l);
	const size_t len = (size_t)ms->cap[l].len;
	spend(ms->w, len);
	if ((size_t)(ms->src_end - s) >= len && memcmp(ms->cap[l].init, s, len) == 0)
		return s + len;
	return NULL;
}

/* One item that is not a capture, an anchor or an escape with a meaning of its own: a
 * class with its quantifier, if any. */
static const char *match_item(struct ms *ms, const char *s, const char **pp)
{
	const char *p = *pp, *ep = class_end(ms, p);
	if (!single_match(ms, s, p, ep)) {
		if (*ep == '*' || *ep == '?' || *ep == '-') { /* it may match nothing */
			*pp = ep + 1;
			return s;
		}
		*pp = NULL;
		return NULL;
	}
	*pp = NULL; /* done here, unless one plain character matched */
	switch (*ep) {
	case '?': {
		const char *res = match(ms, s + 1, ep + 1);
		if (res)
			return res;
		*pp = ep + 1;
		return s;
	}
	case '+': return max_expand(ms, s + 1, p, ep);
	case '*': return max_expand(ms, s, p, ep);
	case '-': return min_expand(ms, s, p, ep);
	default: *pp = ep; return s + 1;
	}
}

/* An escape: %b, %f, a back reference; *pp NULL when the match is decided. */
static const char *match_escape(struct ms *ms, const char *s, const char **pp)
{
	const char *p = *pp;
	*pp = NULL;
	switch (*(p + 1)) {
	case 'b':
		s = match_balance(ms, s, p + 2);
		if (s)
			*pp = p + 4;
		return s;
	case 'f': {
		p += 2;
		if (*p != '[')
			luaL_error(ms->L, "missing '[' after '%%f' in pattern");
		const char *ep = class_end(ms, p);
		const char prev = s == ms->src_init ? '\0' : *(s - 1);
		const char cur = s < ms->src_end ? *s : '\0';
		if (!match_set(uchar(prev), p, ep - 1) && match_set(uchar(cur), p, ep - 1)) {
			*pp = ep;
			return s;
		}
		return NULL;
	}
	default: /* '0'…'9' */
		s = match_capture(ms, s, uchar(*(p + 1)));
		if (s)
			*pp = p + 2;
		return s;
	}
}

static const char *match(struct ms *ms, const char *s, const char *p)
{
	if (ms->depth-- == 0)
		luaL_error(ms->L, "pattern too complex");
	while (s && p && p != ms->p_end) {
		spend(ms->w, 1);
		switch (*p) {
		case '(':
			s = *(p + 1) == ')' ? start_capture(ms, s, p + 2, CAP_POSITION)
					    : start_capture(ms, s, p + 1, CAP_UNFINISHED);
			p = NULL;
			break;
		case ')':
			s = end_capture(ms, s, p + 1);
			p = NULL;
			break;
		case '$':
			if (p + 1 == ms->p_end) {
				s = s == ms->src_end ? s : NULL;
				p = NULL;
				break;
			}
			s = match_item(ms, s, &p);
			break;
		case ESC:
			if (*(p + 1) == 'b' || *(p + 1) == 'f' || isdigit(uchar(*(p + 1)))) {
				s = match_escape(ms, s, &p);
				break;
			}
			s = match_item(ms, s, &p);
			break;
		default: s = match_item(ms, s, &p); break;
		}
	}
	ms->depth++;
	return s;
}

static void prepare(struct ms *ms, lua_State *L, struct work *w, const char *s, size_t ls,
		    const char *p, size_t lp)
{
	ms->L = L;
	ms->w = w;
	ms->src_init = s;
	ms->src_end = s + ls;
	ms->p_end = p + lp;
	ms->level = 0;
	ms->depth = MAXDEPTH;
}

static void reprepare(struct ms *ms)
{
	ms->level = 0;
	ms->depth = MAXDEPTH;
}

/* ---- captures ---- */

/* Capture i (the whole match s … e when there is none): its length, or CAP_POSITION with
 * the position pushed. */
static ptrdiff_t one_capture(struct ms *ms, int i, const char *s, const char *e, const char **cap)
{
	if (i >= ms->level) {
		if (i != 0)
			luaL_error(ms->L, "invalid capture index %%%d", i + 1);
		*cap = s;
		return e - s;
	}
	const ptrdiff_t len = ms->cap[i].len;
	*cap = ms->cap[i].init;
	if (len == CAP_UNFINISHED)
		luaL_error(ms->L, "unfinished capture");
	else if (len == CAP_POSITION)
		lua_pushinteger(ms->L, (ms->cap[i].init - ms->src_init) + 1);
	return len;
}

static void push_one(struct ms *ms, int i, const char *s, const char *e)
{
	const char *cap;
	const ptrdiff_t len = one_capture(ms, i, s, e, &cap);
	if (len != CAP_POSITION)
		lua_pushlstring(ms->L, cap, (size_t)len);
}

static int push_captures(struct ms *ms, const char *s, const char *e)
{
	const int n = ms->level == 0 && s ? 1 : ms->level;
	luaL_checkstack(ms->L, n, "too many captures");
	for (int i = 0; i < n; i++)
		push_one(ms, i, s, e);
	return n;
}

/* ---- string.find, match, gmatch, gsub ---- */

/* A subject the pattern functions take (at most RL_PATTERN_MAX bytes). */
static const char *subject(lua_State *L, size_t *len)
{
	const char *s = luaL_checklstring(L, 1, len);
	if (*len > RL_PATTERN_MAX)
		luaL_error(L, "string patterns: subject longer than %d bytes", RL_PATTERN_MAX);
	return s;
}

/* A start position as Lua 5.4 reads one: negative from the end, clipped to 1. */
static size_t start_of(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return (size_t)pos;
	if (pos == 0 || pos < -(lua_Integer)len)
		return 1;
	return len + (size_t)pos + 1;
}

static bool no_specials(const char *p, size_t l)
{
	size_t upto = 0;
	do {
		if (strpbrk(p + upto, SPECIALS))
			return false;
		upto += strlen(p + upto) + 1;
	} while (upto <= l);
	return true;
}

static int find_aux(lua_State *L, bool find)
{
	size_t ls, lp;
	const char *s = subject(L, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	const size_t init = start_of(luaL_optinteger(L, 3, 1), ls) - 1;
	struct work w = {L, 0, RL_TICK_EVERY};
	if (init > ls) {
		luaL_pushfail(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
		spend(&w, ls - init); /* memmem is linear */
		const char *at = memmem(s + init, ls - init, p, lp);
		if (at) {
			lua_pushinteger(L, (at - s) + 1);
			lua_pushinteger(L, (lua_Integer)(at - s) + (lua_Integer)lp);
			return 2;
		}
	} else {
		struct ms ms;
		const char *s1 = s + init;
		const bool anchor = *p == '^';
		if (anchor)
			p++, lp--;
		prepare(&ms, L, &w, s, ls, p, lp);
		do {
			reprepare(&ms);
			const char *e = match(&ms, s1, p);
			if (e) {
				if (!find)
					return push_captures(&ms, s1, e);
				lua_pushinteger(L, (s1 - s) + 1);
				lua_pushinteger(L, e - s);
				return push_captures(&ms, NULL, 0) + 2;
			}
		} while (s1++ < ms.src_end && !anchor);
	}
	luaL_pushfail(L);
	return 1;
}

static int str_find(lua_State *L)
{
	return find_aux(L, true);
}

static int str_match(lua_State *L)
{
	return find_aux(L, false);
}

struct gmatch {
	const char *src, *p, *lastmatch;
	struct ms ms;
	struct work w;
};

static int gmatch_next(lua_State *L)
{
	struct gmatch *g = lua_touserdata(L, lua_upvalueindex(3));
	g->ms.L = L;
	g->w = (struct work){L, 0, RL_TICK_EVERY};
	g->ms.w = &g->w;
	for (const char *src = g->src; src <= g->ms.src_end; src++) {
		reprepare(&g->ms);
		const char *e = match(&g->ms, src, g->p);
		if (e && e != g->lastmatch) {
			g->src = g->lastmatch = e;
			return push_captures(&g->ms, src, e);
		}
	}
	return 0;
}

static int str_gmatch(lua_State *L)
{
	size_t ls, lp;
	const char *s = subject(L, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_of(luaL_optinteger(L, 3, 1), ls) - 1;
	lua_settop(L, 2); /* the strings stay alive as the iterator's upvalues */
	struct gmatch *g = lua_newuserdatauv(L, sizeof(*g), 0);
	if (init > ls)
		init = ls + 1;
	prepare(&g->ms, L, &g->w, s, ls, p, lp);
	g->src = s + init;
	g->p = p;
	g->lastmatch = NULL;
	lua_pushcclosure(L, gmatch_next, 3);
	return 1;
}

static void add_string(struct ms *ms, luaL_Buffer *b, const char *s, const char *e)
{
	size_t l;
	lua_State *L = ms->L;
	const char *news = lua_tolstring(L, 3, &l), *p;
	while ((p = memchr(news, ESC, l)) != NULL) {
		luaL_addlstring(b, news, (size_t)(p - news));
		p++;
		if (*p == ESC) {
			luaL_addchar(b, *p);
		} else if (*p == '0') {
			luaL_addlstring(b, s, (size_t)(e - s));
		} else if (isdigit(uchar(*p))) {
			const char *cap;
			const ptrdiff_t len = one_capture(ms, *p - '1', s, e, &cap);
			if (len == CAP_POSITION)
				luaL_addvalue(b);
			else
				luaL_addlstring(b, cap, (size_t)len);
		} else {
			luaL_error(L, "invalid use of '%c' in replacement string", ESC);
		}
		l -= (size_t)(p + 1 - news);
		news = p + 1;
	}
	luaL_addlstring(b, news, l);
	spend(ms->w, (size_t)(e - s) + l);
}

/* The replacement of s … e: true if it changed the text. */
static bool add_value(struct ms *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
	lua_State *L = ms->L;
	if (tr == LUA_TFUNCTION) {
		lua_pushvalue(L, 3);
		lua_call(L, push_captures(ms, s, e), 1);
	} else if (tr == LUA_TTABLE) {
		push_one(ms, 0, s, e);
		lua_gettable(L, 3);
	} else {
		add_string(ms, b, s, e);
		return true;
	}
	if (!lua_toboolean(L, -1)) { /* nil or false: the original text stays */
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s));
		return false;
	}
	if (!lua_isstring(L, -1))
		return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
	luaL_addvalue(b);
	return true;
}

static int str_gsub(lua_State *L)
{
	size_t ls, lp;
	const char *src = subject(L, &ls);
	const char *p = luaL_checklstring(L, 2, &lp), *lastmatch = NULL;
	const int tr = lua_type(L, 3);
	const lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
	const bool anchor = *p == '^';
	lua_Integer n = 0;
	bool changed = false;
	struct ms ms;
	struct work w = {L, 0, RL_TICK_EVERY};
	luaL_Buffer b;
	luaL_argexpected(L,
			 tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
				 tr == LUA_TTABLE,
			 3, "string/function/table");
	luaL_buffinit(L, &b);
	if (anchor)
		p++, lp--;
	prepare(&ms, L, &w, src, ls, p, lp);
	while (n < max_s) {
		reprepare(&ms);
		const char *e = match(&ms, src, p);
		if (e && e != lastmatch) {
			n++;
			changed = add_value(&ms, &b, src, e, tr) || changed;
			src = lastmatch = e;
		} else if (src < ms.src_end) {
			luaL_addchar(&b, *src++);
		} else {
			break;
		}
		if (anchor)
			break;
	}
	if (!changed) {
		lua_pushvalue(L, 1);
	} else {
		luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return 2;
}

/* ---- the table library ---- */

#define TAB_R 1u
#define TAB_W 2u
#define TAB_L 4u

/* arg is a table, or has the metamethods the call needs (looked up raw, as Lua does). */
static bool has_field(lua_State *L, const char *key, int n)
{
	lua_pushstring(L, key);
	return lua_rawget(L, -n) != LUA_TNIL;
}

static void check_table(lua_State *L, int arg, unsigned what)
{
	if (lua_type(L, arg) == LUA_TTABLE)
		return;
	int n = 1;
	if (lua_getmetatable(L, arg) && (!(what & TAB_R) || has_field(L, "__index", ++n)) &&
	    (!(what & TAB_W) || has_field(L, "__newindex", ++n)) &&
	    (!(what & TAB_L) || has_field(L, "__len", ++n))) {
		lua_pop(L, n);
		return;
	}
	luaL_checktype(L, arg, LUA_TTABLE); /* raises the usual error */
}

/* A call over more than RL_TABLE_OPS_MAX elements is refused before it starts. */
static void span_check(lua_State *L, const char *fn, lua_Integer first, lua_Integer last)
{
	if (last >= first && (lua_Unsigned)last - (lua_Unsigned)first >= RL_TABLE_OPS_MAX)
		luaL_error(L, "table.%s: more than %d elements in one call", fn, RL_TABLE_OPS_MAX);
}

static lua_Integer length(lua_State *L, const char *fn, int arg, unsigned what)
{
	check_table(L, arg, what | TAB_L);
	const lua_Integer n = luaL_len(L, arg);
	span_check(L, fn, 1, n);
	return n;
}

static int tab_insert(lua_State *L)
{
	struct work w = {L, 0, RL_TICK_EVERY};
	const lua_Integer e = length(L, "insert", 1, TAB_R | TAB_W) + 1; /* the first empty slot */
	lua_Integer pos;
	switch (lua_gettop(L)) {
	case 2: pos = e; break;
	case 3:
		pos = luaL_checkinteger(L, 2);
		luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2,
			      "position out of bounds");
		for (lua_Integer i = e; i > pos; i--) {
			spend(&w, 1);
			lua_geti(L, 1, i - 1);
			lua_seti(L, 1, i);
		}
		break;
	default: return luaL_error(L, "wrong number of arguments to 'insert'");
	}
	lua_seti(L, 1, pos);
	return 0;
}

static int tab_remove(lua_State *L)
{
	struct work w = {L, 0, RL_TICK_EVERY};
	const lua_Integer size = length(L, "remove", 1, TAB_R | TAB_W);
	lua_Integer pos = luaL_optinteger(L, 2, size);
	if (pos != size)
		luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2,
			      "position out of bounds");
	lua_geti(L, 1, pos);
	for (; pos < size; pos++) {
		spend(&w, 1);
		lua_geti(L, 1, pos + 1);
		lua_seti(L, 1, pos);
	}
	lua_pushnil(L);
	lua_seti(L, 1, pos);
	return 1;
}

static int tab_move(lua_State *L)
{
	struct work w = {L, 0, RL_TICK_EVERY};
	const lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3),
			  t = luaL_checkinteger(L, 4);
	const int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
	check_table(L, 1, TAB_R);
	check_table(L, tt, TAB_W);
	if (e >= f) {
		luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
		const lua_Integer n = e - f + 1;
		luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
		span_check(L, "move", f, e);
		if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
			for (lua_Integer i = 0; i < n; i++) {
				spend(&w, 1);
				lua_geti(L, 1, f + i);
				lua_seti(L, tt, t + i);
			}
		} else {
			for (lua_Integer i = n - 1; i >= 0; i--) {
				spend(&w, 1);
				lua_geti(L, 1, f + i);
				lua_seti(L, tt, t + i);
			}
		}
	}
	lua_pushvalue(L, tt);
	return 1;
}

static int tab_concat(lua_State *L)
{
	struct work w = {L, 0, RL_TICK_EVERY};
	luaL_Buffer b;
	check_table(L, 1, TAB_R | TAB_L);
	lua_Integer last = luaL_len(L, 1);
	size_t lsep;
	const char *sep = luaL_optlstring(L, 2, "", &lsep);
	lua_Integer i = luaL_optinteger(L, 3, 1);
	last = luaL_optinteger(L, 4, last);
	span_check(L, "concat", i, last);
	luaL_buffinit(L, &b);
	for (; i <= last; i++) {
		lua_geti(L, 1, i);
		if (!lua_isstring(L, -1))
			return luaL_error(L, "invalid value (%s) at index %I in table for 'concat'",
					  luaL_typename(L, -1), (LUAI_UACINT)i);
		size_t len;
		lua_tolstring(L, -1, &len);
		luaL_addvalue(&b);
		if (i < last)
			luaL_addlstring(&b, sep, lsep);
		spend(&w, 1 + (len + lsep) / 64);
		if (i == LUA_MAXINTEGER)
			break;
	}
	luaL_pushresult(&b);
	return 1;
}

static int tab_unpack(lua_State *L)
{
	struct work w = {L, 0, RL_TICK_EVERY};
	lua_Integer i = luaL_optinteger(L, 2, 1);
	const lua_Integer e = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
	if (i > e)
		return 0;
	lua_Unsigned n = (lua_Unsigned)e - (lua_Unsigned)i;
	span_check(L, "unpack", i, e);
	if (!lua_checkstack(L, (int)(++n)))
		return luaL_error(L, "too many results to unpack");
	for (; i < e; i++) {
		spend(&w, 1);
		lua_geti(L, 1, i);
	}
	lua_geti(L, 1, e);
	return (int)n;
}

/* a[i] < a[j] by the order function (at index 2) or the < operator; two strings cost a
 * pass over the shorter one. */
static bool sort_less(lua_State *L, struct work *w, lua_Integer i, lua_Integer j)
{
	bool less;
	if (lua_isnil(L, 2)) {
		lua_geti(L, 1, i);
		lua_geti(L, 1, j);
		if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
			const size_t a = lua_rawlen(L, -2), b = lua_rawlen(L, -1);
			spend(w, (a < b ? a : b) / 64);
		}
		less = lua_compare(L, -2, -1, LUA_OPLT);
		lua_pop(L, 2);
		return less;
	}
	lua_pushvalue(L, 2);
	lua_geti(L, 1, i);
	lua_geti(L, 1, j);
	lua_call(L, 2, 1);
	less = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return less;
}

static void sort_swap(lua_State *L, lua_Integer i, lua_Integer j)
{
	lua_geti(L, 1, i);
	lua_geti(L, 1, j);
	lua_seti(L, 1, i);
	lua_seti(L, 1, j);
}

/* Sift a[root] down the heap a[1 … n]. */
static void sift(lua_State *L, struct work *w, lua_Integer root, lua_Integer n)
{
	for (lua_Integer child; (child = 2 * root) <= n; root = child) {
		spend(w, 1);
		if (child < n && sort_less(L, w, child, child + 1))
			child++;
		if (!sort_less(L, w, root, child))
			return;
		sort_swap(L, root, child);
	}
}

static int tab_sort(lua_State *L)
{
	struct work w = {L, 0, RL_TICK_EVERY};
	const lua_Integer n = length(L, "sort", 1, TAB_R | TAB_W);
	if (n > 1) {
		luaL_argcheck(L, n < INT_MAX, 1, "array too big");
		if (!lua_isnoneornil(L, 2))
			luaL_checktype(L, 2, LUA_TFUNCTION);
		lua_settop(L, 2);
		for (lua_Integer i = n / 2; i >= 1; i--)
			sift(L, &w, i, n);
		for (lua_Integer end = n; end > 1; end--) {
			sort_swap(L, 1, end);
			sift(L, &w, 1, end - 1);
		}
	}
	return 0;
}

void rl__open_bounded(lua_State *L, int string_lib, int table_lib)
{
	static const luaL_Reg strings[] = {{"find", str_find},
					   {"match", str_match},
					   {"gmatch", str_gmatch},
					   {"gsub", str_gsub},
					   {NULL, NULL}};
	static const luaL_Reg tables[] = {{"concat", tab_concat},
					  {"insert", tab_insert},
					  {"move", tab_move},
					  {"remove", tab_remove},
					  {"sort", tab_sort},
					  {"unpack", tab_unpack},
					  {NULL, NULL}};
	string_lib = lua_absindex(L, string_lib);
	table_lib = lua_absindex(L, table_lib);
	for (const luaL_Reg *r = strings; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, string_lib, r->name);
	}
	for (const luaL_Reg *r = tables; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, table_lib, r->name);
	}
}
