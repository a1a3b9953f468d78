#include "request.h"

#include "ids.h"
#include "log.h"
#include "message.h"
#include "request_ops.h"

#include <string.h>

const struct bridge_failure bridge_failure_internal = {
    "internal", "an unexpected server error; see the server log"};

static const struct bridge_failure bad_op = {"bad_request",
                                             "op must be a string"};
static const struct bridge_failure unknown_op = {
    "unknown_op", "op is not one of sync, history, conversations, ping"};
static const struct bridge_failure bad_convo = {
    "bad_request", "convo must be a conversation id"};
static const struct bridge_failure bad_limit = {
    "bad_request", "limit must be a positive integer"};
static const struct bridge_failure not_member = {
    "not_member", "you are not a member of this conversation"};

struct operation {
	const char *name;
	const struct bridge_failure *(*answer)(struct bridge_reply *r);
};

static const struct operation operations[] = {
    {"sync", bridge_op_sync},
    {"history", bridge_op_history},
    {"conversations", bridge_op_conversations},
    {"ping", bridge_op_ping},
};

void bridge_request_frame(struct json_writer *w, const char *user,
                          const char *client)
{
	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, user);
	json_writer_key(w, "client");
	json_writer_string(w, client);
	json_writer_close_object(w);
	json_writer_raw(w, "\n", 1);
}

static void write_identity(struct bridge_reply *r)
{
	json_writer_open_object(r->out);
	json_writer_key(r->out, "id");
	json_writer_string(r->out, r->id);
	if (r->op != NULL) {
		json_writer_key(r->out, "op");
		json_writer_string(r->out, r->op);
	}
}

void bridge_reply_open(struct bridge_reply *r)
{
	write_identity(r);
	json_writer_key(r->out, "ok");
	json_writer_bool(r->out, true);
}

static void write_failure(struct bridge_reply *r,
                          const struct bridge_failure *f)
{
	write_identity(r);
	json_writer_key(r->out, "ok");
	json_writer_bool(r->out, false);
	json_writer_key(r->out, "error");
	json_writer_open_object(r->out);
	json_writer_key(r->out, "code");
	json_writer_string(r->out, f->code);
	json_writer_key(r->out, "message");
	json_writer_string(r->out, f->message);
	json_writer_close_object(r->out);
	json_writer_close_object(r->out);
}

size_t bridge_reply_page_budget(const struct bridge_reply *r,
                                size_t skeleton_len)
{
	size_t max = (size_t)r->opts->page_max_bytes;

	return skeleton_len < max ? max - skeleton_len : 0;
}

const struct bridge_failure *bridge_reply_store_failed(struct bridge_reply *r,
                                                       int rc)
{
	bridge_error("request %s (%s) from %s failed: %s (%s)", r->id,
	             r->op ? r->op : "no op", r->user, sqlite3_errstr(rc),
	             bridge_store_error(r->store));
	return &bridge_failure_internal;
}

const struct bridge_failure *bridge_param_member_convo(struct bridge_reply *r,
                                                       const char **convo,
                                                       long long *joined_seq)
{
	bool member;
	int rc;

	*convo = bridge_json_string(r->req, "convo");
	if (!chat_valid_convo_id(*convo))
		return &bad_convo;
	rc = bridge_store_membership(r->store, *convo, r->user, &member,
	                             joined_seq);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	return member ? NULL : &not_member;
}

const struct bridge_failure *
bridge_param_count(struct bridge_reply *r, const char *key, long long fallback,
                   const struct bridge_failure *bad, long long *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->req, key);

	if (item == NULL) {
		*out = fallback;
		return NULL;
	}
	return bridge_json_count(item, out) ? NULL : bad;
}

const struct bridge_failure *bridge_param_limit(struct bridge_reply *r,
                                                long long *limit)
{
	const struct bridge_failure *f = bridge_param_count(
	    r, "limit", r->opts->sync_page_default, &bad_limit, limit);

	if (f != NULL)
		return f;
	if (*limit < 1)
		return &bad_limit;
	if (*limit > r->opts->sync_page_max)
		*limit = r->opts->sync_page_max;
	return NULL;
}

const struct bridge_failure *bridge_op_ping(struct bridge_reply *r)
{
	bridge_reply_open(r);
	json_writer_close_object(r->out);
	return NULL;
}

static const struct bridge_failure *dispatch(struct bridge_reply *r)
{
	if (r->op == NULL)
		return &bad_op;
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
		if (strcmp(r->op, operations[i].name) == 0)
			return operations[i].answer(r);
	return &unknown_op;
}

int bridge_request_respond(struct bridge_store *s,
                           const struct chat_options *opts, const char *user,
                           const cJSON *req, struct json_writer *out)
{
	struct json_writer_mark start = json_writer_mark(out);
	struct bridge_reply r = {s, opts, user, req, NULL, NULL, out};
	const struct bridge_failure *failure;

	r.id = bridge_json_string(req, "id");
	if (!chat_valid_request_id(r.id)) {
		bridge_client_warning("request from %s has no valid id; not "
		                      "answered",
		                      user);
		return -1;
	}
	r.op = bridge_json_string(req, "op");
	failure = dispatch(&r);
	if (failure == NULL && !json_writer_ok(out)) {
		bridge_error("out of memory answering request %s from %s", r.id,
		             user);
		failure = &bridge_failure_internal;
	}
	if (failure != NULL) {
		json_writer_rewind(out, start);
		write_failure(&r, failure);
	}
	if (json_writer_ok(out))
		return 0;
	json_writer_rewind(out, start);
	return -1;
}
