#!/bin/bash
# The door at its limits: a cap on connections from one address (slowloris from one host
# cannot take every slot), the setting refused when out of range; a URL or headers past
# their ceilings answered with problem documents (414, 431), however long; heads that
# trickle in are cut at header_timeout; the front (http/front.c) answers what
# libmicrohttpd would have answered in HTML, or not at all (a stalled oversized chunk).
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
check_eq "a third connection from the same address is refused: 503" "$(http GET /healthz --max-time 2)" 503
check_eq "as a problem document naming the cap" "$(js 'console.log(d.status, /connection_limit_per_ip/.test(d.detail))')" "503 true"
check_eq "with Retry-After" "$(header Retry-After)" 1
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
# past what libmicrohttpd holds (64 KiB), which answered in HTML before the front
raw() { node "$(dirname "$0")/rawhttp.js" "$PORT" "$@"; }
rawq() { node -e "const d=$1; console.log($2)"; }
r=$(raw 'GET /v1/{{a*70000}} HTTP/1.1\r\nHost: x\r\n\r\n')
check_eq "a 70,000-byte URL: 414, a problem document" "$(rawq "$r" 'd.status, d.body.type, /^Content-Type: application\/problem\+json/m.test(d.head)')" "414 urn:fulcrum:problem:too-large true"
r=$(raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {{a*70000}}\r\n\r\n')
check_eq "70,000 bytes of headers: 431, a problem document" "$(rawq "$r" 'd.status, d.body.title')" "431 Request Header Fields Too Large"
r=$(raw 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {{a*70000}}\r\n\r\n')
check_eq "after a good request on the same connection: 200 then 431, and closed" "$(rawq "$r" 'd.answers, d.status, d.closed')" "2 200 true"
r=$(raw "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n$(for i in $(seq 1 1000); do printf 'a%d:b\\r\\n' "$i"; done)\\r\\n")
check_eq "1,000 short header fields (8 KiB; they exhausted libmicrohttpd's memory, which answered in HTML): 431, a problem document" "$(rawq "$r" 'd.status, d.body.detail')" "431 the request's head: more than 100 header fields"
r=$(raw "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n$(for i in $(seq 1 99); do printf 'a%d:%0150d\\r\\n' "$i" 0; done)\\r\\n")
check_eq "100 fields of 150 bytes: served" "$(rawq "$r" 'd.status')" 200
r=$(raw "GET /healthz?$(for i in $(seq 1 1000); do printf 'a&'; done) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
check_eq "1,000 query parameters (2 KiB; libmicrohttpd closed without an answer): 414, a problem document" "$(rawq "$r" 'd.status, d.body.detail')" "414 the URL: more than 100 query parameters"
check_eq "100 query parameters: served" "$(http GET "/healthz?$(for i in $(seq 1 99); do printf 'a%d=1&' "$i"; done)z=1")" 200
r=$(raw 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n')
check_eq "HTTP/2.0 in the request line: 505, a problem document" "$(rawq "$r" 'd.status, d.body.status')" "505 505"
r=$(raw 'GET /healthz HTTP/1.1\r\n\r\n')
check_eq "HTTP/1.1 without Host: 400, a problem document" "$(rawq "$r" 'd.status, /Host/.test(d.body.detail)')" "400 true"
r=$(raw 'NOT A REQUEST LINE\r\n\r\n')
check_eq "a malformed request line: 400" "$(rawq "$r" 'd.status, d.body.type')" "400 urn:fulcrum:problem:malformed"
r=$(raw 'POST /v1/fulfillment/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n')
check_eq "both Content-Length and Transfer-Encoding: 400" "$(rawq "$r" 'd.status, d.body.detail')" "400 both Transfer-Encoding and Content-Length"
r=$(raw 'POST /v1/fulfillment/decisions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n')
check_eq "a Transfer-Encoding other than chunked: 400" "$(rawq "$r" 'd.status')" 400
r=$(raw 'POST /v1/fulfillment/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')
check_eq "Content-Length given twice: 400" "$(rawq "$r" 'd.status')" 400
# a chunk that announces 2 MiB (past body_limit, 1 MiB) and stalls: refused when its size
# is read, by the handler, so libmicrohttpd's slot is freed too
r=$(raw 'POST /v1/fulfillment/decisions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n200000\r\n' 5000)
check_eq "a stalled 2 MiB chunk: 413 at once, a problem document, closed" "$(rawq "$r" 'd.status, d.body.type, d.closed, d.ms < 1000')" "413 urn:fulcrum:problem:too-large true true"
check "its detail names the chunk" bash -c "node -e 'const d=$r; process.exit(/a chunk of 2097152/.test(d.body.detail) ? 0 : 1)'"
r=$(raw 'POST /v1/import HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n' 1000)
check_eq "the same chunk to POST /v1/import (import_limit 64 MiB): not refused, waits for its data" "$(rawq "$r" 'd.answers, d.closed')" "0 false"
r=$(raw 'POST /v1/fulfillment/decisions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' 2000)
check_eq "a chunk size that is not hexadecimal: 400" "$(rawq "$r" 'd.status, d.closed')" "400 true"
r=$(raw 'POST /v1/fulfillment/decisions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check_eq "a well-formed chunked body goes through (401 without a token), then the next request" "$(rawq "$r" 'd.answers, d.status')" "2 401"
check "libmicrohttpd's slot of the stalled chunk was freed: the handler answered it" grep -q '"route":"/v1/fulfillment/decisions","status":413' "$SERVER_LOG"
http GET /metrics -H "Authorization: Bearer $(token "$dir/t.db" admin)" >/dev/null
check "refusals counted in fulcrum_http_front_refused_total" grep -q '^fulcrum_http_front_refused_total{status="413"} 1$' "$BODY_FILE"
stop_server
check_eq "the server stopped cleanly" "$SERVER_STATUS" 0
[ "$SERVER_STATUS" = 0 ] || tail -20 "$SERVER_LOG" >&2
# the main port at its connection limit: the health listener still answers the probes
start_server "$dir/t.db" --connection-limit 2 --connection-limit-per-ip 0 --health-port 0
check "a health port is printed" test -n "$HEALTH_PORT"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
check_eq "the main port is full: 503 at once" "$(http GET /healthz --max-time 2)" 503
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
check_eq "20 trickling heads fill the main port: 503 at once" "$(http GET /healthz --max-time 1)" 503
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
# out of descriptors (60 in all): connections wait in the backlog, the accept loop does not
# spin on them (it pauses 100 ms at a time), and the port serves once they go
SERVER_NOFILE=60 start_server "$dir/t.db" --connection-limit-per-ip 0
node -e "const net=require('net'); const s=[]; for (let i=0;i<80;i++){const c=net.connect($PORT,'127.0.0.1'); c.on('error',()=>{}); s.push(c);} setTimeout(()=>{s.forEach(c=>c.destroy()); process.exit(0)}, 3000)" &
holder=$!
sleep 0.5
t0=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
check_eq "every descriptor taken" "$(($(ls "/proc/$SERVER_PID/fd" | wc -l) >= 59))" 1
check "no busy loop meanwhile: $((t1 - t0)) CPU ticks in 2 s (a spinning loop takes about 200)" test $((t1 - t0)) -lt 50
wait $holder
sleep 0.3
check_eq "the port serves again" "$(http GET /healthz --max-time 2)" 200
stop_server
"$FULCRUM" serve --db "$dir/t.db" --header-timeout 5000 >/dev/null 2>"$dir/err"
check_eq "a header_timeout out of range: exit 1" "$?" 1
check "it is named" grep -q "header_timeout" "$dir/err"
"$FULCRUM" serve --db "$dir/t.db" --connection-limit-per-ip -1 >/dev/null 2>"$dir/err"
check_eq "a cap out of range: exit 1" "$?" 1
check "it is named" grep -q "connection_limit_per_ip" "$dir/err"
done_testing
