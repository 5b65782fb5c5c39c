/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * jobs.c — long work off the request path (ARCHITECTURE.md "Threads and state"). One
 * worker thread with its own store connection runs, in turn:
 *  - the forecast batch of the default scenario (horizon 14, level 0.9), whenever the
 *    cache is not complete for the latest import: at start-up, after an import over HTTP
 *    (http_jobs_poke) and, for imports from the CLI, on a look every JOBS_LOOK_S seconds;
 *  - queued scenario jobs, oldest first, at most job_queue waiting.
 * One worker, because each job already spreads over every core (the forecast pool, the
 * solver's SKUs). Status is the store's (scenarios.status); progress is kept here, in
 * memory, under one mutex, and reported by the flows through struct flow_progress.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow.h"
#include "forecast/forecast.h"
#include "http/http.h"

#define JOBS_LOOK_S 2	    /* seconds between looks at the forecast cache */
#define JOBS_QUEUE_MAX 1000 /* the ceiling of job_queue */

struct progress {
	char phase[16];
	size_t done, total;
};

struct job {
	char id[32];
	struct progress p;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, stop, poked, warm;
	char db[1024];
	int queue_max;
	struct job *queue; /* waiting, oldest first */
	int nqueue;
	struct job cur; /* running when cur.id[0] */
	atomic_bool cancel_cur, shutdown;
	/* the forecast batch */
	struct progress fc;
	bool fc_running;
	int64_t fc_started, fc_finished;
	double fc_seconds;
	size_t fc_series;
	char fc_error[256];
	unsigned long fc_runs;
	int64_t fc_failed_gen; /* the import generation the last batch failed on, or -1 */
	atomic_bool cancel_fc;
} J = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .fc_failed_gen = -1};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* flow_progress's report: into the progress it points at, under the lock. */
static void report(void *ctx, const char *phase, size_t done, size_t total)
{
	struct progress *p = ctx;
	pthread_mutex_lock(&J.lock);
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	p->done = done;
	p->total = total;
	pthread_mutex_unlock(&J.lock);
}

/* The forecast batch, if the cache is not complete for the latest import. */
static void warm_forecasts(struct store *st)
{
	struct fc_opts o;
	struct fl_err err = {0};
	struct flow_forecast_stats stats;
	bool fresh = true;
	int64_t gen = -1;
	flow_scenario_forecast_opts(FLOW_SCENARIO_HORIZON_DEFAULT, 0, &o);
	if (flow_forecast_fresh(st, &o, &fresh, &err) || fresh ||
	    store_import_generation(st, &gen, &err) || gen == J.fc_failed_gen)
		return; /* a batch that failed is tried again after the next import, not in a loop */
	pthread_mutex_lock(&J.lock);
	J.fc_running = true;
	J.fc_started = (int64_t)time(NULL);
	J.fc = (struct progress){"forecast", 0, 0};
	J.fc_error[0] = '\0';
	pthread_mutex_unlock(&J.lock);
	const struct flow_progress pg = {report, &J.fc, &J.cancel_fc, NULL};
	const double t0 = mono_s();
	const int rc = flow_forecast_all(st, &o, &pg, NULL, NULL, NULL, &stats, &err);
	pthread_mutex_lock(&J.lock);
	J.fc_running = false;
	J.fc_finished = (int64_t)time(NULL);
	J.fc_seconds = mono_s() - t0;
	J.fc_series = stats.series;
	J.fc_runs++;
	J.fc_failed_gen = rc && rc != FL_ECANCELLED ? gen : -1;
	if (rc)
		snprintf(J.fc_error, sizeof(J.fc_error), "%s", err.msg);
	pthread_mutex_unlock(&J.lock);
	if (rc && rc != FL_ECANCELLED)
		fprintf(stderr, "fulcrum: forecast batch: %s\n", err.msg);
	else if (!rc)
		fprintf(stderr, "fulcrum: forecast batch: %zu series in %.1f s\n", stats.series,
			J.fc_seconds);
}

static void run_scenario(struct store *st)
{
	struct fl_err err = {0};
	const struct flow_progress pg = {report, &J.cur.p, &J.cancel_cur, &J.shutdown};
	const int rc = flow_scenario_run(st, J.cur.id, &pg, &err);
	if (rc && rc != FL_ECANCELLED && rc != FL_ECONFLICT)
		fprintf(stderr, "fulcrum: scenario %s: %s\n", J.cur.id, err.msg);
}

static void *worker(void *arg)
{
	(void)arg;
	struct store *st = NULL;
	struct fl_err err = {0};
	if (store_open(J.db, &st, &err)) {
		fprintf(stderr, "fulcrum: job worker: %s\n", err.msg);
		return NULL;
	}
	pthread_mutex_lock(&J.lock);
	while (!J.stop) {
		if (J.warm) {
			pthread_mutex_unlock(&J.lock);
			warm_forecasts(st);
			pthread_mutex_lock(&J.lock);
		}
		if (J.stop)
			break;
		if (J.nqueue) {
			J.cur = J.queue[0];
			J.cur.p = (struct progress){"forecast", 0, 1};
			memmove(J.queue, J.queue + 1, sizeof(*J.queue) * (size_t)--J.nqueue);
			atomic_store(&J.cancel_cur, false);
			pthread_mutex_unlock(&J.lock);
			run_scenario(st);
			pthread_mutex_lock(&J.lock);
			J.cur.id[0] = '\0';
			continue;
		}
		if (!J.poked) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += JOBS_LOOK_S;
			pthread_cond_timedwait(&J.wake, &J.lock, &until);
		}
		J.poked = false;
	}
	/* what waits stays queued in the store: the next start-up fails it, with the reason */
	J.nqueue = 0;
	pthread_mutex_unlock(&J.lock);
	store_close(st);
	return NULL;
}

int http_jobs_start(const struct http_config *cfg, struct fl_err *err)
{
	struct store *st;
	int n = 0;
	int rc = store_open(cfg->db, &st, err);
	if (rc)
		return rc;
	rc = flow_scenarios_orphaned(st, &n, err);
	store_close(st);
	if (rc)
		return rc;
	if (n)
		fprintf(stderr,
			"fulcrum: %d scenario job%s did not finish before the last stop: marked "
			"failed\n",
			n, n == 1 ? "" : "s");
	pthread_mutex_lock(&J.lock); /* before any request thread can look */
	snprintf(J.db, sizeof(J.db), "%s", cfg->db);
	J.queue_max = cfg->job_queue < 1		? 1
		      : cfg->job_queue > JOBS_QUEUE_MAX ? JOBS_QUEUE_MAX
							: cfg->job_queue;
	J.queue = calloc((size_t)J.queue_max, sizeof(*J.queue));
	J.warm = cfg->forecast_warm;
	J.fc_failed_gen = -1;
	J.stop = J.poked = false;
	J.nqueue = 0;
	J.cur.id[0] = '\0';
	atomic_store(&J.cancel_fc, false);
	atomic_store(&J.shutdown, false);
	if (!J.queue) {
		pthread_mutex_unlock(&J.lock);
		return fl_err_set(err, FL_ENOMEM, "out of memory");
	}
	if (pthread_create(&J.thread, NULL, worker, NULL) != 0) {
		free(J.queue);
		J.queue = NULL;
		pthread_mutex_unlock(&J.lock);
		return fl_err_set(err, FL_EINTERNAL, "cannot start the job worker");
	}
	J.started = true;
	pthread_mutex_unlock(&J.lock);
	return 0;
}

void http_jobs_stop(void)
{
	pthread_mutex_lock(&J.lock);
	if (!J.started) {
		pthread_mutex_unlock(&J.lock);
		return;
	}
	J.stop = true;
	atomic_store(&J.shutdown, true);
	atomic_store(&J.cancel_cur, true);
	atomic_store(&J.cancel_fc, true);
	pthread_cond_broadcast(&J.wake);
	pthread_mutex_unlock(&J.lock);
	pthread_join(J.thread, NULL);
	pthread_mutex_lock(&J.lock);
	free(J.queue);
	J.queue = NULL;
	J.started = false;
	pthread_mutex_unlock(&J.lock);
}

void http_jobs_poke(void)
{
	pthread_mutex_lock(&J.lock);
	J.poked = true;
	pthread_cond_broadcast(&J.wake);
	pthread_mutex_unlock(&J.lock);
}

int http_jobs_submit(struct store *st, const json_t *body, char id[32], struct fl_err *err)
{
	char sid[FLOW_SCENARIO_ID_MAX];
	pthread_mutex_lock(&J.lock);
	const bool full = !J.started || J.nqueue >= J.queue_max;
	const int max = J.queue_max;
	pthread_mutex_unlock(&J.lock);
	if (full)
		return fl_err_set(
			err, FL_EBUSY,
			"%d scenario jobs are waiting already (job_queue): try again later", max);
	int rc = flow_scenario_queue(st, body, sid, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&J.lock);
	if (J.nqueue >= J.queue_max || J.stop) {
		/* filled up meanwhile: the row says so rather than waiting for a worker */
		pthread_mutex_unlock(&J.lock);
		store_scenario_advance(st, sid, "failed", "the job queue was full", NULL);
		return fl_err_set(err, FL_EBUSY, "the job queue is full: try again later");
	}
	struct job *j = &J.queue[J.nqueue++];
	snprintf(j->id, sizeof(j->id), "%s", sid);
	j->p = (struct progress){"queued", 0, 1};
	pthread_cond_broadcast(&J.wake);
	pthread_mutex_unlock(&J.lock);
	snprintf(id, 32, "%s", sid);
	return 0;
}

static json_t *progress_json(const struct progress *p)
{
	const double f = p->total ? (double)p->done / (double)p->total : 0;
	json_t *o = json_pack("{s:s, s:f}", "phase", p->phase, "fraction", f);
	if (o && !strcmp(p->phase, "forecast") && p->total > 1) {
		json_object_set_new(o, "series_done", json_integer((json_int_t)p->done));
		json_object_set_new(o, "series_total", json_integer((json_int_t)p->total));
	}
	return o;
}

json_t *http_jobs_progress(const char *id)
{
	json_t *o = NULL;
	pthread_mutex_lock(&J.lock);
	if (J.cur.id[0] && !strcmp(J.cur.id, id)) {
		o = progress_json(&J.cur.p);
	} else {
		for (int i = 0; i < J.nqueue && !o; i++)
			if (!strcmp(J.queue[i].id, id)) {
				o = progress_json(&J.queue[i].p);
				json_object_set_new(o, "position", json_integer(i + 1));
				if (J.fc_running) /* it waits for the forecast batch */
					json_object_set_new(o, "waiting_for", progress_json(&J.fc));
			}
	}
	pthread_mutex_unlock(&J.lock);
	return o;
}

int http_jobs_cancel(struct store *st, const char *id, struct fl_err *err)
{
	pthread_mutex_lock(&J.lock);
	if (J.cur.id[0] && !strcmp(J.cur.id, id)) {
		atomic_store(&J.cancel_cur, true);
		pthread_mutex_unlock(&J.lock);
		return 0;
	}
	for (int i = 0; i < J.nqueue; i++)
		if (!strcmp(J.queue[i].id, id)) {
			memmove(J.queue + i, J.queue + i + 1,
				sizeof(*J.queue) * (size_t)(J.nqueue - i - 1));
			J.nqueue--;
			pthread_mutex_unlock(&J.lock);
			return flow_scenario_cancel_queued(st, id, err);
		}
	pthread_mutex_unlock(&J.lock);
	return fl_err_set(err, FL_ENOTFOUND, "scenario '%s' is not queued or running", id);
}

json_t *http_jobs_forecast_status(struct store *st, struct fl_err *err)
{
	struct fc_opts o;
	bool fresh = false;
	char spec[96], started[32] = "", finished[32] = "";
	flow_scenario_forecast_opts(FLOW_SCENARIO_HORIZON_DEFAULT, 0, &o);
	flow_forecast_spec(&o, spec, sizeof(spec));
	if (flow_forecast_fresh(st, &o, &fresh, err))
		return NULL;
	pthread_mutex_lock(&J.lock);
	struct tm tm;
	const time_t ts = (time_t)J.fc_started, tf = (time_t)J.fc_finished;
	if (J.fc_started && gmtime_r(&ts, &tm))
		strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (J.fc_finished && gmtime_r(&tf, &tm))
		strftime(finished, sizeof(finished), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *a = json_pack("{s:s, s:s, s:b, s:b, s:o, s:s?, s:s?, s:f, s:I, s:s?}", "spec", spec,
			      "state",
			      J.fc_running    ? "running"
			      : fresh	      ? "ready"
			      : J.fc_error[0] ? "failed"
			      : J.warm	      ? "stale"
					      : "off",
			      "fresh", fresh, "background", J.warm, "progress",
			      J.fc_running ? progress_json(&J.fc) : json_null(), "started_at",
			      started[0] ? started : NULL, "finished_at",
			      finished[0] ? finished : NULL, "seconds", J.fc_seconds, "series",
			      (json_int_t)J.fc_series, "error", J.fc_error[0] ? J.fc_error : NULL);
	pthread_mutex_unlock(&J.lock);
	if (!a)
		fl_err_set(err, FL_ENOMEM, "out of memory");
	return a;
}

void http_jobs_metrics(FILE *fp)
{
	pthread_mutex_lock(&J.lock);
	fprintf(fp,
		"# HELP fulcrum_forecast_batch_running 1 while the background forecast batch "
		"runs.\n"
		"# TYPE fulcrum_forecast_batch_running gauge\n"
		"fulcrum_forecast_batch_running %d\n"
		"# HELP fulcrum_forecast_batch_series_done Series the running batch has done.\n"
		"# TYPE fulcrum_forecast_batch_series_done gauge\n"
		"fulcrum_forecast_batch_series_done %zu\n"
		"# HELP fulcrum_forecast_batch_series_total Series the running batch will do.\n"
		"# TYPE fulcrum_forecast_batch_series_total gauge\n"
		"fulcrum_forecast_batch_series_total %zu\n"
		"# HELP fulcrum_forecast_batch_seconds How long the last batch took.\n"
		"# TYPE fulcrum_forecast_batch_seconds gauge\n"
		"fulcrum_forecast_batch_seconds %.3f\n"
		"# HELP fulcrum_forecast_batches_total Background forecast batches run.\n"
		"# TYPE fulcrum_forecast_batches_total counter\n"
		"fulcrum_forecast_batches_total %lu\n"
		"# HELP fulcrum_scenario_jobs_queued Scenario jobs waiting.\n"
		"# TYPE fulcrum_scenario_jobs_queued gauge\n"
		"fulcrum_scenario_jobs_queued %d\n"
		"# HELP fulcrum_scenario_jobs_running Scenario jobs running.\n"
		"# TYPE fulcrum_scenario_jobs_running gauge\n"
		"fulcrum_scenario_jobs_running %d\n",
		J.fc_running ? 1 : 0, J.fc_running ? J.fc.done : 0, J.fc_running ? J.fc.total : 0,
		J.fc_seconds, J.fc_runs, J.nqueue, J.cur.id[0] ? 1 : 0);
	pthread_mutex_unlock(&J.lock);
}
