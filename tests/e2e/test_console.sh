#!/bin/bash
# The web console in Debian's chromium (tests/browser/console.mjs): every page, an
# analyst's, a planner's and support's work, axe-core, screenshots in build/screenshots.
set -u
. "$(dirname "$0")/lib.sh"
DIR=$(mktemp -d)
trap 'stop_server 2>/dev/null; rm -rf "$DIR"' EXIT
DB=$DIR/demo.db
"$FULCRUM" demo --db "$DB" >/dev/null 2>&1
check "demo database for the console" test -s "$DB"
ADMIN=$(token "$DB" admin)
start_server "$DB"
AUTH="Authorization: Bearer $ADMIN"
# an order with a decision, a reservation and an event, for support to find
ORDER=CONSOLE-1
code=$(http POST /v1/fulfillment/decisions -H "$AUTH" -H 'Content-Type: application/json' \
	-d '{"order_id":"'$ORDER'","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00001","qty":2},{"sku":"SKU-00002","qty":1}],"reserve":true}')
check_eq "a reserving decision for the order" "$code" 200
DID=$(js 'console.log(d.decision_id)')
code=$(http POST /v1/events -H "$AUTH" -H 'Content-Type: application/json' \
	-d '{"event_id":"ev-console-1","type":"shipment.picked_up","occurred_at":"2026-11-30T10:00:00Z","order_id":"'$ORDER'","decision_id":"'$DID'"}')
check_eq "an event for the order" "$code" 200
# the background forecast batch first, so scenarios run on cached forecasts
for _ in $(seq 1 600); do
	http GET /v1/forecasts/status -H "$AUTH" >/dev/null
	grep -q '"state":"ready"' "$BODY_FILE" && break
	sleep 0.2
done
check "the forecast batch is ready" grep -q '"state":"ready"' "$BODY_FILE"
URL=$URL ORDER_ID=$ORDER TOKEN_ADMIN=$ADMIN TOKEN_ANALYST=$(token "$DB" analyst) \
	TOKEN_PLANNER=$(token "$DB" planner) TOKEN_ORCHESTRATOR=$(token "$DB" orchestrator) \
	SHOTS=${SHOTS:-build/screenshots} timeout 600 node tests/browser/console.mjs
status=$?
stop_server
check_eq "the server stopped cleanly" "$SERVER_STATUS" 0
[ "$status" -eq 0 ] && done_testing
