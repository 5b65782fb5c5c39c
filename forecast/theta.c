/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * theta.c — the dynamic optimised theta model (DOTM; Fiorucci, Pellegrini, Louzada,
 * Petropoulos & Koehler 2016, "Models for optimising the theta method and their
 * relationship to state space models", IJF 32:1151–1161).
 *
 * On the seasonally adjusted series (the classical theta method's test and multiplicative
 * decomposition, as fc_theta), with A_t, B_t the least-squares intercept and slope of
 * y_1 … y_t (time 1 … t), the one-step forecast and the level are
 *
 *   μ_t = ℓ_{t−1} + (1 − 1/θ) [ (1 − α)^{t−1} A_{t−1} + ((1 − (1 − α)^t) / α) B_{t−1} ]
 *   ℓ_t = α y_t + (1 − α) ℓ_{t−1}
 *
 * and the h-step forecast from n is
 *
 *   ŷ_{n+h} = ℓ_n + (1 − 1/θ) [ (1 − α)^n A_n + ((h − 1) + (1 − (1 − α)^{n+1}) / α) B_n ].
 *
 * θ = 2 is close to the classical theta method; θ = 1 is simple exponential smoothing.
 * α ∈ (0, 1), θ ∈ [1, 30] and ℓ_0 minimise the in-sample one-step squared error (the
 * paper's estimator), by Nelder–Mead. Intervals: the model's errors are SES-like, so the
 * h-step variance is σ² (1 + (h − 1) α²).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

#define THETA_HI 30.0
#define DOTM_MAXEV 160

struct dotm_ctx {
	const double *y;
	int n;
};

/* x: α = 1 / (1 + e^−x0), θ = 1 + 29 / (1 + e^−x1), ℓ0 = x2 */
static void dotm_unpack(const double *x, double *a, double *th, double *l0)
{
	*a = 1 / (1 + exp(-x[0]));
	*a = fmin(fmax(*a, 1e-4), 0.9999);
	*th = 1 + (THETA_HI - 1) / (1 + exp(-x[1]));
	*l0 = x[2];
}

double fc_dotm_run(const double *y, int n, double a, double th, double l0, int H, double *f)
{
	const double w = 1 - 1 / th;
	double sy = 0, sty = 0, sse = 0, A = 0, B = 0, decay = 1, l = l0; /* (1 − α)^{t−1} */
	for (int t = 1; t <= n; t++) {
		const double y_t = y[t - 1];
		/* A_{t−1}, B_{t−1}: the line through y_1 … y_{t−1} (y_1 and flat after one) */
		const double mu = l + w * (decay * A + ((1 - decay * (1 - a)) / a) * B);
		sse += (y_t - mu) * (y_t - mu);
		l = a * y_t + (1 - a) * l;
		decay *= 1 - a;
		sy += y_t, sty += t * y_t;
		if (t >= 2) {
			const double tt = t;
			B = (12 * sty - 6 * (tt + 1) * sy) / (tt * (tt * tt - 1));
			A = sy / tt - B * (tt + 1) / 2;
		} else {
			A = y_t, B = 0;
		}
	}
	for (int h = 1; h <= H; h++) /* decay is (1 − α)^n now */
		f[h - 1] = l + w * (decay * A + ((h - 1) + (1 - decay * (1 - a)) / a) * B);
	return sse;
}

/* Rolling origins (internal.h) of DOTM with its parameters, on the adjusted series sa;
 * each forecast times its season's index when seasonal. */
static void dotm_roll(const double *sa, int n, double a, double th, double l0, const double *idx,
		      int m, struct fc_fit *fit)
{
	const double w = 1 - 1 / th;
	const int H = fit->h;
	double sy = 0, sty = 0, A = 0, B = 0, decay = 1, l = l0;
	for (int t = 0; t <= n; t++) {
		/* the state after y_1 … y_t: ℓ_t, A_t, B_t, decay = (1 − α)^t */
		if (t >= fit->roll_from && t < n)
			for (int h = 1; h <= H && t + h - 1 < n; h++)
				fit->roll[(size_t)(t - fit->roll_from) * H + h - 1] =
					(l + w * (decay * A +
						  ((h - 1) + (1 - decay * (1 - a)) / a) * B)) *
					(idx ? idx[(t + h - 1) % m] : 1);
		if (t == n)
			break;
		const double y_t = sa[t];
		l = a * y_t + (1 - a) * l;
		decay *= 1 - a;
		sy += y_t, sty += (t + 1.0) * y_t;
		if (t >= 1) {
			const double tt = t + 1.0;
			B = (12 * sty - 6 * (tt + 1) * sy) / (tt * (tt * tt - 1));
			A = sy / tt - B * (tt + 1) / 2;
		} else {
			A = y_t, B = 0;
		}
	}
}

static double dotm_objective(const double *x, void *arg)
{
	const struct dotm_ctx *c = arg;
	double a, th, l0;
	dotm_unpack(x, &a, &th, &l0);
	const double sse = fc_dotm_run(c->y, c->n, a, th, l0, 0, NULL);
	return isfinite(sse) ? sse : HUGE_VAL;
}

int fc_dotm(const double *y, int n, int m, struct fc_fit *fit, double *work)
{
	double idx[FC_SEASON_MAX];
	double *sa = work; /* n doubles */

	if (n < 4)
		return -1;
	const bool seasonal = fc_theta_deseason(y, n, m, sa, idx);

	struct dotm_ctx c = {.y = sa, .n = n};
	double scale = 0;
	for (int t = 0; t < n; t++)
		scale += fabs(sa[t]);
	scale = scale / n + 1e-9;
	/* from α = 0.5, θ = 2 (x1 = logit(1/29)), ℓ0 = y_1 */
	double x[3] = {0, log(1.0 / 28), sa[0]}, step[3] = {1.5, 1.5, 0.2 * scale};
	fc_nelder_mead(dotm_objective, &c, x, step, 3, DOTM_MAXEV, 1e-8);
	double a, th, l0;
	dotm_unpack(x, &a, &th, &l0);
	const double sse = fc_dotm_run(sa, n, a, th, l0, fit->h, fit->f);
	if (seasonal)
		for (int h = 0; h < fit->h; h++)
			fit->f[h] *= idx[(n + h) % m];
	if (fit->roll)
		dotm_roll(sa, n, a, th, l0, seasonal ? idx : NULL, m, fit);
	fit->sigma = sqrt(sse / (n - 3 > 0 ? n - 3 : 1));
	fit->mult = false;
	fit->hurdle = false;
	fit->aicc = HUGE_VAL;
	fit->psi[0] = 1;
	for (int j = 1; j < fit->h; j++)
		fit->psi[j] = a;
	snprintf(fit->model, sizeof(fit->model), "DOTM(a=%.3f,t=%.2f%s)", a, th,
		 seasonal ? ",s" : "");
	fit->npar = 2;
	fit->par[0] = a;
	fit->par[1] = th;
	return 0;
}
