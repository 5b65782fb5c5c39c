#!/bin/sh
# Waves on the demo data set: 100, 500 and 2,000 orders of 1-5 lines drawn from the 300
# most popular SKUs, decided as a wave (time limit 2 s), one by one in sequence with the
# exact single-order solver, and one by one with the greedy baseline.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
FULCRUM_BENCH=${FULCRUM_BENCH:-build/fulcrum-bench}
BENCH_DIR=${BENCH_DIR:-build/bench}
DB="$BENCH_DIR/sourcing.db"
mkdir -p "$BENCH_DIR"
[ -s "$DB" ] || "$FULCRUM" demo --db "$DB" >/dev/null 2>&1
echo
echo "== waves: \$ fulcrum-bench waves --db $DB --sizes 100,500,2000 --time-ms 2000 =="
"$FULCRUM_BENCH" waves --db "$DB" --sizes 100,500,2000 --time-ms 2000
