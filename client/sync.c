/*
 * The reconnect recipe of docs/PROTOCOL.md: per conversation the client
 * holds every seq up to `contiguous`; it syncs from there on every
 * (re)connect and whenever a live message shows a seq is missing. Messages
 * are shown in seq order once everything before them is held, and each is
 * marked shown in the state, so none is shown twice, across restarts too.
 */
#include "internal.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Receipts go out at most this often while polling. */
#define RECEIPT_INTERVAL_MS 1000
/* A sync that never ends (a server answering "more" forever) stops. */
#define SYNC_PAGES_MAX 100000

static int state_failed(struct chat_client *c)
{
	return client_fail(c, CHAT_ERR_STATE, "%s",
	                   client_state_error(&c->state));
}

/* ---- gaps ---- */

void client_sync_note_gap(struct chat_client *c, const char *convo)
{
	char(*grown)[CHAT_ID_MAX + 1];

	for (size_t i = 0; i < c->gap_count; i++)
		if (strcmp(c->gaps[i], convo) == 0)
			return;
	grown = realloc(c->gaps, (c->gap_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return; /* the next catch-up finds it */
	c->gaps = grown;
	snprintf(c->gaps[c->gap_count++], sizeof(*grown), "%s", convo);
}

static void forget_gap(struct chat_client *c, const char *convo)
{
	for (size_t i = 0; i < c->gap_count; i++) {
		if (strcmp(c->gaps[i], convo) == 0) {
			memmove(c->gaps[i], c->gaps[c->gap_count - 1],
			        sizeof(*c->gaps));
			c->gap_count--;
			return;
		}
	}
}

int client_sync_gaps(struct chat_client *c)
{
	while (c->gap_count > 0) {
		char convo[CHAT_ID_MAX + 1];
		int rc;

		snprintf(convo, sizeof(convo), "%s", c->gaps[0]);
		forget_gap(c, convo);
		rc = client_sync_convo(c, convo);
		if (rc == CHAT_ERR_NETWORK || rc == CHAT_ERR_STATE) {
			client_sync_note_gap(c, convo);
			return rc;
		}
	}
	return CHAT_OK;
}

/* ---- sync pages ---- */

static cJSON *sync_request(const char *convo, long long after)
{
	cJSON *req = client_new_request("sync");

	if (req == NULL || !cJSON_AddStringToObject(req, "convo", convo) ||
	    !cJSON_AddNumberToObject(req, "after", (double)after) ||
	    !cJSON_AddNumberToObject(req, "limit", CLIENT_SYNC_PAGE)) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

/* One page: its messages, then the cursor up to `through` (a seq the
 * page covers but does not hold does not exist). *more tells whether to
 * go on. */
static int sync_page(struct chat_client *c, const char *convo, long long after,
                     bool *more)
{
	cJSON *req = sync_request(convo, after), *resp = NULL;
	const cJSON *msg;
	long long through, contiguous;
	int rc;

	*more = false;
	if (req == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	rc = client_request(c, req, &resp);
	cJSON_Delete(req);
	if (rc != CHAT_OK)
		goto done;
	if (client_json_integer(resp, "through", &through) != 0 ||
	    through < after) {
		rc = client_fail(c, CHAT_ERR_REFUSED,
		                 "sync of %s answered no usable page", convo);
		goto done;
	}
	cJSON_ArrayForEach(msg,
	                   cJSON_GetObjectItemCaseSensitive(resp, "messages"))
	{
		rc = client_receive(c, msg);
		if (rc != CHAT_OK)
			goto done;
	}
	if (client_state_advance(&c->state, convo, through, &contiguous) != 0)
		rc = state_failed(c);
	*more = client_json_true(resp, "more") && through > after;
done:
	cJSON_Delete(resp);
	return rc;
}

int client_sync_convo(struct chat_client *c, const char *convo)
{
	bool more = true;

	for (int page = 0; more && page < SYNC_PAGES_MAX; page++) {
		long long after;
		int rc;

		if (client_state_contiguous(&c->state, convo, &after) != 0)
			return state_failed(c);
		rc = sync_page(c, convo, after, &more);
		if (rc != CHAT_OK)
			return rc;
	}
	/* Gaps seen inside the pages are closed by the pages themselves. */
	forget_gap(c, convo);
	return CHAT_OK;
}

/* One entry of `conversations`: subscribe to a broadcast one, sync one
 * whose head is above what is held. */
static int catch_up_convo(struct chat_client *c, const cJSON *item)
{
	const char *convo = client_json_string(item, "convo");
	char topic[CHAT_TOPIC_MAX];
	long long head = 0, contiguous;

	if (!chat_valid_convo_id(convo))
		return CHAT_OK;
	if (client_json_true(item, "broadcast") &&
	    client_json_true(item, "member") &&
	    chat_topic_channel(&c->session.topics, convo, topic, sizeof(topic)))
		client_session_add_filter(&c->session, topic);
	client_json_integer(item, "head", &head);
	if (client_state_contiguous(&c->state, convo, &contiguous) != 0)
		return state_failed(c);
	if (head <= contiguous)
		return CHAT_OK;
	return client_sync_convo(c, convo);
}

static int catch_up_each(struct chat_client *c, const cJSON *item, void *ctx)
{
	int rc = catch_up_convo(c, item);

	(void)ctx;
	/* A conversation that refuses its sync does not hold up the
	 * others. */
	if (rc == CHAT_ERR_REFUSED) {
		client_notice(c, "%s", c->error);
		return CHAT_OK;
	}
	return rc;
}

int client_sync_all(struct chat_client *c)
{
	return client_each_conversation(c, catch_up_each, NULL);
}

/* ---- what arrived ---- */

static bool is_for_processing(struct client_incoming *e, void *ctx)
{
	(void)ctx;
	return e->kind != CLIENT_IN_RESP && e->kind != CLIENT_IN_BLOB;
}

static int process_one(struct chat_client *c, struct client_incoming *e)
{
	cJSON *json = client_incoming_json(e);
	const char *type = client_json_string(json, "type");
	int rc;

	switch (e->kind) {
	case CLIENT_IN_MSG:
	case CLIENT_IN_CHANNEL:
		rc = client_receive(c, json);
		/* Not stored: the conversation is synced again later. */
		if (rc == CHAT_ERR_NETWORK) {
			const char *convo = client_json_string(json, "convo");

			if (chat_valid_convo_id(convo))
				client_sync_note_gap(c, convo);
			rc = CHAT_OK;
		}
		return rc;
	case CLIENT_IN_EVENT:
		if (type != NULL && strcmp(type, "error") == 0)
			client_outbox_error_event(c, json);
		return CHAT_OK;
	default:
		return CHAT_OK;
	}
}

int client_process_incoming(struct chat_client *c)
{
	struct client_incoming *e;
	int rc = CHAT_OK;

	while (rc == CHAT_OK &&
	       (e = client_session_take(&c->session, is_for_processing,
	                                NULL)) != NULL) {
		rc = process_one(c, e);
		client_incoming_free(e);
	}
	/* Nobody waits for a response now: what is left came too late. */
	while ((e = client_session_take(&c->session, NULL, NULL)) != NULL)
		client_incoming_free(e);
	return rc;
}

/* ---- showing ---- */

static void fill_file(struct chat_message *out, const cJSON *plain)
{
	const cJSON *file = cJSON_GetObjectItemCaseSensitive(plain, "file");

	out->file.blob = client_json_string(file, "blob");
	out->file.name = client_json_string(file, "name");
	out->file.type = client_json_string(file, "type");
	client_json_integer(file, "size", &out->file.size);
}

static int show_one(void *ctx, const struct client_message *m)
{
	struct chat_client *c = ctx;
	struct chat_message out = {0};
	cJSON *plain = NULL;

	out.convo = m->convo;
	out.seq = m->seq;
	out.id = m->id;
	out.from = m->sender;
	out.ts = m->ts;
	out.cmid = m->cmid;
	out.kind = CHAT_MESSAGE_UNREADABLE;
	out.error = m->error ? m->error : "no content";
	if (strcmp(m->kind, CLIENT_KIND_SYSTEM) == 0) {
		out.kind = CHAT_MESSAGE_SYSTEM;
		out.system_type = m->system_type;
		out.system_event = m->content;
	} else if (m->content != NULL) {
		plain = cJSON_Parse(m->content);
		if (strcmp(m->kind, CLIENT_KIND_TEXT) == 0 &&
		    client_json_string(plain, "text") != NULL) {
			out.kind = CHAT_MESSAGE_TEXT;
			out.text = client_json_string(plain, "text");
		} else if (strcmp(m->kind, CLIENT_KIND_FILE) == 0 && plain) {
			out.kind = CHAT_MESSAGE_FILE;
			fill_file(&out, plain);
		}
	}
	if (out.kind != CHAT_MESSAGE_UNREADABLE)
		out.error = NULL;
	c->on_message(c->message_ctx, &out);
	cJSON_Delete(plain);
	return 0;
}

int client_show_pending(struct chat_client *c)
{
	/* Without a reader nothing is marked shown: a later run shows it. */
	if (c->on_message == NULL)
		return CHAT_OK;
	if (client_state_show_pending(&c->state, NULL, show_one, c) != 0)
		return state_failed(c);
	return CHAT_OK;
}

/* ---- receipts ---- */

static int send_receipt(void *ctx, const char *convo, long long contiguous)
{
	struct chat_client *c = ctx;
	bool read = c->receipts == CHAT_RECEIPTS_READ;
	char topic[CHAT_TOPIC_MAX];
	cJSON *receipt = cJSON_CreateObject();
	int rc = 0;

	if (receipt == NULL ||
	    !cJSON_AddNumberToObject(receipt, "delivered",
	                             (double)contiguous) ||
	    (read &&
	     !cJSON_AddNumberToObject(receipt, "read", (double)contiguous))) {
		cJSON_Delete(receipt);
		return -1;
	}
	snprintf(topic, sizeof(topic), "%s%s", c->session.topics.ack_prefix,
	         convo);
	if (client_session_publish_json(&c->session, topic, receipt) != 0 ||
	    client_state_set_receipts(&c->state, convo, contiguous,
	                              read ? contiguous : 0) != 0)
		rc = -1;
	cJSON_Delete(receipt);
	return rc;
}

int client_send_receipts(struct chat_client *c, bool now)
{
	long long t = client_monotonic_ms();

	if (c->receipts == CHAT_RECEIPTS_NONE || c->on_message == NULL ||
	    !c->session.ready)
		return CHAT_OK;
	if (!now && t - c->receipts_sent_ms < RECEIPT_INTERVAL_MS)
		return CHAT_OK;
	c->receipts_sent_ms = t;
	if (client_state_receipts_due(&c->state,
	                              c->receipts == CHAT_RECEIPTS_READ,
	                              send_receipt, c) != 0)
		return client_fail(c, CHAT_ERR_NETWORK, "cannot send receipts");
	return CHAT_OK;
}
