/*
 * conversations: every conversation the user is or was a member of, with
 * where it stands in each, so a client knows what to subscribe to and
 * where to sync. A former member's head is the system message that ended
 * its membership: the last seq it may see. In pages by conversation id,
 * so that a user in thousands of conversations can still list them.
 */
#include "request_ops.h"

#include "ids.h"

#include <stdio.h>
#include <string.h>

#define PAGE_DEFAULT 500
#define PAGE_MAX     1000

static const struct bridge_failure bad_after = {
    "bad_request", "after must be a conversation id"};
static const struct bridge_failure bad_page = {
    "bad_request", "limit must be a whole number from 1"};

struct listing {
	struct bridge_reply *reply;
	long long limit;
	long long listed;
	bool more; /* a row past the page was seen */
	char last[CHAT_ID_MAX + 1];
	int rc;
};

static bool write_member(void *ctx, const char *user)
{
	json_writer_string(ctx, user);
	return true;
}

/* The members of a direct conversation: its two users. */
static int write_pair(struct listing *l, const char *convo)
{
	struct json_writer *w = l->reply->out;
	int rc;

	json_writer_key(w, "members");
	json_writer_open_array(w);
	rc = bridge_store_members_of(l->reply->store, convo, write_member, w);
	json_writer_close_array(w);
	return rc;
}

static void write_title(struct json_writer *w, const char *title)
{
	json_writer_key(w, "title");
	if (title != NULL)
		json_writer_string(w, title);
	else
		json_writer_null(w);
}

static bool write_conversation(void *ctx,
                               const struct bridge_listed_conversation *c)
{
	struct listing *l = ctx;
	struct json_writer *w = l->reply->out;
	const struct bridge_membership *m = &c->membership;
	long long head = 0;

	if (l->listed == l->limit) {
		l->more = true;
		return false;
	}
	l->listed++;
	snprintf(l->last, sizeof(l->last), "%s", c->convo);
	l->rc = bridge_store_head(l->reply->store, c->convo, &head);
	json_writer_open_object(w);
	json_writer_key(w, "convo");
	json_writer_string(w, c->convo);
	json_writer_key(w, "kind");
	json_writer_string(w, c->kind);
	write_title(w, c->title);
	if (l->rc == SQLITE_OK && strcmp(c->kind, "direct") == 0)
		l->rc = write_pair(l, c->convo);
	json_writer_key(w, "member_count");
	json_writer_int(w, c->member_count);
	json_writer_key(w, "role");
	json_writer_string(w, m->admin ? "admin" : "member");
	json_writer_key(w, "member");
	json_writer_bool(w, m->current);
	json_writer_key(w, "broadcast");
	json_writer_bool(w, c->broadcast);
	json_writer_key(w, "head");
	json_writer_int(w, bridge_membership_head(m, head));
	json_writer_key(w, "joined");
	json_writer_int(w, m->joined_seq);
	json_writer_key(w, "delivered");
	json_writer_int(w, m->delivered_seq);
	json_writer_key(w, "read");
	json_writer_int(w, m->read_seq);
	json_writer_close_object(w);
	return l->rc == SQLITE_OK;
}

static const struct bridge_failure *page_params(struct bridge_reply *r,
                                                const char **after,
                                                long long *limit)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->req, "after");

	*after = "";
	if (item != NULL) {
		*after = cJSON_IsString(item) ? item->valuestring : NULL;
		if (*after == NULL || !chat_valid_convo_id(*after))
			return &bad_after;
	}
	if (bridge_param_count(r, "limit", PAGE_DEFAULT, &bad_page, limit) !=
	        NULL ||
	    *limit < 1)
		return &bad_page;
	if (*limit > PAGE_MAX)
		*limit = PAGE_MAX;
	return NULL;
}

const struct bridge_failure *bridge_op_conversations(struct bridge_reply *r)
{
	struct listing l = {.reply = r, .rc = SQLITE_OK};
	const struct bridge_failure *f;
	const char *after;
	int rc;

	f = page_params(r, &after, &l.limit);
	if (f != NULL)
		return f;
	bridge_reply_open(r);
	json_writer_key(r->out, "conversations");
	json_writer_open_array(r->out);
	/* One row more than the page tells whether more remain. */
	rc = bridge_store_conversations_of(r->store, r->user, after,
	                                   l.limit + 1, write_conversation, &l);
	if (rc == SQLITE_OK)
		rc = l.rc;
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	json_writer_close_array(r->out);
	json_writer_key(r->out, "more");
	json_writer_bool(r->out, l.more);
	if (l.more) {
		json_writer_key(r->out, "next");
		json_writer_string(r->out, l.last);
	}
	json_writer_close_object(r->out);
	return NULL;
}
