/*
 * Files end to end (docs/E2E.md, "Media"): a file is encrypted with
 * crypto_secretstream_xchacha20poly1305 under a fresh key in 256 KiB
 * plaintext chunks, the last tagged FINAL, and the whole ciphertext
 * (header included) is hashed with BLAKE2b-256. Both directions stream
 * from one file to another holding at most two chunks in memory.
 */
#ifndef CHAT_CLIENT_FILECRYPT_H
#define CHAT_CLIENT_FILECRYPT_H

#include <sodium.h>

#define E2E_FILE_CHUNK      (256 * 1024)
#define E2E_FILE_KEY_BYTES  crypto_secretstream_xchacha20poly1305_KEYBYTES
#define E2E_FILE_HASH_BYTES crypto_generichash_BYTES
/* The largest plaintext this client sends. */
#define E2E_FILE_MAX (100LL * 1024 * 1024)

struct e2e_file_sealed {
	unsigned char key[E2E_FILE_KEY_BYTES];
	unsigned char hash[E2E_FILE_HASH_BYTES]; /* of the ciphertext */
	long long plain_size;
	long long cipher_size;
};

/* The ciphertext size of a plaintext of plain_size bytes. */
long long e2e_file_cipher_size(long long plain_size);

/*
 * Encrypts in_path into out_path (created or truncated, mode 0600) under a
 * fresh key. Returns 0 or -1 with *why set; out_path may then hold a
 * partial ciphertext the caller removes.
 */
int e2e_file_encrypt(const char *in_path, const char *out_path,
                     struct e2e_file_sealed *out, const char **why);

/*
 * Decrypts in_path into out_path (created or truncated, mode 0600). Fails
 * on any altered, reordered, truncated or extended chunk. *plain_size
 * (may be NULL) receives the plaintext size.
 */
int e2e_file_decrypt(const char *in_path, const char *out_path,
                     const unsigned char key[E2E_FILE_KEY_BYTES],
                     long long *plain_size, const char **why);

/* BLAKE2b-256 of a whole file and its size. Returns 0 or -1. */
int e2e_file_hash(const char *path, unsigned char hash[E2E_FILE_HASH_BYTES],
                  long long *size);

#endif
