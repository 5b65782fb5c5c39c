/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * forecast/: each method against values computed by hand, fitted parameters inside the
 * admissible region, interval coverage on simulated series from known processes, the
 * scores, the calendar, and every kind of bad input.
 */
#include <math.h>

#include "helpers.h"
#include "forecast/forecast.h"
#include "forecast/internal.h"

#define H_MAX 64

struct out {
	double mean[H_MAX], lo[H_MAX], hi[H_MAX];
	struct fc_result r;
};

static int run(const double *y, int n, enum fc_method m, int h, int period, double level,
	       struct out *o, struct fl_err *err)
{
	struct fc_opts op = {.horizon = h, .level = level, .period = period, .method = m};
	memset(o, 0, sizeof(*o));
	o->r.mean = o->mean;
	o->r.lo = o->lo;
	o->r.hi = o->hi;
	return fc_forecast(y, n, &op, &o->r, err);
}

static void test_hand_computed(void **state)
{
	(void)state;
	struct out o;
	const double z90 = 1.6448536269514722;

	/* naive: the last value; σ² = mean squared one-step difference = (1 + 4) / 2 */
	const double a[] = {1, 2, 4};
	assert_int_equal(run(a, 3, FC_NAIVE, 2, 1, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 4, 1e-12);
	assert_float_equal(o.mean[1], 4, 1e-12);
	assert_float_equal(o.hi[0], 4 + z90 * sqrt(2.5), 1e-9);
	assert_float_equal(o.hi[1], 4 + z90 * sqrt(2.5) * sqrt(2), 1e-9);
	assert_float_equal(o.lo[1], fmax(0, 4 - z90 * sqrt(2.5) * sqrt(2)), 1e-9);
	/* the horizon's total: 8, with the random walk's Var(e1 + e2) = σ²(1 + 4) */
	assert_float_equal(o.r.sum_mean, 8, 1e-12);
	assert_float_equal(o.r.sum_hi, 8 + z90 * sqrt(2.5 * 5), 1e-9);

	/* seasonal naive, period 3 */
	const double b[] = {1, 2, 3, 4, 5, 6};
	assert_int_equal(run(b, 6, FC_SNAIVE, 4, 3, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 4, 1e-12);
	assert_float_equal(o.mean[2], 6, 1e-12);
	assert_float_equal(o.mean[3], 4, 1e-12);

	/* mean and moving average (k = 3 without a season) */
	assert_int_equal(run(b, 6, FC_MEAN, 1, 1, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 3.5, 1e-12);
	assert_int_equal(run(b, 6, FC_MA, 1, 1, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 5, 1e-12);

	/* Croston, α = 0.1: z = 3, p = 3 at the first demand; then z = 3.2, p = 2.9 */
	const double c[] = {0, 0, 3, 0, 5};
	assert_int_equal(run(c, 5, FC_CROSTON, 3, 1, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 3.2 / 2.9, 1e-12);
	assert_float_equal(o.mean[2], 3.2 / 2.9, 1e-12);
	assert_int_equal(run(c, 5, FC_SBA, 1, 1, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 3.2 / 2.9 * 0.95, 1e-12);

	/* a constant series: every smoothing method forecasts the constant */
	double k[40];
	for (int t = 0; t < 40; t++)
		k[t] = 7;
	static const enum fc_method flat[] = {FC_SES,	FC_HOLT,  FC_ETS,  FC_THETA, FC_TSB,
					      FC_IMAPA, FC_ADIDA, FC_AUTO, FC_COMB};
	for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++) {
		assert_int_equal(run(k, 40, flat[i], 5, 1, 0.9, &o, NULL), 0);
		for (int h = 0; h < 5; h++)
			assert_float_equal(o.mean[h], 7, 1e-3);
	}

	/* theta on a straight line y = t: SES tracks it (α → 1), plus half the slope per step */
	double line[30];
	for (int t = 0; t < 30; t++)
		line[t] = 10 + t;
	assert_int_equal(run(line, 30, FC_THETA, 3, 1, 0.9, &o, NULL), 0);
	for (int h = 0; h < 3; h++)
		assert_float_equal(o.mean[h], 39 + 0.5 * (h + 1), 0.1);

	/* TSB lets an item that stopped selling decay; Croston does not */
	double dead[60] = {0};
	for (int t = 0; t < 30; t += 2)
		dead[t] = 4;
	struct out cr;
	assert_int_equal(run(dead, 60, FC_TSB, 1, 1, 0.9, &o, NULL), 0);
	assert_int_equal(run(dead, 60, FC_CROSTON, 1, 1, 0.9, &cr, NULL), 0);
	assert_true(o.mean[0] < 0.5 * cr.mean[0]);
}

static void test_ets_admissible(void **state)
{
	(void)state;
	double y[400];
	struct out o;
	rng = 42;
	for (int rep = 0; rep < 50; rep++) {
		const int n = irand(30, 400);
		double level = 50 + 50 * urand(), trend = urand() - 0.5;
		for (int t = 0; t < n; t++) {
			level += trend + 3 * (urand() - 0.5);
			y[t] = fmax(0, level + 10 * sin(2 * M_PI * t / 7) * urand() + 5 * urand());
		}
		assert_int_equal(run(y, n, FC_HOLT, 10, 7, 0.9, &o, NULL), 0);
		assert_int_equal(o.r.npar, 3);
		const double a = o.r.par[0], b = o.r.par[1], phi = o.r.par[2];
		assert_true(a >= 1e-4 && a <= 0.9999);
		assert_true(b >= 1e-4 && b <= a);
		assert_true(phi >= 0.8 && phi <= 0.98);
		assert_int_equal(run(y, n, FC_ETS, 10, 7, 0.9, &o, NULL), 0);
		assert_true(o.r.par[0] >= 1e-4 && o.r.par[0] <= 0.9999);
		if (strchr(o.r.model, ',') && o.r.model[strlen(o.r.model) - 2] != 'N') {
			const double g = o.r.par[o.r.npar - 1];
			assert_true(g >= 1e-4 && g <= 1 - o.r.par[0] + 1e-12);
		}
		for (int h = 0; h < 10; h++) {
			assert_true(isfinite(o.mean[h]) && o.mean[h] >= 0);
			assert_true(o.lo[h] <= o.mean[h] && o.mean[h] <= o.hi[h]);
		}
	}
}

static double gauss(void)
{
	const double u = urand() + 1e-12, v = urand();
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Share of the future observations inside the 90 % intervals over many simulations. */
static void test_coverage_gaussian(void **state)
{
	(void)state;
	enum { SIMS = 400, N = 150, H = 6 };
	double y[N + H];
	struct out o;
	int in_ses = 0, in_naive = 0, in_sum = 0, total = 0;
	rng = 7;
	for (int s = 0; s < SIMS; s++) {
		/* the local level model: y_t = l_{t-1} + ε_t, l_t = l_{t-1} + 0.3 ε_t */
		double l = 200;
		for (int t = 0; t < N + H; t++) {
			const double e = 5 * gauss();
			y[t] = l + e;
			l += 0.3 * e;
		}
		assert_int_equal(run(y, N, FC_SES, H, 1, 0.9, &o, NULL), 0);
		double sum = 0;
		for (int h = 0; h < H; h++) {
			in_ses += y[N + h] >= o.lo[h] && y[N + h] <= o.hi[h];
			sum += y[N + h];
		}
		in_sum += sum >= o.r.sum_lo && sum <= o.r.sum_hi;
		/* a random walk, for the naive method */
		double w = 500;
		for (int t = 0; t < N + H; t++)
			y[t] = (w += 4 * gauss());
		assert_int_equal(run(y, N, FC_NAIVE, H, 1, 0.9, &o, NULL), 0);
		for (int h = 0; h < H; h++)
			in_naive += y[N + h] >= o.lo[h] && y[N + h] <= o.hi[h];
		total += H;
	}
	const double c1 = (double)in_ses / total, c2 = (double)in_naive / total;
	const double c3 = (double)in_sum / SIMS;
	print_message("90%% coverage: SES %.3f, naive %.3f, SES horizon total %.3f\n", c1, c2, c3);
	assert_true(c1 >= 0.85 && c1 <= 0.95);
	assert_true(c2 >= 0.85 && c2 <= 0.95);
	assert_true(c3 >= 0.85 && c3 <= 0.95);
}

/* Intermittent demand: Bernoulli(0.3) occurrences, exponential sizes (mean 5). */
static void test_coverage_intermittent(void **state)
{
	(void)state;
	enum { SIMS = 400, N = 120, H = 12 };
	double y[N + H];
	struct out o;
	int in_sum = 0, in_pt = 0;
	rng = 11;
	for (int s = 0; s < SIMS; s++) {
		for (int t = 0; t < N + H; t++)
			y[t] = urand() < 0.3 ? -5 * log(urand() + 1e-12) : 0;
		assert_int_equal(run(y, N, FC_AUTO, H, 1, 0.9, &o, NULL), 0);
		assert_int_equal(o.r.method, FC_INTERMITTENT);
		double sum = 0;
		for (int h = 0; h < H; h++) {
			sum += y[N + h];
			in_pt += y[N + h] >= o.lo[h] && y[N + h] <= o.hi[h];
		}
		in_sum += sum >= o.r.sum_lo && sum <= o.r.sum_hi;
	}
	const double cs = (double)in_sum / SIMS, cp = (double)in_pt / (SIMS * H);
	print_message("intermittent 90%% coverage: horizon total %.3f, per period %.3f\n", cs, cp);
	assert_true(cs >= 0.85 && cs <= 0.95);
	assert_true(cp >= 0.85 && cp <= 0.97); /* the atom at zero makes per period ≥ nominal */
}

/*
 * DOTM's recursion against values computed by hand (see the comment): y = 1, 2, 3, 4,
 * α = 0.5, θ = 2, ℓ0 = 1. The lines through the first t points are y = t (A = 0, B = 1)
 * from t = 2; one-step forecasts 1, 1.25, 2.375, 3.1875; levels 1, 1.5, 2.25, 3.125.
 */
static void test_dotm_hand_computed(void **state)
{
	(void)state;
	const double y[] = {1, 2, 3, 4};
	double f[2];
	const double sse = fc_dotm_run(y, 4, 0.5, 2, 1, 2, f);
	assert_float_equal(sse, 0.5625 + 0.390625 + 0.66015625, 1e-12);
	/* ℓ4 + ½ ((h − 1) + (1 − 0.0625 · 0.5) / 0.5) · 1 */
	assert_float_equal(f[0], 3.125 + 0.5 * 1.9375, 1e-12);
	assert_float_equal(f[1], 3.125 + 0.5 * 2.9375, 1e-12);
	/* θ = 1 is simple exponential smoothing: flat at the last level */
	fc_dotm_run(y, 4, 0.5, 1, 1, 2, f);
	assert_float_equal(f[0], 3.125, 1e-12);
	assert_float_equal(f[1], 3.125, 1e-12);
	/* fitted: a straight line is continued (θ and the drift take the slope) */
	double line[40];
	for (int t = 0; t < 40; t++)
		line[t] = 10 + 2 * t;
	struct out o;
	assert_int_equal(run(line, 40, FC_DOTM, 3, 1, 0.9, &o, NULL), 0);
	for (int h = 0; h < 3; h++)
		assert_float_equal(o.mean[h], 10 + 2 * (40 + h), 0.5);
	/* a constant is forecast as itself, with no spread */
	double flat[24];
	for (int t = 0; t < 24; t++)
		flat[t] = 7;
	assert_int_equal(run(flat, 24, FC_DOTM, 4, 12, 0.9, &o, NULL), 0);
	for (int h = 0; h < 4; h++)
		assert_float_equal(o.mean[h], 7, 1e-6);
	assert_int_not_equal(run(y, 3, FC_DOTM, 2, 1, 0.9, &o, NULL), 0); /* too short */
}

/* The seasonal mean by hand: two weeks of a weekly pattern, then four more. */
static void test_smean_hand_computed(void **state)
{
	(void)state;
	double y[35];
	for (int t = 0; t < 35; t++) /* weeks w = 0 … 4: value 10·(weekday + 1) + w */
		y[t] = 10 * (t % 7 + 1) + t / 7;
	struct out o;
	assert_int_equal(run(y, 35, FC_SMEAN, 9, 7, 0.9, &o, NULL), 0);
	/* the last four weeks are w = 1 … 4: mean w = 2.5; day 35 is weekday 0 */
	for (int h = 0; h < 9; h++)
		assert_float_equal(o.mean[h], 10 * (h % 7 + 1) + 2.5, 1e-12);
	/* in-sample errors (t ≥ 28, w = 4): 4 − 1.5 = 2.5 each, so σ = 2.5 and every period's
	 * 90 % interval is the mean ± 1.645 · 2.5 */
	assert_float_equal(o.hi[0] - o.mean[0], fc_qnorm(0.95) * 2.5, 1e-5);
	assert_float_equal(o.hi[8] - o.mean[8], fc_qnorm(0.95) * 2.5, 1e-5);
	assert_int_not_equal(run(y, 34, FC_SMEAN, 3, 7, 0.9, &o, NULL), 0); /* under 5 weeks */
	assert_int_not_equal(run(y, 35, FC_SMEAN, 3, 1, 0.9, &o, NULL), 0); /* no season */
}

/*
 * Complex exponential smoothing by hand: 1, 2, 3, 4 with α0 = 1.3, α1 = 1, l0 = c0 = 1
 * gives the errors 0, 1, 1.7, 2.19 (SSE 8.6861) and the level 2.467; from the state
 * (2, 1) with α1 = 0.5 the forecasts are 2, then 2 − 0.5 · 1.
 */
static void test_ces_hand_computed(void **state)
{
	(void)state;
	const double y[] = {1, 2, 3, 4};
	double f[2];
	assert_float_equal(fc_ces_run(y, 4, 1.3, 1, 1, 1, 2, f), 8.6861, 1e-12);
	assert_float_equal(f[0], 2.467, 1e-12);
	assert_float_equal(f[1], 2.467, 1e-12); /* α1 = 1: the potential does not move it */
	fc_ces_run(y, 0, 1.3, 0.5, 2, 1, 2, f);
	assert_float_equal(f[0], 2, 1e-12);
	assert_float_equal(f[1], 1.5, 1e-12);
	/* fitted: a constant is forecast as itself */
	double flat[30];
	for (int t = 0; t < 30; t++)
		flat[t] = 7;
	struct out o;
	assert_int_equal(run(flat, 30, FC_CES, 4, 1, 0.9, &o, NULL), 0);
	for (int h = 0; h < 4; h++)
		assert_float_equal(o.mean[h], 7, 1e-3);
	assert_int_not_equal(run(y, 4, FC_CES, 2, 1, 0.9, &o, NULL), 0); /* too short */
}

/*
 * The automatic ARIMA. A pure season (plus a little noise) is seasonally differenced
 * and its pattern carried on; a random walk is differenced once and forecast flat at about
 * its last value, and its 90 % intervals cover about 90 % over simulated walks (the ψ
 * weights of (1 − B): all 1, as the naive method's).
 */
static void test_arima(void **state)
{
	(void)state;
	enum { N = 96, WALKS = 300, NW = 150, HW = 6 };
	double y[NW];
	struct out o;
	rng = 5;
	for (int t = 0; t < N; t++)
		y[t] = 100 + 20 * sin(2 * M_PI * t / 12) + 0.5 * gauss();
	assert_int_equal(run(y, N, FC_ARIMA, 12, 12, 0.9, &o, NULL), 0);
	print_message("season: %s\n", o.r.model);
	assert_non_null(strstr(o.r.model, ",1,")); /* D = 1 */
	for (int h = 0; h < 12; h++)
		assert_float_equal(o.mean[h], 100 + 20 * sin(2 * M_PI * (N + h) / 12), 2.0);
	/* by hand: an exact season leaves nothing after (1 − B^12), so every order fits as
	 * well and the fewest parameters win: ARIMA(0,0,0)(0,1,0), the last season again,
	 * with no spread */
	for (int t = 0; t < N; t++)
		y[t] = 100 + 3 * (t % 12) - 5 * (t % 12 > 8);
	assert_int_equal(run(y, N, FC_ARIMA, 24, 12, 0.9, &o, NULL), 0);
	assert_string_equal(o.r.model, "ARIMA(0,0,0)(0,1,0)[12]");
	for (int h = 0; h < 24; h++) {
		assert_float_equal(o.mean[h], y[N - 12 + h % 12], 1e-9);
		assert_float_equal(o.hi[h], o.mean[h], 1e-9);
	}
	int in = 0, all = 0, flat = 0;
	for (int k = 0; k < WALKS; k++) {
		double v = 50;
		for (int t = 0; t < NW; t++)
			y[t] = (v += gauss());
		double future[HW];
		for (int h = 0; h < HW; h++)
			future[h] = (v += gauss());
		assert_int_equal(run(y, NW, FC_ARIMA, HW, 1, 0.9, &o, NULL), 0);
		flat += fabs(o.mean[0] - y[NW - 1]) < 1.0;
		for (int h = 0; h < HW; h++, all++)
			in += future[h] >= o.lo[h] && future[h] <= o.hi[h];
	}
	print_message("random walks: %d of %d forecast within 1 of the last value; 90%% "
		      "coverage %.3f\n",
		      flat, WALKS, (double)in / all);
	assert_true(flat > WALKS * 9 / 10);
	assert_true((double)in / all > 0.84 && (double)in / all < 0.96);
}

/*
 * Rolling origins, the ensemble's own errors: each member forecasts the history from
 * earlier origins with its fitted parameters. The seasonal mean by hand (the series of
 * test_smean_hand_computed: from origin 29, y[29] is weekday 1 of week 4, forecast from
 * weeks 0–3: 20 + 1.5); ETS and DOTM on a straight line continue it from every origin.
 */
static void test_rolling_origins(void **state)
{
	(void)state;
	double y[35], roll[6 * 3], f[3], psi[3], work[256];
	for (int t = 0; t < 35; t++)
		y[t] = 10 * (t % 7 + 1) + t / 7;
	struct fc_fit fit = {.h = 3, .f = f, .psi = psi, .roll = roll, .roll_from = 29};
	assert_int_equal(fc_smean(y, 35, 7, 4, &fit), 0);
	assert_float_equal(roll[0], 21.5, 1e-12); /* y[29] from origin 29 */
	assert_float_equal(roll[1], 31.5, 1e-12); /* y[30] */
	assert_float_equal(roll[3 * 3 + 2], 10 * (34 % 7 + 1) + 1.5, 1e-12); /* y[34] from 32 */
	double line[60];
	for (int t = 0; t < 60; t++)
		line[t] = 10 + 2 * t;
	double lroll[30 * 3];
	fit = (struct fc_fit){.h = 3, .f = f, .psi = psi, .roll = lroll, .roll_from = 30};
	assert_int_equal(fc_dotm(line, 60, 1, &fit, work), 0);
	for (int t = 30; t < 60; t++)
		for (int h = 0; h < 3 && t + h < 60; h++)
			assert_float_equal(lroll[(t - 30) * 3 + h], line[t + h], 0.5);
	fit = (struct fc_fit){.h = 3, .f = f, .psi = psi, .roll = lroll, .roll_from = 30};
	assert_int_equal(ets_auto(line, 60, 1, &fit, work), 0);
	for (int t = 30; t < 60; t++)
		for (int h = 0; h < 3 && t + h < 60; h++)
			assert_float_equal(lroll[(t - 30) * 3 + h], line[t + h], 0.5);
}

/*
 * The ensemble is the mean of ETS's and DOTM's forecasts (of ETS's and the seasonal
 * mean's for daily data); auto uses it for smooth series; its 90 % intervals cover about
 * 90 % on a simulated local linear trend (the members' own shapes, averaged).
 */
static void test_ensemble(void **state)
{
	(void)state;
	enum { SIMS = 300, N = 96, H = 6 };
	double y[N + H];
	struct out e, a, b;
	int in = 0;
	rng = 23;
	for (int s = 0; s < SIMS; s++) {
		double l = 300, tr = 1;
		for (int t = 0; t < N + H; t++) {
			const double eps = 6 * gauss();
			y[t] = l + tr + eps;
			l += tr + 0.3 * eps;
			tr += 0.02 * eps;
		}
		assert_int_equal(run(y, N, FC_ENSEMBLE, H, 12, 0.9, &e, NULL), 0);
		if (s < 5) {
			assert_int_equal(run(y, N, FC_ETS, H, 12, 0.9, &a, NULL), 0);
			assert_int_equal(run(y, N, FC_DOTM, H, 12, 0.9, &b, NULL), 0);
			for (int h = 0; h < H; h++)
				assert_float_equal(e.mean[h], (a.mean[h] + b.mean[h]) / 2, 1e-9);
			assert_int_equal(run(y, N, FC_AUTO, H, 12, 0.9, &a, NULL), 0);
			assert_int_equal(a.r.method, FC_ENSEMBLE);
			/* daily data: ETS and the seasonal mean of the last four weeks */
			assert_int_equal(run(y, N, FC_AUTO, H, 7, 0.9, &a, NULL), 0);
			assert_int_equal(a.r.method, FC_ENSEMBLE);
			assert_int_equal(run(y, N, FC_ETS, H, 7, 0.9, &b, NULL), 0);
			struct out sm;
			assert_int_equal(run(y, N, FC_SMEAN, H, 7, 0.9, &sm, NULL), 0);
			for (int h = 0; h < H; h++)
				assert_float_equal(a.mean[h], (b.mean[h] + sm.mean[h]) / 2, 1e-9);
		}
		for (int h = 0; h < H; h++)
			in += y[N + h] >= e.lo[h] && y[N + h] <= e.hi[h];
	}
	const double c = (double)in / (SIMS * H);
	print_message("ensemble 90%% coverage on a local linear trend: %.3f\n", c);
	assert_true(c >= 0.84 && c <= 0.96);
}

/*
 * Closed days: a store selling 10 a day, closed every seventh day (zero sales). Told
 * which days, the fit sees 10 every day and the closed days ahead forecast zero, out of
 * the total; not told, the zeros pull the forecast down.
 */
static void test_closed_days(void **state)
{
	(void)state;
	enum { N = 70, H = 14 };
	double y[N];
	int32_t closed[(N + H) / 7 + 1];
	int nc = 0;
	const int32_t first = 20000;
	for (int t = 0; t < N + H; t++)
		if (t % 7 == 3)
			closed[nc++] = first + t;
	for (int t = 0; t < N; t++)
		y[t] = t % 7 == 3 ? 0 : 10;
	struct fc_opts op = {.horizon = H,
			     .level = 0.9,
			     .period = 1,
			     .method = FC_SES,
			     .closed = closed,
			     .nclosed = nc,
			     .first_day = first};
	struct out o;
	memset(&o, 0, sizeof(o));
	o.r.mean = o.mean, o.r.lo = o.lo, o.r.hi = o.hi;
	assert_int_equal(fc_forecast(y, N, &op, &o.r, NULL), 0);
	double sum = 0;
	for (int h = 0; h < H; h++) {
		if ((N + h) % 7 == 3) {
			assert_float_equal(o.mean[h], 0, 0);
			assert_float_equal(o.hi[h], 0, 0);
		} else {
			assert_float_equal(o.mean[h], 10, 1e-6);
			sum += o.mean[h];
		}
	}
	assert_float_equal(o.r.sum_mean, sum, 1e-6); /* 12 open days of 10 */
	assert_float_equal(o.r.sum_mean, 120, 1e-6);
	/* not told: the mean is pulled below 10 */
	assert_int_equal(run(y, N, FC_SES, H, 1, 0.9, &o, NULL), 0);
	assert_true(o.mean[0] < 9.9);
	/* a closed first day is filled from the first open one; a longer history than the
	 * fit keeps (FC_FIT_MAX) shifts the days with it */
	static double long_y[FC_FIT_MAX + 100];
	int32_t lc[2] = {first, first + FC_FIT_MAX + 100 + 1};
	for (int t = 0; t < FC_FIT_MAX + 100; t++)
		long_y[t] = t == 0 ? 0 : 5;
	op = (struct fc_opts){.horizon = 3,
			      .level = 0.9,
			      .period = 1,
			      .method = FC_SES,
			      .closed = lc,
			      .nclosed = 2,
			      .first_day = first};
	assert_int_equal(fc_forecast(long_y, FC_FIT_MAX + 100, &op, &o.r, NULL), 0);
	assert_float_equal(o.mean[0], 5, 1e-6);
	assert_float_equal(o.mean[1], 0, 0); /* day first + n + 1 */
	assert_float_equal(o.mean[2], 5, 1e-6);
}

/*
 * A payday regressor, worked out by hand: 10 a day for eight weeks, 20 on the two
 * paydays (days 21 and 35), whose same weekdays a week before and after sell 10. The
 * measured ratio is 40 / 20 = 2 over k = 2 days, shrunk to 1 + (2 − 1) · 2 / (2 + 8) =
 * 1.2. The fit sees the paydays as 20 / 1.2, so the mean is (54 · 10 + 2 · 20 / 1.2) /
 * 56; the payday ahead (day 59) forecasts that times 1.2, the others the mean.
 */
static void test_payday_hand_computed(void **state)
{
	(void)state;
	enum { N = 56, H = 7 };
	double y[N];
	const int32_t first = 20000, pay[] = {first + 21, first + 35, first + 59};
	for (int t = 0; t < N; t++)
		y[t] = t == 21 || t == 35 ? 20 : 10;
	struct fc_opts op = {
		.horizon = H, .level = 0.9, .period = 7, .method = FC_MEAN, .first_day = first};
	op.flag[FC_FLAG_PAYDAY] = pay;
	op.nflag[FC_FLAG_PAYDAY] = 3;
	struct out o;
	memset(&o, 0, sizeof(o));
	o.r.mean = o.mean, o.r.lo = o.lo, o.r.hi = o.hi;
	assert_int_equal(fc_forecast(y, N, &op, &o.r, NULL), 0);
	assert_float_equal(o.r.effect[FC_FLAG_PAYDAY], 1.2, 1e-12);
	assert_float_equal(o.r.effect[FC_FLAG_HOLIDAY], 1, 0);
	const double level = (54 * 10 + 2 * 20 / 1.2) / 56;
	double sum = 0;
	for (int h = 0; h < H; h++) {
		assert_float_equal(o.mean[h], h == 3 ? level * 1.2 : level, 1e-9);
		sum += o.mean[h];
	}
	assert_float_equal(o.r.sum_mean, sum, 1e-9);
	assert_true(o.hi[3] > o.hi[2] * 1.19); /* its interval moves with it */
	/* a payday that falls on a closed day stays closed */
	const int32_t shut[] = {first + 59};
	op.closed = shut;
	op.nclosed = 1;
	assert_int_equal(fc_forecast(y, N, &op, &o.r, NULL), 0);
	assert_float_equal(o.mean[3], 0, 0);
}

/*
 * Simulated paydays: Poisson demand of 20 a day, times 1.5 on the 1st to the 10th of
 * each 30-day "month", for two years. Told, the forecast for the paydays ahead is within
 * 10 % of 30 and of 20 elsewhere; not told, both are off by more.
 */
static void test_payday_simulated(void **state)
{
	(void)state;
	enum { N = 730, H = 30 };
	double y[N];
	int32_t pay[N + H];
	int np = 0;
	const int32_t first = 18000;
	uint64_t seed = 42;
	for (int t = 0; t < N + H; t++)
		if (t % 30 < 10)
			pay[np++] = first + t;
	for (int t = 0; t < N; t++) {
		const double lam = t % 30 < 10 ? 30 : 20; /* Knuth's Poisson draw */
		double p = 1, l = exp(-lam);
		int k = -1;
		do {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			p *= (double)(seed >> 11) * 0x1.0p-53;
			k++;
		} while (p > l);
		y[t] = k;
	}
	struct fc_opts op = {
		.horizon = H, .level = 0.9, .period = 7, .method = FC_ETS, .first_day = first};
	op.flag[FC_FLAG_PAYDAY] = pay;
	op.nflag[FC_FLAG_PAYDAY] = np;
	struct out o;
	memset(&o, 0, sizeof(o));
	o.r.mean = o.mean, o.r.lo = o.lo, o.r.hi = o.hi;
	assert_int_equal(fc_forecast(y, N, &op, &o.r, NULL), 0);
	double in = 0, out = 0;
	for (int h = 0; h < H; h++)
		*((N + h) % 30 < 10 ? &in : &out) +=
			o.mean[h] / (H / 3 * ((N + h) % 30 < 10 ? 1 : 2));
	print_message("paydays told: effect %.3f, forecast %.1f on paydays, %.1f else\n",
		      o.r.effect[FC_FLAG_PAYDAY], in, out);
	assert_true(fabs(in - 30) < 3 && fabs(out - 20) < 2);
	op.nflag[FC_FLAG_PAYDAY] = 0;
	assert_int_equal(fc_forecast(y, N, &op, &o.r, NULL), 0);
	double in0 = 0, out0 = 0;
	for (int h = 0; h < H; h++)
		*((N + h) % 30 < 10 ? &in0 : &out0) +=
			o.mean[h] / (H / 3 * ((N + h) % 30 < 10 ? 1 : 2));
	print_message("not told: %.1f on paydays, %.1f else\n", in0, out0);
	assert_true(fabs(in0 - 30) > fabs(in - 30) && fabs(out0 - 20) > fabs(out - 20));
}

static void test_scores(void **state)
{
	(void)state;
	const double train[] = {0, 1, 2, 3}, actual[] = {4, 6}, mean[] = {4, 4};
	const double lo[] = {3, 3}, hi[] = {5, 5};
	struct fc_score s;
	/* scale from the first non-zero: differences 1, 1 */
	fc_score(train, 4, actual, mean, lo, hi, 2, 0.9, &s);
	assert_float_equal(s.mase, 1, 1e-12);
	assert_float_equal(s.rmsse, sqrt(2), 1e-12);
	assert_float_equal(s.bias, -1, 1e-12);
	assert_float_equal(s.smape, 20, 1e-12);
	assert_float_equal(s.coverage, 0.5, 1e-12);
	assert_float_equal(s.winkler, (2 + 2 + 2 / 0.1 * 1) / 2, 1e-9);
	const double flat[] = {5, 5, 5};
	fc_score(flat, 3, actual, mean, NULL, NULL, 2, 0.9, &s);
	assert_true(isnan(s.mase) && isnan(s.rmsse) && isnan(s.coverage));
	assert_float_equal(fc_qnorm(0.975), 1.959963984540054, 1e-12);
	assert_float_equal(fc_qnorm(0.01), -2.3263478740408408, 1e-12);
}

static void test_calendar(void **state)
{
	(void)state;
	int32_t d[4];
	enum fc_step st;
	struct fl_err err = {0};
	const char *months[] = {"2001-11-01", "2001-12-01", "2002-01-01", "2002-02-01"};
	for (int i = 0; i < 4; i++)
		assert_true(fl_date_parse(months[i], &d[i]));
	assert_int_equal(fc_infer_step(d, 4, &st, &err), 0);
	assert_int_equal(st, FC_STEP_MONTH);
	assert_int_equal(fc_step_period(st), 12);
	char buf[11];
	fl_date_format(fc_step_add(d[3], st, 11), buf);
	assert_string_equal(buf, "2003-01-01");
	for (int i = 0; i < 4; i++)
		d[i] = 18000 + 7 * i;
	assert_int_equal(fc_infer_step(d, 4, &st, &err), 0);
	assert_int_equal(st, FC_STEP_WEEK);
	/* duplicate, unsorted, gap, irregular */
	d[2] = d[1];
	assert_int_equal(fc_infer_step(d, 4, &st, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "date 3: repeats"));
	d[2] = d[1] - 1;
	err = (struct fl_err){0};
	assert_int_equal(fc_infer_step(d, 4, &st, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "before the previous"));
	for (int i = 0; i < 4; i++)
		d[i] = 18000 + i;
	d[3] = 18010;
	err = (struct fl_err){0};
	assert_int_equal(fc_infer_step(d, 4, &st, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "date 4: a gap in a daily series"));
	d[1] = 18003;
	err = (struct fl_err){0};
	assert_int_equal(fc_infer_step(d, 2, &st, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "3 days between the first two"));
}

static void test_bad_input(void **state)
{
	(void)state;
	struct out o;
	struct fl_err err;
	const double ok[] = {1, 0, 2, 0, 3, 1};
	const double zeros[] = {0, 0, 0, 0, 0, 0, 0, 0};
	double y[6];

#define EXPECT(call, status, text)                                  \
	do {                                                        \
		err = (struct fl_err){0};                           \
		assert_int_equal(call, status);                     \
		if (!strstr(err.msg, text))                         \
			fail_msg("'%s' lacks '%s'", err.msg, text); \
	} while (0)

	EXPECT(run(ok, 0, FC_AUTO, 3, 1, 0.9, &o, &err), FL_EINVAL, "empty");
	EXPECT(run(NULL, 5, FC_AUTO, 3, 1, 0.9, &o, &err), FL_EINVAL, "empty");
	memcpy(y, ok, sizeof(y));
	y[3] = NAN;
	EXPECT(run(y, 6, FC_AUTO, 3, 1, 0.9, &o, &err), FL_EINVAL, "observation 4 is not a number");
	y[3] = INFINITY;
	EXPECT(run(y, 6, FC_AUTO, 3, 1, 0.9, &o, &err), FL_EINVAL, "observation 4 is not a number");
	y[3] = -2;
	EXPECT(run(y, 6, FC_AUTO, 3, 1, 0.9, &o, &err), FL_EINVAL, "observation 4 is negative");
	EXPECT(run(ok, 6, FC_AUTO, 0, 1, 0.9, &o, &err), FL_EINVAL, "horizon: must be 1 to 730");
	struct fc_opts big = {.horizon = FC_HORIZON_MAX + 1, .level = 0.9, .period = 1};
	struct fc_result r = {0};
	err = (struct fl_err){0};
	assert_int_equal(fc_forecast(ok, 6, &big, &r, &err), FL_EINVAL);
	assert_non_null(strstr(err.msg, "horizon"));
	EXPECT(run(ok, 6, FC_AUTO, 3, 1, 1.0, &o, &err), FL_EINVAL, "level");
	EXPECT(run(ok, 6, FC_AUTO, 3, 0, 0.9, &o, &err), FL_EINVAL, "period");
	EXPECT(run(ok, 6, FC_SNAIVE, 3, 7, 0.9, &o, &err), FL_EINVAL, "snaive: needs");
	/* all zeros: auto forecasts zero; a method that needs demand says so */
	assert_int_equal(run(zeros, 8, FC_AUTO, 3, 1, 0.9, &o, NULL), 0);
	assert_int_equal(o.r.method, FC_ZERO);
	assert_true(o.mean[0] == 0 && o.hi[2] == 0 && o.r.sum_hi == 0);
	EXPECT(run(zeros, 8, FC_CROSTON, 3, 1, 0.9, &o, &err), FL_EINVAL, "has no demand");
	EXPECT(run(zeros, 8, FC_TSB, 3, 1, 0.9, &o, &err), FL_EINVAL, "has no demand");
	/* too short for a seasonal model; one observation still forecasts */
	EXPECT(run(ok, 3, FC_HOLT, 3, 1, 0.9, &o, &err), FL_EINVAL, "too short");
	assert_int_equal(run(ok + 2, 1, FC_AUTO, 3, 1, 0.9, &o, NULL), 0);
	assert_float_equal(o.mean[0], 2, 1e-12);
	/* regression: two days of intermittent sales (a new node × SKU) made auto fail ("theta:
	 * too short"), and with it the whole batch forecast of a store; auto takes the mean */
	const double newcomer[] = {0, 3};
	assert_int_equal(run(newcomer, 2, FC_AUTO, 3, 7, 0.9, &o, NULL), 0);
	assert_int_equal(o.r.method, FC_MEAN);
	assert_float_equal(o.mean[0], 1.5, 1e-12);
	assert_int_equal(fc_method_parse("ets"), FC_ETS);
	assert_int_equal(fc_method_parse("prophet"), -1);
#undef EXPECT
}

/* The long CSV: line numbers for every refusal. */
static void test_series_csv(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"series_id,date\n", "missing column 'value'"},
		{"series_id,date,value\na,2020-01-01,x\n", "t.csv:2: value: 'x' is not a number"},
		{"series_id,date,value\na,2020-01-01,-1\n", "t.csv:2: value: -1 is negative"},
		{"series_id,date,value\na,2020-01-01,nan\n",
		 "t.csv:2: value: 'nan' is not a number"},
		{"series_id,date,value\na,2020-02-30,1\n", "t.csv:2: date: '2020-02-30'"},
		{"series_id,date,value\na,2020-01-02,1\na,2020-01-01,1\n",
		 "t.csv:3: date: 2020-01-01 is before"},
		{"series_id,date,value\na,2020-01-01,1\na,2020-01-01,1\n",
		 "t.csv:3: date: 2020-01-01 repeats"},
		{"series_id,date,value\na,2020-01-01,1\nb,2020-01-01,1\na,2020-01-02,1\n",
		 "t.csv:4: series_id: 'a' appears again"},
		{"", "the file is empty"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *fp = tmpfile();
		assert_non_null(fp);
		fputs(bad[i].text, fp);
		rewind(fp);
		struct store_series_set set;
		struct fl_err err = {0};
		assert_int_equal(store_series_read_csv(fp, "t.csv", &set, &err), FL_EINVAL);
		fclose(fp);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
	}
	const char *good = "value,series_id,date,extra\n3,a,2020-01-01,x\n0,a,2020-01-02,y\n"
			   "5,b,2020-03-01,z\n";
	FILE *fp = fmemopen((void *)good, strlen(good), "r");
	struct store_series_set set;
	assert_int_equal(store_series_read_csv(fp, "t.csv", &set, NULL), 0);
	fclose(fp);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.v[0].id, "a");
	assert_int_equal(set.v[0].n, 2);
	assert_float_equal(set.v[0].values[0], 3, 0);
	assert_string_equal(set.v[1].id, "b");
	assert_int_equal(set.v[1].n, 1);
	store_series_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_computed),
		cmocka_unit_test(test_ets_admissible),
		cmocka_unit_test(test_coverage_gaussian),
		cmocka_unit_test(test_coverage_intermittent),
		cmocka_unit_test(test_dotm_hand_computed),
		cmocka_unit_test(test_smean_hand_computed),
		cmocka_unit_test(test_rolling_origins),
		cmocka_unit_test(test_arima),
		cmocka_unit_test(test_ces_hand_computed),
		cmocka_unit_test(test_ensemble),
		cmocka_unit_test(test_closed_days),
		cmocka_unit_test(test_payday_hand_computed),
		cmocka_unit_test(test_payday_simulated),
		cmocka_unit_test(test_scores),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_series_csv),
	};
	return cmocka_run_group_tests_name("forecast", tests, NULL, NULL);
}
