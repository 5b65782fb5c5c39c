#!/bin/sh
# The house's rules, checked (ARCHITECTURE.md): every #include "…" points down the layers
#   cli → http → flow → {solver, forecast, rules} → data/model.h,  flow → data/store.h
# (cli may also use flow and data; http may also use data); no include circle among the
# files; no function in flow/, http/ or cli/ longer than 120 lines. Prints each breach and
# a TAP line per rule; exits 1 on any breach.
set -u
cd "$(dirname "$0")/.."
fail=0

# may INCLUDER_DIR include INCLUDED_DIR/FILE?
allowed() { # $1 = includer's folder, $2 = included path
	to=$2
	case "$1" in
	data) case "$to" in data/*) return 0 ;; esac ;;
	forecast) case "$to" in forecast/* | data/model.h) return 0 ;; esac ;;
	solver) case "$to" in solver/* | data/model.h) return 0 ;; esac ;;
	rules) case "$to" in rules/* | data/model.h) return 0 ;; esac ;;
	flow) case "$to" in flow/* | solver/*.h | forecast/forecast.h | rules/rules.h | data/store.h | data/model.h) return 0 ;; esac ;;
	http) case "$to" in http/* | flow/flow.h | data/store.h | data/model.h | forecast/forecast.h) return 0 ;; esac ;;
	cli) case "$to" in cli/* | http/http.h | flow/flow.h | data/store.h | data/model.h | forecast/forecast.h | solver/solver.h) return 0 ;; esac ;;
	esac
	return 1
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
bad=0
for f in data/*.[ch] forecast/*.[ch] solver/*.[ch] rules/*.[ch] flow/*.[ch] http/*.[ch] cli/*.[ch]; do
	[ -f "$f" ] || continue
	dir=${f%%/*}
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case "$inc" in */*) path=$inc ;; *) path=$dir/$inc ;; esac
		echo "$f $path" >>"$edges"
		if ! allowed "$dir" "$path"; then
			echo "# $f includes $path: against the layers"
			bad=$((bad + 1))
		fi
	done
done
if [ "$bad" -eq 0 ]; then echo "ok - every include points down the layers"; else
	echo "not ok - $bad includes against the layers"; fail=1; fi

# include circles: a file that reaches itself through the include graph
circle=$(awk '
	{ to[$1] = to[$1] " " $2 }
	function reach(a, b, seen,    n, i, parts) {
		n = split(to[a], parts, " ")
		for (i = 1; i <= n; i++) {
			if (parts[i] == b) return 1
			if (!(parts[i] in seen)) { seen[parts[i]] = 1; if (reach(parts[i], b, seen)) return 1 }
		}
		return 0
	}
	END { for (f in to) { delete s; if (reach(f, f, s)) print f } }' "$edges")
if [ -z "$circle" ]; then echo "ok - no include circle"; else
	for c in $circle; do echo "# $c includes itself through others"; done
	echo "not ok - include circles"; fail=1; fi

# functions over 120 lines in the doors and the flows: from a line that opens a function
# at column 0 ("name(…)" then "{") to its closing "}" at column 0
long=$(awk '
	FNR == 1 { start = 0 }
	/^[a-z].*\(/ && !/;[[:space:]]*$/ { sig = FNR; name = $0 }
	/^\{/ { start = sig ? sig : FNR }
	/^\}/ && start { if (FNR - start + 1 > 120) printf "%s:%d: %d lines: %s\n", FILENAME, start, FNR - start + 1, name; start = 0; sig = 0 }
	' flow/*.c http/*.c cli/*.c)
if [ -z "$long" ]; then echo "ok - no function in flow/, http/ or cli/ over 120 lines"; else
	echo "$long" | sed 's/^/# /'; echo "not ok - functions over 120 lines"; fail=1; fi
exit $fail
