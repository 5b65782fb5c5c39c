#!/bin/sh
# Rebalancing: the demo scenario end to end (forecast cold, then cached), and generated
# networks of 200 nodes x 20,000 SKUs with and without coupling lanes (capacities and
# fixed costs), each against the greedy baseline (nearest surplus first).
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
FULCRUM_BENCH=${FULCRUM_BENCH:-build/fulcrum-bench}
BENCH_DIR=${BENCH_DIR:-build/bench}
DB="$BENCH_DIR/rebalance.db"
mkdir -p "$BENCH_DIR"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
echo
echo "== rebalancing: the demo data set (48 nodes x 2,000 SKUs, 550 lanes with fixed costs, 418 with capacities), 14 days =="
echo "\$ fulcrum rebalance --db $DB --horizon 14   (first run forecasts every series; the second reads the cache)"
s=$(date +%s%N)
"$FULCRUM" rebalance --db "$DB" --horizon 14 >/dev/null 2>&1
e=$(date +%s%N)
echo "cold (forecast computed): $(((e - s) / 1000000)) ms end to end"
s=$(date +%s%N)
"$FULCRUM" rebalance --db "$DB" --horizon 14 2>/dev/null
e=$(date +%s%N)
echo "warm (forecast cached): $(((e - s) / 1000000)) ms end to end"
rm -f "$DB" "$DB-wal" "$DB-shm"
echo
echo "== rebalancing: generated networks (each node linked to its 12 nearest), $(nproc) cores =="
echo "\$ fulcrum-bench rebalance --nodes 48 --skus 2000 [--coupled]"
"$FULCRUM_BENCH" rebalance --nodes 48 --skus 2000
"$FULCRUM_BENCH" rebalance --nodes 48 --skus 2000 --coupled --time-limit-ms 10000
echo "\$ fulcrum-bench rebalance --nodes 200 --skus 20000 [--coupled --time-limit-ms 60000]"
"$FULCRUM_BENCH" rebalance --nodes 200 --skus 20000
"$FULCRUM_BENCH" rebalance --nodes 200 --skus 20000 --coupled --time-limit-ms 60000
