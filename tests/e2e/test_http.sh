#!/bin/bash
# The HTTP service end to end: the real binary on 127.0.0.1, spoken to with curl.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 50 --days 20 >/dev/null 2>&1
ADMIN=$(token "$dir/t.db" admin)
PLANNER=$(token "$dir/t.db" planner)
ORCH=$(token "$dir/t.db" orchestrator)
check "token is the last word, fk_ form" grep -q '^fk_[0-9a-f]\{16\}_[0-9a-f]\{64\}$' <<<"$ADMIN"
check "the secret is not stored" bash -c "! sqlite3 '$dir/t.db' .dump 2>/dev/null | grep -q '${ADMIN##*_}'"

start_server "$dir/t.db" --threads 2 --body-limit 4096 --import-limit 4096
A=(-H "Authorization: Bearer $ADMIN")
J=(-H "Content-Type: application/json")

check_eq "healthz 200" "$(http GET /healthz)" 200
check "a request id is minted" grep -q '^req_' <<<"$(header X-Request-Id)"
http GET /healthz -H "X-Request-Id: caller-42" >/dev/null
check_eq "the caller's request id is echoed" "$(header X-Request-Id)" caller-42
check_eq "readyz 200" "$(http GET /readyz)" 200
check_eq "metrics 200" "$(http GET /metrics)" 200
check "metrics count requests by route and status" \
	grep -q 'fulcrum_http_requests_total{route="/healthz",method="GET",status="200"}' "$BODY_FILE"
check "metrics have a latency histogram" \
	grep -q 'fulcrum_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="+Inf"}' "$BODY_FILE"
check "metrics have in-flight and decisions" \
	bash -c "grep -q fulcrum_http_requests_in_flight '$BODY_FILE' && grep -q fulcrum_decisions_total '$BODY_FILE'"

# access
check_eq "no token: 401" "$(http GET /v1/nodes)" 401
check_eq "401 is a problem document" "$(header Content-Type)" "application/problem+json"
check "problem has type, title, status, detail, request_id" \
	jq_like "$BODY_FILE" type title status detail request_id
check_eq "bad token: 401" "$(http GET /v1/nodes -H 'Authorization: Bearer fk_0000000000000000_00')" 401
last=${ADMIN#"${ADMIN%?}"}
forged="${ADMIN%?}$([ "$last" = 0 ] && echo 1 || echo 0)" # differs in the last character
check_eq "forged secret: 401" "$(http GET /v1/nodes -H "Authorization: Bearer $forged")" 401
check_eq "orchestrator on nodes: 403" "$(http GET /v1/nodes -H "Authorization: Bearer $ORCH")" 403
check_eq "planner on nodes: 200" "$(http GET /v1/nodes -H "Authorization: Bearer $PLANNER")" 200
check "nodes are listed" grep -q '"id":"DC-ATL"' "$BODY_FILE"
check_eq "planner may not import: 403" \
	"$(http POST /v1/import -H "Authorization: Bearer $PLANNER" "${J[@]}" -d '{}')" 403
"$FULCRUM" token revoke "$(cut -d_ -f2 <<<"$PLANNER")" --db "$dir/t.db" >/dev/null
check_eq "revoked token: 401" "$(http GET /v1/nodes -H "Authorization: Bearer $PLANNER")" 401

# routes and errors
check_eq "unknown route: 404" "$(http GET /v1/nope "${A[@]}")" 404
# an encoded NUL or control character in the path never cuts it short (issue 15)
check_eq "an encoded NUL in a rule set's name: 400" "$(http PUT "/v1/rules/ab%00cd" "${A[@]}" -H "Content-Type: text/x-lua" -d 'x')" 400
check "the problem names the control character" grep -q "control character" "$BODY_FILE"
check_eq "…and nothing named ab was stored" "$(http GET /v1/rules/ab/versions "${A[@]}")" 404
check_eq "an encoded NUL after a decision id: 400" "$(http GET "/v1/fulfillment/decisions/d_x%00junk" "${A[@]}")" 400
check_eq "an encoded newline: 400" "$(http GET "/v1/rules/a%0Ab/versions" "${A[@]}")" 400
check_eq "ordinary escapes still decode" "$(http GET "/v1/rules/%61bc/versions" "${A[@]}")" 404
check "…to the name they spell" grep -q "'abc'" "$BODY_FILE"
check_eq "two Authorization headers: 400" "$(http GET /v1/nodes "${A[@]}" -H "Authorization: Bearer fk_x")" 400
check_eq "wrong method: 405" "$(http DELETE /v1/nodes "${A[@]}")" 405
check_eq "405 carries Allow" "$(header Allow)" GET
check_eq "wrong content type: 415" "$(http POST /v1/import "${A[@]}" -H 'Content-Type: text/csv' -d 'x')" 415
check_eq "malformed JSON: 400" "$(http POST /v1/import "${A[@]}" "${J[@]}" -d '{"a":')" 400
check "400 detail names the body" grep -q '"detail":"body: ' "$BODY_FILE"
deep=$(printf '%.0s[' $(seq 40))$(printf '%.0s]' $(seq 40))
check_eq "JSON nested too deep: 400" "$(http POST /v1/import "${A[@]}" "${J[@]}" -d "{\"a\":$deep}")" 400
check "deep detail says so" grep -q 'nested deeper than' "$BODY_FILE"
printf '{"zones.csv":"\xff"}' >"$dir/bad-utf8.json"
check_eq "invalid UTF-8: 400" "$(http POST /v1/import "${A[@]}" "${J[@]}" --data-binary @"$dir/bad-utf8.json")" 400
head -c 5000 /dev/zero | tr '\0' 'x' >"$dir/big.txt"
check_eq "body over the limit: 413" "$(http POST /v1/import "${A[@]}" "${J[@]}" --data-binary @"$dir/big.txt")" 413
check_eq "chunked body over the limit: 413" \
	"$(http POST /v1/import "${A[@]}" "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$dir/big.txt")" 413
check_eq "limit=0: 422" "$(http GET '/v1/skus?limit=0' "${A[@]}")" 422
check "422 names the field" grep -q '"detail":"limit: ' "$BODY_FILE"

# reads and paging
check_eq "skus page 1" "$(http GET '/v1/skus?limit=20' "${A[@]}")" 200
next=$(grep -o '"next":"[^"]*"' "$BODY_FILE" | cut -d'"' -f4)
check_eq "skus next cursor" "$next" SKU-00020
http GET "/v1/skus?limit=20&after=$next" "${A[@]}" >/dev/null
check "skus page 2 starts after the cursor" grep -q '"items":\[{"id":"SKU-00021"' "$BODY_FILE"
check_eq "inventory by node and sku" "$(http GET '/v1/inventory?node=DC-ATL&sku=SKU-00001' "${A[@]}")" 200
check "inventory has atp" grep -q '"atp":' "$BODY_FILE"

# import through the API: refused whole, then accepted
before=$(http GET '/v1/inventory?node=DC-ATL&sku=SKU-00001' "${A[@]}" >/dev/null; cat "$BODY_FILE")
check_eq "bad import: 422" "$(http POST /v1/import "${A[@]}" "${J[@]}" \
	-d '{"inventory.csv":"node,sku,on_hand,safety_stock\nDC-ATL,SKU-00001,7,0\nDC-ATL,SKU-00002,-1,0\n"}')" 422
check "422 says FILE:LINE: field" grep -q 'inventory.csv:3: on_hand: must not be negative' "$BODY_FILE"
http GET '/v1/inventory?node=DC-ATL&sku=SKU-00001' "${A[@]}" >/dev/null
check_eq "refused import changed nothing" "$(cat "$BODY_FILE")" "$before"
check_eq "unknown file name: 422" "$(http POST /v1/import "${A[@]}" "${J[@]}" -d '{"x.csv":""}')" 422
check_eq "good import: 200" "$(http POST /v1/import "${A[@]}" "${J[@]}" \
	-d '{"inventory.csv":"node,sku,on_hand,safety_stock\nDC-ATL,SKU-00001,777,3\n"}')" 200
http GET '/v1/inventory?node=DC-ATL&sku=SKU-00001' "${A[@]}" >/dev/null
check "import is visible" grep -q '"on_hand":777' "$BODY_FILE"

# reference data imported by another process (the CLI) is seen without a restart
mkdir -p "$dir/newnode"
printf 'id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,processing_days,ships_hazmat\nST-NEW,New Store,store,40.7,-74.0,northeast,50,3,1,1,0\n' >"$dir/newnode/nodes.csv"
"$FULCRUM" import "$dir/newnode" --db "$dir/t.db" >/dev/null 2>&1
http GET /v1/nodes "${A[@]}" >/dev/null
check "a node imported by the CLI is served at once" grep -q '"id":"ST-NEW"' "$BODY_FILE"

# the OpenAPI document describes exactly the router's table
check_eq "openapi 200" "$(http GET /v1/openapi.json)" 200
cp "$BODY_FILE" "$dir/openapi.json"
"$FULCRUM" routes | sort >"$dir/routes.txt"
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const out = [];
for (const [p, ops] of Object.entries(d.paths))
  for (const m of Object.keys(ops)) out.push(m.toUpperCase() + " " + p);
console.log(out.sort().join("\n"));' "$dir/openapi.json" | sort >"$dir/doc.txt"
check "openapi paths == router table" diff "$dir/routes.txt" "$dir/doc.txt"
check "openapi passes a real validator" bash "$(dirname "$0")/validate_openapi.sh" "$dir/openapi.json"

# slow clients: 200 idle connections do not stop /healthz
for i in $(seq 1 200); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&$fd
	fds+=("$fd")
done
check_eq "healthz with 200 idle connections open" "$(http GET /healthz --max-time 2)" 200
for fd in "${fds[@]}"; do exec {fd}>&-; done

# the access log: one JSON line per request, never the token
check "access log lines are JSON with request id and role" \
	grep -q '"request_id":"caller-42","method":"GET","route":"/healthz","status":200' "$SERVER_LOG"
check "the token never reaches the log" bash -c "! grep -q '${ADMIN##*_}' '$SERVER_LOG'"

# graceful shutdown: an in-flight import finishes, then the server exits 0
awk 'BEGIN { printf "{\"sales.csv\":\"date,node,sku,qty\\n";
	for (m = 1; m <= 10; m++) for (d = 1; d <= 28; d++) for (k = 1; k <= 50; k++)
		printf "2025-%02d-%02d,DC-ATL,SKU-%05d,1\\n", m, d, k;
	printf "\"}" }' >"$dir/sales.json"
stop_server
start_server "$dir/t.db" --threads 2
# ~0.5 MB at 250 kB/s: still uploading when SIGTERM arrives
(http POST /v1/import "${A[@]}" "${J[@]}" --limit-rate 250k --data-binary @"$dir/sales.json" \
	>"$dir/inflight.status") &
client=$!
sleep 0.5
kill -TERM "$SERVER_PID"
wait $client
wait "$SERVER_PID"
check_eq "server exits 0 on SIGTERM" "$?" 0
check_eq "the in-flight request finished" "$(cat "$dir/inflight.status")" 200
check "shutdown is logged" grep -q 'fulcrum: stopped' "$SERVER_LOG"
check "it was in flight at the signal" grep -q 'finishing 1 in-flight' "$SERVER_LOG"
check "every row of it landed" bash -c "'$FULCRUM' export '$dir/after' --db '$dir/t.db' >/dev/null &&
	test \$(grep -c '^2025-' '$dir/after/sales.csv') -eq 14000"

# settings from a config file and the environment; the rate limit
printf 'rate_limit = 0.2\n# a comment\nrate_burst = 3\n' >"$dir/fulcrum.conf"
FULCRUM_ACCESS_LOG=off start_server "$dir/t.db" --config "$dir/fulcrum.conf"
codes=""
for i in 1 2 3 4 5; do codes="$codes $(http GET /v1/nodes "${A[@]}")"; done
check_eq "burst of 3, then 429" "$codes" " 200 200 200 429 429"
check "429 carries Retry-After" test -n "$(header Retry-After)"
check_eq "public routes are not limited" "$(http GET /healthz)" 200
check "FULCRUM_ACCESS_LOG=off silences the log" bash -c "! grep -q request_id '$SERVER_LOG'"
stop_server
printf 'port = seventy\n' >"$dir/bad.conf"
"$FULCRUM" serve --db "$dir/t.db" --config "$dir/bad.conf" >/dev/null 2>"$dir/err"
check_eq "a bad config is refused" "$?" 1
check "the bad line is named" grep -q 'bad.conf:1: port' "$dir/err"
check "serve --help documents the settings" bash -c "'$FULCRUM' serve --help | grep -q rate_limit"
done_testing
