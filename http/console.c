/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The web console's door: its page, script, style sheet and the rule reference, all
 * built into the binary (web/, bundled by npm at build time; tools/embed), served with a
 * strict Content-Security-Policy. The console itself only calls the /v1 API.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "http/http.h"

/* tools/embed_web.sh: the page, and every other file of the bundle by name */
struct web_asset {
	const char *name;
	const char *data;
	const size_t *len;
};
extern const char web_index_html[];
extern const size_t web_index_html_len;
extern const struct web_asset web_assets[];
extern const size_t web_nassets;

/*
 * No inline script, nothing from elsewhere: the page, its files, the API. The one
 * style element the editor writes carries this response's nonce (the page hands it to the
 * editor in a meta element); no other style element applies. Style attributes are allowed
 * (style-src-attr): the editor and the map place their parts with them, and an attribute
 * can neither run script nor select what to leak. nonce NULL: no nonce (the assets).
 */
void http_console_csp(char *out, size_t cap, const char *nonce)
{
	snprintf(out, cap,
		 "default-src 'none'; script-src 'self'; style-src 'self'%s%s%s;"
		 " style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
		 "font-src 'self'; base-uri 'none';"
		 " form-action 'none'; frame-ancestors 'none'",
		 nonce ? " 'nonce-" : "", nonce ? nonce : "", nonce ? "'" : "");
}

/* The page: its nonce, fresh for every response, where the page names "{{nonce}}". */
void http_console_page(struct http_req *rq, struct http_resp *rs)
{
	(void)rq;
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		http_problem(rs, 500, "no randomness for the page's nonce");
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(rs->nonce + 2 * i, 3, "%02x", raw[i]);
	static const char slot[] = "{{nonce}}";
	const char *mark = strstr(web_index_html, slot);
	const size_t head = mark ? (size_t)(mark - web_index_html) : web_index_html_len;
	const size_t nlen = mark ? strlen(rs->nonce) : 0;
	const size_t tail = mark ? web_index_html_len - head - (sizeof(slot) - 1) : 0;
	if (!(rs->text = malloc(head + nlen + tail + 1))) {
		http_problem(rs, 500, "out of memory");
		return;
	}
	memcpy(rs->text, web_index_html, head);
	memcpy(rs->text + head, rs->nonce, nlen);
	if (tail)
		memcpy(rs->text + head + nlen, mark + sizeof(slot) - 1, tail);
	rs->text[head + nlen + tail] = '\0';
	rs->status = 200;
	rs->content_type = "text/html; charset=utf-8";
}

/* GET /console/{file}: the script, its chunks, the style sheet, the rule reference */
void http_console_asset(struct http_req *rq, struct http_resp *rs)
{
	const char *name = rq->params[0];
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < web_nassets; i++)
		if (!strcmp(web_assets[i].name, name)) {
			rs->status = 200;
			rs->static_body = web_assets[i].data;
			rs->static_len = *web_assets[i].len;
			rs->content_type = !strcmp(dot, ".js")	  ? "text/javascript; charset=utf-8"
					   : !strcmp(dot, ".css") ? "text/css; charset=utf-8"
								  : "text/markdown; charset=utf-8";
			return;
		}
	http_problem(rs, 404, "no console file '%s'", name);
}
