#!/bin/bash
# Scenarios as jobs (issue 16, item 1) and forecasts made before anyone asks (item 2):
# 202 with Location, progress seen while it runs, done with its result; a queued job and a
# running one cancelled; the queue's limit; a job cut by a restart is failed with the
# reason; the background batch's status in /v1/forecasts/status and /metrics.
set -u
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'kill -9 $SERVER_PID 2>/dev/null; rm -rf "$dir"' EXIT
# enough series (about 9,000) that a forecast takes a while even on a fast machine
"$FULCRUM" demo --db "$dir/t.db" --skus 600 --days 200 >/dev/null 2>&1
PLAN=$(token "$dir/t.db" planner)
P=(-H "Authorization: Bearer $PLAN" -H "Content-Type: application/json")
A=(-H "Prefer: respond-async")

# wait_status ID: poll the scenario until it is neither queued nor running (30 s at most);
# prints how many polls saw a progress object with a phase and a fraction
wait_status() {
	_seen=0
	for _i in $(seq 1 600); do
		http GET "/v1/rebalancing/scenarios/$1" "${P[@]}" >/dev/null
		_s=$(js 'console.log(d.status)')
		case "$_s" in
		queued | running)
			js 'if (!d.progress || typeof d.progress.phase !== "string" || !(d.progress.fraction >= 0 && d.progress.fraction <= 1)) process.exit(1)' && _seen=$((_seen + 1))
			sleep 0.05
			;;
		*) break ;;
		esac
	done
	echo "$_seen"
}

start_server "$dir/t.db" --threads 2
check_eq "forecasts/status: 200" "$(http GET /v1/forecasts/status "${P[@]}")" 200
check "forecasts/status: its fields" jq_like "$BODY_FILE" spec state fresh background progress series
for _i in $(seq 1 600); do # the start-up batch: ready before long
	http GET /v1/forecasts/status "${P[@]}" >/dev/null
	[ "$(js 'console.log(d.state)')" = ready ] && break
	sleep 0.1
done
check_eq "the start-up batch made every series' forecast" "$(js 'console.log(d.state, d.fresh, d.series > 1000)')" "ready true true"
check "metrics: the batch's figures" sh -c "curl -s -H 'Authorization: Bearer $PLAN' $URL/metrics | grep -q '^fulcrum_forecast_batches_total 1'"
check "metrics: the job queue" sh -c "curl -s -H 'Authorization: Bearer $PLAN' $URL/metrics | grep -q '^fulcrum_scenario_jobs_queued 0'"

# forecasts cached: without Prefer, a scenario still answers at once
check_eq "cached forecasts: 201 at once" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"now"}')" 201
check_eq "…done, with a Location" "$(js 'console.log(d.status)') $(header Location | grep -c '^/v1/rebalancing/scenarios/s_')" "done 1"

# Prefer: respond-async, on a horizon whose forecasts are not cached: a job
check_eq "async: 202" "$(http POST /v1/rebalancing/scenarios "${P[@]}" "${A[@]}" -d '{"name":"job","horizon_days":21}')" 202
a=$(js 'console.log(d.scenario_id)')
check_eq "async: queued, with its Location" "$(js 'console.log(d.status)') $(header Location)" "queued /v1/rebalancing/scenarios/$a"
check_eq "async: the preference applied" "$(header Preference-Applied)" "respond-async"
seen=$(wait_status "$a")
check "progress seen while it ran ($seen polls)" [ "$seen" -ge 1 ]
check_eq "then done, with its result" "$(js 'console.log(d.status, Array.isArray(d.transfers), typeof d.cost.total, d.horizon_days)')" "done true number 21"
check_eq "a done job cannot be cancelled: 409" "$(http DELETE "/v1/rebalancing/scenarios/$a" "${P[@]}")" 409

# without Prefer, but the forecasts must be made first: a job all the same
check_eq "uncached forecasts, no Prefer: 202" "$(http POST /v1/rebalancing/scenarios "${P[@]}" -d '{"name":"b","horizon_days":28}')" 202
b=$(js 'console.log(d.scenario_id)')
check_eq "a second job waits behind it" "$(http POST /v1/rebalancing/scenarios "${P[@]}" "${A[@]}" -d '{"name":"c","horizon_days":35}')" 202
c=$(js 'console.log(d.scenario_id)')
check_eq "cancel the waiting one: 200" "$(http DELETE "/v1/rebalancing/scenarios/$c" "${P[@]}")" 200
check_eq "…cancelled before it ran" "$(js 'console.log(d.status, d.reason)')" "cancelled cancelled before it ran"
for _i in $(seq 1 200); do # until b runs
	http GET "/v1/rebalancing/scenarios/$b" "${P[@]}" >/dev/null
	[ "$(js 'console.log(d.status)')" != queued ] && break
	sleep 0.02
done
st=$(http DELETE "/v1/rebalancing/scenarios/$b" "${P[@]}")
check "cancel the running one: 200 (or 202 while it stops)" [ "$st" = 200 -o "$st" = 202 ]
[ "$(wait_status "$b")" ] # until it has stopped
check_eq "…cancelled while it ran" "$(js 'console.log(d.status, d.reason)')" "cancelled cancelled while it ran"
check_eq "a cancelled scenario cannot be accepted: 409" "$(http POST "/v1/rebalancing/scenarios/$b/accept" "${P[@]}")" 409
check "…and says why" grep -q "is cancelled: only a done scenario" "$BODY_FILE"
check_eq "nor read as CSV: 409" "$(http GET "/v1/rebalancing/scenarios/$c" "${P[@]}" -H 'Accept: text/csv')" 409
check_eq "the list filters by status" "$(http GET '/v1/rebalancing/scenarios?status=cancelled' "${P[@]}" >/dev/null; js 'console.log(d.scenarios.map(s => s.scenario_id).sort().join())')" "$(printf '%s\n' "$b" "$c" | sort | paste -sd,)"
check_eq "unknown scenario: DELETE 404" "$(http DELETE /v1/rebalancing/scenarios/s_0000000000000000 "${P[@]}")" 404
check_eq "rerun as a job: 202" "$(http POST "/v1/rebalancing/scenarios/$b/rerun" "${P[@]}" "${A[@]}")" 202
check_eq "…naming what it reruns" "$(js 'console.log(d.rerun_of)')" "$b"
r=$(js 'console.log(d.scenario_id)')
wait_status "$r" >/dev/null
check_eq "…done" "$(js 'console.log(d.status, d.horizon_days)')" "done 28"
check_eq "a bad body is refused at once, not queued: 422" "$(http POST /v1/rebalancing/scenarios "${P[@]}" "${A[@]}" -d '{"horizon_days":0}')" 422
stop_server
check_eq "a clean stop" "$SERVER_STATUS" 0
[ "$SERVER_STATUS" = 0 ] || tail -60 "$SERVER_LOG" >&2

# the queue's limit: one running, one waiting, the rest 503 with Retry-After
start_server "$dir/t.db" --threads 2 --job-queue 1 --forecast-warm off
codes=""
for h in 40 41 42; do
	codes="$codes $(http POST /v1/rebalancing/scenarios "${P[@]}" "${A[@]}" -d "{\"horizon_days\":$h}")"
	[ "$(js 'console.log(d.status)')" = 503 ] && ra=$(header Retry-After)
done
check "queue full: a 503 among three at once ($codes)" sh -c "echo '$codes' | grep -q 503"
check "…with Retry-After" [ -n "${ra:-}" ]
check_eq "forecast_warm off: said so" "$(http GET /v1/forecasts/status "${P[@]}" >/dev/null; js 'console.log(d.background)')" false

# a job the process dies under is failed on the next start, with the reason
for _i in $(seq 1 600); do # room in the queue again
	http GET '/v1/rebalancing/scenarios?status=queued' "${P[@]}" >/dev/null
	[ "$(js 'console.log(d.scenarios.length)')" = 0 ] && break
	sleep 0.05
done
check_eq "one more job" "$(http POST /v1/rebalancing/scenarios "${P[@]}" "${A[@]}" -d '{"name":"cut","horizon_days":50}')" 202
k=$(js 'console.log(d.scenario_id)')
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
start_server "$dir/t.db" --threads 2 --forecast-warm off
check_eq "after a restart: failed" "$(http GET "/v1/rebalancing/scenarios/$k" "${P[@]}" >/dev/null; js 'console.log(d.status)')" failed
check "…with the reason" js 'if (!/jobs do not survive a restart/.test(d.reason)) process.exit(1)'
check "the log says how many" grep -q "did not finish before the last stop: marked failed" "$SERVER_LOG"
stop_server
rm -f "$SERVER_LOG"
done_testing
