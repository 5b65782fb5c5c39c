/* SPDX-License-Identifier: GPL-3.0-or-later */
/* seed.h — shared by the fuzz targets: load one CSV file into a store or abort. */
#ifndef FULCRUM_FUZZ_SEED_H
#define FULCRUM_FUZZ_SEED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
