/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `fulcrum forecast` and `fulcrum backtest`: forecasts and their hold-out scores. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "flow/flow.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* per worker: series/s per core */
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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

static void print_stats(const struct flow_forecast_stats *s, int threads)
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

/*
 * --closed FILE: the days no series could sell, one YYYY-MM-DD per line in the first
 * column (a header line and other columns are ignored); sorted into *days (caller frees).
 */
static int read_closed(const char *path, int32_t **days, int *n, struct fl_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[256];
	size_t cap = 0;
	*days = NULL;
	*n = 0;
	if (!fp)
		return fl_err_set(err, FL_EIO, "%s: cannot open", path);
	for (unsigned long ln = 1; fgets(line, sizeof(line), fp); ln++) {
		line[strcspn(line, ",\r\n")] = '\0';
		int32_t d;
		const bool date = fl_date_parse(line, &d);
		if (!line[0] || (ln == 1 && !date))
			continue; /* a blank line, the header */
		if (!date || *n == 100000 ||
		    fl_grow((void **)days, &cap, (size_t)*n + 1, sizeof(int32_t), 100000)) {
			fclose(fp);
			free(*days);
			*days = NULL;
			return fl_err_set(err, FL_EINVAL, "%s:%lu: %s", path, ln,
					  *n == 100000 ? "more than 100,000 closed days"
						       : "not a date (YYYY-MM-DD)");
		}
		(*days)[(*n)++] = d;
	}
	fclose(fp);
	if (*n)
		qsort(*days, (size_t)*n, sizeof(int32_t), fc_day_cmp);
	return 0;
}

/* --calendar FILE and --closed FILE: the calendar of a CSV of series (empty without). */
static int read_calendar(const char *cpath, const char *closed, struct flow_calendar *cal,
			 struct fl_err *err)
{
	int32_t *days = NULL;
	int n = 0, rc = 0;
	memset(cal, 0, sizeof(*cal));
	if (cpath && (rc = flow_calendar_csv(cpath, cal, err)))
		return rc;
	cal->prefix = true;
	if (closed && !(rc = read_closed(closed, &days, &n, err)))
		rc = flow_calendar_add(cal, days, n, STORE_DAY_CLOSED, err);
	free(days);
	if (rc)
		flow_calendar_release(cal);
	return rc;
}

static const struct cli_doc forecast_doc = {
	"forecast",
	"--input SERIES.csv | --db FILE [--node N] [--sku K]  --horizon H\n"
	"       [--level 0.9] [--method METHOD] [--period M] [--threads N]\n"
	"       [--calendar CAL.csv] [--closed DAYS.csv] [--output OUT.csv] [--quiet]",
	"Forecast demand per series: from a CSV (series_id,date,value) or from a store's\n"
	"sales history (through its forecast cache). Writes series_id,date,mean,lo,hi,method.\n\n"
	"  --horizon H    periods ahead (1 to 366)\n"
	"  --level L      the prediction interval's coverage (0.9)\n"
	"  --method M     auto|naive|snaive|mean|ma|ses|holt|ets|arima|ces|theta|dotm|\n"
	"                 smean|croston|sba|tsb|adida|imapa|comb|ensemble|intermittent (auto)\n"
	"  --period M     the seasonal period (inferred from the dates; 7 for sales)\n"
	"  --threads N    cores to use (all)\n"
	"  --calendar FILE  date[,node][,closed][,holiday][,payday] rows (0 or 1): a\n"
	"                 series' closed days (forecast zero, fitted around) and daily\n"
	"                 regressors, from rows whose node is empty or begins its id\n"
	"  --closed FILE  days nothing sells (one YYYY-MM-DD per line, first column), as\n"
	"                 calendar rows for every series. Both with --input: with --db,\n"
	"                 the store's calendar.csv applies\n"
	"  --output FILE  where the CSV goes (stdout); written whole or not at all\n"
	"  --quiet        no progress or summary on stderr\n"};

int cli_cmd_forecast(int argc, char **argv)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
					     {"db", required_argument, NULL, 'd'},
					     {"node", required_argument, NULL, 'n'},
					     {"sku", required_argument, NULL, 'k'},
					     {"output", required_argument, NULL, 'o'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"horizon", required_argument, NULL, 'H'},
					     {"level", required_argument, NULL, 'L'},
					     {"method", required_argument, NULL, 'M'},
					     {"period", required_argument, NULL, 'P'},
					     {"threads", required_argument, NULL, 'T'},
					     {"closed", required_argument, NULL, 'c'},
					     {"calendar", required_argument, NULL, 'C'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	const char *input = NULL, *db = NULL, *node = NULL, *sku = NULL, *output = "-";
	const char *closed = NULL, *calendar = NULL;
	struct fc_opts o = {.horizon = 0, .level = 0.9, .period = 0, .method = FC_AUTO};
	int threads = flow_threads_default(), c, ix;
	bool quiet = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, &ix)) != -1) {
		switch (c) {
		case 'h': return cli_help(&forecast_doc);
		case 'i': input = optarg; break;
		case 'd': db = optarg; break;
		case 'n': node = optarg; break;
		case 'k': sku = optarg; break;
		case 'o': output = optarg; break;
		case 'q': quiet = true; break;
		case 'c': closed = optarg; break;
		case 'C': calendar = optarg; break;
		case 'H':
		case 'L':
		case 'M':
		case 'P':
		case 'T':
			if (parse_common(opts[ix].name, optarg, &o, &threads))
				return cli_usage(&forecast_doc);
			break;
		default: return cli_usage(&forecast_doc);
		}
	}
	if (optind != argc || !o.horizon || !!input == !!db || (input && (node || sku)) ||
	    ((closed || calendar) && db))
		return cli_usage(&forecast_doc);

	struct fl_err err = {0};
	struct flow_calendar cal;
	if (read_calendar(calendar, closed, &cal, &err))
		return cli_fail(&forecast_doc, &err);
	struct store_series_set set;
	struct store *st = NULL;
	int64_t gen = -1;
	int rc;
	if (input) {
		FILE *fp = open_series(input);
		if (!fp) {
			fl_err_set(&err, FL_EIO, "%s: cannot open", input);
			return cli_fail(&forecast_doc, &err);
		}
		rc = store_series_read_csv(fp, input, &set, &err);
		if (fp != stdin)
			fclose(fp);
	} else {
		rc = cli_store_open(db, false, &st, &err);
		if (!rc)
			rc = store_import_generation(st, &gen, &err);
		if (!rc)
			rc = store_sales_series(st, node, sku, &set, &err);
	}
	if (rc) {
		store_close(st);
		flow_calendar_release(&cal);
		return cli_fail(&forecast_doc, &err);
	}
	if (db && o.period == 0)
		o.period = 7; /* sales history is daily */
	const bool infer = o.period == 0;
	struct cli_out out;
	if (cli_out_open(&out, output, &err)) {
		store_series_release(&set);
		store_close(st);
		flow_calendar_release(&cal);
		return cli_fail(&forecast_doc, &err);
	}
	fprintf(out.fp, "series_id,date,mean,lo,hi,method\n");
	struct flow_forecast_stats stats;
	rc = flow_forecast_many(st, &set, input ? &cal : NULL, &o, infer, threads,
				quiet ? NULL : &cli_progress, NULL, NULL, out.fp, &stats, &err);
	rc = cli_out_close(&out, rc == 0, rc ? NULL : &err) || rc;
	if (!rc && st && !node && !sku) { /* every series: a complete batch at gen */
		char spec[96];
		flow_forecast_spec(&o, spec, sizeof(spec));
		rc = store_forecast_batch_set(st, spec, gen, &err);
	}
	store_series_release(&set);
	store_close(st);
	flow_calendar_release(&cal);
	if (rc)
		return cli_fail(&forecast_doc, &err);
	if (!quiet)
		print_stats(&stats, threads);
	return 0;
}

/* ---- backtest: hold out the last H points of each series, score each method ---- */

#define BT_METHODS_MAX 16

/* One series × method: the scores at 95 %, coverage at 90 %, and MSIS (M4: the 95 %
 * interval score over the in-sample mean absolute seasonal difference). */
struct bt_score {
	struct fc_score s; /* smape NaN: not scored */
	double cov90, msis;
};

struct bt {
	const struct store_series_set *set;
	const struct store_series_set *test; /* --test: the future of each series, by id */
	long *test_of;			     /* set index → test index, or -1 */
	int nm;
	enum fc_method methods[BT_METHODS_MAX];
	struct fc_opts o;
	struct flow_calendar cal; /* --calendar and --closed */
	bool infer_period;
	struct bt_score *scores; /* series × methods */
	double *cpu;		 /* per thread × method: CPU seconds */
	atomic_size_t next, skipped;
};

/* The M4 scale of MSIS: mean |y_t − y_{t−m}| in sample (m = 1 without a season). */
static double seasonal_scale(const double *y, int n, int m)
{
	if (m < 1 || n <= m)
		m = 1;
	double s = 0;
	for (int t = m; t < n; t++)
		s += fabs(y[t] - y[t - m]);
	return n > m ? s / (n - m) : NAN;
}

/* Score method k on series i: fit y[0..n), compare with actual[0..H) at 95 % and 90 %. */
static void bt_one(struct bt *b, int me, size_t i, int k, const double *y, int n,
		   const double *actual, struct fc_opts o, double *buf)
{
	const int H = o.horizon;
	struct bt_score *sc = &b->scores[i * b->nm + k];
	struct fc_result r = {.mean = buf, .lo = buf + H, .hi = buf + 2 * H};
	struct fc_score s90;
	o.method = b->methods[k];
	o.level = 0.95;
	const double t = cpu_s();
	const int rc = fc_forecast(y, n, &o, &r, NULL);
	b->cpu[me * b->nm + k] += cpu_s() - t;
	if (rc)
		return;
	fc_score(y, n, actual, r.mean, r.lo, r.hi, H, 0.95, &sc->s);
	const double scale = seasonal_scale(y, n, o.period);
	sc->msis = scale > 0 ? sc->s.winkler / scale : NAN;
	o.level = 0.90;
	if (!fc_forecast(y, n, &o, &r, NULL)) {
		fc_score(y, n, actual, r.mean, r.lo, r.hi, H, 0.90, &s90);
		sc->cov90 = s90.coverage;
	} else {
		sc->cov90 = NAN;
	}
}

static void bt_worker(void *arg, int me)
{
	struct bt *b = arg;
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
			b->scores[i * b->nm + k].s.smape = NAN;
		/* without --test the last H points are the future; with it, the test file's */
		const long j = b->test ? b->test_of[i] : -1;
		const int held = b->test ? 0 : H;
		if (flow_series_values(&b->set->v[i], &v, &owned, &n, &step, &err) ||
		    n - held < 3 || (b->test && (j < 0 || b->test->v[j].n < H))) {
			atomic_fetch_add(&b->skipped, 1);
			if (owned)
				free(v);
			continue;
		}
		struct fc_opts o = b->o;
		if (b->infer_period)
			o.period = fc_step_period(step);
		o.first_day = b->set->v[i].first_day;
		struct flow_series_days days = {0};
		if (step == FC_STEP_DAY &&
		    flow_series_days(&b->cal, &b->set->v[i], H, &days, &err)) {
			atomic_fetch_add(&b->skipped, 1);
			if (owned)
				free(v);
			continue;
		}
		flow_series_days_apply(&days, &o); /* closed days and regressors are days */
		const double *actual = b->test ? b->test->v[j].values : v + n - H;
		for (int k = 0; k < b->nm; k++)
			bt_one(b, me, i, k, v, n - held, actual, o, buf);
		flow_series_days_release(&days);
		if (owned)
			free(v);
	}
	free(buf);
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

/* --test: the future of each series, and where each of set's series is in it (-1: not). */
static int bt_read_test(const char *path, const struct store_series_set *set,
			struct store_series_set *test, long **test_of, struct fl_err *err)
{
	FILE *fp = open_series(path);
	if (!fp)
		return fl_err_set(err, FL_EIO, "%s: cannot open", path);
	int rc = store_series_read_csv(fp, path, test, err);
	if (fp != stdin)
		fclose(fp);
	if (rc)
		return rc;
	if (!(*test_of = malloc(sizeof(long) * (set->n ? set->n : 1)))) {
		store_series_release(test);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < set->n; i++) {
		(*test_of)[i] = -1;
		for (size_t j = 0; j < test->n && (*test_of)[i] < 0; j++)
			if (!strcmp(set->v[i].id, test->v[j].id))
				(*test_of)[i] = (long)j;
	}
	return 0;
}

/* The table: means over the scored series of each method. */
static void bt_print(const struct bt *b, const double *w, bool weighted, int ran)
{
	printf("%-13s %6s %7s %7s %7s %7s %9s %6s %6s %7s %9s\n", "method", "scored", "MASE",
	       "RMSSE", weighted ? "wRMSSE" : "-", "sMAPE", "bias", "cov90", "cov95", "MSIS",
	       "series/s");
	for (int k = 0; k < b->nm; k++) {
		double mase = 0, rmsse = 0, wr = 0, wsum = 0, sm = 0, bias = 0, c90 = 0, c95 = 0,
		       msis = 0;
		size_t nm = 0, nr = 0, ns = 0, nmsis = 0;
		for (size_t i = 0; i < b->set->n; i++) {
			const struct bt_score *x = &b->scores[i * b->nm + k];
			const struct fc_score *s = &x->s;
			if (isnan(s->smape))
				continue;
			ns++;
			sm += s->smape, bias += s->bias, c95 += s->coverage, c90 += x->cov90;
			if (isfinite(x->msis))
				msis += x->msis, nmsis++;
			if (!isnan(s->mase))
				mase += s->mase, nm++;
			if (!isnan(s->rmsse)) {
				rmsse += s->rmsse, nr++;
				wr += w[i] * s->rmsse, wsum += w[i];
			}
		}
		double cpu = 0;
		for (int t = 0; t < ran; t++)
			cpu += b->cpu[t * b->nm + k];
		char wcol[16] = "-";
		if (weighted)
			snprintf(wcol, sizeof(wcol), "%.3f", wsum > 0 ? wr / wsum : NAN);
		printf("%-13s %6zu %7.3f %7.3f %7s %7.2f %9.3f %6.3f %6.3f %7.3f %9.0f\n",
		       fc_method_name(b->methods[k]), ns, nm ? mase / nm : NAN,
		       nr ? rmsse / nr : NAN, wcol, ns ? sm / ns : NAN, ns ? bias / ns : NAN,
		       ns ? c90 / ns : NAN, ns ? c95 / ns : NAN, nmsis ? msis / nmsis : NAN,
		       cpu > 0 ? (double)(b->set->n - b->skipped) / cpu : NAN);
	}
	printf("(means over the scored series; series/s per core from each method's CPU time, "
	       "one fit at 95 %%)\n");
}

static const struct cli_doc backtest_doc = {
	"backtest",
	"--input SERIES.csv --horizon H [--test FUTURE.csv] [--period M] [--threads N]\n"
	"       [--methods auto,naive,snaive,ses,ets,croston] [--weights WEIGHTS.csv]\n"
	"       [--calendar CAL.csv] [--closed DAYS.csv]",
	"Hold out the last H points of each series (or, with --test, forecast each whole\n"
	"series and compare with its first H points in FUTURE.csv, matched by series_id),\n"
	"forecast them with each method and score them side by side: MASE, RMSSE, sMAPE,\n"
	"bias, the coverage of the 90 % and 95 % intervals, and MSIS (the 95 % interval\n"
	"score over the in-sample mean absolute seasonal difference, the M4 convention).\n"
	"--weights: a series_id,weight CSV for weighted means (the M5 convention).\n"
	"--calendar, --closed: closed days and daily regressors, as for forecast.\n"};

int cli_cmd_backtest(int argc, char **argv)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
					     {"methods", required_argument, NULL, 'm'},
					     {"weights", required_argument, NULL, 'w'},
					     {"test", required_argument, NULL, 't'},
					     {"closed", required_argument, NULL, 'c'},
					     {"calendar", required_argument, NULL, 'C'},
					     {"horizon", required_argument, NULL, 'H'},
					     {"period", required_argument, NULL, 'P'},
					     {"threads", required_argument, NULL, 'T'},
					     CLI_OPT_HELP,
					     {NULL, 0, NULL, 0}};
	const char *input = NULL, *methods = "auto,naive,snaive,ses,ets,croston", *wpath = NULL,
		   *tpath = NULL, *cpath = NULL, *calpath = NULL;
	struct bt b = {.o = {.horizon = 0, .level = 0.95, .period = 0, .method = FC_AUTO}};
	int threads = flow_threads_default(), c, ix;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, &ix)) != -1) {
		switch (c) {
		case 'h': return cli_help(&backtest_doc);
		case 'i': input = optarg; break;
		case 'm': methods = optarg; break;
		case 'w': wpath = optarg; break;
		case 't': tpath = optarg; break;
		case 'c': cpath = optarg; break;
		case 'C': calpath = optarg; break;
		case 'H':
		case 'P':
		case 'T':
			if (parse_common(opts[ix].name, optarg, &b.o, &threads))
				return cli_usage(&backtest_doc);
			break;
		default: return cli_usage(&backtest_doc);
		}
	}
	if (optind != argc || !input || !b.o.horizon)
		return cli_usage(&backtest_doc);
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
		return cli_fail(&backtest_doc, &err);
	double *w = calloc(set.n ? set.n : 1, sizeof(double));
	b.set = &set;
	b.infer_period = b.o.period == 0;
	b.scores = calloc(set.n * b.nm + 1, sizeof(*b.scores));
	b.cpu = calloc((size_t)threads * b.nm + 1, sizeof(double));
	if (!w || !b.scores || !b.cpu || (wpath && read_weights(wpath, &set, w, &err))) {
		if (!err.msg[0])
			fl_err_set(&err, FL_ENOMEM, "out of memory");
		free(w), free(b.scores), free(b.cpu);
		store_series_release(&set);
		return cli_fail(&backtest_doc, &err);
	}
	long *test_of = NULL;
	struct store_series_set test = {0};
	if (tpath && bt_read_test(tpath, &set, &test, &test_of, &err)) {
		free(w), free(b.scores), free(b.cpu);
		store_series_release(&set);
		return cli_fail(&backtest_doc, &err);
	}
	if (tpath) {
		b.test = &test;
		b.test_of = test_of;
	}
	if (read_calendar(calpath, cpath, &b.cal, &err)) {
		free(w), free(b.scores), free(b.cpu), free(test_of);
		store_series_release(&set);
		if (tpath)
			store_series_release(&test);
		return cli_fail(&backtest_doc, &err);
	}
	const double t0 = now_s();
	const int ran = fl_run_workers(threads, bt_worker, &b);
	const double wall = now_s() - t0;
	flow_calendar_release(&b.cal);

	printf("backtest: %zu series (%zu skipped: shorter than the horizon%s), horizon %d, "
	       "%.2f s on %d threads\n",
	       set.n, (size_t)b.skipped, tpath ? ", or not in the test file" : " + 3", b.o.horizon,
	       wall, ran);
	bt_print(&b, w, wpath != NULL, ran);
	free(w), free(b.scores), free(b.cpu), free(test_of);
	store_series_release(&set);
	if (tpath)
		store_series_release(&test);
	return 0;
}
