/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The forecast flows: many series forecast on every core (from a CSV or the store's
 * sales history, through the cache), one (node, SKU) for GET /v1/forecasts, and the
 * hold-out backtest that scores methods side by side.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow/flow.h"
#include "forecast/forecast.h"

#define CHUNK 4096 /* series forecast (and held in memory) at once */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * A series as regular values: a CSV series as it is (its step inferred from its dates),
 * a sparse sales series spread over every day from its first sale to the last day of the
 * history. *dense is malloc'd when the series is sparse, else it points into s.
 */
int flow_series_values(const struct store_series *s, double **dense, bool *owned, int *n,
		       enum fc_step *step, struct fl_err *err)
{
	*owned = false;
	if (!s->sparse) {
		*dense = s->values;
		*n = s->n;
		int rc = fc_infer_step(s->days, s->n, step, err);
		if (rc)
			fl_err_prefix(err, "series '%s'", s->id);
		return rc;
	}
	*step = FC_STEP_DAY;
	*n = s->last_day - s->first_day + 1;
	if (*n < 1 || *n > STORE_SERIES_POINTS_MAX)
		return fl_err_set(err, FL_ELIMIT, "series '%s': %d days of history", s->id, *n);
	double *v = calloc((size_t)*n, sizeof(double));
	if (!v)
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	for (int i = 0; i < s->n; i++)
		v[s->days[i] - s->first_day] += s->values[i];
	*dense = v;
	*owned = true;
	return 0;
}

/* FNV-1a over the history: the cache's version of a series. */
uint64_t flow_series_hash(const double *v, int n, int32_t first_day)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p = (const unsigned char *)&first_day;
	for (size_t i = 0; i < sizeof(first_day); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	p = (const unsigned char *)v;
	for (size_t i = 0; i < sizeof(double) * (size_t)n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (uint64_t)n;
}

/* ---- many series on every core ---- */

struct job {
	struct flow_series_days days; /* its closed days and regressors */
	const struct store_series *s;
	double *pts; /* 3 × horizon: mean, lo, hi */
	struct fc_result r;
	int32_t first_point; /* date of the first forecast period */
	enum fc_step step;
	uint64_t hash;
	bool cached, done;
	int rc;
	struct fl_err err;
};

struct pool {
	struct job *jobs;
	size_t n;
	const struct fc_opts *o;
	bool infer_period;
	atomic_size_t next, finished;
	size_t total_before, total; /* for progress */
	double t0;
	const struct flow_progress *pg;
};

bool flow_cancelled(const struct flow_progress *pg)
{
	return pg && pg->cancel && atomic_load(pg->cancel);
}

void flow_report(const struct flow_progress *pg, const char *phase, size_t done, size_t total)
{
	if (pg && pg->report)
		pg->report(pg->ctx, phase, done, total);
}

static void run_job(struct pool *p, struct job *j)
{
	double *v;
	bool owned;
	int n;

	j->rc = flow_series_values(j->s, &v, &owned, &n, &j->step, &j->err);
	if (j->rc)
		return;
	struct fc_opts o = *p->o;
	if (p->infer_period)
		o.period = fc_step_period(j->step);
	o.first_day = j->s->first_day; /* v[0]'s day: closed days are matched against it */
	flow_series_days_apply(&j->days, &o);
	if (j->step != FC_STEP_DAY) { /* closed days and regressors are days */
		o.nclosed = 0;
		for (int f = 0; f < FC_FLAGS; f++)
			o.nflag[f] = 0;
	}
	j->r.mean = j->pts;
	j->r.lo = j->pts + o.horizon;
	j->r.hi = j->pts + 2 * o.horizon;
	if (!j->hash) /* the cache check computed it already */
		j->hash = flow_series_days_hash(flow_series_hash(v, n, j->s->first_day), &j->days);
	j->rc = fc_forecast(v, n, &o, &j->r, &j->err);
	if (j->rc)
		fl_err_prefix(&j->err, "series '%s'", j->s->id);
	j->first_point = fc_step_add(j->s->last_day, j->step, 1);
	if (owned)
		free(v);
}

static void worker(void *arg, int me)
{
	struct pool *p = arg;
	size_t i;
	(void)me;
	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		if (flow_cancelled(p->pg))
			break; /* the caller sees the flag: the chunk is not kept */
		if (!p->jobs[i].done)
			run_job(p, &p->jobs[i]);
		const size_t fin = atomic_fetch_add(&p->finished, 1) + 1;
		if (fin % FLOW_PROGRESS_EVERY == 0 || fin == p->n)
			flow_report(p->pg, "forecast", p->total_before + fin, p->total);
	}
}

static void pool_run(struct pool *p, int threads)
{
	atomic_store(&p->next, 0);
	atomic_store(&p->finished, 0);
	fl_run_workers(threads, worker, p);
}

/* A forecast spec names what a cached forecast answers: method, horizon, level. */
/* The library's version of its methods: a cached forecast made by an older one is made
 * again (2: auto's ensemble, interpolated hurdle bounds; 3: the ensemble's intervals from
 * its own errors). */
#define FORECAST_LIB_VERSION 3

void flow_forecast_spec(const struct fc_opts *o, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/h%d/l%.4f/m%d/v%d", fc_method_name(o->method), o->horizon, o->level,
		 o->period, FORECAST_LIB_VERSION);
}

struct forecast_sink {
	FILE *out; /* CSV rows, or NULL */
	flow_forecast_fn *fn;
	void *ctx;
};

static int emit(struct forecast_sink *k, const struct job *j, int horizon)
{
	if (k->out) {
		char date[11];
		for (int h = 0; h < horizon; h++) {
			fl_date_format(fc_step_add(j->first_point, j->step, h), date);
			fprintf(k->out, "%s,%s,%.6g,%.6g,%.6g,%s\n", j->s->id, date, j->r.mean[h],
				j->r.lo[h], j->r.hi[h], fc_method_name(j->r.method));
		}
	}
	if (k->fn) {
		struct flow_forecast f = {.series = j->s,
					  .r = &j->r,
					  .first_point = j->first_point,
					  .step = j->step,
					  .cached = j->cached};
		return k->fn(k->ctx, &f);
	}
	return 0;
}

/* A cached forecast of the same history (and calendar) is used as it is: j->done. */
static int from_cache(struct store *cache, const char *spec, int H, struct job *j,
		      struct fl_err *err)
{
	double *v;
	bool owned;
	int nv, rc;
	if ((rc = flow_series_values(j->s, &v, &owned, &nv, &j->step, err)))
		return rc;
	j->hash = flow_series_days_hash(flow_series_hash(v, nv, j->s->first_day), &j->days);
	if (owned)
		free(v);
	struct store_forecast f = {
		.node = j->s->node, .sku = j->s->sku, .horizon = H, .points = j->pts};
	bool found;
	if ((rc = store_forecast_get(cache, spec, &f, &found, err)))
		return rc;
	if (found && f.history == j->hash) {
		j->done = j->cached = true;
		j->r = (struct fc_result){.mean = j->pts,
					  .lo = j->pts + H,
					  .hi = j->pts + 2 * H,
					  .sum_mean = f.sum_mean,
					  .sum_lo = f.sum_lo,
					  .sum_hi = f.sum_hi};
		const int m = fc_method_parse(f.method);
		j->r.method = m < 0 ? FC_AUTO : (enum fc_method)m;
		snprintf(j->r.model, sizeof(j->r.model), "%s", f.model);
		j->first_point = f.first_day;
	}
	return 0;
}

int flow_forecast_many(struct store *cache, const struct store_series_set *set,
		       const struct flow_calendar *cal, const struct fc_opts *o, bool infer_period,
		       int threads, const struct flow_progress *pg, flow_forecast_fn *fn, void *ctx,
		       FILE *out, struct flow_forecast_stats *stats, struct fl_err *err)
{
	const int H = o->horizon;
	const size_t chunk = set->n < CHUNK ? (set->n ? set->n : 1) : CHUNK;
	struct job *jobs = calloc(chunk, sizeof(*jobs));
	double *pts = malloc(sizeof(double) * 3 * (size_t)H * chunk);
	struct store_forecast *put = calloc(chunk, sizeof(*put));
	struct forecast_sink sink = {.out = out, .fn = fn, .ctx = ctx};
	struct flow_calendar own = {0};
	char spec[96];
	int rc = 0;

	memset(stats, 0, sizeof(*stats));
	if (!jobs || !pts || !put) {
		free(jobs), free(pts), free(put);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	if (!cal && cache) {
		if ((rc = flow_calendar_store(cache, NULL, &own, err))) {
			free(jobs), free(pts), free(put);
			return rc;
		}
		cal = &own;
	}
	struct fc_opts po = *o;
	if (infer_period)
		po.period = 0; /* the spec says "inferred" */
	flow_forecast_spec(&po, spec, sizeof(spec));
	struct pool p = {.jobs = jobs,
			 .o = o,
			 .infer_period = infer_period,
			 .total = set->n,
			 .t0 = now_s(),
			 .pg = pg};
	flow_report(pg, "forecast", 0, set->n);
	for (size_t base = 0; base < set->n && !rc; base += chunk) {
		const size_t n = set->n - base < chunk ? set->n - base : chunk;
		for (size_t i = 0; i < n; i++)
			flow_series_days_release(&jobs[i].days);
		memset(jobs, 0, sizeof(*jobs) * n);
		for (size_t i = 0; i < n; i++) {
			struct job *j = &jobs[i];
			j->s = &set->v[base + i];
			j->pts = pts + 3 * (size_t)H * i;
			if ((rc = flow_series_days(cal, j->s, H, &j->days, err)))
				break;
			if (cache && j->s->node && (rc = from_cache(cache, spec, H, j, err)))
				break;
		}
		if (rc)
			break;
		p.jobs = jobs;
		p.n = n;
		p.total_before = base;
		pool_run(&p, threads);
		if (flow_cancelled(pg)) {
			rc = fl_err_set(err, FL_ECANCELLED, "cancelled");
			break;
		}
		size_t nput = 0;
		for (size_t i = 0; i < n && !rc; i++) {
			struct job *j = &jobs[i];
			if (j->rc) {
				if (err)
					*err = j->err;
				rc = j->rc;
				break;
			}
			stats->series++;
			stats->cached += j->cached;
			stats->by_method[j->r.method]++;
			if (!j->cached && cache && j->s->node) {
				struct store_forecast *f = &put[nput++];
				*f = (struct store_forecast){.node = j->s->node,
							     .sku = j->s->sku,
							     .history = j->hash,
							     .first_day = j->first_point,
							     .horizon = H,
							     .sum_mean = j->r.sum_mean,
							     .sum_lo = j->r.sum_lo,
							     .sum_hi = j->r.sum_hi,
							     .mase = NAN,
							     .points = j->pts};
				snprintf(f->method, sizeof(f->method), "%s",
					 fc_method_name(j->r.method));
				snprintf(f->model, sizeof(f->model), "%s", j->r.model);
			}
			rc = emit(&sink, j, H);
			if (rc)
				fl_err_set(err, rc, "forecast consumer failed");
		}
		if (!rc && nput)
			rc = store_forecast_put(cache, spec, put, nput, err);
	}
	stats->seconds = now_s() - p.t0;
	for (size_t i = 0; i < chunk; i++)
		flow_series_days_release(&jobs[i].days);
	free(jobs);
	free(pts);
	free(put);
	flow_calendar_release(&own);
	return rc;
}

struct batch_count {
	store_forecast_fn *fn;
	void *ctx;
	size_t n;
};

static int count_cached(void *ctx, const struct store_forecast *f)
{
	struct batch_count *b = ctx;
	b->n++;
	return b->fn ? b->fn(b->ctx, f) : 0;
}

/* ---- one (node, SKU): GET /v1/forecasts ---- */

int flow_forecast_one(struct store *st, const char *node, const char *sku, const struct fc_opts *o,
		      json_t **answer, struct fl_err *err)
{
	struct store_series_set set;
	int rc = store_sales_series(st, node, sku, &set, err);
	*answer = NULL;
	if (rc)
		return rc;
	if (set.n != 1) {
		store_series_release(&set);
		return fl_err_set(err, FL_ENOTFOUND, "no sales history for node '%s' and sku '%s'",
				  node, sku);
	}
	const struct store_series *s = &set.v[0];
	const int H = o->horizon;
	double *pts = malloc(sizeof(double) * 6 * (size_t)H), *v = NULL;
	bool owned = false;
	int n = 0, status = 0;
	enum fc_step step;
	struct fc_opts po = *o;
	struct flow_calendar cal = {0};
	struct flow_series_days days = {0};
	char spec[96];
	struct store_forecast f = {.node = node, .sku = sku, .horizon = H, .points = pts};
	struct fc_result r = {.mean = pts, .lo = pts + H, .hi = pts + 2 * H};
	bool found = false;
	flow_forecast_spec(o, spec, sizeof(spec));
	if (!pts) {
		status = fl_err_set(err, FL_ENOMEM, "out of memory");
		goto out;
	}
	if ((status = flow_series_values(s, &v, &owned, &n, &step, err)))
		goto out;
	if ((status = flow_calendar_store(st, node, &cal, err)) ||
	    (status = flow_series_days(&cal, s, H, &days, err)))
		goto out;
	flow_series_days_apply(&days, &po);
	po.first_day = s->first_day;
	const uint64_t hash = flow_series_days_hash(flow_series_hash(v, n, s->first_day), &days);
	if ((status = store_forecast_get(st, spec, &f, &found, err)))
		goto out;
	const bool hit = found && f.history == hash && !isnan(f.mase);
	if (!hit) {
		if ((status = fc_forecast(v, n, &po, &r, err)))
			goto out;
		/* the backtest: hold out the last H days, forecast them the same way, score */
		double mase = NAN;
		if (n > 2 * H) {
			struct fc_result b = {
				.mean = pts + 3 * H, .lo = pts + 4 * H, .hi = pts + 5 * H};
			struct fc_score sc;
			if (!fc_forecast(v, n - H, &po, &b, NULL)) {
				fc_score(v, n - H, v + n - H, b.mean, b.lo, b.hi, H, po.level, &sc);
				mase = sc.mase;
			}
		}
		f = (struct store_forecast){.node = node,
					    .sku = sku,
					    .history = hash,
					    .first_day = s->last_day + 1,
					    .horizon = H,
					    .sum_mean = r.sum_mean,
					    .sum_lo = r.sum_lo,
					    .sum_hi = r.sum_hi,
					    .mase = mase,
					    .points = pts};
		snprintf(f.method, sizeof(f.method), "%s", fc_method_name(r.method));
		snprintf(f.model, sizeof(f.model), "%s", r.model);
		if ((status = store_forecast_put(st, spec, &f, 1, err)))
			goto out;
	}
	json_t *points = json_array();
	char date[11];
	static const char *const kinds[FLOW_DAY_KINDS] = {"closed", "holiday", "payday"};
	for (int h = 0; h < H; h++) {
		fl_date_format(f.first_day + h, date);
		json_t *pt = json_pack("{s:s, s:f, s:f, s:f}", "date", date, "mean", pts[h], "lo",
				       pts[H + h], "hi", pts[2 * H + h]);
		for (int k = 0; k < FLOW_DAY_KINDS; k++) { /* what the calendar says of the day */
			const int32_t day = f.first_day + h;
			if (days.n[k] && bsearch(&day, days.days[k], (size_t)days.n[k],
						 sizeof(int32_t), fc_day_cmp))
				json_object_set_new(pt, kinds[k], json_true());
		}
		json_array_append_new(points, pt);
	}
	/* the days just before the forecast, for a chart of history beside it */
	json_t *actuals = json_array();
	const int m = n < FLOW_FORECAST_ACTUALS ? n : FLOW_FORECAST_ACTUALS;
	for (int i = n - m; i < n; i++) {
		fl_date_format(s->last_day - (n - 1 - i), date);
		json_array_append_new(actuals, json_pack("{s:s, s:f}", "date", date, "qty", v[i]));
	}
	char first[11], last[11];
	fl_date_format(s->first_day, first);
	fl_date_format(s->last_day, last);
	json_t *bt = json_object();
	json_object_set_new(bt, "mase", isnan(f.mase) ? json_null() : json_real(f.mase));
	json_object_set_new(bt, "holdout", json_integer(n > 2 * H ? H : 0));
	*answer = json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:o, s:{s:f, s:f, s:f}, s:o, "
			    "s:{s:s, s:s, s:i}, s:b, s:o}",
			    "node", node, "sku", sku, "method", f.method, "model", f.model, "level",
			    o->level, "horizon", H, "points", points, "total", "mean", f.sum_mean,
			    "lo", f.sum_lo, "hi", f.sum_hi, "backtest", bt, "history", "first",
			    first, "last", last, "days", n, "cached", hit, "actuals", actuals);
	if (!*answer)
		status = fl_err_set(err, FL_ENOMEM, "out of memory");
out:
	if (owned)
		free(v);
	free(pts);
	flow_calendar_release(&cal);
	flow_series_days_release(&days);
	store_series_release(&set);
	return status;
}

/* ---- every series of the store, the cache first ---- */

int flow_forecast_fresh(struct store *st, const struct fc_opts *o, bool *fresh, struct fl_err *err)
{
	char spec[96];
	int64_t gen, done;
	int rc;
	*fresh = false;
	flow_forecast_spec(o, spec, sizeof(spec));
	if ((rc = store_import_generation(st, &gen, err)) ||
	    (rc = store_forecast_batch_get(st, spec, &done, err)))
		return rc;
	*fresh = done == gen;
	return 0;
}

int flow_forecast_all(struct store *st, const struct fc_opts *o, const struct flow_progress *pg,
		      flow_forecast_fn *fn, store_forecast_fn *cached_fn, void *ctx,
		      struct flow_forecast_stats *stats, struct fl_err *err)
{
	char spec[96];
	int64_t gen, done;
	int rc;

	memset(stats, 0, sizeof(*stats));
	flow_forecast_spec(o, spec, sizeof(spec));
	if ((rc = store_import_generation(st, &gen, err)) ||
	    (rc = store_forecast_batch_get(st, spec, &done, err)))
		return rc;
	if (done == gen) {
		/* nothing imported since a complete batch: the cache alone answers */
		const double t0 = now_s();
		struct batch_count bc = {cached_fn, ctx, 0};
		rc = store_forecast_scan(st, spec, count_cached, &bc, err);
		stats->series = stats->cached = bc.n;
		stats->seconds = now_s() - t0;
		return rc;
	}
	struct store_series_set set;
	if ((rc = store_sales_series(st, NULL, NULL, &set, err)))
		return rc;
	rc = flow_forecast_many(st, &set, NULL, o, false, flow_threads_default(), pg, fn, ctx, NULL,
				stats, err);
	store_series_release(&set);
	if (!rc)
		rc = store_forecast_batch_set(st, spec, gen, err);
	return rc;
}
