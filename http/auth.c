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

#include "flow/flow.h"
#include "http/http.h"

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {{"orchestrator", HTTP_ROLE_ORCHESTRATOR},
	     {"planner", HTTP_ROLE_PLANNER},
	     {"analyst", HTTP_ROLE_ANALYST},
	     {"admin", HTTP_ROLE_ADMIN}};

unsigned http_role_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(name, roles[i].name) == 0)
			return roles[i].bit;
	return 0;
}

const char *http_role_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].bit == bit)
			return roles[i].name;
	return "none";
}

int http_token_create(struct store *st, const char *role, char token[HTTP_TOKEN_MAX],
		      struct fl_err *err)
{
	struct store_token t = {0};
	char secret[65];

	if (!http_role_parse(role))
		return fl_err_set(err, FL_EINVAL,
				  "role '%s': must be orchestrator, planner, analyst or admin",
				  role);
	if (flow_random_hex(t.id, STORE_TOKEN_ID_LEN / 2) || flow_random_hex(secret, 32))
		return fl_err_set(err, FL_EIO, "token: no random bytes from the kernel");
	snprintf(t.role, sizeof(t.role), "%s", role);
	flow_sha256(secret, strlen(secret), t.hash);
	t.created_at = (int64_t)time(NULL);
	int rc = store_token_insert(st, &t, err);
	if (rc)
		return rc;
	snprintf(token, HTTP_TOKEN_MAX, "fk_%s_%s", t.id, secret);
	return 0;
}

int http_token_check(struct store *st, const char *bearer, unsigned *role, char id[17])
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
	flow_sha256(secret, 64, want);
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
	*role = http_role_parse(t.role);
	return *role ? 0 : FL_EAUTH;
}
