/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * intermittent.c — methods for series with many zero periods.
 *
 * Croston (1972) smooths the non-zero sizes z and the intervals p between them
 * separately (α = 0.1, started from the first demand and its distance from the start,
 * as R's croston does); SBA multiplies by 1 − α/2 to remove Croston's bias. TSB
 * (Teunter, Syntetos & Babai 2011) smooths the probability of demand every period, so
 * an item that stops selling decays towards zero; α and β are chosen on a small grid
 * by in-sample one-step squared error. ADIDA sums the series into buckets of k periods,
 * forecasts the buckets by SES and spreads the result back; iMAPA averages ADIDA over
 * k = 1 … the mean interval between demands. Every one of them is a flat forecast whose
 * intervals come from the hurdle distribution (forecast.c).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

#define CROSTON_ALPHA 0.1
#define IMAPA_K_MAX 12
/* intermittent series smooth slowly: α bounds of the aggregate SES */
#define SES_ALPHA_LO 0.0001
#define SES_ALPHA_HI 0.9999

static void flat(struct fc_fit *fit, double v)
{
	for (int h = 0; h < fit->h; h++)
		fit->f[h] = v;
	fit->hurdle = true;
	fit->mult = false;
	fit->sigma = 0;
	fit->aicc = HUGE_VAL;
	fit->psi[0] = 1;
	for (int j = 1; j < fit->h; j++)
		fit->psi[j] = 0;
}

int fc_croston(const double *y, int n, bool sba, struct fc_fit *fit)
{
	const double a = CROSTON_ALPHA;
	double z = 0, p = 0;
	int last = -1;

	for (int t = 0; t < n; t++) {
		if (y[t] <= 0)
			continue;
		if (last < 0) {
			z = y[t];
			p = t + 1;
		} else {
			z += a * (y[t] - z);
			p += a * ((t - last) - p);
		}
		last = t;
	}
	if (last < 0)
		return -1;
	flat(fit, z / p * (sba ? 1 - a / 2 : 1));
	snprintf(fit->model, sizeof(fit->model), "%s(a=%.2f)", sba ? "SBA" : "Croston", a);
	fit->npar = 1;
	fit->par[0] = a;
	return 0;
}

static double tsb_run(const double *y, int n, double a, double b, double p0, double z0, double *fc)
{
	double p = p0, z = z0, sse = 0;

	for (int t = 0; t < n; t++) {
		const double e = y[t] - p * z;
		sse += e * e;
		if (y[t] > 0) {
			p += b * (1 - p);
			z += a * (y[t] - z);
		} else {
			p -= b * p;
		}
	}
	*fc = p * z;
	return sse;
}

int fc_tsb(const double *y, int n, struct fc_fit *fit)
{
	static const double alphas[] = {0.1, 0.2, 0.3};
	static const double betas[] = {0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3};
	double nz = 0, sz = 0, best = HUGE_VAL, fc = 0, ba = 0, bb = 0;

	for (int t = 0; t < n; t++)
		if (y[t] > 0)
			nz++, sz += y[t];
	if (nz == 0)
		return -1;
	for (size_t i = 0; i < sizeof(alphas) / sizeof(alphas[0]); i++)
		for (size_t j = 0; j < sizeof(betas) / sizeof(betas[0]); j++) {
			double f;
			const double sse = tsb_run(y, n, alphas[i], betas[j], nz / n, sz / nz, &f);
			if (sse < best)
				best = sse, fc = f, ba = alphas[i], bb = betas[j];
		}
	flat(fit, fc);
	snprintf(fit->model, sizeof(fit->model), "TSB(a=%.2f,b=%.2f)", ba, bb);
	fit->npar = 2;
	fit->par[0] = ba;
	fit->par[1] = bb;
	return 0;
}

/* SES on the series summed in buckets of k (the newest bucket ends at the last period). */
static double adida_level(const double *y, int n, int k, double *agg)
{
	const int nb = n / k, off = n - nb * k;
	double a, sse;

	if (nb < 2)
		return -1;
	for (int i = 0; i < nb; i++) {
		agg[i] = 0;
		for (int t = 0; t < k; t++)
			agg[i] += y[off + i * k + t];
	}
	return ses_fit_fast(agg, nb, SES_ALPHA_LO, SES_ALPHA_HI, &a, &sse) / k;
}

int fc_adida(const double *y, int n, int k, struct fc_fit *fit, double *work)
{
	if (k < 1)
		k = 1;
	while (k > 1 && n / k < 2)
		k--; /* too few buckets: aggregate less */
	const double v = adida_level(y, n, k, work);
	if (v < 0)
		return -1;
	flat(fit, v);
	snprintf(fit->model, sizeof(fit->model), "ADIDA(k=%d)", k);
	fit->npar = 0;
	return 0;
}

int fc_imapa(const double *y, int n, struct fc_fit *fit, double *work)
{
	double adi, cv2, s = 0;
	int used = 0;

	fc_classify(y, n, &adi, &cv2);
	int kmax = (int)lround(isfinite(adi) ? adi : 1);
	if (kmax < 1)
		kmax = 1;
	if (kmax > IMAPA_K_MAX)
		kmax = IMAPA_K_MAX;
	for (int k = 1; k <= kmax; k++) {
		const double v = adida_level(y, n, k, work);
		if (v >= 0)
			s += v, used++;
	}
	if (!used)
		return -1;
	flat(fit, s / used);
	snprintf(fit->model, sizeof(fit->model), "iMAPA(k=1..%d)", kmax);
	fit->npar = 0;
	return 0;
}
