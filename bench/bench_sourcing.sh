#!/bin/sh
# Sourcing: decisions/s and p50/p99 over HTTP at concurrency 1, 8 and 32 beside /healthz
# on the same server in the same run (wrk), then optimal vs greedy on 10,000 orders.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${BENCH_SECS:-5}
DB="$BENCH_DIR/sourcing.db"
mkdir -p "$BENCH_DIR"
[ -s "$DB" ] || "$FULCRUM" demo --db "$DB" >/dev/null 2>&1
FULCRUM_TOKEN=$("$FULCRUM" token create --db "$DB" --role orchestrator | awk '{print $NF}')
export FULCRUM_TOKEN
out=$(mktemp)
FULCRUM_ACCESS_LOG=off "$FULCRUM" serve --db "$DB" --port 0 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out" "$out.wrk"' EXIT
for i in $(seq 1 100); do
	port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
	[ -n "$port" ] && break
	sleep 0.05
done
echo
echo "== sourcing over HTTP: demo data set, orders of 1-5 lines, no reservation; wrk -d${SECS}s on the same $(nproc)-core machine =="
printf '%-28s %5s %12s %10s %10s\n' route conns 'req/s' p50 p99
for c in 1 8 32; do
	t=$((c < 2 ? 1 : 2))
	for what in decide healthz; do
		if [ "$what" = decide ]; then
			wrk -t"$t" -c"$c" -d"${SECS}s" --latency -s bench/decide.lua \
				"http://127.0.0.1:$port" >"$out.wrk" 2>&1
			label="POST /v1/fulfillment/decisions"
		else
			wrk -t"$t" -c"$c" -d"${SECS}s" --latency "http://127.0.0.1:$port/healthz" \
				>"$out.wrk" 2>&1
			label="GET /healthz"
		fi
		rps=$(awk '/^Requests\/sec/ {print $2}' "$out.wrk")
		p50=$(awk '$1 == "50%" {print $2}' "$out.wrk")
		p99=$(awk '$1 == "99%" {print $2}' "$out.wrk")
		errs=$(awk '/Non-2xx/ {print " non-2xx: " $NF}' "$out.wrk")
		printf '%-28s %5s %12s %10s %10s%s\n' "$label" "$c" "$rps" "$p50" "$p99" "$errs"
	done
done
kill $pid 2>/dev/null
echo
echo "== optimal vs greedy (nearest node with the stock, cheapest service in the promise) =="
echo "\$ fulcrum bench sourcing --db $DB --orders 10000"
"$FULCRUM" bench sourcing --db "$DB" --orders 10000 2>/dev/null
