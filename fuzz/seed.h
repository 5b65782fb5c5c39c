/* SPDX-License-Identifier: GPL-3.0-or-later */
/* seed.h — shared by the fuzz targets: a seeded store, cycled; a body in, an answer out. */
#ifndef FULCRUM_FUZZ_SEED_H
#define FULCRUM_FUZZ_SEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "http/http.h"
#include "data/store.h"

static inline void fuzz_seed(struct store *st, enum store_file_kind k, const char *text)
{
	struct store_import_src src = {{NULL}};
	struct fl_err err = {0};
	src.files[k] = fmemopen((void *)text, strlen(text), "rb");
	if (!src.files[k] || store_import(st, &src, NULL, NULL, NULL, &err))
		abort();
	fclose(src.files[k]);
}

/*
 * A small in-memory network (3 nodes, 3 SKUs, zones, rates, stock) with the default rule
 * pack active: what the JSON targets decide orders and handle events against.
 */
static inline struct store *fuzz_network_store(void)
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
	if (flow_rules_push(st, "default", flow_default_pack, flow_default_pack_len, "admin", &a,
			    NULL) ||
	    flow_rules_activate(st, "default", 1, &b, NULL))
		abort();
	json_decref(a);
	json_decref(b);
	return st;
}

/* The store a target works on, made anew every 2,000 inputs so no log grows unbounded.
 * True when it was just made. */
static inline bool fuzz_store_cycle(struct store **st, unsigned *runs)
{
	if (*st && ++*runs % 2000 != 0)
		return false;
	flow_snapshot_drop();
	flow_rules_drop();
	store_close(*st);
	*st = fuzz_network_store();
	return true;
}

/* The JSON body the input parses to, or NULL when it does not (which must be a 400). */
static inline json_t *fuzz_body(const uint8_t *data, size_t size)
{
	char detail[1024];
	json_t *body = NULL;
	int status = http_json_parse((const char *)data, size, 32, &body, detail, sizeof(detail));
	if (status != 0 && status != 400)
		abort();
	return status ? NULL : body;
}

/* A flow's answer must be 0 with a result, or an FL_E* status; both are released. */
static inline void fuzz_answered(int status, json_t *result, json_t *body)
{
	if (status > 0 || (status < 0 && !strcmp(fl_strerror(status), "unknown status")))
		abort();
	if (!status && !result)
		abort();
	json_decref(result);
	json_decref(body);
}

#endif
