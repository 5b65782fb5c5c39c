#!/bin/sh
# Rules: decisions/s with the default rule pack active against with no rule set, on the
# same server in the same run (deactivated and reactivated while it serves), then the
# rule-call latency in process.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
FULCRUM_BENCH=${FULCRUM_BENCH:-build/fulcrum-bench}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${BENCH_SECS:-5}
DB="$BENCH_DIR/rules.db"
. bench/lib.sh
mkdir -p "$BENCH_DIR"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
FULCRUM_TOKEN=$("$FULCRUM" token create --db "$DB" --role orchestrator | awk '{print $NF}')
export FULCRUM_TOKEN
bench_serve "$DB"
trap 'kill $BENCH_PID 2>/dev/null || true' EXIT
echo
echo "== rules: decisions/s with the default pack vs no rule set, same server, wrk -c8 -d${SECS}s, alternating =="
printf '%-32s %5s %12s %10s %10s\n' rules conns 'req/s' p50 p99
for round in 1 2; do
	"$FULCRUM" rules activate default 1 --db "$DB" >/dev/null
	wrk_row "default pack (5 rules)" 8 -s bench/decide.lua "http://127.0.0.1:$BENCH_PORT"
	"$FULCRUM" rules activate default 0 --db "$DB" >/dev/null
	wrk_row "no rule set" 8 -s bench/decide.lua "http://127.0.0.1:$BENCH_PORT"
done
kill $BENCH_PID 2>/dev/null
"$FULCRUM" rules activate default 1 --db "$DB" >/dev/null
echo
echo "== rule-call latency in process: \$ fulcrum-bench rules --db $DB --orders 20000 =="
"$FULCRUM_BENCH" rules --db "$DB" --orders 20000
rm -f "$DB" "$DB-wal" "$DB-shm"
