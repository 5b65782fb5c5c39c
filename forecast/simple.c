/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * simple.c — the benchmarks every forecast is measured against (naive, seasonal naive,
 * mean, moving average), fast SES, and the theta method.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void linear(struct fc_fit *fit, double sigma, double psi)
{
	fit->sigma = sigma;
	fit->mult = false;
	fit->hurdle = false;
	fit->aicc = HUGE_VAL;
	fit->psi[0] = 1;
	for (int j = 1; j < fit->h; j++)
		fit->psi[j] = psi;
}

int fc_naive(const double *y, int n, struct fc_fit *fit)
{
	double ss = 0;

	for (int t = 1; t < n; t++)
		ss += (y[t] - y[t - 1]) * (y[t] - y[t - 1]);
	for (int h = 0; h < fit->h; h++)
		fit->f[h] = y[n - 1];
	linear(fit, n > 1 ? sqrt(ss / (n - 1)) : 0, 1);
	snprintf(fit->model, sizeof(fit->model), "Naive");
	fit->npar = 0;
	return 0;
}

int fc_snaive(const double *y, int n, int m, struct fc_fit *fit)
{
	double ss = 0;

	if (m < 2 || n <= m)
		return -1;
	for (int t = m; t < n; t++)
		ss += (y[t] - y[t - m]) * (y[t] - y[t - m]);
	for (int h = 0; h < fit->h; h++)
		fit->f[h] = y[n - m + h % m];
	linear(fit, sqrt(ss / (n - m)), 0);
	for (int j = m; j < fit->h; j += m)
		fit->psi[j] = 1;
	snprintf(fit->model, sizeof(fit->model), "SNaive(%d)", m);
	fit->npar = 0;
	return 0;
}

int fc_mean(const double *y, int n, struct fc_fit *fit)
{
	double s = 0, ss = 0;

	for (int t = 0; t < n; t++)
		s += y[t];
	const double mu = s / n;
	for (int t = 0; t < n; t++)
		ss += (y[t] - mu) * (y[t] - mu);
	for (int h = 0; h < fit->h; h++)
		fit->f[h] = mu;
	/* the estimate's own uncertainty widens the interval by √(1 + 1/n) */
	linear(fit, n > 1 ? sqrt(ss / (n - 1) * (1 + 1.0 / n)) : 0, 0);
	snprintf(fit->model, sizeof(fit->model), "Mean");
	fit->npar = 0;
	return 0;
}

int fc_ma(const double *y, int n, int m, struct fc_fit *fit)
{
	int k = m > 1 ? m : 3;
	double ss = 0, s = 0;
	int cnt = 0;

	if (k > n)
		k = n;
	/* one-step errors of the in-sample moving average give σ */
	for (int t = 0; t < n; t++) {
		if (t >= k) {
			const double e = y[t] - s / k;
			ss += e * e;
			cnt++;
			s -= y[t - k];
		}
		s += y[t];
	}
	for (int h = 0; h < fit->h; h++)
		fit->f[h] = s / k;
	linear(fit, cnt ? sqrt(ss / cnt) : 0, 1.0 / k);
	snprintf(fit->model, sizeof(fit->model), "MA(%d)", k);
	fit->npar = 0;
	return 0;
}

static double ses_sse(const double *y, int n, double a, double *level)
{
	double l = y[0], sse = 0;

	for (int t = 1; t < n; t++) {
		const double e = y[t] - l;
		sse += e * e;
		l += a * e;
	}
	*level = l;
	return sse;
}

double ses_fit_fast(const double *y, int n, double alo, double ahi, double *alpha, double *sse)
{
	const double g = 0.6180339887498949;
	double lo = alo, hi = ahi, l;
	double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
	double f1 = ses_sse(y, n, x1, &l), f2 = ses_sse(y, n, x2, &l);

	for (int i = 0; i < 30; i++) {
		if (f1 <= f2) {
			hi = x2, x2 = x1, f2 = f1;
			x1 = hi - g * (hi - lo);
			f1 = ses_sse(y, n, x1, &l);
		} else {
			lo = x1, x1 = x2, f1 = f2;
			x2 = lo + g * (hi - lo);
			f2 = ses_sse(y, n, x2, &l);
		}
	}
	*alpha = (lo + hi) / 2;
	*sse = ses_sse(y, n, *alpha, &l);
	return l;
}

double fc_acf(const double *y, int n, int k)
{
	double mu = 0, num = 0, den = 0;

	for (int t = 0; t < n; t++)
		mu += y[t];
	mu /= n;
	for (int t = 0; t < n; t++) {
		den += (y[t] - mu) * (y[t] - mu);
		if (t >= k)
			num += (y[t] - mu) * (y[t - k] - mu);
	}
	return den > 0 ? num / den : 0;
}

int fc_smean(const double *y, int n, int m, int k, struct fc_fit *fit)
{
	if (m < 2 || k < 1 || n < k * m + m)
		return -1;
	/* σ from the in-sample errors of the same forecast made one season at a time */
	double ss = 0;
	int cnt = 0;
	for (int t = k * m; t < n; t++) {
		double s = 0;
		for (int j = 1; j <= k; j++)
			s += y[t - j * m];
		ss += (y[t] - s / k) * (y[t] - s / k), cnt++;
	}
	for (int h = 0; h < fit->h; h++) {
		double s = 0; /* the same position of the season in each of the last k seasons */
		for (int j = 1; j <= k; j++)
			s += y[n - j * m + h % m];
		fit->f[h] = s / k;
	}
	for (int t = fit->roll ? fit->roll_from : n; t < n; t++) /* rolling origins */
		for (int h = 0; h < fit->h && t + h < n; h++) {
			double s = 0;
			for (int j = 1; j <= k; j++)
				s += t - j * m + h % m >= 0 ? y[t - j * m + h % m] : y[h % m];
			fit->roll[(size_t)(t - fit->roll_from) * fit->h + h] = s / k;
		}
	linear(fit, sqrt(ss / cnt), 0);
	snprintf(fit->model, sizeof(fit->model), "SMean(%dx%d)", k, m);
	fit->npar = 0;
	return 0;
}

bool fc_seasonal_test(const double *y, int n, int m)
{
	double s = 0;

	if (m < 2 || n <= 2 * m)
		return false;
	for (int k = 1; k < m; k++) {
		const double r = fc_acf(y, n, k);
		s += r * r;
	}
	const double rm = fc_acf(y, n, m);
	return fabs(rm) / sqrt((1 + 2 * s) / n) > 1.6448536269514722;
}

bool fc_theta_deseason(const double *y, int n, int m, double *sa, double *idx)
{
	bool seasonal = fc_seasonal_test(y, n, m);
	if (seasonal)
		for (int t = 0; t < n && seasonal; t++)
			seasonal = y[t] > 0;
	if (seasonal && fc_season_indices(y, n, m, n / (m > 1 ? m : 1), true, idx) < 0)
		seasonal = false;
	for (int t = 0; t < n; t++)
		sa[t] = seasonal ? y[t] / idx[t % m] : y[t];
	return seasonal;
}

int fc_theta(const double *y, int n, int m, struct fc_fit *fit, double *work)
{
	double idx[FC_SEASON_MAX];
	double *sa = work; /* n doubles */

	if (n < 3)
		return -1;
	const bool seasonal = fc_theta_deseason(y, n, m, sa, idx);

	/* the theta = 0 line's slope, halved, added to SES (Hyndman & Billah 2003) */
	double st = 0, sy = 0, stt = 0, sty = 0;
	for (int t = 0; t < n; t++)
		st += t, sy += sa[t], stt += (double)t * t, sty += t * sa[t];
	const double b = (n * sty - st * sy) / (n * stt - st * st);
	double a, sse;
	const double l = ses_fit_fast(sa, n, 0.0001, 0.9999, &a, &sse);
	const double decay = pow(1 - a, n);
	for (int h = 0; h < fit->h; h++) {
		double f = l + 0.5 * b * (h + 1 / a - decay / a);
		if (seasonal)
			f *= idx[(n + h) % m];
		fit->f[h] = f;
	}
	linear(fit, sqrt(sse / (n - 1 > 0 ? n - 1 : 1)), a);
	snprintf(fit->model, sizeof(fit->model), "Theta(a=%.3f%s)", a, seasonal ? ",seasonal" : "");
	fit->npar = 1;
	fit->par[0] = a;
	return 0;
}
