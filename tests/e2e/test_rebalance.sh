#!/bin/bash
# Rebalancing end to end: the CLI's summary and transfer file, bad input, and over HTTP:
# a scenario stored and read back, two compared, one accepted (its transfers in transit
# are the next scenario's starting stock), refusals with the field named.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 60 --days 200 >/dev/null 2>&1

"$FULCRUM" rebalance --db "$dir/t.db" --horizon 14 --transfers "$dir/tr.csv" >"$dir/out" 2>"$dir/err"
check_eq "rebalance: exit 0" "$?" 0
check "summary: solver line with its gap" grep -q "^solver: \(optimal\|feasible\), gap" "$dir/out"
check "summary: cost breakdown" grep -q "^cost: total .* = transfers .* + fixed .* + shortage" "$dir/out"
check "summary: fill rate before and after" grep -q "^fill rate .*% -> .*%" "$dir/out"
check "summary: the greedy baseline beside it" grep -q "^greedy baseline" "$dir/out"
check_eq "transfers file header" "$(head -1 "$dir/tr.csv")" "from,to,sku,qty,cost"
check "every transfer moves whole units between two nodes" awk -F, 'NR>1 && ($1 == $2 || $4 < 1 || $4 != int($4)) {exit 1}' "$dir/tr.csv"
check "the optimised plan costs no more than greedy" awk '/^greedy baseline/ {split($0, a, "= "); exit !(a[2] + 0 <= 1.0000001)}' "$dir/out"
"$FULCRUM" rebalance --db "$dir/t.db" --horizon 0 >/dev/null 2>"$dir/err"
check_eq "horizon 0: exit 1" "$?" 1
check "horizon 0: named" grep -q "horizon_days: must be a number from 1 to 365" "$dir/err"
"$FULCRUM" rebalance --db "$dir/t.db" --close NOPE >/dev/null 2>"$dir/err"
check "unknown closed node: named" grep -q "closed_nodes\[0\]: 'NOPE' is not a node" "$dir/err"
"$FULCRUM" rebalance --db "$dir/t.db" --multiplier region=west:-2 >/dev/null 2>"$dir/err"
check "negative factor: named" grep -q "demand_multiplier\[0\].factor" "$dir/err"
"$FULCRUM" rebalance --db "$dir/t.db" --horizon 7 --export-lp "$dir/m.lp" >/dev/null 2>&1
check "the model exports as CPLEX LP" grep -q "^Subject To" "$dir/m.lp"

PLAN=$(token "$dir/t.db" planner)
ORCH=$(token "$dir/t.db" orchestrator)
start_server "$dir/t.db" --threads 2
P=(-H "Authorization: Bearer $PLAN" -H "Content-Type: application/json")
check_eq "POST scenario: 201" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"base","horizon_days":14,"shortage_penalty":25}')" 201
check "the contract's fields" jq_like "$BODY_FILE" scenario_id transfers cost total transfer fixed shortage fill_rate before after solver
check_eq "cost adds up (to the cent: each figure is rounded)" "$(js 'const c = d.cost; console.log(Math.abs(c.transfer + c.fixed + c.shortage - c.total) < 0.02)')" true
check_eq "transfer costs add up (to the cent per line)" "$(js 'console.log(Math.abs(d.transfers.reduce((a, t) => a + t.cost, 0) - d.cost.transfer) < 0.01 * d.transfers.length + 0.01)')" true
check_eq "the bound is below the plan" "$(js 'console.log(d.solver.bound <= d.cost.total + 0.01 && d.solver.gap >= 0)')" true
check_eq "fill rate does not fall" "$(js 'console.log(d.fill_rate.after >= d.fill_rate.before)')" true
a=$(js 'console.log(d.scenario_id)')
short_after=$(js 'console.log(d.shortage_units.after)')
check_eq "GET it back: 200" "$(http GET "/v1/rebalancing/scenarios/$a" "${P[@]}")" 200
check_eq "same scenario, not accepted" "$(js 'console.log(d.scenario_id, d.accepted_at)')" "$a null"
check_eq "what-if: west sells 50% more" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"west+50","overrides":{"demand_multiplier":[{"region":"west","factor":1.5}]}}')" 201
b=$(js 'console.log(d.scenario_id)')
bcost=$(js 'console.log(d.cost.total)')
check_eq "compare: 200" "$(http GET "/v1/rebalancing/scenarios?compare=$a,$b" "${P[@]}")" 200
check_eq "compare: both named, b − a" "$(js "console.log(d.scenarios[0].name, d.scenarios[1].name, Math.abs(d.compare.cost_total.b - $bcost) < 1e-6, Math.abs(d.compare.cost_total.delta - (d.compare.cost_total.b - d.compare.cost_total.a)) < 1e-6)")" "base west+50 true true"
check "compare: by region" js 'if (!d.fill_rate_by_region.west) process.exit(1)'
check_eq "money to the cent" "$(http GET "/v1/rebalancing/scenarios/$b" "${P[@]}" >/dev/null; js 'const c = [d.cost.total, d.cost.transfer, d.cost.fixed, d.cost.shortage, ...d.transfers.map(t => t.cost)]; console.log(c.every(x => Math.abs(x * 100 - Math.round(x * 100)) < 1e-6))')" true
check_eq "CSV: 200" "$(http GET "/v1/rebalancing/scenarios/$b" "${P[@]}" -H "Accept: text/csv")" 200
check_eq "CSV: its header" "$(head -1 "$BODY_FILE")" "from,to,sku,qty,cost"
check_eq "CSV: one line per transfer" "$(($(wc -l <"$BODY_FILE") - 1))" "$(http GET "/v1/rebalancing/scenarios/$b" "${P[@]}" >/dev/null; js 'console.log(d.transfers.length)')"
check_eq "the list: 200" "$(http GET "/v1/rebalancing/scenarios" "${P[@]}")" 200
check_eq "newest first, with name, status and cost" "$(js "console.log(d.scenarios.slice(0, 2).map(s => s.scenario_id).join(), d.scenarios[0].name, d.scenarios[0].status, typeof d.scenarios[0].cost.total, d.scenarios[0].accepted)")" "$b,$a west+50 done number false"
check_eq "paged" "$(http GET "/v1/rebalancing/scenarios?limit=1" "${P[@]}" >/dev/null; js 'console.log(d.scenarios.length, d.next)')" "1 $b"
check_eq "the next page" "$(http GET "/v1/rebalancing/scenarios?limit=1&after=$b" "${P[@]}" >/dev/null; js 'console.log(d.scenarios[0].scenario_id)')" "$a"
check_eq "filtered by name" "$(http GET "/v1/rebalancing/scenarios?name=base" "${P[@]}" >/dev/null; js 'console.log(d.scenarios.map(s => s.scenario_id).join())')" "$a"
check_eq "an unknown status: 422" "$(http GET "/v1/rebalancing/scenarios?status=sleeping" "${P[@]}")" 422
# the first transfer of scenario a: its source, SKU and units, and the stock there now
http GET "/v1/rebalancing/scenarios/$a" "${P[@]}" >/dev/null
read -r tf tt tk tq <<<"$(js 'const t = d.transfers[0]; console.log(t.from, t.to, t.sku, d.transfers.filter(x => x.from === t.from && x.sku === t.sku).reduce((a, x) => a + x.qty, 0))')"
inv_row() { http GET "/v1/inventory?node=$1&sku=$2" "${P[@]}" >/dev/null; js 'const r = d.items[0]; console.log(r.committed_out, r.in_transit_in, r.atp, Math.max(0, r.on_hand - r.reserved - r.safety_stock - r.committed_out))'; }
read -r c0 _ atp0 _ <<<"$(inv_row "$tf" "$tk")"
check_eq "accept: 200" "$(http POST "/v1/rebalancing/scenarios/$a/accept" "${P[@]}")" 200
read -r c1 _ atp1 atpx <<<"$(inv_row "$tf" "$tk")"
check_eq "accepted units are committed at the source" "$c1" "$((c0 + tq))"
check_eq "…and no longer available to promise there" "$atp1" "$atpx"
check "…so sourcing cannot sell them" test "$atp1" -le "$atp0"
check "the destination shows them in transit" test "$(inv_row "$tt" "$tk" | cut -d' ' -f2)" -gt 0
check_eq "accept again: 409" "$(http POST "/v1/rebalancing/scenarios/$a/accept" "${P[@]}")" 409
check_eq "a second plan on the same stock: 409" "$(http POST "/v1/rebalancing/scenarios/$b/accept" "${P[@]}")" 409
check "…saying what moved and how to rerun" grep -q "transfers accepted since.*rerun" "$BODY_FILE"
check_eq "listed as accepted" "$(http GET "/v1/rebalancing/scenarios?name=base" "${P[@]}" >/dev/null; js 'console.log(d.scenarios[0].accepted, /Z$/.test(d.scenarios[0].accepted_at))')" "true true"
http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"after","horizon_days":14,"shortage_penalty":25}' >/dev/null
check_eq "transfers in transit are the next scenario's stock" "$(js 'console.log(d.shortage_units.before)')" "$short_after"
check_eq "rerun: 201" "$(http POST "/v1/rebalancing/scenarios/$b/rerun" "${P[@]}")" 201
c=$(js 'console.log(d.scenario_id)')
check_eq "a new scenario, the same request" "$(js "console.log(d.rerun_of, d.name, '$c' !== '$b')")" "$b west+50 true"
check_eq "the rerun accepts: 200" "$(http POST "/v1/rebalancing/scenarios/$c/accept" "${P[@]}")" 200
# transfer orders: one per accepted line, shipped and received through events
check_eq "transfers of a: 200" "$(http GET "/v1/transfers?scenario_id=$a&limit=1000" "${P[@]}")" 200
check_eq "one planned order per line of a" "$(js 'console.log(d.transfers.length, d.transfers.every(t => t.status === "planned" && t.shipped === 0 && /^t_[0-9]+$/.test(t.transfer_id)))')" "$(http GET "/v1/rebalancing/scenarios/$a" "${P[@]}" >/dev/null; js 'console.log(d.transfers.length)') true"
http GET "/v1/transfers?scenario_id=$a&limit=1000" "${P[@]}" >/dev/null
read -r t1 t1f t1t t1k t1q t2 t2f t2k t2q <<<"$(js 'const a = d.transfers.find(t => t.qty >= 2) || d.transfers[0]; const b = d.transfers.find(t => t !== a); console.log(a.transfer_id, a.from, a.to, a.sku, a.qty, b.transfer_id, b.from, b.sku, b.qty)')"
inv() { http GET "/v1/inventory?node=$1&sku=$2" "${P[@]}" >/dev/null; js 'const r = d.items[0] || {on_hand: 0, committed_out: 0, in_transit_in: 0}; console.log(r.on_hand, r.committed_out, r.in_transit_in)'; }
read -r src_oh src_c _ <<<"$(inv "$t1f" "$t1k")"
read -r dst_oh _ dst_in <<<"$(inv "$t1t" "$t1k")"
O=(-H "Authorization: Bearer $ORCH" -H "Content-Type: application/json")
ev() { http POST /v1/events "${O[@]}" -d "{\"event_id\":\"$1\",\"type\":\"$2\",\"data\":{\"transfer_id\":\"$3\"${4:-}}}"; }
check_eq "transfer.shipped, one unit: 200" "$(ev tr-1 transfer.shipped "$t1" ',"qty":1')" 200
check_eq "…says what moved" "$(js 'const a = d.actions.find(x => x.type === "transfer_shipped"); console.log(d.status, a && a.units)')" "applied 1"
check_eq "the source's on-hand and commitment fall by it" "$(inv "$t1f" "$t1k")" "$((src_oh - 1)) $((src_c - 1)) $(inv "$t1f" "$t1k" | cut -d' ' -f3)"
check_eq "the same event again: duplicate, nothing moves" "$(ev tr-1 transfer.shipped "$t1" ',"qty":1'; js 'console.log(d.status)') $(inv "$t1f" "$t1k" | cut -d' ' -f1)" "200duplicate $((src_oh - 1))"
check_eq "more than is left to ship: 422" "$(ev tr-2 transfer.shipped "$t1" ",\"qty\":$t1q")" 422
check "…saying how much is left" grep -q "more than the $((t1q - 1)) left to ship" "$BODY_FILE"
check_eq "…and recorded nothing" "$(inv "$t1f" "$t1k" | cut -d' ' -f1)" "$((src_oh - 1))"
check_eq "receiving more than shipped: 422" "$(ev tr-3 transfer.received "$t1" ',"qty":2')" 422
check_eq "the rest shipped (no qty: all that is left)" "$(ev tr-4 transfer.shipped "$t1"; js 'console.log(d.actions[0].units)')" "200$((t1q - 1))"
check_eq "the source gave exactly the transfer's units, once" "$(inv "$t1f" "$t1k" | cut -d' ' -f1-2)" "$((src_oh - t1q)) $((src_c - t1q))"
check_eq "shipped in full" "$(http GET "/v1/transfers/$t1" "${P[@]}" >/dev/null; js 'console.log(d.status, d.shipped, d.received)')" "shipped $t1q 0"
check_eq "a partial receipt: 200" "$(ev tr-5 transfer.received "$t1" ',"qty":1')" 200
check_eq "the destination's on-hand rises by it, in transit falls" "$(inv "$t1t" "$t1k" | cut -d' ' -f1,3)" "$((dst_oh + 1)) $((dst_in - 1))"
check_eq "the rest received" "$(ev tr-6 transfer.received "$t1"; js 'console.log(d.actions[0].type, d.actions[0].units)')" "200transfer_received $((t1q - 1))"
check_eq "received: the destination holds them all, once" "$(inv "$t1t" "$t1k" | cut -d' ' -f1,3) $(http GET "/v1/transfers/$t1" "${P[@]}" >/dev/null; js 'console.log(d.status)')" "$((dst_oh + t1q)) $((dst_in - t1q)) received"
check_eq "listed by status" "$(http GET "/v1/transfers?status=received" "${P[@]}" >/dev/null; js 'console.log(d.transfers.map(t => t.transfer_id).join())')" "$t1"
check_eq "an unknown transfer: 200 unknown_transfer, nothing moves" "$(ev tr-7 transfer.shipped t_999999; js 'console.log(d.status, d.actions.length)')" "200unknown_transfer 0"
check_eq "no transfer_id: 422" "$(http POST /v1/events "${O[@]}" -d '{"event_id":"tr-8","type":"transfer.shipped","data":{}}')" 422
read -r _ c2 _ <<<"$(inv "$t2f" "$t2k")"
check_eq "cancel a planned transfer: 200" "$(http POST "/v1/transfers/$t2/cancel" "${P[@]}"; js 'console.log(d.status)')" "200cancelled"
check_eq "…its units no longer committed" "$(inv "$t2f" "$t2k" | cut -d' ' -f2)" "$((c2 - t2q))"
check_eq "a shipped one cannot be cancelled: 409" "$(http POST "/v1/transfers/$t1/cancel" "${P[@]}")" 409
check_eq "nor shipped once cancelled: 422" "$(ev tr-9 transfer.shipped "$t2")" 422
check_eq "an unknown status filter: 422" "$(http GET "/v1/transfers?status=lost" "${P[@]}")" 422
check_eq "rerun of nothing: 404" "$(http POST "/v1/rebalancing/scenarios/s_nope/rerun" "${P[@]}")" 404
http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"overrides":{"demand":[{"node":"ST-ABQ","sku":"SKU-00001","qty":100000}]}}' >/dev/null
check_eq "an impossible demand is an explained shortage" "$(js 'const u = d.shortage_units.unserved.find(x => x.node === "ST-ABQ" && x.sku === "SKU-00001"); console.log(u && u.units > 90000 && /^(no_supply|cost_or_capacity)$/.test(u.reason))')" true

bad() { # bad NAME BODY FIELD
	check_eq "$1: 422" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d "$2")" 422
	check "$1: names $3" grep -q "$3" "$BODY_FILE"
}
bad "unknown node in an override" '{"overrides":{"demand_multiplier":[{"node":"NOPE","factor":2}]}}' "node: 'NOPE' not found"
bad "negative factor" '{"overrides":{"demand_multiplier":[{"region":"west","factor":-1}]}}' "factor"
bad "horizon 0" '{"horizon_days":0}' "horizon_days"
bad "horizon beyond the limit" '{"horizon_days":400}' "horizon_days"
bad "unknown field" '{"horizon":14}' "horizon: unknown field"
bad "closed node unknown" '{"overrides":{"closed_nodes":["NOPE"]}}' "closed_nodes"
check_eq "unknown scenario: 404" "$(http GET /v1/rebalancing/scenarios/s_nope "${P[@]}")" 404
check_eq "compare needs two: 422" "$(http GET "/v1/rebalancing/scenarios?compare=$a" "${P[@]}")" 422
# lot rules: no line below min_transfer_units, lines in whole case packs
check_eq "min_transfer_units 5: 201" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"lots","min_transfer_units":5}')" 201
check_eq "…every line at least 5, rounded and said so" "$(js 'console.log(d.transfers.length > 0, d.transfers.every(t => t.qty >= 5), d.solver.rounded_to_lots, d.solver.lot_rules.min_transfer_units, d.solver.bound <= d.cost.total)')" "true true true 5 true"
check "…the summary by lane adds up to the plan" js 'const u = d.lanes.reduce((a, l) => a + l.units, 0), m = d.transfers.reduce((a, t) => a + t.qty, 0); if (u !== m || u !== d.units_moved || d.largest_transfers[0].qty < d.transfers[d.transfers.length - 1].qty) process.exit(1)'
check_eq "min_transfer_units 0: 422" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"min_transfer_units":0}')" 422
check_eq "lines paged: 200" "$(http GET "/v1/rebalancing/scenarios/$a?lines_limit=2&lines_after=1" "${P[@]}")" 200
check_eq "…two lines from the second, the total and the next page" "$(js 'console.log(d.transfers.length, d.transfers_total > 3, d.transfers_next)')" "2 true 3"
check_eq "lines_limit 0: 422" "$(http GET "/v1/rebalancing/scenarios/$a?lines_limit=0" "${P[@]}")" 422
# a scenario's own tolerance: stock that drifts within it does not block accepting
http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"strict"}' >/dev/null
strict=$(js 'console.log(d.scenario_id)')
http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"lenient","stock_tolerance":1000000}' >/dev/null
lenient=$(js 'console.log(d.scenario_id)')
check_eq "a reservation moves stock: 200" "$(http POST /v1/fulfillment/decisions "${O[@]}" -d '{"order_id":"TOL-1","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00003","qty":1}],"reserve":true}'; js 'console.log(d.reservation.status)')" "200reserved"
check_eq "tolerance 0 (the default): 409" "$(http POST "/v1/rebalancing/scenarios/$strict/accept" "${P[@]}")" 409
check_eq "within its tolerance: accepted" "$(http POST "/v1/rebalancing/scenarios/$lenient/accept" "${P[@]}")" 200
check_eq "stock_tolerance -1: 422" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"stock_tolerance":-1}')" 422

stop_server
mkdir -p "$dir/csv"
"$FULCRUM" export "$dir/csv" --db "$dir/t.db" >/dev/null 2>&1
check_eq "the export has skus.csv's case_pack column" "$(head -1 "$dir/csv/skus.csv" | awk -F, '{print $NF}')" case_pack
awk -F, 'NR > 1 {$NF = NR % 2 ? 3 : ""} {print}' OFS=, "$dir/csv/skus.csv" >"$dir/skus.csv"
mkdir -p "$dir/packs" && cp "$dir/skus.csv" "$dir/packs/skus.csv"
check "skus.csv with case_pack imports" "$FULCRUM" import "$dir/packs" --db "$dir/t.db"
"$FULCRUM" export "$dir/csv2" --db "$dir/t.db" >/dev/null 2>&1
check_eq "…and exports as imported (empty is 1)" "$(awk -F, 'NR > 1 && $NF == 3' "$dir/csv2/skus.csv" | wc -l)" "$(awk -F, 'NR > 1 && $NF == 3' "$dir/skus.csv" | wc -l)"
awk -F, 'NR == 1 {print $0; next} NR == 2 {$NF = 0} {print}' OFS=, "$dir/skus.csv" >"$dir/packs/skus.csv"
"$FULCRUM" import "$dir/packs" --db "$dir/t.db" >/dev/null 2>"$dir/err"
check "case_pack 0: refused on its line" grep -q "2: case_pack: a whole number of units from 1" "$dir/err"
start_server "$dir/t.db" --threads 2
for _i in $(seq 1 600); do # the import made the forecasts stale: the batch runs again
	http GET /v1/forecasts/status "${P[@]}" >/dev/null
	[ "$(js 'console.log(d.state)')" = ready ] && break
	sleep 0.1
done
check_eq "case packs and a minimum: 201" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"packs","min_transfer_units":5}')" 201
awk -F, 'NR > 1 && $NF == 3 {print $1}' "$dir/skus.csv" >"$dir/packed"
check "…every packed SKU's line in whole packs of 3, at least 6" node -e "
const d = JSON.parse(require('fs').readFileSync('$BODY_FILE', 'utf8'));
const packed = new Set(require('fs').readFileSync('$dir/packed', 'utf8').split('\n').filter(Boolean));
const bad = d.transfers.filter(t => packed.has(t.sku) ? (t.qty % 3 || t.qty < 6) : t.qty < 5);
process.exit(bad.length || !d.transfers.some(t => packed.has(t.sku)) ? 1 : 0);"
check_eq "orchestrators may not plan: 403" "$(http POST /v1/rebalancing/scenarios -H "Authorization: Bearer $ORCH" -H "Content-Type: application/json" -d '{}')" 403
stop_server
done_testing
