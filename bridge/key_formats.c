#include "key_formats.h"

#include "ids.h"
#include "message.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_CONTEXT  "chat-bundle-v1"
#define DEVICES_CONTEXT "chat-devices-v1"

/* Decodes text into exactly len bytes; nothing may be left over. */
static bool decode_exact(const char *text, unsigned char *out, size_t len)
{
	size_t decoded = 0;
	const char *end = NULL;

	if (text == NULL)
		return false;
	if (sodium_base642bin(out, len, text, strlen(text), NULL, &decoded,
	                      &end, sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return decoded == len && end != NULL && *end == '\0';
}

bool bridge_key_text_valid(const char *text, size_t bytes)
{
	unsigned char buf[crypto_sign_BYTES];

	return bytes <= sizeof(buf) && decode_exact(text, buf, bytes);
}

/* Device ids are the server's, decimal; any id-safe text is accepted, so
 * a list is checked only for what its signature covers. */
static bool valid_device_id(const char *device)
{
	return chat_valid_user_id(device);
}

const char *bridge_bundle_read(const cJSON *obj, struct bridge_bundle *b)
{
	if (!cJSON_IsObject(obj))
		return "bundle must be an object";
	b->user = bridge_json_string(obj, "user");
	b->device = bridge_json_string(obj, "device");
	b->key = bridge_json_string(obj, "key");
	b->identity = bridge_json_string(obj, "identity");
	b->sig = bridge_json_string(obj, "sig");
	if (!chat_valid_user_id(b->user))
		return "bundle.user must be a user id";
	if (!valid_device_id(b->device))
		return "bundle.device must be a device id";
	if (!bridge_key_text_valid(b->key, crypto_box_PUBLICKEYBYTES))
		return "bundle.key must be the base64 of 32 bytes";
	if (!bridge_key_text_valid(b->identity, crypto_sign_PUBLICKEYBYTES))
		return "bundle.identity must be the base64 of 32 bytes";
	if (!bridge_key_text_valid(b->sig, crypto_sign_BYTES))
		return "bundle.sig must be the base64 of 64 bytes";
	if (!bridge_json_count(cJSON_GetObjectItemCaseSensitive(obj, "created"),
	                       &b->created))
		return "bundle.created must be a whole number";
	return NULL;
}

/* Whether sig (base64) verifies with identity (base64) over the len
 * bytes of text. */
static bool verify(const char *sig, const char *identity, const char *text,
                   size_t len)
{
	unsigned char signature[crypto_sign_BYTES];
	unsigned char public_key[crypto_sign_PUBLICKEYBYTES];

	if (!decode_exact(sig, signature, sizeof(signature)) ||
	    !decode_exact(identity, public_key, sizeof(public_key)))
		return false;
	return crypto_sign_verify_detached(signature,
	                                   (const unsigned char *)text, len,
	                                   public_key) == 0;
}

bool bridge_bundle_verify(const struct bridge_bundle *b)
{
	/* Every part is bounded: ids of 64, keys of 44, a number of 20. */
	char text[256];
	int n =
	    snprintf(text, sizeof(text), BUNDLE_CONTEXT "\n%s\n%s\n%s\n%lld",
	             b->user, b->device, b->key, b->created);

	if (n < 0 || (size_t)n >= sizeof(text))
		return false;
	return verify(b->sig, b->identity, text, (size_t)n);
}

void bridge_bundle_write(struct json_writer *w, const struct bridge_bundle *b)
{
	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, b->user);
	json_writer_key(w, "device");
	json_writer_string(w, b->device);
	json_writer_key(w, "key");
	json_writer_string(w, b->key);
	json_writer_key(w, "identity");
	json_writer_string(w, b->identity);
	json_writer_key(w, "created");
	json_writer_int(w, b->created);
	json_writer_key(w, "sig");
	json_writer_string(w, b->sig);
	json_writer_close_object(w);
}

/* Each device once: listed twice, the list would sign the same text as
 * another list. */
static const char *check_devices(const cJSON *devices)
{
	const cJSON *item, *earlier;

	if (!cJSON_IsArray(devices) ||
	    cJSON_GetArraySize(devices) > BRIDGE_LIST_DEVICES_MAX)
		return "list.devices must be an array of at most 1000 device "
		       "ids";
	cJSON_ArrayForEach(item, devices)
	{
		if (!cJSON_IsString(item) ||
		    !valid_device_id(item->valuestring))
			return "list.devices must be an array of device ids";
		for (earlier = devices->child; earlier != item;
		     earlier = earlier->next)
			if (strcmp(earlier->valuestring, item->valuestring) ==
			    0)
				return "list.devices names a device twice";
	}
	return NULL;
}

const char *bridge_device_list_read(const cJSON *obj,
                                    struct bridge_device_list *l)
{
	if (!cJSON_IsObject(obj))
		return "list must be an object";
	l->user = bridge_json_string(obj, "user");
	l->devices = cJSON_GetObjectItemCaseSensitive(obj, "devices");
	l->identity = bridge_json_string(obj, "identity");
	l->sig = bridge_json_string(obj, "sig");
	if (!chat_valid_user_id(l->user))
		return "list.user must be a user id";
	if (!bridge_json_count(cJSON_GetObjectItemCaseSensitive(obj, "version"),
	                       &l->version))
		return "list.version must be a whole number";
	if (!bridge_key_text_valid(l->identity, crypto_sign_PUBLICKEYBYTES))
		return "list.identity must be the base64 of 32 bytes";
	if (!bridge_key_text_valid(l->sig, crypto_sign_BYTES))
		return "list.sig must be the base64 of 64 bytes";
	return check_devices(l->devices);
}

bool bridge_device_list_verify(const struct bridge_device_list *l,
                               const char *identity)
{
	/* The header, then up to 1000 ids of up to 64 bytes and a comma. */
	size_t cap = sizeof(DEVICES_CONTEXT) + CHAT_ID_MAX + 32 +
	             (size_t)cJSON_GetArraySize(l->devices) * (CHAT_ID_MAX + 1);
	char *text = malloc(cap);
	const cJSON *item;
	size_t len;
	bool ok;
	int n;

	if (text == NULL)
		return false;
	n = snprintf(text, cap, DEVICES_CONTEXT "\n%s\n%lld\n", l->user,
	             l->version);
	len = n > 0 ? (size_t)n : 0;
	cJSON_ArrayForEach(item, l->devices)
	{
		len += (size_t)snprintf(text + len, cap - len, "%s%s",
		                        item == l->devices->child ? "" : ",",
		                        item->valuestring);
	}
	ok = n > 0 && len < cap && verify(l->sig, identity, text, len);
	free(text);
	return ok;
}

void bridge_device_list_write(struct json_writer *w,
                              const struct bridge_device_list *l)
{
	const cJSON *item;

	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, l->user);
	json_writer_key(w, "devices");
	json_writer_open_array(w);
	cJSON_ArrayForEach(item, l->devices)
	{
		json_writer_string(w, item->valuestring);
	}
	json_writer_close_array(w);
	json_writer_key(w, "version");
	json_writer_int(w, l->version);
	json_writer_key(w, "identity");
	json_writer_string(w, l->identity);
	json_writer_key(w, "sig");
	json_writer_string(w, l->sig);
	json_writer_close_object(w);
}
