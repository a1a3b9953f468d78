/*
 * The signed formats of docs/E2E.md as the key directory checks them:
 * device bundles and device lists, their exact signed bytes, and how the
 * bridge writes them out again (fixed key order, nothing but the fields
 * the format has). Binary values are standard base64 with padding
 * (sodium_base64_VARIANT_ORIGINAL), and must decode to exactly the
 * length of their key or signature.
 *
 * Internal to the request handlers.
 */
#ifndef BRIDGE_KEY_FORMATS_H
#define BRIDGE_KEY_FORMATS_H

#include "json_writer.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Device ids a device list may name. */
#define BRIDGE_LIST_DEVICES_MAX 1000

/* A device bundle; strings borrowed from the parsed request. */
struct bridge_bundle {
	const char *user;
	const char *device;
	const char *key;      /* X25519 public key */
	const char *identity; /* Ed25519 public key */
	long long created;
	const char *sig;
};

/* A signed device list; strings and devices borrowed from the request. */
struct bridge_device_list {
	const char *user;
	const cJSON *devices; /* an array of device ids */
	long long version;
	const char *identity;
	const char *sig;
};

/* Whether text is the base64 of exactly bytes bytes. */
bool bridge_key_text_valid(const char *text, size_t bytes);

/* Reads a bundle: NULL, or what is wrong with it. */
const char *bridge_bundle_read(const cJSON *obj, struct bridge_bundle *b);

/* Whether the bundle's sig verifies with its identity key over
 * "chat-bundle-v1\n{user}\n{device}\n{key}\n{created}". */
bool bridge_bundle_verify(const struct bridge_bundle *b);

void bridge_bundle_write(struct json_writer *w, const struct bridge_bundle *b);

/* Reads a device list (at most BRIDGE_LIST_DEVICES_MAX devices, each
 * once): NULL, or what is wrong with it. */
const char *bridge_device_list_read(const cJSON *obj,
                                    struct bridge_device_list *l);

/* Whether the list's sig verifies with identity (base64) over
 * "chat-devices-v1\n{user}\n{version}\n{devices joined by ,}". */
bool bridge_device_list_verify(const struct bridge_device_list *l,
                               const char *identity);

void bridge_device_list_write(struct json_writer *w,
                              const struct bridge_device_list *l);

#endif
