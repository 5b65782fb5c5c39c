/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Access tokens (API.md): "fk_<id>_<secret>". The id (16 hex) is public and indexes the
 * row; only SHA-256(secret) is stored, and a presented secret is compared with it in
 * constant time. A token is printed once, when created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api.h"

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {{"orchestrator", API_ROLE_ORCHESTRATOR},
	     {"planner", API_ROLE_PLANNER},
	     {"analyst", API_ROLE_ANALYST},
	     {"admin", API_ROLE_ADMIN}};

unsigned api_role_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(name, roles[i].name) == 0)
			return roles[i].bit;
	return 0;
}

const char *api_role_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].bit == bit)
			return roles[i].name;
	return "none";
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int api_random_hex(char *out, size_t bytes)
{
	unsigned char buf[64];
	if (bytes > sizeof(buf) || getrandom(buf, bytes, 0) != (ssize_t)bytes)
		return FL_EIO;
	hex(buf, bytes, out);
	return 0;
}

int api_token_create(struct store *st, const char *role, char token[API_TOKEN_MAX],
		     struct fl_err *err)
{
	struct store_token t = {0};
	char secret[65];

	if (!api_role_parse(role))
		return fl_err_set(err, FL_EINVAL,
				  "role '%s': must be orchestrator, planner, analyst or admin",
				  role);
	if (api_random_hex(t.id, STORE_TOKEN_ID_LEN / 2) || api_random_hex(secret, 32))
		return fl_err_set(err, FL_EIO, "token: no random bytes from the kernel");
	snprintf(t.role, sizeof(t.role), "%s", role);
	api_sha256(secret, strlen(secret), t.hash);
	t.created_at = (int64_t)time(NULL);
	int rc = store_token_insert(st, &t, err);
	if (rc)
		return rc;
	snprintf(token, API_TOKEN_MAX, "fk_%s_%s", t.id, secret);
	return 0;
}

int api_token_check(struct store *st, const char *bearer, unsigned *role, char id[17])
{
	struct store_token t;
	unsigned char want[32];
	const char *secret;
	unsigned diff = 0;

	*role = 0;
	if (strncmp(bearer, "fk_", 3) != 0 || strlen(bearer) != 3 + 16 + 1 + 64 ||
	    bearer[19] != '_')
		return FL_EAUTH;
	memcpy(id, bearer + 3, 16);
	id[16] = '\0';
	secret = bearer + 20;
	api_sha256(secret, 64, want);
	int rc = store_token_get(st, id, &t, NULL);
	if (rc == FL_ENOTFOUND) {
		memset(t.hash, 0, sizeof(t.hash)); /* compare anyway: same time either way */
		diff = 1;
	} else if (rc) {
		return rc;
	}
	for (int i = 0; i < 32; i++)
		diff |= (unsigned)(want[i] ^ t.hash[i]);
	if (diff != 0 || t.revoked_at != 0)
		return FL_EAUTH;
	*role = api_role_parse(t.role);
	return *role ? 0 : FL_EAUTH;
}

/* ---- the token commands ---- */

int api_cmd_token(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "", *db = NULL, *role = NULL, *id = NULL;
	struct store *st = NULL;
	struct fl_err err = {0};
	int rc = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			goto usage;
	}
	if (!db || (strcmp(sub, "create") == 0 && (!role || id)) ||
	    (strcmp(sub, "revoke") == 0 && !id) || (strcmp(sub, "list") == 0 && (id || role)))
		goto usage;
	if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke"))
		goto usage;
	if (store_open(db, &st, &err)) {
		fprintf(stderr, "fulcrum: %s\n", err.msg);
		return 1;
	}
	if (strcmp(sub, "create") == 0) {
		char token[API_TOKEN_MAX];
		rc = api_token_create(st, role, token, &err);
		if (!rc)
			printf("created %s token (shown once, keep it secret): %s\n", role, token);
	} else if (strcmp(sub, "revoke") == 0) {
		rc = store_token_revoke(st, id, (int64_t)time(NULL), &err);
		if (!rc)
			printf("revoked token %s\n", id);
	} else {
		struct store_token *list;
		size_t n;
		rc = store_token_list(st, &list, &n, &err);
		for (size_t i = 0; !rc && i < n; i++) {
			char when[32];
			time_t c = (time_t)list[i].created_at;
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&c));
			printf("%s  %-12s  created %s%s\n", list[i].id, list[i].role, when,
			       list[i].revoked_at ? "  revoked" : "");
		}
		if (!rc)
			free(list);
	}
	store_close(st);
	if (rc) {
		fprintf(stderr, "fulcrum: %s\n", err.msg);
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: fulcrum token create --db FILE --role ROLE\n"
			"       fulcrum token list --db FILE\n"
			"       fulcrum token revoke ID --db FILE\n");
	return 2;
}
