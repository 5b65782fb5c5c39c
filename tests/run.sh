#!/bin/sh
# The one test runner: every unit test binary, every end-to-end script and every fuzz
# corpus replay, for each build directory given (e.g. build build/asan). Tests speak TAP
# ("ok …" / "not ok …"); a binary that exits non-zero without a failing line (a crash,
# a leak report) counts as one failure. The last line is "N passed, N failed".
set -u
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tally() { # $1 = label, $2 = exit status; TAP lines in $log
	ok=$(grep -c '^ok ' "$log")
	nok=$(grep -c '^not ok ' "$log")
	if [ "$2" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $1 exited with status $2" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -ne 0 ]; then
		echo "FAIL $1 ($ok passed, $nok failed):"
		sed 's/^/    /' "$log" | grep -v '^    ok ' | tail -40
	else
		echo "ok   $1 ($ok passed)"
	fi
}

# the house's rules, once: includes down the layers, no circles, short functions
sh tools/layers.sh >"$log" 2>&1
tally "tools/layers.sh" $?
if [ "${TIDY:-}" ]; then # make test: clang-tidy over every source (.clang-tidy)
	sh tools/tidy.sh >"$log" 2>&1
	tally "tools/tidy.sh" $?
fi

for build in "$@"; do
	for t in "$build"/tests/test_*; do
		case "$t" in *.d) continue ;; esac
		[ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
		tally "$t" $?
	done
	for t in tests/e2e/test_*.sh; do
		[ -f "$t" ] || continue
		FULCRUM="$build/fulcrum" BUILD="$build" bash "$t" >"$log" 2>&1
		tally "$t [$build]" $?
	done
	for f in "$build"/fuzz/*_replay; do
		[ -x "$f" ] || continue
		name=$(basename "$f" _replay)
		corpus="fuzz/corpus/${name#fuzz_}"
		if "$f" "$corpus" >"$log" 2>&1; then
			echo "ok - replay $corpus" >>"$log"
			tally "$f" 0
		else
			tally "$f" 1
		fi
	done
done
# ThreadSanitizer (make test, make tsan): the tests whose code runs on several threads
if [ "${TSAN:-}" ]; then
	export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
	for t in test_data test_flow test_forecast test_rebalance test_wave test_decisions; do
		CMOCKA_MESSAGE_OUTPUT=TAP "$TSAN/tests/$t" >"$log" 2>&1
		tally "$TSAN/tests/$t [tsan]" $?
	done
	for t in tests/e2e/test_decide.sh tests/e2e/test_http.sh tests/e2e/test_door.sh tests/e2e/test_lifecycle.sh tests/e2e/test_jobs.sh tests/e2e/test_webhooks.sh; do
		FULCRUM="$TSAN/fulcrum" BUILD="$TSAN" bash "$t" >"$log" 2>&1
		tally "$t [tsan]" $?
	done
	unset TSAN_OPTIONS
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
