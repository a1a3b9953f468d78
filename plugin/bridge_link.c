/*
 * What the bridge tells the plugin: that it is ready, which messages are
 * committed (to be fanned out), and responses to forward to clients.
 */
#include "core.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

struct fanout {
	struct chat_plugin *p;
	const char *payload;
	size_t len;
	unsigned long long deliveries;
};

static void deliver_to_member(const char *user, void *arg)
{
	struct fanout *f = arg;
	char topic[CHAT_TOPIC_MAX];

	if (!chat_topic_inbox(&f->p->topics, user, "msg", topic, sizeof(topic)))
		return;
	if (chat_outbox_add(&f->p->outbox, NULL, topic, f->payload, f->len) == 0)
		f->deliveries++;
}

static const char *string_field(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void forget_pending(struct chat_plugin *p, const cJSON *msg)
{
	const char *convo = string_field(msg, "convo");
	const char *from = string_field(msg, "from");
	const char *cmid = string_field(msg, "cmid");

	if (convo && from && cmid)
		chat_pending_remove(&p->pending, convo, from, cmid);
}

/* A committed message goes to every member's inbox; a duplicate's stored
 * copy goes back to its sender only (a fresh tick). */
static void publish_committed(struct chat_plugin *p, const cJSON *msg,
			      const char *only_to)
{
	struct fanout f = {.p = p};
	const char *convo = string_field(msg, "convo");
	char *text = cJSON_PrintUnformatted(msg);

	if (text == NULL || convo == NULL) {
		free(text);
		return;
	}
	f.payload = text;
	f.len = strlen(text);
	if (only_to) {
		deliver_to_member(only_to, &f);
	} else {
		p->stats.committed++;
		if (chat_store_each_member(p->store, convo, deliver_to_member,
					   &f) != CHAT_STORE_OK)
			chat_log(&p->log, CHAT_LOG_ERROR,
				 "cannot read the members of '%s': committed "
				 "message not fanned out (members get it "
				 "by sync)",
				 convo);
	}
	p->stats.deliveries += f.deliveries;
	free(text);
}

static void report_rejection(struct chat_plugin *p, const cJSON *reject)
{
	const char *from = string_field(reject, "from");
	const char *code = string_field(reject, "code");
	const char *message = string_field(reject, "message");

	if (from == NULL || code == NULL)
		return;
	forget_pending(p, reject);
	p->stats.refused_sends++;
	chat_send_error_event(p, from, code, message ? message : code,
			      string_field(reject, "convo"),
			      string_field(reject, "cmid"));
}

static void handle_committed(struct chat_plugin *p, const char *payload,
			     size_t len)
{
	cJSON *entries = cJSON_ParseWithLength(payload, len);
	const cJSON *entry;

	if (!cJSON_IsArray(entries)) {
		chat_log(&p->log, CHAT_LOG_ERROR,
			 "unreadable announcement from the bridge");
		cJSON_Delete(entries);
		return;
	}
	cJSON_ArrayForEach(entry, entries) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(entry, "msg");
		const cJSON *reject =
			cJSON_GetObjectItemCaseSensitive(entry, "reject");

		if (cJSON_IsObject(msg)) {
			forget_pending(p, msg);
			publish_committed(p, msg, string_field(entry, "to"));
		} else if (cJSON_IsObject(reject)) {
			report_rejection(p, reject);
		}
	}
	cJSON_Delete(entries);
}

/* The response follows a one-line header naming its recipient; only the
 * header is parsed, the response itself is forwarded as it is. */
static void forward_reply(struct chat_plugin *p, const char *payload,
			  size_t len)
{
	const char *newline = memchr(payload, '\n', len);
	char topic[CHAT_TOPIC_MAX];
	cJSON *header;
	const char *user, *client, *owner;

	if (newline == NULL)
		return;
	header = cJSON_ParseWithLength(payload, (size_t)(newline - payload));
	user = string_field(header, "user");
	client = string_field(header, "client");
	if (client) {
		chat_sessions_request_answered(&p->sessions, client);
		if (p->requests_in_flight > 0)
			p->requests_in_flight--;
	}
	owner = client ? chat_sessions_owner(&p->sessions, client) : NULL;
	/* The client id may have been handed to someone else since. */
	if (user && owner && strcmp(owner, user) == 0 &&
	    chat_topic_inbox(&p->topics, user, "resp", topic, sizeof(topic)))
		chat_outbox_add(&p->outbox, client, topic, newline + 1,
				len - (size_t)(newline + 1 - payload));
	cJSON_Delete(header);
}

void chat_handle_bridge_publish(struct chat_plugin *p, const char *topic,
				const char *payload, size_t len)
{
	if (payload == NULL)
		payload = "", len = 0;
	if (strcmp(topic, p->topics.bridge_committed) == 0) {
		handle_committed(p, payload, len);
	} else if (strcmp(topic, p->topics.bridge_reply) == 0) {
		forward_reply(p, payload, len);
	} else if (strcmp(topic, p->topics.bridge_hello) == 0) {
		p->bridge_ready = true;
		/* Whatever was in flight may have died with the old bridge
		 * process; let resends through. */
		chat_pending_clear(&p->pending);
		chat_sessions_forget_requests(&p->sessions);
		p->requests_in_flight = 0;
		chat_log(&p->log, CHAT_LOG_NOTICE,
			 "the bridge is connected; accepting messages");
	}
}
