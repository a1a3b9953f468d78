#include "crypto.h"

#include "json.h"
#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_CONTEXT  "chat-bundle-v1"
#define DEVICES_CONTEXT "chat-devices-v1"
#define MESSAGE_CONTEXT "chat-msg-v1"

#define AEAD_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define AEAD_TAG_BYTES   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define BOX_BYTES        (E2E_MESSAGE_KEY_BYTES + crypto_box_MACBYTES)

/* A signature over text that has a newline-separated shape is only
 * unambiguous when no field can hold a newline or the list separator. */
bool e2e_valid_device_id(const char *device)
{
	return chat_valid_user_id(device);
}

char *e2e_b64_encode(const unsigned char *bin, size_t len)
{
	size_t size =
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(size);

	if (out != NULL)
		sodium_bin2base64(out, size, bin, len,
		                  sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int e2e_b64_decode_exact(const char *text, unsigned char *out, size_t len)
{
	size_t text_len, got = 0;
	const char *end = NULL;

	if (text == NULL)
		return -1;
	text_len = strlen(text);
	if (sodium_base642bin(out, len, text, text_len, NULL, &got, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return end == text + text_len && got == len ? 0 : -1;
}

int e2e_b64_decode(const char *text, unsigned char **out, size_t *len)
{
	size_t text_len, cap, got = 0;
	const char *end = NULL;
	unsigned char *buf;

	if (text == NULL)
		return -1;
	text_len = strlen(text);
	cap = text_len / 4 * 3 + 3;
	buf = malloc(cap);
	if (buf == NULL)
		return -1;
	if (sodium_base642bin(buf, cap, text, text_len, NULL, &got, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != text + text_len) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = got;
	return 0;
}

void e2e_identity_generate(struct e2e_identity *id)
{
	crypto_sign_keypair(id->public_key, id->secret_key);
}

void e2e_device_keys_generate(struct e2e_device_keys *keys)
{
	crypto_box_keypair(keys->public_key, keys->secret_key);
}

/* ---- bundles ---- */

/* The exact bytes a bundle's signature covers; key_text is the base64 of
 * the device key as it travels. Returns the length, or -1 if it does not
 * fit. */
static int bundle_signed_text(char *out, size_t outlen, const char *user,
                              const char *device, const char *key_text,
                              long long created)
{
	int n = snprintf(out, outlen, BUNDLE_CONTEXT "\n%s\n%s\n%s\n%lld", user,
	                 device, key_text, created);

	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

static int add_b64(cJSON *obj, const char *name, const unsigned char *bin,
                   size_t len)
{
	char *text = e2e_b64_encode(bin, len);
	int rc = -1;

	if (text != NULL && cJSON_AddStringToObject(obj, name, text) != NULL)
		rc = 0;
	free(text);
	return rc;
}

cJSON *e2e_bundle_sign(const struct e2e_bundle *b,
                       const unsigned char identity_secret[])
{
	unsigned char sig[crypto_sign_BYTES];
	char text[512];
	char *key_text = NULL;
	cJSON *obj = NULL;
	int len;

	if (!chat_valid_user_id(b->user) || !e2e_valid_device_id(b->device) ||
	    b->created < 0)
		return NULL;
	key_text = e2e_b64_encode(b->key, sizeof(b->key));
	if (key_text == NULL)
		return NULL;
	len = bundle_signed_text(text, sizeof(text), b->user, b->device,
	                         key_text, b->created);
	if (len < 0)
		goto fail;
	crypto_sign_detached(sig, NULL, (const unsigned char *)text,
	                     (unsigned long long)len, identity_secret);
	obj = cJSON_CreateObject();
	if (obj == NULL || !cJSON_AddStringToObject(obj, "user", b->user) ||
	    !cJSON_AddStringToObject(obj, "device", b->device) ||
	    !cJSON_AddStringToObject(obj, "key", key_text) ||
	    add_b64(obj, "identity", b->identity, sizeof(b->identity)) != 0 ||
	    !cJSON_AddNumberToObject(obj, "created", (double)b->created) ||
	    add_b64(obj, "sig", sig, sizeof(sig)) != 0)
		goto fail;
	free(key_text);
	return obj;
fail:
	cJSON_Delete(obj);
	free(key_text);
	return NULL;
}

int e2e_bundle_verify(const cJSON *json, struct e2e_bundle *out,
                      const char **why)
{
	unsigned char sig[crypto_sign_BYTES];
	const char *user = client_json_string(json, "user");
	const char *device = client_json_string(json, "device");
	const char *key_text = client_json_string(json, "key");
	char text[512];
	int len;

	*why = "malformed bundle";
	if (!chat_valid_user_id(user) || !e2e_valid_device_id(device) ||
	    e2e_b64_decode_exact(key_text, out->key, sizeof(out->key)) != 0 ||
	    e2e_b64_decode_exact(client_json_string(json, "identity"),
	                         out->identity, sizeof(out->identity)) != 0 ||
	    e2e_b64_decode_exact(client_json_string(json, "sig"), sig,
	                         sizeof(sig)) != 0 ||
	    client_json_integer(json, "created", &out->created) != 0)
		return -1;
	len = bundle_signed_text(text, sizeof(text), user, device, key_text,
	                         out->created);
	if (len < 0)
		return -1;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)text,
	                                (unsigned long long)len,
	                                out->identity) != 0) {
		*why = "bad bundle signature";
		return -1;
	}
	snprintf(out->user, sizeof(out->user), "%s", user);
	snprintf(out->device, sizeof(out->device), "%s", device);
	*why = NULL;
	return 0;
}

/* ---- device lists ---- */

/* "chat-devices-v1\n{user}\n{version}\n{d1,d2,...}", malloc'd. */
static char *device_list_signed_text(const struct e2e_device_list *l,
                                     size_t *len)
{
	size_t cap = sizeof(DEVICES_CONTEXT) + CHAT_ID_MAX + 32 +
	             l->count * (E2E_DEVICE_ID_MAX + 1) + 1;
	char *text = malloc(cap);
	size_t used;

	if (text == NULL)
		return NULL;
	used = (size_t)snprintf(text, cap, DEVICES_CONTEXT "\n%s\n%lld\n",
	                        l->user, l->version);
	for (size_t i = 0; i < l->count; i++)
		used += (size_t)snprintf(text + used, cap - used, "%s%s",
		                         i ? "," : "", l->devices[i]);
	*len = used;
	return text;
}

static bool device_list_ids_valid(const struct e2e_device_list *l)
{
	if (!chat_valid_user_id(l->user) || l->version < 0 ||
	    l->count > E2E_DEVICES_MAX)
		return false;
	for (size_t i = 0; i < l->count; i++)
		if (!e2e_valid_device_id(l->devices[i]))
			return false;
	return true;
}

cJSON *e2e_device_list_sign(const struct e2e_device_list *l,
                            const unsigned char identity_secret[])
{
	unsigned char sig[crypto_sign_BYTES];
	cJSON *obj = NULL, *devices;
	size_t len;
	char *text;

	if (!device_list_ids_valid(l))
		return NULL;
	text = device_list_signed_text(l, &len);
	if (text == NULL)
		return NULL;
	crypto_sign_detached(sig, NULL, (const unsigned char *)text, len,
	                     identity_secret);
	free(text);
	obj = cJSON_CreateObject();
	if (obj == NULL || !cJSON_AddStringToObject(obj, "user", l->user))
		goto fail;
	devices = cJSON_AddArrayToObject(obj, "devices");
	if (devices == NULL)
		goto fail;
	for (size_t i = 0; i < l->count; i++)
		if (!cJSON_AddItemToArray(devices,
		                          cJSON_CreateString(l->devices[i])))
			goto fail;
	if (!cJSON_AddNumberToObject(obj, "version", (double)l->version) ||
	    add_b64(obj, "identity", l->identity, sizeof(l->identity)) != 0 ||
	    add_b64(obj, "sig", sig, sizeof(sig)) != 0)
		goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

int e2e_device_list_add(struct e2e_device_list *l, const char *device)
{
	char(*grown)[E2E_DEVICE_ID_MAX + 1];

	if (!e2e_valid_device_id(device) || l->count >= E2E_DEVICES_MAX)
		return -1;
	if (e2e_device_list_has(l, device))
		return 0;
	grown = realloc(l->devices, (l->count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	l->devices = grown;
	snprintf(l->devices[l->count++], sizeof(*grown), "%s", device);
	return 0;
}

bool e2e_device_list_has(const struct e2e_device_list *l, const char *device)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->devices[i], device) == 0)
			return true;
	return false;
}

void e2e_device_list_free(struct e2e_device_list *l)
{
	free(l->devices);
	l->devices = NULL;
	l->count = 0;
}

static int read_device_ids(const cJSON *array, struct e2e_device_list *l)
{
	const cJSON *item;

	if (!cJSON_IsArray(array) ||
	    cJSON_GetArraySize(array) > E2E_DEVICES_MAX)
		return -1;
	cJSON_ArrayForEach(item, array)
	{
		/* Listed twice would sign the same text as listed once. */
		if (!cJSON_IsString(item) ||
		    e2e_device_list_has(l, item->valuestring) ||
		    e2e_device_list_add(l, item->valuestring) != 0)
			return -1;
	}
	return 0;
}

int e2e_device_list_verify(const cJSON *json, struct e2e_device_list *out,
                           const char **why)
{
	unsigned char sig[crypto_sign_BYTES];
	const char *user = client_json_string(json, "user");
	size_t len;
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	*why = "malformed device list";
	if (!chat_valid_user_id(user) ||
	    client_json_integer(json, "version", &out->version) != 0 ||
	    e2e_b64_decode_exact(client_json_string(json, "identity"),
	                         out->identity, sizeof(out->identity)) != 0 ||
	    e2e_b64_decode_exact(client_json_string(json, "sig"), sig,
	                         sizeof(sig)) != 0)
		return -1;
	snprintf(out->user, sizeof(out->user), "%s", user);
	if (read_device_ids(cJSON_GetObjectItemCaseSensitive(json, "devices"),
	                    out) != 0)
		return -1;
	text = device_list_signed_text(out, &len);
	if (text == NULL)
		return -1;
	rc = crypto_sign_verify_detached(sig, (const unsigned char *)text, len,
	                                 out->identity);
	free(text);
	if (rc != 0) {
		*why = "bad device list signature";
		return -1;
	}
	*why = NULL;
	return 0;
}

/* ---- messages ---- */

char *e2e_message_ad(const struct e2e_message_context *ctx)
{
	size_t len = strlen(MESSAGE_CONTEXT) + strlen(ctx->convo) +
	             strlen(ctx->sender) + strlen(ctx->cmid) + 4;
	char *ad = malloc(len);

	if (ad != NULL)
		snprintf(ad, len, MESSAGE_CONTEXT "\n%s\n%s\n%s", ctx->convo,
		         ctx->sender, ctx->cmid);
	return ad;
}

/* One entry of "keys"; a recipient whose key libsodium refuses (a
 * low-order point) is left out rather than failing the whole message. */
static int add_wrapped_key(cJSON *keys, const struct e2e_recipient *r,
                           const unsigned char message_key[],
                           const unsigned char sender_secret[])
{
	unsigned char nonce[crypto_box_NONCEBYTES];
	unsigned char box[BOX_BYTES];
	cJSON *entry;

	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_box_easy(box, message_key, E2E_MESSAGE_KEY_BYTES, nonce,
	                    r->key, sender_secret) != 0)
		return 0;
	entry = cJSON_CreateObject();
	if (entry == NULL || !cJSON_AddItemToArray(keys, entry))
		goto fail;
	if (!cJSON_AddStringToObject(entry, "user", r->user) ||
	    !cJSON_AddStringToObject(entry, "device", r->device) ||
	    add_b64(entry, "nonce", nonce, sizeof(nonce)) != 0 ||
	    add_b64(entry, "box", box, sizeof(box)) != 0)
		return -1;
	return 0;
fail:
	cJSON_Delete(entry);
	return -1;
}

static cJSON *envelope_header(const char *sender_device,
                              const unsigned char nonce[],
                              const unsigned char *ct, size_t ct_len)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL ||
	    !cJSON_AddNumberToObject(obj, "v", E2E_MESSAGE_VERSION) ||
	    !cJSON_AddStringToObject(obj, "sender_device", sender_device) ||
	    add_b64(obj, "nonce", nonce, AEAD_NONCE_BYTES) != 0 ||
	    add_b64(obj, "ct", ct, ct_len) != 0) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

int e2e_message_seal(const struct e2e_message_context *ctx,
                     const char *sender_device,
                     const unsigned char sender_secret[],
                     const struct e2e_recipient *recipients, size_t count,
                     const char *plaintext, size_t len, char **body,
                     const char **why)
{
	unsigned char message_key[E2E_MESSAGE_KEY_BYTES];
	unsigned char nonce[AEAD_NONCE_BYTES];
	unsigned long long ct_len;
	unsigned char *ct = NULL;
	cJSON *obj = NULL, *keys;
	char *ad = NULL;
	int rc = -1;

	*why = "out of memory";
	*body = NULL;
	if (!e2e_valid_device_id(sender_device) || count > E2E_RECIPIENTS_MAX) {
		*why = "invalid sender device or too many recipients";
		return -1;
	}
	ad = e2e_message_ad(ctx);
	ct = malloc(len + AEAD_TAG_BYTES);
	if (ad == NULL || ct == NULL)
		goto done;
	crypto_aead_xchacha20poly1305_ietf_keygen(message_key);
	randombytes_buf(nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    ct, &ct_len, (const unsigned char *)plaintext, len,
	    (const unsigned char *)ad, strlen(ad), NULL, nonce, message_key);
	obj = envelope_header(sender_device, nonce, ct, (size_t)ct_len);
	keys = obj ? cJSON_AddArrayToObject(obj, "keys") : NULL;
	if (keys == NULL)
		goto done;
	for (size_t i = 0; i < count; i++)
		if (add_wrapped_key(keys, &recipients[i], message_key,
		                    sender_secret) != 0)
			goto done;
	*body = cJSON_PrintUnformatted(obj);
	if (*body != NULL) {
		rc = 0;
		*why = NULL;
	}
done:
	sodium_memzero(message_key, sizeof(message_key));
	cJSON_Delete(obj);
	free(ct);
	free(ad);
	return rc;
}

static const cJSON *find_wrapped_key(const cJSON *keys, const char *user,
                                     const char *device)
{
	const cJSON *entry;

	if (!cJSON_IsArray(keys))
		return NULL;
	cJSON_ArrayForEach(entry, keys)
	{
		const char *u = client_json_string(entry, "user");
		const char *d = client_json_string(entry, "device");

		if (u && d && strcmp(u, user) == 0 && strcmp(d, device) == 0)
			return entry;
	}
	return NULL;
}

static int parse_envelope(const cJSON *root, const char *user,
                          const char *device, struct e2e_sealed *out,
                          const char **why)
{
	const char *sender_device = client_json_string(root, "sender_device");
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	const cJSON *mine;
	long long version;

	if (client_json_integer(root, "v", &version) != 0) {
		*why = "not an encrypted message";
		return -1;
	}
	if (version != E2E_MESSAGE_VERSION) {
		*why = "unsupported envelope version";
		return -1;
	}
	*why = "malformed envelope";
	if (!e2e_valid_device_id(sender_device) || !cJSON_IsArray(keys) ||
	    e2e_b64_decode_exact(client_json_string(root, "nonce"), out->nonce,
	                         sizeof(out->nonce)) != 0 ||
	    e2e_b64_decode(client_json_string(root, "ct"), &out->ct,
	                   &out->ct_len) != 0 ||
	    out->ct_len < AEAD_TAG_BYTES)
		return -1;
	snprintf(out->sender_device, sizeof(out->sender_device), "%s",
	         sender_device);
	mine = find_wrapped_key(keys, user, device);
	if (mine == NULL) {
		*why = "no key for this device";
		return -1;
	}
	if (e2e_b64_decode_exact(client_json_string(mine, "nonce"),
	                         out->box_nonce, sizeof(out->box_nonce)) != 0 ||
	    e2e_b64_decode_exact(client_json_string(mine, "box"), out->box,
	                         sizeof(out->box)) != 0)
		return -1;
	*why = NULL;
	return 0;
}

int e2e_message_parse(const char *body, const char *user, const char *device,
                      struct e2e_sealed *out, const char **why)
{
	cJSON *root;
	int rc;

	memset(out, 0, sizeof(*out));
	root = body ? chat_json_parse_exact(body, strlen(body)) : NULL;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*why = "not an encrypted message";
		return -1;
	}
	rc = parse_envelope(root, user, device, out, why);
	cJSON_Delete(root);
	return rc;
}

int e2e_message_open(const struct e2e_sealed *s,
                     const struct e2e_message_context *ctx,
                     const unsigned char sender_key[],
                     const unsigned char reader_secret[], char **plaintext,
                     size_t *len, const char **why)
{
	unsigned char message_key[E2E_MESSAGE_KEY_BYTES];
	unsigned long long out_len = 0;
	char *ad = NULL, *out = NULL;
	int rc = -1;

	*plaintext = NULL;
	if (crypto_box_open_easy(message_key, s->box, sizeof(s->box),
	                         s->box_nonce, sender_key,
	                         reader_secret) != 0) {
		*why = "message key not wrapped by the sender's device";
		return -1;
	}
	*why = "out of memory";
	ad = e2e_message_ad(ctx);
	out = malloc(s->ct_len - AEAD_TAG_BYTES + 1);
	if (ad == NULL || out == NULL)
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        (unsigned char *)out, &out_len, NULL, s->ct, s->ct_len,
	        (const unsigned char *)ad, strlen(ad), s->nonce,
	        message_key) != 0) {
		*why = "ciphertext or its conversation, sender or cmid altered";
		goto done;
	}
	out[out_len] = '\0';
	if (!chat_utf8_valid(out, (size_t)out_len)) {
		*why = "plaintext is not text";
		goto done;
	}
	*plaintext = out;
	*len = (size_t)out_len;
	out = NULL;
	*why = NULL;
	rc = 0;
done:
	sodium_memzero(message_key, sizeof(message_key));
	free(out);
	free(ad);
	return rc;
}

void e2e_sealed_free(struct e2e_sealed *s)
{
	free(s->ct);
	s->ct = NULL;
}
