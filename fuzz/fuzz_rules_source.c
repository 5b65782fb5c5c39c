/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: rule-set source as an analyst uploads it — compiled in the sandbox (text
 * only), its top level run under the limits, then every hook called with a small order,
 * decision and event, then the tests it carries. Any outcome is fine except a crash, a
 * leak, undefined behaviour, or an escape (the sandbox tests cover those by name).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long atp(void *ctx, const char *node, const char *sku)
{
	(void)ctx;
	return (long)(strlen(node) + strlen(sku)) % 7;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rl_engine *e;
	static unsigned runs;
	static const struct rl_node nodes[] = {
		{"DC-A", "dc", "east"}, {"ST-A", "store", "east"}, {"MF-A", "mfc", "west"}};
	static const struct rl_line lines[] = {{"S1", 2, 1.5, false}, {"S2", 1, 0.5, true}};
	static const struct rl_order order = {"O-1", 2, lines, 40.7, -74.0, 3, 3};
	static const struct rl_shipment ship[] = {{"DC-A", "c", "g", 3, 12.5}};
	static const struct rl_decision dec = {"complete", 12.5, 1, ship};
	static const struct rl_event ev = {"e1", "shipment.delayed", "O-1", "d_1", NULL, "c", "g",
					   3};
	const struct rl_host host = {atp, NULL};
	struct rl_limits lim;
	char key[32];

	if (!e || ++runs % 500 == 0) { /* a fresh state now and then: nothing accumulates */
		rl_engine_free(e);
		rl_limits_default(&lim);
		lim.deadline_ms = 20;
		lim.memory = 8u << 20;
		if (rl_engine_new(&lim, &e, NULL) || rl_set_nodes(e, nodes, 3, NULL))
			abort();
	}
	snprintf(key, sizeof(key), "f@%u", runs % 8);
	struct rl_diag d;
	if (rl_load(e, key, "fuzz", (const char *)data, size, &d))
		return 0;
	struct rl_effects fx = {0};
	if (rl_before_sourcing(e, key, &order, &host, &fx) ||
	    rl_after_sourcing(e, key, &order, &dec, &host, &fx) ||
	    rl_on_event(e, key, &ev, &host, &fx))
		abort();
	for (size_t i = 0; i < fx.n; i++)
		if (fx.v[i].kind > RL_FAILED ||
		    !memchr(fx.v[i].reason, '\0', sizeof(fx.v[i].reason)))
			abort();
	rl_effects_release(&fx);
	if (size < 4096) {
		char *src = malloc(size + 1);
		if (!src)
			abort();
		memcpy(src, data, size);
		src[size] = '\0';
		struct rl_test_report rep;
		rl_run_tests(e, key, src, &host, &rep, NULL);
		free(src);
	}
	return 0;
}
