/*
 * The key directory from the client's side. Out: this device's bundle,
 * the user's device list with this device added, one-time prekeys. In:
 * other users' keys, of which only what the user's identity key signed is
 * kept, and whose identity key is compared with the one trusted on first
 * use.
 */
#include "internal.h"

#include "fingerprint.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tries of publish_devices when another device of the user raced us. */
#define DEVICE_LIST_TRIES 3

/* ---- the cache ---- */

static void free_user_keys(struct client_user_keys *k)
{
	e2e_device_list_free(&k->list);
	free(k->bundles);
	free(k);
}

void client_keys_forget(struct chat_client *c, const char *user)
{
	struct client_user_keys **link = &c->keys;

	while (*link != NULL) {
		struct client_user_keys *k = *link;

		if (user == NULL || strcmp(k->user, user) == 0) {
			*link = k->next;
			free_user_keys(k);
		} else {
			link = &k->next;
		}
	}
}

static struct client_user_keys *cached(struct chat_client *c, const char *user)
{
	for (struct client_user_keys *k = c->keys; k != NULL; k = k->next)
		if (strcmp(k->user, user) == 0)
			return k;
	return NULL;
}

/* Replaces the cached entry of k->user with k. */
static void cache_put(struct chat_client *c, struct client_user_keys *k)
{
	client_keys_forget(c, k->user);
	k->next = c->keys;
	c->keys = k;
}

const struct e2e_bundle *client_keys_bundle(const struct client_user_keys *k,
                                            const char *device)
{
	for (size_t i = 0; i < k->bundle_count; i++)
		if (strcmp(k->bundles[i].device, device) == 0)
			return &k->bundles[i];
	return NULL;
}

/* ---- reading get_keys answers ---- */

static void read_device_list(struct client_user_keys *k, const cJSON *json)
{
	const char *why;

	if (!cJSON_IsObject(json))
		return;
	client_json_integer(json, "version", &k->list_version);
	if (e2e_device_list_verify(json, &k->list, &why) == 0 &&
	    strcmp(k->list.user, k->user) == 0 &&
	    sodium_memcmp(k->list.identity, k->identity, sizeof(k->identity)) ==
	        0) {
		k->list_valid = true;
		return;
	}
	e2e_device_list_free(&k->list);
}

static void read_bundles(struct client_user_keys *k, const cJSON *array)
{
	const cJSON *item;
	int count = cJSON_GetArraySize(array);

	if (!cJSON_IsArray(array) || count <= 0)
		return;
	k->bundles = calloc((size_t)count, sizeof(*k->bundles));
	if (k->bundles == NULL)
		return;
	cJSON_ArrayForEach(item, array)
	{
		struct e2e_bundle *b = &k->bundles[k->bundle_count];
		const char *why;

		if (e2e_bundle_verify(item, b, &why) != 0 ||
		    strcmp(b->user, k->user) != 0 ||
		    sodium_memcmp(b->identity, k->identity,
		                  sizeof(k->identity)) != 0 ||
		    client_keys_bundle(k, b->device) != NULL)
			continue;
		k->bundle_count++;
	}
}

/* One entry of "keys"; NULL when it is unusable. */
static struct client_user_keys *read_user_keys(const cJSON *entry)
{
	const char *user = client_json_string(entry, "user");
	struct client_user_keys *k;

	if (!chat_valid_user_id(user))
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	snprintf(k->user, sizeof(k->user), "%s", user);
	k->fetched_ms = client_monotonic_ms();
	if (e2e_b64_decode_exact(client_json_string(entry, "identity"),
	                         k->identity, sizeof(k->identity)) != 0)
		return k; /* published, but nothing can be trusted */
	k->published = true;
	read_device_list(k, cJSON_GetObjectItemCaseSensitive(entry, "devices"));
	read_bundles(k, cJSON_GetObjectItemCaseSensitive(entry, "bundles"));
	return k;
}

/* Users the answer did not mention have published nothing. */
static int cache_absent(struct chat_client *c, const char *user)
{
	struct client_user_keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	snprintf(k->user, sizeof(k->user), "%s", user);
	k->fetched_ms = client_monotonic_ms();
	cache_put(c, k);
	return 0;
}

static int fetch_batch(struct chat_client *c, const char *const *users,
                       size_t count)
{
	cJSON *req = client_new_request("get_keys"), *resp = NULL, *list;
	const cJSON *entry;
	int rc;

	list = req ? cJSON_AddArrayToObject(req, "users") : NULL;
	for (size_t i = 0; list != NULL && i < count; i++)
		if (!cJSON_AddItemToArray(list, cJSON_CreateString(users[i])))
			list = NULL;
	if (list == NULL) {
		cJSON_Delete(req);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	rc = client_request(c, req, &resp);
	cJSON_Delete(req);
	if (rc != CHAT_OK) {
		cJSON_Delete(resp);
		return rc;
	}
	for (size_t i = 0; i < count; i++)
		cache_absent(c, users[i]);
	cJSON_ArrayForEach(entry,
	                   cJSON_GetObjectItemCaseSensitive(resp, "keys"))
	{
		struct client_user_keys *k = read_user_keys(entry);

		if (k != NULL)
			cache_put(c, k);
	}
	cJSON_Delete(resp);
	return CHAT_OK;
}

int client_keys_fetch(struct chat_client *c, const char *const *users,
                      size_t count)
{
	for (size_t at = 0; at < count; at += CLIENT_KEYS_BATCH) {
		size_t n = count - at < CLIENT_KEYS_BATCH ? count - at
		                                          : CLIENT_KEYS_BATCH;
		int rc = fetch_batch(c, users + at, n);

		if (rc != CHAT_OK)
			return rc;
	}
	return CHAT_OK;
}

int client_keys_get(struct chat_client *c, const char *user,
                    long long max_age_ms, struct client_user_keys **out)
{
	struct client_user_keys *k = cached(c, user);
	int rc;

	if (k == NULL || (max_age_ms >= 0 &&
	                  client_monotonic_ms() - k->fetched_ms > max_age_ms)) {
		rc = client_keys_fetch(c, &user, 1);
		if (rc != CHAT_OK)
			return rc;
		k = cached(c, user);
	}
	*out = k;
	return k != NULL ? CHAT_OK
	                 : client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
}

/* ---- trust on first use ---- */

int client_keys_check_trust(struct chat_client *c,
                            const struct client_user_keys *k)
{
	unsigned char pinned[E2E_IDENTITY_PUBLIC_BYTES];
	char fingerprint[E2E_FINGERPRINT_LEN + 1];
	bool found;

	if (strcmp(k->user, c->account.user) == 0) {
		if (sodium_memcmp(k->identity, c->account.identity.public_key,
		                  sizeof(k->identity)) == 0)
			return CHAT_OK;
		return client_fail(c, CHAT_ERR_UNTRUSTED,
		                   "the server holds another identity key for "
		                   "you (%s) than this device's",
		                   k->user);
	}
	if (client_state_identity(&c->state, k->user, pinned, &found) != 0)
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	if (!found) {
		if (client_state_pin_identity(&c->state, k->user,
		                              k->identity) != 0)
			return client_fail(c, CHAT_ERR_STATE, "%s",
			                   client_state_error(&c->state));
		return CHAT_OK;
	}
	if (sodium_memcmp(pinned, k->identity, sizeof(pinned)) == 0)
		return CHAT_OK;
	e2e_fingerprint(k->identity, fingerprint);
	client_notice(c,
	              "warning: the identity key of %s changed (new safety "
	              "number %s); nothing is sent to %s until you compare "
	              "safety numbers and run `chat trust %s`",
	              k->user, fingerprint, k->user, k->user);
	return client_fail(c, CHAT_ERR_UNTRUSTED,
	                   "the identity key of %s changed; compare safety "
	                   "numbers (`chat safety %s`), then `chat trust %s`",
	                   k->user, k->user, k->user);
}

/* ---- publishing this device's keys ---- */

static int whoami(struct chat_client *c)
{
	cJSON *req = client_new_request("whoami"), *resp = NULL;
	const char *user, *device;
	int rc;

	if (req == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	rc = client_request(c, req, &resp);
	cJSON_Delete(req);
	if (rc != CHAT_OK)
		goto done;
	user = client_json_string(resp, "user");
	device = client_json_string(resp, "device");
	if (user == NULL || strcmp(user, c->account.user) != 0 ||
	    !e2e_valid_device_id(device)) {
		rc = client_fail(c, CHAT_ERR_REFUSED,
		                 "whoami answered no usable device id");
		goto done;
	}
	if (strcmp(device, c->account.device) != 0) {
		snprintf(c->account.device, sizeof(c->account.device), "%s",
		         device);
		if (client_state_set_device(&c->state, device) != 0)
			rc = client_fail(c, CHAT_ERR_STATE, "%s",
			                 client_state_error(&c->state));
	}
done:
	cJSON_Delete(resp);
	return rc;
}

/* Sends req with item added under name; the item is consumed. */
static int request_with(struct chat_client *c, const char *op, const char *name,
                        cJSON *item, cJSON **resp)
{
	cJSON *req = client_new_request(op);
	int rc;

	if (req == NULL || item == NULL ||
	    !cJSON_AddItemToObject(req, name, item)) {
		cJSON_Delete(req);
		cJSON_Delete(item);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	rc = client_request(c, req, resp);
	cJSON_Delete(req);
	return rc;
}

static int publish_bundle(struct chat_client *c)
{
	struct e2e_bundle b = {0};
	cJSON *resp = NULL;
	int rc;

	snprintf(b.user, sizeof(b.user), "%s", c->account.user);
	snprintf(b.device, sizeof(b.device), "%s", c->account.device);
	memcpy(b.key, c->account.device_keys.public_key, sizeof(b.key));
	memcpy(b.identity, c->account.identity.public_key, sizeof(b.identity));
	b.created = c->account.bundle_created;
	rc = request_with(c, "publish_bundle", "bundle",
	                  e2e_bundle_sign(&b, c->account.identity.secret_key),
	                  &resp);
	cJSON_Delete(resp);
	return rc;
}

/*
 * The next device list: the current one when it is signed by this
 * identity (an imported identity joins its other devices), else a fresh
 * one; this device added, one version above whatever the server holds.
 */
static int next_device_list(struct chat_client *c, struct e2e_device_list *next)
{
	struct client_user_keys *k;
	int rc;

	memset(next, 0, sizeof(*next));
	rc = client_keys_get(c, c->account.user, 0, &k);
	if (rc != CHAT_OK)
		return rc;
	snprintf(next->user, sizeof(next->user), "%s", c->account.user);
	memcpy(next->identity, c->account.identity.public_key,
	       sizeof(next->identity));
	next->version = k->list_version + 1;
	if (k->list_valid &&
	    sodium_memcmp(k->identity, c->account.identity.public_key,
	                  sizeof(k->identity)) == 0)
		for (size_t i = 0; i < k->list.count; i++)
			if (e2e_device_list_add(next, k->list.devices[i]))
				goto no_memory;
	if (e2e_device_list_add(next, c->account.device) != 0)
		goto no_memory;
	return CHAT_OK;
no_memory:
	e2e_device_list_free(next);
	return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
}

static int publish_device_list(struct chat_client *c)
{
	int rc = CHAT_OK;

	for (int attempt = 0; attempt < DEVICE_LIST_TRIES; attempt++) {
		struct e2e_device_list next;
		cJSON *resp = NULL;
		bool stale;

		rc = next_device_list(c, &next);
		if (rc != CHAT_OK)
			return rc;
		rc = request_with(
		    c, "publish_devices", "list",
		    e2e_device_list_sign(&next, c->account.identity.secret_key),
		    &resp);
		e2e_device_list_free(&next);
		stale = rc == CHAT_ERR_REFUSED &&
		        strcmp(client_response_code(resp), "stale") == 0;
		cJSON_Delete(resp);
		if (!stale)
			break;
	}
	client_keys_forget(c, c->account.user);
	return rc;
}

/* New prekeys are stored before they are uploaded: a prekey handed out
 * always has its secret here. */
static int upload_prekeys(struct chat_client *c, int count)
{
	cJSON *list = cJSON_CreateArray(), *resp = NULL;
	int rc;

	for (int i = 0; list != NULL && i < count; i++) {
		struct e2e_device_keys k;
		char *key_text;
		cJSON *entry;
		long long id;

		e2e_device_keys_generate(&k);
		rc = client_state_add_prekey(&c->state, &k, &id);
		sodium_memzero(k.secret_key, sizeof(k.secret_key));
		if (rc != 0) {
			cJSON_Delete(list);
			return client_fail(c, CHAT_ERR_STATE, "%s",
			                   client_state_error(&c->state));
		}
		key_text = e2e_b64_encode(k.public_key, sizeof(k.public_key));
		entry = cJSON_CreateObject();
		if (key_text == NULL || entry == NULL ||
		    !cJSON_AddItemToArray(list, entry) ||
		    !cJSON_AddNumberToObject(entry, "id", (double)id) ||
		    !cJSON_AddStringToObject(entry, "key", key_text)) {
			cJSON_Delete(list);
			list = NULL;
		}
		free(key_text);
	}
	rc = request_with(c, "upload_prekeys", "prekeys", list, &resp);
	cJSON_Delete(resp);
	return rc;
}

int client_keys_publish_own(struct chat_client *c, int prekeys)
{
	int rc = whoami(c);

	if (rc == CHAT_OK)
		rc = publish_bundle(c);
	if (rc == CHAT_OK)
		rc = publish_device_list(c);
	if (rc == CHAT_OK && prekeys > 0)
		rc = upload_prekeys(c, prekeys);
	if (rc != CHAT_OK)
		return rc;
	if (client_state_set_published(&c->state, true) != 0)
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	c->account.published = true;
	return CHAT_OK;
}
