/*
 * Safety numbers (docs/E2E.md): what two users read to each other to make
 * sure each holds the other's real identity key.
 */
#ifndef CHAT_CLIENT_FINGERPRINT_H
#define CHAT_CLIENT_FINGERPRINT_H

#include "crypto.h"

/* Twelve groups of five digits separated by single spaces. */
#define E2E_FINGERPRINT_GROUPS 12
#define E2E_FINGERPRINT_LEN    (E2E_FINGERPRINT_GROUPS * 6 - 1)

/*
 * The fingerprint of an identity key: the first 30 bytes of its keyed
 * BLAKE2b-256, as six 40-bit big-endian numbers, each modulo 10^10 and
 * printed as two groups of five digits.
 */
void e2e_fingerprint(const unsigned char identity[E2E_IDENTITY_PUBLIC_BYTES],
                     char out[E2E_FINGERPRINT_LEN + 1]);

#endif
