#!/bin/sh
# Webhooks (issue 17): the decision rate with two subscriptions against none (wrk, 8
# connections, decisions without reservation), and delivery throughput to one local
# receiver and to eight (a backlog replayed at once, timed until nothing is pending).
set -eu
FULCRUM=${FULCRUM:-build/fulcrum}
BENCH_DIR=${BENCH_DIR:-build/bench}
SECS=${BENCH_SECS:-10}
DB="$BENCH_DIR/hooks.db"
. bench/lib.sh
mkdir -p "$BENCH_DIR"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
ADMIN=$("$FULCRUM" token create --db "$DB" --role admin | awk '{print $NF}')
ORCH=$("$FULCRUM" token create --db "$DB" --role orchestrator | awk '{print $NF}')
SINKS=""
PORTS=""
for i in 1 2 3 4 5 6 7 8; do # eight receivers that answer 204 at once
	f=$(mktemp)
	node -e 'require("http").createServer((q, s) => { q.resume(); q.on("end", () => { s.writeHead(204); s.end(); }); }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });' >"$f" &
	SINKS="$SINKS $!"
	for _i in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
	PORTS="$PORTS $(cat "$f")"
	rm -f "$f"
done
FULCRUM_WEBHOOK_HOSTS=127.0.0.1 FULCRUM_WEBHOOK_CONCURRENCY=32 bench_serve "$DB"
trap 'kill $BENCH_PID $SINKS 2>/dev/null || true' EXIT
U="http://127.0.0.1:$BENCH_PORT"
A="Authorization: Bearer $ADMIN"
J="Content-Type: application/json"
# deliveries still pending over every subscription, counted by the store as asked
pending() { curl -s -H "$A" "$U/v1/webhooks" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).webhooks.reduce((a,w)=>a+w.pending,0)))'; }
drain() { # seconds until nothing is pending, from $1 (ns)
	while [ "$(pending)" != 0 ]; do sleep 0.05; done
	echo $((($(date +%s%N) - $1) / 1000000))
}
subscribe() { curl -s -H "$A" -H "$J" -d '{"url":"http://127.0.0.1:'"$1"'/","topics":["decision.created"]}' "$U/v1/webhooks" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).id))'; }
rate() { FULCRUM_TOKEN=$ORCH wrk -t2 -c8 -d"${SECS}s" -s bench/decide.lua "$U" 2>/dev/null | awk '/^Requests\/sec/ {print $2}'; }
echo
echo "== webhooks: decisions (wrk -c8 -d${SECS}s, bench/decide.lua) and deliveries to local receivers, $(nproc) cores shared =="
none=$(rate)
h1=$(subscribe $(echo $PORTS | cut -d' ' -f1))
h2=$(subscribe $(echo $PORTS | cut -d' ' -f2))
s=$(date +%s%N)
two=$(rate)
ms=$(drain "$s")
echo "decisions/s with no subscription: $none; with two: $two ($(node -e "console.log((100 * (1 - $two / $none)).toFixed(1))") % less); the two endpoints caught up $((ms / 1000)) s after the run began"
for h in $h1 $h2; do curl -s -o /dev/null -X DELETE -H "$A" "$U/v1/webhooks/$h"; done
since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
for n in 1 8; do
	hooks=""
	for p in $(echo $PORTS | cut -d' ' -f1-$n); do hooks="$hooks $(subscribe "$p")"; done
	total=0
	s=$(date +%s%N)
	for h in $hooks; do
		r=$(curl -s -H "$A" -H "$J" -d '{"since":"'"$since"'"}' "$U/v1/webhooks/$h/replay" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).replayed))')
		total=$((total + r))
	done
	ms=$(drain "$s")
	echo "replayed to $n receiver(s): $total deliveries in $ms ms = $((total * 1000 / (ms > 0 ? ms : 1))) events/s"
	for h in $hooks; do curl -s -o /dev/null -X DELETE -H "$A" "$U/v1/webhooks/$h"; done
done
echo "\$ node bench/lag.js: one subscription, decisions at a steady 500/s for 10 s"
node bench/lag.js "$U" "$ADMIN" "$ORCH" 500 10
kill "$BENCH_PID" $SINKS 2>/dev/null || true
rm -f "$DB" "$DB-wal" "$DB-shm"
