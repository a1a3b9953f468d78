#include "groups.h"

#include "ids.h"
#include "text.h"
#include "topics.h"

#include <string.h>

static const struct bridge_failure bad_user = {"bad_request",
                                               "user must be a user id"};
static const struct bridge_failure bad_title = {
    "bad_request", "title must be 1 to 100 characters, not only spaces, "
                   "with no control, invisible or direction characters"};
static const struct bridge_failure direct_has_no_admins = {
    "bad_request", "a direct conversation has no admins and cannot "
                   "change its members"};

const struct bridge_failure *bridge_param_users(struct bridge_reply *r,
                                                const char *key, bool optional,
                                                struct bridge_user_list *users)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(r->req, key);
	const cJSON *item;

	if (bridge_user_list_init(users, 0) != 0)
		return &bridge_failure_internal;
	if (list == NULL && optional)
		return NULL;
	if (!cJSON_IsArray(list))
		return bridge_reply_fail(
		    r, "bad_request", "%s must be an array of user ids", key);
	if (bridge_user_list_init(users, (size_t)cJSON_GetArraySize(list)))
		return &bridge_failure_internal;
	cJSON_ArrayForEach(item, list)
	{
		if (!cJSON_IsString(item) ||
		    !chat_valid_user_id(item->valuestring))
			return bridge_reply_fail(
			    r, "bad_request", "%s must be an array of user ids",
			    key);
		if (bridge_user_list_add(users, item->valuestring) != 0)
			return &bridge_failure_internal;
	}
	return NULL;
}

const struct bridge_failure *bridge_param_user(struct bridge_reply *r,
                                               const char **user)
{
	*user = bridge_json_string(r->req, "user");
	return chat_valid_user_id(*user) ? NULL : &bad_user;
}

/*
 * Characters a title may not hold: it is one line shown to every member,
 * so no control characters (C0, DEL, C1), line or paragraph separators,
 * invisible characters or direction overrides that could make it read as
 * something else.
 */
static bool unfit_for_a_title(unsigned long c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

/* The code point starting at p (valid UTF-8), and its length in *len. */
static unsigned long decode(const unsigned char *p, int *len)
{
	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		*len = 2;
		return ((p[0] & 0x1fUL) << 6) | (p[1] & 0x3f);
	}
	if ((p[0] & 0xf0) == 0xe0) {
		*len = 3;
		return ((p[0] & 0x0fUL) << 12) | ((p[1] & 0x3fUL) << 6) |
		       (p[2] & 0x3f);
	}
	*len = 4;
	return ((p[0] & 0x07UL) << 18) | ((p[1] & 0x3fUL) << 12) |
	       ((p[2] & 0x3fUL) << 6) | (p[3] & 0x3f);
}

/* Characters, not bytes; -1 when one is unfit for a title or the title is
 * nothing but spaces. */
static long count_characters(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	bool visible = false;
	long n = 0;
	int len;

	while (*p) {
		unsigned long c = decode(p, &len);

		if (unfit_for_a_title(c))
			return -1;
		visible = visible || c != ' ';
		n++;
		p += len;
	}
	return visible ? n : -1;
}

const struct bridge_failure *bridge_param_title(struct bridge_reply *r,
                                                const char **title)
{
	long characters;

	*title = bridge_json_string(r->req, "title");
	if (*title == NULL || !chat_utf8_valid(*title, strlen(*title)))
		return &bad_title;
	characters = count_characters(*title);
	return characters >= 1 && characters <= BRIDGE_TITLE_MAX ? NULL
	                                                         : &bad_title;
}

const struct bridge_failure *
bridge_require_users(struct bridge_reply *r,
                     const struct bridge_user_list *users)
{
	struct bridge_user_list missing;
	const struct bridge_failure *f = NULL;
	char names[400];

	if (bridge_user_list_init(&missing, users->count) != 0)
		return &bridge_failure_internal;
	for (size_t i = 0; i < users->count && f == NULL; i++) {
		bool exists;
		int rc = bridge_store_user_exists(r->store, users->items[i].id,
		                                  &exists);

		if (rc != SQLITE_OK)
			f = bridge_reply_store_failed(r, rc);
		else if (!exists)
			bridge_user_list_add(&missing, users->items[i].id);
	}
	if (f == NULL && missing.count > 0) {
		bridge_user_list_join(&missing, names, sizeof(names));
		f = bridge_reply_fail(r, "no_such_user", "no such user: %s",
		                      names);
	}
	bridge_user_list_free(&missing);
	return f;
}

const struct bridge_failure *bridge_group_load(struct bridge_change *c,
                                               struct bridge_group *g)
{
	struct bridge_reply *r = c->r;
	int rc;

	memset(g, 0, sizeof(*g));
	rc = bridge_store_conversation(r->store, c->convo, &g->conversation);
	if (rc == SQLITE_OK)
		rc = bridge_store_membership(r->store, c->convo, r->user,
		                             &g->actor);
	if (rc == SQLITE_OK)
		rc = bridge_store_count_members(r->store, c->convo, &g->members,
		                                &g->admins);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (!g->conversation.found ||
	    (!g->actor.current && !bridge_reply_is_admin(r)))
		return &bridge_failure_not_member;
	if (strcmp(g->conversation.kind, "direct") == 0)
		return &direct_has_no_admins;
	return NULL;
}

const struct bridge_failure *
bridge_group_require_admin(struct bridge_change *c,
                           const struct bridge_group *g)
{
	if (bridge_reply_is_admin(c->r) || (g->actor.current && g->actor.admin))
		return NULL;
	return &bridge_failure_not_admin;
}

long long bridge_group_member_limit(const struct bridge_reply *r,
                                    const char *kind)
{
	if (strcmp(kind, "channel") == 0)
		return r->opts->channel_members_max;
	return r->opts->group_members_max;
}

const struct bridge_failure *
bridge_group_keep_an_admin(struct bridge_change *c,
                           char promoted[CHAT_ID_MAX + 1])
{
	struct bridge_store *s = c->r->store;
	long long members, admins;
	bool found = false;
	int rc;

	promoted[0] = '\0';
	rc = bridge_store_count_members(s, c->convo, &members, &admins);
	if (rc == SQLITE_OK && members > 0 && admins == 0)
		rc = bridge_store_oldest_member(s, c->convo, promoted, &found);
	if (rc == SQLITE_OK && found)
		rc = bridge_store_set_role(s, c->convo, promoted, true);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	return NULL;
}

bool bridge_group_is_broadcast(const struct bridge_reply *r, const char *kind,
                               bool broadcast, long long members)
{
	if (broadcast || strcmp(kind, "channel") == 0)
		return true;
	return members > r->opts->group_fanout_max;
}

const struct bridge_failure *bridge_group_go_broadcast(struct bridge_change *c)
{
	struct bridge_reply *r = c->r;
	const struct bridge_failure *f;
	struct chat_topics topics;
	struct json_writer event;
	char topic[CHAT_TOPIC_MAX];
	long long seq;
	int rc;

	chat_topics_init(&topics, r->opts->topic_prefix);
	if (!chat_topic_channel(&topics, c->convo, topic, sizeof(topic)))
		return &bridge_failure_internal;
	rc = bridge_store_set_broadcast(r->store, c->convo);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	json_writer_init(&event);
	json_writer_open_object(&event);
	json_writer_key(&event, "topic");
	json_writer_string(&event, topic);
	json_writer_close_object(&event);
	f = bridge_change_record(c, "broadcast", &event, NULL, "broadcast",
	                         &seq);
	json_writer_free(&event);
	c->membership = true;
	return f;
}

/* A retry answers from the users its system message lists. */
static void answer_earlier(struct bridge_reply *r, const char *key,
                           const struct bridge_message *earlier)
{
	cJSON *event = cJSON_Parse(earlier->body);
	const cJSON *users = cJSON_GetObjectItemCaseSensitive(event, "users");
	const cJSON *user;

	bridge_reply_open(r);
	json_writer_key(r->out, key);
	json_writer_open_array(r->out);
	cJSON_ArrayForEach(user, users)
	{
		if (cJSON_IsString(user))
			json_writer_string(r->out, user->valuestring);
	}
	json_writer_close_array(r->out);
	json_writer_key(r->out, "seq");
	json_writer_int(r->out, earlier->seq);
	json_writer_close_object(r->out);
	cJSON_Delete(event);
}

const struct bridge_failure *
bridge_group_begin_change(struct bridge_reply *r, struct bridge_change *c,
                          const char *convo, const char *type, const char *key,
                          struct bridge_group *g, bool *done)
{
	struct bridge_message earlier;
	const struct bridge_failure *f = bridge_change_begin(c, r, convo);

	*done = false;
	if (f == NULL)
		f = bridge_change_earlier(c, type, &earlier, done);
	if (f == NULL && *done) {
		if (key != NULL)
			answer_earlier(r, key, &earlier);
		else
			bridge_group_answer_seq(r, earlier.seq);
		bridge_message_clear(&earlier);
		return NULL;
	}
	if (f == NULL)
		f = bridge_group_load(c, g);
	if (f == NULL)
		f = bridge_group_require_admin(c, g);
	return f;
}

void bridge_group_answer_seq(struct bridge_reply *r, long long seq)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "seq");
	json_writer_int(r->out, seq);
	json_writer_close_object(r->out);
}
