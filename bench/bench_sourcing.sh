#!/bin/sh
# Sourcing: decisions/s and p50/p99 over HTTP at concurrency 1, 8 and 32 beside /healthz
# on the same server in the same run (wrk), then optimal vs greedy on 10,000 orders.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
FULCRUM_BENCH=${FULCRUM_BENCH:-build/fulcrum-bench}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${BENCH_SECS:-5}
DB="$BENCH_DIR/sourcing.db"
. bench/lib.sh
mkdir -p "$BENCH_DIR"
[ -s "$DB" ] || "$FULCRUM" demo --db "$DB" >/dev/null 2>&1
FULCRUM_TOKEN=$("$FULCRUM" token create --db "$DB" --role orchestrator | awk '{print $NF}')
export FULCRUM_TOKEN
bench_serve "$DB"
trap 'kill $BENCH_PID 2>/dev/null || true' EXIT
echo
echo "== sourcing over HTTP: demo data set, orders of 1-5 lines, no reservation; wrk -d${SECS}s on the same $(nproc)-core machine =="
printf '%-32s %5s %12s %10s %10s\n' route conns 'req/s' p50 p99
for c in 1 8 32; do
	wrk_row "POST /v1/fulfillment/decisions" "$c" -s bench/decide.lua "http://127.0.0.1:$BENCH_PORT"
	wrk_row "GET /healthz" "$c" "http://127.0.0.1:$BENCH_PORT/healthz"
done
kill $BENCH_PID 2>/dev/null
echo
echo "== optimal vs greedy (nearest node with the stock, cheapest service in the promise) =="
echo "\$ fulcrum-bench sourcing --db $DB --orders 10000"
"$FULCRUM_BENCH" sourcing --db "$DB" --orders 10000 2>/dev/null
