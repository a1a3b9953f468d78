#include "acl.h"

#include "ids.h"

#include <string.h>

/* True when topic lies under "{p}/u/{user}/". Filters qualify too: their
 * first three levels must then be literal, so no wildcard can widen them. */
static bool in_own_inbox(const struct chat_topics *t, const char *user,
			 const char *topic)
{
	size_t plen = strlen(t->inbox_prefix), ulen = strlen(user);

	return strncmp(topic, t->inbox_prefix, plen) == 0 &&
	       strncmp(topic + plen, user, ulen) == 0 &&
	       topic[plen + ulen] == '/';
}

/*
 * A subscription under one's own inbox: the whole inbox, or one of the
 * topics the server publishes there. Nothing else, so that a client
 * cannot make the broker hold any number of distinct filters.
 */
static bool own_inbox_filter(const struct chat_topics *t, const char *user,
			     const char *filter)
{
	static const char *const leaves[] = {"#", "+", "msg", "resp",
					     "event", "typing", "blob"};
	size_t plen = strlen(t->inbox_prefix), ulen = strlen(user);
	const char *leaf = filter + plen + ulen + 1;

	if (!in_own_inbox(t, user, filter))
		return false;
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (strcmp(leaf, leaves[i]) == 0)
			return true;
	return false;
}

static bool is_upload_topic(const struct chat_topics *t, const char *topic)
{
	char id[CHAT_ID_MAX + 1];
	long index;

	return chat_topic_upload(t, topic, id, sizeof(id), &index, 1000000);
}

static bool service_allows(const struct chat_topics *t,
			   enum chat_access access, const char *topic)
{
	switch (access) {
	case CHAT_ACCESS_READ:
	case CHAT_ACCESS_WRITE:
		return chat_topic_is_internal(t, topic);
	case CHAT_ACCESS_UNSUBSCRIBE:
		return true;
	case CHAT_ACCESS_SUBSCRIBE:
		break;
	}
	return false;
}

static bool user_allows(const struct chat_topics *t, const char *user,
			enum chat_access access, const char *topic, bool retain)
{
	switch (access) {
	case CHAT_ACCESS_READ:
		/* Key changes are public; presence and broadcast topics are
		 * decided by the plugin's core, which knows the members. */
		return in_own_inbox(t, user, topic) ||
		       chat_topic_keys_user(t, topic) != NULL;
	case CHAT_ACCESS_SUBSCRIBE:
		return own_inbox_filter(t, user, topic) ||
		       chat_topic_keys_user(t, topic) != NULL;
	case CHAT_ACCESS_WRITE:
		return !retain && (strcmp(topic, t->request) == 0 ||
				   strcmp(topic, t->status) == 0 ||
				   chat_topic_send_convo(t, topic) != NULL ||
				   chat_topic_ack_convo(t, topic) != NULL ||
				   chat_topic_typing_convo(t, topic) != NULL ||
				   is_upload_topic(t, topic));
	case CHAT_ACCESS_UNSUBSCRIBE:
		return true;
	}
	return false;
}

bool chat_acl_allows(const struct chat_topics *t, const char *service_user,
		     const struct chat_acl_request *req)
{
	if (req->username == NULL || req->topic == NULL)
		return false;
	if (strcmp(req->username, service_user) == 0)
		return !req->retain &&
		       service_allows(t, req->access, req->topic);
	/* Authentication admits only valid user ids; checked again so a
	 * username from any other path can never match a topic level. */
	if (!chat_valid_user_id(req->username))
		return false;
	return user_allows(t, req->username, req->access, req->topic,
			   req->retain);
}
