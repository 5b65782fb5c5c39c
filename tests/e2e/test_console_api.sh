#!/bin/bash
# What the console stands on, without a browser: GET / with its policy and a fresh nonce,
# the embedded assets, /v1/me, an order's timeline, a decision's destination and
# locations, a forecast's actuals, the decision counters in /metrics, replay's rules.
set -u
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 50 --days 60 >/dev/null 2>&1
ADMIN=$(token "$dir/t.db" admin)
ANALYST=$(token "$dir/t.db" analyst)
ORCH=$(token "$dir/t.db" orchestrator)
start_server "$dir/t.db"
A=(-H "Authorization: Bearer $ADMIN")
js2() { node -e "const d=JSON.parse(require('fs').readFileSync('$BODY_FILE','utf8')); $1" || { cat "$BODY_FILE"; return 1; }; }
J=(-H "Content-Type: application/json")

# the page and its assets: public, from the binary, under a strict policy
check_eq "GET / 200" "$(http GET /)" 200
check "GET / is the console's page" grep -q '/console/app.js' "$BODY_FILE"
csp1=$(header Content-Security-Policy)
check "the policy allows script from this server only" grep -q "script-src 'self';" <<<"$csp1"
check "the policy allows no inline script" bash -c "! grep -q \"script-src[^;]*unsafe\" <<<\"$csp1\""
check "the policy allows connections to this server only" grep -q "connect-src 'self';" <<<"$csp1"
nonce1=$(sed -n 's/.*csp-nonce" content="\([0-9a-f]*\)".*/\1/p' "$BODY_FILE")
check "the page carries its nonce, and the policy names it" grep -q "'nonce-$nonce1'" <<<"$csp1"
check_eq "the nonce is 128 bits in hex" "${#nonce1}" 32
http GET / >/dev/null
nonce2=$(sed -n 's/.*csp-nonce" content="\([0-9a-f]*\)".*/\1/p' "$BODY_FILE")
check "every page gets a fresh nonce" test "$nonce1" != "$nonce2"
check_eq "the page is not cached" "$(header Cache-Control)" no-store
check_eq "the script: 200" "$(http GET /console/app.js)" 200
check "the script is JavaScript" grep -q '^text/javascript' <<<"$(header Content-Type)"
chunk=$(grep -o 'chunk-[A-Z0-9]*\.js' "$BODY_FILE" | head -1)
check "the script names the chunks it loads later" test -n "$chunk"
check_eq "a chunk: 200" "$(http GET "/console/$chunk")" 200
check "a chunk is JavaScript" grep -q '^text/javascript' <<<"$(header Content-Type)"
check "the script loads no font or style from elsewhere" bash -c "! grep -Eq '@import url\\(|fonts\\.googleapis|cdn\\.' '$BODY_FILE'"
check_eq "the style sheet: 200" "$(http GET /console/app.css)" 200
check "the style sheet is CSS" grep -q '^text/css' <<<"$(header Content-Type)"
check_eq "the rule reference: 200" "$(http GET /console/rules.md)" 200
check "the rule reference is docs/RULES.md" cmp -s "$BODY_FILE" docs/RULES.md
check_eq "another file under /console: 404" "$(http GET /console/other.js)" 404
check_eq "a path without a file name: 404" "$(http GET /console/app)" 404
check_eq "POST / : 405" "$(http POST /)" 405

# who am I
check_eq "me without a token: 401" "$(http GET /v1/me)" 401
check_eq "me: 200" "$(http GET /v1/me -H "Authorization: Bearer $ANALYST")" 200
check "me names the role" js 'if (d.role !== "analyst" || !/^[0-9a-f]{16}$/.test(d.token_id)) process.exit(1)'
http GET /v1/me -H "Authorization: Bearer $ORCH" >/dev/null
check "me names each role" js 'if (d.role !== "orchestrator") process.exit(1)'

# an order's timeline
code=$(http POST /v1/fulfillment/decisions "${A[@]}" "${J[@]}" -d '{"order_id":"TL-1","destination":{"lat":40.71,"lon":-74.0,"region":"northeast"},"lines":[{"sku":"SKU-00001","qty":1}],"reserve":true}')
check_eq "a reserving decision" "$code" 200
DID=$(js 'console.log(d.decision_id)')
NODE=$(js 'console.log(d.shipments[0].node)')
code=$(http POST /v1/events "${A[@]}" "${J[@]}" -d '{"event_id":"tl-e1","type":"shipment.picked_up","occurred_at":"2026-11-30T10:00:00Z","order_id":"TL-1","decision_id":"'"$DID"'"}')
check_eq "an event for it" "$code" 200
check_eq "timeline: 200" "$(http GET /v1/orders/TL-1/timeline "${A[@]}")" 200
check "timeline: the decision, then the event, oldest first" js2 '
  const k = d.entries.map((e) => e.kind);
  if (k[0] !== "decision" || !k.includes("event") || d.more !== false) process.exit(1);
  const e = d.entries.find((x) => x.kind === "event");
  if (e.type !== "shipment.picked_up" || e.status !== "applied" || e.decision_id !== "'"$DID"'") process.exit(1);
  const dd = d.entries[0];
  if (dd.id !== "'"$DID"'" || dd.status !== "complete" || dd.reserved_units !== 1 || dd.nodes[0] !== "'"$NODE"'") process.exit(1);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(dd.at)) process.exit(1)'
check_eq "timeline of an unknown order: 404" "$(http GET /v1/orders/NOPE/timeline "${A[@]}")" 404
check_eq "timeline for an analyst: 403" "$(http GET /v1/orders/TL-1/timeline -H "Authorization: Bearer $ANALYST")" 403
check_eq "timeline for an orchestrator: 200" "$(http GET /v1/orders/TL-1/timeline -H "Authorization: Bearer $ORCH")" 200

# a decision read back: where it was going, where its nodes are
check_eq "decision read back: 200" "$(http GET "/v1/fulfillment/decisions/$DID" "${A[@]}")" 200
check "the decision carries its destination" js 'if (d.destination.lat !== 40.71 || d.destination.lon !== -74.0) process.exit(1)'
check "the decision locates its shipping node and its alternatives" js '
  const l = d.locations["'"$NODE"'"];
  if (!l || typeof l.lat !== "number" || typeof l.lon !== "number" || !l.name) process.exit(1);
  for (const a of d.explanation.alternatives || []) if (!d.locations[a.node]) process.exit(1)'

# a forecast with the history just before it
check_eq "forecast: 200" "$(http GET '/v1/forecasts?node=DC-ATL&sku=SKU-00001&horizon=7' "${A[@]}")" 200
check "forecast: actuals end on the history's last day, at most 120 of them" js '
  const a = d.actuals;
  if (!a.length || a.length > 120 || a[a.length - 1].date !== d.history.last) process.exit(1);
  if (a.length !== Math.min(120, d.history.days)) process.exit(1);
  if (a.some((x) => typeof x.qty !== "number" || x.qty < 0)) process.exit(1)'

# /metrics: shipments, units asked and shipped
http POST /v1/fulfillment/decisions "${A[@]}" "${J[@]}" -d '{"order_id":"TL-2","destination":{"lat":34.05,"lon":-118.24},"lines":[{"sku":"SKU-00002","qty":2},{"sku":"SKU-00003","qty":90000}]}' >/dev/null
check "a partial decision" js 'if (d.status !== "partial") process.exit(1)'
filled=$(js 'console.log(d.shipments.reduce((a, s) => a + s.lines.reduce((b, l) => b + l.qty, 0), 0))')
http GET /metrics >/dev/null
m() { sed -n "s/^$1 //p" "$BODY_FILE"; }
check_eq "metrics: units asked over both decisions" "$(m fulcrum_units_requested_total)" $((1 + 2 + 90000))
check_eq "metrics: units shipped over both decisions" "$(m fulcrum_units_filled_total)" $((1 + filled))
check "metrics: shipments counted" test "$(m fulcrum_decision_shipments_total)" -ge 2
check_eq "metrics: no rule failure yet" "$(m fulcrum_rule_failures_total)" 0

# replay names the rules behind each change
cat >"$dir/ex.lua" <<'LUA'
rules = {
  {
    name = "no_dc_atl",
    before_sourcing = function(order, ctx) ctx:exclude_node("DC-ATL", "test: never DC-ATL") end,
  },
}
tests = {}
LUA
for o in 3 4 5 6; do
	http POST /v1/fulfillment/decisions "${A[@]}" "${J[@]}" -d '{"order_id":"TL-A'$o'","destination":{"lat":33.75,"lon":-84.39},"lines":[{"sku":"SKU-0000'$o'","qty":1}]}' >/dev/null
done
check_eq "push a set that excludes DC-ATL" "$(http PUT /v1/rules/ex "${A[@]}" -H 'Content-Type: text/x-lua' --data-binary @"$dir/ex.lua")" 201
check_eq "replay it: 200" "$(http POST /v1/rules/ex/replay "${A[@]}" "${J[@]}" -d '{"version":1,"limit":50}')" 200
check "every change names the rule behind it" js '
  if (!d.changes.length) process.exit(1);
  for (const c of d.changes) if (!Array.isArray(c.rules)) process.exit(1);
  if (!d.changes.some((c) => c.rules.includes("ex/no_dc_atl"))) process.exit(1)'
done_testing
