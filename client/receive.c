/*
 * One stamped message, live or from a sync page: the tick of an outbox
 * entry, a message held already, or a new message that is decrypted and
 * stored under (convo, seq). A message that cannot be decrypted is stored
 * too, with the reason, and shown as such: it never stops the client.
 */
#include "internal.h"

#include "filecrypt.h"
#include "json.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sender's device not among its cached keys, or a key that does not
 * open the message, makes the client fetch that sender's keys again (a
 * device added, an identity reinstalled) unless they are this fresh. */
#define SENDER_KEYS_FRESH_MS 200
/* Keys used to read messages are fetched again after this long anyway. */
#define SENDER_KEYS_MAX_AGE_MS (10 * 60 * 1000)

/* What a message's plaintext turned out to be. */
struct content {
	const char *kind;
	const char *why;                        /* unreadable: the reason */
	long long resend_seq;                   /* control: the seq asked for */
	char blob[E2E_FILE_HASH_BYTES * 2 + 1]; /* file: its blob id */
};

static bool valid_blob_id(const char *blob)
{
	if (blob == NULL || strlen(blob) != E2E_FILE_HASH_BYTES * 2)
		return false;
	for (const char *p = blob; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool valid_file(const cJSON *file, struct content *out)
{
	unsigned char bin[32];
	const char *blob = client_json_string(file, "blob");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(file, "type");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(file, "name");
	long long size;

	if (!valid_blob_id(blob) ||
	    e2e_b64_decode_exact(client_json_string(file, "key"), bin, 32) ||
	    e2e_b64_decode_exact(client_json_string(file, "hash"), bin, 32) ||
	    client_json_integer(file, "size", &size) != 0 ||
	    (type != NULL && !cJSON_IsString(type)) ||
	    (name != NULL && !cJSON_IsString(name)))
		return false;
	snprintf(out->blob, sizeof(out->blob), "%s", blob);
	return true;
}

/* Sorts a plaintext into text, file, control or unreadable. */
static void classify(const char *plaintext, struct content *out)
{
	cJSON *root = chat_json_parse_exact(plaintext, strlen(plaintext));
	const cJSON *file, *resend;

	out->kind = CLIENT_KIND_UNREADABLE;
	out->why = "unknown content";
	if (!cJSON_IsObject(root))
		goto done;
	file = cJSON_GetObjectItemCaseSensitive(root, "file");
	resend = cJSON_GetObjectItemCaseSensitive(root, "resend");
	if (client_json_string(root, "text") != NULL) {
		out->kind = CLIENT_KIND_TEXT;
	} else if (cJSON_IsObject(file)) {
		if (valid_file(file, out))
			out->kind = CLIENT_KIND_FILE;
		else
			out->why = "malformed file reference";
	} else if (cJSON_IsObject(resend) &&
	           client_json_integer(resend, "seq", &out->resend_seq) == 0 &&
	           out->resend_seq >= 1) {
		out->kind = CLIENT_KIND_CONTROL;
	}
	if (strcmp(out->kind, CLIENT_KIND_UNREADABLE) != 0)
		out->why = NULL;
done:
	cJSON_Delete(root);
}

/* ---- decrypting ---- */

/* The sender's keys: cached, or fetched again when the device is not
 * among them or `again` asks for newer ones. */
static int sender_bundle(struct chat_client *c, const char *from,
                         const char *device, bool again,
                         struct client_user_keys **k,
                         const struct e2e_bundle **b)
{
	int rc = client_keys_get(c, from, SENDER_KEYS_MAX_AGE_MS, k);

	if (rc != CHAT_OK)
		return rc;
	*b = client_keys_bundle(*k, device);
	if ((*b == NULL || again) &&
	    client_monotonic_ms() - (*k)->fetched_ms > SENDER_KEYS_FRESH_MS) {
		rc = client_keys_get(c, from, 0, k);
		if (rc != CHAT_OK)
			return rc;
		*b = client_keys_bundle(*k, device);
	}
	return CHAT_OK;
}

/* One try at opening with the sender's keys as cached (or fetched):
 * 1 when opened or refused for good, 0 when newer keys may help. */
static int try_open(struct chat_client *c, const struct e2e_sealed *sealed,
                    const struct e2e_message_context *ctx, bool again,
                    char **plaintext, const char **why, int *rc)
{
	struct client_user_keys *k;
	const struct e2e_bundle *b;
	size_t len;

	*rc =
	    sender_bundle(c, ctx->sender, sealed->sender_device, again, &k, &b);
	if (*rc != CHAT_OK)
		return 1;
	if (!k->published) {
		*why = "the sender has published no keys";
	} else if (b == NULL) {
		*why = "unknown sender device (not in a bundle signed by the "
		       "sender's identity key)";
	} else if (client_keys_check_trust(c, k) != CHAT_OK) {
		*why = "the sender's identity key changed (see chat safety)";
	} else if (e2e_message_open(sealed, ctx, b->key,
	                            c->account.device_keys.secret_key,
	                            plaintext, &len, why) != 0) {
		return again ? 1 : 0;
	}
	return 1;
}

/*
 * CHAT_OK with either *plaintext (malloc'd) or *why; an error code only
 * for trouble that may pass (keys could not be fetched).
 */
static int decrypt(struct chat_client *c, const struct e2e_message_context *ctx,
                   const char *body, char *sender_device, char **plaintext,
                   const char **why)
{
	struct e2e_sealed sealed;
	int rc = CHAT_OK;

	*plaintext = NULL;
	if (e2e_message_parse(body, c->account.user, c->account.device, &sealed,
	                      why) == 0) {
		snprintf(sender_device, E2E_DEVICE_ID_MAX + 1, "%s",
		         sealed.sender_device);
		if (try_open(c, &sealed, ctx, false, plaintext, why, &rc) == 0)
			try_open(c, &sealed, ctx, true, plaintext, why, &rc);
	}
	e2e_sealed_free(&sealed);
	return rc;
}

/* ---- storing ---- */

static int state_failed(struct chat_client *c)
{
	return client_fail(c, CHAT_ERR_STATE, "%s",
	                   client_state_error(&c->state));
}

/* Advances the cursor over what is held and notes a gap before seq. */
static int after_store(struct chat_client *c, const char *convo, long long seq)
{
	long long contiguous;

	if (client_state_advance(&c->state, convo, 0, &contiguous) != 0)
		return state_failed(c);
	if (seq > contiguous)
		client_sync_note_gap(c, convo);
	return CHAT_OK;
}

/* The tick of an outbox entry: the plaintext is known, the entry done. */
static int take_tick(struct chat_client *c, struct client_message *m,
                     const char *plaintext)
{
	struct content content = {0};
	bool inserted, removed;

	classify(plaintext, &content);
	m->sender_device = c->account.device;
	m->kind = content.kind;
	m->content = plaintext;
	m->error = content.why;
	if (client_state_begin(&c->state) != 0)
		return state_failed(c);
	if (client_state_store_message(&c->state, m, &inserted) != 0 ||
	    client_state_outbox_remove(&c->state, m->convo, m->cmid,
	                               &removed) != 0 ||
	    client_state_commit(&c->state) != 0) {
		client_state_rollback(&c->state);
		return state_failed(c);
	}
	return after_store(c, m->convo, m->seq);
}

struct outbox_lookup {
	char *plaintext;
};

static int copy_plaintext(void *ctx, const struct client_outbox_entry *e)
{
	struct outbox_lookup *l = ctx;

	l->plaintext = strdup(e->plaintext);
	return l->plaintext ? 0 : -1;
}

/* ---- answering resend requests ---- */

struct original {
	bool mine; /* sent by this very device */
	char kind[CLIENT_KIND_MAX + 1];
	char *content;
	struct chat_client *c;
};

static int copy_original(void *ctx, const struct client_message *m)
{
	struct original *o = ctx;

	if (m->sender == NULL || m->sender_device == NULL || m->kind == NULL ||
	    m->content == NULL)
		return 0;
	o->mine = strcmp(m->sender, o->c->account.user) == 0 &&
	          strcmp(m->sender_device, o->c->account.device) == 0;
	snprintf(o->kind, sizeof(o->kind), "%s", m->kind);
	o->content = strdup(m->content);
	return o->content ? 0 : -1;
}

/*
 * Only the device that sent the original answers, with the plaintext it
 * holds, as a new message under a new cmid; a few times at most, so that
 * a member cannot make it send a message over and over.
 */
static void answer_resend(struct chat_client *c, const char *convo,
                          const char *requester, long long seq)
{
	struct original o = {.c = c};
	char cmid[CHAT_CMID_SIZE], attachments[E2E_FILE_HASH_BYTES * 2 + 8];
	struct content content = {0};
	int answers = 0;
	bool file;

	if (client_state_message(&c->state, convo, seq, copy_original, &o))
		goto done;
	file = strcmp(o.kind, CLIENT_KIND_FILE) == 0;
	if (!o.mine || (strcmp(o.kind, CLIENT_KIND_TEXT) != 0 && !file))
		goto done;
	if (client_state_count_resend(&c->state, convo, seq, &answers) != 0 ||
	    answers > CLIENT_RESEND_ANSWERS_MAX)
		goto done;
	classify(o.content, &content);
	snprintf(attachments, sizeof(attachments), "[\"%s\"]", content.blob);
	client_new_id("m", cmid, sizeof(cmid));
	if (client_outbox_send(c, convo, cmid, o.content,
	                       file ? attachments : NULL, 0) == CHAT_OK)
		client_notice(c,
		              "%s asked for message %lld of %s again: sent "
		              "as %s",
		              requester, seq, convo, cmid);
	else
		client_notice(c, "cannot send message %lld of %s again: %s",
		              seq, convo, c->error);
done:
	free(o.content);
}

/* ---- one message ---- */

/* A system message: its event is kept as JSON text. */
static int store_system(struct chat_client *c, struct client_message *m,
                        const char *type, const cJSON *event)
{
	char *text = event ? cJSON_PrintUnformatted(event) : NULL;
	char topic[CHAT_TOPIC_MAX];
	bool inserted;
	int rc;

	m->kind = CLIENT_KIND_SYSTEM;
	m->system_type = type;
	m->content = text;
	rc = client_state_store_message(&c->state, m, &inserted);
	free(text);
	if (rc != 0)
		return state_failed(c);
	/* From here on the conversation's messages arrive on its topic. */
	if (strcmp(type, "broadcast") == 0 &&
	    chat_topic_channel(&c->session.topics, m->convo, topic,
	                       sizeof(topic)))
		client_session_add_filter(&c->session, topic);
	return after_store(c, m->convo, m->seq);
}

static int store_member_message(struct chat_client *c, struct client_message *m,
                                const char *body)
{
	struct e2e_message_context ctx = {m->convo, m->sender, m->cmid};
	char sender_device[E2E_DEVICE_ID_MAX + 1] = "";
	struct content content = {0};
	const char *why = "no cmid";
	char *plaintext = NULL;
	bool inserted;
	int rc = CHAT_OK;

	if (m->cmid != NULL)
		rc = decrypt(c, &ctx, body, sender_device, &plaintext, &why);
	if (rc != CHAT_OK)
		return rc;
	if (plaintext != NULL)
		classify(plaintext, &content);
	m->sender_device = sender_device[0] ? sender_device : NULL;
	m->kind = plaintext ? content.kind : CLIENT_KIND_UNREADABLE;
	m->content = content.why ? NULL : plaintext;
	m->error = plaintext ? content.why : why;
	/* Control messages are for clients, not for people. */
	m->shown = strcmp(m->kind, CLIENT_KIND_CONTROL) == 0;
	rc = client_state_store_message(&c->state, m, &inserted);
	free(plaintext);
	if (rc != 0)
		return state_failed(c);
	rc = after_store(c, m->convo, m->seq);
	if (rc == CHAT_OK && inserted && m->shown)
		answer_resend(c, m->convo, m->sender, content.resend_seq);
	return rc;
}

/* A message of this user with a cmid still in the outbox is its tick. */
static int try_tick(struct chat_client *c, struct client_message *m,
                    bool *ticked)
{
	struct outbox_lookup l = {NULL};
	int rc;

	*ticked = false;
	if (m->cmid == NULL || strcmp(m->sender, c->account.user) != 0)
		return CHAT_OK;
	rc = client_state_outbox_get(&c->state, m->convo, m->cmid,
	                             copy_plaintext, &l);
	if (rc < 0)
		return state_failed(c);
	if (rc == 1)
		return CHAT_OK;
	*ticked = true;
	rc = take_tick(c, m, l.plaintext);
	free(l.plaintext);
	return rc;
}

int client_receive(struct chat_client *c, const cJSON *msg)
{
	struct client_message m = {0};
	const char *type = client_json_string(msg, "type");
	long long contiguous;
	bool held, ticked;
	int rc;

	m.convo = client_json_string(msg, "convo");
	m.sender = client_json_string(msg, "from");
	m.id = client_json_string(msg, "id");
	m.cmid = client_json_string(msg, "cmid");
	if (!chat_valid_convo_id(m.convo) || !chat_valid_user_id(m.sender) ||
	    client_json_integer(msg, "seq", &m.seq) != 0 || m.seq < 1)
		return CHAT_OK; /* not a message of the protocol */
	client_json_integer(msg, "ts", &m.ts);
	if (type == NULL) {
		rc = try_tick(c, &m, &ticked);
		if (rc != CHAT_OK || ticked)
			return rc;
	}
	if (client_state_has_message(&c->state, m.convo, m.seq, &held) != 0 ||
	    client_state_contiguous(&c->state, m.convo, &contiguous) != 0)
		return state_failed(c);
	if (held || m.seq <= contiguous)
		return CHAT_OK;
	if (type != NULL)
		return store_system(
		    c, &m, type,
		    cJSON_GetObjectItemCaseSensitive(msg, "event"));
	return store_member_message(c, &m, client_json_string(msg, "body"));
}
