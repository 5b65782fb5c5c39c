/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * front.c — fulcrum's own accept loop, before libmicrohttpd. libmicrohttpd 0.9.75 answers
 * some failures itself, with HTML pages compiled into it (a head past its memory, a
 * malformed request line, a missing Host), and it parses a chunk's size without telling
 * the application, so a body that announces 2 MiB and stalls holds its slot until the idle
 * timeout. Here one thread accepts every connection, reads the HTTP/1.1 framing of what
 * the client sends (heads, Content-Length bodies, chunks), and relays the bytes to
 * libmicrohttpd through a socket pair (MHD_add_connection, with the client's address, so
 * the per-address cap still counts the client). What it refuses, it answers itself with a
 * problem document and closes:
 *
 *   - no free slot (cap, connection_limit, connection_limit_per_ip): 503, Retry-After: 1;
 *   - a request line past HTTP_URL_MAX and a little: 414; a head past HTTP_FRONT_HEAD_MAX: 431;
 *   - a malformed request line, header line or chunk, no Host in HTTP/1.1, both
 *     Content-Length and Transfer-Encoding, a Transfer-Encoding other than chunked: 400;
 *     an HTTP version other than 1.0 and 1.1: 505;
 *   - a chunk whose size, once read, takes the body past the route's limit: 413, at once.
 *
 * A head is held here until it is whole, so libmicrohttpd sees only whole heads. Bytes
 * before a refusal still reach libmicrohttpd, and its answers to them go out first. A
 * refused client's unread bytes are drained for HTTP_FRONT_LINGER_MS, so it reads the
 * answer rather than a reset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http/front.h"

#define FRONT_BUF 16384
#define FRONT_LINE_MAX 256   /* a chunk-size or trailer line */
#define FRONT_LINGER_MAX 256 /* refused clients drained at once; past it, closed */
#define FRONT_PAUSE_MS 100   /* out of descriptors: accepting waits this long */
#define FRONT_REQUEST_LINE_MAX (HTTP_URL_MAX + 64)

enum fstate { F_HEAD, F_BODY, F_SIZE, F_DATA, F_DATA_END, F_TRAILER, F_STOP };

struct fconn;
struct side {
	struct fconn *c;
	int fd;
	uint32_t ev; /* the events it is registered for */
};

struct fconn {
	struct fconn *prev, *next;
	uint32_t ip;	    /* the client's IPv4 address */
	bool counted;	    /* against per_ip */
	struct side cl, px; /* the client's socket; ours to libmicrohttpd (fd -1: none) */
	enum fstate st;
	char *head;		     /* the head being read, held until it is whole */
	size_t hlen, hcap, line_end; /* line_end: the request line's length, once read */
	char line[FRONT_LINE_MAX];   /* a chunk-size, chunk-end or trailer line */
	size_t llen;
	uint64_t left, body; /* bytes left of a body or chunk; a chunked body's bytes so far */
	size_t limit;	     /* this request's body limit */
	char *up;	     /* to libmicrohttpd */
	size_t up_len, up_off, up_cap;
	char down[FRONT_BUF]; /* to the client */
	size_t down_len, down_off;
	char *answer; /* our own answer, after libmicrohttpd's */
	size_t answer_len, answer_off;
	bool client_eof, proxy_eof, px_wdead, shut_px, lingering, dead;
	bool cl_ready, px_ready; /* epoll said readable, and no read since came up short */
	bool refused_body;	 /* refused after its head went to libmicrohttpd */
	bool broken;		 /* out of memory: closed */
	char rid[HTTP_REQUEST_ID_MAX];
	long long linger_until;
};

#define FRONT_IP_BUCKETS 1024
struct ip_count {
	struct ip_count *next;
	uint32_t ip;
	unsigned n;
};

struct http_front {
	struct MHD_Daemon *d;
	int lfd, ep, wake, port;
	unsigned cap, per_ip, n, lingering;
	long long paused_until; /* accepting paused (out of descriptors) until then; 0: not */
	struct ip_count *ips[FRONT_IP_BUCKETS]; /* connections per address */
	http_limit_fn limit_of;
	const void *limit_cls;
	pthread_t thread;
	atomic_int quiesce, stop;
	struct fconn list;  /* sentinel of a circular list */
	struct fconn *dead; /* closed in this round of events, freed after it */
};

static const int refused_status[] = {400, 413, 414, 431, 503, 505};
#define NREFUSED (sizeof(refused_status) / sizeof(refused_status[0]))
static atomic_ulong refused[NREFUSED];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections per address ---- */

static struct ip_count **ip_slot(struct http_front *f, uint32_t ip)
{
	struct ip_count **p = &f->ips[(ip * 2654435761u) >> 22];
	while (*p && (*p)->ip != ip)
		p = &(*p)->next;
	return p;
}

/* Count one more connection from ip: false (nothing counted) when it has per_ip. */
static bool ip_take(struct http_front *f, uint32_t ip)
{
	struct ip_count **p = ip_slot(f, ip);
	if (*p && f->per_ip && (*p)->n >= f->per_ip)
		return false;
	if (!*p && !(*p = calloc(1, sizeof(**p))))
		return false;
	(*p)->ip = ip;
	(*p)->n++;
	return true;
}

static void ip_give(struct http_front *f, uint32_t ip)
{
	struct ip_count **p = ip_slot(f, ip), *e = *p;
	if (e && !--e->n) {
		*p = e->next;
		free(e);
	}
}

/* ---- buffers ---- */

static int up_push(struct fconn *c, const char *p, size_t n)
{
	if (c->up_off == c->up_len)
		c->up_off = c->up_len = 0;
	if (c->up_len + n > c->up_cap) {
		size_t cap = c->up_cap ? c->up_cap : FRONT_BUF;
		while (cap < c->up_len + n)
			cap *= 2;
		char *b = realloc(c->up, cap);
		if (!b)
			return -1;
		c->up = b, c->up_cap = cap;
	}
	memcpy(c->up + c->up_len, p, n);
	c->up_len += n;
	return 0;
}

static int head_push(struct fconn *c, char ch)
{
	if (c->hlen == c->hcap) {
		size_t cap = c->hcap ? c->hcap * 2 : 1024;
		char *b = realloc(c->head, cap + 1);
		if (!b)
			return -1;
		c->head = b, c->hcap = cap;
	}
	c->head[c->hlen++] = ch;
	return 0;
}

/* ---- our own answers ---- */

static void count_refusal(int status)
{
	for (size_t i = 0; i < NREFUSED; i++)
		if (refused_status[i] == status)
			atomic_fetch_add(&refused[i], 1);
}

/* A problem document (http_problem's, with the request id) and its head, in one malloc'ed
 * buffer (NULL if out of memory). */
static char *problem_bytes(int status, const char *detail, const char *rid, size_t *len)
{
	struct http_resp rs = {0};
	http_problem(&rs, status, "%s", detail);
	if (rs.json)
		json_object_set_new(rs.json, "request_id", json_string(rid));
	char *body = rs.json ? json_dumps(rs.json, JSON_COMPACT) : NULL;
	json_decref(rs.json);
	if (!body)
		return NULL;
	char *out = NULL;
	int n = asprintf(&out,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
			 "Content-Length: %zu\r\nX-Request-Id: %s\r\n%sConnection: close\r\n\r\n%s",
			 status, http_reason(status), strlen(body), rid,
			 status == 503 ? "Retry-After: 1\r\n" : "", body);
	free(body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

/*
 * Refuse what the client sends from here on. Before its head went on, we answer, once
 * libmicrohttpd has answered what came before. After (a chunk too large or malformed),
 * libmicrohttpd gets the end of the body with a trailer that names the refusal, and the
 * handler answers it (and closes): so libmicrohttpd's connection ends at once too.
 */
static void refuse(struct fconn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct fconn *c, int status, const char *fmt, ...)
{
	if (c->st == F_STOP)
		return;
	char detail[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	count_refusal(status);
	if (c->st != F_HEAD) {
		char end[320];
		const char *lead = c->st == F_SIZE	 ? "0\r\n"
				   : c->st == F_DATA_END ? "\r\n0\r\n"
							 : "";
		int n = snprintf(end, sizeof(end), "%s" HTTP_FRONT_REFUSED ": %d %s\r\n\r\n", lead,
				 status, detail);
		c->refused_body = true;
		c->st = F_STOP;
		c->broken = up_push(c, end, (size_t)n) != 0;
		return;
	}
	c->st = F_STOP;
	if (!c->rid[0])
		http_request_id(NULL, c->rid);
	free(c->answer);
	c->answer = problem_bytes(status, detail, c->rid, &c->answer_len);
	c->answer_off = 0;
	c->broken = !c->answer;
}

/* Out of memory: the connection is closed. */
static void broken(struct fconn *c)
{
	c->st = F_STOP;
	c->broken = true;
}

/* ---- the framing of what the client sends ---- */

static bool token_char(char ch)
{
	return ch > 32 && ch < 127 && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* The next header line of the head from *pos: its name and value (trimmed), or false at
 * the blank line that ends the head. */
static bool next_header(const struct fconn *c, size_t *pos, const char **name, size_t *nlen,
			const char **val, size_t *vlen)
{
	const char *h = c->head, *end = c->head + c->hlen;
	const char *p = h + *pos, *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	*pos = (size_t)(eol - h) + 1;
	const char *e = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	if (e == p)
		return false;
	*name = p;
	const char *colon = memchr(p, ':', (size_t)(e - p));
	*nlen = colon ? (size_t)(colon - p) : (size_t)(e - p);
	const char *v = colon ? colon + 1 : e;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	const char *ve = e;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	*val = colon ? v : NULL;
	*vlen = (size_t)(ve - v);
	return true;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(name, want, n);
}

/* The request line: METHOD SP target SP HTTP/1.x. 0, or the status to refuse with. */
static int request_line(struct fconn *c, char *method, size_t mcap, char *path, size_t pcap,
			bool *http11)
{
	const char *p = c->head, *e = c->head + c->line_end;
	if (e > p && e[-1] == '\r')
		e--;
	const char *sp1 = memchr(p, ' ', (size_t)(e - p));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || (size_t)(sp1 - p) >= mcap)
		return 400;
	for (const char *q = p; q < sp1; q++)
		if (!token_char(*q))
			return 400;
	for (const char *q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 32 || *q == 127)
			return 400;
	const size_t vlen = (size_t)(e - sp2 - 1);
	if (vlen != 8 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return vlen >= 5 && !strncmp(sp2 + 1, "HTTP/", 5) ? 505 : 400;
	if (sp2[8] != '0' && sp2[8] != '1')
		return 505;
	*http11 = sp2[8] == '1';
	memcpy(method, p, (size_t)(sp1 - p));
	method[sp1 - p] = '\0';
	size_t plen = (size_t)(sp2 - sp1 - 1);
	const char *q = memchr(sp1 + 1, '?', plen);
	plen = q ? (size_t)(q - sp1 - 1) : plen;
	plen = plen < pcap ? plen : pcap - 1;
	memcpy(path, sp1 + 1, plen);
	path[plen] = '\0';
	return 0;
}

/* The head is whole: check it, send it on, and read the body it announces. */
static void head_whole(struct http_front *f, struct fconn *c)
{
	char method[32], path[256];
	bool http11 = false, host = false, te = false, chunked = false;
	int ncl = 0, status = request_line(c, method, sizeof(method), path, sizeof(path), &http11);
	uint64_t cl = 0;
	const char *name, *val;
	size_t pos = c->line_end + 1, nlen, vlen;
	c->rid[0] = '\0';
	if (status) {
		refuse(c, status, "%s",
		       status == 505 ? "only HTTP/1.0 and HTTP/1.1 are served"
				     : "the request line: not METHOD target HTTP/1.x");
		return;
	}
	const char *query = memchr(c->head, '?', c->line_end);
	int fields = query ? 1 : 0; /* query parameters take libmicrohttpd's records too */
	for (const char *q = query; q && q < c->head + c->line_end; q++)
		fields += *q == '&';
	if (fields > HTTP_FRONT_FIELDS_MAX) {
		refuse(c, 414, "the URL: more than %d query parameters", HTTP_FRONT_FIELDS_MAX);
		return;
	}
	fields = 0;
	while (next_header(c, &pos, &name, &nlen, &val, &vlen)) {
		if (++fields > HTTP_FRONT_FIELDS_MAX) {
			refuse(c, 431, "the request's head: more than %d header fields",
			       HTTP_FRONT_FIELDS_MAX);
			return;
		}
		if (!val || !nlen || *name == ' ' || *name == '\t') {
			refuse(c, 400, "a header line: not name: value (folded lines are refused)");
			return;
		}
		for (size_t i = 0; i < nlen; i++)
			if (!token_char(name[i])) {
				refuse(c, 400, "a header's name: not a token");
				return;
			}
		if (name_is(name, nlen, "Host")) {
			host = true;
		} else if (name_is(name, nlen, "Transfer-Encoding")) {
			chunked = !te && vlen == 7 && !strncasecmp(val, "chunked", 7);
			te = true;
		} else if (name_is(name, nlen, "Content-Length")) {
			ncl++;
			cl = 0;
			if (!vlen || vlen > 18) {
				refuse(c, 400, "Content-Length: not a length");
				return;
			}
			for (size_t i = 0; i < vlen; i++) {
				if (val[i] < '0' || val[i] > '9') {
					refuse(c, 400, "Content-Length: not a length");
					return;
				}
				cl = cl * 10 + (uint64_t)(val[i] - '0');
			}
		} else if (name_is(name, nlen, "X-Request-Id") && vlen < HTTP_REQUEST_ID_MAX) {
			char given[HTTP_REQUEST_ID_MAX];
			memcpy(given, val, vlen);
			given[vlen] = '\0';
			http_request_id(given, c->rid);
		}
	}
	if (http11 && !host)
		refuse(c, 400, "Host: missing (HTTP/1.1 requires it)");
	else if (te && ncl)
		refuse(c, 400, "both Transfer-Encoding and Content-Length");
	else if (te && !chunked)
		refuse(c, 400, "Transfer-Encoding: only chunked is accepted");
	else if (ncl > 1)
		refuse(c, 400, "Content-Length: given more than once");
	if (c->st == F_STOP)
		return;
	if (up_push(c, c->head, c->hlen)) {
		broken(c);
		return;
	}
	c->limit = f->limit_of(f->limit_cls, method, path);
	c->body = 0, c->llen = 0;
	c->st = chunked ? F_SIZE : cl ? F_BODY : F_HEAD;
	c->left = cl;
	c->hlen = c->line_end = 0;
}

/* A chunk-size line (hex, optional ;extensions) is whole. */
static void size_line(struct fconn *c)
{
	size_t n = c->llen - 1, i = 0; /* without its \n */
	uint64_t size = 0;
	if (n && c->line[n - 1] == '\r')
		n--;
	for (; i < n; i++) {
		const char ch = c->line[i];
		const int d = ch >= '0' && ch <= '9'		     ? ch - '0'
			      : (ch | 32) >= 'a' && (ch | 32) <= 'f' ? (ch | 32) - 'a' + 10
								     : -1;
		if (d < 0)
			break;
		if (i >= 15) { /* past 2^60: larger than any limit */
			size = UINT64_MAX / 2;
			continue;
		}
		size = size * 16 + (uint64_t)d;
	}
	if (i == 0 || (i < n && c->line[i] != ';' && c->line[i] != ' ' && c->line[i] != '\t')) {
		refuse(c, 400, "a chunk's size: not hexadecimal");
		return;
	}
	if (c->body + size > c->limit) {
		refuse(c, 413, "body: larger than %zu bytes (a chunk of %llu)", c->limit,
		       (unsigned long long)size);
		return;
	}
	c->body += size;
	c->left = size;
	c->st = size ? F_DATA : F_TRAILER;
}

/* One line of the chunked framing (size, end of a chunk's data, trailer) is whole: it goes
 * on only once checked. */
static void framing_line(struct fconn *c)
{
	const bool blank = c->llen == 1 || (c->llen == 2 && c->line[0] == '\r');
	if (c->st == F_SIZE) {
		size_line(c);
	} else if (c->st == F_DATA_END) {
		if (!blank)
			refuse(c, 400, "a chunk: its data does not end with CRLF");
		else
			c->st = F_SIZE;
	} else if (blank) { /* F_TRAILER: the blank line ends the request */
		c->st = F_HEAD;
	} else if ((c->left += c->llen) > HTTP_FRONT_HEAD_MAX) {
		refuse(c, 431, "the trailer: more than %d bytes", HTTP_FRONT_HEAD_MAX);
	}
	if (c->st != F_STOP && up_push(c, c->line, c->llen))
		broken(c);
	c->llen = 0;
}

/* Read what the client sent: heads held until whole, the rest queued for libmicrohttpd. */
static void feed(struct http_front *f, struct fconn *c, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && c->st != F_STOP) {
		if (c->st == F_BODY || c->st == F_DATA) {
			size_t k = n - i < c->left ? n - i : (size_t)c->left;
			if (up_push(c, p + i, k)) {
				broken(c);
				return;
			}
			i += k, c->left -= k;
			if (!c->left)
				c->st = c->st == F_BODY ? F_HEAD : F_DATA_END;
			continue;
		}
		const char ch = p[i++];
		if (c->st != F_HEAD) { /* a chunked framing line */
			if (c->llen == FRONT_LINE_MAX) {
				refuse(c, 400, "a chunk's framing line: too long");
				return;
			}
			c->line[c->llen++] = ch;
			if (ch == '\n')
				framing_line(c);
			continue;
		}
		if (c->hlen == 0 && (ch == '\r' || ch == '\n'))
			continue; /* blank lines before a request line are ignored */
		if (head_push(c, ch)) {
			broken(c);
			return;
		}
		if (!c->line_end) {
			if (ch == '\n')
				c->line_end = c->hlen - 1;
			else if (c->hlen > FRONT_REQUEST_LINE_MAX)
				refuse(c, 414, "the URL: longer than %d bytes", HTTP_URL_MAX);
			continue;
		}
		if (c->hlen > HTTP_FRONT_HEAD_MAX) {
			refuse(c, 431, "the request's head: more than %d bytes",
			       HTTP_FRONT_HEAD_MAX);
		} else if (ch == '\n') {
			const char *h = c->head + c->hlen - 2;
			if (*h == '\n' || (*h == '\r' && h[-1] == '\n'))
				head_whole(f, c);
		}
	}
}

/* ---- the relay ---- */

/* Closed now, freed after this round of events (another event may name it). */
static void close_conn(struct http_front *f, struct fconn *c)
{
	close(c->cl.fd);
	if (c->px.fd >= 0)
		close(c->px.fd);
	c->prev->next = c->next, c->next->prev = c->prev;
	f->n--;
	if (c->counted)
		ip_give(f, c->ip);
	f->lingering -= c->lingering;
	c->dead = true;
	c->next = f->dead;
	f->dead = c;
}

static void free_dead(struct http_front *f)
{
	while (f->dead) {
		struct fconn *c = f->dead;
		f->dead = c->next;
		free(c->head);
		free(c->up);
		free(c->answer);
		free(c);
	}
}

/* Register s for want; none: not registered at all (a hung-up socket is not reported). */
static void watch(struct http_front *f, struct side *s, uint32_t want)
{
	if (s->fd < 0 || s->ev == want)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = s};
	epoll_ctl(f->ep, !want ? EPOLL_CTL_DEL : s->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev);
	s->ev = want;
}

/* Send what is queued for fd: false on an error other than "try later". */
static bool flush(int fd, const char *buf, size_t *off, size_t len)
{
	while (*off < len) {
		ssize_t k = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR;
		*off += (size_t)k;
	}
	return true;
}

static void from_proxy(struct fconn *c, size_t k)
{
	c->down_len = k;
	c->down_off = 0;
}

/* The last answer is out: drain the client a while, then close. 1, or -1 if closed now. */
static int linger(struct http_front *f, struct fconn *c)
{
	if (c->lingering)
		return 1;
	if (f->lingering >= FRONT_LINGER_MAX) {
		close_conn(f, c);
		return -1;
	}
	shutdown(c->cl.fd, SHUT_WR);
	c->lingering = true;
	f->lingering++;
	c->linger_until = now_ms() + HTTP_FRONT_LINGER_MS;
	return 1;
}

static void proxy_done(struct fconn *c)
{
	c->proxy_eof = true;
	if (c->px.fd >= 0)
		close(c->px.fd); /* which takes it out of epoll */
	c->px.fd = -1;
}

/* One step of moving bytes without waiting: 1 moved, 0 nothing to move, -1 closed. */
static int step(struct http_front *f, struct fconn *c, char *buf)
{
	int moved = 0;
	if (c->broken)
		return close_conn(f, c), -1;
	if (c->lingering) {
		if (!c->cl_ready)
			return 0;
		ssize_t k = recv(c->cl.fd, buf, FRONT_BUF, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return close_conn(f, c), -1;
		c->cl_ready = k == FRONT_BUF;
		return k > 0;
	}
	if (c->cl_ready && !c->client_eof && c->st != F_STOP && !c->px_wdead &&
	    c->up_len - c->up_off < FRONT_BUF) {
		ssize_t k = recv(c->cl.fd, buf, FRONT_BUF, 0);
		c->cl_ready = k == FRONT_BUF; /* a short read emptied it: epoll says when not */
		if (k > 0)
			feed(f, c, buf, (size_t)k), moved = 1;
		else if (k == 0)
			c->client_eof = true, moved = 1;
		else if (errno != EAGAIN && errno != EINTR)
			return close_conn(f, c), -1;
	}
	if (c->px.fd >= 0 && !c->px_wdead && c->up_off < c->up_len) {
		size_t off = c->up_off;
		if (!flush(c->px.fd, c->up, &c->up_off, c->up_len))
			c->px_wdead = true, c->up_off = c->up_len = 0;
		moved |= c->up_off != off || c->px_wdead;
	}
	if ((c->client_eof || (c->st == F_STOP && !c->refused_body)) && c->up_off == c->up_len &&
	    !c->shut_px && c->px.fd >= 0) {
		shutdown(c->px.fd, SHUT_WR); /* libmicrohttpd finishes what it has and closes */
		c->shut_px = true;
	}
	if (c->px_ready && c->px.fd >= 0 && c->down_len == 0) {
		ssize_t k = recv(c->px.fd, c->down, sizeof(c->down), 0);
		c->px_ready = k == (ssize_t)sizeof(c->down);
		if (k > 0)
			from_proxy(c, (size_t)k), moved = 1;
		else if (k == 0 || (errno != EAGAIN && errno != EINTR))
			proxy_done(c), moved = 1;
	}
	if (c->down_off < c->down_len) {
		size_t off = c->down_off;
		if (!flush(c->cl.fd, c->down, &c->down_off, c->down_len))
			return close_conn(f, c), -1;
		moved |= c->down_off != off;
		if (c->down_off == c->down_len)
			c->down_off = c->down_len = 0;
	}
	if (!c->proxy_eof || c->down_len)
		return moved;
	/* libmicrohttpd is done with this connection, and all it said is out */
	if (!c->answer) { /* a client still sending gets to read the answer, not a reset */
		if (c->client_eof || (c->st == F_HEAD && c->hlen == 0))
			return close_conn(f, c), -1;
		return linger(f, c);
	}
	size_t off = c->answer_off;
	if (!flush(c->cl.fd, c->answer, &c->answer_off, c->answer_len))
		return close_conn(f, c), -1;
	if (c->answer_off == c->answer_len)
		return linger(f, c);
	return c->answer_off != off;
}

/* Move what can move without waiting, then wait for what may move next; false when the
 * connection was closed. */
static bool pump(struct http_front *f, struct fconn *c)
{
	char buf[FRONT_BUF];
	int moved;
	while ((moved = step(f, c, buf)) > 0)
		;
	if (moved < 0)
		return false;
	uint32_t cl = 0, px = 0;
	if (c->lingering || (!c->client_eof && c->st != F_STOP && !c->px_wdead &&
			     c->up_len - c->up_off < FRONT_BUF))
		cl |= EPOLLIN;
	if (c->down_off < c->down_len || (c->proxy_eof && c->answer && !c->lingering))
		cl |= EPOLLOUT;
	if (c->down_len == 0)
		px |= EPOLLIN;
	if (!c->px_wdead && c->up_off < c->up_len)
		px |= EPOLLOUT;
	watch(f, &c->cl, cl);
	watch(f, &c->px, px);
	return true;
}

/* A connection libmicrohttpd cannot take, or we cannot: answer 503 and drain it. */
static void refuse_at_door(struct http_front *f, struct fconn *c, const char *detail)
{
	if (f->lingering >= FRONT_LINGER_MAX) {
		count_refusal(503);
		close_conn(f, c);
		return;
	}
	refuse(c, 503, "%s", detail);
	proxy_done(c);
	pump(f, c);
}

static void accept_all(struct http_front *f)
{
	for (;;) {
		struct sockaddr_storage addr;
		socklen_t alen = sizeof(addr);
		int fd = accept4(f->lfd, (struct sockaddr *)&addr, &alen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) { /* the backlog waits a while, not a spinning loop */
				epoll_ctl(f->ep, EPOLL_CTL_DEL, f->lfd, NULL);
				f->paused_until = now_ms() + FRONT_PAUSE_MS;
			}
			return;
		}
		int one = 1, sp[2] = {-1, -1};
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct fconn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->cl = (struct side){c, fd, 0};
		c->px = (struct side){c, -1, 0};
		c->next = f->list.next, c->prev = &f->list;
		f->list.next->prev = c, f->list.next = c;
		f->n++;
		if (f->n > f->cap) {
			refuse_at_door(f, c, "no free connection (connection_limit): try again");
			continue;
		}
		if (addr.ss_family == AF_INET)
			c->ip = ((struct sockaddr_in *)&addr)->sin_addr.s_addr;
		if (!(c->counted = ip_take(f, c->ip))) {
			refuse_at_door(f, c,
				       "no free connection for this address "
				       "(connection_limit_per_ip): try again");
			continue;
		}
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp)) {
			refuse_at_door(f, c, "no free descriptor: try again");
			continue;
		}
		/* libmicrohttpd is told a local address: it keeps no address cap for added
		 * connections (counted above), and the TCP options it still tries on the pair
		 * fail harmlessly (their messages are dropped: mhd_log in server.c) */
		const struct sockaddr_un un = {.sun_family = AF_UNIX};
		if (MHD_add_connection(f->d, sp[1], (const struct sockaddr *)&un, sizeof(un)) !=
		    MHD_YES) {
			close(sp[0]); /* libmicrohttpd closed sp[1] */
			refuse_at_door(f, c, "no free connection (connection_limit): try again");
			continue;
		}
		c->px.fd = sp[0];
		c->cl_ready = true; /* its request may be there already */
		pump(f, c);
	}
}

static void *run(void *arg)
{
	struct http_front *f = arg;
	struct epoll_event ev[64];
	long long swept = now_ms();
	while (!atomic_load(&f->stop)) {
		int n = epoll_wait(f->ep, ev, 64, 100);
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			if (p == &f->lfd) {
				accept_all(f);
			} else if (p == &f->wake) {
				uint64_t v;
				if (read(f->wake, &v, sizeof(v)) < 0)
					continue;
			} else if (!((struct side *)p)->c->dead) {
				struct side *sd = p;
				const bool in =
					ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP);
				if (sd == &sd->c->cl)
					sd->c->cl_ready |= in;
				else
					sd->c->px_ready |= in;
				pump(f, sd->c);
			}
		}
		free_dead(f);
		if (f->paused_until && now_ms() >= f->paused_until && f->lfd >= 0) {
			struct epoll_event le = {.events = EPOLLIN, .data.ptr = &f->lfd};
			epoll_ctl(f->ep, EPOLL_CTL_ADD, f->lfd, &le);
			f->paused_until = 0;
		}
		if (atomic_load(&f->quiesce) && f->lfd >= 0) {
			epoll_ctl(f->ep, EPOLL_CTL_DEL, f->lfd, NULL);
			close(f->lfd);
			f->lfd = -1;
		}
		const long long t = now_ms();
		if (f->lingering && t - swept >= 100) {
			swept = t;
			for (struct fconn *c = f->list.next, *next; c != &f->list; c = next) {
				next = c->next;
				if (c->lingering && t > c->linger_until)
					close_conn(f, c);
			}
			free_dead(f);
		}
	}
	return NULL;
}

struct http_front *http_front_start(struct MHD_Daemon *d, const char *host, int port, unsigned cap,
				    unsigned per_ip, http_limit_fn limit_of, const void *limit_cls)
{
	struct http_front *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->d = d, f->cap = cap, f->per_ip = per_ip, f->limit_of = limit_of;
	f->limit_cls = limit_cls;
	f->list.next = f->list.prev = &f->list;
	f->wake = f->ep = -1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;
	socklen_t alen = sizeof(addr);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		errno = EINVAL;
	else if ((f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
		 setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		 bind(f->lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(f->lfd, 1024) ||
		 getsockname(f->lfd, (struct sockaddr *)&addr, &alen) ||
		 (f->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		 (f->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		;
	else {
		struct epoll_event le = {.events = EPOLLIN, .data.ptr = &f->lfd};
		struct epoll_event we = {.events = EPOLLIN, .data.ptr = &f->wake};
		f->port = ntohs(addr.sin_port);
		if (!epoll_ctl(f->ep, EPOLL_CTL_ADD, f->lfd, &le) &&
		    !epoll_ctl(f->ep, EPOLL_CTL_ADD, f->wake, &we) &&
		    !pthread_create(&f->thread, NULL, run, f))
			return f;
	}
	const int e = errno;
	if (f->lfd > 0)
		close(f->lfd);
	if (f->ep >= 0)
		close(f->ep);
	if (f->wake >= 0)
		close(f->wake);
	free(f);
	errno = e;
	return NULL;
}

int http_front_port(const struct http_front *f)
{
	return f->port;
}

static void poke(struct http_front *f)
{
	uint64_t one = 1;
	if (write(f->wake, &one, sizeof(one)) < 0)
		return; /* the counter is full: the thread is awake anyway */
}

void http_front_quiesce(struct http_front *f)
{
	if (!f)
		return;
	atomic_store(&f->quiesce, 1);
	poke(f);
}

void http_front_stop(struct http_front *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, 1);
	poke(f);
	pthread_join(f->thread, NULL);
	while (f->list.next != &f->list)
		close_conn(f, f->list.next);
	free_dead(f);
	for (size_t i = 0; i < FRONT_IP_BUCKETS; i++)
		while (f->ips[i]) {
			struct ip_count *e = f->ips[i];
			f->ips[i] = e->next;
			free(e);
		}
	if (f->lfd >= 0)
		close(f->lfd);
	close(f->ep);
	close(f->wake);
	free(f);
}

void http_front_metrics(FILE *fp)
{
	fputs("# HELP fulcrum_http_front_refused_total Requests and connections the front "
	      "refused before libmicrohttpd, by the status answered.\n"
	      "# TYPE fulcrum_http_front_refused_total counter\n",
	      fp);
	for (size_t i = 0; i < NREFUSED; i++)
		fprintf(fp, "fulcrum_http_front_refused_total{status=\"%d\"} %lu\n",
			refused_status[i], atomic_load(&refused[i]));
}
