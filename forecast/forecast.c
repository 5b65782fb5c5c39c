/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * forecast.c — validation, demand classes, method dispatch and automatic choice, and
 * the prediction intervals (forecast.h says how they are built).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HURDLE_DRAWS 1000
#define HURDLE_NORMAL_AT 30.0
#define HURDLE_EFFECTIVE_N \
	30 /* periods a smoother's level effectively averages */ /* expected demands over the horizon before the sum is normal */

static const char *const method_names[] = {
#define FC_METHOD_NAME(k, name) name,
	FC_METHOD_MAP(FC_METHOD_NAME)
#undef FC_METHOD_NAME
};

const char *fc_method_name(enum fc_method m)
{
	return (unsigned)m < FC_METHOD_COUNT ? method_names[m] : "unknown";
}

int fc_method_parse(const char *name)
{
	for (int i = 0; i < FC_METHOD_COUNT; i++)
		if (!strcmp(name, method_names[i]))
			return i;
	return -1;
}

const char *fc_class_name(enum fc_class c)
{
	static const char *const names[] = {"none", "smooth", "erratic", "intermittent", "lumpy"};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}

enum fc_class fc_classify(const double *y, int n, double *adi, double *cv2)
{
	double nz = 0, s = 0, ss = 0;

	for (int t = 0; t < n; t++)
		if (y[t] > 0)
			nz++, s += y[t], ss += y[t] * y[t];
	if (nz == 0) {
		*adi = INFINITY;
		*cv2 = 0;
		return FC_CLASS_NONE;
	}
	const double mu = s / nz, var = ss / nz - mu * mu;
	*adi = n / nz;
	*cv2 = var > 0 ? var / (mu * mu) : 0;
	if (*adi < 1.32)
		return *cv2 < 0.49 ? FC_CLASS_SMOOTH : FC_CLASS_ERRATIC;
	return *cv2 < 0.49 ? FC_CLASS_INTERMITTENT : FC_CLASS_LUMPY;
}

/* Acklam's rational approximation, refined by one Halley step (|error| < 1e-15). */
double fc_qnorm(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
				   -2.759285104469687e+02, 1.383577518672690e+02,
				   -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
				   -1.556989798598866e+02, 6.680131188771972e+01,
				   -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
				   -2.400758277161838e+00, -2.549732539343734e+00,
				   4.374664141464968e+00,  2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
				   2.445134137142996e+00, 3.754408661907416e+00};
	double q, r, x;

	if (!(p > 0 && p < 1))
		return p <= 0 ? -INFINITY : INFINITY;
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else if (p <= 1 - 0.02425) {
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	} else {
		q = sqrt(-2 * log(1 - p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	const double e = 0.5 * erfc(-x / sqrt(2)) - p;
	const double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

/* ---- intervals ---- */

static void intervals_linear(const struct fc_fit *fit, double level, struct fc_result *r)
{
	const int H = fit->h;
	const double z = fc_qnorm(0.5 + level / 2);
	double acc = 0, sum = 0, var = 0;

	for (int h = 0; h < H; h++) {
		acc += fit->psi[h] * fit->psi[h];
		double sd = fit->sigma * sqrt(acc);
		if (fit->mult)
			sd *= fit->f[h];
		r->lo[h] = fmax(0, fit->f[h] - z * sd);
		r->hi[h] = fmax(0, fit->f[h] + z * sd);
		sum += fit->f[h];
	}
	/* Σ_h e_h = Σ_i ε_i Σ_{h ≥ i} w_h ψ_{h−i}, w = 1 (additive) or f_h (multiplicative) */
	if (!fit->mult) {
		double psum = 0;
		for (int k = 0; k < H; k++) {
			psum += fit->psi[k];
			var += psum * psum;
		}
	} else {
		for (int i = 0; i < H; i++) {
			double w = 0;
			for (int h = i; h < H; h++)
				w += fit->f[h] * fit->psi[h - i];
			var += w * w;
		}
	}
	const double sd = fit->sigma * sqrt(var);
	r->sum_mean = sum;
	r->sum_lo = fmax(0, sum - z * sd);
	r->sum_hi = fmax(0, sum + z * sd);
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The inverse CDF (type 1) of sorted v[0…k-1] at u ∈ [0, 1]. */
static double quantile_sorted(const double *v, int k, double u)
{
	int i = (int)ceil(u * k) - 1;
	return v[i < 0 ? 0 : i >= k ? k - 1 : i];
}

/* The quantile between order statistics (R's type 7): not rounded up to a size seen. */
static double quantile_interp(const double *v, int k, double u)
{
	const double x = fmin(fmax(u, 0), 1) * (k - 1);
	const int i = (int)floor(x);
	return i + 1 < k ? v[i] + (x - i) * (v[i + 1] - v[i]) : v[k - 1];
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* sizes: the sorted non-zero observations (k of them); work: HURDLE_DRAWS doubles. */
static void intervals_hurdle(const struct fc_fit *fit, const double *y, int n, const double *sizes,
			     int k, double level, struct fc_result *r, double *work)
{
	const int H = fit->h;
	double ms = 0, ms2 = 0, sum = 0, lambda = 0, var = 0;

	for (int i = 0; i < k; i++)
		ms += sizes[i], ms2 += sizes[i] * sizes[i];
	ms /= k;
	ms2 /= k;
	const double qa = (1 - level) / 2, qb = (1 + level) / 2;
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)k;
	for (int h = 0; h < H; h++) {
		const double p = fmin(1, fit->f[h] / ms);
		r->lo[h] = qa <= 1 - p ? 0 : quantile_interp(sizes, k, (qa - (1 - p)) / p);
		r->hi[h] = qb <= 1 - p ? 0 : quantile_interp(sizes, k, (qb - (1 - p)) / p);
		sum += fit->f[h];
		lambda += p;
		var += p * ms2 - p * p * ms * ms;
		uint64_t bits;
		memcpy(&bits, &fit->f[h], sizeof(bits));
		seed = mix64(seed ^ bits);
	}
	r->sum_mean = sum;
	/* The mean itself is an estimate: its relative variance is about CV² of the
	 * series over the ~HURDLE_EFFECTIVE_N periods a smoother effectively averages. */
	double my = 0, vy = 0;
	for (int t = 0; t < n; t++)
		my += y[t];
	my /= n;
	for (int t = 0; t < n; t++)
		vy += (y[t] - my) * (y[t] - my);
	vy /= n > 1 ? n - 1 : 1;
	const double vrel =
		my > 0 ? vy / (my * my) / (n < HURDLE_EFFECTIVE_N ? n : HURDLE_EFFECTIVE_N) : 0;
	if (lambda >= HURDLE_NORMAL_AT) {
		const double z = fc_qnorm(qb), sd = sqrt(fmax(0, var + vrel * sum * sum));
		r->sum_lo = fmax(0, sum - z * sd);
		r->sum_hi = sum + z * sd;
		return;
	}
	/* few demands expected: the sum's distribution by simulation with a fixed seed */
	for (int d = 0; d < HURDLE_DRAWS; d++) {
		double tot = 0;
		seed = mix64(seed + 0x9e3779b97f4a7c15ULL);
		const double u1 = ((seed >> 11) + 1) * 0x1.0p-53, u2 = (seed & 0x7ff) / 2048.0;
		const double g = fmax(0, 1 + sqrt(vrel) * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
		for (int h = 0; h < H; h++) {
			const double p = fmin(1, g * fit->f[h] / ms);
			seed = mix64(seed + 0x9e3779b97f4a7c15ULL);
			const double u = (seed >> 11) * 0x1.0p-53;
			if (u < p)
				tot += sizes[(seed & 0x7ff) * (uint64_t)k >> 11];
		}
		work[d] = tot;
	}
	qsort(work, HURDLE_DRAWS, sizeof(double), cmp_double);
	r->sum_lo = quantile_sorted(work, HURDLE_DRAWS, qa);
	r->sum_hi = quantile_sorted(work, HURDLE_DRAWS, qb);
}

/* ---- dispatch ---- */

static int check_input(const double *y, int n, const struct fc_opts *o, struct fl_err *err)
{
	if (n <= 0 || !y)
		return fl_err_set(err, FL_EINVAL, "the series is empty");
	if (n > FC_SERIES_MAX)
		return fl_err_set(err, FL_ELIMIT, "the series has %d observations (limit %d)", n,
				  FC_SERIES_MAX);
	if (o->horizon < 1 || o->horizon > FC_HORIZON_MAX)
		return fl_err_set(err, FL_EINVAL, "horizon: must be 1 to %d, not %d",
				  FC_HORIZON_MAX, o->horizon);
	if (!(o->level > 0 && o->level < 1))
		return fl_err_set(err, FL_EINVAL, "level: must be between 0 and 1 (exclusive)");
	if (o->period < 1 || o->period > FC_SEASON_MAX)
		return fl_err_set(err, FL_EINVAL, "period: must be 1 to %d, not %d", FC_SEASON_MAX,
				  o->period);
	if ((unsigned)o->method >= FC_METHOD_COUNT)
		return fl_err_set(err, FL_EINVAL, "method: unknown");
	for (int t = 0; t < n; t++) {
		if (!isfinite(y[t]))
			return fl_err_set(err, FL_EINVAL, "observation %d is not a number", t + 1);
		if (y[t] < 0)
			return fl_err_set(err, FL_EINVAL, "observation %d is negative (%g)", t + 1,
					  y[t]);
	}
	return 0;
}

/* Average b into a (forecasts, σ and error weights); used for combinations. */
static void fit_add(struct fc_fit *a, const struct fc_fit *b, double w)
{
	for (int h = 0; h < a->h; h++) {
		a->f[h] += w * b->f[h];
		a->psi[h] += w * b->psi[h];
	}
	a->sigma += w * b->sigma;
}

static int run_method(enum fc_method m, const double *y, int n, int period, struct fc_fit *fit,
		      double *work, struct fl_err *err);

/* The seasons a seasonal mean averages: the last four weeks of daily data. */
#define SMEAN_SEASONS 4

/*
 * The ensemble: the mean of ETS (the least AICc) and, for daily data (period 7), the
 * seasonal mean of the last four weeks, else the dynamic optimised theta model.
 *
 * Its intervals come from its own errors: each member, with its fitted parameters,
 * forecasts the history from the last ENSEMBLE_ORIGINS origins (each from what came
 * before it), and the h-step standard deviation is the root mean square of the mean's
 * errors at h over those origins. Where fewer than ENSEMBLE_MIN_ERRORS errors exist at h,
 * the members' analytical h-step deviations (their mean) count as that many more. Those
 * errors were made by parameters fitted to the same points, so they understate what lies
 * ahead: the members' mean analytical deviation is the floor. (Chosen on the shared data:
 * 95 % MSIS on M1 8.30 against 9.29 for the errors alone and 8.50 for the analytical
 * deviation alone; Walmart 6.61, 6.53, 6.57; car parts' smooth series 11.14, 11.22,
 * 11.28.) Written as additive error weights with σ = 1.
 */
#define ENSEMBLE_ORIGINS 120
#define ENSEMBLE_MIN_ERRORS 24

static int ensemble_fit(const double *y, int n, int period, struct fc_fit *fit, double *work,
			struct fl_err *err)
{
	const enum fc_method members[] = {FC_ETS, period == 7 ? FC_SMEAN : FC_DOTM};
	const int np = 2, H = fit->h;
	const int burn = period == 7 ? SMEAN_SEASONS * period + period : 4;
	const int from = n - H - ENSEMBLE_ORIGINS > burn ? n - H - ENSEMBLE_ORIGINS : burn;
	const int norig = n - from > 0 ? n - from : 0;
	struct fc_fit part = *fit;
	double *sd = work; /* H: the members' mean analytical deviation */
	/* norig × H twice: the members' mean from each origin, one member's forecasts */
	double *comb = malloc(sizeof(double) * 2 * ((size_t)norig * H + 1));
	if (!comb)
		return fl_err_set(err, FL_ENOMEM, "forecast: out of memory");
	double *scratch = comb + (size_t)norig * H;
	part.f = work + H;
	part.psi = work + 2 * (size_t)H;
	part.roll = scratch;
	part.roll_from = from;
	for (int h = 0; h < H; h++)
		fit->f[h] = 0, sd[h] = 0;
	for (size_t i = 0; i < (size_t)norig * H; i++)
		comb[i] = 0;
	for (int i = 0; i < np; i++) {
		const int rc =
			run_method(members[i], y, n, period, &part, work + 3 * (size_t)H, err);
		if (rc) {
			free(comb);
			return rc;
		}
		double acc = 0;
		for (int h = 0; h < H; h++) {
			acc += part.psi[h] * part.psi[h];
			double s = part.sigma * sqrt(acc);
			if (part.mult)
				s *= fabs(part.f[h]);
			sd[h] += s / np;
			fit->f[h] += part.f[h] / np;
		}
		for (int t = from; t < n; t++)
			for (int h = 0; h < H && t + h < n; h++)
				comb[(size_t)(t - from) * H + h] +=
					scratch[(size_t)(t - from) * H + h] / np;
	}
	double prev = 0;
	for (int h = 0; h < H; h++) { /* Σ_{j ≤ h} ψ_j² = sd_h² */
		double ss = 0;
		int c = 0;
		for (int t = from; t + h < n; t++, c++) {
			const double e = y[t + h] - comb[(size_t)(t - from) * H + h];
			ss += e * e;
		}
		const double k = c < ENSEMBLE_MIN_ERRORS ? ENSEMBLE_MIN_ERRORS - c : 0;
		const double v =
			fmax((ss + k * sd[h] * sd[h]) / (c + k > 0 ? c + k : 1), sd[h] * sd[h]);
		fit->psi[h] = sqrt(fmax(0, v - prev));
		prev = fmax(prev, v);
	}
	free(comb);
	fit->sigma = 1;
	fit->mult = fit->hurdle = false;
	fit->aicc = HUGE_VAL;
	fit->npar = 0;
	fit->roll = NULL;
	snprintf(fit->model, sizeof(fit->model), "Mean(ETS,%s)", period == 7 ? "SMean" : "DOTM");
	return 0;
}

static int run_method(enum fc_method m, const double *y, int n, int period, struct fc_fit *fit,
		      double *work, struct fl_err *err)
{
	int rc = 0;

	switch (m) {
	case FC_ZERO:
		for (int h = 0; h < fit->h; h++)
			fit->f[h] = 0, fit->psi[h] = 0;
		fit->sigma = 0, fit->hurdle = false, fit->mult = false, fit->npar = 0;
		strcpy(fit->model, "Zero");
		return 0;
	case FC_NAIVE: return fc_naive(y, n, fit);
	case FC_SNAIVE:
		rc = fc_snaive(y, n, period, fit);
		if (rc)
			return fl_err_set(err, FL_EINVAL,
					  "snaive: needs a period above 1 and more than %d "
					  "observations",
					  period);
		return 0;
	case FC_MEAN: return fc_mean(y, n, fit);
	case FC_MA: return fc_ma(y, n, period, fit);
	case FC_SES: rc = ets_fit(y, n, period, (struct ets_spec){'A', 'N', 'N'}, fit); break;
	case FC_HOLT: rc = ets_fit(y, n, period, (struct ets_spec){'A', 'D', 'N'}, fit); break;
	case FC_ETS: rc = ets_auto(y, n, period, fit, work); break;
	case FC_THETA: rc = fc_theta(y, n, period, fit, work); break;
	case FC_DOTM: rc = fc_dotm(y, n, period, fit, work); break;
	case FC_SMEAN: rc = fc_smean(y, n, period, SMEAN_SEASONS, fit); break;
	case FC_ARIMA: rc = fc_arima(y, n, period, fit, work); break;
	case FC_CES: rc = fc_ces(y, n, period, fit, work); break;
	case FC_CROSTON: rc = fc_croston(y, n, false, fit); break;
	case FC_SBA: rc = fc_croston(y, n, true, fit); break;
	case FC_TSB: rc = fc_tsb(y, n, fit); break;
	case FC_ADIDA: {
		double adi, cv2;
		fc_classify(y, n, &adi, &cv2);
		rc = fc_adida(y, n, isfinite(adi) ? (int)lround(adi) : 1, fit, work);
		break;
	}
	case FC_IMAPA: rc = fc_imapa(y, n, fit, work); break;
	case FC_ENSEMBLE: return ensemble_fit(y, n, period, fit, work, err);
	case FC_COMB:
	case FC_INTERMITTENT: {
		static const enum fc_method comb[] = {FC_SES, FC_HOLT, FC_THETA};
		static const enum fc_method inter[] = {FC_THETA, FC_IMAPA};
		const enum fc_method *parts = m == FC_COMB ? comb : inter;
		struct fc_fit part = *fit;
		part.f = work;
		part.psi = work + fit->h;
		for (int h = 0; h < fit->h; h++)
			fit->f[h] = 0, fit->psi[h] = 0;
		fit->sigma = 0;
		const int np = m == FC_COMB ? 3 : 2;
		for (int i = 0; i < np; i++) {
			rc = run_method(parts[i], y, n, period, &part, work + 2 * fit->h, err);
			if (rc)
				return rc;
			fit_add(fit, &part, 1.0 / np);
		}
		fit->hurdle = m == FC_INTERMITTENT;
		fit->mult = false;
		fit->npar = 0;
		snprintf(fit->model, sizeof(fit->model), "%s",
			 m == FC_COMB ? "Comb(SES,Holt,Theta)" : "Mean(Theta,iMAPA)");
		return 0;
	}
	default:
		return fl_err_set(err, FL_EINVAL, "method: %s is not a fitting method",
				  fc_method_name(m));
	}
	if (rc)
		return fl_err_set(err, FL_EINVAL, "%s: the series (%d observations) is too short%s",
				  fc_method_name(m), n,
				  m >= FC_CROSTON && m <= FC_IMAPA ? " or has no demand" : "");
	return 0;
}

int fc_day_cmp(const void *a, const void *b)
{
	const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static bool in_days(const int32_t *days, int n, int32_t day)
{
	return n > 0 && bsearch(&day, days, (size_t)n, sizeof(int32_t), fc_day_cmp);
}

static bool is_closed(const struct fc_opts *o, int32_t day)
{
	return in_days(o->closed, o->nclosed, day);
}

/* ---- daily regressors: a factor per flag (fc_opts says how it is estimated) ---- */

#define FLAG_SHRINK 8.0 /* flagged days seen for half the measured effect */
#define FLAG_WEEKS 4	/* how far a flagged day's baseline may be */

static bool any_flag(const struct fc_opts *o, int32_t day)
{
	for (int f = 0; f < FC_FLAGS; f++)
		if (in_days(o->flag[f], o->nflag[f], day))
			return true;
	return false;
}

static double flag_effect(const double *y, int n, const struct fc_opts *o, int32_t first, int f)
{
	double num = 0, den = 0;
	int k = 0;
	for (int t = 0; t < n; t++) {
		if (!in_days(o->flag[f], o->nflag[f], first + t) || is_closed(o, first + t))
			continue;
		double b = 0;
		int nb = 0;
		for (int side = -1; side <= 1; side += 2)
			for (int w = 1; w <= FLAG_WEEKS; w++) {
				const int u = t + side * 7 * w;
				if (u < 0 || u >= n)
					break;
				if (!any_flag(o, first + u) && !is_closed(o, first + u)) {
					b += y[u], nb++;
					break;
				}
			}
		if (nb) {
			num += y[t], den += b / nb;
			k++;
		}
	}
	if (!k || den <= 0)
		return 1;
	const double r = fmin(fmax(num / den, 0.25), 4.0);
	return 1 + (r - 1) * k / (k + FLAG_SHRINK);
}

/* The product of the factors of the flags on `day`. */
static double flag_factor(const struct fc_opts *o, const double *effect, int32_t day)
{
	double m = 1;
	for (int f = 0; f < FC_FLAGS; f++)
		if (in_days(o->flag[f], o->nflag[f], day))
			m *= effect[f];
	return m;
}

/* The history with its closed days filled (see fc_opts); y[0] is day `first`. */
static void fill_closed(const double *y, int n, const struct fc_opts *o, int32_t first, double *out)
{
	const int m = o->period > 1 ? o->period : 1;
	int open = -1; /* the first open day, for closed days before it */
	for (int t = 0; t < n && open < 0; t++)
		if (!is_closed(o, first + t))
			open = t;
	for (int t = 0; t < n; t++)
		out[t] = !is_closed(o, first + t) ? y[t]
			 : t >= m		  ? out[t - m]
			 : t > 0		  ? out[t - 1]
			 : open >= 0		  ? y[open]
						  : 0;
}

int fc_forecast(const double *y, int n, const struct fc_opts *o, struct fc_result *r,
		struct fl_err *err)
{
	int rc = check_input(y, n, o, err);
	if (rc)
		return rc;
	const int H = o->horizon;
	int32_t first = o->first_day;
	if (n > FC_FIT_MAX) {
		y += n - FC_FIT_MAX;
		first += n - FC_FIT_MAX;
		n = FC_FIT_MAX;
	}
	/* f, psi; scratch for three nested fits' (f, psi) and n or HURDLE_DRAWS doubles; the
	 * series' demand sizes (n); the history with its closed days filled (n) */
	const size_t big = (size_t)(n > HURDLE_DRAWS ? n : HURDLE_DRAWS);
	const size_t nwork = 8 * (size_t)H + big + 2 * (size_t)n;
	double *mem = malloc(sizeof(double) * nwork);
	if (!mem)
		return fl_err_set(err, FL_ENOMEM, "forecast: out of memory");
	struct fc_fit fit = {.h = H, .f = mem, .psi = mem + H, .aicc = HUGE_VAL};
	double *work = mem + 2 * H, *sizes = mem + 8 * (size_t)H + big;
	bool flags = false;
	for (int f = 0; f < FC_FLAGS; f++) {
		r->effect[f] = 1;
		flags |= o->nflag[f] > 0;
	}
	if (o->nclosed > 0 || flags) {
		double *adj = sizes + n;
		if (o->nclosed > 0)
			fill_closed(y, n, o, first, adj);
		else
			memcpy(adj, y, sizeof(double) * (size_t)n);
		for (int f = 0; flags && f < FC_FLAGS; f++)
			r->effect[f] = flag_effect(adj, n, o, first, f);
		for (int t = 0; flags && t < n; t++)
			adj[t] /= flag_factor(o, r->effect, first + t);
		y = adj;
	}

	double adi, cv2;
	r->cls = fc_classify(y, n, &adi, &cv2);
	enum fc_method m = o->method;
	if (m == FC_AUTO) {
		if (r->cls == FC_CLASS_NONE)
			m = FC_ZERO;
		else if (r->cls == FC_CLASS_INTERMITTENT || r->cls == FC_CLASS_LUMPY)
			m = FC_INTERMITTENT;
		else if (n < 4)
			m = FC_MEAN;
		else
			m = FC_ENSEMBLE;
	}
	rc = run_method(m, y, n, o->period, &fit, work, err);

	if (!rc && m == FC_ETS && o->method == FC_AUTO && !isfinite(fit.aicc))
		rc = run_method(m = FC_MEAN, y, n, o->period, &fit, work, err);
	if (rc == FL_EINVAL && o->method == FC_AUTO && m == FC_ENSEMBLE) /* too short a member */
		rc = run_method(m = FC_ETS, y, n, o->period, &fit, work, err);
	/* auto never fails on a short series: a new (node, SKU) with two days of sales gets
	 * the mean, where one failure used to stop a whole batch */
	if (rc == FL_EINVAL && o->method == FC_AUTO && m != FC_MEAN)
		rc = run_method(m = FC_MEAN, y, n, o->period, &fit, work, err);
	if (rc) {
		free(mem);
		return rc;
	}
	for (int h = 0; h < H; h++) {
		r->mean[h] = fmax(0, fit.f[h]); /* counts: never below zero */
		fit.f[h] = r->mean[h];
	}
	int k = 0;
	for (int t = 0; t < n; t++)
		if (y[t] > 0)
			sizes[k++] = y[t];
	if (fit.hurdle && k > 0) {
		qsort(sizes, k, sizeof(double), cmp_double);
		intervals_hurdle(&fit, y, n, sizes, k, o->level, r, work);
	} else {
		intervals_linear(&fit, o->level, r);
	}
	for (int h = 0; flags && h < H; h++) {
		const double fm = flag_factor(o, r->effect, first + n + h);
		if (fm == 1)
			continue;
		r->sum_mean += r->mean[h] * (fm - 1);
		r->sum_lo = fmax(0, r->sum_lo + r->mean[h] * (fm - 1));
		r->sum_hi += r->mean[h] * (fm - 1);
		r->mean[h] *= fm, r->lo[h] *= fm, r->hi[h] *= fm;
	}
	for (int h = 0; o->nclosed > 0 && h < H; h++)
		if (is_closed(o, first + n + h)) { /* nothing sells: zero, out of the total */
			r->sum_mean -= r->mean[h];
			r->sum_lo = fmax(0, r->sum_lo - r->mean[h]);
			r->sum_hi = fmax(0, r->sum_hi - r->mean[h]);
			r->mean[h] = r->lo[h] = r->hi[h] = 0;
		}
	r->method = m;
	memcpy(r->model, fit.model, sizeof(r->model));
	r->npar = fit.npar;
	memcpy(r->par, fit.par, sizeof(r->par));
	free(mem);
	return 0;
}
