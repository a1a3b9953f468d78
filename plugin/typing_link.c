/*
 * Typing indicators published on {prefix}/typing/{convo}: passed on at
 * QoS 0 to the inboxes of the conversation's other members, never stored.
 * QoS 0 is not queued for offline sessions, so only members online now
 * get them. Not passed on in broadcast conversations.
 */
#include "core.h"

#include "text.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define TYPING_MAX_BYTES 64

/* {"typing":false} says "stopped"; {"typing":true}, an object without
 * "typing" or nothing at all, "typing"; "typing" of another type is
 * refused. */
static bool typing_state(const char *payload, size_t len, bool *typing)
{
	const cJSON *item;
	cJSON *root;
	bool ok;

	*typing = true;
	if (len == 0)
		return true;
	if (payload == NULL || len > TYPING_MAX_BYTES ||
	    !chat_json_text_acceptable(payload, len))
		return false;
	root = chat_json_parse_exact(payload, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return false;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "typing");
	ok = item == NULL || cJSON_IsBool(item);
	if (cJSON_IsBool(item))
		*typing = cJSON_IsTrue(item);
	cJSON_Delete(root);
	return ok;
}

struct typing_fanout {
	struct chat_plugin *p;
	const char *sender;
	const char *payload;
};

static void tell_member(const char *user, void *arg)
{
	struct typing_fanout *f = arg;
	char topic[CHAT_TOPIC_MAX];

	if (strcmp(user, f->sender) == 0 ||
	    !chat_topic_inbox(&f->p->topics, user, "typing", topic,
			      sizeof(topic)))
		return;
	chat_outbox_add_flags(&f->p->outbox, NULL, topic, f->payload,
			      strlen(f->payload), 0, false);
}

static char *typing_json(const char *convo, const char *user, bool typing,
			 long long wall_ms)
{
	cJSON *obj = cJSON_CreateObject();
	char *out = NULL;

	if (obj && cJSON_AddStringToObject(obj, "convo", convo) &&
	    cJSON_AddStringToObject(obj, "user", user) &&
	    cJSON_AddBoolToObject(obj, "typing", typing) &&
	    cJSON_AddNumberToObject(obj, "ts", (double)wall_ms))
		out = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return out;
}

bool chat_handle_typing(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *convo,
			const char *payload, size_t len, long long now_ms)
{
	struct typing_fanout f = {.p = p, .sender = ci->username};
	struct chat_convo *c;
	bool typing;
	enum chat_error e;
	char *text;

	if (!typing_state(payload, len, &typing)) {
		chat_send_error_event(p, ci->username, "bad_request",
				      "typing is {\"typing\":true} or "
				      "{\"typing\":false}",
				      convo, NULL);
		return false;
	}
	e = chat_member_check(p, convo, ci->username, &c);
	if (e != CHAT_OK) {
		chat_send_error_event(p, ci->username, chat_error_code(e),
				      chat_error_message(e), convo, NULL);
		return false;
	}
	/* A broadcast conversation, too soon after the last one, or the
	 * conversation's delivery budget spent: the signal is dropped
	 * quietly, it is only a hint. */
	if (chat_convo_is_broadcast(c) ||
	    !chat_typing_allow(&p->typing, ci->username, convo, now_ms) ||
	    !chat_convo_take_deliveries(c, (double)chat_convo_member_count(c),
					(double)p->opts.convo_delivery_rate,
					now_ms))
		return true;
	text = typing_json(convo, ci->username, typing,
			   now_ms + p->wall_offset_ms);
	if (text == NULL)
		return true;
	f.payload = text;
	chat_convo_each_reader(c, LLONG_MAX, tell_member, &f);
	p->stats.typing++;
	free(text);
	return true;
}
