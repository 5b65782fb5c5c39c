/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: the request-body JSON path every POST route takes — the nesting guard,
 * jansson's parser (UTF-8, duplicates) — then the flow the body is meant for, against a
 * small in-memory network: an event (api_event: normalisation, dedup, milestones,
 * outages, the rules' actions), an order (api_decide), a wave (api_wave) or an import
 * map (api_import_json). Any answer is fine except a crash, a leak, undefined behaviour, or
 * a status that is neither 0 nor an HTTP error. The store is made anew every few
 * thousand inputs so that the decision log cannot grow without bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "seed.h"
#include "solver/solver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *fresh_store(void)
{
	struct store *st;
	struct fl_err err = {0};
	if (store_open(":memory:", &st, &err))
		abort();
	fuzz_seed(st, STORE_FILE_NODES,
		  "id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
		  "processing_days,ships_hazmat\n"
		  "N1,a,dc,40,-74,r,,1,0.5,0,1\nN2,b,store,41,-75,r,5,2,1,1,0\n"
		  "N3,c,3pl,34,-118,w,20,1.5,0.4,1,1\n");
	fuzz_seed(st, STORE_FILE_SKUS,
		  "id,name,weight_kg,hazmat\nS1,x,1,0\nS2,y,2.5,1\nS3,z,0.3,0\n");
	fuzz_seed(st, STORE_FILE_ZONES, "zone,max_km\n2,300\n3,1000\n4,5000\n");
	fuzz_seed(st, STORE_FILE_RATES,
		  "carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\n"
		  "c,g,2,5,0.5,2,1\nc,g,3,6,0.6,3,1\nc,g,4,8,0.8,5,1\nc,x,2,12,1,1,0\n"
		  "c,x,3,14,1.2,1,0\nc,x,4,18,1.5,2,0\n");
	fuzz_seed(st, STORE_FILE_INVENTORY,
		  "node,sku,on_hand,safety_stock\nN1,S1,10,1\nN1,S2,3,0\nN2,S1,2,0\n"
		  "N2,S3,5,0\nN3,S2,4,1\nN3,S3,7,0\n");
	/* the default rule pack active, so events and decisions run rules */
	json_t *a = NULL, *b = NULL;
	char detail[256];
	if (api_rules_push(st, "default", api_default_pack, api_default_pack_len, "admin", &a,
			   detail, sizeof(detail)) ||
	    api_rules_activate(st, "default", 1, &b, detail, sizeof(detail)))
		abort();
	json_decref(a);
	json_decref(b);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	static unsigned runs;
	char detail[1024];
	json_t *body = NULL, *result = NULL;

	if (!st || ++runs % 2000 == 0) {
		api_snapshot_drop();
		api_rules_drop();
		store_close(st);
		st = fresh_store();
	}
	int status = api_json_parse((const char *)data, size, 32, &body, detail, sizeof(detail));
	if (status != 0 && status != 400)
		abort();
	if (status)
		return 0;
	if (json_object_get(body, "event_id"))
		status = api_event(st, body, &result, detail, sizeof(detail));
	else if (json_object_get(body, "orders"))
		status = api_wave(st, body, &result, detail, sizeof(detail));
	else if (json_object_get(body, "order_id") || json_object_get(body, "lines"))
		status = api_decide(st, body, NULL, &result, detail, sizeof(detail));
	else
		status = api_import_json(st, body, &result, detail, sizeof(detail));
	if (status != 0 && (status < 400 || status > 599))
		abort();
	if (!status && !result)
		abort();
	json_decref(result);
	json_decref(body);
	return 0;
}
