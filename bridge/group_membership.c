/*
 * add_members, remove_members and leave: who is in a group or channel.
 * Each change is a system message; its seq is where the change takes
 * effect: an added member sees it and what follows, a removed member (or
 * one who left) sees it and nothing after.
 */
#include "groups.h"

#include <string.h>

/* The answer of add_members or remove_members: the users changed (under
 * key) and, when there were any, the seq of the message recording it. */
static void answer_users(struct bridge_reply *r, const char *key,
                         const struct bridge_user_list *users, long long seq)
{
	bridge_reply_open(r);
	json_writer_key(r->out, key);
	bridge_user_list_write(r->out, users);
	if (users->count > 0) {
		json_writer_key(r->out, "seq");
		json_writer_int(r->out, seq);
	}
	json_writer_close_object(r->out);
}

/* The users of a list who are current members of the conversation (or,
 * with current false, who are not). */
static const struct bridge_failure *
pick_users(struct bridge_change *c, const struct bridge_user_list *users,
           bool current, struct bridge_user_list *out)
{
	if (bridge_user_list_init(out, users->count) != 0)
		return &bridge_failure_internal;
	for (size_t i = 0; i < users->count; i++) {
		struct bridge_membership m;
		int rc = bridge_store_membership(c->r->store, c->convo,
		                                 users->items[i].id, &m);

		if (rc != SQLITE_OK)
			return bridge_change_failed(c, rc);
		if (m.current == current)
			bridge_user_list_add(out, users->items[i].id);
	}
	return NULL;
}

/* A JSON event {"users":[...]} with "promoted" when someone was. */
static void write_users_event(struct json_writer *w,
                              const struct bridge_user_list *users,
                              const char *promoted)
{
	json_writer_open_object(w);
	json_writer_key(w, "users");
	bridge_user_list_write(w, users);
	if (promoted != NULL && promoted[0] != '\0') {
		json_writer_key(w, "promoted");
		json_writer_string(w, promoted);
	}
	json_writer_close_object(w);
}

static bool write_member(void *ctx, const char *user)
{
	json_writer_string(ctx, user);
	return true;
}

/*
 * Who the message adding users must also reach: the newcomers, when the
 * conversation's messages go to its topic, to which they have not
 * subscribed yet; every member, when this addition tips a group into
 * broadcast, since the plugin, finding the group broadcast once the
 * change committed, would publish it on the topic nobody listens to yet.
 */
static int write_also(struct bridge_change *c,
                      const struct bridge_user_list *added, bool tipping,
                      struct json_writer *also)
{
	int rc;

	if (!tipping) {
		bridge_user_list_write(also, added);
		return SQLITE_OK;
	}
	json_writer_open_array(also);
	rc = bridge_store_members_of(c->r->store, c->convo, write_member, also);
	json_writer_close_array(also);
	return rc;
}

/*
 * Joins the added users at seq - 1, so that each sees the message that
 * adds it, and records it.
 */
static const struct bridge_failure *add(struct bridge_change *c,
                                        const struct bridge_group *g,
                                        const struct bridge_user_list *added,
                                        long long *seq)
{
	struct bridge_reply *r = c->r;
	long long total = g->members + (long long)added->count, next;
	const char *kind = g->conversation.kind;
	bool broadcast = bridge_group_is_broadcast(
	    r, kind, g->conversation.broadcast, total);
	bool tipping = broadcast && !g->conversation.broadcast &&
	               strcmp(kind, "group") == 0;
	const struct bridge_failure *f;
	struct json_writer event, also;
	int rc;

	if (total > bridge_group_member_limit(r, kind))
		return bridge_reply_fail(r, "group_full",
		                         "a %s has at most %lld members", kind,
		                         bridge_group_member_limit(r, kind));
	rc = bridge_store_next_seq(r->store, c->convo, &next);
	for (size_t i = 0; i < added->count && rc == SQLITE_OK; i++)
		rc = bridge_store_join(r->store, c->convo, added->items[i].id,
		                       false, next - 1);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	c->membership = true;
	json_writer_init(&event);
	json_writer_init(&also);
	write_users_event(&event, added, NULL);
	rc = write_also(c, added, tipping, &also);
	if (rc != SQLITE_OK)
		f = bridge_change_failed(c, rc);
	else
		f = bridge_change_record(c, "added", &event,
		                         broadcast ? also.data : NULL, NULL,
		                         seq);
	json_writer_free(&event);
	json_writer_free(&also);
	/* Growing past the cap: from the next seq on, one publish each. */
	if (f == NULL && tipping)
		f = bridge_group_go_broadcast(c);
	return f;
}

const struct bridge_failure *bridge_op_add_members(struct bridge_reply *r)
{
	struct bridge_user_list users, added;
	const struct bridge_failure *f;
	struct bridge_change c;
	struct bridge_group g;
	const char *convo;
	long long seq = 0;
	bool done = false;

	memset(&c, 0, sizeof(c));
	bridge_user_list_init(&added, 0);
	f = bridge_param_convo(r, &convo);
	if (f == NULL)
		f = bridge_param_users(r, "users", false, &users);
	else
		bridge_user_list_init(&users, 0);
	if (f == NULL)
		f = bridge_group_begin_change(r, &c, convo, "added", "added",
		                              &g, &done);
	if (f == NULL && !done)
		f = bridge_require_users(r, &users);
	if (f == NULL && !done)
		f = pick_users(&c, &users, false, &added);
	if (f == NULL && !done && added.count > 0)
		f = add(&c, &g, &added, &seq);
	if (f == NULL && !done) {
		answer_users(r, "added", &added, seq);
		if (added.count > 0)
			f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	bridge_user_list_free(&users);
	bridge_user_list_free(&added);
	return f;
}

/*
 * Ends the memberships of users at the seq of the message recording it,
 * keeps an admin among those who stay, and records the change as type:
 * "removed" lists the users, "left" only who was promoted. The departed
 * get the message although they are members no longer.
 */
static const struct bridge_failure *depart(struct bridge_change *c,
                                           const struct bridge_user_list *users,
                                           const char *type, long long *seq)
{
	struct bridge_reply *r = c->r;
	const struct bridge_failure *f;
	struct json_writer event, also;
	char promoted[CHAT_ID_MAX + 1];
	long long next;
	int rc = bridge_store_next_seq(r->store, c->convo, &next);

	for (size_t i = 0; i < users->count && rc == SQLITE_OK; i++)
		rc = bridge_store_depart(r->store, c->convo, users->items[i].id,
		                         next);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	f = bridge_group_keep_an_admin(c, promoted);
	if (f != NULL)
		return f;
	c->membership = true;
	json_writer_init(&event);
	json_writer_init(&also);
	if (strcmp(type, "removed") == 0) {
		write_users_event(&event, users, promoted);
	} else {
		json_writer_open_object(&event);
		if (promoted[0] != '\0') {
			json_writer_key(&event, "promoted");
			json_writer_string(&event, promoted);
		}
		json_writer_close_object(&event);
	}
	bridge_user_list_write(&also, users);
	f = bridge_change_record(c, type, &event, also.data, NULL, seq);
	json_writer_free(&event);
	json_writer_free(&also);
	return f;
}

const struct bridge_failure *bridge_op_remove_members(struct bridge_reply *r)
{
	struct bridge_user_list users, removed;
	const struct bridge_failure *f;
	struct bridge_change c;
	struct bridge_group g;
	const char *convo;
	long long seq = 0;
	bool done = false;

	memset(&c, 0, sizeof(c));
	bridge_user_list_init(&removed, 0);
	f = bridge_param_convo(r, &convo);
	if (f == NULL)
		f = bridge_param_users(r, "users", false, &users);
	else
		bridge_user_list_init(&users, 0);
	if (f == NULL)
		f = bridge_group_begin_change(r, &c, convo, "removed",
		                              "removed", &g, &done);
	if (f == NULL && !done)
		f = bridge_require_users(r, &users);
	if (f == NULL && !done)
		f = pick_users(&c, &users, true, &removed);
	if (f == NULL && !done && removed.count > 0)
		f = depart(&c, &removed, "removed", &seq);
	if (f == NULL && !done) {
		answer_users(r, "removed", &removed, seq);
		if (removed.count > 0)
			f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	bridge_user_list_free(&users);
	bridge_user_list_free(&removed);
	return f;
}

/* Anyone but an admin of everything leaves only what it is a member of;
 * admin rights do not make $admin a member. */
static const struct bridge_failure *leave(struct bridge_change *c)
{
	struct bridge_reply *r = c->r;
	struct bridge_user_list self;
	const struct bridge_failure *f;
	struct bridge_group g;
	long long seq = 0;

	f = bridge_group_load(c, &g);
	if (f == NULL && !g.actor.current)
		f = &bridge_failure_not_member;
	if (f != NULL)
		return f;
	if (bridge_user_list_init(&self, 1) != 0)
		return &bridge_failure_internal;
	bridge_user_list_add(&self, r->user);
	f = depart(c, &self, "left", &seq);
	bridge_user_list_free(&self);
	if (f != NULL)
		return f;
	bridge_group_answer_seq(r, seq);
	return bridge_change_commit(c);
}

const struct bridge_failure *bridge_op_leave(struct bridge_reply *r)
{
	struct bridge_message earlier;
	const struct bridge_failure *f;
	struct bridge_change c;
	const char *convo;
	bool done = false;

	memset(&c, 0, sizeof(c));
	f = bridge_param_convo(r, &convo);
	if (f == NULL)
		f = bridge_change_begin(&c, r, convo);
	if (f == NULL)
		f = bridge_change_earlier(&c, "left", &earlier, &done);
	if (f == NULL && done) {
		bridge_group_answer_seq(r, earlier.seq);
		bridge_message_clear(&earlier);
	} else if (f == NULL) {
		f = leave(&c);
	}
	bridge_change_end(&c);
	return f;
}
