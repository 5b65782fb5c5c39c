/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: an event body as an orchestrator posts it — the JSON guard and parser,
 * then flow_event: normalisation of carrier codes, validation, deduplication, milestone
 * order, outages, shipped reservations, the default pack's on_event and its actions
 * (reroutes decide again; notifications go to the outbox), all in one transaction. Any
 * answer is fine except a crash, a leak, undefined behaviour, or a status that is
 * neither 0 nor an HTTP error. The store is made anew every few thousand inputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	static unsigned runs;
	json_t *body = NULL, *result = NULL;

	if (fuzz_store_cycle(&st, &runs)) {
		/* an order to refer to: events about it reroute and consume */
		json_t *o = json_pack("{s:s, s:{s:f, s:f}, s:[{s:s, s:i}], s:b}", "order_id", "O1",
				      "destination", "lat", 40.5, "lon", -74.2, "lines", "sku",
				      "S1", "qty", 1, "reserve", 1);
		if (flow_decide(st, o, NULL, &result, NULL))
			abort();
		json_decref(result);
		json_decref(o);
		result = NULL;
	}
	if (!(body = fuzz_body(data, size)))
		return 0;
	int status = flow_event(st, body, false, &result, NULL);
	fuzz_answered(status, result, body);
	return 0;
}
