/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ets.c — the ETS family by maximum likelihood (Hyndman, Koehler, Ord & Snyder 2008).
 *
 * States: level l, damped trend b (φ), seasonal indices s[t mod m]. Smoothing parameters
 * in the "usual" admissible region: 1e-4 ≤ α ≤ 0.9999, 1e-4 ≤ β ≤ α, 1e-4 ≤ γ ≤ 1 − α,
 * 0.8 ≤ φ ≤ 0.98. The initial level is optimised with them; the initial trend and
 * seasonal indices come from a classical decomposition of the first seasons (as R's
 * ets does before it optimises). The objective is −2 log L up to a constant:
 * n log Σe² for additive errors, n log Σe² + 2 Σ log|ŷ| for multiplicative ones.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define ALPHA_LO 1e-4
#define ALPHA_HI 0.9999
#define PHI_LO 0.8
#define PHI_HI 0.98
#define ETS_MAXEV 200
#define ETS_M_MAX 64 /* longest season kept in the state */

struct ets_ctx {
	const double *y;
	int n, m;
	struct ets_spec sp;
	double b0;
	double s0[ETS_M_MAX];
	double sse; /* of the last evaluation (relative errors for 'M') */
	/* the final state of the last evaluation */
	double l, b, s[ETS_M_MAX];
	struct fc_fit *roll; /* when set: its rolling origins are written as the filter runs */
};

/* x = α, l0, then β, φ (trend), then γ (season). */
static void unpack(const struct ets_ctx *c, const double *x, double *a, double *l0, double *be,
		   double *ph, double *g)
{
	int i = 2;
	*a = x[0];
	*l0 = x[1];
	*be = 0, *ph = 0, *g = 0;
	if (c->sp.trend == 'D') {
		*be = x[i++];
		*ph = x[i++];
	} else if (c->sp.trend == 'A') {
		*be = x[i++];
		*ph = 1;
	}
	if (c->sp.season != 'N')
		*g = x[i];
}

/* The point forecast h steps past the state (l, b, s), the next season index being j. */
static double ets_point(struct ets_spec sp, int m, double l, double b, const double *s, double ph,
			int j, int h)
{
	double phih = 0, pw = 1;
	for (int i = 1; i <= h; i++) {
		pw *= ph;
		phih += pw;
	}
	const double base = l + phih * b, si = s[(j + h - 1) % m];
	return sp.season == 'M' ? base * si : base + (sp.season == 'A' ? si : 0);
}

static double ets_run(struct ets_ctx *c, double a, double l0, double be, double ph, double g)
{
	const struct ets_spec sp = c->sp;
	const int n = c->n, m = sp.season == 'N' ? 1 : c->m;
	double l = l0, b = sp.trend != 'N' ? c->b0 : 0, s[ETS_M_MAX];
	double sse = 0, slog = 0;

	for (int j = 0; j < m; j++)
		s[j] = sp.season == 'N' ? 0 : c->s0[j];
	for (int t = 0, j = 0; t < n; t++) {
		const struct fc_fit *r = c->roll;
		if (r && t >= r->roll_from)
			for (int h = 1; h <= r->h && t + h - 1 < n; h++)
				r->roll[(size_t)(t - r->roll_from) * r->h + h - 1] =
					ets_point(sp, m, l, b, s, ph, j, h);
		const double base = l + ph * b;
		const double si = s[j];
		const double yhat = sp.season == 'M' ? base * si : base + si;
		double e;

		if (sp.error == 'A') {
			e = c->y[t] - yhat;
			sse += e * e;
			if (sp.season == 'M') {
				if (si <= 0 || base <= 0)
					return HUGE_VAL;
				l = base + a * e / si;
				b = ph * b + be * e / si;
				s[j] = si + g * e / base;
			} else {
				l = base + a * e;
				b = ph * b + be * e;
				s[j] = si + g * e;
			}
		} else {
			if (!(yhat > 0))
				return HUGE_VAL;
			e = (c->y[t] - yhat) / yhat;
			sse += e * e;
			slog += log(yhat);
			l = base * (1 + a * e);
			b = ph * b + be * base * e;
			if (sp.season == 'M')
				s[j] = si * (1 + g * e);
		}
		if (++j == m)
			j = 0;
	}
	c->sse = sse;
	c->l = l;
	c->b = b;
	for (int j = 0; j < m; j++)
		c->s[j] = s[j];
	if (!(sse > 0))
		sse = 1e-300;
	return n * log(sse) + 2 * slog;
}

static double ets_objective(const double *x, void *ctx)
{
	struct ets_ctx *c = ctx;
	double a, l0, be, ph, g;

	unpack(c, x, &a, &l0, &be, &ph, &g);
	if (a < ALPHA_LO || a > ALPHA_HI)
		return HUGE_VAL;
	if (c->sp.trend != 'N' && (be < ALPHA_LO || be > a))
		return HUGE_VAL;
	if (c->sp.trend == 'D' && (ph < PHI_LO || ph > PHI_HI))
		return HUGE_VAL;
	if (c->sp.season != 'N' && (g < ALPHA_LO || g > 1 - a))
		return HUGE_VAL;
	return ets_run(c, a, l0, be, ph, g);
}

/* Least-squares line through y[0…k-1] at t = 1…k: intercept (at t = 0) and slope. */
static void line_fit(const double *y, int k, double *icpt, double *slope)
{
	double st = 0, sy = 0, stt = 0, sty = 0;

	for (int t = 1; t <= k; t++) {
		st += t, sy += y[t - 1], stt += (double)t * t, sty += t * y[t - 1];
	}
	const double den = k * stt - st * st;
	*slope = k > 1 && den != 0 ? (k * sty - st * sy) / den : 0;
	*icpt = (sy - *slope * st) / k;
}

int fc_season_indices(const double *y, int n, int m, int max_seasons, bool mult, double *idx)
{
	if (m < 2 || m > ETS_M_MAX || n < 2 * m)
		return -1;
	const int seasons = n / m < max_seasons ? n / m : max_seasons, len = seasons * m;
	const int half = m / 2;
	double sum[ETS_M_MAX] = {0};
	int cnt[ETS_M_MAX] = {0};

	/* centred moving average (2×m when m is even) */
	for (int t = half; t + half < len; t++) {
		double ma = 0;
		if (m % 2) {
			for (int k = t - half; k <= t + half; k++)
				ma += y[k];
			ma /= m;
		} else {
			for (int k = t - half + 1; k < t + half; k++)
				ma += y[k];
			ma += 0.5 * (y[t - half] + y[t + half]);
			ma /= m;
		}
		const double d = mult ? (ma > 0 ? y[t] / ma : 1) : y[t] - ma;
		sum[t % m] += d;
		cnt[t % m]++;
	}
	double tot = 0;
	for (int j = 0; j < m; j++) {
		idx[j] = cnt[j] ? sum[j] / cnt[j] : (mult ? 1 : 0);
		tot += idx[j];
	}
	for (int j = 0; j < m; j++)
		idx[j] = mult ? idx[j] * m / tot : idx[j] - tot / m;
	if (mult)
		for (int j = 0; j < m; j++)
			if (!(idx[j] > 0.01))
				idx[j] = 0.01;
	return 0;
}

static int npar_of(struct ets_spec sp, int m)
{
	/* α, l0, σ; β, b0 (and φ when damped); γ and m − 1 free seasonal indices */
	return 3 + (sp.trend == 'D' ? 3 : sp.trend == 'A' ? 2 : 0) + (sp.season != 'N' ? m : 0);
}

/* The starting states (c->b0, c->s0) and a starting level; -1 if the model cannot fit. */
static int ets_init(struct ets_ctx *c, double *l0_out)
{
	const struct ets_spec sp = c->sp;
	const double *y = c->y;
	const int n = c->n, m = c->m;
	double sa[16];

	if (sp.season != 'N' && (m < 2 || m > ETS_M_MAX || n < 2 * m + 2))
		return -1;
	if (n < 4 || npar_of(sp, m) + 2 > n)
		return -1;
	if (sp.error == 'M' || sp.season == 'M')
		for (int t = 0; t < n; t++)
			if (!(y[t] > 0))
				return -1;
	if (sp.season != 'N' && fc_season_indices(y, n, m, 4, sp.season == 'M', c->s0) < 0)
		return -1;

	/* seasonally adjusted start: level and trend from a line through ≤ 10 points */
	const int k = n < 10 ? n : 10;
	for (int t = 0; t < k; t++) {
		const double si = sp.season == 'N' ? 0 : c->s0[t % m];
		sa[t] = sp.season == 'M' ? y[t] / si : y[t] - si;
	}
	double l0, slope;
	line_fit(sa, k, &l0, &slope);
	if (sp.trend == 'N') {
		double s = 0;
		for (int t = 0; t < k; t++)
			s += sa[t];
		l0 = s / k;
	}
	c->b0 = sp.trend != 'N' ? slope : 0;
	if ((sp.error == 'M' || sp.season == 'M') && !(l0 > 0))
		l0 = sa[0] > 0 ? sa[0] : 1e-3;
	*l0_out = l0;
	return 0;
}

/* Rolling origins (internal.h) of the fitted model in fit: the filter again, forecasting
 * fit->h steps before each update from roll_from on. */
static void ets_roll(const double *y, int n, int m, struct fc_fit *fit)
{
	struct ets_ctx c = {.y = y, .n = n, .m = m, .sp = fit->spec, .roll = fit};
	double l0, a, be, ph, g;
	if (ets_init(&c, &l0) < 0)
		return;
	unpack(&c, fit->x, &a, &l0, &be, &ph, &g);
	ets_run(&c, a, l0, be, ph, g);
}

int ets_fit(const double *y, int n, int m, struct ets_spec sp, struct fc_fit *fit)
{
	struct ets_ctx c = {.y = y, .n = n, .m = m, .sp = sp};
	double l0;
	if (ets_init(&c, &l0) < 0)
		return -1;

	double x[6], step[6];
	int d = 0;
	double scale = fabs(l0) > 1e-9 ? fabs(l0) : 1;
	x[d] = sp.season != 'N' ? 0.1 : 0.3, step[d++] = 0.1;
	x[d] = l0, step[d++] = 0.1 * scale;
	if (sp.trend != 'N')
		x[d] = 0.01, step[d++] = 0.01;
	if (sp.trend == 'D')
		x[d] = 0.97, step[d++] = 0.005;
	if (sp.season != 'N')
		x[d] = 0.01, step[d++] = 0.01;

	const double best = fc_nelder_mead(ets_objective, &c, x, step, d, ETS_MAXEV, 1e-6);
	if (!isfinite(best))
		return -1;
	double a, be, ph, g;
	unpack(&c, x, &a, &l0, &be, &ph, &g);
	ets_run(&c, a, l0, be, ph, g); /* leaves the final state in c */

	const int np = npar_of(sp, m);
	fit->aicc = best + 2.0 * np + 2.0 * np * (np + 1) / (n - np - 1 > 0 ? n - np - 1 : 1);
	fit->sigma = sqrt(c.sse / (n - np + 1 > 1 ? n - np + 1 : 1));
	fit->mult = sp.error == 'M';
	fit->hurdle = false;
	double phih = 0, pw = 1;
	for (int h = 1; h <= fit->h; h++) {
		pw *= ph;
		phih += pw;
		const int j = (n + h - 1) % (sp.season == 'N' ? 1 : m);
		const double base = c.l + phih * c.b;
		fit->f[h - 1] =
			sp.season == 'M' ? base * c.s[j] : base + (sp.season == 'A' ? c.s[j] : 0);
		/* ψ_h = α + β(φ + … + φ^h) + γ [h ≡ 0 mod m] */
		if (h < fit->h)
			fit->psi[h] = a + be * phih + (sp.season != 'N' && h % m == 0 ? g : 0);
	}
	fit->psi[0] = 1;
	fit->spec = sp;
	memcpy(fit->x, x, sizeof(fit->x));
	snprintf(fit->model, sizeof(fit->model), "ETS(%c,%s,%c)", sp.error,
		 sp.trend == 'D'   ? "Ad"
		 : sp.trend == 'A' ? "A"
				   : "N",
		 sp.season);
	fit->npar = 0;
	fit->par[fit->npar++] = a;
	if (sp.trend != 'N')
		fit->par[fit->npar++] = be;
	if (sp.trend == 'D')
		fit->par[fit->npar++] = ph;
	if (sp.season != 'N')
		fit->par[fit->npar++] = g;
	return 0;
}

int ets_auto(const double *y, int n, int m, struct fc_fit *fit, double *work)
{
	static const struct ets_spec specs[] = {
		{'A', 'N', 'N'}, {'A', 'D', 'N'}, {'A', 'N', 'A'}, {'A', 'D', 'A'},
		{'M', 'N', 'N'}, {'M', 'D', 'N'}, {'M', 'N', 'M'}, {'M', 'D', 'M'},
	};
	struct fc_fit t = *fit;
	double best = HUGE_VAL;

	/* trial fits write into work (2h doubles); the winner is copied into fit */
	t.f = work;
	t.psi = work + fit->h;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		if (specs[i].season != 'N' && m < 2)
			continue;
		if (ets_fit(y, n, m, specs[i], &t) < 0 || !(t.aicc < best))
			continue;
		best = t.aicc;
		double *f = fit->f, *psi = fit->psi;
		memcpy(f, t.f, sizeof(double) * fit->h);
		memcpy(psi, t.psi, sizeof(double) * fit->h);
		double *roll = fit->roll;
		const int from = fit->roll_from;
		*fit = t;
		fit->f = f;
		fit->psi = psi;
		fit->roll = roll;
		fit->roll_from = from;
	}
	if (!isfinite(best))
		return -1;
	if (fit->roll)
		ets_roll(y, n, m, fit);
	return 0;
}

double fc_nelder_mead(double (*f)(const double *x, void *ctx), void *ctx, double *x,
		      const double *step, int d, int maxev, double tol)
{
	double p[FC_NM_MAX + 1][FC_NM_MAX], v[FC_NM_MAX + 1], c[FC_NM_MAX], r[FC_NM_MAX],
		e[FC_NM_MAX];
	int ev = 0;

	for (int i = 0; i <= d; i++) {
		for (int k = 0; k < d; k++)
			p[i][k] = x[k] + (i == k + 1 ? step[k] : 0);
		v[i] = f(p[i], ctx);
		ev++;
	}
	while (ev < maxev) {
		int hi = 0, lo = 0, nh = 0;
		for (int i = 1; i <= d; i++) {
			if (v[i] > v[hi])
				hi = i;
			if (v[i] < v[lo])
				lo = i;
		}
		nh = lo;
		for (int i = 0; i <= d; i++)
			if (i != hi && v[i] > v[nh])
				nh = i;
		if (isfinite(v[hi]) && fabs(v[hi] - v[lo]) <= tol * (fabs(v[lo]) + 1e-10))
			break;
		for (int k = 0; k < d; k++) {
			c[k] = 0;
			for (int i = 0; i <= d; i++)
				if (i != hi)
					c[k] += p[i][k];
			c[k] /= d;
			r[k] = c[k] + (c[k] - p[hi][k]);
		}
		const double vr = f(r, ctx);
		ev++;
		if (vr < v[lo]) {
			for (int k = 0; k < d; k++)
				e[k] = c[k] + 2 * (c[k] - p[hi][k]);
			const double ve = f(e, ctx);
			ev++;
			memcpy(p[hi], ve < vr ? e : r, sizeof(double) * d);
			v[hi] = ve < vr ? ve : vr;
		} else if (vr < v[nh]) {
			memcpy(p[hi], r, sizeof(double) * d);
			v[hi] = vr;
		} else {
			const bool outside = vr < v[hi];
			for (int k = 0; k < d; k++)
				e[k] = outside ? c[k] + 0.5 * (r[k] - c[k])
					       : c[k] + 0.5 * (p[hi][k] - c[k]);
			const double vc = f(e, ctx);
			ev++;
			if (vc < (outside ? vr : v[hi])) {
				memcpy(p[hi], e, sizeof(double) * d);
				v[hi] = vc;
			} else {
				for (int i = 0; i <= d; i++) {
					if (i == lo)
						continue;
					for (int k = 0; k < d; k++)
						p[i][k] = p[lo][k] + 0.5 * (p[i][k] - p[lo][k]);
					v[i] = f(p[i], ctx);
					ev++;
				}
			}
		}
	}
	int lo = 0;
	for (int i = 1; i <= d; i++)
		if (v[i] < v[lo])
			lo = i;
	memcpy(x, p[lo], sizeof(double) * d);
	return v[lo];
}
