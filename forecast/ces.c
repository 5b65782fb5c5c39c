/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ces.c — complex exponential smoothing without a season (Svetunkov, Kourentzes & Ord
 * 2022, "Complex exponential smoothing", Naval Research Logistics 69:1108–1123), on the
 * seasonally adjusted series as the theta methods are (the classical test and
 * multiplicative indices). The state is a level l and an information potential c:
 *
 *   y_t = l_{t−1} + ε_t
 *   l_t = l_{t−1} − (1 − α1) c_{t−1} + (α0 − α1) ε_t
 *   c_t = l_{t−1} + (1 − α0) c_{t−1} + (α0 + α1) ε_t
 *
 * so the h-step forecast is w' F^{h−1} x_n with w = (1, 0), F = [[1, α1 − 1], [1, 1 − α0]],
 * and its error weights ψ_j = w' F^{j−1} g, g = (α0 − α1, α0 + α1). α0, α1, l_0 and c_0
 * minimise the one-step squared error by Nelder–Mead, inside the stability region (both
 * eigenvalues of F − g w' inside the unit circle).
 */
#include <complex.h>
#include <math.h>
#include <stdio.h>

#include "internal.h"

#define CES_MAXEV 300

struct ces_ctx {
	const double *y;
	int n;
};

static bool ces_stable(double a0, double a1)
{
	/* D = F − g w' = [[1 − α0 + α1, α1 − 1], [1 − α0 − α1, 1 − α0]] */
	const double d11 = 1 - a0 + a1, d12 = a1 - 1, d21 = 1 - a0 - a1, d22 = 1 - a0;
	const double tr = d11 + d22, det = d11 * d22 - d12 * d21;
	const double complex disc = csqrt(tr * tr / 4 - det + 0 * I);
	return cabs(tr / 2 + disc) < 1 && cabs(tr / 2 - disc) < 1;
}

double fc_ces_run(const double *y, int n, double a0, double a1, double l0, double c0, int H,
		  double *f)
{
	double l = l0, c = c0, sse = 0;
	for (int t = 0; t < n; t++) {
		const double e = y[t] - l;
		sse += e * e;
		const double nl = l - (1 - a1) * c + (a0 - a1) * e;
		c = l + (1 - a0) * c + (a0 + a1) * e;
		l = nl;
	}
	for (int h = 0; h < H; h++) { /* x ← F x, reading the level each step */
		f[h] = l;
		const double nl = l + (a1 - 1) * c;
		c = l + (1 - a0) * c;
		l = nl;
	}
	return sse;
}

static double ces_objective(const double *x, void *arg)
{
	const struct ces_ctx *c = arg;
	if (!ces_stable(x[0], x[1]))
		return HUGE_VAL;
	const double sse = fc_ces_run(c->y, c->n, x[0], x[1], x[2], x[3], 0, NULL);
	return isfinite(sse) ? sse : HUGE_VAL;
}

int fc_ces(const double *y, int n, int m, struct fc_fit *fit, double *work)
{
	double idx[FC_SEASON_MAX];
	double *sa = work; /* n doubles */

	if (n < 6)
		return -1;
	const bool seasonal = fc_theta_deseason(y, n, m, sa, idx);
	double scale = 0, start = 0;
	for (int t = 0; t < n; t++)
		scale += fabs(sa[t]);
	scale = scale / n + 1e-9;
	for (int t = 0; t < 3; t++)
		start += sa[t] / 3;
	struct ces_ctx c = {.y = sa, .n = n};
	double x[4] = {1.3, 1.0, start, start}, step[4] = {0.1, 0.1, 0.1 * scale, 0.1 * scale};
	const double best = fc_nelder_mead(ces_objective, &c, x, step, 4, CES_MAXEV, 1e-8);
	if (!isfinite(best))
		return -1;
	const double sse = fc_ces_run(sa, n, x[0], x[1], x[2], x[3], fit->h, fit->f);
	if (seasonal)
		for (int h = 0; h < fit->h; h++)
			fit->f[h] *= idx[(n + h) % m];
	/* ψ_j = w' F^{j−1} g: the first component of F^{j−1} g */
	double g1 = x[0] - x[1], g2 = x[0] + x[1];
	fit->psi[0] = 1;
	for (int j = 1; j < fit->h; j++) {
		fit->psi[j] = g1;
		const double n1 = g1 + (x[1] - 1) * g2;
		g2 = g1 + (1 - x[0]) * g2;
		g1 = n1;
	}
	fit->sigma = sqrt(sse / (n - 4 > 0 ? n - 4 : 1));
	fit->mult = fit->hurdle = false;
	fit->aicc = HUGE_VAL;
	snprintf(fit->model, sizeof(fit->model), "CES(a0=%.2f,a1=%.2f%s)", x[0], x[1],
		 seasonal ? ",s" : "");
	fit->npar = 2;
	fit->par[0] = x[0];
	fit->par[1] = x[1];
	return 0;
}
