/*
 * The pure checks on untrusted strings: UTF-8 and JSON text acceptance,
 * the strict JSON parse, topic parsing and access decisions, with the
 * input used as payload, as topic and as user name.
 */
#include "plugin/acl.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void decide(const struct chat_topics *t, const char *user,
		   const char *topic)
{
	for (int a = CHAT_ACCESS_READ; a <= CHAT_ACCESS_UNSUBSCRIBE; a++) {
		struct chat_acl_request req = {.username = user,
					       .access = (enum chat_access)a,
					       .topic = topic};

		chat_acl_allows(t, "$bridge", &req);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chat_topics topics;
	char *text = malloc(size + 1);
	char id[80];
	long index;

	if (text == NULL)
		return 0;
	if (topics.prefix[0] == '\0')
		chat_topics_init(&topics, "chat");
	memcpy(text, data, size);
	text[size] = '\0';
	chat_utf8_valid(text, size);
	if (chat_json_text_acceptable(text, size))
		cJSON_Delete(chat_json_parse_exact(text, size));
	chat_topic_send_convo(&topics, text);
	chat_topic_ack_convo(&topics, text);
	chat_topic_channel_convo(&topics, text);
	chat_topic_presence_user(&topics, text);
	chat_topic_keys_user(&topics, text);
	chat_topic_upload(&topics, text, id, sizeof(id), &index, 400);
	decide(&topics, "alice", text);
	decide(&topics, text, "chat/u/alice/msg");
	free(text);
	return 0;
}
