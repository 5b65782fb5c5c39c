#!/bin/sh
# clang-tidy (.clang-tidy) over every product source, two files at a time; one TAP line
# a file, the findings of a failing one as comments. Exits 1 on any finding.
set -u
cd "$(dirname "$0")/.."
flags="-std=c11 -D_GNU_SOURCE $(pkg-config --cflags lua5.4 jansson libmicrohttpd sqlite3 nettle libcurl) -I."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ls data/*.c forecast/*.c solver/*.c rules/*.c flow/*.c http/*.c cli/*.c |
	xargs -P 2 -I{} sh -c 'f={}; n=$(echo "$f" | tr / _);
		if clang-tidy --quiet "$f" -- '"$flags"' >"'"$out"'/$n.log" 2>&1; then
			echo "ok - clang-tidy $f" >"'"$out"'/$n.tap"
		else
			echo "not ok - clang-tidy $f" >"'"$out"'/$n.tap"
		fi'
fail=0
for t in "$out"/*.tap; do
	cat "$t"
	case "$(cat "$t")" in not*)
		fail=1
		grep -E "(warning|error):" "${t%.tap}.log" | sed 's/^/# /' ;;
	esac
done
exit $fail
