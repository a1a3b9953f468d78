/*
 * upload_prekeys, claim_prekey and prekey_count: one-time prekeys. A
 * device uploads them (at most BRIDGE_PREKEYS_MAX held at a time), anyone
 * may claim one of a device's, and each is handed out once: the claim
 * takes it and deletes it in one transaction. One user takes at most
 * CLAIMS_PER_DAY of one device's prekeys a day, so nobody can empty
 * another's supply.
 */
#include "db.h"
#include "groups.h"
#include "key_formats.h"
#include "store_keys.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define BRIDGE_PREKEYS_MAX 1000
#define UPLOAD_MAX         100
#define CLAIMS_PER_DAY     3
#define DAY_MS             (24LL * 60 * 60 * 1000)

static const struct bridge_failure too_many_claims = {
    "rate_limited", "at most 3 prekeys of one device a day for each user"};

static const struct bridge_failure bad_prekeys = {
    "bad_request", "prekeys must be an array of at most 100 "
                   "{\"id\",\"key\"}, each id a whole number or a string "
                   "of 1 to 64 printable characters, each key the base64 "
                   "of 32 bytes"};

static void answer_count(struct bridge_reply *r, long long count)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "count");
	json_writer_int(r->out, count);
	json_writer_close_object(r->out);
}

/* An id as the device chose it: a whole number, or a short string. */
static bool read_prekey_id(const cJSON *item, struct bridge_prekey_id *id)
{
	memset(id, 0, sizeof(*id));
	if (cJSON_IsString(item)) {
		id->text = item->valuestring;
		return chat_valid_request_id(id->text);
	}
	id->numeric = true;
	return bridge_json_count(item, &id->number);
}

static bool check_prekeys(const cJSON *prekeys)
{
	const cJSON *item;

	if (!cJSON_IsArray(prekeys) || cJSON_GetArraySize(prekeys) > UPLOAD_MAX)
		return false;
	cJSON_ArrayForEach(item, prekeys)
	{
		struct bridge_prekey_id id;

		if (!cJSON_IsObject(item) ||
		    !read_prekey_id(
		        cJSON_GetObjectItemCaseSensitive(item, "id"), &id) ||
		    !bridge_key_text_valid(bridge_json_string(item, "key"),
		                           crypto_box_PUBLICKEYBYTES))
			return false;
	}
	return true;
}

/* Stores the prekeys in order while the device holds fewer than the
 * maximum; the rest are not kept, which the count answered tells. */
static int store_prekeys(struct bridge_reply *r, const cJSON *prekeys,
                         long long *count)
{
	const cJSON *item;
	int rc = bridge_store_count_prekeys(r->store, r->device, count);

	cJSON_ArrayForEach(item, prekeys)
	{
		struct bridge_prekey_id id;
		bool added;

		if (rc != SQLITE_OK || *count >= BRIDGE_PREKEYS_MAX)
			break;
		read_prekey_id(cJSON_GetObjectItemCaseSensitive(item, "id"),
		               &id);
		rc = bridge_store_put_prekey(r->store, r->device, &id,
		                             bridge_json_string(item, "key"),
		                             &added);
		*count += added;
	}
	return rc;
}

const struct bridge_failure *bridge_op_upload_prekeys(struct bridge_reply *r)
{
	const cJSON *prekeys =
	    cJSON_GetObjectItemCaseSensitive(r->req, "prekeys");
	const struct bridge_failure *f = bridge_require_device(r);
	struct bridge_change c;
	long long count = 0;
	int rc;

	if (f == NULL && !check_prekeys(prekeys))
		f = &bad_prekeys;
	if (f != NULL)
		return f;
	f = bridge_change_begin(&c, r, "");
	if (f == NULL && (rc = store_prekeys(r, prekeys, &count)) != SQLITE_OK)
		f = bridge_change_failed(&c, rc);
	if (f == NULL) {
		answer_count(r, count);
		f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	return f;
}

static void write_prekey(void *ctx, const struct bridge_prekey_id *id,
                         const char *key)
{
	struct json_writer *w = ctx;

	json_writer_open_object(w);
	json_writer_key(w, "id");
	if (id->numeric)
		json_writer_int(w, id->number);
	else
		json_writer_string(w, id->text);
	json_writer_key(w, "key");
	json_writer_string(w, key);
	json_writer_close_object(w);
}

static const struct bridge_failure *
within_claim_allowance(struct bridge_change *c, struct bridge_reply *r,
                       long long device, long long now)
{
	long long recent = 0;
	int rc = bridge_store_recent_claims(r->store, r->user, device,
	                                    now - DAY_MS, &recent);

	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	return recent >= CLAIMS_PER_DAY ? &too_many_claims : NULL;
}

/* A device that is unknown, revoked, another user's or out of prekeys
 * has none to give: null. */
const struct bridge_failure *bridge_op_claim_prekey(struct bridge_reply *r)
{
	const struct bridge_failure *f;
	struct bridge_change c;
	const char *user;
	long long device, now = chat_now_ms();
	bool found = false;
	int rc;

	f = bridge_param_user(r, &user);
	if (f == NULL)
		f = bridge_param_device(r, "device", &device);
	if (f != NULL)
		return f;
	f = bridge_change_begin(&c, r, "");
	if (f == NULL)
		f = within_claim_allowance(&c, r, device, now);
	if (f == NULL) {
		bridge_reply_open(r);
		json_writer_key(r->out, "prekey");
		rc = bridge_store_take_prekey(r->store, user, device,
		                              write_prekey, r->out, &found);
		if (rc == SQLITE_OK && found)
			rc = bridge_store_note_claim(r->store, r->user, device,
			                             now, now - DAY_MS);
		if (rc != SQLITE_OK)
			f = bridge_change_failed(&c, rc);
	}
	if (f == NULL) {
		if (!found)
			json_writer_null(r->out);
		json_writer_close_object(r->out);
		f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	return f;
}

const struct bridge_failure *bridge_op_prekey_count(struct bridge_reply *r)
{
	const struct bridge_failure *f = bridge_require_device(r);
	long long count = 0;
	int rc;

	if (f != NULL)
		return f;
	rc = bridge_store_count_prekeys(r->store, r->device, &count);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	answer_count(r, count);
	return NULL;
}
