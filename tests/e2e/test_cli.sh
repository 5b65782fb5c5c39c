#!/bin/sh
# The command line behaves like the tools people know: `fulcrum help` and every
# `fulcrum CMD --help` print to stdout and exit 0; a bad option prints the usage to
# stderr and exits 2; a failure says what failed on stderr and exits 1; a command that
# reads a store refuses one that does not exist instead of creating it.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$FULCRUM" help >"$dir/out" 2>"$dir/err"
check_eq "help exits 0" "$?" 0
check "help lists the commands on stdout" grep -q "rebalance" "$dir/out"
check "help writes nothing on stderr" [ ! -s "$dir/err" ]

for cmd in import export demo serve token decide wave forecast backtest rebalance rules routes; do
	"$FULCRUM" "$cmd" --help >"$dir/out" 2>"$dir/err"
	check_eq "$cmd --help exits 0" "$?" 0
	check "$cmd --help prints its usage on stdout" grep -q "^usage: fulcrum $cmd" "$dir/out"
	check "$cmd --help writes nothing on stderr" [ ! -s "$dir/err" ]
	"$FULCRUM" "$cmd" --no-such-option >"$dir/out" 2>"$dir/err"
	check_eq "$cmd with an unknown option exits 2" "$?" 2
	check "$cmd with an unknown option prints the usage on stderr" \
		grep -q "usage: fulcrum $cmd" "$dir/err"
	check "$cmd with an unknown option writes nothing on stdout" [ ! -s "$dir/out" ]
done
"$FULCRUM" help rules >"$dir/out" 2>&1
check_eq "help CMD exits 0" "$?" 0
check "help CMD is CMD --help" grep -q "^usage: fulcrum rules" "$dir/out"
"$FULCRUM" rules check --help >"$dir/out" 2>&1
check_eq "rules check --help exits 0" "$?" 0
check "rules check --help is the usage, not a file" grep -q "^usage: fulcrum rules" "$dir/out"

# a store that does not exist is refused, not created
printf '{"order_id":"A","destination":{"lat":40,"lon":-74},"lines":[{"sku":"S","qty":1}]}' \
	>"$dir/order.json"
for args in "decide $dir/order.json --db $dir/missing.db" "wave $dir/order.json --db $dir/missing.db" \
	"export $dir/x --db $dir/missing.db" "rules list --db $dir/missing.db" \
	"token list --db $dir/missing.db" "rebalance --db $dir/missing.db" \
	"forecast --db $dir/missing.db --horizon 7" "serve --db $dir/missing.db --port 0"; do
	# shellcheck disable=SC2086
	"$FULCRUM" $args >"$dir/out" 2>"$dir/err"
	check_eq "${args%% *} on a missing store exits 1" "$?" 1
	check "${args%% *} names the missing store" grep -q "missing.db: no such store" "$dir/err"
	check "${args%% *} does not create it" [ ! -e "$dir/missing.db" ]
done
"$FULCRUM" import "$dir/none" --db "$dir/new.db" >/dev/null 2>&1
check_eq "import of a missing directory exits 1" "$?" 1
"$FULCRUM" decide "$dir/order.json" >"$dir/out" 2>"$dir/err"
check_eq "decide without --db exits 2" "$?" 2
"$FULCRUM" decide "$dir/nope.json" --db "$dir/missing.db" >"$dir/out" 2>"$dir/err"
check_eq "decide with an unreadable file exits 1" "$?" 1
check "the failure names the command" grep -q "^fulcrum: decide: " "$dir/err"
done_testing
