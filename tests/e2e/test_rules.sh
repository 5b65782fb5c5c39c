#!/bin/bash
# Rules and events end to end: the default pack steering decisions, an upload with a
# syntax error (422 naming its line, the active version stays), tests and replay over
# HTTP, activation under 8 deciding clients (no failure, no decision mixing versions),
# and the exception loop: a delayed shipment rerouted with a notification in the outbox,
# duplicates, stale milestones, carrier codes, outages and shipped reservations.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 40 --days 10 >/dev/null 2>"$dir/demo.log"
check "the demo activates the default pack" grep -q "rule pack 'default' active" "$dir/demo.log"
check_eq "rules list: default active" "$("$FULCRUM" rules list --db "$dir/t.db" | awk '{print $1, $5, $6}')" "default version 1"
"$FULCRUM" rules test "$(dirname "$0")/../../rules/packs/default.lua" >"$dir/pack.txt"
check_eq "the pack's own tests pass" "$(tail -1 "$dir/pack.txt" | cut -d';' -f1)" "7 passed, 0 failed"
"$FULCRUM" export "$dir/csv" --db "$dir/t.db" >/dev/null 2>&1
HAZ=$(awk -F, '$4 == 1 {print $1; exit}' "$dir/csv/skus.csv")
ORCH=$(token "$dir/t.db" orchestrator)
ANALYST=$(token "$dir/t.db" analyst)
start_server "$dir/t.db" --threads 4
O=(-H "Authorization: Bearer $ORCH" -H "Content-Type: application/json")
A=(-H "Authorization: Bearer $ANALYST")

# the pack steers a decision, and says so
order='{"order_id":"R-1","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"'"$HAZ"'","qty":1}],"deliver_within_days":6}'
check_eq "hazmat order: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$order")" 200
check_eq "no shipment from a node the rule excluded" "$(js '
  const ex = new Set(d.rules.filter(x => x.kind === "exclude_node").map(x => x.node));
  console.log(ex.size > 0 && d.shipments.every(s => !ex.has(s.node)))')" true
check_eq "every store excluded by the rule, named with its line" "$(js '
  const r = d.rules.filter(x => x.rule === "no_hazmat_from_stores");
  console.log(r.length > 0 && r.every(x => x.kind === "exclude_node" && x.effect === "excluded node " + x.node && x.line > 0 && x.version === 1 && x.set === "default"))')" true
check_eq "the explanation gives those nodes the reason rule" "$(js '
  const ex = d.rules.filter(x => x.kind === "exclude_node").map(x => x.node);
  console.log(ex.every(n => d.explanation.excluded.some(x => x.node === n && x.reason === "rule")))')" true

# the same rules steer every order of a wave, and each decision says so
check_eq "a wave with the hazmat order: 200" "$(http POST /v1/fulfillment/waves "${O[@]}" -d '{"orders":['"$order"',{"order_id":"R-2","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]}]}')" 200
check_eq "… no shipment from a node the rule excluded, the effects listed" "$(js '
  const h = d.decisions.find(x => x.order_id === "R-1");
  const ex = new Set(h.rules.filter(x => x.kind === "exclude_node").map(x => x.node));
  console.log(ex.size > 0 && h.shipments.length > 0 && h.shipments.every(s => !ex.has(s.node)) &&
    h.explanation.excluded.some(x => ex.has(x.node) && x.reason === "rule"))')" true
: 422 naming line 7, version 1 stays active
printf -- '-- 1\n-- 2\n-- 3\n-- 4\n-- 5\n-- 6\nrules = {{name = "x" before_sourcing = 1}}\n' >"$dir/bad.lua"
check_eq "syntax error: 422" "$(http PUT /v1/rules/default "${A[@]}" -H "Content-Type: text/x-lua" --data-binary @"$dir/bad.lua")" 422
check_eq "the error names line 7" "$(js 'console.log(d.errors[0].line)')" 7
check_eq "a JSON body is not Lua: 415" "$(http PUT /v1/rules/default "${A[@]}" -H "Content-Type: application/json" -d '{}')" 415
http GET /v1/rules "${A[@]}" >/dev/null
check_eq "version 1 is still the active one" "$(js 'console.log(d.items[0].name, d.items[0].active_version)')" "default 1"
http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"R-2","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00001","qty":30}]}' >/dev/null
check_eq "decisions still run version 1" "$(js 'console.log([...new Set(d.rules.map(x => x.version))].join())')" 1

# a second version, its tests, its replay, then activation under load
sed 's/local LARGE_ORDER_PENALTY = 6.0/local LARGE_ORDER_PENALTY = 60.0/' "$(dirname "$0")/../../rules/packs/default.lua" | \
	sed 's/\["DC-A"\] = 0}},/["DC-A"] = 0}},/; s/penalties = {\["ST-A"\] = 6.0, \["ST-B"\] = 6.0/penalties = {["ST-A"] = 60.0, ["ST-B"] = 60.0/' >"$dir/v2.lua"
check_eq "a valid upload: 201" "$(http PUT /v1/rules/default "${A[@]}" -H "Content-Type: text/x-lua" --data-binary @"$dir/v2.lua")" 201
check_eq "stored as version 2 with its tests passing" "$(js 'console.log(d.version, d.tests.passed, d.tests.failed, d.sha256.length)')" "2 7 0 64"
check_eq "POST test: 200" "$(http POST /v1/rules/default/test "${A[@]}")" 200
check_eq "the tests of version 2 pass, coverage named" "$(js 'console.log(d.version, d.tests.passed, d.tests.coverage.fired)')" "2 7 5"
check_eq "replay: 200" "$(http POST /v1/rules/default/replay "${A[@]}" -H "Content-Type: application/json" -d '{"version":2,"limit":50}')" 200
check "replay: re-decided the logged orders and counted the changes" js 'if (!(d.replayed >= 2 && d.changed >= 0 && typeof d.cost_delta === "number")) process.exit(1)'
check_eq "versions: 2 of them" "$(http GET /v1/rules/default/versions "${A[@]}" >/dev/null; js 'console.log(d.items.length, d.items[0].version)')" "2 2"

mkdir -p "$dir/load"
pids=()
for c in 1 2 3 4 5 6 7 8; do
	(for i in $(seq 1 25); do
		curl -s -o "$dir/load/$c-$i.json" -w '%{http_code}\n' -X POST "${O[@]}" \
			-d '{"order_id":"L-'"$c-$i"'","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00002","qty":25}]}' \
			"$URL/v1/fulfillment/decisions"
	done >"$dir/load/$c.status") &
	pids+=($!)
done
for v in 2 1 2 1 2; do
	http POST /v1/rules/default/activate "${A[@]}" -H "Content-Type: application/json" -d '{"version":'"$v"'}' >>"$dir/load/activations"
	echo >>"$dir/load/activations"
	sleep 0.1
done
wait "${pids[@]}"
check_eq "every activation answered 200" "$(sort -u "$dir/load/activations" | grep -v '^$')" 200
check_eq "200 decisions under activation, none failed" "$(cat "$dir"/load/*.status | sort | uniq -c | awk '{print $1, $2}')" "200 200"
check_eq "no decision mixed versions" "$(node -e '
  const fs = require("fs"), dir = process.argv[1];
  let mixed = 0, seen = new Set();
  for (const f of fs.readdirSync(dir).filter(f => f.endsWith(".json"))) {
    const d = JSON.parse(fs.readFileSync(dir + "/" + f, "utf8"));
    const v = new Set(d.rules.map(x => x.version));
    if (v.size !== 1) mixed++;
    v.forEach(x => seen.add(x));
  }
  console.log(mixed, [...seen].sort().join());' "$dir/load")" "0 1,2"
check_eq "the last activation holds" "$(http GET /v1/rules "${A[@]}" >/dev/null; js 'console.log(d.items[0].active_version)')" 2

# a failing test's reason reaches every door: rules check, rules push, PUT
cat >"$dir/failing.lua" <<'LUA'
rules = {{name = "noop", before_sourcing = function(order, ctx) end}}
tests = {{name = "wants a penalty", order = {order_id = "T-1", lines = {{sku = "SKU-1", qty = 1}}},
  stock = {["DC-A"] = {["SKU-1"] = 5}}, expect = {penalties = {["DC-A"] = 3.0}}}}
LUA
why="wants a penalty: expected a penalty of 3 on DC-A, got 0"
check_eq "rules check: the failing test and why" "$("$FULCRUM" rules check "$dir/failing.lua" 2>&1)" "$dir/failing.lua:2: $why"
"$FULCRUM" rules push "$dir/failing.lua" --db "$dir/t.db" --name failing >"$dir/push.out" 2>&1
check_eq "rules push: refused" "$?" 1
check "rules push: the failing test and why" grep -qF "$why" "$dir/push.out"
check_eq "PUT: 422" "$(http PUT /v1/rules/failing "${A[@]}" -H "Content-Type: text/x-lua" --data-binary @"$dir/failing.lua")" 422
check_eq "PUT: the failing test and why, on its line" "$(js 'console.log(d.errors[0].line, d.errors[0].message)')" "2 $why"

# a rule that never ends: that rule fails, the decision still answers, the server serves
printf 'rules = {{name = "spin", before_sourcing = function(o, ctx)\n  while true do pcall(function() while true do end end) end\nend}}\n' >"$dir/spin.lua"
check_eq "a spinning rule uploads (it has no tests)" "$(http PUT /v1/rules/spin "${A[@]}" -H "Content-Type: text/x-lua" --data-binary @"$dir/spin.lua")" 201
check "a set with no tests is accepted with a warning" grep -q "carries no tests" "$BODY_FILE"
check_eq "a stored version's source: 200" "$(http GET /v1/rules/spin/versions/1 "${A[@]}")" 200
check "the source as it was uploaded" cmp "$BODY_FILE" "$dir/spin.lua"
check_eq "the source is Lua" "$(header Content-Type)" "text/x-lua; charset=utf-8"
check_eq "a version that does not exist: 404" "$(http GET /v1/rules/spin/versions/9 "${A[@]}")" 404
http POST /v1/rules/spin/activate "${A[@]}" -H "Content-Type: application/json" -d '{"version":1}' >/dev/null
t0=$(date +%s%N)
check_eq "a decision with the spinning rule active: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"S-1","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00001","qty":1}]}')" 200
t1=$(date +%s%N)
check_eq "the rule is reported failed with its line" "$(js 'const f = d.rules.find(x => x.set === "spin"); console.log(f.kind, f.line, /exceeded/.test(f.reason), f.effect.startsWith("failed: "))')" "failed 2 true true"
check "it answered within a second (the rule's deadline is 50 ms)" test $(((t1 - t0) / 1000000)) -lt 1000
check_eq "the server still serves" "$(http GET /healthz)" 200
http POST /v1/rules/spin/activate "${A[@]}" -H "Content-Type: application/json" -d '{"version":0}' >/dev/null
check_eq "deactivated: only the default set runs" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"S-2","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00001","qty":1}]}' >/dev/null; js 'console.log(d.rules.every(x => x.set === "default"))')" true

# the exception loop
check_eq "a reserved decision" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"E-1","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}],"reserve":true}')" 200
d1=$(js 'console.log(d.decision_id)')
carrier=$(js 'console.log(d.shipments[0].carrier)')
ev='{"event_id":"ev-1","type":"shipment.delayed","order_id":"E-1","carrier":"'"$carrier"'","data":{"delay_days":3}}'
check_eq "delayed 3 days: 200" "$(http POST /v1/events "${O[@]}" -d "$ev")" 200
check_eq "applied: a reroute and a notification" "$(js 'console.log(d.status, d.actions.map(a => a.type).sort().join())')" "applied notify,reroute"
check_eq "the new decision avoids the late carrier" "$(js "const r = d.actions.find(a => a.type === 'reroute'); console.log(r.decision.shipments.every(s => s.carrier !== '$carrier') && r.decision.decision_id !== '$d1')")" true
d2=$(js "console.log(d.actions.find(a => a.type === 'reroute').decision.decision_id)")
check_eq "the reroute supersedes the decision and holds its reservation" "$(js "const r = d.actions.find(a => a.type === 'reroute').decision; console.log(r.supersedes, r.reservation.status, r.reservation.units)")" "$d1 reserved 1"
check_eq "the old decision's reservation moved" "$(http GET "/v1/fulfillment/decisions/$d1" "${O[@]}" >/dev/null; js 'console.log(d.reservation.status, d.superseded_by)')" "moved $d2"
check_eq "the order's decisions, newest first" "$(http GET "/v1/fulfillment/decisions?order_id=E-1" "${O[@]}" >/dev/null; js 'console.log(d.decisions.map(x => x.decision_id + ":" + x.reservation.status).join())')" "$d2:reserved,$d1:moved"
check_eq "the notification waits in the outbox" "$(http GET /v1/outbox "${O[@]}" >/dev/null; js 'console.log(d.items.filter(m => m.event_id === "ev-1" && m.kind === "notify" && m.payload.template === "delay_rerouted").length)')" 1
check_eq "its delay_days is a number, not text" "$(js 'console.log(typeof d.items.find(m => m.event_id === "ev-1" && m.kind === "notify").payload.fields.delay_days)')" number
mid=$(js 'console.log(d.items.find(m => m.event_id === "ev-1").id)')
check_eq "the same event again: duplicate, nothing runs" "$(http POST /v1/events "${O[@]}" -d "$ev" >/dev/null; js 'console.log(d.status, d.actions.length)')" "duplicate 0"
check_eq "still one notification" "$(http GET /v1/outbox "${O[@]}" >/dev/null; js 'console.log(d.items.filter(m => m.event_id === "ev-1").length)')" 1
check_eq "ack: 200" "$(http POST "/v1/outbox/$mid/ack" "${O[@]}")" 200
check_eq "acknowledged messages leave the list" "$(http GET /v1/outbox "${O[@]}" >/dev/null; js "console.log(d.items.some(m => m.id === $mid))")" false
check_eq "ack of no message: 404" "$(http POST /v1/outbox/999999/ack "${O[@]}")" 404
check_eq "a carrier code: fedex DL is delivered" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-2","vocabulary":"fedex","status_code":"DL","order_id":"E-1"}' >/dev/null; js 'console.log(d.type, d.status)')" "shipment.delivered applied"
check_eq "delivered consumes the live decision's reservation" "$(js "const c = d.actions.find(a => a.type === 'reservation_consumed'); console.log(c.decision_id, c.units)")" "$d2 1"
check_eq "in transit after delivered: stale" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-3","type":"shipment.in_transit","order_id":"E-1"}' >/dev/null; js 'console.log(d.status, d.actions.length)')" "stale 0"
check_eq "failed delivery of an order fulcrum never decided: unknown_order, nothing runs" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-4","type":"shipment.failed_delivery","order_id":"F-1"}' >/dev/null; js 'console.log(d.status, d.actions.length)')" "unknown_order 0"
http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"F-1","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]}' >/dev/null
check_eq "failed delivery: notify and discount" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-4b","type":"shipment.failed_delivery","order_id":"F-1"}' >/dev/null; js 'console.log(d.actions.map(a => a.type).sort().join())')" "discount,notify"
check_eq "the unknown order queued nothing" "$(http GET /v1/outbox "${O[@]}" >/dev/null; js 'console.log(d.items.filter(m => m.event_id === "ev-4").length)')" 0
check_eq "an order_id and a decision_id that disagree: 422" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-5","type":"shipment.shipped","order_id":"X-9","decision_id":"'"$d1"'"}')" 422
check "the disagreement is named" grep -q "decides order 'E-1', not 'X-9'" "$BODY_FILE"
check_eq "a decision_id fulcrum never made: unknown_order" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-5b","type":"shipment.shipped","decision_id":"d_nope"}' >/dev/null; js 'console.log(d.status, d.actions.length)')" "unknown_order 0"
check_eq "so there is nothing to release" "$(http POST "/v1/fulfillment/decisions/$d1/release" "${O[@]}")" 409
# an outage takes a node out of sourcing until it is restored
http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"N-1","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]}' >/dev/null
node=$(js 'console.log(d.shipments[0].node)')
check_eq "node.outage: applied" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"ev-6","type":"node.outage","node":"'"$node"'"}' >/dev/null; js 'console.log(d.status)')" applied
http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"N-2","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]}' >/dev/null
check_eq "the node is out of sourcing, explained as the outage with its event" "$(js "console.log(d.shipments.every(s => s.node !== '$node') && d.explanation.excluded.some(x => x.node === '$node' && x.reason === 'outage' && x.event_id === 'ev-6'))")" true
http POST /v1/events "${O[@]}" -d '{"event_id":"ev-7","type":"node.restored","node":"'"$node"'"}' >/dev/null
http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"N-3","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]}' >/dev/null
check_eq "restored: back in sourcing" "$(js "console.log(d.shipments[0].node)")" "$node"
# … in waves too
http POST /v1/events "${O[@]}" -d '{"event_id":"ev-8","type":"node.outage","node":"'"$node"'"}' >/dev/null
http POST /v1/fulfillment/waves "${O[@]}" -d '{"orders":[{"order_id":"N-4","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]},{"order_id":"N-5","destination":{"lat":34.1,"lon":-118.3},"lines":[{"sku":"SKU-00003","qty":1}]}]}' >/dev/null
check_eq "a wave during the outage leaves the node out" "$(js "console.log(d.decisions.every(x => x.shipments.length > 0 && x.shipments.every(s => s.node !== '$node') && x.explanation.excluded.some(e => e.node === '$node' && e.reason === 'outage' && e.event_id === 'ev-8')))")" true
http POST /v1/events "${O[@]}" -d '{"event_id":"ev-9","type":"node.restored","node":"'"$node"'"}' >/dev/null
# after_sourcing rejects a wave's plan: that order is decided again without those nodes
cat >"$dir/veto.lua" <<LUA
rules = {
  {
    name = "veto_node",
    after_sourcing = function(order, decision, ctx)
      if order.order_id ~= "V-1" then return end
      for _, s in ipairs(decision.shipments) do
        if s.node == "$node" then ctx:reject("not from $node") end
      end
    end,
  },
}
LUA
check_eq "a vetoing set uploads" "$(http PUT /v1/rules/veto "${A[@]}" -H "Content-Type: text/x-lua" --data-binary @"$dir/veto.lua")" 201
"$FULCRUM" rules activate veto 1 --db "$dir/t.db" >/dev/null
sleep 0.3
http POST /v1/fulfillment/waves "${O[@]}" -d '{"orders":[{"order_id":"V-1","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}]},{"order_id":"V-2","destination":{"lat":34.1,"lon":-118.3},"lines":[{"sku":"SKU-00003","qty":1}]}]}' >/dev/null
check_eq "the vetoed order ships elsewhere, the veto listed" "$(js "const v = d.decisions.find(x => x.order_id === 'V-1'); console.log(v.shipments.length > 0 && v.shipments.every(s => s.node !== '$node') && v.rules.some(x => x.set === 'veto' && x.kind === 'reject'))")" true
check_eq "the other order keeps its best node" "$(js "console.log(d.decisions.find(x => x.order_id === 'V-2').shipments[0].node)")" "$node"
"$FULCRUM" rules activate veto 0 --db "$dir/t.db" >/dev/null
# bad events
bad() { check_eq "$1: 422" "$(http POST /v1/events "${O[@]}" -d "$2")" 422; check "$1: names $3" grep -q "$3" "$BODY_FILE"; }
bad "no event_id" '{"type":"shipment.delivered","order_id":"E-1"}' event_id
bad "unknown type" '{"event_id":"b1","type":"shipment.teleported","order_id":"E-1"}' "taxonomy"
bad "unknown carrier code" '{"event_id":"b2","vocabulary":"ups","status_code":"ZZ","order_id":"E-1"}' status_code
bad "delayed without delay_days" '{"event_id":"b3","type":"shipment.delayed","order_id":"E-1"}' delay_days
check_eq "outage of no node: unknown_node, nothing changes" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"b4","type":"node.outage","node":"NOPE"}' >/dev/null; js 'console.log(d.status, d.actions.length)')" "unknown_node 0"
bad "a misspelt field" '{"event_id":"b5","type":"shipment.delivered","order_id":"E-1","ordr":"x"}' "ordr: unknown field"
bad "occurred_at not a date-time" '{"event_id":"b6","type":"shipment.delivered","order_id":"E-1","occurred_at":"yesterday"}' "occurred_at"
check_eq "orchestrators may not upload rules: 403" "$(http PUT /v1/rules/x -H "Authorization: Bearer $ORCH" -H "Content-Type: text/x-lua" -d 'x')" 403
check_eq "analysts may not post events: 403" "$(http POST /v1/events "${A[@]}" -H "Content-Type: application/json" -d '{}')" 403
stop_server
check_eq "the server stopped cleanly" "$SERVER_STATUS" 0
done_testing
