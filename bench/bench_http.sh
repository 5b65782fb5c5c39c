#!/bin/sh
# HTTP throughput and latency with wrk: /healthz and GET /v1/nodes at concurrency
# 1, 8 and 64 against `fulcrum serve` on the demo data set, on this machine.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${BENCH_SECS:-5}
DB="$BENCH_DIR/http.db"
. bench/lib.sh
mkdir -p "$BENCH_DIR"
[ -s "$DB" ] || "$FULCRUM" demo --db "$DB" >/dev/null 2>&1
TOKEN=$("$FULCRUM" token create --db "$DB" --role planner | awk '{print $NF}')
bench_serve "$DB"
trap 'kill $BENCH_PID 2>/dev/null || true' EXIT
echo
echo "== HTTP: wrk -d${SECS}s --latency; fulcrum serve (threads: ${FULCRUM_THREADS:-one per core}) and wrk share this $(nproc)-core machine =="
printf '%-32s %5s %12s %10s %10s\n' route conns 'req/s' p50 p99
for route in /healthz /v1/nodes; do
	for c in 1 8 64; do
		wrk_row "GET $route" "$c" -H "Authorization: Bearer $TOKEN" \
			"http://127.0.0.1:$BENCH_PORT$route"
	done
done
