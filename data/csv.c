/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RFC 4180 reading and writing, streaming, with hard ceilings. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void csv_reader_init(struct csv_reader *r, FILE *fp)
{
	memset(r, 0, offsetof(struct csv_reader, buf));
	r->pos = r->len = 0;
	r->eof = r->started = false;
	r->rec = NULL;
	r->rec_len = r->rec_cap = 0;
	r->nfields = 0;
	r->line = 0;
	r->next_line = 1;
	r->fp = fp;
}

void csv_reader_release(struct csv_reader *r)
{
	free(r->rec);
	r->rec = NULL;
	r->rec_cap = 0;
}

/* Next byte, or -1 at end of input. */
static inline int next_byte(struct csv_reader *r)
{
	if (r->pos == r->len) {
		if (r->eof)
			return -1;
		r->len = fread(r->buf, 1, sizeof(r->buf), r->fp);
		r->pos = 0;
		if (r->len < sizeof(r->buf))
			r->eof = true;
		if (r->len == 0)
			return -1;
	}
	return (unsigned char)r->buf[r->pos++];
}

static inline int peek_byte(struct csv_reader *r)
{
	int c = next_byte(r);
	if (c >= 0)
		r->pos--;
	return c;
}

static int rec_append(struct csv_reader *r, char c, struct fl_err *err)
{
	if (r->rec_len + 1 >= r->rec_cap) {
		const int rc =
			fl_grow((void **)&r->rec, &r->rec_cap, r->rec_len + 2, 1, CSV_RECORD_MAX);
		if (rc == FL_ELIMIT)
			return fl_err_set(err, FL_ELIMIT, "%lu: record longer than %u bytes",
					  r->line, CSV_RECORD_MAX);
		if (rc)
			return fl_err_set(err, FL_ENOMEM, "%lu: out of memory", r->line);
	}
	r->rec[r->rec_len++] = c;
	return 0;
}

static int end_field(struct csv_reader *r, struct fl_err *err)
{
	int rc = rec_append(r, '\0', err);
	if (rc)
		return rc;
	if (r->nfields + 1 >= CSV_FIELDS_MAX)
		return fl_err_set(err, FL_ELIMIT, "%lu: more than %d fields", r->line,
				  CSV_FIELDS_MAX - 1);
	r->offs[++r->nfields] = r->rec_len;
	return 0;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s;
		int n;
		unsigned min;
		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, min = 0x80, c &= 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, min = 0x800, c &= 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		s++;
		for (int i = 0; i < n; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (*s & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
	}
	return true;
}

enum { ST_START, ST_UNQUOTED, ST_QUOTED, ST_QUOTE_IN_QUOTED };

int csv_read(struct csv_reader *r, struct fl_err *err)
{
	if (!r->started) {
		r->started = true;
		if (peek_byte(r) == 0xEF) {
			/* a BOM is three bytes: take them only if all three match */
			if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
				r->pos += 3;
		}
	}
	for (;;) {
		int st = ST_START, rc;
		bool quoted_any = false;
		r->line = r->next_line;
		r->rec_len = 0;
		r->nfields = 0;
		r->offs[0] = 0;
		for (;;) {
			int c = next_byte(r);
			if (c == 0)
				return fl_err_set(err, FL_EINVAL, "%lu: NUL byte in input",
						  r->line);
			if (st == ST_QUOTED) {
				if (c < 0)
					return fl_err_set(err, FL_EINVAL,
							  "%lu: quoted field is not closed",
							  r->line);
				if (c == '"') {
					st = ST_QUOTE_IN_QUOTED;
					continue;
				}
				if (c == '\n')
					r->next_line++;
				if ((rc = rec_append(r, (char)c, err)))
					return rc;
				continue;
			}
			if (st == ST_QUOTE_IN_QUOTED) {
				if (c == '"') {
					st = ST_QUOTED;
					if ((rc = rec_append(r, '"', err)))
						return rc;
					continue;
				}
				if (c == ',') {
					if ((rc = end_field(r, err)))
						return rc;
					st = ST_START;
					continue;
				}
				if (c != '\r' && c != '\n' && c >= 0)
					return fl_err_set(err, FL_EINVAL,
							  "%lu: text after a closing quote",
							  r->line);
			} else if (c == '"') {
				if (st != ST_START)
					return fl_err_set(err, FL_EINVAL,
							  "%lu: quote inside an unquoted field",
							  r->line);
				st = ST_QUOTED;
				quoted_any = true;
				continue;
			} else if (c == ',') {
				if ((rc = end_field(r, err)))
					return rc;
				st = ST_START;
				continue;
			} else if (c != '\r' && c != '\n' && c >= 0) {
				st = ST_UNQUOTED;
				if ((rc = rec_append(r, (char)c, err)))
					return rc;
				continue;
			}
			/* end of record: c is CR, LF or end of input */
			if (c == '\r' && peek_byte(r) == '\n')
				next_byte(r);
			if (c >= 0)
				r->next_line++;
			if ((rc = end_field(r, err)))
				return rc;
			if (r->nfields == 1 && r->rec[0] == '\0' && !quoted_any) {
				if (c < 0)
					return 0;
				break; /* blank line: skip */
			}
			for (size_t i = 0; i < r->nfields; i++) {
				r->fields[i] = r->rec + r->offs[i];
				if (!utf8_valid((const unsigned char *)r->fields[i]))
					return fl_err_set(err, FL_EINVAL,
							  "%lu: field %zu is not valid UTF-8",
							  r->line, i + 1);
			}
			return 1;
		}
	}
}

void csv_write_field(FILE *fp, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

void csv_format_double(char *buf, size_t cap, double d)
{
	snprintf(buf, cap, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, cap, "%.17g", d);
}
