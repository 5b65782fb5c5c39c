#!/bin/bash
# Forecasts end to end: the CLI on the long CSV (a real car-parts slice) and on the
# store's sales history with its cache, the backtest table, bad input with line numbers,
# and GET /v1/forecasts.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
fx="$(dirname "$0")/../fixtures/carparts/slice.csv"

check "forecast --input writes the file" "$FULCRUM" forecast --input "$fx" --horizon 6 --quiet --output "$dir/out.csv"
check_eq "header" "$(head -1 "$dir/out.csv")" "series_id,date,mean,lo,hi,method"
check_eq "20 series × 6 months" "$(tail -n +2 "$dir/out.csv" | wc -l)" 120
check_eq "months follow the history" "$(sed -n 2p "$dir/out.csv" | cut -d, -f2)" "2002-04-01"
# an intermittent item's hi may sit below its mean: P(zero) > 95 % makes the quantile 0
check "0 <= lo <= mean, lo <= hi" awk -F, 'NR>1 && !($4 <= $3 && $4 <= $5 && $4 >= 0) {exit 1}' "$dir/out.csv"
check "same input, same bytes" bash -c "'$FULCRUM' forecast --input '$fx' --horizon 6 --quiet --threads 1 | cmp - '$dir/out.csv'"
check "a method by name" bash -c "'$FULCRUM' forecast --input '$fx' --horizon 3 --method croston --quiet | tail -1 | grep -q ',croston$'"

"$FULCRUM" backtest --input "$fx" --horizon 6 --methods auto,naive,ses,croston >"$dir/bt.txt" 2>&1
check_eq "backtest: a row per method" "$(grep -cE '^(auto|naive|ses|croston) ' "$dir/bt.txt")" 4
check "backtest: scores are numbers" awk '$1=="auto" && $3+0 > 0 && $4+0 > 0 {f=1} END {exit !f}' "$dir/bt.txt"

# closed days (the generic CSV door): a daily series of 10 a day, closed on Christmas
awk 'BEGIN {print "series_id,date,value"; for (d = 1; d <= 31; d++) printf "s,2025-12-%02d,%d\n", d, d == 25 ? 0 : 10;
  for (d = 1; d <= 20; d++) printf "s,2026-01-%02d,10\n", d}' >"$dir/daily.csv"
printf 'date\n2025-12-25\n2026-01-22\n' >"$dir/closed.csv"
check "forecast --closed: 0" "$FULCRUM" forecast --input "$dir/daily.csv" --horizon 4 --method ses --closed "$dir/closed.csv" --quiet --output "$dir/c.csv"
check_eq "a closed day ahead forecasts zero, its interval too" "$(grep ',2026-01-22,' "$dir/c.csv" | cut -d, -f3-5)" "0,0,0"
check "the open days around it forecast the level the closed day did not pull down" \
	awk -F, '$2 == "2026-01-21" || $2 == "2026-01-23" {if ($3 < 9.999 || $3 > 10.001) exit 1; n++} END {exit n != 2}' "$dir/c.csv"
"$FULCRUM" backtest --input "$dir/daily.csv" --horizon 7 --methods ses --closed "$dir/closed.csv" >"$dir/cb.txt" 2>&1
check "backtest --closed runs" grep -q '^ses ' "$dir/cb.txt"
printf 'date\n2025-12-25\nChristmas\n' >"$dir/badc.csv"
"$FULCRUM" forecast --input "$dir/daily.csv" --horizon 2 --closed "$dir/badc.csv" --quiet >/dev/null 2>"$dir/err"
check_eq "a bad closed day: status 1" "$?" 1
check "… naming file and line" grep -q 'badc.csv:3: not a date' "$dir/err"
# the payday regressor: 10 a day, 20 on the 1st to the 3rd of each month, for a year
seq 0 364 | sed 's/.*/2025-01-01 + & days/' | date -f - +%F |
	awk -F- 'BEGIN {print "series_id,date,value"} {print "STORE-1/X," $0 "," ($3 <= 3 ? 20 : 10)}' >"$dir/pay.csv"
{
	echo "date,node,payday"
	seq 0 420 | sed 's/.*/2025-01-01 + & days/' | date -f - +%F | awk -F- '$3 <= 3 {print $0 ",STORE-,1"}'
} >"$dir/paycal.csv"
check "forecast --calendar with paydays" "$FULCRUM" forecast --input "$dir/pay.csv" --horizon 10 --method ses --calendar "$dir/paycal.csv" --quiet --output "$dir/p.csv"
check "the paydays ahead forecast about twice the other days (shrunk: 1 + 36/44)" \
	awk -F, '$2 == "2026-01-02" {p = $3} $2 == "2026-01-05" {q = $3} END {r = p / q; exit !(q > 9.9 && q < 10.1 && r > 1.8 && r < 1.84)}' "$dir/p.csv"
"$FULCRUM" forecast --input "$dir/pay.csv" --horizon 10 --method ses --calendar "$dir/closed.csv" --quiet >/dev/null 2>"$dir/err"
check "a calendar without a flag column is refused, by its header" grep -q "closed.csv:1: the header names date and one of closed, holiday, payday" "$dir/err"
printf 'date,node,payday\n2026-01-01,STORE-,yes\n' >"$dir/badcal.csv"
"$FULCRUM" forecast --input "$dir/pay.csv" --horizon 10 --calendar "$dir/badcal.csv" --quiet >/dev/null 2>"$dir/err"
check "…and a flag that is not 0 or 1, by line" grep -q "badcal.csv:2: payday: must be 0 or 1, not 'yes'" "$dir/err"
{ echo "date,node,payday"; printf '2026-01-01,%s,1\n' "$(head -c 600 /dev/zero | tr '\0' x)"; } >"$dir/longcal.csv"
"$FULCRUM" forecast --input "$dir/pay.csv" --horizon 10 --calendar "$dir/longcal.csv" --quiet >/dev/null 2>"$dir/err"
check "…and a line too long to be one, by line" grep -q "longcal.csv:2: a line longer than 510 bytes" "$dir/err"
# the same through a store: calendar.csv's payday column reaches the batch
mkdir -p "$dir/paystore"
printf 'id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,processing_days,ships_hazmat\nSTORE-1,One,store,40,-74,ne,,1,1,0,0\n' >"$dir/paystore/nodes.csv"
printf 'id,name,weight_kg,hazmat\nX,x,1,0\n' >"$dir/paystore/skus.csv"
awk -F, 'NR == 1 {print "date,node,sku,qty"; next} {split($1, a, "/"); print $2 "," a[1] "," a[2] "," $3}' "$dir/pay.csv" >"$dir/paystore/sales.csv"
awk -F, 'NR == 1 {print "date,node,closed,payday"; next} {print $1 ",STORE-1,0," $3}' "$dir/paycal.csv" >"$dir/paystore/calendar.csv"
check "import a store with paydays" "$FULCRUM" import --db "$dir/pay.db" "$dir/paystore"
"$FULCRUM" forecast --db "$dir/pay.db" --horizon 10 --method ses --quiet --output "$dir/ps.csv" 2>/dev/null
check "the store's batch forecasts the same paydays" \
	awk -F, '$2 == "2026-01-02" {p = $3} $2 == "2026-01-05" {q = $3} END {r = p / q; exit !(r > 1.8 && r < 1.84)}' "$dir/ps.csv"
"$FULCRUM" forecast --db "$dir/none.db" --horizon 2 --closed "$dir/closed.csv" >/dev/null 2>&1
check_eq "--closed with --db is a usage error (the store has its calendar.csv)" "$?" 2

"$FULCRUM" forecast --input "$fx" --horizon 2 --quiet --output /dev/null
check "--output /dev/null writes through the device (never renames over it)" test -c /dev/null

# bad input: a clear error naming file and line, exit status 1, no output file
printf 'series_id,date,value\na,2020-01-01,1\na,2020-01-01,2\n' >"$dir/dup.csv"
"$FULCRUM" forecast --input "$dir/dup.csv" --horizon 2 --output "$dir/x.csv" 2>"$dir/err" >/dev/null
check_eq "duplicate date: exit 1" "$?" 1
check "duplicate date: FILE:LINE" grep -q "dup.csv:3: date: 2020-01-01 repeats" "$dir/err"
check "nothing half-written" test ! -e "$dir/x.csv"
printf 'series_id,date,value\na,2020-01-01,1\na,2020-01-05,2\n' >"$dir/gap.csv"
"$FULCRUM" forecast --input "$dir/gap.csv" --horizon 2 2>"$dir/err" >/dev/null
check "irregular dates: named" grep -q "series 'a': dates: 4 days between the first two" "$dir/err"
"$FULCRUM" forecast --input "$fx" --horizon 0 2>/dev/null
check_eq "horizon 0: usage, exit 2" "$?" 2
"$FULCRUM" forecast --input "$fx" --horizon 731 2>/dev/null
check_eq "horizon beyond the limit: exit 2" "$?" 2

# the store: every (node, SKU), then again from the cache
"$FULCRUM" demo --db "$dir/t.db" --skus 60 --days 200 >/dev/null 2>&1
"$FULCRUM" forecast --db "$dir/t.db" --horizon 14 --output "$dir/a.csv" 2>"$dir/log1"
check "store: a progress/summary line" grep -q "^forecast: [0-9]* series in" "$dir/log1"
"$FULCRUM" forecast --db "$dir/t.db" --horizon 14 --output "$dir/b.csv" 2>"$dir/log2"
n=$(sed -n 's/^forecast: \([0-9]*\) series in.*/\1/p' "$dir/log2")
check_eq "store: the second run comes from the cache" "$(grep -o "$n from the cache" "$dir/log2")" "$n from the cache"
check "store: cached answers are the same" cmp "$dir/a.csv" "$dir/b.csv"
"$FULCRUM" forecast --db "$dir/t.db" --node NOPE --horizon 14 2>"$dir/err" >/dev/null
check "store: unknown node named" grep -q "node 'NOPE' not found" "$dir/err"

# the store's calendar (calendar.csv): the demo closes its stores on Christmas Day
"$FULCRUM" export --db "$dir/t.db" "$dir/exp" >/dev/null
check_eq "the demo imported its calendar: the stores closed on 2026-12-25 (export)" \
	"$(sed 1d "$dir/exp/calendar.csv" | cut -d, -f1,3 | sort -u) $(sed 1d "$dir/exp/calendar.csv" | grep -vc ',ST-')" "2026-12-25,1 0"
"$FULCRUM" forecast --db "$dir/t.db" --horizon 60 --output "$dir/x.csv" 2>/dev/null
check "every store forecasts zero on Christmas Day, its interval too" \
	awk -F, '$1 ~ /^ST-/ && $2 == "2026-12-25" {n++; if ($3 != 0 || $4 != 0 || $5 != 0) bad = 1} END {exit bad || !n}' "$dir/x.csv"
check "the DCs, open, do not" awk -F, '$1 ~ /^DC-/ && $2 == "2026-12-25" && $3 > 0 {f = 1} END {exit !f}' "$dir/x.csv"
dc=$(awk -F, '$1 ~ /^DC-/ && $2 == "2026-11-05" && $3 > 0 {print $1; exit}' "$dir/x.csv")
check "a DC series with demand ahead" test -n "$dc"
mkdir -p "$dir/cal"
printf 'date,node,closed\n2026-11-05,%s,1\n' "${dc%/*}" >"$dir/cal/calendar.csv"
check "import calendar.csv" "$FULCRUM" import --db "$dir/t.db" "$dir/cal"
"$FULCRUM" forecast --db "$dir/t.db" --horizon 60 --output "$dir/y.csv" 2>"$dir/log3"
check_eq "a day closed after the fact: that node forecasts zero on it" "$(grep "^$dc,2026-11-05," "$dir/y.csv" | cut -d, -f3-5)" "0,0,0"
total=$(sed -n 's/^forecast: \([0-9]*\) series in.*/\1/p' "$dir/log3")
mine=$(($(grep -c "^${dc%/*}/" "$dir/x.csv") / 60))
check_eq "…that node's series were forecast again, the others came from the cache" \
	"$(grep -o "[0-9]* from the cache" "$dir/log3")" "$((total - mine)) from the cache"
check "every other node's forecasts are as they were" \
	cmp <(grep -v "^${dc%/*}/" "$dir/x.csv") <(grep -v "^${dc%/*}/" "$dir/y.csv")
check "…and that node's, but for the closed day" \
	cmp <(grep "^${dc%/*}/" "$dir/x.csv" | grep -v ",2026-11-05,") <(grep "^${dc%/*}/" "$dir/y.csv" | grep -v ",2026-11-05,")
printf 'date,node,closed\n2026-11-05,NOPE,1\n' >"$dir/cal/calendar.csv"
"$FULCRUM" import --db "$dir/t.db" "$dir/cal" >/dev/null 2>"$dir/err"
check_eq "a calendar naming an unknown node: refused" "$?" 1
check "…by file, line and field" grep -q "calendar.csv:2: node: unknown node 'NOPE'" "$dir/err"
printf 'date,node,closed\n2026-11-06,,2\n' >"$dir/cal/calendar.csv"
"$FULCRUM" import --db "$dir/t.db" "$dir/cal" >/dev/null 2>"$dir/err"
check "closed must be 0 or 1" grep -q "calendar.csv:2: closed: must be 0 or 1" "$dir/err"

PLAN=$(token "$dir/t.db" planner)
ANALYST=$(token "$dir/t.db" analyst)
start_server "$dir/t.db" --threads 2
P=(-H "Authorization: Bearer $PLAN")
pair=$(sed -n 2p "$dir/a.csv" | cut -d, -f1)
node=${pair%/*}
sku=${pair#*/}
check_eq "GET /v1/forecasts: 200" "$(http GET "/v1/forecasts?node=$node&sku=$sku&horizon=28" "${P[@]}")" 200
check "the contract's fields" jq_like "$BODY_FILE" node sku method points level backtest mase
check_eq "28 points, dated from the day after the history" "$(js 'console.log(d.points.length, d.points[0].date > d.history.last)')" "28 true"
check_eq "intervals: 0 <= lo <= mean, lo <= hi" "$(js 'console.log(d.points.every(p => p.lo <= p.mean && p.lo <= p.hi && p.lo >= 0))')" true
check_eq "the total is the sum of the means" "$(js 'console.log(Math.abs(d.points.reduce((a, p) => a + p.mean, 0) - d.total.mean) < 1e-6)')" true
check_eq "first call computes" "$(js 'console.log(d.cached)')" false
http GET "/v1/forecasts?node=$node&sku=$sku&horizon=28" "${P[@]}" >/dev/null
check_eq "second call is cached" "$(js 'console.log(d.cached)')" true
check_eq "as CSV: 200" "$(http GET "/v1/forecasts?node=$node&sku=$sku&horizon=28" "${P[@]}" -H 'Accept: text/csv')" 200
check_eq "…its header and one row a day" "$(head -1 "$BODY_FILE") $(($(wc -l <"$BODY_FILE") - 1))" "node,sku,date,mean,lo,hi,method 28"
check "…each row the (node, SKU), a date and lo <= mean <= hi" awk -F, -v n="$node" 'NR > 1 && ($1 != n || $3 !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/ || $5 > $4 + 1e-9 || $4 > $6 + 1e-9) {exit 1}' "$BODY_FILE"
check_eq "unknown node: 404" "$(http GET "/v1/forecasts?node=NOPE&sku=$sku" "${P[@]}")" 404
check_eq "horizon 0: 422" "$(http GET "/v1/forecasts?node=$node&sku=$sku&horizon=0" "${P[@]}")" 422
check "the 422 names the field" grep -q horizon "$BODY_FILE"
check_eq "horizon 9999: 422" "$(http GET "/v1/forecasts?node=$node&sku=$sku&horizon=9999" "${P[@]}")" 422
check_eq "bad level: 422" "$(http GET "/v1/forecasts?node=$node&sku=$sku&level=1.5" "${P[@]}")" 422
check_eq "unknown method: 422" "$(http GET "/v1/forecasts?node=$node&sku=$sku&method=prophet" "${P[@]}")" 422
check_eq "missing sku: 422" "$(http GET "/v1/forecasts?node=$node" "${P[@]}")" 422
dcn=${dc%/*}
dcs=${dc#*/}
check_eq "GET /v1/forecasts honours the calendar, and says so on the day" "$(http GET "/v1/forecasts?node=$dcn&sku=$dcs&horizon=14" "${P[@]}"; js 'const p = d.points.find(p => p.date === "2026-11-05"); console.log(p.mean, p.closed, d.points.filter(p => p.closed).length)')" "2000 true 1"
ADMIN=$(token "$dir/t.db" admin)
check_eq "POST /v1/import takes calendar.csv (reopening the day)" \
	"$(http POST /v1/import -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data "{\"calendar.csv\": \"date,node,closed\\n2026-11-05,$dcn,0\\n\"}")" 200
check "…and the forecast sells on it again" test "$(http GET "/v1/forecasts?node=$dcn&sku=$dcs&horizon=14" "${P[@]}"; js 'console.log(d.points.find(p => p.date === "2026-11-05").mean > 0)')" = "200true"
check_eq "analyst may not read forecasts: 403" "$(http GET "/v1/forecasts?node=$node&sku=$sku" -H "Authorization: Bearer $ANALYST")" 403
check_eq "no token: 401" "$(http GET "/v1/forecasts?node=$node&sku=$sku")" 401
stop_server
done_testing
