/*
 * create_group and direct: new conversations. A group or channel starts
 * with its "created" system message at seq 1 and its creator as admin; a
 * direct conversation has no system messages and exists once per pair.
 */
#include "groups.h"

#include "db.h"
#include "ids.h"
#include "token.h"

#include <stdio.h>
#include <string.h>

/* New ids look like the CLI's: "c_" and 24 hex digits. */
#define CONVO_ID_PREFIX "c_"
/* Two user ids and the '/' between them. */
#define DIRECT_KEY_SIZE (2 * CHAT_ID_MAX + 2)

static const struct bridge_failure bad_channel = {
    "bad_request", "channel must be true or false"};
static const struct bridge_failure admin_needs_member = {
    "bad_request", "a group made by $admin needs a member to be its admin"};
static const struct bridge_failure direct_needs_user = {
    "bad_request", "a direct conversation is made by one of its users"};
static const struct bridge_failure direct_with_self = {
    "bad_request", "a direct conversation needs another user"};

struct creation {
	const char *title;
	const char *kind;
	/* Everyone who joins, the creator (its first admin) first. */
	struct bridge_user_list members;
};

static void answer_created(struct bridge_reply *r, const char *convo,
                           const char *kind, long long seq)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "convo");
	json_writer_string(r->out, convo);
	json_writer_key(r->out, "kind");
	json_writer_string(r->out, kind);
	json_writer_key(r->out, "seq");
	json_writer_int(r->out, seq);
	json_writer_close_object(r->out);
}

/*
 * The creator is the actor, unless $admin creates the group: then it is
 * the first member listed, since $admin itself is nobody's member.
 */
static const struct bridge_failure *read_creation(struct bridge_reply *r,
                                                  struct creation *k)
{
	const cJSON *channel =
	    cJSON_GetObjectItemCaseSensitive(r->req, "channel");
	bool by_admin = bridge_reply_is_admin(r) &&
	                strcmp(r->user, BRIDGE_ADMIN_ACTOR) == 0;
	struct bridge_user_list listed;
	const struct bridge_failure *f;

	f = bridge_param_title(r, &k->title);
	if (f != NULL)
		return f;
	if (channel != NULL && !cJSON_IsBool(channel))
		return &bad_channel;
	k->kind = cJSON_IsTrue(channel) ? "channel" : "group";
	f = bridge_param_users(r, "members", true, &listed);
	if (f == NULL && bridge_user_list_init(&k->members, listed.count + 1))
		f = &bridge_failure_internal;
	if (f == NULL && by_admin && listed.count == 0)
		f = &admin_needs_member;
	if (f == NULL) {
		bridge_user_list_add(&k->members,
		                     by_admin ? listed.items[0].id : r->user);
		for (size_t i = 0; i < listed.count; i++)
			bridge_user_list_add(&k->members, listed.items[i].id);
	}
	bridge_user_list_free(&listed);
	return f;
}

/* A retry: the group this request created the first time. */
static const struct bridge_failure *
find_created(struct bridge_change *c, const struct creation *k, bool *found)
{
	struct bridge_reply *r = c->r;
	struct bridge_conversation conversation;
	char convo[CHAT_ID_MAX + 1];
	long long seq = 0;
	int rc;

	rc = bridge_store_find_operation(r->store, r->user, c->cmid, "created",
	                                 convo, &seq, found);
	if (rc == SQLITE_OK && *found)
		rc = bridge_store_conversation(r->store, convo, &conversation);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (*found)
		answer_created(r, convo,
		               conversation.found ? conversation.kind : k->kind,
		               seq);
	return NULL;
}

static const struct bridge_failure *record_created(struct bridge_change *c,
                                                   const struct creation *k,
                                                   bool broadcast,
                                                   long long *seq)
{
	struct json_writer event, also;
	const struct bridge_failure *f;

	json_writer_init(&event);
	json_writer_init(&also);
	json_writer_open_object(&event);
	json_writer_key(&event, "title");
	json_writer_string(&event, k->title);
	json_writer_key(&event, "kind");
	json_writer_string(&event, k->kind);
	json_writer_key(&event, "members");
	bridge_user_list_write(&event, &k->members);
	json_writer_close_object(&event);
	/* Broadcast from the start: nobody subscribed to the topic yet, so
	 * the members hear of it in their inboxes. */
	if (broadcast)
		bridge_user_list_write(&also, &k->members);
	f = bridge_change_record(c, "created", &event,
	                         broadcast ? also.data : NULL, NULL, seq);
	json_writer_free(&event);
	json_writer_free(&also);
	return f;
}

static const struct bridge_failure *create(struct bridge_change *c,
                                           const struct creation *k)
{
	struct bridge_reply *r = c->r;
	long long count = (long long)k->members.count, seq = 0;
	bool broadcast = bridge_group_is_broadcast(r, k->kind, false, count);
	const struct bridge_failure *f;
	int rc;

	if (count > bridge_group_member_limit(r, k->kind))
		return bridge_reply_fail(
		    r, "group_full", "a %s has at most %lld members", k->kind,
		    bridge_group_member_limit(r, k->kind));
	rc = bridge_store_create_conversation(r->store, c->convo, k->kind,
	                                      k->title, NULL, broadcast,
	                                      chat_now_ms());
	for (size_t i = 0; i < k->members.count && rc == SQLITE_OK; i++)
		rc = bridge_store_join(r->store, c->convo,
		                       k->members.items[i].id, i == 0, 0);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	c->membership = true;
	f = record_created(c, k, broadcast, &seq);
	/* A channel is broadcast by nature; a group only past the cap. */
	if (f == NULL && broadcast && strcmp(k->kind, "group") == 0)
		f = bridge_group_go_broadcast(c);
	if (f != NULL)
		return f;
	answer_created(r, c->convo, k->kind, seq);
	return bridge_change_commit(c);
}

const struct bridge_failure *bridge_op_create_group(struct bridge_reply *r)
{
	struct creation k;
	struct bridge_change c;
	const struct bridge_failure *f;
	char convo[CHAT_ID_MAX + 1];
	bool found = false;

	memset(&k, 0, sizeof(k));
	f = read_creation(r, &k);
	if (f != NULL) {
		bridge_user_list_free(&k.members);
		return f;
	}
	chat_random_id(CONVO_ID_PREFIX, convo, sizeof(convo));
	f = bridge_change_begin(&c, r, convo);
	if (f == NULL)
		f = find_created(&c, &k, &found);
	if (f == NULL && !found)
		f = bridge_require_users(r, &k.members);
	if (f == NULL && !found)
		f = create(&c, &k);
	bridge_change_end(&c);
	bridge_user_list_free(&k.members);
	return f;
}

static void answer_direct(struct bridge_reply *r, const char *convo,
                          bool created)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "convo");
	json_writer_string(r->out, convo);
	json_writer_key(r->out, "created");
	json_writer_bool(r->out, created);
	json_writer_close_object(r->out);
}

static const struct bridge_failure *
create_direct(struct bridge_change *c, const char *key, const char *other)
{
	struct bridge_reply *r = c->r;
	struct bridge_user_list pair;
	const struct bridge_failure *f = NULL;
	int rc;

	if (bridge_user_list_init(&pair, 2) != 0)
		return &bridge_failure_internal;
	bridge_user_list_add(&pair, r->user);
	bridge_user_list_add(&pair, other);
	f = bridge_require_users(r, &pair);
	bridge_user_list_free(&pair);
	if (f != NULL)
		return f;
	chat_random_id(CONVO_ID_PREFIX, c->convo, sizeof(c->convo));
	rc = bridge_store_create_conversation(r->store, c->convo, "direct",
	                                      NULL, key, false, chat_now_ms());
	if (rc == SQLITE_OK)
		rc = bridge_store_join(r->store, c->convo, r->user, false, 0);
	if (rc == SQLITE_OK)
		rc = bridge_store_join(r->store, c->convo, other, false, 0);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	c->membership = true;
	answer_direct(r, c->convo, true);
	return bridge_change_commit(c);
}

/* One direct conversation per pair: a retry, or a second request, finds
 * the one that exists. */
const struct bridge_failure *bridge_op_direct(struct bridge_reply *r)
{
	struct bridge_change c;
	const struct bridge_failure *f;
	char key[DIRECT_KEY_SIZE], existing[CHAT_ID_MAX + 1];
	const char *other;
	bool found = false;
	int rc;

	f = bridge_param_user(r, &other);
	if (f != NULL)
		return f;
	if (!chat_valid_user_id(r->user))
		return &direct_needs_user;
	if (strcmp(other, r->user) == 0)
		return &direct_with_self;
	/* The key sorts the pair, like the CLI's. */
	if (strcmp(r->user, other) < 0)
		snprintf(key, sizeof(key), "%s/%s", r->user, other);
	else
		snprintf(key, sizeof(key), "%s/%s", other, r->user);
	f = bridge_change_begin(&c, r, "");
	if (f == NULL) {
		rc = bridge_store_find_direct(r->store, key, existing, &found);
		if (rc != SQLITE_OK)
			f = bridge_change_failed(&c, rc);
	}
	if (f == NULL && found)
		answer_direct(r, existing, false);
	else if (f == NULL)
		f = create_direct(&c, key, other);
	bridge_change_end(&c);
	return f;
}
