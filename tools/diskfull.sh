#!/bin/bash
# The disk-full reproduction of issue 15, repeatable: the store on a 40 MiB tmpfs filled
# with dd to FREE_KIB (600) free, then N (3000) reserving decisions posted one by one.
# Prints how many were answered 200 and 503, checks that every decision answered 200 is
# there on GET, what /readyz said while full, what reached the log, and that the server
# writes again once space is freed. Needs root (it mounts a tmpfs); not part of make test
# (the in-process fault VFS test, test_flow's test_every_write_path_on_a_failing_disk, is).
# usage: tools/diskfull.sh [build/fulcrum]
set -u
FULCRUM=$(realpath "${1:-build/fulcrum}")
N=${N:-3000}
FREE_KIB=${FREE_KIB:-600}
mnt=$(mktemp -d)
mount -t tmpfs -o size=40m tmpfs "$mnt" || { echo "diskfull: cannot mount a tmpfs (root needed)" >&2; exit 1; }
work=$(mktemp -d)
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; umount "$mnt"; rmdir "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
"$FULCRUM" demo --db "$mnt/t.db" --skus 200 --days 10 >/dev/null 2>&1
TOKEN=$("$FULCRUM" token create --db "$mnt/t.db" --role admin | awk '{print $NF}')
. "$(dirname "$0")/../bench/lib.sh"
BENCH_LOG="$work/err" bench_serve "$mnt/t.db"
pid=$BENCH_PID
URL="http://127.0.0.1:$BENCH_PORT"
A=(-H "Authorization: Bearer $TOKEN")
avail=$(df -k --output=avail "$mnt" | tail -1)
dd if=/dev/zero of="$mnt/fill" bs=1k count=$((avail - FREE_KIB)) status=none 2>/dev/null
echo "store on a 40 MiB tmpfs, $(df -k --output=avail "$mnt" | tail -1) KiB free; posting $N reserving decisions"
: >"$work/ok"
n200=0 n503=0 nother=0 ready_full=
for i in $(seq 1 "$N"); do
	sku=$(printf 'SKU-%05d' $((1 + i % 200)))
	code=$(curl -s -o "$work/body" -w '%{http_code}' "${A[@]}" -H "Content-Type: application/json" \
		"$URL/v1/fulfillment/decisions" \
		-d '{"order_id":"F-'"$i"'","destination":{"lat":40.7,"lon":-74},"lines":[{"sku":"'"$sku"'","qty":1}],"reserve":true}')
	case $code in
	200) n200=$((n200 + 1)); sed -n 's/.*"decision_id":"\([^"]*\)".*/\1/p' "$work/body" >>"$work/ok" ;;
	503) n503=$((n503 + 1))
		[ -z "$ready_full" ] && ready_full=$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") ;;
	*) nother=$((nother + 1)) ;;
	esac
done
missing=0
while read -r id; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$URL/v1/fulfillment/decisions/$id")" = 200 ] || missing=$((missing + 1))
done <"$work/ok"
echo "answered 200: $n200, 503: $n503, other: $nother"
echo "answered 200 but not found on GET: $missing"
echo "/readyz while the disk was full: ${ready_full:-not asked (no 503 seen)}"
echo "log lines naming the write failure: $(grep -ci 'disk\|full\|i/o\|write' "$work/err")"
rm -f "$mnt/fill"
for _ in $(seq 1 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && break
	sleep 0.1
done
echo "/readyz after freeing the space: $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")"
echo "a decision after freeing the space: $(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -H "Content-Type: application/json" "$URL/v1/fulfillment/decisions" \
	-d '{"order_id":"F-after","destination":{"lat":40.7,"lon":-74},"lines":[{"sku":"SKU-00001","qty":1}],"reserve":true}')"
[ "$missing" -eq 0 ]
