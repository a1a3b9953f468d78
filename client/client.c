/*
 * The client's life: open the state, connect, and the poll loop that ties
 * the parts together. Also the small public operations that are one
 * request or one message.
 */
#include "internal.h"

#include "ids.h"
#include "json.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_TIMEOUT_MS 15000
#define CLOSE_DRAIN_MS     3000
#define POLL_SLICE_MS      200

int client_fail(struct chat_client *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return code;
}

void client_notice(struct chat_client *c, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (c->on_notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->on_notice(c->notice_ctx, text);
}

long long client_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cJSON *client_new_request(const char *op)
{
	cJSON *req = cJSON_CreateObject();

	if (req != NULL && cJSON_AddStringToObject(req, "op", op) == NULL) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

int client_require_session(struct chat_client *c)
{
	if (!c->session_ready)
		return client_fail(c, CHAT_ERR_NETWORK, "not connected");
	return CHAT_OK;
}

int client_request(struct chat_client *c, cJSON *req, cJSON **resp)
{
	const char *op = client_json_string(req, "op");
	enum client_request_result r;

	*resp = NULL;
	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	r = client_session_request(&c->session, req, CLIENT_REQUEST_TIMEOUT_MS,
	                           resp);
	if (r == CLIENT_REQUEST_OK)
		return CHAT_OK;
	if (r == CLIENT_REQUEST_REFUSED)
		return client_fail(c, CHAT_ERR_REFUSED, "%s refused: %s (%s)",
		                   op ? op : "request",
		                   client_response_message(*resp),
		                   client_response_code(*resp));
	return client_fail(
	    c, c->session.refused ? CHAT_ERR_AUTH : CHAT_ERR_NETWORK, "%s",
	    c->session.error);
}

/* ---- opening and connecting ---- */

int chat_client_open(const char *state_path, struct chat_client **out,
                     char *err, size_t errlen)
{
	struct chat_client *c;
	int rc;

	*out = NULL;
	if (strlen(state_path) + 1 > sizeof(c->state_path)) {
		snprintf(err, errlen, "state file path too long");
		return CHAT_ERR_USAGE;
	}
	if (client_session_library_init() != 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return CHAT_ERR_STATE;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return CHAT_ERR_NO_MEMORY;
	}
	if (client_state_open(state_path, false, &c->state, err, errlen)) {
		free(c);
		return CHAT_ERR_STATE;
	}
	rc = client_state_load_account(&c->state, &c->account);
	if (rc != 0) {
		snprintf(err, errlen, "%s holds no account%s", state_path,
		         rc > 0 ? " (run `chat init`)" : "");
		client_state_close(&c->state);
		free(c);
		return CHAT_ERR_STATE;
	}
	snprintf(c->host, sizeof(c->host), "%s", c->account.host);
	c->port = c->account.port;
	snprintf(c->state_path, sizeof(c->state_path), "%s", state_path);
	snprintf(c->files_dir, sizeof(c->files_dir), "%s.files", state_path);
	c->receipts = CHAT_RECEIPTS_DELIVERED;
	*out = c;
	return CHAT_OK;
}

void chat_client_close(struct chat_client *c)
{
	if (c == NULL)
		return;
	if (c->session_ready) {
		client_send_receipts(c, true);
		client_session_drain(&c->session, CLOSE_DRAIN_MS);
		client_session_destroy(&c->session);
	}
	client_keys_forget(c, NULL);
	free(c->gaps);
	client_state_close(&c->state);
	sodium_memzero(&c->account, sizeof(c->account));
	free(c);
}

const char *chat_client_error(const struct chat_client *c)
{
	return c->error;
}

const char *chat_client_user(const struct chat_client *c)
{
	return c->account.user;
}

const char *chat_client_device(const struct chat_client *c)
{
	return c->account.device;
}

void chat_client_set_server(struct chat_client *c, const char *host, int port)
{
	if (host != NULL)
		snprintf(c->host, sizeof(c->host), "%s", host);
	if (port > 0)
		c->port = port;
}

void chat_client_on_message(struct chat_client *c, chat_message_fn fn,
                            void *ctx)
{
	c->on_message = fn;
	c->message_ctx = ctx;
}

void chat_client_on_notice(struct chat_client *c, chat_notice_fn fn, void *ctx)
{
	c->on_notice = fn;
	c->notice_ctx = ctx;
}

void chat_client_set_receipts(struct chat_client *c, enum chat_receipts r)
{
	c->receipts = r;
}

/* What every new connection needs: keys that init could not publish,
 * outbox entries sent again, and a catch-up once sync was asked for. */
static int handle_new_connection(struct chat_client *c)
{
	int rc = CHAT_OK;

	c->handled_generation = c->session.generation;
	if (!c->account.published) {
		rc = client_keys_publish_own(
		    c, c->prekeys ? c->prekeys : CLIENT_PREKEYS_DEFAULT);
		if (rc != CHAT_OK)
			return rc;
	}
	rc = client_outbox_resend(c, true);
	if (rc == CHAT_OK && c->catching_up)
		rc = client_sync_all(c);
	return rc;
}

int chat_client_connect(struct chat_client *c, bool durable)
{
	char client_id[CLIENT_CLIENT_ID_MAX + 1];
	char suffix[16];

	if (c->session_ready) {
		client_session_destroy(&c->session);
		c->session_ready = false;
	}
	if (durable) {
		snprintf(client_id, sizeof(client_id), "%s",
		         c->account.client_id);
	} else {
		client_new_id("", suffix, 9);
		snprintf(client_id, sizeof(client_id), "%.80s-%s",
		         c->account.client_id, suffix);
	}
	if (client_session_init(&c->session, c->host, c->port, c->account.user,
	                        c->account.token, client_id, durable) != 0)
		return client_fail(c, CHAT_ERR_NETWORK, "%s", c->session.error);
	c->session_ready = true;
	if (client_session_connect(&c->session, CONNECT_TIMEOUT_MS) != 0)
		return client_fail(
		    c, c->session.refused ? CHAT_ERR_AUTH : CHAT_ERR_NETWORK,
		    "%s", c->session.error);
	return handle_new_connection(c);
}

/* ---- the loop ---- */

int chat_client_poll(struct chat_client *c, int timeout_ms)
{
	int rc;

	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	if (c->session.ready &&
	    c->session.generation != c->handled_generation) {
		rc = handle_new_connection(c);
		if (rc != CHAT_OK && rc != CHAT_ERR_NETWORK)
			return rc;
	}
	if (client_session_pump(&c->session, timeout_ms) != 0)
		return client_fail(c, CHAT_ERR_AUTH, "%s", c->session.error);
	rc = client_process_incoming(c);
	if (rc == CHAT_OK)
		rc = client_sync_gaps(c);
	if (rc == CHAT_OK)
		rc = client_outbox_resend(c, false);
	if (rc == CHAT_OK)
		rc = client_show_pending(c);
	if (rc == CHAT_OK)
		rc = client_send_receipts(c, false);
	/* A lost connection is re-made by the session; not an error. */
	return rc == CHAT_ERR_NETWORK ? CHAT_OK : rc;
}

int chat_client_sync(struct chat_client *c)
{
	int rc;

	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	c->catching_up = true;
	rc = client_process_incoming(c);
	if (rc == CHAT_OK)
		rc = client_sync_all(c);
	if (rc == CHAT_OK)
		rc = client_show_pending(c);
	if (rc == CHAT_OK)
		rc = client_send_receipts(c, true);
	return rc;
}

/* ---- sending ---- */

/* A fresh cmid: "m" and 24 hex digits, unguessable and never reused. */
static void make_cmid(char cmid[CHAT_CMID_SIZE])
{
	client_new_id("m", cmid, CHAT_CMID_SIZE);
}

/* Ticks of a broadcast conversation arrive on its own topic. */
static void watch_convo(struct chat_client *c, const char *convo)
{
	char topic[CHAT_TOPIC_MAX];

	if (chat_topic_channel(&c->session.topics, convo, topic, sizeof(topic)))
		client_session_add_filter(&c->session, topic);
}

int chat_client_send_text(struct chat_client *c, const char *convo,
                          const char *text, char cmid_out[CHAT_CMID_SIZE])
{
	char cmid[CHAT_CMID_SIZE];
	cJSON *plain;
	char *plaintext;
	int rc;

	if (!chat_valid_convo_id(convo) || text == NULL ||
	    !chat_utf8_valid(text, strlen(text)))
		return client_fail(c, CHAT_ERR_USAGE,
		                   "invalid conversation id or text");
	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	plain = cJSON_CreateObject();
	if (plain == NULL || !cJSON_AddStringToObject(plain, "text", text)) {
		cJSON_Delete(plain);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	plaintext = cJSON_PrintUnformatted(plain);
	cJSON_Delete(plain);
	if (plaintext == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	make_cmid(cmid);
	watch_convo(c, convo);
	rc = client_outbox_send(c, convo, cmid, plaintext, NULL, 0);
	free(plaintext);
	if (rc == CHAT_OK && cmid_out != NULL)
		memcpy(cmid_out, cmid, CHAT_CMID_SIZE);
	return rc;
}

static int note_present(void *ctx, const struct client_outbox_entry *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

int chat_client_wait_sent(struct chat_client *c, const char *convo,
                          const char *cmid, int timeout_ms)
{
	long long deadline = client_monotonic_ms() + timeout_ms;
	int rc;

	for (;;) {
		rc = client_state_outbox_get(&c->state, convo, cmid,
		                             note_present, NULL);
		if (rc < 0)
			return client_fail(c, CHAT_ERR_STATE, "%s",
			                   client_state_error(&c->state));
		if (rc == 1 && strcmp(c->refused_cmid, cmid) == 0)
			return client_fail(c, CHAT_ERR_REFUSED,
			                   "the server refused %s: %s", cmid,
			                   c->refused_reason);
		if (rc == 1)
			return CHAT_OK;
		if (client_monotonic_ms() > deadline)
			return client_fail(c, CHAT_ERR_NETWORK,
			                   "no tick for %s yet; it stays in "
			                   "the outbox and is sent again "
			                   "next time",
			                   cmid);
		rc = chat_client_poll(c, POLL_SLICE_MS);
		if (rc != CHAT_OK)
			return rc;
	}
}

int chat_client_flush(struct chat_client *c, int timeout_ms)
{
	long long deadline = client_monotonic_ms() + timeout_ms;
	long long count;
	int rc;

	for (;;) {
		if (client_state_outbox_count(&c->state, &count) != 0)
			return client_fail(c, CHAT_ERR_STATE, "%s",
			                   client_state_error(&c->state));
		if (count == 0)
			return CHAT_OK;
		if (client_monotonic_ms() > deadline)
			return client_fail(c, CHAT_ERR_NETWORK,
			                   "%lld message(s) still without a "
			                   "tick; they are sent again next "
			                   "time",
			                   count);
		rc = chat_client_poll(c, POLL_SLICE_MS);
		if (rc != CHAT_OK)
			return rc;
	}
}

int chat_client_mark_read(struct chat_client *c, const char *convo,
                          long long *seq)
{
	long long contiguous;
	cJSON *receipt;
	char topic[CHAT_TOPIC_MAX];
	int rc;

	if (!chat_valid_convo_id(convo))
		return client_fail(c, CHAT_ERR_USAGE,
		                   "invalid conversation id");
	rc = client_sync_convo(c, convo);
	if (rc != CHAT_OK)
		return rc;
	if (client_state_contiguous(&c->state, convo, &contiguous) != 0)
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	receipt = cJSON_CreateObject();
	if (receipt == NULL ||
	    !cJSON_AddNumberToObject(receipt, "delivered",
	                             (double)contiguous) ||
	    !cJSON_AddNumberToObject(receipt, "read", (double)contiguous)) {
		cJSON_Delete(receipt);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	snprintf(topic, sizeof(topic), "%s%s", c->session.topics.ack_prefix,
	         convo);
	rc = client_session_publish_json(&c->session, topic, receipt);
	cJSON_Delete(receipt);
	if (rc != 0 ||
	    client_session_drain(&c->session, CLIENT_REQUEST_TIMEOUT_MS) != 0)
		return client_fail(c, CHAT_ERR_NETWORK,
		                   "the receipt was not acknowledged");
	client_state_set_receipts(&c->state, convo, contiguous, contiguous);
	if (seq != NULL)
		*seq = contiguous;
	return CHAT_OK;
}

int chat_client_request_resend(struct chat_client *c, const char *convo,
                               long long seq)
{
	char cmid[CHAT_CMID_SIZE], plaintext[96];

	if (!chat_valid_convo_id(convo) || seq < 1)
		return client_fail(c, CHAT_ERR_USAGE,
		                   "invalid conversation id or seq");
	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	snprintf(plaintext, sizeof(plaintext), "{\"resend\":{\"seq\":%lld}}",
	         seq);
	make_cmid(cmid);
	watch_convo(c, convo);
	return client_outbox_send(c, convo, cmid, plaintext, NULL, 0);
}

/* ---- conversations ---- */

/* "a,b" from a JSON array of strings (malloc'd), or NULL. */
static char *join_members(const cJSON *members)
{
	const cJSON *item;
	size_t len = 1, used = 0;
	char *out;

	if (!cJSON_IsArray(members))
		return NULL;
	cJSON_ArrayForEach(item, members)
	{
		if (cJSON_IsString(item))
			len += strlen(item->valuestring) + 1;
	}
	out = malloc(len);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	cJSON_ArrayForEach(item, members)
	{
		if (cJSON_IsString(item))
			used += (size_t)snprintf(out + used, len - used, "%s%s",
			                         used ? "," : "",
			                         item->valuestring);
	}
	return out;
}

static void report_conversation(struct chat_client *c, const cJSON *item,
                                chat_conversation_fn fn, void *ctx)
{
	struct chat_conversation conv = {0};
	char *members = NULL;

	conv.convo = client_json_string(item, "convo");
	if (!chat_valid_convo_id(conv.convo))
		return;
	conv.kind = client_json_string(item, "kind");
	conv.title = client_json_string(item, "title");
	if (conv.kind != NULL && strcmp(conv.kind, "direct") == 0)
		members = join_members(
		    cJSON_GetObjectItemCaseSensitive(item, "members"));
	conv.members = members;
	client_json_integer(item, "member_count", &conv.member_count);
	conv.member = client_json_true(item, "member");
	conv.broadcast = client_json_true(item, "broadcast");
	client_json_integer(item, "head", &conv.head);
	client_json_integer(item, "read", &conv.read);
	client_state_contiguous(&c->state, conv.convo, &conv.contiguous);
	fn(ctx, &conv);
	free(members);
}

/* One page of the conversations, from the id after ("" first). */
static int conversations_page(struct chat_client *c, const char *after,
                              cJSON **resp)
{
	cJSON *req = client_new_request("conversations");
	int rc;

	if (req == NULL ||
	    (after[0] && !cJSON_AddStringToObject(req, "after", after))) {
		cJSON_Delete(req);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	rc = client_request(c, req, resp);
	cJSON_Delete(req);
	return rc;
}

int client_each_conversation(struct chat_client *c,
                             int (*each)(struct chat_client *c,
                                         const cJSON *item, void *ctx),
                             void *ctx)
{
	char after[CHAT_ID_MAX + 1] = "";

	for (;;) {
		cJSON *resp = NULL;
		const cJSON *list = NULL, *item, *next;
		int rc = conversations_page(c, after, &resp);

		if (rc == CHAT_OK)
			list = cJSON_GetObjectItemCaseSensitive(resp,
			                                        "conversations");
		cJSON_ArrayForEach(item, list)
		{
			rc = each(c, item, ctx);
			if (rc != CHAT_OK)
				break;
		}
		next = cJSON_GetObjectItemCaseSensitive(resp, "next");
		if (rc != CHAT_OK ||
		    !cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")) ||
		    !cJSON_IsString(next) ||
		    strlen(next->valuestring) > CHAT_ID_MAX) {
			cJSON_Delete(resp);
			return rc;
		}
		snprintf(after, sizeof(after), "%s", next->valuestring);
		cJSON_Delete(resp);
	}
}

struct report_context {
	chat_conversation_fn fn;
	void *ctx;
};

static int report_each(struct chat_client *c, const cJSON *item, void *ctx)
{
	struct report_context *r = ctx;

	report_conversation(c, item, r->fn, r->ctx);
	return CHAT_OK;
}

int chat_client_conversations(struct chat_client *c, chat_conversation_fn fn,
                              void *ctx)
{
	struct report_context r = {fn, ctx};

	return client_each_conversation(c, report_each, &r);
}
