/*
 * Sending: a message is encrypted for the devices of the conversation's
 * current members, written to the outbox, then published. It leaves the
 * outbox only when its tick arrives (receive.c) or the server refuses it
 * for good. Every resend uses the same cmid, so the server stores it once
 * whatever happened in between; the ciphertext is made afresh each time
 * for the members of that moment, and the server keeps the first copy it
 * stored.
 */
#include "internal.h"

#include "db.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A retryable refusal is retried after about this long. */
#define RETRY_AFTER_REFUSAL_MS 1000

/* ---- encrypting for a conversation ---- */

struct recipients {
	struct e2e_recipient *list;
	size_t count, cap;
};

static int add_recipient(struct recipients *r, const char *user,
                         const char *device, const unsigned char *key)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct e2e_recipient *grown =
		    realloc(r->list, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		r->list = grown;
		r->cap = cap;
	}
	r->list[r->count++] = (struct e2e_recipient){user, device, key};
	return 0;
}

/* The member ids of a members answer (pointing into resp). */
static const char **member_ids(const cJSON *resp, size_t *count)
{
	const cJSON *members =
	    cJSON_GetObjectItemCaseSensitive(resp, "members");
	int n = cJSON_GetArraySize(members);
	const char **users;
	const cJSON *item;

	*count = 0;
	users = calloc(n > 0 ? (size_t)n : 1, sizeof(*users));
	if (users == NULL)
		return NULL;
	cJSON_ArrayForEach(item, members)
	{
		const char *user = client_json_string(item, "user");

		if (chat_valid_user_id(user))
			users[(*count)++] = user;
	}
	return users;
}

/* Adds the devices of one member that are in its signed list and have a
 * valid bundle. The strings point into the key cache. */
static int add_member_devices(struct chat_client *c, const char *user,
                              struct recipients *r)
{
	struct client_user_keys *k;
	int rc = client_keys_get(c, user, -1, &k);

	if (rc != CHAT_OK)
		return rc;
	if (!k->published) {
		client_notice(c,
		              "%s has published no keys and cannot read "
		              "this message",
		              user);
		return CHAT_OK;
	}
	rc = client_keys_check_trust(c, k);
	if (rc != CHAT_OK)
		return rc;
	if (!k->list_valid) {
		client_notice(c,
		              "%s has no valid device list and cannot read "
		              "this message",
		              user);
		return CHAT_OK;
	}
	for (size_t i = 0; i < k->list.count; i++) {
		const struct e2e_bundle *b =
		    client_keys_bundle(k, k->list.devices[i]);

		if (b != NULL && add_recipient(r, k->user, b->device, b->key))
			return client_fail(c, CHAT_ERR_NO_MEMORY,
			                   "out of memory");
	}
	return CHAT_OK;
}

static int collect_recipients(struct chat_client *c, const cJSON *members,
                              struct recipients *r)
{
	size_t count;
	const char **users = member_ids(members, &count);
	int rc;

	if (users == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	rc = client_keys_fetch(c, users, count);
	for (size_t i = 0; rc == CHAT_OK && i < count; i++)
		rc = add_member_devices(c, users[i], r);
	free(users);
	return rc;
}

int client_seal_for_convo(struct chat_client *c, const char *convo,
                          const char *cmid, const char *plaintext, char **body)
{
	struct e2e_message_context ctx = {convo, c->account.user, cmid};
	cJSON *req = client_new_request("members"), *resp = NULL;
	struct recipients r = {0};
	const char *why;
	int rc;

	*body = NULL;
	if (req == NULL || !cJSON_AddStringToObject(req, "convo", convo)) {
		cJSON_Delete(req);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	rc = client_request(c, req, &resp);
	cJSON_Delete(req);
	if (rc == CHAT_OK)
		rc = collect_recipients(c, resp, &r);
	if (rc == CHAT_OK &&
	    e2e_message_seal(&ctx, c->account.device,
	                     c->account.device_keys.secret_key, r.list, r.count,
	                     plaintext, strlen(plaintext), body, &why) != 0)
		rc = client_fail(c, CHAT_ERR_CRYPTO, "cannot encrypt: %s", why);
	free(r.list);
	cJSON_Delete(resp);
	return rc;
}

/* ---- publishing ---- */

/* {"cmid","body","attachments"} as text, malloc'd. */
static char *envelope_text(const char *cmid, const char *body,
                           const char *attachments)
{
	cJSON *env = cJSON_CreateObject(), *list;
	char *text = NULL;

	if (env == NULL || !cJSON_AddStringToObject(env, "cmid", cmid) ||
	    !cJSON_AddStringToObject(env, "body", body))
		goto done;
	if (attachments != NULL) {
		list = cJSON_Parse(attachments);
		if (!cJSON_IsArray(list) ||
		    !cJSON_AddItemToObject(env, "attachments", list)) {
			cJSON_Delete(list);
			goto done;
		}
	}
	text = cJSON_PrintUnformatted(env);
done:
	cJSON_Delete(env);
	return text;
}

static int publish_envelope(struct chat_client *c, const char *convo,
                            const char *cmid, const char *body,
                            const char *attachments)
{
	char topic[CHAT_TOPIC_MAX];
	char *text = envelope_text(cmid, body, attachments);
	int rc;

	if (text == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	snprintf(topic, sizeof(topic), "%s%s", c->session.topics.send_prefix,
	         convo);
	rc = client_session_publish(&c->session, topic, text, strlen(text), 1);
	free(text);
	if (rc != 0)
		return client_fail(c, CHAT_ERR_NETWORK, "cannot publish");
	if (client_state_outbox_sent(&c->state, convo, cmid, chat_now_ms()))
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	return CHAT_OK;
}

static int add_to_outbox(struct chat_client *c,
                         const struct client_outbox_entry *e,
                         long long upload_id)
{
	if (client_state_begin(&c->state) != 0)
		goto fail;
	if (client_state_outbox_add(&c->state, e) != 0 ||
	    (upload_id > 0 &&
	     client_state_upload_remove(&c->state, upload_id) != 0) ||
	    client_state_commit(&c->state) != 0) {
		client_state_rollback(&c->state);
		goto fail;
	}
	return CHAT_OK;
fail:
	return client_fail(c, CHAT_ERR_STATE, "cannot add to the outbox: %s",
	                   client_state_error(&c->state));
}

int client_outbox_send(struct chat_client *c, const char *convo,
                       const char *cmid, const char *plaintext,
                       const char *attachments, long long upload_id)
{
	struct client_outbox_entry e = {convo, cmid, plaintext, attachments,
	                                0,     0,    0};
	char *body = NULL;
	int rc;

	/* Encrypted first: a member whose key changed refuses the message
	 * before it is ever in the outbox. */
	rc = client_seal_for_convo(c, convo, cmid, plaintext, &body);
	if (rc != CHAT_OK)
		return rc;
	e.created = chat_now_ms();
	rc = add_to_outbox(c, &e, upload_id);
	if (rc == CHAT_OK)
		rc = publish_envelope(c, convo, cmid, body, attachments);
	free(body);
	return rc;
}

/* ---- resending ---- */

/* Takes an entry the server will never accept out of the outbox, and
 * remembers why for chat_client_wait_sent. */
static void give_up(struct chat_client *c, const char *convo, const char *cmid,
                    const char *reason)
{
	char why[sizeof(c->refused_reason)];
	bool removed = false;

	snprintf(why, sizeof(why), "%s", reason);
	if (client_state_outbox_remove(&c->state, convo, cmid, &removed) != 0 ||
	    !removed)
		return;
	snprintf(c->refused_cmid, sizeof(c->refused_cmid), "%s", cmid);
	snprintf(c->refused_reason, sizeof(c->refused_reason), "%s", why);
	client_notice(c, "message %s to %s refused by the server: %s", cmid,
	              convo, why);
}

struct resend_round {
	struct chat_client *c;
	bool all;
	long long now;
	int rc;
};

static int resend_entry(void *ctx, const struct client_outbox_entry *e)
{
	struct resend_round *round = ctx;
	struct chat_client *c = round->c;
	char *body = NULL;
	int rc;

	if (!round->all && e->sent_at != 0 &&
	    round->now - e->sent_at < CLIENT_RESEND_MS)
		return 0;
	rc = client_seal_for_convo(c, e->convo, e->cmid, e->plaintext, &body);
	if (rc == CHAT_OK)
		rc = publish_envelope(c, e->convo, e->cmid, body,
		                      e->attachments);
	free(body);
	if (rc == CHAT_ERR_NETWORK || rc == CHAT_ERR_STATE) {
		round->rc = rc;
		return 1; /* the rest waits for the next round */
	}
	if (rc == CHAT_ERR_REFUSED) {
		/* No longer a member, say: it can never be sent. */
		give_up(c, e->convo, e->cmid, c->error);
	} else if (rc != CHAT_OK) {
		/* Kept: sent again once the user trusted the new key. */
		client_notice(c, "message %s to %s not sent: %s", e->cmid,
		              e->convo, c->error);
		client_state_outbox_sent(&c->state, e->convo, e->cmid,
		                         round->now);
	}
	return 0;
}

int client_outbox_resend(struct chat_client *c, bool all)
{
	struct resend_round round = {c, all, chat_now_ms(), CHAT_OK};

	if (client_state_outbox_each(&c->state, resend_entry, &round) < 0)
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	return round.rc;
}

/* ---- refusals ---- */

static bool retryable(const char *code)
{
	static const char *const codes[] = {
	    "unavailable", "busy", "rate_limited", "storage_error", "internal"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

void client_outbox_error_event(struct chat_client *c, const cJSON *event)
{
	const char *convo = client_json_string(event, "convo");
	const char *cmid = client_json_string(event, "cmid");
	const char *code = client_json_string(event, "code");
	const char *message = client_json_string(event, "message");
	char reason[sizeof(c->refused_reason)];

	if (convo == NULL || cmid == NULL || code == NULL)
		return;
	if (retryable(code)) {
		/* Due again in about a second rather than ten. */
		client_state_outbox_sent(&c->state, convo, cmid,
		                         chat_now_ms() - CLIENT_RESEND_MS +
		                             RETRY_AFTER_REFUSAL_MS);
		return;
	}
	snprintf(reason, sizeof(reason), "%s (%s)", message ? message : code,
	         code);
	give_up(c, convo, cmid, reason);
}
