/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the unit tests: temporary directories, files, and store snapshots. */
#ifndef FULCRUM_TESTS_HELPERS_H
#define FULCRUM_TESTS_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "data/store.h"

/* A seeded xorshift generator for randomised tests: set rng, then draw. */
static uint64_t rng;
static inline double urand(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}
static inline int irand(int lo, int hi)
{
	return lo + (int)(urand() * (hi - lo + 1));
}

/* A fresh temporary directory; the caller removes it with rm_tree(). */
static inline char *tmp_dir(void)
{
	char tpl[] = "/tmp/fulcrum-test-XXXXXX";
	char *d = mkdtemp(tpl);
	assert_non_null(d);
	return strdup(d);
}

static inline void rm_tree(char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static inline void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* The whole file as a NUL-terminated string (caller frees). */
static inline char *read_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Every table of DATA.md as CSV text, concatenated: equal snapshots, equal stores. */
static inline char *store_snapshot(struct store *st)
{
	char *dir = tmp_dir();
	struct fl_err err = {0};
	assert_int_equal(store_export_dir(st, dir, &err), 0);
	size_t cap = 1, len = 0;
	char *all = calloc(1, 1);
	for (int k = 0; k < STORE_FILE_COUNT; k++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, store_file_name((enum store_file_kind)k));
		char *t = read_file(path);
		size_t n = strlen(t);
		cap += n;
		all = realloc(all, cap);
		memcpy(all + len, t, n + 1);
		len += n;
		free(t);
	}
	rm_tree(dir);
	return all;
}

#endif
