#!/bin/sh
# make bench: benchmarks that print figures (never pass/fail). Each section says the
# command it runs. BENCH_DIR holds generated data between runs (default build/bench).
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
mkdir -p "$BENCH_DIR"

echo "== import throughput: a generated sales.csv of >= 5 million rows =="
if [ ! -s "$BENCH_DIR/import/sales.csv" ]; then
	"$FULCRUM" demo --csv "$BENCH_DIR/import" --skus 11000 2>/dev/null
fi
rows=$(($(wc -l <"$BENCH_DIR/import/sales.csv") - 1))
echo "sales.csv: $rows rows, $(du -m "$BENCH_DIR/import/sales.csv" | cut -f1) MiB"
rm -f "$BENCH_DIR/import.db" "$BENCH_DIR/import.db-wal" "$BENCH_DIR/import.db-shm"
echo "\$ fulcrum import $BENCH_DIR/import --db $BENCH_DIR/import.db"
"$FULCRUM" import "$BENCH_DIR/import" --db "$BENCH_DIR/import.db" 2>/dev/null
echo "re-import of the same files (every row an upsert):"
"$FULCRUM" import "$BENCH_DIR/import" --db "$BENCH_DIR/import.db" 2>/dev/null
echo "memory independence: the same import with a fifth of the sales rows:"
mkdir -p "$BENCH_DIR/import-small"
for f in nodes skus zones rates lanes inventory; do cp "$BENCH_DIR/import/$f.csv" "$BENCH_DIR/import-small/"; done
head -n $((rows / 5 + 1)) "$BENCH_DIR/import/sales.csv" >"$BENCH_DIR/import-small/sales.csv"
rm -f "$BENCH_DIR/small.db"*
"$FULCRUM" import "$BENCH_DIR/import-small" --db "$BENCH_DIR/small.db" 2>/dev/null
rm -f "$BENCH_DIR/small.db"* "$BENCH_DIR/import.db"*

for b in bench/bench_*.sh; do
	[ -f "$b" ] || continue
	sh "$b" || echo "($b failed with status $?)"
done
exit 0
