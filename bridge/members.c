/*
 * members: who is in a conversation, with their roles, where they joined
 * and (except in channels) how far they have got. A former member sees
 * the members as they were when it went: those who could see the system
 * message that ended its membership, their cursors no further than it.
 */
#include "request_ops.h"
#include "store_members.h"

#include <string.h>

struct roster {
	struct json_writer *w;
	long long as_of; /* 0: the current members */
	bool cursors;
};

static long long at_most(long long v, long long limit)
{
	return limit > 0 && v > limit ? limit : v;
}

static bool listed(const struct roster *l, const struct bridge_membership *m)
{
	if (l->as_of == 0)
		return m->current;
	return m->joined_seq < l->as_of &&
	       (m->current || m->left_seq >= l->as_of);
}

static bool write_member(void *ctx, const struct bridge_member_row *row)
{
	struct roster *l = ctx;
	const struct bridge_membership *m = &row->membership;

	if (!listed(l, m))
		return true;
	json_writer_open_object(l->w);
	json_writer_key(l->w, "user");
	json_writer_string(l->w, row->user);
	json_writer_key(l->w, "role");
	json_writer_string(l->w, m->admin ? "admin" : "member");
	json_writer_key(l->w, "joined");
	json_writer_int(l->w, m->joined_seq);
	if (l->cursors) {
		json_writer_key(l->w, "delivered");
		json_writer_int(l->w, at_most(m->delivered_seq, l->as_of));
		json_writer_key(l->w, "read");
		json_writer_int(l->w, at_most(m->read_seq, l->as_of));
	}
	json_writer_close_object(l->w);
	return true;
}

const struct bridge_failure *bridge_op_members(struct bridge_reply *r)
{
	struct bridge_conversation conversation;
	const struct bridge_failure *f;
	struct bridge_view view;
	struct roster l;
	const char *convo;
	int rc;

	f = bridge_param_visible_convo(r, &convo, &view);
	if (f != NULL)
		return f;
	rc = bridge_store_conversation(r->store, convo, &conversation);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	l.w = r->out;
	l.as_of = view.membership.found && !view.membership.current &&
	                  !bridge_reply_is_admin(r)
	              ? view.membership.left_seq
	              : 0;
	/* Channels have no per-member receipts. */
	l.cursors = strcmp(conversation.kind, "channel") != 0;
	bridge_reply_open(r);
	json_writer_key(r->out, "convo");
	json_writer_string(r->out, convo);
	json_writer_key(r->out, "members");
	json_writer_open_array(r->out);
	rc = bridge_store_each_member(r->store, convo, write_member, &l);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	json_writer_close_array(r->out);
	json_writer_close_object(r->out);
	return NULL;
}
