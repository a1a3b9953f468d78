#include "token.h"

#include <sodium.h>
#include <stdio.h>

/* Domain separation: these hashes are never comparable with other uses. */
static const unsigned char token_hash_key[] = "chat device token v1";

int chat_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void chat_token_generate(char out[CHAT_TOKEN_LEN + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, CHAT_TOKEN_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void chat_token_hash(const char *token, size_t len,
		     unsigned char out[CHAT_TOKEN_HASH_LEN])
{
	crypto_generichash(out, CHAT_TOKEN_HASH_LEN,
			   (const unsigned char *)token, len, token_hash_key,
			   sizeof(token_hash_key) - 1);
}

void chat_random_id(const char *prefix, char *out, size_t outlen)
{
	unsigned char raw[12];
	char hex[sizeof(raw) * 2 + 1];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	snprintf(out, outlen, "%s%s", prefix, hex);
}
