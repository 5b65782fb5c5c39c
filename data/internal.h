/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * internal.h — private to data/: the streaming CSV reader and writer, and a string map.
 * Nothing outside data/ includes this file (fuzz/ and tests/ may, to reach the parser).
 *
 * The reader holds at most one record in memory; its ceilings (bytes per field and per
 * record, fields per record) are named below and hitting one is an error with the line.
 */
#ifndef FULCRUM_DATA_INTERNAL_H
#define FULCRUM_DATA_INTERNAL_H

#include <stdio.h>

#include "model.h"

#define CSV_RECORD_MAX (1u << 20) /* bytes in one record, quotes removed */
#define CSV_FIELDS_MAX 256	  /* fields in one record */
#define CSV_BUF_SIZE (1u << 16)	  /* read-ahead buffer */

struct csv_reader {
	FILE *fp; /* borrowed */
	char buf[CSV_BUF_SIZE];
	size_t pos, len;
	bool eof, started;
	char *rec; /* record text: fields NUL-separated */
	size_t rec_len, rec_cap;
	size_t offs[CSV_FIELDS_MAX];
	char *fields[CSV_FIELDS_MAX];
	size_t nfields;
	unsigned long line;	 /* line where the current record starts (1-based) */
	unsigned long next_line; /* line where the next record starts */
};

/* Start reading fp (borrowed; the caller closes it). A leading UTF-8 BOM is skipped. */
void csv_reader_init(struct csv_reader *r, FILE *fp);
void csv_reader_release(struct csv_reader *r);

/*
 * Read the next record into r->fields[0..nfields). Blank lines are skipped.
 * Returns 1 for a record, 0 at end of input, or a negative status with err->msg set
 * to "LINE: what is wrong" (the caller prefixes the file name).
 */
int csv_read(struct csv_reader *r, struct fl_err *err);

/* Write one field, quoted per RFC 4180 when it holds a comma, quote, CR or LF. */
void csv_write_field(FILE *fp, const char *s);

/* Shortest decimal text that reads back as exactly d ("%.15g", else "%.17g"). */
void csv_format_double(char *buf, size_t cap, double d);

/* ---- a map from short strings to int64, open addressing, grows by doubling ---- */

struct strmap_slot {
	char *key;
	int64_t val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap, count;
};

void strmap_init(struct strmap *m);
void strmap_release(struct strmap *m);
/* Insert or overwrite; FL_ENOMEM on allocation failure. */
int strmap_put(struct strmap *m, const char *key, int64_t val);
/* True and *val set when key is present. */
bool strmap_get(const struct strmap *m, const char *key, int64_t *val);

#endif
