#!/bin/sh
# HTTP throughput and latency with wrk: /healthz and GET /v1/nodes at concurrency
# 1, 8 and 64 against `fulcrum serve` on the demo data set, on this machine.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${BENCH_SECS:-5}
DB="$BENCH_DIR/http.db"
mkdir -p "$BENCH_DIR"
[ -s "$DB" ] || "$FULCRUM" demo --db "$DB" >/dev/null 2>&1
TOKEN=$("$FULCRUM" token create --db "$DB" --role planner | awk '{print $NF}')
out=$(mktemp)
FULCRUM_ACCESS_LOG=off "$FULCRUM" serve --db "$DB" --port 0 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for i in $(seq 1 100); do
	port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
	[ -n "$port" ] && break
	sleep 0.05
done
echo
echo "== HTTP: wrk -d${SECS}s --latency; fulcrum serve (threads: ${FULCRUM_THREADS:-one per core}) and wrk share this $(nproc)-core machine =="
printf '%-12s %5s %12s %10s %10s\n' route conns 'req/s' p50 p99
for route in /healthz /v1/nodes; do
	for c in 1 8 64; do
		t=$((c < 2 ? 1 : 2))
		wrk -t"$t" -c"$c" -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" \
			"http://127.0.0.1:$port$route" >"$out.wrk" 2>&1
		rps=$(awk '/^Requests\/sec/ {print $2}' "$out.wrk")
		p50=$(awk '$1 == "50%" {print $2}' "$out.wrk")
		p99=$(awk '$1 == "99%" {print $2}' "$out.wrk")
		errs=$(awk '/Non-2xx/ {print " non-2xx: " $NF}' "$out.wrk")
		printf '%-12s %5s %12s %10s %10s%s\n' "$route" "$c" "$rps" "$p50" "$p99" "$errs"
	done
done
rm -f "$out.wrk"
