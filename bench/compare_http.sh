#!/bin/sh
# sh bench/compare_http.sh BEFORE AFTER: the same wrk runs against two fulcrum binaries,
# alternated twice, in one run (machines are noisy: compare the rows of one run). Used to
# measure what the front (http/front.c) costs: build the commit before it into another
# work tree and give both binaries. Not part of `make bench`, which has one binary.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 BEFORE-BINARY AFTER-BINARY" >&2; exit 2; }
SECS=${BENCH_SECS:-5}
BENCH_DIR=${BENCH_DIR:-build/bench}
. bench/lib.sh
mkdir -p "$BENCH_DIR"
DB="$BENCH_DIR/compare.db"
[ -s "$DB" ] || "$2" demo --db "$DB" >/dev/null 2>&1
TOKEN=$("$2" token create --db "$DB" --role admin | awk '{print $NF}')
trap 'kill $BENCH_PID 2>/dev/null || true' EXIT
printf '%-7s %-32s %5s %12s %10s %10s\n' binary route conns 'req/s' p50 p99
for round in 1 2; do
	for which in before after; do
		if [ $which = before ]; then FULCRUM=$1; else FULCRUM=$2; fi
		bench_serve "$DB"
		for c in 1 8 64; do
			printf '%-8s' $which
			wrk_row "GET /v1/nodes" "$c" -H "Authorization: Bearer $TOKEN" \
				"http://127.0.0.1:$BENCH_PORT/v1/nodes"
		done
		printf '%-8s' $which
		FULCRUM_TOKEN=$TOKEN wrk_row "POST decision" 8 -s bench/decide.lua \
			"http://127.0.0.1:$BENCH_PORT/v1/fulfillment/decisions"
		printf '%-8s' $which
		wrk_row "POST decision, no token (401)" 8 -s bench/decide.lua \
			"http://127.0.0.1:$BENCH_PORT/v1/fulfillment/decisions"
		kill $BENCH_PID
		wait $BENCH_PID 2>/dev/null || true
	done
done
