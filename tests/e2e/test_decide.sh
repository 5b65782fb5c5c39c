#!/bin/bash
# Fulfilment decisions end to end: answers, explanations, bad input, reservations,
# idempotency, release, the exported model, and 8 concurrent clients × 500 reserving
# orders against scarce stock.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 40 --days 10 >/dev/null 2>&1
ORCH=$(token "$dir/t.db" orchestrator)
ADMIN=$(token "$dir/t.db" admin)
start_server "$dir/t.db" --threads 2
O=(-H "Authorization: Bearer $ORCH" -H "Content-Type: application/json")
A=(-H "Authorization: Bearer $ADMIN")

order='{"order_id":"E-1","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00001","qty":2},{"sku":"SKU-00003","qty":1}],"deliver_within_days":4}'
check_eq "decision: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$order")" 200
check_eq "complete" "$(js 'console.log(d.status)')" complete
check_eq "total = shipments + split penalty" "$(js '
  const s = d.shipments.reduce((a, x) => a + x.cost, 0) + d.cost.split_penalty;
  console.log(Math.abs(s - d.cost.total) < 1e-6)')" true
check_eq "breakdown adds up" "$(js '
  const c = d.cost; console.log(Math.abs(c.shipping + c.handling + c.pick + c.split_penalty - c.total) < 1e-6)')" true
check_eq "every shipment keeps the promise" "$(js 'console.log(d.shipments.every(s => s.days_to_deliver <= 4))')" true
check_eq "explanation lists every node once" "$(js 'console.log(d.explanation.candidates + d.explanation.excluded.length)')" 48
check "excluded nodes carry a reason" js 'if (!d.explanation.excluded.every(x => /^(no_stock|beyond_zones|promise|hazmat|capacity|rule)$/.test(x.reason))) process.exit(1)'
check "solver status reported" js 'if (d.solver.status !== "optimal") process.exit(1)'
id=$(js 'console.log(d.decision_id)')
cp "$BODY_FILE" "$dir/first.json"
check_eq "the decision reads back" "$(http GET "/v1/fulfillment/decisions/$id" "${O[@]}")" 200
cp "$BODY_FILE" "$dir/again.json"
check "read back is the same answer, with where it was going and where its nodes are" \
	diff <(node -p "JSON.stringify(require('$dir/first.json'))") \
	<(node -p "const d = require('$dir/again.json'); if (!d.destination || !d.locations) process.exit(1);
		delete d.destination; delete d.locations; JSON.stringify(d)")
check_eq "unknown decision: 404" "$(http GET /v1/fulfillment/decisions/d_nope "${O[@]}")" 404

# bad input: 422 naming the field, nothing reserved
inv_before=$(http GET '/v1/inventory?limit=1000' "${A[@]}" >/dev/null; md5sum <"$BODY_FILE")
bad() { # bad NAME BODY FIELD
	local code
	code=$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$2")
	check_eq "$1: 422" "$code" 422
	check "$1: detail names $3" grep -q "\"detail\":\"$3" "$BODY_FILE"
}
bad "unknown SKU" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1},{"sku":"NOPE","qty":1}],"reserve":true}' 'lines\[1\].sku: unknown SKU'
bad "qty 0" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":0}]}' 'lines\[0\].qty'
bad "qty absurd" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":100000000}]}' 'lines\[0\].qty'
bad "qty not integer" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1.5}]}' 'lines\[0\].qty'
many=$(node -e 'console.log(JSON.stringify({order_id:"B",destination:{lat:1,lon:1},lines:Array.from({length:101},()=>({sku:"SKU-00001",qty:1}))}))')
bad "too many lines" "$many" 'lines: at most 100'
bad "lat out of range" '{"order_id":"B","destination":{"lat":91,"lon":1},"lines":[{"sku":"SKU-00001","qty":1}]}' 'destination.lat'
bad "lon missing" '{"order_id":"B","destination":{"lat":1},"lines":[{"sku":"SKU-00001","qty":1}]}' 'destination.lon'
bad "negative promise" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1}],"deliver_within_days":-1}' 'deliver_within_days'
bad "missing order_id" '{"destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1}]}' 'order_id'
bad "no lines" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[]}' 'lines: required'
bad "split flag not boolean" '{"order_id":"B","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1}],"allow_split":"no"}' 'allow_split'
inv_after=$(http GET '/v1/inventory?limit=1000' "${A[@]}" >/dev/null; md5sum <"$BODY_FILE")
check_eq "refused orders reserved nothing" "$inv_after" "$inv_before"
check_eq "orchestrator may not import" "$(http POST /v1/import "${O[@]}" -d '{}')" 403

# reservations and idempotency
reserved() { http GET "/v1/inventory?limit=1000" "${A[@]}" >/dev/null; node -e "
  const d=JSON.parse(require('fs').readFileSync('$BODY_FILE','utf8'));
  console.log(d.items.reduce((a,x)=>a+x.reserved,0))"; }
r0=$(reserved)
rorder='{"order_id":"R-1","destination":{"lat":41.88,"lon":-87.63},"lines":[{"sku":"SKU-00002","qty":2}],"reserve":true}'
check_eq "reserving decision: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d "$rorder")" 200
rid=$(js 'console.log(d.decision_id)')
check_eq "units reserved" "$(reserved)" $((r0 + 2))
check_eq "same request again: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" \
	-d '{"reserve":true,"lines":[{"sku":"SKU-00002","qty":2}],"destination":{"lon":-87.63,"lat":41.88},"order_id":"R-1"}')" 200
check_eq "… the same decision" "$(js 'console.log(d.decision_id)')" "$rid"
check_eq "… reserved nothing twice" "$(reserved)" $((r0 + 2))
check_eq "same order_id, other body: 409" "$(http POST /v1/fulfillment/decisions "${O[@]}" \
	-d '{"order_id":"R-1","destination":{"lat":41.88,"lon":-87.63},"lines":[{"sku":"SKU-00002","qty":3}],"reserve":true}')" 409
check_eq "release: 200" "$(http POST "/v1/fulfillment/decisions/$rid/release" "${O[@]}")" 200
check_eq "release freed the units" "$(reserved)" "$r0"
check_eq "release again: 409" "$(http POST "/v1/fulfillment/decisions/$rid/release" "${O[@]}")" 409
check_eq "release unknown: 404" "$(http POST /v1/fulfillment/decisions/d_x/release "${O[@]}")" 404
check_eq "partial not allowed: unfulfillable" "$(http POST /v1/fulfillment/decisions "${O[@]}" \
	-d '{"order_id":"P-1","destination":{"lat":41.88,"lon":-87.63},"lines":[{"sku":"SKU-00002","qty":99999}],"allow_partial":false}' >/dev/null; js 'console.log(d.status, d.shipments.length, d.unfilled[0].reason)')" "unfulfillable 0 partial_not_allowed"
http GET /metrics >/dev/null
check "decisions are counted in /metrics" grep -q 'fulcrum_decisions_total{status="complete"} [1-9]' "$BODY_FILE"

# the exported model re-solves to the same cost with glpsol
printf '%s' '{"order_id":"LP-1","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00001","qty":3},{"sku":"SKU-00004","qty":2},{"sku":"SKU-00009","qty":1}]}' >"$dir/lp.json"
"$FULCRUM" decide "$dir/lp.json" --db "$dir/t.db" --export-lp "$dir/m.lp" >"$dir/lp.out.json" 2>"$dir/lp.err"
check_eq "fulcrum decide exits 0" "$?" 0
check "decide --export-lp writes the model" test -s "$dir/m.lp"
glpsol --lp "$dir/m.lp" -o "$dir/m.sol" >/dev/null 2>&1
obj=$(sed -n 's/^Objective: *obj = \([0-9.e+-]*\).*/\1/p' "$dir/m.sol")
check_eq "glpsol agrees on the cost (answered to the cent)" "$(node -e "
  const d=require('$dir/lp.out.json');
  console.log(Math.abs($obj - d.cost.total) <= 0.005 + 1e-9)")" true

# waves: many orders at once, logged, and reserved atomically
node -e '
const orders = [];
for (let i = 0; i < 12; i++)
  orders.push({order_id: "W-" + i, destination: {lat: 33 + i, lon: -118 + 3 * i},
               lines: [{sku: "SKU-0000" + (1 + i % 4), qty: 1 + i % 3}], deliver_within_days: 5});
console.log(JSON.stringify({orders, reserve: true, time_limit_ms: 3000}));' >"$dir/wave.json"
r0=$(reserved)
check_eq "wave: 200" "$(http POST /v1/fulfillment/waves "${O[@]}" --data-binary @"$dir/wave.json")" 200
cp "$BODY_FILE" "$dir/wave.out.json"
check_eq "a decision per order" "$(node -p "require('$dir/wave.out.json').decisions.length")" 12
check_eq "the solver reports its bound and gap" "$(node -p "
  const s=require('$dir/wave.out.json').solver; s.bound <= require('$dir/wave.out.json').cost.total + 1e-6 && s.gap >= 0")" true
check_eq "wave units reserved atomically" "$(reserved)" "$(node -p "$r0 + require('$dir/wave.out.json').cost.units_filled")"
wid=$(node -p "require('$dir/wave.out.json').decisions[0].decision_id")
check_eq "a wave's decision reads back" "$(http GET "/v1/fulfillment/decisions/$wid" "${O[@]}")" 200
check_eq "the same orders again: 409, nothing reserved twice" \
	"$(http POST /v1/fulfillment/waves "${O[@]}" --data-binary @"$dir/wave.json")" 409
check_eq "… reservations unchanged" "$(reserved)" "$(node -p "$r0 + require('$dir/wave.out.json').cost.units_filled")"
check_eq "duplicate order_id in a wave: 422" "$(http POST /v1/fulfillment/waves "${O[@]}" \
	-d '{"orders":[{"order_id":"D","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1}]},{"order_id":"D","destination":{"lat":1,"lon":1},"lines":[{"sku":"SKU-00001","qty":1}]}]}')" 422
check "… naming it" grep -q "order_id 'D' appears twice" "$BODY_FILE"
check_eq "a bad order in a wave: 422 with its path" "$(http POST /v1/fulfillment/waves "${O[@]}" \
	-d '{"orders":[{"order_id":"E","destination":{"lat":1,"lon":1},"lines":[{"sku":"NOPE","qty":1}]}]}')" 422
check "… orders[0].lines[0].sku" grep -q '"detail":"orders\[0\].lines\[0\].sku' "$BODY_FILE"
check_eq "no orders: 422" "$(http POST /v1/fulfillment/waves "${O[@]}" -d '{"orders":[]}')" 422
check_eq "every unit or none in a wave: 200" "$(http POST /v1/fulfillment/waves "${O[@]}" \
	-d '{"orders":[{"order_id":"AP-1","destination":{"lat":41.88,"lon":-87.63},"lines":[{"sku":"SKU-00002","qty":99999}],"allow_partial":false},{"order_id":"AP-2","destination":{"lat":41.88,"lon":-87.63},"lines":[{"sku":"SKU-00002","qty":1}],"allow_partial":false}]}')" 200
check_eq "… the order that cannot be whole gets nothing, and says why" "$(js '
  const a = d.decisions.find(x => x.order_id === "AP-1");
  console.log(a.status, a.shipments.length, a.unfilled[0].reason)')" "unfulfillable 0 partial_not_allowed"
check_eq "… the one that can is filled whole" "$(js '
  const b = d.decisions.find(x => x.order_id === "AP-2");
  console.log(b.shipments.reduce((u, s) => u + s.lines.reduce((v, l) => v + l.qty, 0), 0), b.unfilled.length)')" "1 0"
node -e 'const o=[];for(let i=0;i<5;i++)o.push({order_id:"C"+i,destination:{lat:40,lon:-80},lines:[{sku:"SKU-00005",qty:1}]});console.log(JSON.stringify({orders:o}))' >"$dir/wave2.json"
"$FULCRUM" wave "$dir/wave2.json" --db "$dir/t.db" >"$dir/wave2.out.json" 2>/dev/null
check_eq "fulcrum wave (CLI) exits 0" "$?" 0
check_eq "… and answers every order" "$(node -p "require('$dir/wave2.out.json').decisions.length")" 5

# 8 clients × 500 reserving orders on scarce stock, with retried (duplicate) requests
mkdir -p "$dir/req" "$dir/resp"
node -e '
const fs = require("fs"), dir = process.argv[1], url = process.argv[2], tok = process.argv[3];
let seed = 7; const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
let cfg = "";
for (let i = 0; i < 4000; i++) {
  const id = rnd() < 0.1 && i > 10 ? Math.floor(rnd() * i) : i;
  let s2 = (id * 2654435761) % 4294967296;
  const r = () => (s2 = (s2 * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = [];
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) lines.push({sku: "SKU-0000" + (1 + Math.floor(r() * 5)), qty: 1 + Math.floor(r() * 3)});
  const body = {order_id: "C-" + id, destination: {lat: 30 + r() * 15, lon: -120 + r() * 45}, lines, reserve: true};
  fs.writeFileSync(`${dir}/req/${i}.json`, JSON.stringify(body));
  cfg += `url = "${url}/v1/fulfillment/decisions"\nheader = "Authorization: Bearer ${tok}"\nheader = "Content-Type: application/json"\ndata = "@${dir}/req/${i}.json"\noutput = "${dir}/resp/${i}.json"\nwrite-out = "%{http_code}\\n"\n` + (i < 3999 ? "next\n" : "");
}
fs.writeFileSync(`${dir}/curl.cfg`, cfg);' "$dir" "$URL" "$ORCH"
r0=$(reserved)
curl -s --no-progress-meter --parallel --parallel-max 8 --config "$dir/curl.cfg" >"$dir/codes.txt"
check_eq "4000 requests answered" "$(wc -l <"$dir/codes.txt")" 4000
check_eq "every answer is 200" "$(sort -u "$dir/codes.txt" | tr -d '\n')" 200
http GET "/v1/inventory?limit=1000" "${A[@]}" >/dev/null
cp "$BODY_FILE" "$dir/inv.json"
check_eq "no (node, sku) over-reserved" "$(node -e "
  const d=require('$dir/inv.json');
  console.log(d.items.every(x => x.reserved <= Math.max(0, x.on_hand - x.safety_stock)))")" true
check_eq "reserved total = units in distinct successful decisions" "$(node -e "
  const fs=require('fs'); const seen=new Map(); let bad=0;
  for (let i=0;i<4000;i++){ const d=JSON.parse(fs.readFileSync('$dir/resp/'+i+'.json','utf8'));
    const u=d.shipments.reduce((a,s)=>a+s.lines.reduce((b,l)=>b+l.qty,0),0);
    if (seen.has(d.order_id) && seen.get(d.order_id)[0]!==d.decision_id) bad++;
    seen.set(d.order_id,[d.decision_id,u]); }
  const total=[...seen.values()].reduce((a,v)=>a+v[1],0);
  const inv=require('$dir/inv.json').items.reduce((a,x)=>a+x.reserved,0);
  console.log(bad===0 && total===inv-$r0 ? 'yes' : 'no: '+total+' vs '+(inv-$r0)+' bad '+bad)")" yes
check "stock ran out: some orders partial or unfulfillable" bash -c "grep -lq '\"status\":\"\\(partial\\|unfulfillable\\)\"' $dir/resp/*.json"
stop_server
check_eq "server stopped cleanly" "$SERVER_STATUS" 0
done_testing
