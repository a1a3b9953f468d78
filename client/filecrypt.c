#include "filecrypt.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define STREAM_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define STREAM_TAG_BYTES    crypto_secretstream_xchacha20poly1305_ABYTES
#define CIPHER_CHUNK        (E2E_FILE_CHUNK + STREAM_TAG_BYTES)

long long e2e_file_cipher_size(long long plain_size)
{
	long long chunks = (plain_size + E2E_FILE_CHUNK - 1) / E2E_FILE_CHUNK;

	if (chunks == 0)
		chunks = 1; /* an empty file is one empty FINAL chunk */
	return STREAM_HEADER_BYTES + plain_size + chunks * STREAM_TAG_BYTES;
}

static FILE *open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "wb");
	if (f == NULL)
		close(fd);
	return f;
}

/* Closes a written file, flushing it to disk; false when anything
 * failed. */
static bool close_output(FILE *f)
{
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;

	return fclose(f) == 0 && ok;
}

static bool write_hashed(FILE *out, crypto_generichash_state *h,
                         const unsigned char *buf, size_t len)
{
	crypto_generichash_update(h, buf, len);
	return fwrite(buf, 1, len, out) == len;
}

/* The chunk loop: reads one chunk ahead to know which one is last. */
static int encrypt_chunks(FILE *in, FILE *out,
                          crypto_secretstream_xchacha20poly1305_state *st,
                          crypto_generichash_state *h,
                          struct e2e_file_sealed *sealed, const char **why)
{
	unsigned char *cur = malloc(E2E_FILE_CHUNK);
	unsigned char *next = malloc(E2E_FILE_CHUNK);
	unsigned char *ct = malloc(CIPHER_CHUNK);
	size_t cur_len, next_len;
	int rc = -1;

	*why = "out of memory";
	if (cur == NULL || next == NULL || ct == NULL)
		goto done;
	*why = "cannot read the file";
	cur_len = fread(cur, 1, E2E_FILE_CHUNK, in);
	for (;;) {
		unsigned char tag;
		unsigned long long ct_len;
		unsigned char *swap;

		next_len = cur_len == E2E_FILE_CHUNK
		               ? fread(next, 1, E2E_FILE_CHUNK, in)
		               : 0;
		if (ferror(in))
			goto done;
		sealed->plain_size += (long long)cur_len;
		if (sealed->plain_size > E2E_FILE_MAX) {
			*why = "file larger than 100 MiB";
			goto done;
		}
		tag = next_len == 0
		          ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
		          : 0;
		crypto_secretstream_xchacha20poly1305_push(
		    st, ct, &ct_len, cur, cur_len, NULL, 0, tag);
		if (!write_hashed(out, h, ct, (size_t)ct_len)) {
			*why = "cannot write the ciphertext";
			goto done;
		}
		sealed->cipher_size += (long long)ct_len;
		if (next_len == 0)
			break;
		swap = cur, cur = next, next = swap;
		cur_len = next_len;
	}
	rc = 0;
	*why = NULL;
done:
	free(cur);
	free(next);
	free(ct);
	return rc;
}

int e2e_file_encrypt(const char *in_path, const char *out_path,
                     struct e2e_file_sealed *sealed, const char **why)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char header[STREAM_HEADER_BYTES];
	crypto_generichash_state h;
	FILE *in = fopen(in_path, "rb"), *out = NULL;
	int rc = -1;

	*why = "cannot open the file";
	if (in == NULL)
		return -1;
	out = open_output(out_path);
	if (out == NULL) {
		*why = "cannot create the ciphertext file";
		goto done;
	}
	sealed->plain_size = 0;
	crypto_secretstream_xchacha20poly1305_keygen(sealed->key);
	crypto_secretstream_xchacha20poly1305_init_push(&st, header,
	                                                sealed->key);
	crypto_generichash_init(&h, NULL, 0, sizeof(sealed->hash));
	sealed->cipher_size = sizeof(header);
	if (!write_hashed(out, &h, header, sizeof(header))) {
		*why = "cannot write the ciphertext";
		goto done;
	}
	rc = encrypt_chunks(in, out, &st, &h, sealed, why);
	crypto_generichash_final(&h, sealed->hash, sizeof(sealed->hash));
done:
	if (out != NULL && !close_output(out) && rc == 0) {
		*why = "cannot write the ciphertext";
		rc = -1;
	}
	fclose(in);
	sodium_memzero(&st, sizeof(st));
	return rc;
}

static int decrypt_chunks(FILE *in, FILE *out,
                          crypto_secretstream_xchacha20poly1305_state *st,
                          long long *plain_size, const char **why)
{
	unsigned char *ct = malloc(CIPHER_CHUNK);
	unsigned char *pt = malloc(E2E_FILE_CHUNK);
	unsigned char tag = 0;
	int rc = -1;

	*why = "out of memory";
	if (ct == NULL || pt == NULL)
		goto done;
	while (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		size_t n = fread(ct, 1, CIPHER_CHUNK, in);
		unsigned long long pt_len;

		*why = "ciphertext truncated";
		if (n < STREAM_TAG_BYTES)
			goto done;
		*why = "ciphertext altered";
		if (crypto_secretstream_xchacha20poly1305_pull(
		        st, pt, &pt_len, &tag, ct, n, NULL, 0) != 0)
			goto done;
		if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL &&
		    n < CIPHER_CHUNK) {
			*why = "ciphertext truncated";
			goto done;
		}
		*plain_size += (long long)pt_len;
		if (fwrite(pt, 1, (size_t)pt_len, out) != pt_len) {
			*why = "cannot write the file";
			goto done;
		}
	}
	*why = "data after the final chunk";
	if (fgetc(in) != EOF)
		goto done;
	rc = 0;
	*why = NULL;
done:
	free(ct);
	free(pt);
	return rc;
}

int e2e_file_decrypt(const char *in_path, const char *out_path,
                     const unsigned char key[E2E_FILE_KEY_BYTES],
                     long long *plain_size, const char **why)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char header[STREAM_HEADER_BYTES];
	FILE *in = fopen(in_path, "rb"), *out = NULL;
	long long size = 0;
	int rc = -1;

	*why = "cannot open the ciphertext";
	if (in == NULL)
		return -1;
	*why = "ciphertext truncated";
	if (fread(header, 1, sizeof(header), in) != sizeof(header))
		goto done;
	*why = "bad file key or header";
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) !=
	    0)
		goto done;
	out = open_output(out_path);
	*why = "cannot create the file";
	if (out == NULL)
		goto done;
	rc = decrypt_chunks(in, out, &st, &size, why);
done:
	if (out != NULL && !close_output(out) && rc == 0) {
		*why = "cannot write the file";
		rc = -1;
	}
	fclose(in);
	sodium_memzero(&st, sizeof(st));
	if (rc == 0 && plain_size != NULL)
		*plain_size = size;
	return rc;
}

int e2e_file_hash(const char *path, unsigned char hash[E2E_FILE_HASH_BYTES],
                  long long *size)
{
	unsigned char *buf = malloc(E2E_FILE_CHUNK);
	crypto_generichash_state h;
	FILE *f = fopen(path, "rb");
	long long total = 0;
	size_t n;
	int rc = -1;

	if (f == NULL || buf == NULL)
		goto done;
	crypto_generichash_init(&h, NULL, 0, E2E_FILE_HASH_BYTES);
	while ((n = fread(buf, 1, E2E_FILE_CHUNK, f)) > 0) {
		crypto_generichash_update(&h, buf, n);
		total += (long long)n;
	}
	if (ferror(f))
		goto done;
	crypto_generichash_final(&h, hash, E2E_FILE_HASH_BYTES);
	*size = total;
	rc = 0;
done:
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}
