/*
 * set_role and rename: an admin changes a member's role or the title.
 * The last admin cannot be demoted, so a group with members always has
 * one (leaving hands the role on instead).
 */
#include "groups.h"

#include <string.h>

static const struct bridge_failure bad_role = {
    "bad_request", "role must be \"admin\" or \"member\""};
static const struct bridge_failure last_admin = {
    "last_admin", "the last admin cannot be demoted; promote someone first"};

static const struct bridge_failure *check_target(struct bridge_change *c,
                                                 const struct bridge_group *g,
                                                 const char *user, bool admin)
{
	struct bridge_reply *r = c->r;
	struct bridge_user_list named;
	struct bridge_membership target;
	const struct bridge_failure *f;
	int rc;

	if (bridge_user_list_init(&named, 1) != 0)
		return &bridge_failure_internal;
	bridge_user_list_add(&named, user);
	f = bridge_require_users(r, &named);
	bridge_user_list_free(&named);
	if (f != NULL)
		return f;
	rc = bridge_store_membership(r->store, c->convo, user, &target);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (!target.current)
		return bridge_reply_fail(r, "not_member",
		                         "%s is not a member of this "
		                         "conversation",
		                         user);
	if (!admin && target.admin && g->admins <= 1)
		return &last_admin;
	return NULL;
}

static const struct bridge_failure *set_role(struct bridge_change *c,
                                             const struct bridge_group *g,
                                             const char *user, bool admin)
{
	struct bridge_reply *r = c->r;
	const struct bridge_failure *f = check_target(c, g, user, admin);
	struct json_writer event;
	long long seq = 0;
	int rc;

	if (f != NULL)
		return f;
	rc = bridge_store_set_role(r->store, c->convo, user, admin);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	c->membership = true;
	json_writer_init(&event);
	json_writer_open_object(&event);
	json_writer_key(&event, "user");
	json_writer_string(&event, user);
	json_writer_key(&event, "role");
	json_writer_string(&event, admin ? "admin" : "member");
	json_writer_close_object(&event);
	f = bridge_change_record(c, "role", &event, NULL, NULL, &seq);
	json_writer_free(&event);
	if (f != NULL)
		return f;
	bridge_group_answer_seq(r, seq);
	return bridge_change_commit(c);
}

const struct bridge_failure *bridge_op_set_role(struct bridge_reply *r)
{
	const char *convo, *user, *role;
	const struct bridge_failure *f;
	struct bridge_change c;
	struct bridge_group g;
	bool done = false;

	memset(&c, 0, sizeof(c));
	role = bridge_json_string(r->req, "role");
	f = bridge_param_convo(r, &convo);
	if (f == NULL)
		f = bridge_param_user(r, &user);
	if (f == NULL && (role == NULL || (strcmp(role, "admin") != 0 &&
	                                   strcmp(role, "member") != 0)))
		f = &bad_role;
	if (f == NULL)
		f = bridge_group_begin_change(r, &c, convo, "role", NULL, &g,
		                              &done);
	if (f == NULL && !done)
		f = set_role(&c, &g, user, strcmp(role, "admin") == 0);
	bridge_change_end(&c);
	return f;
}

static const struct bridge_failure *rename_to(struct bridge_change *c,
                                              const char *title)
{
	struct bridge_reply *r = c->r;
	const struct bridge_failure *f;
	struct json_writer event;
	long long seq = 0;
	int rc = bridge_store_set_title(r->store, c->convo, title);

	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	json_writer_init(&event);
	json_writer_open_object(&event);
	json_writer_key(&event, "title");
	json_writer_string(&event, title);
	json_writer_close_object(&event);
	f = bridge_change_record(c, "renamed", &event, NULL, NULL, &seq);
	json_writer_free(&event);
	if (f != NULL)
		return f;
	bridge_group_answer_seq(r, seq);
	return bridge_change_commit(c);
}

const struct bridge_failure *bridge_op_rename(struct bridge_reply *r)
{
	const char *convo, *title;
	const struct bridge_failure *f;
	struct bridge_change c;
	struct bridge_group g;
	bool done = false;

	memset(&c, 0, sizeof(c));
	f = bridge_param_convo(r, &convo);
	if (f == NULL)
		f = bridge_param_title(r, &title);
	if (f == NULL)
		f = bridge_group_begin_change(r, &c, convo, "renamed", NULL, &g,
		                              &done);
	if (f == NULL && !done)
		f = rename_to(&c, title);
	bridge_change_end(&c);
	return f;
}
