/*
 * conversations: every conversation the user is a member of, with its
 * members and head, so a client knows where to sync.
 */
#include "request_ops.h"

struct listing {
	struct bridge_reply *reply;
	int rc;
};

static bool write_member(void *ctx, const char *user)
{
	json_writer_string(ctx, user);
	return true;
}

static bool write_conversation(void *ctx, const char *convo, const char *kind,
                               const char *title)
{
	struct listing *l = ctx;
	struct json_writer *w = l->reply->out;
	struct bridge_store *s = l->reply->store;
	long long head = 0;

	json_writer_open_object(w);
	json_writer_key(w, "convo");
	json_writer_string(w, convo);
	json_writer_key(w, "kind");
	json_writer_string(w, kind);
	json_writer_key(w, "title");
	if (title != NULL)
		json_writer_string(w, title);
	else
		json_writer_null(w);
	json_writer_key(w, "members");
	json_writer_open_array(w);
	l->rc = bridge_store_members_of(s, convo, write_member, w);
	json_writer_close_array(w);
	if (l->rc == SQLITE_OK)
		l->rc = bridge_store_head(s, convo, &head);
	json_writer_key(w, "head");
	json_writer_int(w, head);
	json_writer_close_object(w);
	return l->rc == SQLITE_OK;
}

const struct bridge_failure *bridge_op_conversations(struct bridge_reply *r)
{
	struct listing l = {r, SQLITE_OK};
	int rc;

	bridge_reply_open(r);
	json_writer_key(r->out, "conversations");
	json_writer_open_array(r->out);
	rc = bridge_store_conversations_of(r->store, r->user,
	                                   write_conversation, &l);
	if (rc == SQLITE_OK)
		rc = l.rc;
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	json_writer_close_array(r->out);
	json_writer_close_object(r->out);
	return NULL;
}
