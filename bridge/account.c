/*
 * presence, settings, devices, revoke_device and whoami: what a user may
 * see of others' presence, and the user's own account.
 *
 * Presence is mutual: a user who hides its presence is seen by nobody and
 * sees nobody (but itself). Others are seen only by those who share a
 * conversation with them, both still members, the rule the plugin applies
 * to the retained presence topics.
 */
#include "groups.h"
#include "store_account.h"

#include "db.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

#define PRESENCE_USERS_MAX 100

static const struct bridge_failure too_many_users = {
    "bad_request", "users must name at most 100 users"};
static const struct bridge_failure bad_hide = {
    "bad_request", "hide_presence must be true or false"};
static const struct bridge_failure no_such_device = {
    "no_such_device", "you have no device with this id"};

/* Ids of devices travel as decimal strings, like message ids. */
static void write_device_id(struct json_writer *w, long long device)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", device);
	json_writer_string(w, text);
}

static void write_time_or_null(struct json_writer *w, long long ms)
{
	if (ms > 0)
		json_writer_int(w, ms);
	else
		json_writer_null(w);
}

static void write_presence(struct json_writer *w, const char *user,
                           const struct bridge_presence_row *p)
{
	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, user);
	json_writer_key(w, "online");
	json_writer_bool(w, p->online);
	json_writer_key(w, "last_seen");
	if (p->last_seen >= 0)
		json_writer_int(w, p->last_seen);
	else
		json_writer_null(w);
	json_writer_close_object(w);
}

/* Those of the users the asker may not see are left out, whatever the
 * reason: nobody learns whether a user exists or hides. */
const struct bridge_failure *bridge_op_presence(struct bridge_reply *r)
{
	struct bridge_user_list users;
	const struct bridge_failure *f;
	int rc = SQLITE_OK;

	f = bridge_param_users(r, "users", false, &users);
	if (f == NULL && users.count > PRESENCE_USERS_MAX)
		f = &too_many_users;
	if (f != NULL)
		goto done;
	bridge_reply_open(r);
	json_writer_key(r->out, "presence");
	json_writer_open_array(r->out);
	for (size_t i = 0; i < users.count && rc == SQLITE_OK; i++) {
		struct bridge_presence_row p;
		const char *user = users.items[i].id;

		rc = bridge_store_visible_presence(r->store, r->user, user, &p);
		if (rc == SQLITE_OK && p.found)
			write_presence(r->out, user, &p);
	}
	json_writer_close_array(r->out);
	json_writer_close_object(r->out);
	if (rc != SQLITE_OK)
		f = bridge_reply_store_failed(r, rc);
done:
	bridge_user_list_free(&users);
	return f;
}

static void answer_settings(struct bridge_reply *r, bool hidden)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "settings");
	json_writer_open_object(r->out);
	json_writer_key(r->out, "hide_presence");
	json_writer_bool(r->out, hidden);
	json_writer_close_object(r->out);
	json_writer_close_object(r->out);
}

/* Changes the setting, and tells the plugin, whose cached answers about
 * who may see whom are wrong from now on. */
static const struct bridge_failure *change_hiding(struct bridge_reply *r,
                                                  bool hide)
{
	struct bridge_change c;
	const struct bridge_failure *f = bridge_change_begin(&c, r, "");
	bool hidden = false;
	int rc = SQLITE_OK;

	if (f == NULL)
		rc = bridge_store_hides_presence(r->store, r->user, &hidden);
	if (f == NULL && rc == SQLITE_OK && hidden != hide)
		rc = bridge_store_set_hide_presence(r->store, r->user, hide);
	if (f == NULL && rc != SQLITE_OK)
		f = bridge_change_failed(&c, rc);
	if (f == NULL && hidden != hide)
		f = bridge_change_announce(&c, BRIDGE_SETTINGS, r->user, NULL);
	if (f == NULL) {
		answer_settings(r, hide);
		f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	return f;
}

const struct bridge_failure *bridge_op_settings(struct bridge_reply *r)
{
	const cJSON *hide =
	    cJSON_GetObjectItemCaseSensitive(r->req, "hide_presence");
	bool hidden;
	int rc;

	if (hide != NULL && !cJSON_IsBool(hide))
		return &bad_hide;
	if (hide != NULL)
		return change_hiding(r, cJSON_IsTrue(hide));
	rc = bridge_store_hides_presence(r->store, r->user, &hidden);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	answer_settings(r, hidden);
	return NULL;
}

static bool write_device(void *ctx, const struct bridge_device_row *d)
{
	struct json_writer *w = ctx;

	json_writer_open_object(w);
	json_writer_key(w, "device");
	write_device_id(w, d->id);
	json_writer_key(w, "label");
	if (d->label != NULL)
		json_writer_string(w, d->label);
	else
		json_writer_null(w);
	json_writer_key(w, "created");
	json_writer_int(w, d->created_at);
	json_writer_key(w, "revoked");
	write_time_or_null(w, d->revoked_at);
	json_writer_close_object(w);
	return true;
}

const struct bridge_failure *bridge_op_devices(struct bridge_reply *r)
{
	int rc;

	bridge_reply_open(r);
	json_writer_key(r->out, "devices");
	json_writer_open_array(r->out);
	rc = bridge_store_devices_of(r->store, r->user, write_device, r->out);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	json_writer_close_array(r->out);
	json_writer_close_object(r->out);
	return NULL;
}

static void answer_revoked(struct bridge_reply *r, long long device,
                           long long revoked_at)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "device");
	write_device_id(r->out, device);
	json_writer_key(r->out, "revoked");
	json_writer_int(r->out, revoked_at);
	json_writer_close_object(r->out);
}

/*
 * The plugin looks for fresh revocations once a second and closes the
 * device's connections; its token is refused from then on. Revoking a
 * device revoked already changes nothing and answers as the first time.
 */
const struct bridge_failure *bridge_op_revoke_device(struct bridge_reply *r)
{
	struct bridge_change c;
	const struct bridge_failure *f;
	long long device, revoked_at = 0, now = chat_now_ms();
	bool found = false;
	int rc;

	f = bridge_param_device(r, "device", &device);
	if (f != NULL)
		return f;
	f = bridge_change_begin(&c, r, "");
	if (f == NULL) {
		rc = bridge_store_own_device(r->store, r->user, device, &found,
		                             &revoked_at);
		if (rc == SQLITE_OK && found && revoked_at == 0)
			rc = bridge_store_revoke_device(r->store, r->user,
			                                device, now);
		if (rc != SQLITE_OK)
			f = bridge_change_failed(&c, rc);
		else if (!found)
			f = &no_such_device;
	}
	if (f == NULL) {
		answer_revoked(r, device, revoked_at ? revoked_at : now);
		f = bridge_change_commit(&c);
	}
	if (f == NULL && revoked_at == 0)
		bridge_info("%s revoked its device %lld", r->user, device);
	bridge_change_end(&c);
	return f;
}

const struct bridge_failure *bridge_op_whoami(struct bridge_reply *r)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "user");
	json_writer_string(r->out, r->user);
	json_writer_key(r->out, "device");
	if (r->device > 0)
		write_device_id(r->out, r->device);
	else
		json_writer_null(r->out);
	json_writer_close_object(r->out);
	return NULL;
}
