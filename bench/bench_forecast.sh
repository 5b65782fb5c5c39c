#!/bin/sh
# Forecasts: the backtest tables on the shared real data (../shared/data), and a batch
# forecast of every (node, SKU) of the demo store, cold and then from the cache.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
DATA=${FULCRUM_DATA:-../shared/data}
mkdir -p "$BENCH_DIR"
echo
if [ -s "$DATA/carparts/carparts.csv" ]; then
	echo "== forecast backtest: car parts, 2,509 monthly intermittent series, last 6 months held out, 95 % intervals =="
	echo "   references: RMSSE 0.502 (M5 TSB benchmark), R croston 0.615; 95 % interval score 12.28"
	echo "\$ fulcrum backtest --input $DATA/carparts/carparts.csv --horizon 6 --level 0.95 --methods auto,naive,snaive,ses,ets,croston,tsb,theta,imapa"
	"$FULCRUM" backtest --input "$DATA/carparts/carparts.csv" --horizon 6 --level 0.95 \
		--methods auto,naive,snaive,ses,ets,croston,tsb,theta,imapa
	echo
	echo "== forecast backtest: Walmart store x department, 70 daily series, last 28 days held out =="
	echo "   reference: weighted RMSSE 0.812 (R forecast::ets, weekly seasonality); R ets 130-380 ms per series"
	echo "\$ fulcrum backtest --input $DATA/m5-store-dept/sales.csv --horizon 28 --level 0.95 --weights $DATA/m5-store-dept/weights.csv --methods auto,naive,snaive,ses,ets,croston"
	"$FULCRUM" backtest --input "$DATA/m5-store-dept/sales.csv" --horizon 28 --level 0.95 \
		--weights "$DATA/m5-store-dept/weights.csv" --methods auto,naive,snaive,ses,ets,croston
else
	echo "(forecast backtests skipped: $DATA/carparts/carparts.csv not found; set FULCRUM_DATA)"
fi
echo
DB="$BENCH_DIR/forecast.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
echo "== batch forecast of every (node, SKU) with sales in the demo store, 14 days, on $(nproc) cores =="
echo "\$ fulcrum forecast --db $DB --horizon 14 --output /dev/null   (cold, then again: cached)"
"$FULCRUM" forecast --db "$DB" --horizon 14 --output /dev/null 2>&1 | tail -1
"$FULCRUM" forecast --db "$DB" --horizon 14 --output /dev/null 2>&1 | tail -1
rm -f "$DB" "$DB-wal" "$DB-shm"
