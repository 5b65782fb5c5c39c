/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calendar.c — the days a forecast treats apart: closed days, holidays and paydays, from
 * the store's calendar.csv or a calendar file beside a CSV of series, and the lists one
 * series gets from them (fc_opts.closed and fc_opts.flag).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/flow.h"

static int row_cmp(const void *a, const void *b)
{
	const struct store_calendar_day *x = a, *y = b;
	const int c = strcmp(x->node, y->node);
	return c ? c : (x->day > y->day) - (x->day < y->day);
}

/* Sort the rows by (node, day) and mark where each node's run starts. */
static int group(struct flow_calendar *cal, struct fl_err *err)
{
	if (cal->n) /* an empty calendar has no rows to sort (v is NULL) */
		qsort(cal->v, cal->n, sizeof(*cal->v), row_cmp);
	free(cal->group);
	cal->ngroup = 0;
	cal->group = malloc(sizeof(size_t) * (cal->n + 1));
	if (!cal->group)
		return fl_err_set(err, FL_ENOMEM, "calendar: out of memory");
	for (size_t i = 0; i < cal->n; i++)
		if (!i || strcmp(cal->v[i].node, cal->v[i - 1].node))
			cal->group[cal->ngroup++] = i;
	cal->group[cal->ngroup] = cal->n;
	return 0;
}

void flow_calendar_release(struct flow_calendar *cal)
{
	free(cal->v);
	free(cal->group);
	memset(cal, 0, sizeof(*cal));
}

int flow_calendar_store(struct store *st, const char *node, struct flow_calendar *cal,
			struct fl_err *err)
{
	memset(cal, 0, sizeof(*cal));
	int rc = store_calendar_days(st, node, &cal->v, &cal->n, err);
	if (!rc)
		rc = group(cal, err);
	if (rc)
		flow_calendar_release(cal);
	return rc;
}

static int add_row(struct flow_calendar *cal, size_t *cap, int32_t day, const char *node,
		   unsigned flags)
{
	if (cal->n == *cap &&
	    fl_grow((void **)&cal->v, cap, cal->n + 1, sizeof(*cal->v), STORE_CALENDAR_MAX))
		return -1;
	struct store_calendar_day *d = &cal->v[cal->n++];
	d->day = day;
	snprintf(d->node, sizeof(d->node), "%s", node);
	d->flags = flags;
	return 0;
}

int flow_calendar_add(struct flow_calendar *cal, const int32_t *days, int n, unsigned flags,
		      struct fl_err *err)
{
	size_t cap = cal->n;
	for (int i = 0; i < n; i++)
		if (add_row(cal, &cap, days[i], "", flags))
			return fl_err_set(err, FL_ELIMIT, "calendar: more than %d days",
					  STORE_CALENDAR_MAX);
	return group(cal, err);
}

/* The CSV door's calendar file: date[,node][,closed][,holiday][,payday]. */
#define CAL_COLS 5
static const char *const cal_cols[CAL_COLS] = {"date", "node", "closed", "holiday", "payday"};

static int split(char *line, char **f, int max)
{
	int n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line;; p++) {
		if (n < max)
			f[n] = p;
		n++;
		p += strcspn(p, ",");
		if (!*p)
			break;
		*p = '\0';
	}
	return n;
}

int flow_calendar_csv(const char *path, struct flow_calendar *cal, struct fl_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[512], *f[16];
	int col[CAL_COLS] = {-1, -1, -1, -1, -1}, nh, rc = 0;
	size_t cap = 0;
	memset(cal, 0, sizeof(*cal));
	cal->prefix = true;
	if (!fp)
		return fl_err_set(err, FL_EIO, "%s: %s", path, strerror(errno));
	if (!fgets(line, sizeof(line), fp)) {
		fclose(fp);
		return fl_err_set(err, FL_EINVAL, "%s:1: empty file (no header row)", path);
	}
	nh = split(line, f, 16);
	for (int i = 0; i < nh && i < 16; i++)
		for (int c = 0; c < CAL_COLS; c++)
			if (!strcasecmp(f[i], cal_cols[c]))
				col[c] = i;
	if (nh > 16 || col[0] < 0 || (col[2] < 0 && col[3] < 0 && col[4] < 0)) {
		fclose(fp);
		return fl_err_set(err, FL_EINVAL,
				  "%s:1: the header names date and one of closed, holiday, payday "
				  "(node is optional)",
				  path);
	}
	for (unsigned long ln = 2; !rc && fgets(line, sizeof(line), fp); ln++) {
		if (!strchr(line, '\n') && !feof(fp)) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%lu: a line longer than %zu bytes",
					path, ln, sizeof(line) - 2);
			break;
		}
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (strchr(line, '"')) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%lu: quoted fields are not taken here",
					path, ln);
			break;
		}
		if (split(line, f, 16) != nh) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%lu: %s fields than the header", path,
					ln, "other number of");
			break;
		}
		int32_t day;
		if (!fl_date_parse(f[col[0]], &day)) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%lu: date: not a date (YYYY-MM-DD)",
					path, ln);
			break;
		}
		const char *node = col[1] >= 0 ? f[col[1]] : "";
		if (strlen(node) >= FL_ID_MAX) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%lu: node: longer than %d bytes", path,
					ln, FL_ID_MAX - 1);
			break;
		}
		unsigned flags = 0;
		for (int c = 2; c < CAL_COLS && !rc; c++) {
			const char *v = col[c] >= 0 ? f[col[c]] : "";
			if (*v && strcmp(v, "0") && strcmp(v, "1"))
				rc = fl_err_set(err, FL_EINVAL,
						"%s:%lu: %s: must be 0 or 1, not '%s'", path, ln,
						cal_cols[c], v);
			else if (*v == '1')
				flags |= 1u << (c - 2);
		}
		if (!rc && flags && add_row(cal, &cap, day, node, flags))
			rc = fl_err_set(err, FL_ELIMIT, "%s:%lu: more than %d calendar days", path,
					ln, STORE_CALENDAR_MAX);
	}
	fclose(fp);
	if (!rc)
		rc = group(cal, err);
	if (rc)
		flow_calendar_release(cal);
	return rc;
}

/* Does group g's node apply to series s? */
static bool applies(const struct flow_calendar *cal, size_t g, const struct store_series *s)
{
	const char *node = cal->v[cal->group[g]].node;
	if (!*node)
		return true;
	if (cal->prefix)
		return !strncmp(s->id, node, strlen(node));
	return s->node && !strcmp(s->node, node);
}

int flow_series_days(const struct flow_calendar *cal, const struct store_series *s, int horizon,
		     struct flow_series_days *d, struct fl_err *err)
{
	memset(d, 0, sizeof(*d));
	if (!cal || !cal->n)
		return 0;
	const int32_t lo = s->first_day, hi = s->last_day + horizon;
	size_t from[16], to[16], total = 0;
	int ng = 0;
	for (size_t g = 0; g < cal->ngroup; g++) {
		if (!applies(cal, g, s))
			continue;
		if (ng == 16)
			return fl_err_set(err, FL_EINVAL,
					  "series '%s': more than 16 calendar nodes apply to it",
					  s->id);
		size_t a = cal->group[g], b = cal->group[g + 1];
		while (a < b) { /* the first row of the run on or after lo */
			const size_t mid = a + (b - a) / 2;
			if (cal->v[mid].day < lo)
				a = mid + 1;
			else
				b = mid;
		}
		size_t e = a;
		while (e < cal->group[g + 1] && cal->v[e].day <= hi)
			e++;
		if (e > a) {
			from[ng] = a, to[ng] = e, ng++;
			total += e - a;
		}
	}
	if (!total)
		return 0;
	if (!(d->buf = malloc(sizeof(int32_t) * total * FLOW_DAY_KINDS)))
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	for (int k = 0; k < FLOW_DAY_KINDS; k++) {
		int32_t *v = d->days[k] = d->buf + total * (size_t)k;
		int n = 0;
		for (int g = 0; g < ng; g++)
			for (size_t i = from[g]; i < to[g]; i++)
				if (cal->v[i].flags & (1u << k))
					v[n++] = cal->v[i].day;
		qsort(v, (size_t)n, sizeof(int32_t), fc_day_cmp);
		int u = 0;
		for (int i = 0; i < n; i++)
			if (!u || v[u - 1] != v[i])
				v[u++] = v[i];
		d->n[k] = u;
	}
	return 0;
}

void flow_series_days_apply(const struct flow_series_days *d, struct fc_opts *o)
{
	if (!d->buf)
		return;
	o->closed = d->days[0];
	o->nclosed = d->n[0];
	o->flag[FC_FLAG_HOLIDAY] = d->days[1];
	o->nflag[FC_FLAG_HOLIDAY] = d->n[1];
	o->flag[FC_FLAG_PAYDAY] = d->days[2];
	o->nflag[FC_FLAG_PAYDAY] = d->n[2];
}

uint64_t flow_series_days_hash(uint64_t h, const struct flow_series_days *d)
{
	for (int k = 0; k < FLOW_DAY_KINDS; k++) {
		h = (h ^ (uint64_t)(d->n[k] + 1)) * 0x100000001b3ULL; /* which list a day is in */
		for (int i = 0; i < d->n[k]; i++) {
			const unsigned char *p = (const unsigned char *)&d->days[k][i];
			for (size_t b = 0; b < sizeof(int32_t); b++)
				h = (h ^ p[b]) * 0x100000001b3ULL;
		}
	}
	return h;
}

void flow_series_days_release(struct flow_series_days *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}
