/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The flows' shared basics: SHA-256 (libnettle), random ids, the cores to use. */
#include <nettle/sha2.h>
#include <sys/random.h>
#include <unistd.h>

#include "flow/flow.h"

void flow_sha256(const void *data, size_t len, unsigned char out[32])
{
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

int flow_random_hex(char *out, size_t bytes)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char buf[64];
	if (bytes > sizeof(buf) || getrandom(buf, bytes, 0) != (ssize_t)bytes)
		return FL_EIO;
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * bytes] = '\0';
	return 0;
}

int flow_threads_default(void)
{
	const long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}
