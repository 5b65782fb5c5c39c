/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * internal.h — what forecast/'s files share. Not part of the library's interface.
 */
#ifndef FULCRUM_FORECAST_INTERNAL_H
#define FULCRUM_FORECAST_INTERNAL_H

#include "forecast.h"

/* ETS: error 'A'|'M', trend 'N'|'D' (damped), season 'N'|'A'|'M'. */
struct ets_spec {
	char error, trend, season;
};

/*
 * One fitted method's forecast, before intervals. Arrays are the caller's (h each).
 * Rolling origins (ETS, DOTM and the seasonal mean, when roll is set): with the fitted
 * parameters, the forecasts of y[t], …, y[t + h − 1] made from y[0 … t), for each origin
 * t in [roll_from, n), at roll[(t − roll_from) · h + j] (those past n are not written).
 */
struct fc_fit {
	int h;
	double *f;    /* point forecasts */
	double *psi;  /* linear error weights ψ_1 … ψ_{h-1} in psi[1…] (psi[0] = 1) */
	double sigma; /* one-step standard deviation (relative when mult) */
	bool mult;    /* multiplicative errors: σ scales with the forecast */
	bool hurdle;  /* intervals from the hurdle distribution instead */
	double aicc;  /* ETS only; HUGE_VAL otherwise */
	char model[32];
	double par[4];
	int npar;
	double *roll;
	int roll_from;
	struct ets_spec spec; /* ETS: the model and its x (α, ℓ0, β, φ, γ) */
	double x[5];
};

/* Fit one ETS model; -1 if it cannot (too short, or non-positive data for 'M'). */
int ets_fit(const double *y, int n, int m, struct ets_spec sp, struct fc_fit *fit);
/* The ETS model with the least AICc among those that fit; -1 if none. Its rolling
 * origins too, when fit->roll is set. */
int ets_auto(const double *y, int n, int m, struct fc_fit *fit, double *work);

/* Simple exponential smoothing by golden section on α ∈ [alo, ahi] (level starts at y[0]). */
double ses_fit_fast(const double *y, int n, double alo, double ahi, double *alpha, double *sse);

int fc_naive(const double *y, int n, struct fc_fit *fit);
int fc_snaive(const double *y, int n, int m, struct fc_fit *fit);
int fc_mean(const double *y, int n, struct fc_fit *fit);
int fc_ma(const double *y, int n, int m, struct fc_fit *fit);
/* The seasonal mean: each period's forecast is the mean of the same position of the
 * season in the last k seasons; -1 when m < 2 or fewer than k + 1 seasons. */
int fc_smean(const double *y, int n, int m, int k, struct fc_fit *fit);
int fc_theta(const double *y, int n, int m, struct fc_fit *fit, double *work);
/* The theta method's seasonal adjustment: when the 90 % test finds a season (and every
 * value is positive), sa = y over its multiplicative indices idx; else sa = y. */
bool fc_theta_deseason(const double *y, int n, int m, double *sa, double *idx);
/* The dynamic optimised theta model (theta.c); work: n doubles. -1 if n < 4. */
int fc_dotm(const double *y, int n, int m, struct fc_fit *fit, double *work);
/* DOTM with its parameters given: the in-sample one-step SSE, and f[0 … H) when H > 0. */
double fc_dotm_run(const double *y, int n, double a, double th, double l0, int H, double *f);

/* Complex exponential smoothing (ces.c); work: n doubles. -1 if n < 6. */
int fc_ces(const double *y, int n, int m, struct fc_fit *fit, double *work);
/* CES with its parameters given: the in-sample one-step SSE, and f[0 … H) when H > 0. */
double fc_ces_run(const double *y, int n, double a0, double a1, double l0, double c0, int H,
		  double *f);
/* The automatic seasonal ARIMA (arima.c); -1 if no order fits (n < 8). */
int fc_arima(const double *y, int n, int m, struct fc_fit *fit, double *work);

int fc_croston(const double *y, int n, bool sba, struct fc_fit *fit);
int fc_tsb(const double *y, int n, struct fc_fit *fit);
int fc_adida(const double *y, int n, int k, struct fc_fit *fit, double *work);
int fc_imapa(const double *y, int n, struct fc_fit *fit, double *work);

/* Nelder–Mead: minimise f over d <= FC_NM_MAX dimensions from x (updated), at most maxev
 * calls. */
#define FC_NM_MAX 10
double fc_nelder_mead(double (*f)(const double *x, void *ctx), void *ctx, double *x,
		      const double *step, int d, int maxev, double tol);

/* Sample autocorrelation of y at lag k. */
double fc_acf(const double *y, int n, int k);
/* True when the lag-m autocorrelation is significant at 90 % (the theta method's test). */
bool fc_seasonal_test(const double *y, int n, int m);
/*
 * Classical decomposition indices (multiplicative when mult) from the first complete
 * seasons of y (at most max_seasons): idx[j] for the times t ≡ j mod m. -1 if n < 2m.
 */
int fc_season_indices(const double *y, int n, int m, int max_seasons, bool mult, double *idx);

#endif
