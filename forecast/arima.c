/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * arima.c — an automatic seasonal ARIMA(p,d,q)(P,D,Q)_m: the orders by Hyndman and
 * Khandakar's stepwise search (2008) on AICc, each model by conditional sum of squares.
 *
 * Differencing first, as R's auto.arima does: D = 1 when the seasonal strength of a
 * classical decomposition, 1 − Var(remainder) / Var(season + remainder), is above 0.64
 * (and three seasons are there); then d = 0, 1 or 2, differencing while the KPSS test of
 * level stationarity rejects at 5 % (statistic above 0.463; Newey–West lag
 * ⌊4 (n / 100)^¼⌋). On w = (1 − B)^d (1 − B^m)^D y the model is
 *
 *   φ(B) Φ(B^m) (w_t − μ) = θ(B) Θ(B^m) ε_t,
 *
 * with a mean μ only when nothing was differenced: a drift (R's choice when d + D = 1)
 * made M1's sMAPE 16.95 against 15.46 without. Orders p, q ≤ 3 and P, Q ≤ 1.
 * The conditional sum of squares counts the residuals from 3 + m on (the largest orders'
 * conditioning, so every order is compared on the same points); the AR
 * polynomials must be stationary and the MA ones invertible (step-down recursion: every
 * partial autocorrelation inside (−1, 1)), else the objective is infinite. AICc uses
 * σ² = CSS / n' and k = p + q + P + Q + [μ] + 1.
 *
 * Forecasts: the ARMA recursion on w, future errors 0, then the differences undone.
 * Intervals: the ψ weights of the whole model (differences included), σ² Σ ψ².
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define AR_MAX 3
#define SAR_MAX 1
#define ARIMA_MODELS 60	   /* stepwise: models fitted at most */
#define ARIMA_MAXEV 400	   /* Nelder–Mead evaluations per model */
#define KPSS_CRIT 0.463	   /* 5 % critical value, level stationarity */
#define STRENGTH_CRIT 0.64 /* seasonal strength that calls for a seasonal difference */

struct order {
	int p, q, P, Q;
	bool mean;
};

struct arima_ctx {
	const double *w; /* the differenced series */
	int n, m;
	struct order o;
	double *e; /* n residuals */
	double css;
	int used;  /* residuals the sum counts */
	int start; /* the first counted: the same for every order, so AICcs compare */
};

/* The product φ(B)Φ(B^m) as 1 − Σ a_i B^i (ar: the full lag polynomial's a_1 … a_len). */
static int expand_ar(const double *phi, int p, const double *Phi, int P, int m, double *a)
{
	const int len = p + m * P;
	for (int i = 0; i <= len; i++)
		a[i] = 0;
	/* (1 − Σ φ_i B^i)(1 − Σ Φ_j B^{mj}) = 1 − Σ φ_i B^i − Σ Φ_j B^{mj} + Σ φ_i Φ_j B^{i+mj} */
	for (int i = 1; i <= p; i++)
		a[i] += phi[i - 1];
	for (int j = 1; j <= P; j++) {
		a[m * j] += Phi[j - 1];
		for (int i = 1; i <= p; i++)
			a[i + m * j] -= phi[i - 1] * Phi[j - 1];
	}
	return len;
}

/* θ(B)Θ(B^m) as 1 + Σ b_i B^i. */
static int expand_ma(const double *th, int q, const double *Th, int Q, int m, double *b)
{
	const int len = q + m * Q;
	for (int i = 0; i <= len; i++)
		b[i] = 0;
	for (int i = 1; i <= q; i++)
		b[i] += th[i - 1];
	for (int j = 1; j <= Q; j++) {
		b[m * j] += Th[j - 1];
		for (int i = 1; i <= q; i++)
			b[i + m * j] += th[i - 1] * Th[j - 1];
	}
	return len;
}

/* 1 − Σ c_i z^i has every root outside the unit circle (step-down recursion). */
static bool stationary(const double *c, int p)
{
	double a[AR_MAX + 1], b[AR_MAX + 1];
	for (int i = 1; i <= p; i++)
		a[i] = c[i - 1];
	for (int j = p; j >= 1; j--) {
		const double k = a[j];
		if (!(fabs(k) < 1 - 1e-6))
			return false;
		for (int i = 1; i < j; i++)
			b[i] = (a[i] + k * a[j - i]) / (1 - k * k);
		for (int i = 1; i < j; i++)
			a[i] = b[i];
	}
	return true;
}

/* x = φ (p), θ (q), Φ (P), Θ (Q), μ (when o.mean) */
static void unpack_x(const struct order *o, const double *x, double *phi, double *th, double *Phi,
		     double *Th, double *mu)
{
	int i = 0;
	for (int k = 0; k < o->p; k++)
		phi[k] = x[i++];
	for (int k = 0; k < o->q; k++)
		th[k] = x[i++];
	for (int k = 0; k < o->P; k++)
		Phi[k] = x[i++];
	for (int k = 0; k < o->Q; k++)
		Th[k] = x[i++];
	*mu = o->mean ? x[i] : 0;
}

static double css_objective(const double *x, void *arg)
{
	struct arima_ctx *c = arg;
	const struct order *o = &c->o;
	double phi[AR_MAX], th[AR_MAX], Phi[SAR_MAX], Th[SAR_MAX], mu, neg[AR_MAX];
	double a[AR_MAX + SAR_MAX * FC_SEASON_MAX + 1], b[AR_MAX + SAR_MAX * FC_SEASON_MAX + 1];

	unpack_x(o, x, phi, th, Phi, Th, &mu);
	for (int k = 0; k < o->q; k++)
		neg[k] = -th[k];
	if (!stationary(phi, o->p) || !stationary(Phi, o->P) || !stationary(neg, o->q))
		return HUGE_VAL;
	for (int k = 0; k < o->Q; k++)
		neg[k] = -Th[k];
	if (!stationary(neg, o->Q))
		return HUGE_VAL;
	const int na = expand_ar(phi, o->p, Phi, o->P, c->m, a);
	const int nb = expand_ma(th, o->q, Th, o->Q, c->m, b);
	double css = 0;
	c->used = 0;
	for (int t = 0; t < c->n; t++) {
		if (t < na) {
			c->e[t] = 0;
			continue;
		}
		double v = c->w[t] - mu;
		for (int i = 1; i <= na; i++)
			v -= a[i] * (c->w[t - i] - mu);
		for (int j = 1; j <= nb && j <= t; j++)
			v -= b[j] * c->e[t - j];
		c->e[t] = v;
		if (t >= c->start) {
			css += v * v;
			c->used++;
		}
	}
	c->css = css;
	if (!isfinite(css) || c->used < 1)
		return HUGE_VAL;
	return c->used * log(css / c->used + 1e-300);
}

static int npar(const struct order *o)
{
	return o->p + o->q + o->P + o->Q + (o->mean ? 1 : 0);
}

/* Fit one order: its AICc (HUGE_VAL when it cannot), parameters in x. */
static double fit_order(struct arima_ctx *c, const struct order *o, double *x)
{
	const int k = npar(o);
	double step[10];
	if (k > 10)
		return HUGE_VAL;
	c->o = *o;
	double mean = 0;
	for (int t = 0; t < c->n; t++)
		mean += c->w[t];
	mean /= c->n;
	double sd = 0;
	for (int t = 0; t < c->n; t++)
		sd += (c->w[t] - mean) * (c->w[t] - mean);
	sd = sqrt(sd / c->n) + 1e-9;
	for (int i = 0; i < k; i++)
		x[i] = 0, step[i] = 0.1;
	if (o->mean)
		x[k - 1] = mean, step[k - 1] = 0.2 * sd;
	if (k == 0) {
		const double v = css_objective(x, c);
		if (!isfinite(v))
			return HUGE_VAL;
		return v + 2.0 + 4.0 / (c->used - 2 > 0 ? c->used - 2 : 1);
	}
	const double v = fc_nelder_mead(css_objective, c, x, step, k, ARIMA_MAXEV, 1e-8);
	if (!isfinite(v))
		return HUGE_VAL;
	css_objective(x, c); /* the residuals and count of the optimum */
	const int kk = k + 1, nn = c->used;
	if (nn - kk - 1 <= 0)
		return HUGE_VAL;
	return v + 2.0 * kk + 2.0 * kk * (kk + 1) / (nn - kk - 1);
}

/* ---- differencing ---- */

static int difference(const double *y, int n, int lag, double *out)
{
	for (int t = lag; t < n; t++)
		out[t - lag] = y[t] - y[t - lag];
	return n - lag;
}

/* KPSS statistic for level stationarity. */
static double kpss(const double *y, int n)
{
	double mean = 0, s = 0, num = 0;
	for (int t = 0; t < n; t++)
		mean += y[t];
	mean /= n;
	for (int t = 0; t < n; t++) {
		s += y[t] - mean;
		num += s * s;
	}
	const int l = (int)floor(4 * pow(n / 100.0, 0.25));
	double lr = 0;
	for (int t = 0; t < n; t++)
		lr += (y[t] - mean) * (y[t] - mean);
	for (int j = 1; j <= l && j < n; j++) {
		double g = 0;
		for (int t = j; t < n; t++)
			g += (y[t] - mean) * (y[t - j] - mean);
		lr += 2 * (1 - j / (l + 1.0)) * g;
	}
	lr /= n;
	return lr > 0 ? num / ((double)n * n * lr) : 0;
}

/* Seasonal strength of a classical additive decomposition (centred moving average). */
static double seasonal_strength(const double *y, int n, int m)
{
	if (m < 2 || n < 3 * m)
		return 0;
	double idx[FC_SEASON_MAX] = {0}, cnt[FC_SEASON_MAX] = {0};
	double *d = malloc(sizeof(double) * (size_t)n);
	if (!d)
		return 0;
	const int half = m / 2;
	int lo = half, hi = n - half; /* where the centred average exists */
	for (int t = lo; t < hi; t++) {
		double s = 0;
		if (m % 2) {
			for (int k = -half; k <= half; k++)
				s += y[t + k];
			s /= m;
		} else {
			for (int k = -half + 1; k <= half - 1; k++)
				s += y[t + k];
			s = (s + 0.5 * (y[t - half] + y[t + half])) / m;
		}
		d[t] = y[t] - s;
		idx[t % m] += d[t], cnt[t % m]++;
	}
	double mi = 0;
	for (int j = 0; j < m; j++)
		mi += (idx[j] /= cnt[j] > 0 ? cnt[j] : 1);
	mi /= m;
	double sr = 0, sr2 = 0, ss = 0, ss2 = 0;
	const int k = hi - lo;
	for (int t = lo; t < hi; t++) {
		const double r = d[t] - (idx[t % m] - mi);
		sr += r, sr2 += r * r;
		ss += d[t], ss2 += d[t] * d[t];
	}
	free(d);
	const double vr = sr2 / k - (sr / k) * (sr / k), vs = ss2 / k - (ss / k) * (ss / k);
	return vs > 0 ? fmax(0, 1 - vr / vs) : 0;
}

/* ---- the search ---- */

static bool valid(const struct order *o, int m)
{
	return o->p >= 0 && o->q >= 0 && o->P >= 0 && o->Q >= 0 && o->p <= AR_MAX &&
	       o->q <= AR_MAX && o->P <= (m > 1 ? SAR_MAX : 0) && o->Q <= (m > 1 ? SAR_MAX : 0);
}

struct search {
	struct arima_ctx *c;
	struct order best, tried[ARIMA_MODELS];
	double best_aicc, best_x[10];
	int ntried;
	bool allow_mean;
};

static bool try_order(struct search *s, struct order o)
{
	if (!valid(&o, s->c->m) || (o.mean && !s->allow_mean) || s->ntried == ARIMA_MODELS)
		return false;
	for (int i = 0; i < s->ntried; i++) {
		const struct order *t = &s->tried[i];
		if (t->p == o.p && t->q == o.q && t->P == o.P && t->Q == o.Q && t->mean == o.mean)
			return false;
	}
	s->tried[s->ntried++] = o;
	double x[10];
	const double a = fit_order(s->c, &o, x);
	if (!(a < s->best_aicc - 1e-9))
		return false;
	s->best_aicc = a;
	s->best = o;
	memcpy(s->best_x, x, sizeof(x));
	return true;
}

/* The chosen model's forecasts of y (the differences undone) and ψ weights into fit. */
static int finish(const double *y, int n, int m, int d, int D, struct arima_ctx *c,
		  struct search *sp, struct fc_fit *fit)
{
	const double *w = c->w;
	const double *e = c->e;
	const int nw = c->n, ms = c->m, H = fit->h;
	/* the winner's residuals, polynomials and forecasts of w */
	const struct order *o = &sp->best;
	fit_order(c, o, sp->best_x); /* refits to the same optimum: residuals in e */
	double phi[AR_MAX], th[AR_MAX], Phi[SAR_MAX], Th[SAR_MAX], mean;
	unpack_x(o, sp->best_x, phi, th, Phi, Th, &mean);
	double a[AR_MAX + SAR_MAX * FC_SEASON_MAX + 1], b[AR_MAX + SAR_MAX * FC_SEASON_MAX + 1];
	const int na = expand_ar(phi, o->p, Phi, o->P, ms, a);
	const int nb = expand_ma(th, o->q, Th, o->Q, ms, b);
	const double sigma2 = c->css / (c->used - npar(o) > 0 ? c->used - npar(o) : 1);
	double *wf = malloc(sizeof(double) * ((size_t)nw + H) * 2);
	if (!wf)
		return -1;
	double *ef = wf + nw + H;
	memcpy(wf, w, sizeof(double) * (size_t)nw);
	memcpy(ef, e, sizeof(double) * (size_t)nw);
	for (int h = 0; h < H; h++) {
		const int t = nw + h;
		double v = mean;
		for (int i = 1; i <= na; i++)
			v += a[i] * (t - i >= 0 ? wf[t - i] - mean : 0);
		for (int j = 1; j <= nb; j++)
			v += b[j] * (t - j < nw && t - j >= 0 ? ef[t - j] : 0);
		wf[t] = v;
		ef[t] = 0;
	}
	/* undo the differences: y's path with its last observations, then the forecasts */
	double *lev = malloc(sizeof(double) * (2 * (size_t)n + H)); /* y's level, scratch */
	if (!lev) {
		free(wf);
		return -1;
	}
	/* the series after the seasonal difference only (undoing d first needs it) */
	int n1 = n;
	memcpy(lev, y, sizeof(double) * (size_t)n);
	if (D)
		n1 = difference(y, n, m, lev);
	/* lev[0 … n1) is y after the seasonal difference; each d level undone in turn */
	double last[2] = {0}; /* the last value of each differenced level */
	{
		double *cur = lev + n + H; /* scratch past the forecasts' end */
		memcpy(cur, lev, sizeof(double) * (size_t)n1);
		int nc = n1;
		for (int k = 0; k < d; k++) {
			last[k] = cur[nc - 1];
			nc = difference(cur, nc, 1, cur);
		}
	}
	for (int h = 0; h < H; h++) {
		double v = wf[nw + h];
		for (int k = d - 1; k >= 0; k--) {
			v += last[k];
			last[k] = v;
		}
		lev[n1 + h] = v; /* the seasonally differenced series ahead */
	}
	for (int h = 0; h < H; h++)
		fit->f[h] =
			D ? lev[n1 + h] + (h - m >= 0 ? fit->f[h - m] : y[n - m + h]) : lev[n1 + h];

	/* ψ weights of the whole model: (1 − Σ a_i B^i)(1 − B)^d (1 − B^m)^D ψ(B) = b(B) */
	double full[AR_MAX + SAR_MAX * FC_SEASON_MAX + 2 * FC_SEASON_MAX + 8] = {0};
	int nf = na;
	full[0] = 1;
	for (int i = 1; i <= na; i++)
		full[i] = -a[i];
	for (int k = 0; k < d + D; k++) { /* multiply by (1 − B^lag) */
		const int lag = k < D ? m : 1;
		for (int i = nf + lag; i >= lag; i--)
			full[i] -= full[i - lag];
		nf += lag;
	}
	for (int j = 0; j < H; j++) {
		double v = j == 0 ? 1 : (j <= nb ? b[j] : 0);
		for (int i = 1; i <= nf && i <= j; i++)
			v -= full[i] * fit->psi[j - i];
		fit->psi[j] = v;
	}
	fit->psi[0] = 1;
	fit->sigma = sqrt(sigma2);
	fit->mult = fit->hurdle = false;
	fit->aicc = sp->best_aicc;
	snprintf(fit->model, sizeof(fit->model), "ARIMA(%d,%d,%d)(%d,%d,%d)[%d]%s", o->p, d, o->q,
		 o->P, D, o->Q, m, o->mean ? (d + D ? "+drift" : "+mean") : "");
	fit->npar = 0;
	for (int i = 0; i < o->p && fit->npar < 4; i++)
		fit->par[fit->npar++] = phi[i];
	free(lev), free(wf);
	return 0;
}

int fc_arima(const double *y, int n, int m, struct fc_fit *fit, double *work)
{
	(void)work;
	if (n < 8)
		return -1;
	if (m > FC_SEASON_MAX || m < 1)
		m = 1;
	/* buffers: w (n), a scratch (n), residuals (n) */
	double *buf = malloc(sizeof(double) * 3 * (size_t)n);
	if (!buf)
		return -1;
	double *w = buf, *tmp = buf + n, *e = buf + 2 * (size_t)n;
	int D = 0, d = 0, nw = n;
	memcpy(w, y, sizeof(double) * (size_t)n);
	if (m > 1 && seasonal_strength(y, n, m) > STRENGTH_CRIT && n - m >= 2 * m + 8) {
		nw = difference(w, nw, m, tmp);
		memcpy(w, tmp, sizeof(double) * (size_t)nw);
		D = 1;
	}
	while (d < 2 && nw > 10 && kpss(w, nw) > KPSS_CRIT) {
		nw = difference(w, nw, 1, tmp);
		memcpy(w, tmp, sizeof(double) * (size_t)nw);
		d++;
	}
	const int ms = D || m > 1 ? m : 1;
	struct arima_ctx c = {
		.w = w, .n = nw, .m = ms, .e = e, .start = AR_MAX + (ms > 1 ? ms * SAR_MAX : 0)};
	if (nw - c.start < 8) { /* too short to compare orders on the same residuals */
		free(buf);
		return -1;
	}
	struct search s = {.c = &c, .best_aicc = HUGE_VAL, .allow_mean = d + D == 0};
	const bool seas = m > 1;
	const bool mu = s.allow_mean;
	const struct order start[] = {
		{2, 2, seas, seas, mu}, {0, 0, 0, 0, mu}, {1, 0, seas, 0, mu}, {0, 1, 0, seas, mu}};
	for (size_t i = 0; i < sizeof(start) / sizeof(start[0]); i++)
		try_order(&s, start[i]);
	if (!mu)
		try_order(&s, (struct order){0, 0, 0, 0, false});
	for (bool better = true; better && s.ntried < ARIMA_MODELS && isfinite(s.best_aicc);) {
		const struct order b = s.best;
		const struct order nb[] = {
			{b.p - 1, b.q, b.P, b.Q, b.mean},     {b.p + 1, b.q, b.P, b.Q, b.mean},
			{b.p, b.q - 1, b.P, b.Q, b.mean},     {b.p, b.q + 1, b.P, b.Q, b.mean},
			{b.p - 1, b.q - 1, b.P, b.Q, b.mean}, {b.p + 1, b.q + 1, b.P, b.Q, b.mean},
			{b.p, b.q, b.P - 1, b.Q, b.mean},     {b.p, b.q, b.P + 1, b.Q, b.mean},
			{b.p, b.q, b.P, b.Q - 1, b.mean},     {b.p, b.q, b.P, b.Q + 1, b.mean},
			{b.p, b.q, b.P, b.Q, !b.mean}};
		better = false;
		for (size_t i = 0; i < sizeof(nb) / sizeof(nb[0]); i++)
			if (try_order(&s, nb[i])) {
				better = true;
				break; /* move to it, search around it again */
			}
	}
	if (!isfinite(s.best_aicc)) {
		free(buf);
		return -1;
	}

	const int rc = finish(y, n, m, d, D, &c, &s, fit);
	free(buf);
	return rc;
}
