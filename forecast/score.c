/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * score.c — accuracy of a forecast against what happened, and the calendar of a series.
 */
#include <math.h>

#include "internal.h"

void fc_score(const double *train, int n, const double *actual, const double *mean,
	      const double *lo, const double *hi, int h, double level, struct fc_score *s)
{
	double sa = 0, sq = 0, ae = 0, se = 0, sm = 0, bias = 0, cov = 0, wk = 0;
	int first = 0, cnt = 0;
	const double alpha = 1 - level;

	while (first < n && train[first] == 0)
		first++;
	for (int t = first + 1; t < n; t++) {
		const double d = train[t] - train[t - 1];
		sa += fabs(d);
		sq += d * d;
		cnt++;
	}
	for (int i = 0; i < h; i++) {
		const double e = mean[i] - actual[i];
		ae += fabs(e);
		se += e * e;
		bias += e;
		const double den = fabs(actual[i]) + fabs(mean[i]);
		sm += den > 0 ? 200 * fabs(e) / den : 0;
		if (lo && hi) {
			const bool in = actual[i] >= lo[i] && actual[i] <= hi[i];
			cov += in;
			wk += hi[i] - lo[i];
			if (actual[i] < lo[i])
				wk += 2 / alpha * (lo[i] - actual[i]);
			if (actual[i] > hi[i])
				wk += 2 / alpha * (actual[i] - hi[i]);
		}
	}
	s->mase = cnt && sa > 0 ? (ae / h) / (sa / cnt) : NAN;
	s->rmsse = cnt && sq > 0 ? sqrt((se / h) / (sq / cnt)) : NAN;
	s->smape = sm / h;
	s->bias = bias / h;
	s->coverage = lo && hi ? cov / h : NAN;
	s->winkler = lo && hi ? wk / h : NAN;
}

/* ---- calendars (proleptic Gregorian; days since 1970-01-01, after H. Hinnant) ---- */

static void civil(int32_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	const int32_t doe = z - era * 146097;
	const int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const int32_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int32_t days_of(int y, int m, int d)
{
	y -= m <= 2;
	const int32_t era = (y >= 0 ? y : y - 399) / 400;
	const int32_t yoe = y - era * 400;
	const int32_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : len[m - 1];
}

const char *fc_step_name(enum fc_step s)
{
	return s == FC_STEP_DAY ? "daily" : s == FC_STEP_WEEK ? "weekly" : "monthly";
}

int fc_step_period(enum fc_step s)
{
	return s == FC_STEP_DAY ? 7 : s == FC_STEP_WEEK ? 52 : 12;
}

int32_t fc_step_add(int32_t day, enum fc_step s, int k)
{
	if (s == FC_STEP_DAY)
		return day + k;
	if (s == FC_STEP_WEEK)
		return day + 7 * k;
	int y, m, d;
	civil(day, &y, &m, &d);
	const int mm = (y * 12 + (m - 1)) + k;
	y = mm / 12;
	m = mm % 12 + 1;
	if (d > month_days(y, m))
		d = month_days(y, m);
	return days_of(y, m, d);
}

int fc_infer_step(const int32_t *days, int n, enum fc_step *step, struct fl_err *err)
{
	*step = FC_STEP_DAY;
	if (n < 2)
		return 0;
	for (int i = 1; i < n; i++)
		if (days[i] <= days[i - 1])
			return fl_err_set(err, FL_EINVAL, "date %d: %s", i + 1,
					  days[i] == days[i - 1] ? "repeats the previous date"
								 : "is before the previous date");
	const int32_t gap = days[1] - days[0];
	if (gap == 1)
		*step = FC_STEP_DAY;
	else if (gap == 7)
		*step = FC_STEP_WEEK;
	else if (fc_step_add(days[0], FC_STEP_MONTH, 1) == days[1])
		*step = FC_STEP_MONTH;
	else
		return fl_err_set(err, FL_EINVAL,
				  "dates: %d days between the first two; expected a day, a week "
				  "or a month",
				  (int)gap);
	for (int i = 1; i < n; i++)
		if (fc_step_add(days[i - 1], *step, 1) != days[i])
			return fl_err_set(
				err, FL_EINVAL,
				"date %d: a gap in a %s series (every period needs a row)", i + 1,
				fc_step_name(*step));
	return 0;
}
