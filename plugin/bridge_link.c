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

/* Users a system message concerns beyond its readers (those it removes,
 * and new members of a broadcast conversation, who are not subscribed to
 * its topic yet); a reader already has it. */
static void deliver_to_list(struct fanout *f, const struct chat_convo *c,
			    long long seq, bool inbox_fanout,
			    const cJSON *users)
{
	const cJSON *user;

	cJSON_ArrayForEach(user, users)
	{
		if (!cJSON_IsString(user))
			continue;
		if (inbox_fanout && chat_convo_sees(c, user->valuestring, seq))
			continue;
		deliver_to_member(user->valuestring, f);
	}
}

/* One publish on the conversation's own topic, which the broker delivers
 * to its subscribed members (checked by chat_channel_allows). */
static void broadcast(struct fanout *f, const char *convo)
{
	char topic[CHAT_TOPIC_MAX];

	if (chat_topic_channel(&f->p->topics, convo, topic, sizeof(topic)) &&
	    chat_outbox_add(&f->p->outbox, NULL, topic, f->payload, f->len) ==
		    0)
		f->deliveries++;
}

/* A newly committed message: once on a broadcast conversation's topic, or
 * to the inbox of every member who may see its seq (plus `also`: those a
 * system message removes). The system message that switches a group to
 * broadcast still goes to the inboxes, so that members learn of it. */
static void fan_out(struct chat_plugin *p, struct fanout *f,
		    const cJSON *msg, const cJSON *also)
{
	const char *convo = string_field(msg, "convo");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(msg, "seq");
	const char *type = string_field(msg, "type");
	struct chat_convo *c;

	if (chat_members_get(&p->members, convo, &c) != CHAT_MEMBERS_OK) {
		chat_log(&p->log, CHAT_LOG_ERROR,
			 "cannot read the members of '%s': committed message "
			 "not fanned out (members get it by sync)",
			 convo);
		return;
	}
	bool inbox = !chat_convo_is_broadcast(c) ||
		     (type && strcmp(type, "broadcast") == 0);
	long long n = cJSON_IsNumber(seq) ? (long long)seq->valuedouble : 0;

	if (!inbox)
		broadcast(f, convo);
	else
		chat_convo_each_reader(c, n, deliver_to_member, f);
	deliver_to_list(f, c, n, inbox, also);
}

/* A committed message goes to its readers; a duplicate's stored copy goes
 * back to its sender only (a fresh tick). head names the message; text is
 * the message as clients receive it. */
static void publish_committed(struct chat_plugin *p, const cJSON *entry,
			      const cJSON *head, const char *text,
			      size_t len)
{
	struct fanout f = {.p = p, .payload = text, .len = len};
	const char *only_to = string_field(entry, "to");

	if (string_field(head, "convo") == NULL)
		return;
	if (only_to) {
		deliver_to_member(only_to, &f);
	} else {
		p->stats.committed++;
		fan_out(p, &f, head,
			cJSON_GetObjectItemCaseSensitive(entry, "also"));
	}
	p->stats.deliveries += f.deliveries;
}

/* A user's identity key or device list changed: retained, for anyone who
 * encrypts to that user. */
static void publish_keys(struct chat_plugin *p, const cJSON *entry,
			 const cJSON *keys)
{
	const char *user = string_field(entry, "user");
	char topic[CHAT_TOPIC_MAX];
	char *text;

	if (user == NULL ||
	    !chat_topic_keys(&p->topics, user, topic, sizeof(topic)))
		return;
	text = cJSON_PrintUnformatted(keys);
	if (text)
		chat_outbox_add_flags(&p->outbox, NULL, topic, text,
				      strlen(text), 1, true);
	free(text);
}

/* Receipts and cursor moves, for one user's devices. */
static void publish_event(struct chat_plugin *p, const cJSON *entry,
			  const cJSON *event)
{
	const char *to = string_field(entry, "to");
	char topic[CHAT_TOPIC_MAX];
	char *text;

	if (to == NULL ||
	    !chat_topic_inbox(&p->topics, to, "event", topic, sizeof(topic)))
		return;
	text = cJSON_PrintUnformatted(event);
	if (text)
		chat_outbox_add(&p->outbox, NULL, topic, text, strlen(text));
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

/* One entry; a message entry also takes the line after it (*text). */
static void handle_entry(struct chat_plugin *p, const cJSON *entry,
			 const char *text, size_t text_len)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(entry, "msg");
	const cJSON *reject = cJSON_GetObjectItemCaseSensitive(entry, "reject");
	const cJSON *event = cJSON_GetObjectItemCaseSensitive(entry, "event");
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(entry, "keys");
	const char *membership = string_field(entry, "membership");
	const char *settings = string_field(entry, "settings");

	if (membership) {
		/* Entries come in commit order: every later message of the
		 * conversation is fanned out with the new members. */
		chat_members_forget(&p->members, membership);
		chat_contacts_forget_all(&p->contacts);
	} else if (settings) {
		chat_contacts_forget_user(&p->contacts, settings);
	} else if (cJSON_IsObject(msg)) {
		forget_pending(p, msg);
		if (text)
			publish_committed(p, entry, msg, text, text_len);
	} else if (cJSON_IsObject(reject)) {
		report_rejection(p, reject);
	} else if (cJSON_IsObject(event)) {
		publish_event(p, entry, event);
	} else if (cJSON_IsObject(keys)) {
		publish_keys(p, entry, keys);
	}
}

/* Returns the line starting at *pos (without its newline) and moves *pos
 * past it; NULL at the end. */
static const char *next_line(const char *payload, size_t len, size_t *pos,
			     size_t *line_len)
{
	const char *start = payload + *pos, *newline;

	if (*pos >= len)
		return NULL;
	newline = memchr(start, '\n', len - *pos);
	*line_len = newline ? (size_t)(newline - start) : len - *pos;
	*pos += *line_len + (newline ? 1 : 0);
	return start;
}

/* An announcement: one entry per line, a message entry followed by the
 * message's own line (bridge/announce.h). Only the small entry lines are
 * parsed; messages are published as they come. */
static void handle_committed(struct chat_plugin *p, const char *payload,
			     size_t len)
{
	size_t pos = 0, line_len, text_len = 0;
	const char *line, *text;
	cJSON *entry;

	while ((line = next_line(payload, len, &pos, &line_len)) != NULL) {
		entry = cJSON_ParseWithLength(line, line_len);
		if (!cJSON_IsObject(entry)) {
			chat_log(&p->log, CHAT_LOG_ERROR,
				 "unreadable announcement from the bridge");
			cJSON_Delete(entry);
			return;
		}
		text = NULL;
		if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(entry,
								    "msg")))
			text = next_line(payload, len, &pos, &text_len);
		handle_entry(p, entry, text, text_len);
		cJSON_Delete(entry);
	}
}

/* The response follows a one-line header naming its recipient; only the
 * header is parsed, the response itself is forwarded as it is. */
static void forward_reply(struct chat_plugin *p, const char *payload,
			  size_t len)
{
	const char *newline = memchr(payload, '\n', len);
	char topic[CHAT_TOPIC_MAX];
	cJSON *header;
	const char *user, *client, *owner, *kind;

	if (newline == NULL)
		return;
	header = cJSON_ParseWithLength(payload, (size_t)(newline - payload));
	user = string_field(header, "user");
	client = string_field(header, "client");
	/* A file chunk goes to the blob topic, everything else to resp. */
	kind = string_field(header, "kind");
	kind = kind && strcmp(kind, "blob") == 0 ? "blob" : "resp";
	if (client) {
		chat_sessions_request_answered(&p->sessions, client,
					       p->last_tick_ms);
		chat_inflight_answered(&p->inflight);
	}
	owner = client ? chat_sessions_owner(&p->sessions, client) : NULL;
	/* The client id may have been handed to someone else since. */
	if (user && owner && strcmp(owner, user) == 0 &&
	    chat_topic_inbox(&p->topics, user, kind, topic, sizeof(topic)))
		chat_outbox_add(&p->outbox, client, topic, newline + 1,
				len - (size_t)(newline + 1 - payload));
	cJSON_Delete(header);
}

void chat_handle_bridge_publish(struct chat_plugin *p, const char *topic,
				const char *payload, size_t len)
{
	if (payload == NULL)
		payload = "", len = 0;
	/* The bridge is between rounds: see flush_handoffs in core.c. */
	p->messages_in_flight = false;
	p->hold_suspended = false;
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
		chat_inflight_clear(&p->inflight);
		chat_log(&p->log, CHAT_LOG_NOTICE,
			 "the bridge is connected; accepting messages");
	}
}
