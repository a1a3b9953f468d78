/*
 * publish_bundle, publish_devices and get_keys: the key directory of
 * docs/E2E.md. Keys are public: anyone may read anyone's. Only a user's
 * own connection may publish for it, and only what its identity key
 * signed.
 *
 * A bundle signed by another identity key than the stored one replaces
 * it (the user reinstalled): the bundles and the device list the old key
 * signed go with it. Every change of a user's identity key or device list
 * is announced, for the plugin to publish, retained, on the user's keys
 * topic.
 */
#include "groups.h"
#include "key_formats.h"
#include "store_keys.h"

#include "db.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

#define GET_KEYS_USERS_MAX 50

static const struct bridge_failure not_yours = {
    "forbidden", "you may publish only your own keys, from this device"};
static const struct bridge_failure bad_signature = {
    "bad_signature", "the signature does not verify with the identity key"};
static const struct bridge_failure no_identity = {
    "bad_signature", "no identity key is published for you yet: publish "
                     "this device's bundle first"};
static const struct bridge_failure too_many_users = {
    "bad_request", "users must name at most 50 users"};

/* Writes the object announced on the keys topic. */
static void write_keys_change(struct json_writer *w, const char *user,
                              const char *identity, long long version,
                              long long updated)
{
	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, user);
	json_writer_key(w, "identity");
	json_writer_string(w, identity);
	json_writer_key(w, "version");
	json_writer_int(w, version);
	json_writer_key(w, "updated");
	json_writer_int(w, updated);
	json_writer_close_object(w);
}

static const struct bridge_failure *announce_keys(struct bridge_change *c,
                                                  const char *identity,
                                                  long long version,
                                                  long long now)
{
	struct json_writer change;
	const struct bridge_failure *f;

	json_writer_init(&change);
	write_keys_change(&change, c->r->user, identity, version, now);
	f = bridge_change_announce(c, BRIDGE_KEYS, c->r->user, &change);
	json_writer_free(&change);
	return f;
}

/* The bundle is the asker's own, for the asking device. */
static const struct bridge_failure *check_owner(struct bridge_reply *r,
                                                const struct bridge_bundle *b)
{
	char device[24];

	if (r->device <= 0)
		return &not_yours;
	snprintf(device, sizeof(device), "%lld", r->device);
	if (strcmp(b->user, r->user) != 0 || strcmp(b->device, device) != 0)
		return &not_yours;
	return NULL;
}

static const struct bridge_failure *store_bundle(struct bridge_change *c,
                                                 const struct bridge_bundle *b)
{
	struct bridge_reply *r = c->r;
	struct bridge_bundle_row row = {r->device, b->key, b->created, b->sig};
	struct bridge_identity stored;
	long long now = chat_now_ms();
	bool reinstalled;
	int rc = bridge_store_identity(r->store, r->user, &stored);

	reinstalled = rc == SQLITE_OK &&
	              (!stored.found || strcmp(stored.identity, b->identity));
	/* What the old key signed cannot be trusted with the new one. */
	if (rc == SQLITE_OK && reinstalled)
		rc = bridge_store_set_identity(r->store, r->user, b->identity,
		                               now);
	if (rc == SQLITE_OK && reinstalled)
		rc = bridge_store_drop_bundles(r->store, r->user);
	if (rc == SQLITE_OK)
		rc = bridge_store_put_bundle(r->store, r->user, &row);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (!reinstalled)
		return NULL;
	if (stored.found)
		bridge_info("%s published a new identity key; its other "
		            "bundles and its device list are dropped",
		            r->user);
	return announce_keys(c, b->identity, 0, now);
}

const struct bridge_failure *bridge_op_publish_bundle(struct bridge_reply *r)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->req, "bundle");
	const struct bridge_failure *f;
	struct bridge_change c;
	struct bridge_bundle b;
	const char *why = bridge_bundle_read(item, &b);

	if (why != NULL)
		return bridge_reply_fail(r, "bad_request", "%s", why);
	f = check_owner(r, &b);
	if (f == NULL && !bridge_bundle_verify(&b))
		f = &bad_signature;
	if (f != NULL)
		return f;
	f = bridge_change_begin(&c, r, "");
	if (f == NULL)
		f = store_bundle(&c, &b);
	if (f == NULL) {
		bridge_reply_open(r);
		json_writer_close_object(r->out);
		f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	return f;
}

static const struct bridge_failure *
store_device_list(struct bridge_change *c, const struct bridge_device_list *l)
{
	struct bridge_reply *r = c->r;
	struct bridge_identity stored;
	const struct bridge_failure *f = NULL;
	struct json_writer text;
	long long now = chat_now_ms();
	int rc = bridge_store_identity(r->store, r->user, &stored);

	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (!stored.found)
		return &no_identity;
	if (strcmp(l->identity, stored.identity) != 0 ||
	    !bridge_device_list_verify(l, stored.identity))
		return &bad_signature;
	if (l->version <= stored.list_version)
		return bridge_reply_fail(r, "stale",
		                         "the device list's version must be "
		                         "above %lld",
		                         stored.list_version);
	json_writer_init(&text);
	bridge_device_list_write(&text, l);
	if (!json_writer_ok(&text))
		f = &bridge_failure_internal;
	else if ((rc = bridge_store_set_device_list(r->store, r->user,
	                                            text.data, l->version,
	                                            now)) != SQLITE_OK)
		f = bridge_change_failed(c, rc);
	json_writer_free(&text);
	if (f == NULL)
		f = announce_keys(c, stored.identity, l->version, now);
	return f;
}

const struct bridge_failure *bridge_op_publish_devices(struct bridge_reply *r)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->req, "list");
	const struct bridge_failure *f;
	struct bridge_device_list l;
	struct bridge_change c;
	const char *why = bridge_device_list_read(item, &l);

	if (why != NULL)
		return bridge_reply_fail(r, "bad_request", "%s", why);
	if (strcmp(l.user, r->user) != 0)
		return &not_yours;
	f = bridge_change_begin(&c, r, "");
	if (f == NULL)
		f = store_device_list(&c, &l);
	if (f == NULL) {
		bridge_reply_open(r);
		json_writer_key(r->out, "version");
		json_writer_int(r->out, l.version);
		json_writer_close_object(r->out);
		f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	return f;
}

/* One user's entry of get_keys, written as the rows come. */
struct key_entry {
	struct bridge_reply *r;
	const char *user;
	char identity[BRIDGE_KEY_TEXT_MAX + 1]; /* for its bundles */
};

static bool write_bundle(void *ctx, const struct bridge_bundle_row *row)
{
	struct key_entry *k = ctx;
	char device[24];
	struct bridge_bundle b = {k->user,     device,       row->key,
	                          k->identity, row->created, row->signature};

	snprintf(device, sizeof(device), "%lld", row->device);
	bridge_bundle_write(k->r->out, &b);
	return true;
}

static void write_entry(void *ctx, const struct bridge_keys_row *row)
{
	struct key_entry *k = ctx;
	struct json_writer *w = k->r->out;

	snprintf(k->identity, sizeof(k->identity), "%s", row->identity);
	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, k->user);
	json_writer_key(w, "identity");
	json_writer_string(w, row->identity);
	json_writer_key(w, "devices");
	if (row->device_list != NULL)
		json_writer_fragment(w, row->device_list,
		                     strlen(row->device_list));
	else
		json_writer_null(w);
	json_writer_key(w, "bundles");
	json_writer_open_array(w);
}

/* Users who never published a key are left out. */
static int write_user_keys(struct bridge_reply *r, const char *user)
{
	struct key_entry k = {r, user, ""};
	bool found;
	int rc = bridge_store_keys_of(r->store, user, write_entry, &k, &found);

	if (rc != SQLITE_OK || !found)
		return rc;
	rc = bridge_store_bundles_of(r->store, user, write_bundle, &k);
	json_writer_close_array(r->out);
	json_writer_close_object(r->out);
	return rc;
}

const struct bridge_failure *bridge_op_get_keys(struct bridge_reply *r)
{
	struct bridge_user_list users;
	const struct bridge_failure *f;
	int rc = SQLITE_OK;

	f = bridge_param_users(r, "users", false, &users);
	if (f == NULL && users.count > GET_KEYS_USERS_MAX)
		f = &too_many_users;
	if (f != NULL)
		goto done;
	bridge_reply_open(r);
	json_writer_key(r->out, "keys");
	json_writer_open_array(r->out);
	for (size_t i = 0; i < users.count && rc == SQLITE_OK; i++)
		rc = write_user_keys(r, users.items[i].id);
	json_writer_close_array(r->out);
	json_writer_close_object(r->out);
	if (rc != SQLITE_OK)
		f = bridge_reply_store_failed(r, rc);
done:
	bridge_user_list_free(&users);
	return f;
}
