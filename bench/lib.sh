# Shared by the bench scripts: start `fulcrum serve` on DB (access log off) on a free
# port, its stderr to BENCH_LOG (default /dev/null); sets BENCH_PID and BENCH_PORT; the
# caller's EXIT trap should kill $BENCH_PID.
bench_serve() {
	_out=$(mktemp)
	FULCRUM_ACCESS_LOG=off "$FULCRUM" serve --db "$1" --port 0 >"$_out" 2>"${BENCH_LOG:-/dev/null}" &
	BENCH_PID=$!
	for _i in $(seq 1 100); do
		BENCH_PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$_out")
		[ -n "$BENCH_PORT" ] && break
		sleep 0.05
	done
	rm -f "$_out"
}

# wrk_row LABEL CONNS WRK-ARGS...: one table row (req/s, p50, p99) from a wrk run
wrk_row() {
	_label=$1
	_c=$2
	shift 2
	_t=$((_c < 2 ? 1 : 2))
	_w=$(mktemp)
	wrk -t"$_t" -c"$_c" -d"${SECS}s" --latency "$@" >"$_w" 2>&1
	printf '%-32s %5s %12s %10s %10s%s\n' "$_label" "$_c" \
		"$(awk '/^Requests\/sec/ {print $2}' "$_w")" "$(awk '$1 == "50%" {print $2}' "$_w")" \
		"$(awk '$1 == "99%" {print $2}' "$_w")" "$(awk '/Non-2xx/ {print " non-2xx: " $NF}' "$_w")"
	rm -f "$_w"
}
