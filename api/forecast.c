/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The forecast flows: many series forecast on every core (from a CSV or the store's
 * sales history, through the cache), one (node, SKU) for GET /v1/forecasts, and the
 * hold-out backtest that scores methods side by side. The CLI doors are here too.
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

#include "api.h"
#include "forecast/forecast.h"

#define CHUNK 4096 /* series forecast (and held in memory) at once */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int api_threads_default(void)
{
	const long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/*
 * A series as regular values: a CSV series as it is (its step inferred from its dates),
 * a sparse sales series spread over every day from its first sale to the last day of the
 * history. *dense is malloc'd when the series is sparse, else it points into s.
 */
int api_series_values(const struct store_series *s, double **dense, bool *owned, int *n,
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
uint64_t api_series_hash(const double *v, int n, int32_t first_day)
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
	size_t total_before, total; /* for the progress line */
	const char *label;
	pthread_mutex_t lock;
	double t0, last_print;
	bool progress;
};

static void run_job(struct pool *p, struct job *j)
{
	double *v;
	bool owned;
	int n;

	j->rc = api_series_values(j->s, &v, &owned, &n, &j->step, &j->err);
	if (j->rc)
		return;
	struct fc_opts o = *p->o;
	if (p->infer_period)
		o.period = fc_step_period(j->step);
	j->r.mean = j->pts;
	j->r.lo = j->pts + o.horizon;
	j->r.hi = j->pts + 2 * o.horizon;
	if (!j->hash) /* the cache check computed it already */
		j->hash = api_series_hash(v, n, j->s->first_day);
	j->rc = fc_forecast(v, n, &o, &j->r, &j->err);
	if (j->rc)
		fl_err_prefix(&j->err, "series '%s'", j->s->id);
	j->first_point = fc_step_add(j->s->last_day, j->step, 1);
	if (owned)
		free(v);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	size_t i;
	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		if (!p->jobs[i].done)
			run_job(p, &p->jobs[i]);
		const size_t fin = atomic_fetch_add(&p->finished, 1) + 1;
		if (!p->progress)
			continue;
		const double t = now_s();
		pthread_mutex_lock(&p->lock);
		if (t - p->last_print >= 1.0) {
			p->last_print = t;
			const size_t k = p->total_before + fin;
			fprintf(stderr, "%s: %zu/%zu series (%.0f%%), %.1f s\n", p->label, k,
				p->total, 100.0 * k / (p->total ? p->total : 1), t - p->t0);
		}
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static void pool_run(struct pool *p, int threads)
{
	pthread_t tid[64];
	int started = 0;
	atomic_store(&p->next, 0);
	atomic_store(&p->finished, 0);
	for (int t = 1; t < threads && t < 64; t++)
		if (pthread_create(&tid[started], NULL, worker, p) == 0)
			started++;
	worker(p);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}

/* A forecast spec names what a cached forecast answers: method, horizon, level. */
void api_forecast_spec(const struct fc_opts *o, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/h%d/l%.4f/m%d", fc_method_name(o->method), o->horizon, o->level,
		 o->period);
}

struct forecast_sink {
	FILE *out; /* CSV rows, or NULL */
	api_forecast_fn *fn;
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
		struct api_forecast f = {.series = j->s,
					 .r = &j->r,
					 .first_point = j->first_point,
					 .step = j->step,
					 .cached = j->cached};
		return k->fn(k->ctx, &f);
	}
	return 0;
}

int api_forecast_many(struct store *cache, const struct store_series_set *set,
		      const struct fc_opts *o, bool infer_period, int threads, bool progress,
		      api_forecast_fn *fn, void *ctx, FILE *out, struct api_forecast_stats *stats,
		      struct fl_err *err)
{
	const int H = o->horizon;
	const size_t chunk = set->n < CHUNK ? (set->n ? set->n : 1) : CHUNK;
	struct job *jobs = calloc(chunk, sizeof(*jobs));
	double *pts = malloc(sizeof(double) * 3 * (size_t)H * chunk);
	struct store_forecast *put = calloc(chunk, sizeof(*put));
	struct forecast_sink sink = {.out = out, .fn = fn, .ctx = ctx};
	char spec[96];
	int rc = 0;

	memset(stats, 0, sizeof(*stats));
	if (!jobs || !pts || !put) {
		free(jobs), free(pts), free(put);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	struct fc_opts po = *o;
	if (infer_period)
		po.period = 0; /* the spec says "inferred" */
	api_forecast_spec(&po, spec, sizeof(spec));
	struct pool p = {.jobs = jobs,
			 .o = o,
			 .infer_period = infer_period,
			 .total = set->n,
			 .label = "forecast",
			 .t0 = now_s(),
			 .progress = progress};
	pthread_mutex_init(&p.lock, NULL);
	p.last_print = p.t0;
	for (size_t base = 0; base < set->n && !rc; base += chunk) {
		const size_t n = set->n - base < chunk ? set->n - base : chunk;
		memset(jobs, 0, sizeof(*jobs) * n);
		for (size_t i = 0; i < n; i++) {
			struct job *j = &jobs[i];
			j->s = &set->v[base + i];
			j->pts = pts + 3 * (size_t)H * i;
			if (!cache || !j->s->node)
				continue;
			/* a cached forecast of the same history is used as it is */
			double *v;
			bool owned;
			int nv;
			if ((rc = api_series_values(j->s, &v, &owned, &nv, &j->step, err)))
				break;
			j->hash = api_series_hash(v, nv, j->s->first_day);
			if (owned)
				free(v);
			struct store_forecast f = {.node = j->s->node,
						   .sku = j->s->sku,
						   .horizon = H,
						   .points = j->pts};
			bool found;
			if ((rc = store_forecast_get(cache, spec, &f, &found, err)))
				break;
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
		}
		if (rc)
			break;
		p.jobs = jobs;
		p.n = n;
		p.total_before = base;
		pool_run(&p, threads);
		size_t nput = 0;
		for (size_t i = 0; i < n && !rc; i++) {
			struct job *j = &jobs[i];
			if (j->rc) {
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
	pthread_mutex_destroy(&p.lock);
	free(jobs);
	free(pts);
	free(put);
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

int api_forecast_one(struct store *st, const char *node, const char *sku, const struct fc_opts *o,
		     json_t **answer, char *detail, size_t cap)
{
	struct store_series_set set;
	struct fl_err err = {0};
	int rc = store_sales_series(st, node, sku, &set, &err);
	if (rc) {
		snprintf(detail, cap, "%s", err.msg);
		return rc == FL_ENOTFOUND ? 404 : 503;
	}
	if (set.n != 1) {
		store_series_release(&set);
		snprintf(detail, cap, "no sales history for node '%s' and sku '%s'", node, sku);
		return 404;
	}
	const struct store_series *s = &set.v[0];
	const int H = o->horizon;
	double *pts = malloc(sizeof(double) * 6 * (size_t)H), *v = NULL;
	bool owned = false;
	int n = 0, status = 0;
	enum fc_step step;
	struct fc_opts po = *o;
	char spec[96];
	struct store_forecast f = {.node = node, .sku = sku, .horizon = H, .points = pts};
	struct fc_result r = {.mean = pts, .lo = pts + H, .hi = pts + 2 * H};
	bool found = false;
	api_forecast_spec(o, spec, sizeof(spec));
	if (!pts || api_series_values(s, &v, &owned, &n, &step, &err)) {
		status = pts ? 422 : 500;
		snprintf(detail, cap, "%s", pts ? err.msg : "out of memory");
		goto out;
	}
	const uint64_t hash = api_series_hash(v, n, s->first_day);
	if ((rc = store_forecast_get(st, spec, &f, &found, &err))) {
		status = 503;
		snprintf(detail, cap, "%s", err.msg);
		goto out;
	}
	const bool hit = found && f.history == hash && !isnan(f.mase);
	if (!hit) {
		if (fc_forecast(v, n, &po, &r, &err)) {
			status = 422;
			snprintf(detail, cap, "%s", err.msg);
			goto out;
		}
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
		if (store_forecast_put(st, spec, &f, 1, &err)) {
			status = 503;
			snprintf(detail, cap, "%s", err.msg);
			goto out;
		}
	}
	json_t *points = json_array();
	char date[11];
	for (int h = 0; h < H; h++) {
		fl_date_format(f.first_day + h, date);
		json_array_append_new(points,
				      json_pack("{s:s, s:f, s:f, s:f}", "date", date, "mean",
						pts[h], "lo", pts[H + h], "hi", pts[2 * H + h]));
	}
	char first[11], last[11];
	fl_date_format(s->first_day, first);
	fl_date_format(s->last_day, last);
	json_t *bt = json_object();
	json_object_set_new(bt, "mase", isnan(f.mase) ? json_null() : json_real(f.mase));
	json_object_set_new(bt, "holdout", json_integer(n > 2 * H ? H : 0));
	*answer = json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:o, s:{s:f, s:f, s:f}, s:o, "
			    "s:{s:s, s:s, s:i}, s:b}",
			    "node", node, "sku", sku, "method", f.method, "model", f.model, "level",
			    o->level, "horizon", H, "points", points, "total", "mean", f.sum_mean,
			    "lo", f.sum_lo, "hi", f.sum_hi, "backtest", bt, "history", "first",
			    first, "last", last, "days", n, "cached", hit);
	if (!*answer) {
		status = 500;
		snprintf(detail, cap, "out of memory");
	}
out:
	if (owned)
		free(v);
	free(pts);
	store_series_release(&set);
	return status;
}

/* ---- the CLI ---- */

static int parse_common(const char *name, const char *v, struct fc_opts *o, int *threads)
{
	char *end;
	if (!strcmp(name, "horizon")) {
		o->horizon = (int)strtol(v, &end, 10);
		return *end || o->horizon < 1 || o->horizon > FC_HORIZON_MAX ? -1 : 0;
	}
	if (!strcmp(name, "level")) {
		o->level = strtod(v, &end);
		return *end || !(o->level > 0 && o->level < 1) ? -1 : 0;
	}
	if (!strcmp(name, "period")) {
		o->period = (int)strtol(v, &end, 10);
		return *end || o->period < 1 || o->period > FC_SEASON_MAX ? -1 : 0;
	}
	if (!strcmp(name, "threads")) {
		*threads = (int)strtol(v, &end, 10);
		return *end || *threads < 1 || *threads > 64 ? -1 : 0;
	}
	if (!strcmp(name, "method")) {
		const int m = fc_method_parse(v);
		o->method = (enum fc_method)m;
		return m < 0 ? -1 : 0;
	}
	return -1;
}

static FILE *open_series(const char *path)
{
	return strcmp(path, "-") ? fopen(path, "rb") : stdin;
}

static void print_stats(const struct api_forecast_stats *s, int threads)
{
	fprintf(stderr,
		"forecast: %zu series in %.2f s (%.0f series/s on %d threads), %zu from "
		"the cache; methods:",
		s->series, s->seconds, s->series / (s->seconds > 0 ? s->seconds : 1e-9), threads,
		s->cached);
	for (int m = 0; m < FC_METHOD_COUNT; m++)
		if (s->by_method[m])
			fprintf(stderr, " %s %zu", fc_method_name(m), s->by_method[m]);
	fputc('\n', stderr);
}

int api_cmd_forecast(int argc, char **argv)
{
	static const char *const usage =
		"--input SERIES.csv | --db FILE [--node N] [--sku K]  --horizon H\n"
		"       [--level 0.9] [--method "
		"auto|naive|snaive|mean|ma|ses|holt|ets|theta|croston|"
		"sba|tsb|adida|imapa|comb|intermittent]\n"
		"       [--period M] [--threads N] [--output OUT.csv] [--quiet]";
	const char *input = NULL, *db = NULL, *node = NULL, *sku = NULL, *output = "-";
	struct fc_opts o = {.horizon = 0, .level = 0.9, .period = 0, .method = FC_AUTO};
	int threads = api_threads_default();
	bool quiet = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quiet")) {
			quiet = true;
			continue;
		}
		if (strncmp(a, "--", 2) || !v)
			return api_usage("forecast", usage);
		i++;
		if (!strcmp(a, "--input"))
			input = v;
		else if (!strcmp(a, "--db"))
			db = v;
		else if (!strcmp(a, "--node"))
			node = v;
		else if (!strcmp(a, "--sku"))
			sku = v;
		else if (!strcmp(a, "--output"))
			output = v;
		else if (parse_common(a + 2, v, &o, &threads))
			return api_usage("forecast", usage);
	}
	if (!o.horizon || !!input == !!db || (input && (node || sku)))
		return api_usage("forecast", usage);

	struct fl_err err = {0};
	struct store_series_set set;
	struct store *st = NULL;
	int64_t gen = -1;
	int rc;
	if (input) {
		FILE *fp = open_series(input);
		if (!fp) {
			fprintf(stderr, "fulcrum: %s: cannot open\n", input);
			return 1;
		}
		rc = store_series_read_csv(fp, input, &set, &err);
		if (fp != stdin)
			fclose(fp);
	} else {
		rc = store_open(db, &st, &err);
		if (!rc)
			rc = store_import_generation(st, &gen, &err);
		if (!rc)
			rc = store_sales_series(st, node, sku, &set, &err);
	}
	if (rc) {
		store_close(st);
		return api_fail(&err);
	}
	if (db && o.period == 0)
		o.period = 7; /* sales history is daily */
	const bool infer = o.period == 0;
	struct api_out out;
	if (api_out_open(&out, output, &err)) {
		store_series_release(&set);
		store_close(st);
		return api_fail(&err);
	}
	fprintf(out.fp, "series_id,date,mean,lo,hi,method\n");
	struct api_forecast_stats stats;
	rc = api_forecast_many(st, &set, &o, infer, threads, !quiet, NULL, NULL, out.fp, &stats,
			       &err);
	rc = api_out_close(&out, rc == 0, rc ? NULL : &err) || rc;
	if (!rc && st && !node && !sku) { /* every series: a complete batch at gen */
		char spec[96];
		api_forecast_spec(&o, spec, sizeof(spec));
		rc = store_forecast_batch_set(st, spec, gen, &err);
	}
	store_series_release(&set);
	store_close(st);
	if (rc)
		return api_fail(&err);
	if (!quiet)
		print_stats(&stats, threads);
	return 0;
}

/* ---- backtest: hold out the last H points of each series, score each method ---- */

#define BT_METHODS_MAX 16

struct bt {
	const struct store_series_set *set;
	int nm;
	enum fc_method methods[BT_METHODS_MAX];
	struct fc_opts o;
	bool infer_period;
	struct fc_score *scores; /* series × methods; mase NaN and smape NaN: not scored */
	double *cpu;		 /* per thread × method: CPU seconds */
	atomic_size_t next, skipped;
	atomic_int thread_ix;
};

static void *bt_worker(void *arg)
{
	struct bt *b = arg;
	const int me = atomic_fetch_add(&b->thread_ix, 1);
	const int H = b->o.horizon;
	double *buf = malloc(sizeof(double) * 3 * (size_t)H);
	size_t i;

	while (buf && (i = atomic_fetch_add(&b->next, 1)) < b->set->n) {
		double *v;
		bool owned;
		int n;
		enum fc_step step;
		struct fl_err err;
		for (int k = 0; k < b->nm; k++)
			b->scores[i * b->nm + k].smape = NAN;
		if (api_series_values(&b->set->v[i], &v, &owned, &n, &step, &err) || n - H < 3) {
			atomic_fetch_add(&b->skipped, 1);
			if (owned)
				free(v);
			continue;
		}
		struct fc_opts o = b->o;
		if (b->infer_period)
			o.period = fc_step_period(step);
		for (int k = 0; k < b->nm; k++) {
			struct fc_result r = {.mean = buf, .lo = buf + H, .hi = buf + 2 * H};
			o.method = b->methods[k];
			const double t = cpu_s();
			const int rc = fc_forecast(v, n - H, &o, &r, NULL);
			b->cpu[me * b->nm + k] += cpu_s() - t;
			if (!rc)
				fc_score(v, n - H, v + n - H, r.mean, r.lo, r.hi, H, o.level,
					 &b->scores[i * b->nm + k]);
		}
		if (owned)
			free(v);
	}
	free(buf);
	return NULL;
}

/* series_id,weight lines; weights[i] for set->v[i] (0 when absent). */
static int read_weights(const char *path, const struct store_series_set *set, double *w,
			struct fl_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[512];
	if (!fp)
		return fl_err_set(err, FL_EIO, "%s: cannot open", path);
	for (unsigned long ln = 1; fgets(line, sizeof(line), fp); ln++) {
		char *comma = strchr(line, ',');
		if (!comma)
			continue;
		*comma = '\0';
		char *end;
		const double x = strtod(comma + 1, &end);
		if (end == comma + 1) {
			if (ln == 1)
				continue; /* the header */
			fclose(fp);
			return fl_err_set(err, FL_EINVAL, "%s:%lu: weight: not a number", path, ln);
		}
		for (size_t i = 0; i < set->n; i++)
			if (!strcmp(set->v[i].id, line))
				w[i] = x;
	}
	fclose(fp);
	return 0;
}

int api_cmd_backtest(int argc, char **argv)
{
	static const char *const usage =
		"--input SERIES.csv --horizon H [--level 0.95] [--period M] [--threads N]\n"
		"       [--methods auto,naive,snaive,ses,ets,croston] [--weights series_id,weight "
		"CSV]";
	const char *input = NULL, *methods = "auto,naive,snaive,ses,ets,croston", *wpath = NULL;
	struct bt b = {.o = {.horizon = 0, .level = 0.95, .period = 0, .method = FC_AUTO}};
	int threads = api_threads_default();

	for (int i = 1; i + 1 < argc + 1; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strncmp(a, "--", 2) || !v)
			return api_usage("backtest", usage);
		i++;
		if (!strcmp(a, "--input"))
			input = v;
		else if (!strcmp(a, "--methods"))
			methods = v;
		else if (!strcmp(a, "--weights"))
			wpath = v;
		else if (!strcmp(a, "--method") || parse_common(a + 2, v, &b.o, &threads))
			return api_usage("backtest", usage);
	}
	if (!input || !b.o.horizon)
		return api_usage("backtest", usage);
	char list[256];
	snprintf(list, sizeof(list), "%s", methods);
	for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const int m = fc_method_parse(tok);
		if (m < 0 || b.nm == BT_METHODS_MAX) {
			fprintf(stderr, "fulcrum: backtest: --methods: '%s' %s\n", tok,
				m < 0 ? "is not a method" : "is one too many");
			return 2;
		}
		b.methods[b.nm++] = (enum fc_method)m;
	}
	struct fl_err err = {0};
	struct store_series_set set;
	FILE *fp = open_series(input);
	if (!fp) {
		fprintf(stderr, "fulcrum: %s: cannot open\n", input);
		return 1;
	}
	int rc = store_series_read_csv(fp, input, &set, &err);
	if (fp != stdin)
		fclose(fp);
	if (rc)
		return api_fail(&err);
	double *w = calloc(set.n ? set.n : 1, sizeof(double));
	b.set = &set;
	b.infer_period = b.o.period == 0;
	b.scores = calloc(set.n * b.nm + 1, sizeof(*b.scores));
	b.cpu = calloc((size_t)threads * b.nm, sizeof(double));
	if (!w || !b.scores || !b.cpu || (wpath && read_weights(wpath, &set, w, &err))) {
		if (!err.msg[0])
			fl_err_set(&err, FL_ENOMEM, "out of memory");
		free(w), free(b.scores), free(b.cpu);
		store_series_release(&set);
		return api_fail(&err);
	}
	const double t0 = now_s();
	pthread_t tid[64];
	int started = 0;
	for (int t = 1; t < threads; t++)
		if (pthread_create(&tid[started], NULL, bt_worker, &b) == 0)
			started++;
	bt_worker(&b);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	const double wall = now_s() - t0;

	printf("backtest: %zu series (%zu skipped: shorter than the horizon + 3), horizon %d, "
	       "level %.2f, %.2f s on %d threads\n",
	       set.n, (size_t)b.skipped, b.o.horizon, b.o.level, wall, started + 1);
	printf("%-13s %7s %7s %7s %8s %8s %8s %9s %8s %10s\n", "method", "scored", "MASE", "RMSSE",
	       wpath ? "wRMSSE" : "-", "sMAPE", "bias", "coverage", "winkler", "series/s");
	for (int k = 0; k < b.nm; k++) {
		double mase = 0, rmsse = 0, wr = 0, wsum = 0, sm = 0, bias = 0, cov = 0, wk = 0;
		size_t nm = 0, nr = 0, ns = 0, cpu_n = 0;
		for (size_t i = 0; i < set.n; i++) {
			const struct fc_score *s = &b.scores[i * b.nm + k];
			if (isnan(s->smape))
				continue;
			ns++;
			sm += s->smape, bias += s->bias, cov += s->coverage, wk += s->winkler;
			if (!isnan(s->mase))
				mase += s->mase, nm++;
			if (!isnan(s->rmsse)) {
				rmsse += s->rmsse, nr++;
				wr += w[i] * s->rmsse, wsum += w[i];
			}
		}
		double cpu = 0;
		for (int t = 0; t <= started; t++)
			cpu += b.cpu[t * b.nm + k];
		cpu_n = set.n - b.skipped;
		char wcol[16] = "-";
		if (wpath)
			snprintf(wcol, sizeof(wcol), "%.3f", wsum > 0 ? wr / wsum : NAN);
		printf("%-13s %7zu %7.3f %7.3f %7s %8.2f %8.3f %8.3f %9.2f %10.0f\n",
		       fc_method_name(b.methods[k]), ns, nm ? mase / nm : NAN,
		       nr ? rmsse / nr : NAN, wcol, ns ? sm / ns : NAN, ns ? bias / ns : NAN,
		       ns ? cov / ns : NAN, ns ? wk / ns : NAN, cpu > 0 ? cpu_n / cpu : NAN);
	}
	printf("(means over the scored series; series/s per core from each method's CPU time)\n");
	free(w), free(b.scores), free(b.cpu);
	store_series_release(&set);
	return 0;
}

/* ---- every series of the store, the cache first ---- */

int api_forecast_all(struct store *st, const struct fc_opts *o, bool progress, api_forecast_fn *fn,
		     store_forecast_fn *cached_fn, void *ctx, struct api_forecast_stats *stats,
		     struct fl_err *err)
{
	char spec[96];
	int64_t gen, done;
	int rc;

	memset(stats, 0, sizeof(*stats));
	api_forecast_spec(o, spec, sizeof(spec));
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
	rc = api_forecast_many(st, &set, o, false, api_threads_default(), progress, fn, ctx, NULL,
			       stats, err);
	store_series_release(&set);
	if (!rc)
		rc = store_forecast_batch_set(st, spec, gen, err);
	return rc;
}
