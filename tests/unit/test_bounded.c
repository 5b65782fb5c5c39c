/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rules/bounded.c against Lua 5.4's own string and table libraries: the same answers (or
 * the same errors) for tens of thousands of random subjects and patterns through find,
 * match, gmatch and gsub, and for the table functions, in a bare Lua state where both
 * sit side by side. The sandbox then runs the bounded ones; test_rules shows they stop at
 * the deadline.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "helpers.h"
#include "rules/internal.h"

/* The script gets B (the bounded functions) and compares them with string and table; in
 * pieces (C caps a literal's length), read in turn by lua_load. */
static const char *const script[] = {
	"local B, n = ...\n"
	"local seed = 20261201\n"
	"local function rnd(k) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % k + 1 "
	"end\n"
	"local atoms = {'a', 'b', '.', '%a', '%d', '%s', '%W', '[ab]', '[^a]', '[a-c]', '[%a_]',\n"
	"  '[]a]', '%%', '%(', '(', ')', '()', '%b()', '%bab', '%f[%a]', '%f[%A]', '%1', '%2',\n"
	"  '^', '$', 'x', '(a)', '(.-)', '(%d+)', '[', '%', ']', '-', '1', ' '}\n"
	"local quants = {'', '', '', '*', '+', '-', '?'}\n"
	"local chars = {'a', 'b', 'c', '(', ')', ' ', '1', '2', 'x', '_', 'A', '%', '-'}\n"
	"local function pat()\n"
	"  local t = {} for i = 1, rnd(5) do t[#t + 1] = atoms[rnd(#atoms)] .. "
	"quants[rnd(#quants)] end\n"
	"  if rnd(4) == 1 then table.insert(t, 1, '^') end\n"
	"  if rnd(4) == 1 then t[#t + 1] = '$' end\n"
	"  return table.concat(t)\n"
	"end\n"
	"local function subj()\n"
	"  local t = {} for i = 1, rnd(14) - 1 do t[#t + 1] = chars[rnd(#chars)] end\n"
	"  return table.concat(t)\n"
	"end\n"
	"local function pack(ok, ...) return {ok, select('#', ...), ...} end\n"
	"local function msg(e) return (tostring(e):gsub('^[^:]*:%d+: ', '')) end\n"
	"local function same(a, b)\n"
	"  if a[1] ~= b[1] then return false end\n"
	"  if not a[1] then\n"
	"    local x, y = msg(a[3]), msg(b[3])\n"
	"    return x == y or (x:find('bad argument', 1, true) and y:find('bad argument', 1, "
	"true))\n"
	"  end\n"
	"  if a[2] ~= b[2] then return false end\n"
	"  for i = 3, a[2] + 2 do if a[i] ~= b[i] then return false end end\n"
	"  return true\n"
	"end\n"
	"local function all(f, s, p, init)\n"
	"  local out, k = {}, 0\n"
	"  for a, b, c in f(s, p, init) do k = k + 1 out[#out + 1] = tostring(a) .. '|' .. "
	"tostring(b) .. '|' .. tostring(c) if k > 50 then break end end\n"
	"  return table.concat(out, ';')\n"
	"end\n"
	"local inits = {nil, 1, 2, 0, -1, -3, 5, 20}\n"
	"local repls = {'<%0>', '%1-%1', '%%', 'z', {a = 'A', b = false, ['1'] = 7},\n"
	"  function(...) return select('#', ...) .. ':' .. tostring((...)) end, function() return "
	"nil end, 3}\n"
	"local checked, differ = 0, {}\n"
	"local function check(name, a, b, s, p)\n"
	"  checked = checked + 1\n"
	"  if not same(a, b) and #differ < 5 then\n"
	"    differ[#differ + 1] = string.format('%s(%q, %q): lua %s %s, bounded %s %s', name, s, "
	"p,\n"
	"      tostring(a[3]), tostring(a[4]), tostring(b[3]), tostring(b[4]))\n"
	"  end\n"
	"end\n",
	"for i = 1, n do\n"
	"  local s, p, init = subj(), pat(), inits[rnd(8)]\n"
	"  check('find', pack(pcall(string.find, s, p, init)), pack(pcall(B.find, s, p, init)), s, "
	"p)\n"
	"  check('find plain', pack(pcall(string.find, s, p, init, true)), pack(pcall(B.find, s, "
	"p, init, true)), s, p)\n"
	"  check('match', pack(pcall(string.match, s, p, init)), pack(pcall(B.match, s, p, init)), "
	"s, p)\n"
	"  check('gmatch', pack(pcall(all, string.gmatch, s, p, init)), pack(pcall(all, B.gmatch, "
	"s, p, init)), s, p)\n"
	"  local r, max = repls[rnd(#repls)], ({nil, 0, 1, 2})[rnd(4)]\n"
	"  check('gsub', pack(pcall(string.gsub, s, p, r, max)), pack(pcall(B.gsub, s, p, r, "
	"max)), s, p)\n"
	"end\n",
	"-- the table functions, on the same inputs\n"
	"local function run(lib, f)\n"
	"  local t = {5, 3, 9, 1, 7, 2, 8}\n"
	"  local ok, a, b = pcall(f, lib, t)\n"
	"  return ok, a, b, table.concat(t, ',')\n"
	"end\n"
	"local T = {concat = B.concat, insert = B.insert, move = B.move, remove = B.remove, sort = "
	"B.sort, unpack = B.unpack}\n"
	"local tcases = {\n"
	"  function(l, t) return l.concat(t, '-') end, function(l, t) return l.concat(t, '', 2, 4) "
	"end,\n"
	"  function(l, t) return l.concat(t, ',', 5, 3) end, function(l, t) return l.concat({1, "
	"{}, 3}) end,\n"
	"  function(l, t) l.insert(t, 10) end, function(l, t) l.insert(t, 1, 0) end, function(l, "
	"t) l.insert(t, 9, 0) end,\n"
	"  function(l, t) l.insert(t, 8, 0) end, function(l, t) l.insert(t, 1, 2, 3) end,\n"
	"  function(l, t) return l.remove(t) end, function(l, t) return l.remove(t, 1) end, "
	"function(l, t) return l.remove(t, 8) end,\n"
	"  function(l, t) return l.remove(t, 9) end, function(l, t) return l.remove({}) end, "
	"function(l, t) return l.remove({}, 0) end,\n"
	"  function(l, t) l.move(t, 2, 4, 1) end, function(l, t) l.move(t, 1, 3, 3) end, "
	"function(l, t) return #l.move(t, 1, 7, 2, {}) end,\n"
	"  function(l, t) l.move(t, 3, 1, 1) end, function(l, t) return l.unpack(t, 2, 4) end, "
	"function(l, t) return l.unpack(t, 4, 2) end,\n"
	"  function(l, t) return select('#', l.unpack(t)) end, function(l, t) l.sort(t) end,\n"
	"  function(l, t) l.sort(t, function(a, b) return a > b end) end, function(l, t) "
	"l.sort({3, 'x', 1}) end,\n"
	"  function(l, t) l.sort(t, 3) end, function(l, t) l.insert(nil, 1) end,\n"
	"  function(l, t) local p = setmetatable({}, {__index = t, __len = function() return #t "
	"end}) return l.concat(p, '+') end,\n"
	"}\n"
	"for i, f in ipairs(tcases) do\n"
	"  local a = pack(run(table, f))\n"
	"  local b = pack(run(T, f))\n"
	"  check('table case ' .. i, a, b, '', '')\n"
	"end\n"
	"return checked, table.concat(differ, '\\n')\n",
	NULL};

static const char *read_script(lua_State *L, void *ud, size_t *size)
{
	(void)L;
	const char *const **next = ud;
	const char *piece = **next;
	if (!piece)
		return NULL;
	(*next)++;
	*size = strlen(piece);
	return piece;
}

static void test_same_as_lua(void **state)
{
	(void)state;
	lua_State *L = luaL_newstate();
	assert_non_null(L);
	*(void **)lua_getextraspace(L) = NULL; /* no engine: no deadline */
	luaL_openlibs(L);
	const char *const *next = script;
	assert_int_equal(lua_load(L, read_script, &next, "=bounded_check", "t"), LUA_OK);
	lua_newtable(L); /* B: string's four and table's six in one table */
	lua_newtable(L);
	rl__open_bounded(L, -2, -1);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_settable(L, -5);
	}
	lua_pop(L, 1);
	lua_pushinteger(L, 20000);
	if (lua_pcall(L, 2, 2, 0) != LUA_OK)
		fail_msg("the script failed: %s", lua_tostring(L, -1));
	const long checked = (long)lua_tointeger(L, -2);
	const char *differ = lua_tostring(L, -1);
	print_message("%ld calls compared with Lua 5.4's string and table libraries\n", checked);
	if (differ && *differ)
		fail_msg("they differ:\n%s", differ);
	assert_true(checked > 100000);
	lua_close(L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_lua),
	};
	return cmocka_run_group_tests_name("bounded", tests, NULL, NULL);
}
