#!/bin/sh
# End to end through the binary: demo → import → export → import → export is a fixed
# point; a bad file is refused with FILE:LINE and exit status 1; usage errors exit 2.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$FULCRUM" demo --csv "$dir/demo" --skus 40 --days 30 >/dev/null 2>&1
check "demo writes CSV files" [ -s "$dir/demo/sales.csv" ]

"$FULCRUM" import "$dir/demo" --db "$dir/a.db" >"$dir/out" 2>&1
check "import exits 0" [ $? -eq 0 ]
check "import reports rows" grep -q "imported .* rows" "$dir/out"

"$FULCRUM" export "$dir/e1" --db "$dir/a.db" >/dev/null 2>&1
"$FULCRUM" import "$dir/e1" --db "$dir/b.db" >/dev/null 2>&1
"$FULCRUM" export "$dir/e2" --db "$dir/b.db" >/dev/null 2>&1
check "export/import/export is a fixed point" diff -r "$dir/e1" "$dir/e2"
check "demo sales round-trip unchanged" cmp "$dir/demo/sales.csv" "$dir/e1/sales.csv"

mkdir -p "$dir/bad"
printf 'node,sku,on_hand,safety_stock\nDC-ATL,SKU-00001,x,0\n' >"$dir/bad/inventory.csv"
"$FULCRUM" import "$dir/bad" --db "$dir/a.db" >"$dir/out" 2>&1
check_eq "bad import exits 1" "$?" 1
check "bad import names FILE:LINE: field" \
	grep -q "inventory.csv:2: on_hand: not an integer" "$dir/out"
"$FULCRUM" export "$dir/e3" --db "$dir/a.db" >/dev/null 2>&1
check "refused import left the store as it was" diff -r "$dir/e1" "$dir/e3"

"$FULCRUM" import >/dev/null 2>&1
check_eq "usage error exits 2" "$?" 2
"$FULCRUM" frobnicate >/dev/null 2>&1
check_eq "unknown command exits 2" "$?" 2
"$FULCRUM" import "$dir/nowhere" --db "$dir/a.db" >"$dir/out" 2>&1
check "missing directory is named" grep -q "is not a directory" "$dir/out"
done_testing
