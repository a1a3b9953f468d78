/*
 * What happens when a client publishes a message or a request.
 */
#include "core.h"

#include "envelope.h"
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The explanation sent with an error; limits are spelled out. */
static const char *error_detail(struct chat_plugin *p, enum chat_error e)
{
	static char text[128];

	if (e != CHAT_ERR_TOO_LARGE)
		return chat_error_message(e);
	snprintf(text, sizeof(text),
		 "payload is above the size limit (%ld bytes for a message, "
		 "%ld for a request)",
		 p->opts.max_envelope_bytes, p->opts.max_request_bytes);
	return text;
}

static bool refuse_send(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *convo,
			const char *cmid, enum chat_error e)
{
	p->stats.refused_sends++;
	chat_log_refusal(&p->log, "refused message from '%s' to '%s': %s",
			 ci->username, convo, chat_error_code(e));
	chat_send_error_event(p, ci->username, chat_error_code(e),
			      error_detail(p, e), convo, cmid);
	return false;
}

/* The largest id already stored seeds the generator once, so ids keep
 * growing even if the clock went back across a restart. */
static void seed_idgen(struct chat_plugin *p)
{
	uint64_t max_id = 0;

	if (p->idgen_seeded)
		return;
	if (chat_store_max_message_id(p->store, &max_id) != CHAT_STORE_OK)
		return;
	chat_idgen_after(&p->idgen, max_id);
	p->idgen_seeded = true;
}

/* A message to n members costs the conversation n deliveries (one when
 * it is broadcast), against a budget refilled every second. */
static bool take_delivery_budget(struct chat_plugin *p, struct chat_convo *c,
				 long long now_ms)
{
	double cost = chat_convo_is_broadcast(c)
			      ? 1.0
			      : (double)chat_convo_member_count(c);

	return chat_convo_take_deliveries(
		c, cost, (double)p->opts.convo_delivery_rate, now_ms);
}

/* The checks a new message passes after its envelope, cheapest refusals
 * of other people's resources last. */
static enum chat_error admit_message(struct chat_plugin *p,
				     const struct chat_client_info *ci,
				     struct chat_convo *c, long long now_ms)
{
	if (!chat_limits_take(&p->limits, CHAT_LIMIT_SEND, ci->username,
			      now_ms))
		return CHAT_ERR_RATE_LIMITED;
	if (p->pending.count >= (size_t)p->opts.max_pending)
		return CHAT_ERR_BUSY;
	if (!take_delivery_budget(p, c, now_ms))
		return CHAT_ERR_RATE_LIMITED;
	return CHAT_OK;
}

static enum chat_error hand_off(struct chat_plugin *p,
				const struct chat_client_info *ci,
				const char *convo, struct chat_envelope *env,
				long long now_ms)
{
	/* The id's time part and ts are wall-clock times; now_ms is the
	 * plugin's monotonic clock. */
	long long wall_ms = now_ms + p->wall_offset_ms;
	struct chat_stamp stamp = {
		.convo = convo,
		.from = ci->username,
		.client_id = ci->client_id,
		.ts_ms = wall_ms,
	};
	enum chat_error result = CHAT_ERR_INTERNAL;
	char *item;

	seed_idgen(p);
	stamp.id = chat_idgen_next(&p->idgen, wall_ms);
	item = chat_envelope_stamp(env, &stamp);
	if (item && chat_handoff_add(&p->handoff, CHAT_HANDOFF_MESSAGES, item,
				     &p->outbox) == 0 &&
	    chat_pending_add(&p->pending, convo, ci->username, env->cmid,
			     now_ms) == 0) {
		p->stats.handed_off++;
		result = CHAT_OK;
	}
	free(item);
	return result;
}

bool chat_handle_send(struct chat_plugin *p, const struct chat_client_info *ci,
		      const char *convo, const char *payload, size_t len,
		      long long now_ms)
{
	struct chat_convo *c = NULL;
	struct chat_envelope env;
	enum chat_error e;

	e = chat_envelope_parse(payload, len,
				(size_t)p->opts.max_envelope_bytes, &env);
	if (e == CHAT_OK && !p->bridge_ready)
		e = CHAT_ERR_UNAVAILABLE;
	if (e == CHAT_OK)
		e = chat_member_check(p, convo, ci->username, &c);
	if (e == CHAT_OK &&
	    chat_pending_contains(&p->pending, convo, ci->username, env.cmid,
				  now_ms, p->opts.resend_window_ms)) {
		/* A retransmit of a message on its way to the store: ack it
		 * and let the first copy produce the tick. */
		p->stats.duplicates++;
		chat_envelope_free(&env);
		return true;
	}
	if (e == CHAT_OK)
		e = admit_message(p, ci, c, now_ms);
	if (e == CHAT_OK)
		e = hand_off(p, ci, convo, &env, now_ms);
	if (e == CHAT_ERR_RATE_LIMITED)
		p->stats.rate_limited++;
	if (e != CHAT_OK)
		refuse_send(p, ci, convo, env.cmid, e);
	chat_envelope_free(&env);
	return e == CHAT_OK;
}

/* A refused request is answered on the asking connection's resp topic,
 * with "id": null when the id could not be read, so a request/response
 * client (mosquitto_rr, an RPC helper) sees the refusal. */
static void respond_error(struct chat_plugin *p,
			  const struct chat_client_info *ci,
			  const struct chat_request *req, enum chat_error e)
{
	char topic[CHAT_TOPIC_MAX];
	char *response;

	chat_log_refusal(&p->log, "refused request from '%s': %s",
			 ci->username, chat_error_code(e));
	if (!chat_topic_inbox(&p->topics, ci->username, "resp", topic,
			      sizeof(topic)))
		return;
	response = chat_error_response_json(req->id, req->op, e,
					    error_detail(p, e));
	if (response)
		chat_outbox_add(&p->outbox, ci->client_id, topic, response,
				strlen(response));
	free(response);
}

/* Unanswered requests are capped per connection and server-wide: each
 * answer may be large, and the broker queues answers for slow readers. */
enum chat_error chat_admit_request(struct chat_plugin *p,
				   const struct chat_client_info *ci,
				   enum chat_limit_kind kind, long long now_ms)
{
	if (!p->bridge_ready)
		return CHAT_ERR_UNAVAILABLE;
	if (!chat_limits_take(&p->limits, kind, ci->username, now_ms)) {
		p->stats.rate_limited++;
		return CHAT_ERR_RATE_LIMITED;
	}
	if (chat_sessions_requests_of(&p->sessions, ci->client_id) >=
		    p->opts.max_client_requests ||
	    p->inflight.count >= p->inflight.cap)
		return CHAT_ERR_BUSY;
	return CHAT_OK;
}

void chat_request_forwarded(struct chat_plugin *p,
			    const struct chat_client_info *ci)
{
	chat_inflight_start(&p->inflight, ci->now_ms);
	chat_sessions_request_started(&p->sessions, ci->client_id, ci->now_ms);
}

bool chat_handle_request(struct chat_plugin *p,
			 const struct chat_client_info *ci,
			 const char *payload, size_t len, long long now_ms)
{
	struct chat_request req;
	enum chat_error e;
	char *item = NULL;

	e = chat_request_parse(payload, len,
			       (size_t)p->opts.max_request_bytes, &req);
	/* Downloading a file chunk counts like uploading one, not against
	 * the (much lower) request rate. */
	if (e == CHAT_OK)
		e = chat_admit_request(p, ci,
				       strcmp(req.op, "blob_get") == 0
					       ? CHAT_LIMIT_UPLOAD
					       : CHAT_LIMIT_REQUEST,
				       now_ms);
	/* Each new group costs the bridge a transaction and every member a
	 * membership event: creating them has its own, slow allowance. */
	if (e == CHAT_OK && strcmp(req.op, "create_group") == 0 &&
	    !chat_limits_take(&p->limits, CHAT_LIMIT_GROUP_CREATE,
			      ci->username, now_ms)) {
		p->stats.rate_limited++;
		e = CHAT_ERR_RATE_LIMITED;
	}
	if (e == CHAT_OK) {
		struct chat_requester from = {
			.user = ci->username,
			.client_id = ci->client_id,
			.device_id = chat_sessions_device_of(&p->sessions,
							     ci->client_id),
		};

		item = chat_request_wrap(&req, &from);
		if (item == NULL ||
		    chat_handoff_add(&p->handoff, CHAT_HANDOFF_REQUESTS, item,
				     &p->outbox) != 0)
			e = CHAT_ERR_INTERNAL;
	}
	if (e == CHAT_OK) {
		p->stats.requests++;
		chat_request_forwarded(p, ci);
	} else {
		respond_error(p, ci, &req, e);
	}
	free(item);
	chat_request_free(&req);
	return e == CHAT_OK;
}
