#include "fingerprint.h"

#include <stdint.h>
#include <stdio.h>

#define FINGERPRINT_KEY  "chat-fingerprint-v1"
#define FINGERPRINT_RUNS 6
#define RUN_BYTES        5

void e2e_fingerprint(const unsigned char identity[E2E_IDENTITY_PUBLIC_BYTES],
                     char out[E2E_FINGERPRINT_LEN + 1])
{
	unsigned char hash[crypto_generichash_BYTES];
	size_t used = 0;

	crypto_generichash(hash, sizeof(hash), identity,
	                   E2E_IDENTITY_PUBLIC_BYTES,
	                   (const unsigned char *)FINGERPRINT_KEY,
	                   sizeof(FINGERPRINT_KEY) - 1);
	for (int run = 0; run < FINGERPRINT_RUNS; run++) {
		const unsigned char *p = hash + run * RUN_BYTES;
		uint64_t value = 0;

		for (int i = 0; i < RUN_BYTES; i++)
			value = value << 8 | p[i];
		value %= 10000000000ULL;
		used += (size_t)snprintf(
		    out + used, E2E_FINGERPRINT_LEN + 1 - used, "%s%05u %05u",
		    run ? " " : "", (unsigned)(value / 100000),
		    (unsigned)(value % 100000));
	}
}
