#!/bin/bash
# The door at its limits: a cap on connections from one address (slowloris from one host
# cannot take every slot), the setting refused when out of range; a URL or headers past
# their ceilings answered with problem documents (414, 431); heads that trickle in are
# cut at header_timeout.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'exec 3>&- 4>&- 2>/dev/null; kill $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
"$FULCRUM" demo --db "$dir/t.db" --skus 20 --days 5 >/dev/null 2>&1
start_server "$dir/t.db" --connection-limit-per-ip 2
check_eq "healthz: 200" "$(http GET /healthz)" 200
# two idle connections that send nothing: the address's cap. Both must have been taken
# by the server before the third comes (on a loaded machine a probe could be accepted
# first, and one of the two refused instead): a connection the server closed reads EOF
# at once, one it holds times out.
alive() { read -r -t 0.3 -u "$1" _x; [ $? -gt 128 ]; }
for _t in 1 2 3 4 5; do
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	exec 4<>"/dev/tcp/127.0.0.1/$PORT"
	sleep 0.3
	alive 3 && alive 4 && break
	exec 3>&- 4>&-
	sleep 0.5
done
check "a third connection from the same address is refused" \
	bash -c "! curl -s --max-time 2 -o /dev/null '$URL/healthz'"
exec 3>&-
sleep 0.3
check_eq "a slot freed: served again" "$(http GET /healthz)" 200
exec 4>&-
long=$(head -c 40000 /dev/zero | tr '\0' a)
check_eq "a 40,000-byte URL: 414" "$(http GET "/v1/$long")" 414
check_eq "as a problem document" "$(js 'console.log(d.status, d.type)')" "414 urn:fulcrum:problem:too-large"
check_eq "a 9,000-byte query: 414" "$(http GET "/healthz?x=${long:0:9000}")" 414
check_eq "40,000 bytes of headers: 431" "$(http GET /healthz -H "X-Big: $long")" 431
check_eq "as a problem document" "$(js 'console.log(d.status, d.title)')" "431 Request Header Fields Too Large"
check_eq "a request within the ceilings: served" "$(http GET /healthz -H "X-Big: ${long:0:8000}")" 200
stop_server
check_eq "the server stopped cleanly" "$SERVER_STATUS" 0
[ "$SERVER_STATUS" = 0 ] || tail -20 "$SERVER_LOG" >&2
# the main port at its connection limit: the health listener still answers the probes
start_server "$dir/t.db" --connection-limit 2 --connection-limit-per-ip 0 --health-port 0
check "a health port is printed" test -n "$HEALTH_PORT"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
check "the main port is full" bash -c "! curl -s --max-time 2 -o /dev/null '$URL/healthz'"
check_eq "/healthz on the health port: 200" "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HEALTH_PORT/healthz")" 200
check_eq "/readyz on the health port: 200" "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HEALTH_PORT/readyz")" 200
check_eq "nothing else on the health port: 404" "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HEALTH_PORT/v1/inventory")" 404
exec 3>&- 4>&-
sleep 0.3
check_eq "the main port serves again" "$(http GET /healthz)" 200
stop_server
check_eq "stopped cleanly with both listeners" "$SERVER_STATUS" 0
[ "$SERVER_STATUS" = 0 ] || tail -20 "$SERVER_LOG" >&2
# slowloris from anywhere: heads that trickle in one byte at a time fill every slot, and
# the header-phase deadline (header_timeout, in all, not per byte) frees them
start_server "$dir/t.db" --connection-limit 20 --connection-limit-per-ip 0 --header-timeout 2
node "$(dirname "$0")/slowheads.js" "$PORT" heads 20 5 >"$dir/slow" &
slow=$!
sleep 1
check "20 trickling heads fill the main port" bash -c "! curl -s --max-time 1 -o /dev/null '$URL/healthz'"
wait $slow
check_eq "the server shut all 20 (none answered)" "$(node -e "const d=$(cat "$dir/slow"); console.log(d.closed_by_server, d.answered)")" "20 0"
check "by the deadline, well before they ended (2 s + the 100 ms watch)" \
	node -e "const d=$(cat "$dir/slow"); process.exit(d.last_ms >= 1900 && d.last_ms < 4000 ? 0 : 1)"
check_eq "the main port serves again" "$(http GET /healthz)" 200
http GET /metrics -H "Authorization: Bearer $(token "$dir/t.db" admin)" >/dev/null
check "counted in fulcrum_http_heads_cut_total" grep -q "^fulcrum_http_heads_cut_total 2[0-9]" "$BODY_FILE"
check_eq "a body slower than header_timeout is not cut: its head was whole" \
	"$(node "$(dirname "$0")/slowheads.js" "$PORT" body 4 | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).status))")" "HTTP/1.1 200 OK"
stop_server
check_eq "stopped cleanly after the slowloris" "$SERVER_STATUS" 0
"$FULCRUM" serve --db "$dir/t.db" --header-timeout 5000 >/dev/null 2>"$dir/err"
check_eq "a header_timeout out of range: exit 1" "$?" 1
check "it is named" grep -q "header_timeout" "$dir/err"
"$FULCRUM" serve --db "$dir/t.db" --connection-limit-per-ip -1 >/dev/null 2>"$dir/err"
check_eq "a cap out of range: exit 1" "$?" 1
check "it is named" grep -q "connection_limit_per_ip" "$dir/err"
done_testing
