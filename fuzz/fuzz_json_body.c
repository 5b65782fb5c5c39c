/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: the request-body JSON path every POST route takes — the nesting guard,
 * jansson's parser (UTF-8, duplicates) — then the flow the body is meant for, against a
 * small in-memory network: an event (flow_event: normalisation, dedup, milestones,
 * outages, the rules' actions), an order (flow_decide), a wave (flow_wave) or an import
 * map (flow_import_json). Any answer is fine except a crash, a leak, undefined behaviour, or
 * a status that is neither 0 nor an HTTP error. The store is made anew every few
 * thousand inputs so that the decision log cannot grow without bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "http/http.h"
#include "seed.h"
#include "solver/solver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	static unsigned runs;
	json_t *body = NULL, *result = NULL;

	fuzz_store_cycle(&st, &runs);
	int status;
	if (!(body = fuzz_body(data, size)))
		return 0;
	if (json_object_get(body, "event_id"))
		status = flow_event(st, body, false, &result, NULL);
	else if (json_object_get(body, "orders"))
		status = flow_wave(st, body, false, &result, NULL);
	else if (json_object_get(body, "order_id") || json_object_get(body, "lines"))
		status = flow_decide(st, body, NULL, &result, NULL);
	else
		status = flow_import_json(st, body, &result, NULL);
	fuzz_answered(status, result, body);
	return 0;
}
