/*
 * Device tokens and random identifiers, built on libsodium.
 *
 * A device token is 32 random bytes in URL-safe base64. Only a keyed BLAKE2b
 * hash of it is stored; tokens are high-entropy, so a fast hash is enough and
 * keeps a reconnect storm cheap.
 */
#ifndef CHAT_TOKEN_H
#define CHAT_TOKEN_H

#include <stddef.h>

#define CHAT_TOKEN_LEN 43      /* characters, without the terminating NUL */
#define CHAT_TOKEN_HASH_LEN 32 /* bytes */

/* Call once per process before anything below. Returns 0 on success. */
int chat_crypto_init(void);

/* Writes a new token (CHAT_TOKEN_LEN chars + NUL) into out. */
void chat_token_generate(char out[CHAT_TOKEN_LEN + 1]);

/* Hashes a presented token for storage or lookup. */
void chat_token_hash(const char *token, size_t len,
		     unsigned char out[CHAT_TOKEN_HASH_LEN]);

/* Writes prefix followed by 24 random hex digits into out. */
void chat_random_id(const char *prefix, char *out, size_t outlen);

#endif
