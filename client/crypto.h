/*
 * The signed and encrypted formats of docs/E2E.md, without any I/O: device
 * bundles, device lists and message envelopes. Everything that arrives from
 * the network is checked here before the rest of the client trusts it.
 *
 * Binary values travel as standard padded base64. Functions that can refuse
 * their input return 0 or -1 and point *why at a short static reason that
 * is fit to show a user ("bad signature").
 */
#ifndef CHAT_CLIENT_CRYPTO_H
#define CHAT_CLIENT_CRYPTO_H

#include "ids.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#define E2E_IDENTITY_PUBLIC_BYTES crypto_sign_PUBLICKEYBYTES
#define E2E_IDENTITY_SECRET_BYTES crypto_sign_SECRETKEYBYTES
#define E2E_DEVICE_PUBLIC_BYTES   crypto_box_PUBLICKEYBYTES
#define E2E_DEVICE_SECRET_BYTES   crypto_box_SECRETKEYBYTES
#define E2E_MESSAGE_KEY_BYTES     crypto_aead_xchacha20poly1305_ietf_KEYBYTES

/* Device ids are the server's, sent as strings; they share the alphabet of
 * user ids, which keeps the signed texts (joined by \n and ,) unambiguous. */
#define E2E_DEVICE_ID_MAX CHAT_ID_MAX

/* Devices one list may name, and recipients one message may have. */
#define E2E_DEVICES_MAX    1000
#define E2E_RECIPIENTS_MAX 100000

/* The envelope version this client writes and reads. */
#define E2E_MESSAGE_VERSION 1

struct e2e_identity {
	unsigned char public_key[E2E_IDENTITY_PUBLIC_BYTES];
	unsigned char secret_key[E2E_IDENTITY_SECRET_BYTES];
};

struct e2e_device_keys {
	unsigned char public_key[E2E_DEVICE_PUBLIC_BYTES];
	unsigned char secret_key[E2E_DEVICE_SECRET_BYTES];
};

/* A device bundle: one device's X25519 key, signed by its user's identity. */
struct e2e_bundle {
	char user[CHAT_ID_MAX + 1];
	char device[E2E_DEVICE_ID_MAX + 1];
	unsigned char key[E2E_DEVICE_PUBLIC_BYTES];
	unsigned char identity[E2E_IDENTITY_PUBLIC_BYTES];
	long long created; /* milliseconds since the epoch */
};

/* A user's device list, signed by the identity key. */
struct e2e_device_list {
	char user[CHAT_ID_MAX + 1];
	long long version;
	unsigned char identity[E2E_IDENTITY_PUBLIC_BYTES];
	char (*devices)[E2E_DEVICE_ID_MAX + 1]; /* malloc'd */
	size_t count;
};

/* ---- base64 (sodium_base64_VARIANT_ORIGINAL) ---- */

/* A malloc'd NUL-terminated base64 text of bin[0..len), NULL without
 * memory. */
char *e2e_b64_encode(const unsigned char *bin, size_t len);

/* Decodes text that must be exactly `len` bytes. Returns 0 or -1. */
int e2e_b64_decode_exact(const char *text, unsigned char *out, size_t len);

/* Decodes text of any length into a malloc'd buffer. Returns 0 or -1. */
int e2e_b64_decode(const char *text, unsigned char **out, size_t *len);

/* ---- keys ---- */

void e2e_identity_generate(struct e2e_identity *id);
void e2e_device_keys_generate(struct e2e_device_keys *keys);

/* True for a device id this client accepts (see E2E_DEVICE_ID_MAX). */
bool e2e_valid_device_id(const char *device);

/* ---- bundles ---- */

/*
 * The signed bundle as a JSON object (caller frees), with b->identity and
 * the signature of identity_secret; NULL when b holds an invalid id or
 * there is no memory. The identity's public key must be b->identity.
 */
cJSON *e2e_bundle_sign(const struct e2e_bundle *b,
                       const unsigned char identity_secret[]);

/* Checks fields and signature of a bundle object and fills out. */
int e2e_bundle_verify(const cJSON *json, struct e2e_bundle *out,
                      const char **why);

/* ---- device lists ---- */

/* The signed list as a JSON object, or NULL (invalid ids, no memory). */
cJSON *e2e_device_list_sign(const struct e2e_device_list *l,
                            const unsigned char identity_secret[]);

/* Checks fields and signature and fills out (free with
 * e2e_device_list_free, also after a failure). */
int e2e_device_list_verify(const cJSON *json, struct e2e_device_list *out,
                           const char **why);

/* Appends a device unless it is listed already. Returns 0 or -1. */
int e2e_device_list_add(struct e2e_device_list *l, const char *device);

bool e2e_device_list_has(const struct e2e_device_list *l, const char *device);

void e2e_device_list_free(struct e2e_device_list *l);

/* ---- messages ---- */

/* A device a message key is wrapped for. */
struct e2e_recipient {
	const char *user;
	const char *device;
	const unsigned char *key; /* its X25519 public key */
};

/* What a message is bound to: its additional data. */
struct e2e_message_context {
	const char *convo;
	const char *sender; /* the sender's user id */
	const char *cmid;
};

/*
 * Encrypts plaintext[0..len) under a fresh message key and wraps that key
 * for every recipient with the sender device's secret key. *body receives
 * the envelope JSON text (malloc'd). Returns 0 or -1 (*why set).
 */
int e2e_message_seal(const struct e2e_message_context *ctx,
                     const char *sender_device,
                     const unsigned char sender_secret[],
                     const struct e2e_recipient *recipients, size_t count,
                     const char *plaintext, size_t len, char **body,
                     const char **why);

/* An envelope taken apart for one reading device. */
struct e2e_sealed {
	char sender_device[E2E_DEVICE_ID_MAX + 1];
	unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned char *ct; /* malloc'd */
	size_t ct_len;
	unsigned char box_nonce[crypto_box_NONCEBYTES];
	unsigned char box[E2E_MESSAGE_KEY_BYTES + crypto_box_MACBYTES];
};

/*
 * Parses an envelope and finds the key wrapped for (user, device). Fails
 * for anything that is not a version 1 envelope, and when the message has
 * no key for this device. Free with e2e_sealed_free, also after a failure.
 */
int e2e_message_parse(const char *body, const char *user, const char *device,
                      struct e2e_sealed *out, const char **why);

/*
 * Unwraps the message key with the sender device's public key (which the
 * caller has found in a verified bundle of ctx->sender) and decrypts.
 * *plaintext receives a NUL-terminated malloc'd copy that is valid UTF-8.
 */
int e2e_message_open(const struct e2e_sealed *s,
                     const struct e2e_message_context *ctx,
                     const unsigned char sender_key[],
                     const unsigned char reader_secret[], char **plaintext,
                     size_t *len, const char **why);

void e2e_sealed_free(struct e2e_sealed *s);

/* The additional data of a message: "chat-msg-v1\n{convo}\n{sender}\n{cmid}"
 * (malloc'd), or NULL without memory. */
char *e2e_message_ad(const struct e2e_message_context *ctx);

#endif
