#!/bin/sh
# make run: create the demo database if there is none, mint an admin token, print a
# ready-to-paste curl example, and serve on 127.0.0.1:PORT until Ctrl-C.
# Usage: tools/run.sh FULCRUM DB PORT
set -eu
FULCRUM=$1
DB=$2
PORT=$3
if [ ! -s "$DB" ]; then
	echo "creating the demo database $DB (one time, a few seconds)…"
	"$FULCRUM" demo --db "$DB"
fi
TOKEN=$("$FULCRUM" token create --db "$DB" --role admin | awk '{print $NF}')
cat <<MSG

fulcrum is starting on http://127.0.0.1:$PORT with the demo data set ($DB).
An admin token was created for this session (token id: $(echo "$TOKEN" | cut -d_ -f2)).

  The console:  http://127.0.0.1:$PORT/
  Paste this token when it asks:  $TOKEN

Or call the API:

  export TOKEN=$TOKEN
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$PORT/v1/nodes
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$PORT/v1/inventory?node=DC-ATL&limit=5'
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"order_id":"A-1","destination":{"lat":40.71,"lon":-74.0},"lines":[{"sku":"SKU-00001","qty":2}]}' \\
    http://127.0.0.1:$PORT/v1/fulfillment/decisions
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$PORT/v1/forecasts?node=DC-ATL&sku=SKU-00001&horizon=14'
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"name":"west+20%","horizon_days":14,"overrides":{"demand_multiplier":[{"region":"west","factor":1.2}]}}' \\
    http://127.0.0.1:$PORT/v1/rebalancing/scenarios
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$PORT/v1/rules
  curl -s http://127.0.0.1:$PORT/v1/openapi.json

Ctrl-C stops it.

MSG
exec "$FULCRUM" serve --db "$DB" --port "$PORT"
