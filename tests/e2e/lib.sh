# Shared by the end-to-end scripts: TAP output helpers.
# check NAME CMD...      runs CMD; ok if it succeeds
# check_eq NAME GOT WANT ok if equal
_n=0
_failed=0
check() {
	_name=$1
	shift
	_n=$((_n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $_n - $_name"
	else
		echo "not ok $_n - $_name"
		_failed=$((_failed + 1))
	fi
}
check_eq() {
	_n=$((_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $_n - $1"
	else
		echo "not ok $_n - $1 (got '$2', want '$3')"
		_failed=$((_failed + 1))
	fi
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# token DB ROLE: create a bearer token for ROLE in DB and print it
token() { "$FULCRUM" token create --db "$1" --role "$2" | awk '{print $NF}'; }
# js EXPR: run EXPR in node with d = the last response body parsed
js() { node -e "const d=JSON.parse(require('fs').readFileSync('$BODY_FILE','utf8')); $1"; }

# start_server DB [ARGS...]: start `fulcrum serve` on a free port in the background (with
# SERVER_NOFILE descriptors at most, when set); sets SERVER_PID, PORT, URL, SERVER_LOG (and
# HEALTH_PORT with --health-port). stop_server sends SIGTERM and waits.
start_server() {
	_db=$1
	shift
	SERVER_LOG=$(mktemp)
	_out=$(mktemp)
	(
		[ -z "${SERVER_NOFILE:-}" ] || ulimit -n "$SERVER_NOFILE"
		exec "$FULCRUM" serve --db "$_db" --port 0 "$@" >"$_out" 2>"$SERVER_LOG"
	) &
	SERVER_PID=$!
	for _i in $(seq 1 200); do
		PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$_out")
		[ -n "$PORT" ] && break
		sleep 0.05
	done
	HEALTH_PORT=$(sed -n 's/^health on 127.0.0.1:\([0-9]*\)$/\1/p' "$_out")
	rm -f "$_out"
	URL="http://127.0.0.1:$PORT"
}
stop_server() {
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID"
	SERVER_STATUS=$?
}
# http METHOD PATH [curl args...]: prints the status code; body in $BODY_FILE,
# headers in $HDR_FILE
BODY_FILE=$(mktemp)
HDR_FILE=$(mktemp)
http() {
	_m=$1
	_p=$2
	shift 2
	curl -s -o "$BODY_FILE" -D "$HDR_FILE" -w '%{http_code}' -X "$_m" "$@" "$URL$_p"
}
header() { # header NAME: the value of a response header from the last http call
	grep -i "^$1:" "$HDR_FILE" | head -1 | cut -d' ' -f2- | tr -d '\r'
}
# jq_like FILE KEY...: the JSON object in FILE has every KEY (a light check without jq)
jq_like() {
	_f=$1
	shift
	for _k in "$@"; do grep -q "\"$_k\":" "$_f" || return 1; done
}
