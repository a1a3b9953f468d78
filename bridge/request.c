#include "request.h"

#include "ids.h"
#include "log.h"
#include "message.h"
#include "request_ops.h"
#include "store_members.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct bridge_failure bridge_failure_internal = {
    "internal", "an unexpected server error; see the server log"};
/* Larger answers could not pass the broker (message_size_limit): the
 * client would wait for ever, its request slot taken. */
#define BRIDGE_ANSWER_MAX_BYTES (1000 * 1000)
static const struct bridge_failure answer_too_large = {
    "too_large", "the answer would exceed 1,000,000 bytes; ask for less"};
const struct bridge_failure bridge_failure_not_member = {
    "not_member", "you are not a member of this conversation"};
const struct bridge_failure bridge_failure_not_admin = {
    "not_admin", "only an admin of the conversation may do this"};
const struct bridge_failure bridge_failure_storage = {
    "storage_error", "the store could not save the change; retry later"};

static const struct bridge_failure bad_op = {"bad_request",
                                             "op must be a string"};
static const struct bridge_failure unknown_op = {
    "unknown_op",
    "op is not one of sync, history, conversations, ping, create_group, "
    "add_members, remove_members, leave, set_role, rename, members, direct, "
    "presence, settings, devices, revoke_device, whoami, publish_bundle, "
    "publish_devices, get_keys, upload_prekeys, claim_prekey, prekey_count, "
    "blob_begin, blob_status, blob_end, blob_get"};
static const struct bridge_failure clients_only = {
    "bad_request", "this op is for a user's own connections only"};
static const struct bridge_failure bad_device = {"bad_request",
                                                 "device must be a device id"};
static const struct bridge_failure no_device = {
    "bad_request", "this connection's device is not known"};
static const struct bridge_failure bad_convo = {
    "bad_request", "convo must be a conversation id"};
static const struct bridge_failure bad_limit = {
    "bad_request", "limit must be a positive integer"};
static const struct bridge_failure bad_json = {
    "bad_json", "the request is not a JSON object"};

struct operation {
	const char *name;
	const struct bridge_failure *(*answer)(struct bridge_reply *r);
	/* About the asking user's own account, keys or files: not for
	 * admin requests. */
	bool clients_only;
};

static const struct operation operations[] = {
    {"sync", bridge_op_sync, false},
    {"history", bridge_op_history, false},
    {"conversations", bridge_op_conversations, false},
    {"ping", bridge_op_ping, false},
    {"create_group", bridge_op_create_group, false},
    {"add_members", bridge_op_add_members, false},
    {"remove_members", bridge_op_remove_members, false},
    {"leave", bridge_op_leave, false},
    {"set_role", bridge_op_set_role, false},
    {"rename", bridge_op_rename, false},
    {"members", bridge_op_members, false},
    {"direct", bridge_op_direct, false},
    {"presence", bridge_op_presence, true},
    {"settings", bridge_op_settings, true},
    {"devices", bridge_op_devices, true},
    {"revoke_device", bridge_op_revoke_device, true},
    {"whoami", bridge_op_whoami, true},
    {"publish_bundle", bridge_op_publish_bundle, true},
    {"publish_devices", bridge_op_publish_devices, true},
    {"get_keys", bridge_op_get_keys, true},
    {"upload_prekeys", bridge_op_upload_prekeys, true},
    {"claim_prekey", bridge_op_claim_prekey, true},
    {"prekey_count", bridge_op_prekey_count, true},
    {"blob_begin", bridge_op_blob_begin, true},
    {"blob_status", bridge_op_blob_status, true},
    {"blob_end", bridge_op_blob_end, true},
    {"blob_get", bridge_op_blob_get, true},
};

void bridge_request_frame(struct json_writer *w, const char *user,
                          const char *client, const char *kind)
{
	json_writer_open_object(w);
	json_writer_key(w, "user");
	json_writer_string(w, user);
	json_writer_key(w, "client");
	json_writer_string(w, client);
	if (kind != NULL) {
		json_writer_key(w, "kind");
		json_writer_string(w, kind);
	}
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

bool bridge_reply_is_admin(const struct bridge_reply *r)
{
	return r->admin_request != 0;
}

const struct bridge_failure *bridge_reply_fail(struct bridge_reply *r,
                                               const char *code,
                                               const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->named_message, sizeof(r->named_message), fmt, ap);
	va_end(ap);
	r->named.code = code;
	r->named.message = r->named_message;
	return &r->named;
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

const struct bridge_failure *bridge_param_convo(struct bridge_reply *r,
                                                const char **convo)
{
	*convo = bridge_json_string(r->req, "convo");
	return chat_valid_convo_id(*convo) ? NULL : &bad_convo;
}

/* With admin rights a conversation is seen whole, member or not. */
static const struct bridge_failure *
admin_view(struct bridge_reply *r, const char *convo, struct bridge_view *v)
{
	struct bridge_conversation c;
	int rc = bridge_store_conversation(r->store, convo, &c);

	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	if (!c.found)
		return &bridge_failure_not_member;
	v->joined = 0;
	return NULL;
}

const struct bridge_failure *bridge_param_visible_convo(struct bridge_reply *r,
                                                        const char **convo,
                                                        struct bridge_view *v)
{
	const struct bridge_failure *f = bridge_param_convo(r, convo);
	long long head;
	int rc;

	if (f != NULL)
		return f;
	rc = bridge_store_membership(r->store, *convo, r->user, &v->membership);
	if (rc == SQLITE_OK)
		rc = bridge_store_head(r->store, *convo, &head);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	v->head = head;
	if (!v->membership.current && bridge_reply_is_admin(r))
		return admin_view(r, *convo, v);
	if (!v->membership.found)
		return &bridge_failure_not_member;
	v->joined = v->membership.joined_seq;
	v->head = bridge_membership_head(&v->membership, head);
	return NULL;
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

/* A positive decimal without sign or leading zeros, as device ids are
 * written. */
static bool parse_device_text(const char *text, long long *device)
{
	long long v = 0;

	if (text[0] < '1' || text[0] > '9')
		return false;
	for (size_t i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9' || i >= 18)
			return false;
		v = v * 10 + (text[i] - '0');
	}
	*device = v;
	return true;
}

const struct bridge_failure *
bridge_param_device(struct bridge_reply *r, const char *key, long long *device)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->req, key);

	if (cJSON_IsString(item))
		return parse_device_text(item->valuestring, device)
		           ? NULL
		           : &bad_device;
	if (bridge_json_count(item, device) && *device > 0)
		return NULL;
	return &bad_device;
}

const struct bridge_failure *bridge_require_device(struct bridge_reply *r)
{
	return r->device > 0 ? NULL : &no_device;
}

const struct bridge_failure *bridge_op_ping(struct bridge_reply *r)
{
	bridge_reply_open(r);
	json_writer_close_object(r->out);
	return NULL;
}

/* An admin request's actor: "$admin", or a chat user. */
static const struct bridge_failure *check_actor(struct bridge_reply *r)
{
	bool exists = false;
	int rc;

	if (strcmp(r->user, BRIDGE_ADMIN_ACTOR) == 0)
		return NULL;
	if (chat_valid_user_id(r->user)) {
		rc = bridge_store_user_exists(r->store, r->user, &exists);
		if (rc != SQLITE_OK)
			return bridge_reply_store_failed(r, rc);
	}
	if (exists)
		return NULL;
	return bridge_reply_fail(r, "no_such_user", "no such user: %.64s",
	                         r->user);
}

static const struct bridge_failure *dispatch(struct bridge_reply *r)
{
	const struct bridge_failure *f;

	if (r->req == NULL)
		return &bad_json;
	if (bridge_reply_is_admin(r) && (f = check_actor(r)) != NULL)
		return f;
	if (r->op == NULL)
		return &bad_op;
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]);
	     i++) {
		const struct operation *op = &operations[i];

		if (strcmp(r->op, op->name) != 0)
			continue;
		if (op->clients_only && bridge_reply_is_admin(r))
			return &clients_only;
		return op->answer(r);
	}
	return &unknown_op;
}

/* Answers r, whose id is set; the response replaces whatever the
 * operation wrote when it fails. */
static int respond(struct bridge_reply *r)
{
	const struct bridge_failure *failure;

	r->start = json_writer_mark(r->out);
	r->op = bridge_json_string(r->req, "op");
	failure = dispatch(r);
	if (failure == NULL && json_writer_ok(r->out) &&
	    r->out->len - r->start.len > BRIDGE_ANSWER_MAX_BYTES) {
		bridge_client_warning("the answer to %s %s from %s would take "
		                      "%zu bytes; refused as too_large",
		                      r->op ? r->op : "?", r->id, r->user,
		                      r->out->len - r->start.len);
		failure = &answer_too_large;
	}
	if (failure == NULL && !json_writer_ok(r->out)) {
		bridge_error("out of memory answering request %s from %s",
		             r->id, r->user);
		failure = &bridge_failure_internal;
	}
	if (failure != NULL) {
		json_writer_rewind(r->out, r->start);
		r->blob = false;
		write_failure(r, failure);
	}
	if (json_writer_ok(r->out))
		return 0;
	json_writer_rewind(r->out, r->start);
	return -1;
}

/*
 * A file chunk goes to the blob topic: the header line written before the
 * response is replaced by one that says so. The chunk is copied once
 * more; it is at most BRIDGE_CHUNK_BYTES.
 */
static int reframe_as_blob(struct json_writer *out, size_t header_len,
                           const struct bridge_request *request)
{
	struct json_writer framed;

	json_writer_init(&framed);
	bridge_request_frame(&framed, request->user, request->client, "blob");
	json_writer_raw(&framed, out->data + header_len, out->len - header_len);
	if (!json_writer_ok(&framed)) {
		json_writer_free(&framed);
		return -1;
	}
	json_writer_free(out);
	*out = framed;
	return 0;
}

int bridge_request_answer(const struct bridge_request_context *ctx,
                          const struct bridge_request *request,
                          struct json_writer *out,
                          struct bridge_entries *announce)
{
	struct bridge_reply r;
	size_t header_len;

	memset(&r, 0, sizeof(r));
	r.store = ctx->store;
	r.opts = ctx->opts;
	r.media = ctx->media;
	r.user = request->user;
	r.device = request->device;
	r.req = request->req;
	r.out = out;
	r.announce = announce;
	r.id = bridge_json_string(request->req, "id");
	if (!chat_valid_request_id(r.id)) {
		bridge_client_warning("request from %s has no valid id; not "
		                      "answered",
		                      request->user);
		return -1;
	}
	json_writer_reset(out);
	bridge_request_frame(out, request->user, request->client, NULL);
	header_len = out->len;
	if (respond(&r) != 0)
		return -1;
	return r.blob ? reframe_as_blob(out, header_len, request) : 0;
}

int bridge_request_respond(struct bridge_store *s,
                           const struct chat_options *opts, const char *user,
                           const cJSON *req, struct json_writer *out,
                           struct bridge_entries *announce)
{
	struct bridge_reply r;

	memset(&r, 0, sizeof(r));
	r.store = s;
	r.opts = opts;
	r.user = user;
	r.req = req;
	r.out = out;
	r.announce = announce;
	r.id = bridge_json_string(req, "id");
	if (!chat_valid_request_id(r.id)) {
		bridge_client_warning("request from %s has no valid id; not "
		                      "answered",
		                      user);
		return -1;
	}
	return respond(&r);
}

/* req is NULL when the stored request is not a JSON object. */
int bridge_request_respond_admin(const struct bridge_admin_context *admin,
                                 const cJSON *req, struct json_writer *out,
                                 struct bridge_entries *announce,
                                 bool *answered)
{
	struct bridge_reply r;
	char fallback_id[32];
	int rc;

	memset(&r, 0, sizeof(r));
	r.store = admin->store;
	r.opts = admin->opts;
	r.user = admin->actor;
	r.req = req;
	r.out = out;
	r.announce = announce;
	r.admin_request = admin->row;
	r.id = bridge_json_string(req, "id");
	if (!chat_valid_request_id(r.id)) {
		/* A space: never the id of a client's request. */
		snprintf(fallback_id, sizeof(fallback_id), "admin %lld",
		         admin->row);
		r.id = fallback_id;
	}
	rc = respond(&r);
	*answered = rc == 0 && r.answered;
	return rc;
}
