#!/bin/bash
# The order's lifecycle end to end: strict bodies; the reservation in every answer and in
# GET; an order's decisions listed; milestones in any order (and 8 at once) consuming the
# reservation exactly once; reroutes that move the reservation, bounded per order; a
# reroute racing a release with nothing oversold or freed twice.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 40 --days 10 >/dev/null 2>&1
ORCH=$(token "$dir/t.db" orchestrator)
ADMIN=$(token "$dir/t.db" admin)
start_server "$dir/t.db" --threads 4
O=(-H "Authorization: Bearer $ORCH" -H "Content-Type: application/json")
A=(-H "Authorization: Bearer $ADMIN")
# the store's totals: reserved units, and on-hand units, over every (node, SKU)
totals() { http GET "/v1/inventory?limit=1000" "${A[@]}" >/dev/null; js '
  console.log(d.items.reduce((a,x)=>a+x.reserved,0), d.items.reduce((a,x)=>a+x.on_hand,0))'; }
order() { # order ID QTY [extra JSON members]
	echo '{"order_id":"'"$1"'","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":'"$2"'}]'"${3:-}"'}'
}

# strict bodies: a typo is named, never ignored
bad() { check_eq "$1: 422" "$(http "$2" "$3" "${O[@]}" -d "$4")" 422; check "$1: names $5" grep -q "$5" "$BODY_FILE"; }
bad "a misspelt promise" POST /v1/fulfillment/decisions "$(order T-1 1 ',"deliver_within_dayz":2')" "deliver_within_dayz: unknown field"
bad "a stray destination field" POST /v1/fulfillment/decisions '{"order_id":"T-2","destination":{"lat":1,"lon":1,"zip":"1"},"lines":[{"sku":"SKU-00003","qty":1}]}' "destination.zip: unknown field"
bad "a stray line field" POST /v1/fulfillment/decisions '{"order_id":"T-3","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00003","qty":1,"price":3}]}' 'lines\[0\].price: unknown field'
bad "a stray wave field" POST /v1/fulfillment/waves '{"orders":[],"timelimit":3}' "timelimit: unknown field"
bad "a stray field in a wave's order" POST /v1/fulfillment/waves '{"orders":['"$(order W-1 1 ',"x":1')"']}' 'orders\[0\].x: unknown field'

# the reservation is part of the decision's state
check_eq "a plain decision: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order P-1 1)")" 200
check_eq "it reserves nothing, and says so" "$(js 'console.log(d.reservation.status, d.reservation.units, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(d.reservation.updated_at))')" "none 0 true"
read -r res0 hand0 <<<"$(totals)"
check_eq "a reserving decision: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order L-1 2 ',"reserve":true')")" 200
d1=$(js 'console.log(d.decision_id)')
check_eq "it says what it holds" "$(js 'console.log(d.reservation.status, d.reservation.units)')" "reserved 2"
check_eq "the store holds exactly that" "$(totals)" "$((res0 + 2)) $hand0"
check_eq "the same body again: the same decision, the same state" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order L-1 2 ',"reserve":true')" >/dev/null; js 'console.log(d.decision_id, d.reservation.status)')" "$d1 reserved"
check_eq "GET shows the state" "$(http GET "/v1/fulfillment/decisions/$d1" "${O[@]}" >/dev/null; js 'console.log(d.reservation.status, d.reservation.units)')" "reserved 2"
check_eq "the order's decisions: 200" "$(http GET "/v1/fulfillment/decisions?order_id=L-1" "${O[@]}")" 200
check_eq "listed with their state" "$(js 'console.log(d.decisions.length, d.decisions[0].decision_id, d.decisions[0].reservation.status)')" "1 $d1 reserved"
check_eq "an order with no decision: an empty list" "$(http GET "/v1/fulfillment/decisions?order_id=nobody" "${O[@]}" >/dev/null; js 'console.log(d.decisions.length)')" 0
check_eq "the list needs an order_id: 422" "$(http GET "/v1/fulfillment/decisions" "${O[@]}")" 422

# milestones in any order consume exactly once
check_eq "in transit first: applied" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"m1","type":"shipment.in_transit","order_id":"L-1"}' >/dev/null; js 'console.log(d.status, d.actions.map(a => a.type + ":" + a.units).join())')" "applied reservation_consumed:2"
check_eq "shipped after in transit: stale, nothing consumed again" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"m2","type":"shipment.shipped","order_id":"L-1","decision_id":"'"$d1"'"}' >/dev/null; js 'console.log(d.status, d.actions.length)')" "stale 0"
check_eq "consumed once: reserved back, on hand down by 2" "$(totals)" "$res0 $((hand0 - 2))"
check_eq "the decision says consumed" "$(http GET "/v1/fulfillment/decisions/$d1" "${O[@]}" >/dev/null; js 'console.log(d.reservation.status, d.reservation.units)')" "consumed 2"
check_eq "nothing left to release: 409" "$(http POST "/v1/fulfillment/decisions/$d1/release" "${O[@]}")" 409
# the other orders of arrival: delivered first, then picked up; and shipped first
for first in shipment.delivered shipment.picked_up shipment.shipped; do
	id="M-${first#shipment.}"
	http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order "$id" 1 ',"reserve":true')" >/dev/null
	read -r r h <<<"$(totals)"
	for t in "$first" shipment.picked_up shipment.in_transit shipment.delivered; do
		http POST /v1/events "${O[@]}" -d '{"event_id":"'"$id-$t"'","type":"'"$t"'","order_id":"'"$id"'"}' >/dev/null
	done
	check_eq "$first first, then the rest: consumed once" "$(totals)" "$((r - 1)) $((h - 1))"
done
# eight milestones at once
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order C-1 3 ',"reserve":true')" >/dev/null
read -r r h <<<"$(totals)"
types=(shipment.shipped shipment.picked_up shipment.in_transit shipment.delivered)
for i in 1 2 3 4 5 6 7 8; do
	echo '{"event_id":"c'"$i"'","type":"'"${types[$((i % 4))]}"'","order_id":"C-1"}' >"$dir/c$i.json"
	[ "$i" -gt 1 ] && echo next
	echo "url = \"$URL/v1/events\""
	echo "header = \"Authorization: Bearer $ORCH\""
	echo 'header = "Content-Type: application/json"'
	echo "data = \"@$dir/c$i.json\""
	echo 'output = "/dev/null"'
	echo 'write-out = "%{http_code}\n"'
done >"$dir/c.cfg"
curl -s --no-progress-meter --parallel --parallel-max 8 --config "$dir/c.cfg" >"$dir/codes.txt"
check_eq "eight milestones at once: all 200" "$(sort -u "$dir/codes.txt" | tr -d '\n')" 200
check_eq "eight milestones at once: consumed once" "$(totals)" "$((r - 3)) $((h - 3))"

# a reroute moves the reservation; reroutes of one order are bounded
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order E-1 1 ',"reserve":true')" >/dev/null
prev=$(js 'console.log(d.decision_id)')
read -r r h <<<"$(totals)"
for i in 1 2 3; do
	carrier=$(http GET "/v1/fulfillment/decisions/$prev" "${O[@]}" >/dev/null; js 'console.log(d.shipments[0].carrier)')
	http POST /v1/events "${O[@]}" -d '{"event_id":"e'"$i"'","type":"shipment.delayed","order_id":"E-1","carrier":"'"$carrier"'","data":{"delay_days":5}}' >/dev/null
	new=$(js "const r = d.actions.find(a => a.type === 'reroute'); console.log(r && r.decision ? r.decision.decision_id : 'none')")
	check_eq "reroute $i: a new decision supersedes the last, reservation moved" "$(js "const r = d.actions.find(a => a.type === 'reroute').decision; console.log(r.supersedes === '$prev', r.reservation.status)")" "true reserved"
	check_eq "reroute $i: the old one is moved" "$(http GET "/v1/fulfillment/decisions/$prev" "${O[@]}" >/dev/null; js 'console.log(d.reservation.status)')" moved
	check_eq "reroute $i: still one unit held" "$(totals)" "$r $h"
	prev=$new
done
check_eq "a fourth delay: reroute_limit and a notice for a person" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"e4","type":"shipment.delayed","order_id":"E-1","data":{"delay_days":5}}' >/dev/null; js 'console.log(d.status, d.actions.filter(a => a.type === "reroute").length, d.actions.some(a => a.type === "notify" && a.template === "reroute_limit"))')" "reroute_limit 0 true"
check_eq "the order's history: four decisions, one live" "$(http GET "/v1/fulfillment/decisions?order_id=E-1" "${O[@]}" >/dev/null; js 'console.log(d.decisions.length, d.decisions.map(x => x.reservation.status).join())')" "4 reserved,moved,moved,moved"

# two decisions for one order, a delay naming the first: the first is rerouted, the
# second (the order's latest) is left as it was
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order W-1 1 ',"reserve":true')" >/dev/null
w1=$(js 'console.log(d.decision_id)')
wc=$(js 'console.log(d.shipments[0].carrier)')
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order W-1 2)" >/dev/null
w2=$(js 'console.log(d.decision_id)')
check_eq "the reroute acts on the decision the event names" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"w-e1","type":"shipment.delayed","order_id":"W-1","decision_id":"'"$w1"'","carrier":"'"$wc"'","data":{"delay_days":5}}' >/dev/null; js "const r = d.actions.find(a => a.type === 'reroute'); console.log(r.decision.supersedes === '$w1', r.decision.reservation.status, r.decision.reservation.units)")" "true reserved 1"
check_eq "the named decision is moved" "$(http GET "/v1/fulfillment/decisions/$w1" "${O[@]}" >/dev/null; js 'console.log(d.reservation.status, d.superseded_by ? "linked" : "unlinked")')" "moved linked"
check_eq "the order's latest decision is untouched" "$(http GET "/v1/fulfillment/decisions/$w2" "${O[@]}" >/dev/null; js 'console.log(d.reservation.status, d.superseded_by || "none")')" "none none"

# the same delay event from 8 clients at once: one reroute, one notification
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order D-1 1 ',"reserve":true')" >/dev/null
dc=$(js 'console.log(d.shipments[0].carrier)')
echo '{"event_id":"dup-1","type":"shipment.delayed","order_id":"D-1","carrier":"'"$dc"'","data":{"delay_days":5}}' >"$dir/dup.json"
for i in 1 2 3 4 5 6 7 8; do
	[ "$i" -gt 1 ] && echo next
	echo "url = \"$URL/v1/events\""; echo "header = \"Authorization: Bearer $ORCH\""
	echo 'header = "Content-Type: application/json"'; echo "data = \"@$dir/dup.json\""
	echo 'output = "/dev/null"'; echo 'write-out = "%{http_code}\n"'
done >"$dir/dup.cfg"
curl -s --no-progress-meter --parallel --parallel-max 8 --config "$dir/dup.cfg" >"$dir/dup.txt"
check_eq "eight copies of one event: all 200" "$(sort -u "$dir/dup.txt" | tr -d '\n')" 200
check_eq "one reroute decision logged" "$(http GET "/v1/fulfillment/decisions?order_id=D-1" "${O[@]}" >/dev/null; js 'console.log(d.decisions.length, d.decisions.map(x => x.reservation.status).join())')" "2 reserved,moved"
check_eq "one notification queued" "$(http GET "/v1/outbox?limit=1000" "${O[@]}" >/dev/null; js 'console.log(d.items.filter(m => m.event_id === "dup-1").length)')" 1

# a reroute racing a release: nothing oversold, nothing freed twice
http POST /v1/fulfillment/decisions "${O[@]}" -d "$(order X-1 1 ',"reserve":true')" >/dev/null
x1=$(js 'console.log(d.decision_id)'); xc=$(js 'console.log(d.shipments[0].carrier)')
read -r r h <<<"$(totals)"
echo '{"event_id":"x1","type":"shipment.delayed","order_id":"X-1","carrier":"'"$xc"'","data":{"delay_days":5}}' >"$dir/x1.json"
{
	echo "url = \"$URL/v1/events\""; echo "header = \"Authorization: Bearer $ORCH\""
	echo 'header = "Content-Type: application/json"'; echo "data = \"@$dir/x1.json\""
	echo 'output = "/dev/null"'; echo 'write-out = "%{http_code}\n"'; echo next
	echo "url = \"$URL/v1/fulfillment/decisions/$x1/release\""; echo "header = \"Authorization: Bearer $ORCH\""
	echo 'request = "POST"'; echo 'output = "/dev/null"'; echo 'write-out = "%{http_code}\n"'
} >"$dir/race.cfg"
curl -s --no-progress-meter --parallel --parallel-max 2 --config "$dir/race.cfg" >"$dir/race.txt"
read -r r2 h2 <<<"$(totals)"
held=$(http GET "/v1/fulfillment/decisions?order_id=X-1" "${O[@]}" >/dev/null; js 'console.log(d.decisions.filter(x => x.reservation.status === "reserved").reduce((a, x) => a + x.reservation.units, 0))')
check_eq "after the race the store holds exactly what the decisions say" "$r2" "$((r - 1 + held))"
check "at most one unit held for the order" test "$held" -le 1
check_eq "on hand untouched" "$h2" "$h"
# honest types: times are RFC 3339 strings
check_eq "outbox times are RFC 3339" "$(http GET /v1/outbox "${O[@]}" >/dev/null; js 'console.log(d.items.length > 0 && d.items.every(m => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(m.created_at)))')" true
stop_server
check_eq "the server stopped cleanly" "$SERVER_STATUS" 0
done_testing
