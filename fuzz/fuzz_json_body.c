/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: the request-body JSON path every POST route takes — the nesting guard,
 * jansson's parser (UTF-8, duplicates), then the import map (file names to CSV text)
 * run against an in-memory store. Any answer is fine except a crash, a leak, undefined
 * behaviour, or a status that is neither 0 nor an HTTP error.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	struct fl_err err = {0};
	char detail[1024];
	json_t *body = NULL, *result = NULL;

	if (!st && store_open(":memory:", &st, &err))
		abort();
	int status = api_json_parse((const char *)data, size, 32, &body, detail, sizeof(detail));
	if (status != 0 && status != 400)
		abort();
	if (status)
		return 0;
	status = api_import_json(st, body, &result, detail, sizeof(detail));
	if (status != 0 && (status < 400 || status > 599))
		abort();
	if (!status && !result)
		abort();
	json_decref(result);
	json_decref(body);
	return 0;
}
