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
	echo "== forecast backtest: car parts, 2,509 monthly intermittent series, last 6 months held out =="
	echo "   references: RMSSE 0.502 (M5 TSB benchmark), R croston 0.615, SES 0.503; aim: auto <= 0.499 with cov95 in 0.93-0.97"
	echo "\$ fulcrum backtest --input $DATA/carparts/carparts.csv --horizon 6 --methods auto,naive,snaive,ses,ets,theta,dotm,ces,ensemble,croston,tsb,imapa"
	"$FULCRUM" backtest --input "$DATA/carparts/carparts.csv" --horizon 6 \
		--methods auto,naive,snaive,ses,ets,theta,dotm,ces,ensemble,croston,tsb,imapa
	echo
	echo "== forecast backtest: Walmart store x department, 70 daily series, last 28 days held out =="
	echo "   reference: weighted RMSSE 0.812 (R forecast::ets, weekly seasonality), seasonal naive 0.892; R ets 130-380 ms per series; aim: auto <= 0.79"
	echo "\$ fulcrum backtest --input $DATA/m5-store-dept/sales.csv --horizon 28 --weights $DATA/m5-store-dept/weights.csv --methods auto,naive,snaive,smean,ses,ets,arima,theta,dotm,ensemble"
	"$FULCRUM" backtest --input "$DATA/m5-store-dept/sales.csv" --horizon 28 \
		--weights "$DATA/m5-store-dept/weights.csv" --methods auto,naive,snaive,smean,ses,ets,arima,theta,dotm,ensemble
	printf 'date\n2011-12-25\n2012-12-25\n2013-12-25\n2014-12-25\n2015-12-25\n' >"$BENCH_DIR/christmas.csv"
	echo "   the same with the stores' Christmas Days as closed days:"
	echo "\$ fulcrum backtest --input $DATA/m5-store-dept/sales.csv --horizon 28 --weights $DATA/m5-store-dept/weights.csv --methods auto,ets --closed $BENCH_DIR/christmas.csv"
	"$FULCRUM" backtest --input "$DATA/m5-store-dept/sales.csv" --horizon 28 \
		--weights "$DATA/m5-store-dept/weights.csv" --methods auto,ets --closed "$BENCH_DIR/christmas.csv"
	# the payday regressor: the SNAP benefit days of each state (series ids begin with it),
	# California the 1st to 10th, Texas and Wisconsin as the M5 calendar lists them; and
	# Christmas closed for every store
	cal="$BENCH_DIR/m5-calendar.csv"
	{
		echo "date,node,closed,payday"
		seq 0 2000 | sed 's/.*/2011-01-01 + & days/' | date -f - +%F | awk -F- '
			{ d = $3 + 0
			  if ($2 == "12" && d == 25) print $0 ",,1,0"
			  if (d <= 10) print $0 ",CA_,0,1"
			  if (d == 1 || d == 3 || d == 5 || d == 6 || d == 7 || d == 9 || d == 11 || d == 12 || d == 15) print $0 ",TX_,0,1"
			  if (d == 2 || d == 3 || d == 5 || d == 6 || d == 8 || d == 9 || d == 11 || d == 12 || d == 14 || d == 15) print $0 ",WI_,0,1" }'
	} >"$cal"
	echo "   the same with a calendar: Christmas closed, and each state's SNAP days as paydays:"
	echo "\$ fulcrum backtest --input $DATA/m5-store-dept/sales.csv --horizon 28 --weights $DATA/m5-store-dept/weights.csv --methods auto,naive,snaive,smean,ets,theta,dotm,ensemble --calendar $cal"
	"$FULCRUM" backtest --input "$DATA/m5-store-dept/sales.csv" --horizon 28 \
		--weights "$DATA/m5-store-dept/weights.csv" --methods auto,naive,snaive,smean,ets,theta,dotm,ensemble --calendar "$cal"
	echo
	echo "== forecast backtest: M1 competition, 617 monthly series, the 18 months of test.csv held out =="
	echo "   references: sMAPE R thetaf 16.53, R ets 14.97"
	echo "\$ fulcrum backtest --input $DATA/m1-monthly/train.csv --test $DATA/m1-monthly/test.csv --horizon 18 --methods auto,naive,snaive,ses,ets,arima,theta,dotm,ces,ensemble,comb"
	"$FULCRUM" backtest --input "$DATA/m1-monthly/train.csv" --test "$DATA/m1-monthly/test.csv" \
		--horizon 18 --methods auto,naive,snaive,ses,ets,arima,theta,dotm,ces,ensemble,comb
	echo
	echo "== speed against R's ets in the same run: 200 M1 monthly series (h 18), the 70 Walmart daily series (h 28), one core =="
	if command -v Rscript >/dev/null && Rscript -e 'library(forecast)' >/dev/null 2>&1; then
		m1="$BENCH_DIR/m1-200.csv"
		awk -F, 'NR == 1 {print; next} {if (!($1 in s)) {s[$1] = 1; k++} if (k <= 200) print}' \
			"$DATA/m1-monthly/train.csv" >"$m1"
		for run in "$m1 12 18" "$DATA/m5-store-dept/sales.csv 7 28"; do
			set -- $run
			echo "\$ Rscript bench/r_ets.R $1 $2 $3; fulcrum forecast --input $1 --horizon $3 --threads 1"
			r=$(Rscript "$(dirname "$0")/r_ets.R" "$1" "$2" "$3")
			f=$("$FULCRUM" forecast --input "$1" --horizon "$3" --threads 1 --output /dev/null 2>&1 | tail -1)
			echo "$r"
			echo "$f"
			ms=$(echo "$r" | sed -n 's/.*(\([0-9.]*\) ms per series).*/\1/p')
			rate=$(echo "$f" | sed -n 's/.*(\([0-9.]*\) series\/s.*/\1/p')
			awk -v ms="$ms" -v rate="$rate" 'BEGIN {if (ms > 0 && rate > 0) printf "   fulcrum auto is %.0fx faster per series\n", ms * rate / 1000}'
		done
	else
		echo "(skipped: Rscript with the forecast package not found; make bench installs r-cran-forecast)"
	fi
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
