#!/bin/sh
# Planners over HTTP on the demo (issue 16): the first scenario after `make run` starts,
# cold (while the background forecast batch runs: the scenario is a job that waits for
# it) and warm (the batch done); the same scenario with min_transfer_units 5 against the
# unconstrained one (lines, cost, proved gap); the answer's size in bytes.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
. "$(dirname "$0")/lib.sh"
DB="$BENCH_DIR/planner.db"
mkdir -p "$BENCH_DIR"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
T=$("$FULCRUM" token create --db "$DB" --role planner | awk '{print $NF}')
ms() { echo $(($(date +%s%N) / 1000000)); }
jsf() { node -e "const d = JSON.parse(require('fs').readFileSync('$out', 'utf8')); $1"; }
s0=$(ms)
bench_serve "$DB"
trap 'kill $BENCH_PID 2>/dev/null' EXIT
U="http://127.0.0.1:$BENCH_PORT"
H="Authorization: Bearer $T"
J="Content-Type: application/json"
out=$(mktemp)
echo
echo "== planners over HTTP: the demo (48 nodes x 2,000 SKUs, 28,901 series), a 14-day scenario =="
echo "\$ fulcrum serve; then POST /v1/rebalancing/scenarios at once, polled to done"
s=$(ms)
code=$(curl -s -o "$out" -w '%{http_code}' -H "$H" -H "$J" -d '{"name":"first"}' "$U/v1/rebalancing/scenarios")
id=$(jsf 'console.log(d.scenario_id)')
while :; do
	curl -s -o "$out" -H "$H" "$U/v1/rebalancing/scenarios/$id"
	[ "$(jsf 'console.log(d.status)')" = done ] && break
	sleep 0.1
done
e=$(ms)
echo "cold, right after start-up: $code, done $((e - s)) ms after the POST ($((e - s0)) ms after the server started)"
until curl -s -H "$H" "$U/v1/forecasts/status" | grep -q '"state":"ready"'; do sleep 0.2; done
echo "background forecast batch: $(curl -s -H "$H" "$U/v1/forecasts/status" | node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const d=JSON.parse(s);console.log(d.series+' series in '+d.seconds.toFixed(1)+' s')})")"
for body in '{"name":"warm"}' '{"name":"warm","min_transfer_units":5}'; do
	s=$(ms)
	code=$(curl -s -o "$out" -w '%{http_code}' -H "$H" -H "$J" -d "$body" "$U/v1/rebalancing/scenarios")
	e=$(ms)
	jsf "
console.log('$body'.padEnd(42) + ' $code in ' + ($e - $s) + ' ms: ' + d.transfers_total + ' lines, cost ' +
  d.cost.total.toFixed(2) + ', proved gap ' + (100 * d.solver.gap).toFixed(1) + ' % (bound ' +
  d.solver.bound.toFixed(2) + '), fill ' + (100 * d.fill_rate.before).toFixed(1) + ' % -> ' +
  (100 * d.fill_rate.after).toFixed(1) + ' %, answer ' + require('fs').statSync('$out').size + ' bytes');"
done
id=$(jsf 'console.log(d.scenario_id)')
curl -s -o "$out" -H "$H" -H 'Accept: text/csv' "$U/v1/rebalancing/scenarios/$id"
echo "its lines as CSV: $(($(wc -l <"$out") - 1)) lines, $(wc -c <"$out") bytes"
rm -f "$out"
kill "$BENCH_PID" 2>/dev/null
wait "$BENCH_PID" 2>/dev/null || true
rm -f "$DB" "$DB-wal" "$DB-shm"
