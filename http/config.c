/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The service's settings: defaults, a "key = value" file, FULCRUM_<KEY> environment
 * variables and flags, each checked against its range.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "flow/flow.h"
#include "http/http.h"

/* ---- settings ---- */

void http_config_default(struct http_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->host, sizeof(c->host), "127.0.0.1");
	c->port = 8080;
	c->health_port = -1;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = cores > 0 ? (int)cores : 2;
	c->connection_limit = 1000;
	c->connection_timeout = 30;
	c->header_timeout = 10;
	c->connection_limit_per_ip = 256;
	c->body_limit = 1u << 20;
	c->import_limit = 64u << 20;
	c->json_depth = 32;
	c->rate_limit = 0;
	c->rate_burst = 100;
	c->access_log = true;
	c->shutdown_grace = 10;
	c->job_queue = 16;
	c->webhook_max_attempts = 12;
	c->webhook_backoff_ms = 30000;
	c->webhook_timeout_ms = 10000;
	c->webhook_connect_timeout_ms = 2000;
	c->webhook_concurrency = 16;
	c->webhook_pause_ms = 60000;
	c->webhook_breaker = 5;
	c->forecast_warm = true;
}

static int set_num(const char *key, const char *v, double lo, double hi, double *out,
		   struct fl_err *err)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (!*v || *end || errno || !(d >= lo && d <= hi))
		return fl_err_set(err, FL_EINVAL, "%s: '%s' is not a number in [%g, %g]", key, v,
				  lo, hi);
	*out = d;
	return 0;
}

int http_config_set(struct http_config *c, const char *key, const char *v, struct fl_err *err)
{
	double d;
	int rc = 0;
	if (strcmp(key, "db") == 0) {
		if (!*v || strlen(v) >= sizeof(c->db))
			return fl_err_set(err, FL_EINVAL, "db: empty or too long");
		snprintf(c->db, sizeof(c->db), "%s", v);
	} else if (strcmp(key, "host") == 0) {
		struct in_addr a;
		if (inet_pton(AF_INET, v, &a) != 1)
			return fl_err_set(err, FL_EINVAL, "host: '%s' is not an IPv4 address", v);
		snprintf(c->host, sizeof(c->host), "%s", v);
	} else if (strcmp(key, "port") == 0) {
		if (!(rc = set_num(key, v, 0, 65535, &d, err)))
			c->port = (int)d;
	} else if (strcmp(key, "health_port") == 0) {
		if (!(rc = set_num(key, v, -1, 65535, &d, err)))
			c->health_port = (int)d;
	} else if (strcmp(key, "threads") == 0) {
		if (!(rc = set_num(key, v, 1, 128, &d, err)))
			c->threads = (int)d;
	} else if (strcmp(key, "connection_limit") == 0) {
		if (!(rc = set_num(key, v, 1, 100000, &d, err)))
			c->connection_limit = (unsigned)d;
	} else if (strcmp(key, "connection_limit_per_ip") == 0) {
		if (!(rc = set_num(key, v, 0, 100000, &d, err)))
			c->connection_limit_per_ip = (unsigned)d;
	} else if (strcmp(key, "connection_timeout") == 0) {
		if (!(rc = set_num(key, v, 1, 3600, &d, err)))
			c->connection_timeout = (unsigned)d;
	} else if (strcmp(key, "header_timeout") == 0) {
		if (!(rc = set_num(key, v, 0, 3600, &d, err)))
			c->header_timeout = (unsigned)d;
	} else if (strcmp(key, "body_limit") == 0) {
		if (!(rc = set_num(key, v, 1024, 1 << 30, &d, err)))
			c->body_limit = (size_t)d;
	} else if (strcmp(key, "import_limit") == 0) {
		if (!(rc = set_num(key, v, 1024, 4.0 * (1 << 30), &d, err)))
			c->import_limit = (size_t)d;
	} else if (strcmp(key, "json_depth") == 0) {
		if (!(rc = set_num(key, v, 2, 1000, &d, err)))
			c->json_depth = (int)d;
	} else if (strcmp(key, "rate_limit") == 0) {
		if (!(rc = set_num(key, v, 0, 1e9, &d, err)))
			c->rate_limit = d;
	} else if (strcmp(key, "rate_burst") == 0) {
		if (!(rc = set_num(key, v, 1, 1e9, &d, err)))
			c->rate_burst = d;
	} else if (strcmp(key, "shutdown_grace") == 0) {
		if (!(rc = set_num(key, v, 0, 600, &d, err)))
			c->shutdown_grace = (int)d;
	} else if (strcmp(key, "access_log") == 0) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fl_err_set(err, FL_EINVAL, "access_log: 'on' or 'off', not '%s'", v);
		c->access_log = strcmp(v, "on") == 0;
	} else if (strcmp(key, "rules_fail") == 0) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return fl_err_set(err, FL_EINVAL, "rules_fail: 0 or 1, not '%s'", v);
		c->rules_fail = strcmp(v, "1") == 0;
	} else if (strcmp(key, "job_queue") == 0) {
		if (!(rc = set_num(key, v, 1, 1000, &d, err)))
			c->job_queue = (int)d;
	} else if (strcmp(key, "webhook_hosts") == 0) {
		if (strlen(v) >= sizeof(c->webhook_hosts))
			return fl_err_set(err, FL_EINVAL, "webhook_hosts: at most %zu bytes",
					  sizeof(c->webhook_hosts) - 1);
		snprintf(c->webhook_hosts, sizeof(c->webhook_hosts), "%s", v);
	} else if (strcmp(key, "webhook_max_attempts") == 0) {
		if (!(rc = set_num(key, v, 1, 100, &d, err)))
			c->webhook_max_attempts = (int)d;
	} else if (strcmp(key, "webhook_backoff_ms") == 0) {
		if (!(rc = set_num(key, v, 1, 3600000, &d, err)))
			c->webhook_backoff_ms = (int)d;
	} else if (strcmp(key, "webhook_timeout_ms") == 0) {
		if (!(rc = set_num(key, v, 100, 600000, &d, err)))
			c->webhook_timeout_ms = (int)d;
	} else if (strcmp(key, "webhook_connect_timeout_ms") == 0) {
		if (!(rc = set_num(key, v, 100, 60000, &d, err)))
			c->webhook_connect_timeout_ms = (int)d;
	} else if (strcmp(key, "webhook_concurrency") == 0) {
		if (!(rc = set_num(key, v, 1, 256, &d, err)))
			c->webhook_concurrency = (int)d;
	} else if (strcmp(key, "webhook_pause_ms") == 0) {
		if (!(rc = set_num(key, v, 1, 86400000, &d, err)))
			c->webhook_pause_ms = (int)d;
	} else if (strcmp(key, "webhook_breaker") == 0) {
		if (!(rc = set_num(key, v, 1, 1000, &d, err)))
			c->webhook_breaker = (int)d;
	} else if (strcmp(key, "forecast_warm") == 0) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fl_err_set(err, FL_EINVAL, "forecast_warm: 'on' or 'off', not '%s'",
					  v);
		c->forecast_warm = strcmp(v, "on") == 0;
	} else {
		return fl_err_set(err, FL_EINVAL, "unknown setting '%s'", key);
	}
	return rc;
}

static const char *const config_keys[] = {"db",
					  "host",
					  "port",
					  "health_port",
					  "threads",
					  "connection_limit",
					  "connection_timeout",
					  "header_timeout",
					  "connection_limit_per_ip",
					  "body_limit",
					  "import_limit",
					  "json_depth",
					  "rate_limit",
					  "rate_burst",
					  "access_log",
					  "shutdown_grace",
					  "rules_fail",
					  "job_queue",
					  "forecast_warm",
					  "webhook_hosts",
					  "webhook_max_attempts",
					  "webhook_backoff_ms",
					  "webhook_timeout_ms",
					  "webhook_connect_timeout_ms",
					  "webhook_concurrency",
					  "webhook_pause_ms",
					  "webhook_breaker"};

int http_config_env(struct http_config *c, struct fl_err *err)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		char name[64];
		size_t n = (size_t)snprintf(name, sizeof(name), "FULCRUM_%s", config_keys[i]);
		for (size_t j = 8; j < n; j++)
			name[j] = (char)(name[j] >= 'a' && name[j] <= 'z' ? name[j] - 32 : name[j]);
		const char *v = getenv(name);
		if (v && http_config_set(c, config_keys[i], v, err)) {
			fl_err_prefix(err, "%s", name);
			return FL_EINVAL;
		}
	}
	return 0;
}

int http_config_load(struct http_config *c, const char *path, struct fl_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[2048];
	int lineno = 0, rc = 0;
	if (!fp)
		return fl_err_set(err, FL_EIO, "%s: %s", path, strerror(errno));
	while (!rc && fgets(line, sizeof(line), fp)) {
		lineno++;
		char *p = line, *eq, *k, *v;
		p[strcspn(p, "#\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			rc = fl_err_set(err, FL_EINVAL, "%s:%d: expected 'key = value'", path,
					lineno);
			break;
		}
		*eq = '\0';
		k = p, v = eq + 1;
		for (char *e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		for (size_t n = strlen(v); n && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
			v[n - 1] = '\0';
		if ((rc = http_config_set(c, k, v, err)))
			fl_err_prefix(err, "%s:%d", path, lineno);
	}
	fclose(fp);
	return rc;
}
