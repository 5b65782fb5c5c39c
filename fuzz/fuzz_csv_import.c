/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: CSV import. The first byte picks which of the seven files the rest is;
 * the import runs into an in-memory store that already holds a small network, so the
 * reference checks (unknown node, SKU, zone) are exercised too. Any outcome but a crash,
 * a leak or undefined behaviour is fine; a refusal must carry a "FILE:LINE" message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/store.h"
#include "seed.h"

static struct store *st;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_err err = {0};
	if (!st) {
		if (store_open(":memory:", &st, &err))
			abort();
		fuzz_seed(st, STORE_FILE_NODES,
			  "id,name,type,lat,lon,region,capacity_units,handling_cost,"
			  "pick_cost,processing_days,ships_hazmat\n"
			  "N1,a,dc,1,1,r,,1,1,0,1\nN2,b,store,2,2,r,5,1,1,1,0\n");
		fuzz_seed(st, STORE_FILE_SKUS, "id,name,weight_kg,hazmat\nS1,x,1,0\nS2,y,2,1\n");
		fuzz_seed(st, STORE_FILE_ZONES, "zone,max_km\n2,100\n3,500\n");
	}
	if (size < 1)
		return 0;
	struct store_import_src src = {{NULL}};
	enum store_file_kind k = (enum store_file_kind)(data[0] % STORE_FILE_COUNT);
	/* glibc's fmemopen refuses a zero-length buffer; an empty file reads /dev/null */
	src.files[k] =
		size > 1 ? fmemopen((void *)(data + 1), size - 1, "rb") : fopen("/dev/null", "rb");
	if (!src.files[k])
		return 0;
	int rc = store_import(st, &src, NULL, NULL, NULL, &err);
	if (rc && strchr(err.msg, ':') == NULL)
		abort(); /* every refusal names its file */
	fclose(src.files[k]);
	return 0;
}
