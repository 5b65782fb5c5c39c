/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

const char *fl_strerror(int status)
{
	switch (status) {
#define FL_STATUS_CASE(name, val, text) \
	case (val): return text;
		FL_STATUS_MAP(FL_STATUS_CASE)
#undef FL_STATUS_CASE
	}
	return "unknown status";
}

int fl_err_set(struct fl_err *err, int status, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->status = status;
	}
	return status;
}

void fl_err_prefix(struct fl_err *err, const char *fmt, ...)
{
	char buf[2 * FL_ERR_MSG_MAX + 2];
	va_list ap;
	int n;

	if (!err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, FL_ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= FL_ERR_MSG_MAX)
		n = FL_ERR_MSG_MAX - 1;
	memcpy(buf + n, ": ", 2);
	memcpy(buf + n + 2, err->msg, FL_ERR_MSG_MAX);
	buf[n + 2 + FL_ERR_MSG_MAX - 1] = '\0';
	memcpy(err->msg, buf, FL_ERR_MSG_MAX - 1);
	err->msg[FL_ERR_MSG_MAX - 1] = '\0';
}

static const char *const node_type_names[] = {"dc", "store", "3pl", "mfc"};

const char *fl_node_type_name(enum fl_node_type t)
{
	if ((unsigned)t >= sizeof(node_type_names) / sizeof(node_type_names[0]))
		return NULL;
	return node_type_names[t];
}

bool fl_node_type_parse(const char *s, enum fl_node_type *out)
{
	for (size_t i = 0; i < sizeof(node_type_names) / sizeof(node_type_names[0]); i++) {
		if (strcmp(s, node_type_names[i]) == 0) {
			*out = (enum fl_node_type)i;
			return true;
		}
	}
	return false;
}

double fl_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	if (a > 1.0)
		a = 1.0;
	return 2.0 * FL_EARTH_RADIUS_KM * asin(sqrt(a));
}

/* Days from civil date (Howard Hinnant's algorithm), valid for the proleptic calendar. */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + (int)doe - 719468);
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)yoe + era * 400 + (*m <= 2);
}

bool fl_date_parse(const char *s, int32_t *day)
{
	int v[3] = {0, 0, 0};
	static const int width[3] = {4, 2, 2};
	const char *p = s;

	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < width[f]; i++, p++) {
			if (*p < '0' || *p > '9')
				return false;
			v[f] = v[f] * 10 + (*p - '0');
		}
		if (f < 2 && *p++ != '-')
			return false;
	}
	if (*p != '\0' || v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1)
		return false;
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
	int maxd = mdays[v[1] - 1] + (v[1] == 2 && leap);
	if (v[2] > maxd)
		return false;
	*day = days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]);
	return true;
}

void fl_date_format(int32_t day, char buf[static 11])
{
	int y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = 0;
	snprintf(buf, 11, "%04d-%02u-%02u", y, m % 100, d % 100);
}

bool fl_copy_id(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		dst[0] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

int fl_grow(void **v, size_t *cap, size_t need, size_t size, size_t ceiling)
{
	if (need <= *cap)
		return 0;
	if (need > ceiling || size == 0)
		return FL_ELIMIT;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c = c > ceiling / 2 ? ceiling : 2 * c;
	if (c > SIZE_MAX / size)
		return FL_ELIMIT;
	void *q = realloc(*v, c * size);
	if (!q)
		return FL_ENOMEM;
	*v = q;
	*cap = c;
	return 0;
}

/* ---- the pool ---- */

struct fl_pool_arg {
	struct fl_pool *p;
	int worker;
};

struct fl_pool {
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned long gen; /* one more per fl_pool_each */
	int pending;	   /* workers still running this generation */
	bool stop;
	fl_worker_fn *fn;
	void *ctx;
	int started; /* workers besides the caller */
	pthread_t tid[FL_POOL_MAX];
	struct fl_pool_arg arg[FL_POOL_MAX];
};

static void *pool_worker(void *arg)
{
	const struct fl_pool_arg *a = arg;
	struct fl_pool *p = a->p;
	unsigned long seen = 0;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->gen == seen && !p->stop)
			pthread_cond_wait(&p->go, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		seen = p->gen;
		fl_worker_fn *fn = p->fn;
		void *ctx = p->ctx;
		pthread_mutex_unlock(&p->lock);
		fn(ctx, a->worker);
		pthread_mutex_lock(&p->lock);
		if (--p->pending == 0)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->lock);
	}
}

int fl_pool_create(int threads, struct fl_pool **out)
{
	struct fl_pool *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p)
		return FL_ENOMEM;
	threads = threads < 1 ? 1 : threads > FL_POOL_MAX ? FL_POOL_MAX : threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (int t = 1; t < threads; t++) {
		p->arg[p->started] = (struct fl_pool_arg){p, p->started + 1};
		if (pthread_create(&p->tid[p->started], NULL, pool_worker, &p->arg[p->started]))
			break; /* a smaller pool: the work still runs */
		p->started++;
	}
	*out = p;
	return 0;
}

int fl_pool_size(const struct fl_pool *p)
{
	return p->started + 1;
}

void fl_pool_each(struct fl_pool *p, fl_worker_fn *fn, void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->ctx = ctx;
	p->pending = p->started;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	fn(ctx, 0);
	pthread_mutex_lock(&p->lock);
	while (p->pending > 0)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void fl_pool_destroy(struct fl_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	for (int t = 0; t < p->started; t++)
		pthread_join(p->tid[t], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int fl_run_workers(int threads, fl_worker_fn *fn, void *ctx)
{
	struct fl_pool *p = NULL;
	if (threads <= 1 || fl_pool_create(threads, &p)) {
		fn(ctx, 0);
		return 1;
	}
	fl_pool_each(p, fn, ctx);
	const int n = fl_pool_size(p);
	fl_pool_destroy(p);
	return n;
}
