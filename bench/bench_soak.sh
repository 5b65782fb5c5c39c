#!/bin/bash
# Soak (issue 15): SOAK_SECS (60) of mixed traffic from 4 clients against one server on
# the demo data set: decisions with and without reserve, events, small waves, forecasts,
# rule pushes and activations, and one hostile rule set active throughout (a rule that
# spins until its deadline). Prints p50/p99 and status counts per route, 5xx count, and
# the server's RSS and open descriptors at start (after a warm-up) and at the end.
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${SOAK_SECS:-60}
DB="$BENCH_DIR/soak.db"
. bench/lib.sh
mkdir -p "$BENCH_DIR"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
TOKEN=$("$FULCRUM" token create --db "$DB" --role admin | awk '{print $NF}')
bench_serve "$DB"
trap 'kill $BENCH_PID 2>/dev/null || true; rm -rf "$work"' EXIT
URL="http://127.0.0.1:$BENCH_PORT"
work=$(mktemp -d)
H=(-s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN")
J=(-H "Content-Type: application/json")
cat >"$work/hostile.lua" <<'LUA'
rules = {{name = "spin", before_sourcing = function(order, ctx) while true do end end}}
tests = {}
LUA
printf 'rules = {{name = "mark", before_sourcing = function(order, ctx) end}}\ntests = {}\n' >"$work/mark.lua"
curl "${H[@]}" -X PUT "$URL/v1/rules/hostile" -H "Content-Type: text/x-lua" --data-binary @"$work/hostile.lua" >/dev/null
curl "${H[@]}" "${J[@]}" -X POST "$URL/v1/rules/hostile/activate" -d '{"version":1}' >/dev/null
stats() { # RSS (KiB) and open descriptors of the server
	echo "$(awk '/VmRSS/ {print $2}' "/proc/$BENCH_PID/status") $(ls "/proc/$BENCH_PID/fd" | wc -l)"
}
client() { # client N: requests until the deadline, one line per request: route status seconds
	local n=$1 i=0 end=$(($(date +%s) + SECS))
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		local lat=$((30 + (i * 7 + n) % 15)) lon=$((-120 + (i * 11 + n) % 45)) sku=$(printf 'SKU-%05d' $((1 + (i * 13 + n) % 2000)))
		local order='{"order_id":"K-'"$n-$i"'","destination":{"lat":'"$lat"',"lon":'"$lon"'},"lines":[{"sku":"'"$sku"'","qty":1}]'
		case $((i % 10)) in
		0 | 1 | 2) echo "decide $(curl "${H[@]}" "${J[@]}" "$URL/v1/fulfillment/decisions" -d "$order}")" ;;
		3 | 4) echo "decide+reserve $(curl "${H[@]}" "${J[@]}" "$URL/v1/fulfillment/decisions" -d "$order,\"reserve\":true}")" ;;
		5) echo "event $(curl "${H[@]}" "${J[@]}" "$URL/v1/events" -d '{"event_id":"ev-'"$n-$i"'","type":"shipment.in_transit","order_id":"K-'"$n-$((i - 1))"'"}')" ;;
		6) echo "wave $(curl "${H[@]}" "${J[@]}" "$URL/v1/fulfillment/waves" -d '{"orders":['"$order"'},{"order_id":"KW-'"$n-$i"'","destination":{"lat":40,"lon":-74},"lines":[{"sku":"SKU-00001","qty":1}]}],"time_limit_ms":300}')" ;;
		7) echo "forecast $(curl "${H[@]}" "$URL/v1/forecasts?node=DC-LAX&sku=$sku&horizon=14")" ;;
		8) echo "rules push $(curl "${H[@]}" -X PUT "$URL/v1/rules/mark$n" -H "Content-Type: text/x-lua" --data-binary @"$work/mark.lua")" ;;
		9) echo "rules activate $(curl "${H[@]}" "${J[@]}" -X POST "$URL/v1/rules/mark$n/activate" -d '{"version":1}')" ;;
		esac
	done >"$work/client$n.txt"
}
# warm-up, then the figures at the start
for i in 1 2 3 4 5 6 7 8 9 10; do curl "${H[@]}" "$URL/healthz" >/dev/null; done
read -r rss0 fd0 <<<"$(stats)"
pids=""
for n in 1 2 3 4; do
	client "$n" &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids # the clients only: the server runs in the background too
read -r rss1 fd1 <<<"$(stats)"
echo
echo "== soak: ${SECS} s, 4 clients, mixed traffic, a hostile rule set active (its rule spins to the 50 ms deadline) =="
printf '%-16s %8s %10s %10s   %s\n' route requests p50 p99 statuses
cat "$work"/client*.txt | awk '{
	route = $1; if ($2 == "push" || $2 == "activate") { route = $1 " " $2; st = $3; t = $4 } else { st = $2; t = $3 }
	n[route]++; lat[route, n[route]] = t; code[route, st]++; codes[st] = 1; if (st >= 500) five++ }
	END {
	for (r in n) {
		m = n[r]; for (i = 1; i <= m; i++) v[i] = lat[r, i]
		for (i = 2; i <= m; i++) { x = v[i]; j = i - 1; while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
		s = ""; for (c in codes) if (code[r, c]) s = s c ":" code[r, c] " "
		k = int(m * 0.99); if (k < 1) k = 1
		printf "%-16s %8d %9.1fms %9.1fms   %s\n", r, m, 1000 * v[int((m + 1) / 2)], 1000 * v[k], s
	}
	printf "5xx: %d\n", five + 0 }'
echo "server RSS: ${rss0} KiB after warm-up, ${rss1} KiB at the end; open descriptors: ${fd0} -> ${fd1}"
