/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The import flow over a JSON map of file names to CSV text (POST /v1/import). */
#include <stdio.h>

#include "flow/flow.h"

int flow_import_json(struct store *st, const json_t *map, json_t **result, struct fl_err *err)
{
	struct store_import_src src = {{NULL}};
	struct store_import_stats stats;
	const char *key;
	json_t *val;
	int status = 0;

	*result = NULL;
	if (json_object_size(map) == 0)
		return fl_err_set(err, FL_EINVAL,
				  "body: name at least one of nodes.csv, skus.csv, zones.csv,"
				  " rates.csv, lanes.csv, inventory.csv, sales.csv, calendar.csv");
	json_object_foreach((json_t *)map, key, val)
	{
		int k = store_file_kind_of(key);
		if (k < 0) {
			status = fl_err_set(err, FL_EINVAL, "%s: not one of the import files", key);
			goto out;
		}
		if (!json_is_string(val)) {
			status =
				fl_err_set(err, FL_EINVAL, "%s: must be a string of CSV text", key);
			goto out;
		}
		size_t len = json_string_length(val);
		src.files[k] =
			len ? fmemopen((void *)json_string_value(val), len, "rb") : tmpfile();
		if (!src.files[k]) {
			status = fl_err_set(err, FL_ENOMEM, "%s: cannot read", key);
			goto out;
		}
	}
	if ((status = store_import(st, &src, &stats, NULL, NULL, err)))
		goto out;
	json_t *rows = json_object();
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (src.files[k])
			json_object_set_new(rows, store_file_name((enum store_file_kind)k),
					    json_integer((json_int_t)stats.rows[k]));
	*result = json_pack("{s:o, s:I}", "rows", rows, "total", (json_int_t)stats.total);
	if (!*result)
		status = fl_err_set(err, FL_ENOMEM, "out of memory");
out:
	for (int k = 0; k < STORE_FILE_COUNT; k++)
		if (src.files[k])
			fclose(src.files[k]);
	return status;
}
