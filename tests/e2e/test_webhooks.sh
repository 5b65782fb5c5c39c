#!/bin/bash
# Outbound events (issue 17) against a local receiver (tests/e2e/receiver.js): every topic
# pushed with a signature openssl verifies; a flaky receiver gets an event once as
# delivered after 4 attempts, one Fulcrum-Event-Id; a dead delivery retried; redirects
# not followed; per-order order under failures; a slow endpoint paused without delaying
# another; loopback refused without the allow-list; kill -9 loses nothing pending.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
RPID=
trap 'kill -9 $SERVER_PID $RPID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 40 --days 60 >/dev/null 2>&1
ADMIN=$(token "$dir/t.db" admin)
ORCH=$(token "$dir/t.db" orchestrator)
A=(-H "Authorization: Bearer $ADMIN" -H "Content-Type: application/json")
O=(-H "Authorization: Bearer $ORCH" -H "Content-Type: application/json")
mkdir -p "$dir/bodies"
: >"$dir/log"
node "$(dirname "$0")/receiver.js" "$dir/log" "$dir/bodies" >"$dir/rport" &
RPID=$!
disown "$RPID"
for _i in $(seq 1 100); do [ -s "$dir/rport" ] && break; sleep 0.05; done
R="http://127.0.0.1:$(cat "$dir/rport")"

order() { echo '{"order_id":"'"$1"'","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}],"reserve":true}'; }
# received PATH [STATUS]: how many requests PATH got (with that status)
received() { node -e "const l = require('fs').readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse); console.log(l.filter(x => x.path === '$1' && ('${2:-}' === '' || x.status == '${2:-}')).length)"; }
# wait_for CMD WANT: until CMD prints WANT (10 s at most)
wait_for() { for _i in $(seq 1 200); do [ "$($1)" = "$2" ] && return 0; sleep 0.05; done; return 1; }
subscribe() { # subscribe PATH TOPICS-JSON: prints the new id
	http POST /v1/webhooks "${A[@]}" -d '{"url":"'"$R$1"'","topics":'"$2"'}' >/dev/null
	js 'console.log(d.id)'
}

# without an allow-list: a loopback URL is refused, and other bad ones
start_server "$dir/t.db" --threads 2 --forecast-warm off
check_eq "a loopback URL without the allow-list: 422" "$(http POST /v1/webhooks "${A[@]}" -d '{"url":"'"$R"'/ok","topics":["*"]}')" 422
check "…saying why" grep -q "loopback, private or link-local" "$BODY_FILE"
check_eq "ftp: 422" "$(http POST /v1/webhooks "${A[@]}" -d '{"url":"ftp://example.org/x","topics":["*"]}')" 422
check_eq "an unknown topic: 422" "$(http POST /v1/webhooks "${A[@]}" -d '{"url":"https://example.org/x","topics":["decision.made"]}')" 422
check_eq "a stray field: 422" "$(http POST /v1/webhooks "${A[@]}" -d '{"url":"https://example.org/x","topics":["*"],"secret":"x"}')" 422
check_eq "orchestrators may not subscribe: 403" "$(http POST /v1/webhooks "${O[@]}" -d '{"url":"https://example.org/x","topics":["*"]}')" 403
stop_server

start_server "$dir/t.db" --threads 2 --forecast-warm off --webhook-hosts 127.0.0.1 \
	--webhook-backoff-ms 40 --webhook-max-attempts 5 --webhook-breaker 6 \
	--webhook-pause-ms 60000 --webhook-timeout-ms 1500
check_eq "allowed: 201" "$(http POST /v1/webhooks "${A[@]}" -d '{"url":"'"$R"'/ok","topics":["*"],"description":"everything"}')" 201
all=$(js 'console.log(d.id)')
secret=$(js 'console.log(d.secret)')
check "the secret, shown once" test "${secret#whsec_}" != "$secret"
check_eq "the list never shows it" "$(http GET /v1/webhooks "${A[@]}" >/dev/null; grep -c whsec_ "$BODY_FILE"; js 'console.log(d.webhooks.length, d.webhooks[0].id)')" "0
1 $all"

# one of each: a reserving decision, a reroute (and its notice), a failed delivery's
# discount, a rule activation, a scenario, its transfer orders shipped and received
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order H-1)" >/dev/null
carrier=$(js 'console.log(d.shipments[0].carrier)')
http POST /v1/events "${O[@]}" -d '{"event_id":"h-e1","type":"shipment.delayed","order_id":"H-1","carrier":"'"$carrier"'","data":{"delay_days":5}}' >/dev/null
http POST /v1/events "${O[@]}" -d '{"event_id":"h-e2","type":"shipment.failed_delivery","order_id":"H-1"}' >/dev/null
http POST /v1/events "${O[@]}" -d '{"event_id":"h-e3","type":"shipment.delivered","order_id":"H-1"}' >/dev/null
http POST /v1/rules/default/activate "${A[@]}" -d '{"version":1}' >/dev/null
http POST /v1/rebalancing/scenarios "${A[@]}" -H "Prefer: respond-async" -d '{"name":"hooks"}' >/dev/null
sid=$(js 'console.log(d.scenario_id)')
for _i in $(seq 1 300); do
	http GET "/v1/rebalancing/scenarios/$sid" "${A[@]}" >/dev/null
	[ "$(js 'console.log(d.status)')" = done ] && break
	sleep 0.1
done
http POST "/v1/rebalancing/scenarios/$sid/accept" "${A[@]}" >/dev/null
http GET "/v1/transfers?scenario_id=$sid&limit=1" "${A[@]}" >/dev/null
tid=$(js 'console.log(d.transfers[0].transfer_id)')
http POST /v1/events "${O[@]}" -d '{"event_id":"h-t1","type":"transfer.shipped","data":{"transfer_id":"'"$tid"'"}}' >/dev/null
http POST /v1/events "${O[@]}" -d '{"event_id":"h-t2","type":"transfer.received","data":{"transfer_id":"'"$tid"'"}}' >/dev/null
topics() { node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
console.log([...new Set(l.filter(x => x.path === '/ok').map(x => x.headers['fulcrum-topic']))].sort().join(' '))"; }
want="decision.created decision.rerouted inventory.changed reservation.changed rule.discount rule.notify rules.activated scenario.done transfer.planned transfer.received transfer.shipped"
wait_for topics "$want"
check_eq "every topic pushed" "$(topics)" "$want"
check "every body is the envelope, its event id the header's" node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
for (const x of l.filter(x => x.path === '/ok')) {
	const b = JSON.parse(fs.readFileSync('$dir/bodies/' + x.n + '.body', 'utf8'));
	if (b.event_id !== x.headers['fulcrum-event-id'] || b.topic !== x.headers['fulcrum-topic'] ||
	    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(b.occurred_at) || !('data' in b) ||
	    x.headers['content-type'] !== 'application/json') process.exit(1);
}"
check "decision events carry the order, the reservation its units by node and SKU" node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
const b = l.filter(x => x.path === '/ok').map(x => JSON.parse(fs.readFileSync('$dir/bodies/' + x.n + '.body', 'utf8')));
const c = b.find(e => e.topic === 'decision.created'), r = b.find(e => e.topic === 'reservation.changed' && e.data.change === 'reserved');
process.exit(c && c.order_id === 'H-1' && c.data.decision_id && r && r.data.lines[0].node && r.data.units >= 1 ? 0 : 1)"
# the signature, checked by openssl: HMAC-SHA256(secret, "<t>.<body>")
sigok=0
sigs=0
while read -r n sig; do
	t=${sig#t=}
	t=${t%%,*}
	v1=${sig#*v1=}
	mac=$({ printf '%s.' "$t"; cat "$dir/bodies/$n.body"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
	sigs=$((sigs + 1))
	[ "$mac" = "$v1" ] && sigok=$((sigok + 1))
done < <(node -e "require('fs').readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse).filter(x => x.path === '/ok').forEach(x => console.log(x.n, x.headers['fulcrum-signature']))")
check_eq "openssl verifies every signature ($sigs)" "$sigok" "$sigs"
check "…and the time in it is now" node -e "
const l = require('fs').readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
const t = +/t=(\d+)/.exec(l[0].headers['fulcrum-signature'])[1]; process.exit(Math.abs(Date.now() / 1000 - t) < 120 ? 0 : 1)"
check_eq "rotate the secret: a new one" "$(http POST "/v1/webhooks/$all/rotate-secret" "${A[@]}"; js "console.log(d.secret !== '$secret' && /^whsec_/.test(d.secret))")" "200true"
check_eq "unsubscribe: 200" "$(http DELETE "/v1/webhooks/$all" "${A[@]}")" 200
check_eq "…gone: 404" "$(http GET "/v1/webhooks/$all" "${A[@]}")" 404

# inventory.changed is coalesced: a burst on one (node, SKU) gives at most one event a
# second for it, and the last says the stock as it now is
inv=$(subscribe /inv '["inventory.changed"]')
for i in $(seq 1 8); do http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order B-$i)" >/dev/null; done
node_b=$(js 'console.log(d.shipments[0].node)')
sleep 2.5
check "one event per (node, SKU) a second at most" node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
const seen = new Set();
for (const x of l.filter(x => x.path === '/inv')) {
	const b = JSON.parse(fs.readFileSync('$dir/bodies/' + x.n + '.body', 'utf8'));
	const k = b.data.node + '/' + b.data.sku + '/' + b.occurred_at;
	if (seen.has(k)) process.exit(1);
	seen.add(k);
}
process.exit(seen.size ? 0 : 1)"
http GET "/v1/inventory?node=$node_b&sku=SKU-00003" "${A[@]}" >/dev/null
reserved_now=$(js 'console.log(d.items[0].reserved)')
check_eq "the last event for it says the stock as it is" "$(node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
const e = l.filter(x => x.path === '/inv').map(x => JSON.parse(fs.readFileSync('$dir/bodies/' + x.n + '.body', 'utf8'))).filter(b => b.data.node === '$node_b' && b.data.sku === 'SKU-00003');
console.log(e.length ? e[e.length - 1].data.reserved : 'none')")" "$reserved_now"
http DELETE "/v1/webhooks/$inv" "${A[@]}" >/dev/null

# a receiver that fails three times, then answers 200: delivered once, 4 attempts
flaky=$(subscribe /flaky '["decision.created"]')
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order H-2)" >/dev/null
wait_for "received /flaky 200" 1
sleep 0.3
check_eq "the flaky receiver: 3 failures, then one 200, no more" "$(received /flaky 500) $(received /flaky 200)" "3 1"
check_eq "one event id every time" "$(node -e "const l = require('fs').readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse).filter(x => x.path === '/flaky'); console.log(new Set(l.map(x => x.headers['fulcrum-event-id'])).size)")" 1
check_eq "recorded: delivered after 4 attempts" "$(http GET "/v1/webhooks/$flaky/deliveries" "${A[@]}" >/dev/null; js 'const x = d.deliveries[0]; console.log(d.deliveries.length, x.status, x.attempts, x.last_status_code)')" "1 delivered 4 200"
http DELETE "/v1/webhooks/$flaky" "${A[@]}" >/dev/null

# a receiver that is down: dead after webhook_max_attempts; retried once it is up
down=$(subscribe /down '["decision.created"]')
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order H-3)" >/dev/null
dead() { http GET "/v1/webhooks/$down/deliveries?status=dead" "${A[@]}" >/dev/null; js 'console.log(d.deliveries.length)'; }
wait_for dead 1
check_eq "dead after 5 attempts" "$(js 'console.log(d.deliveries[0].attempts, d.deliveries[0].last_status_code, d.deliveries[0].next_attempt_at)') $(received /down 503)" "5 503 null 5"
did=$(js 'console.log(d.deliveries[0].delivery_id)')
curl -s "$R/up" >/dev/null
check_eq "retry it: 200" "$(http POST "/v1/webhooks/$down/deliveries/$did/retry" "${A[@]}")" 200
wait_for "received /down 200" 1
check_eq "…delivered, once" "$(received /down 200) $(http GET "/v1/webhooks/$down/deliveries?status=delivered" "${A[@]}" >/dev/null; js 'console.log(d.deliveries.length)')" "1 1"
check_eq "retrying a delivered one: 409" "$(http POST "/v1/webhooks/$down/deliveries/$did/retry" "${A[@]}")" 409
check_eq "replay since an hour ago: every event of its topics again" "$(http POST "/v1/webhooks/$down/replay" "${A[@]}" -d '{"since":"'"$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)"'"}'; js 'console.log(d.replayed >= 1)')" "200true"
check_eq "replay without since: 422" "$(http POST "/v1/webhooks/$down/replay" "${A[@]}" -d '{}')" 422
http DELETE "/v1/webhooks/$down" "${A[@]}" >/dev/null

# a redirect is not followed
redir=$(subscribe /redirect '["decision.created"]')
before=$(received /ok)
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order H-4)" >/dev/null
wait_for "received /redirect" 1
sleep 0.3
check_eq "a redirect is not followed: nothing reached its target" "$(received /ok)" "$before"
check "…the delivery says why" sh -c "curl -s -H 'Authorization: Bearer $ADMIN' '$URL/v1/webhooks/$redir/deliveries' | grep -q 'redirects are not followed'"
http DELETE "/v1/webhooks/$redir" "${A[@]}" >/dev/null

# per-order order under failures: each event's first attempt fails, yet an order's events
# arrive (as 200s) in the order they happened
alt=$(subscribe /alternate '["decision.created","decision.rerouted","reservation.changed","rule.notify"]')
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order H-5)" >/dev/null
c5=$(js 'console.log(d.shipments[0].carrier)')
http POST /v1/events "${O[@]}" -d '{"event_id":"h5-e1","type":"shipment.delayed","order_id":"H-5","carrier":"'"$c5"'","data":{"delay_days":5}}' >/dev/null
pend() { http GET "/v1/webhooks/$alt/deliveries?status=pending" "${A[@]}" >/dev/null; js 'console.log(d.deliveries.length)'; }
wait_for pend 0
check "the order's events delivered in the order they happened" node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
const got = l.filter(x => x.path === '/alternate' && x.status === 200).map(x => x.headers['fulcrum-event-id']);
const made = JSON.parse(require('child_process').execSync(\"curl -s -H 'Authorization: Bearer $ADMIN' '$URL/v1/webhooks/$alt/deliveries'\")).deliveries.map(x => x.event_id);
process.exit(got.length >= 4 && JSON.stringify(got) === JSON.stringify(made) ? 0 : 1)"
http DELETE "/v1/webhooks/$alt" "${A[@]}" >/dev/null

# an endpoint that hangs is paused and does not delay another
slow=$(subscribe /slow '["decision.created"]')
fast=$(subscribe /fast '["decision.created"]')
t0=$(date +%s%N)
for i in 1 2 3 4 5 6; do http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order S-$i)" >/dev/null; done
wait_for "received /fast" 6
t1=$(date +%s%N)
check "the healthy endpoint got all six while the other hung ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 6000
paused() { http GET "/v1/webhooks/$slow" "${A[@]}" >/dev/null; js 'console.log(d.paused_until !== null)'; }
check "the hanging one is paused after 6 failures in a row" wait_for paused true
http DELETE "/v1/webhooks/$slow" "${A[@]}" >/dev/null
check_eq "metrics: deliveries by topic and outcome, lag, dead" "$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/metrics" | grep -c '^fulcrum_webhook_deliveries_total{topic="decision.created",outcome="delivered"}\|^fulcrum_webhook_lag_seconds\|^fulcrum_webhook_dead')" 3

# kill -9 with deliveries pending: the restart delivers every one
crash=$(subscribe /crash '["decision.created"]')
for i in $(seq 1 20); do http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order K-$i)" >/dev/null; done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
start_server "$dir/t.db" --threads 2 --forecast-warm off --webhook-hosts 127.0.0.1 --webhook-backoff-ms 40
orders() { node -e "
const fs = require('fs'), l = fs.readFileSync('$dir/log', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
console.log(new Set(l.filter(x => x.path === '/crash' && x.status === 200).map(x => JSON.parse(fs.readFileSync('$dir/bodies/' + x.n + '.body', 'utf8')).order_id)).size)"; }
wait_for orders 20
check_eq "after kill -9 and a restart, all 20 decisions pushed" "$(orders)" 20
[ "$(orders)" = 20 ] || { curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/webhooks/$crash/deliveries" | head -c 3000 >&2; tail -5 "$SERVER_LOG" >&2; }
stop_server
check_eq "a clean stop" "$SERVER_STATUS" 0
rm -f "$SERVER_LOG"
done_testing
