#include "core.h"

#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch leaves for the bridge at the latest at this size. */
#define HANDOFF_FLUSH_BYTES (256 * 1024)
/* Without TICK events (per_listener_settings true) batches leave at once. */
#define TICK_OVERDUE_MS 1000
/* The longest stamped messages wait for the bridge to finish the batch
 * before them, and the fewest that batch held for them to wait at all
 * (flush_handoffs). */
#define HANDOFF_HOLD_MS 5
#define HANDOFF_HOLD_MIN_BATCH 4
/* A request unanswered this long is presumed lost (its answer could not be
 * delivered): it no longer counts against the caps on requests. */
#define REQUEST_LOST_MS (60 * 1000)
/* How often connections are looked at for such requests. */
#define REQUEST_EXPIRY_INTERVAL_MS (5 * 1000)
/* How often the store is asked for freshly revoked devices. */
#define REVOCATION_CHECK_MS 1000
/* Conversations whose members the plugin keeps in memory. */
#define MEMBERS_CACHE_CONVERSATIONS 100000
/* Who-may-see-whom answers kept for presence checks, and for how long
 * (changes of members or settings also drop them at once). */
#define CONTACT_PAIRS_CACHED 200000
#define CONTACTS_TTL_MS 30000
#define STATS_INTERVAL_MS (60 * 1000)

/* The store logs through the plugin's logger; it has one plugin only. */
static struct chat_logger *store_logger;

static void log_store_problem(const char *message)
{
	chat_log(store_logger, CHAT_LOG_ERROR, "%s", message);
}

static void init_limits(struct chat_plugin *p)
{
	const struct chat_options *o = &p->opts;
	const struct chat_rate rates[CHAT_LIMIT_KINDS] = {
		[CHAT_LIMIT_SEND] = {(double)o->user_send_rate,
				     (double)o->user_send_burst},
		[CHAT_LIMIT_REQUEST] = {(double)o->user_request_rate,
					(double)o->user_request_burst},
		[CHAT_LIMIT_RECEIPT] = {(double)o->user_receipt_rate,
					(double)o->user_receipt_burst},
		[CHAT_LIMIT_UPLOAD] = {(double)o->user_upload_rate,
				       (double)o->user_upload_burst},
		[CHAT_LIMIT_GROUP_CREATE] = {
			(double)o->user_group_create_per_hour / 3600.0,
			(double)o->user_group_create_burst},
	};

	chat_limits_init(&p->limits, rates);
	chat_auth_backoff_init(&p->auth_backoff, o->auth_free_failures_per_user,
			       o->auth_free_failures_per_address,
			       o->auth_backoff_max_ms);
}

int chat_plugin_setup(struct chat_plugin *p, const struct chat_options *opts,
		      chat_log_sink sink)
{
	const char *handoff_topics[CHAT_HANDOFF_KINDS];

	memset(p, 0, sizeof(*p));
	p->opts = *opts;
	chat_topics_init(&p->topics, opts->topic_prefix);
	chat_logger_init(&p->log, sink);
	store_logger = &p->log;
	p->store = chat_store_new(opts->db_path, log_store_problem);
	if (p->store == NULL)
		return -1;
	handoff_topics[CHAT_HANDOFF_MESSAGES] = p->topics.bridge_messages;
	handoff_topics[CHAT_HANDOFF_REQUESTS] = p->topics.bridge_requests;
	handoff_topics[CHAT_HANDOFF_RECEIPTS] = p->topics.bridge_receipts;
	handoff_topics[CHAT_HANDOFF_PRESENCE] = p->topics.bridge_presence;
	chat_members_init(&p->members, p->store, MEMBERS_CACHE_CONVERSATIONS);
	chat_contacts_init(&p->contacts, p->store, CONTACT_PAIRS_CACHED,
			   CONTACTS_TTL_MS);
	chat_presence_init(&p->presence, opts->presence_grace_ms,
			   opts->presence_min_interval_ms);
	chat_typing_init(&p->typing, opts->typing_interval_ms);
	chat_sessions_init(&p->sessions,
			   (size_t)opts->max_client_ids_per_user);
	init_limits(p);
	if (chat_inflight_init(&p->inflight, (size_t)opts->max_requests) != 0)
		return -1;
	chat_pending_init(&p->pending);
	chat_idgen_init(&p->idgen, opts->node_id);
	chat_handoff_init(&p->handoff, HANDOFF_FLUSH_BYTES,
			  p->opts.service_client_id, handoff_topics);
	return 0;
}

void chat_plugin_teardown(struct chat_plugin *p)
{
	chat_outbox_clear(&p->outbox);
	chat_directed_clear(&p->directed);
	chat_kicks_clear(&p->kicks);
	chat_handoff_free(&p->handoff);
	chat_pending_clear(&p->pending);
	chat_sessions_clear(&p->sessions);
	chat_members_clear(&p->members);
	chat_contacts_clear(&p->contacts);
	chat_presence_clear(&p->presence);
	chat_typing_clear(&p->typing);
	chat_limits_clear(&p->limits);
	chat_auth_backoff_clear(&p->auth_backoff);
	chat_inflight_free(&p->inflight);
	chat_store_free(p->store);
	p->store = NULL;
}

void chat_send_error_event(struct chat_plugin *p, const char *user,
			   const char *code, const char *message,
			   const char *convo, const char *cmid)
{
	char topic[CHAT_TOPIC_MAX];
	char *event;

	if (!chat_topic_inbox(&p->topics, user, "event", topic, sizeof(topic)))
		return;
	event = chat_error_event_json(code, message, convo, cmid);
	if (event)
		chat_outbox_add(&p->outbox, NULL, topic, event, strlen(event));
	free(event);
}

enum chat_error chat_member_check(struct chat_plugin *p, const char *convo,
				  const char *user, struct chat_convo **out)
{
	switch (chat_members_get(&p->members, convo, out)) {
	case CHAT_MEMBERS_OK:
		return chat_convo_has_member(*out, user) ? CHAT_OK
							 : CHAT_ERR_NOT_MEMBER;
	case CHAT_MEMBERS_NO_SUCH_CONVO:
		return CHAT_ERR_NOT_MEMBER;
	case CHAT_MEMBERS_UNAVAILABLE:
		break;
	}
	return CHAT_ERR_UNAVAILABLE;
}

static bool refuse_auth(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *why)
{
	p->stats.auth_refused++;
	chat_log_refusal(&p->log,
			 "refused connection of client '%s' (user '%s') "
			 "from %s: %s",
			 ci->client_id ? ci->client_id : "",
			 ci->username ? ci->username : "",
			 ci->address ? ci->address : "?", why);
	return false;
}

static bool check_token(struct chat_plugin *p,
			const struct chat_client_info *ci,
			enum chat_account_kind kind, const char *password,
			size_t password_len, long long *device_id)
{
	switch (chat_store_check_token(p->store, ci->username, kind, password,
				       password_len, device_id)) {
	case CHAT_STORE_OK:
		return true;
	case CHAT_STORE_NOT_FOUND:
		if (!p->reloading)
			chat_auth_backoff_failed(&p->auth_backoff,
						 ci->username, ci->address,
						 ci->now_ms);
		return refuse_auth(p, ci, "unknown user or invalid token");
	case CHAT_STORE_ERROR:
		break;
	}
	return refuse_auth(p, ci, "the chat database is unavailable");
}

/* Refuses, without looking at the token, a login whose user or address
 * failed too often lately. */
static bool backing_off(struct chat_plugin *p,
			const struct chat_client_info *ci)
{
	long long wait_ms = chat_auth_backoff_wait(
		&p->auth_backoff, ci->username, ci->address, ci->now_ms);
	char why[96];

	if (wait_ms == 0)
		return false;
	snprintf(why, sizeof(why),
		 "too many failed logins; refused for another %lld s",
		 (wait_ms + 999) / 1000);
	refuse_auth(p, ci, why);
	return true;
}

static bool auth_service(struct chat_plugin *p,
			 const struct chat_client_info *ci,
			 const char *password, size_t password_len)
{
	long long device_id;

	if (strcmp(ci->client_id, p->opts.service_client_id) != 0)
		return refuse_auth(p, ci, "the service account must use the "
					  "bridge's client id");

	if (!check_token(p, ci, CHAT_ACCOUNT_SERVICE, password, password_len,
			 &device_id))
		return false;
	if (!p->reloading) {
		p->bridge_client = ci->client;
		p->bridge_ready = false; /* until its hello */
	}
	return true;
}

static bool auth_user(struct chat_plugin *p, const struct chat_client_info *ci,
		      const char *password, size_t password_len)
{
	long long device_id;

	if (!chat_valid_user_id(ci->username)) {
		chat_auth_backoff_failed(&p->auth_backoff, NULL, ci->address,
					 ci->now_ms);
		return refuse_auth(p, ci, "invalid user name");
	}
	if (!p->reloading && backing_off(p, ci))
		return false;
	if (strcmp(ci->client_id, p->opts.service_client_id) == 0)
		return refuse_auth(p, ci, "client id reserved for the bridge");
	if (password == NULL || password_len == 0) {
		chat_auth_backoff_failed(&p->auth_backoff, ci->username,
					 ci->address, ci->now_ms);
		return refuse_auth(p, ci, "no token");
	}
	if (!check_token(p, ci, CHAT_ACCOUNT_USER, password, password_len,
			 &device_id))
		return false;
	chat_auth_backoff_succeeded(&p->auth_backoff, ci->username,
				    ci->address);
	if (!chat_sessions_may_use(&p->sessions, ci->client_id, ci->username))
		return refuse_auth(p, ci, "client id in use by another user");
	/* Taking over one's own live connection replaces it: no new one. */
	if (!p->reloading &&
	    !chat_sessions_live(&p->sessions, ci->client_id) &&
	    chat_sessions_connections_of(&p->sessions, ci->username) >=
		    (size_t)p->opts.max_connections_per_user)
		return refuse_auth(p, ci, "too many connections for this user");
	/* On SIGHUP the broker re-checks every session, connected or not:
	 * verify, but record nothing. */
	if (p->reloading)
		return true;
	if (chat_sessions_connected(&p->sessions, ci->client_id, ci->username,
				    ci->client, device_id,
				    !ci->clean_session) != 0)
		return refuse_auth(p, ci, "out of memory");
	chat_presence_touch(&p->presence, ci->username, ci->now_ms);
	return true;
}

bool chat_on_auth(struct chat_plugin *p, const struct chat_client_info *ci,
		  const char *password, size_t password_len)
{
	if (ci->username == NULL || ci->username[0] == '\0')
		return refuse_auth(p, ci, "no user name");
	if (ci->client_id == NULL)
		return refuse_auth(p, ci, "no client id");
	if (strcmp(ci->username, p->opts.service_user) == 0)
		return auth_service(p, ci, password, password_len);
	return auth_user(p, ci, password, password_len);
}

static bool acl_decide(struct chat_plugin *p,
		       const struct chat_acl_request *req)
{
	const char *convo;

	const char *subject;

	if (chat_acl_allows(&p->topics, p->opts.service_user, req))
		return true;
	/* Broadcast and presence topics depend on membership, which acl.c
	 * cannot see. */
	if (req->access != CHAT_ACCESS_READ &&
	    req->access != CHAT_ACCESS_SUBSCRIBE)
		return false;
	if (req->username == NULL || req->topic == NULL ||
	    strcmp(req->username, p->opts.service_user) == 0)
		return false;
	subject = chat_topic_presence_user(&p->topics, req->topic);
	if (subject)
		return chat_presence_allows(p, req->username, subject,
					    req->now_ms);
	convo = chat_topic_channel_convo(&p->topics, req->topic);
	if (convo == NULL)
		return false;
	return chat_channel_allows(
		p, req->username, convo,
		req->access == CHAT_ACCESS_READ ? req->payload : NULL,
		req->access == CHAT_ACCESS_READ ? req->payload_len : 0);
}

/* Subscriptions cost the broker memory: each connection may make only so
 * many. */
static bool within_subscription_cap(struct chat_plugin *p,
				    const struct chat_acl_request *req)
{
	if (req->access != CHAT_ACCESS_SUBSCRIBE ||
	    chat_sessions_subscribe(
		    &p->sessions, req->client_id,
		    (unsigned)p->opts.max_subscriptions_per_connection))
		return true;
	chat_log_refusal(&p->log,
			 "refused subscription of '%s' (client '%s') to %s: "
			 "more than %ld subscriptions on one connection",
			 req->username, req->client_id, req->topic,
			 p->opts.max_subscriptions_per_connection);
	return false;
}

/* Key topics are public, but only those of users that exist: a client
 * cannot make the broker hold filters for invented names. */
static bool keys_topic_of_a_user(struct chat_plugin *p, const char *topic)
{
	const char *user = chat_topic_keys_user(&p->topics, topic);

	return user == NULL ||
	       chat_store_user_exists(p->store, user) == CHAT_STORE_OK;
}

bool chat_on_acl(struct chat_plugin *p, const struct chat_acl_request *req)
{
	if (!acl_decide(p, req))
		return false;
	/* Deliveries, the hot path, end here. */
	if (req->access == CHAT_ACCESS_READ)
		return p->directed.count == 0 ||
		       chat_directed_check(&p->directed, req->client_id,
					   req->topic, req->payload,
					   req->payload_len) !=
			   CHAT_DIRECTED_DENY;
	if (req->access != CHAT_ACCESS_SUBSCRIBE)
		return true;
	if (req->client_id == NULL || req->username == NULL ||
	    strcmp(req->username, p->opts.service_user) == 0)
		return true;
	return keys_topic_of_a_user(p, req->topic) &&
	       within_subscription_cap(p, req);
}

bool chat_on_message(struct chat_plugin *p, const struct chat_client_info *ci,
		     const char *topic, const void *payload, size_t len,
		     long long now_ms)
{
	const char *convo;
	bool handled;

	if (ci->username == NULL)
		return false;
	if (strcmp(ci->username, p->opts.service_user) == 0) {
		chat_handle_bridge_publish(p, topic, payload, len);
		return true;
	}
	if (strcmp(topic, p->topics.request) == 0)
		return chat_handle_request(p, ci, payload, len, now_ms);
	convo = chat_topic_ack_convo(&p->topics, topic);
	if (convo)
		return chat_handle_receipt(p, ci, convo, payload, len, now_ms);
	convo = chat_topic_typing_convo(&p->topics, topic);
	if (convo)
		return chat_handle_typing(p, ci, convo, payload, len, now_ms);
	if (strcmp(topic, p->topics.status) == 0)
		return chat_handle_status(p, ci, payload, len, now_ms);
	if (strncmp(topic, p->topics.upload_prefix,
		    strlen(p->topics.upload_prefix)) == 0)
		return chat_handle_upload(p, ci, topic, payload, len, now_ms);
	convo = chat_topic_send_convo(&p->topics, topic);
	if (convo == NULL)
		return false; /* the ACL admits no other topic */
	handled = chat_handle_send(p, ci, convo, payload, len, now_ms);
	if (now_ms - p->last_tick_ms > TICK_OVERDUE_MS)
		chat_handoff_flush(&p->handoff, &p->outbox);
	return handled;
}

void chat_on_disconnect(struct chat_plugin *p,
			const struct chat_client_info *ci)
{
	if (ci->client != NULL && ci->client == p->bridge_client) {
		p->bridge_client = NULL;
		p->bridge_ready = false;
		chat_log(&p->log, CHAT_LOG_WARNING,
			 "the bridge disconnected; sends are refused until "
			 "it is back");
		return;
	}
	if (chat_sessions_disconnected(&p->sessions, ci->client_id,
				       ci->client) &&
	    ci->username)
		chat_presence_touch(&p->presence, ci->username, ci->now_ms);
}

void chat_on_reload(struct chat_plugin *p)
{
	p->reloading = true;
}

static void log_stats(struct chat_plugin *p, long long now_ms)
{
	struct chat_stats *s = &p->stats;

	if (now_ms < p->next_stats_ms)
		return;
	p->next_stats_ms = now_ms + STATS_INTERVAL_MS;
	if (memcmp(s, &p->reported, sizeof(*s)) == 0)
		return;
	chat_log(&p->log, CHAT_LOG_INFO,
		 "stats: %llu handed off, %llu committed, %llu deliveries, "
		 "%llu duplicates dropped, %llu sends refused, %llu requests, "
		 "%llu receipts, %llu presence changes, %llu typing, "
		 "%llu rate-limited, %llu connections refused, %zu pending, "
		 "%zu sessions (%zu connected), %zu conversations cached",
		 s->handed_off, s->committed, s->deliveries, s->duplicates,
		 s->refused_sends, s->requests, s->receipts,
		 s->presence_changes, s->typing, s->rate_limited,
		 s->auth_refused, p->pending.count, p->sessions.count,
		 p->sessions.connected, p->members.count);
	p->reported = *s;
}

static void kick_connection(const char *client_id, const char *user,
			    void *arg)
{
	struct chat_plugin *p = arg;

	chat_log(&p->log, CHAT_LOG_NOTICE,
		 "disconnecting client '%s' of user '%s': its device was "
		 "revoked",
		 client_id, user);
	chat_kicks_add(&p->kicks, client_id);
}

static void kick_device(long long device_id, void *arg)
{
	struct chat_plugin *p = arg;

	chat_sessions_each_of_device(&p->sessions, device_id, kick_connection,
				     p);
}

/*
 * The admin CLI revokes a device by writing the store; connections opened
 * with its token are closed here within a second. The revoked token is
 * refused from then on, so the client cannot come back.
 */
static void check_revocations(struct chat_plugin *p, long long now_ms)
{
	if (now_ms < p->next_revocation_check_ms)
		return;
	p->next_revocation_check_ms = now_ms + REVOCATION_CHECK_MS;
	/* The first look only finds where to start: tokens revoked before
	 * were refused at connect. */
	if (chat_store_each_revocation(p->store, &p->revocations,
				       p->revocations_primed ? kick_device
							     : NULL,
				       p) == CHAT_STORE_OK)
		p->revocations_primed = true;
}

static void expire_lost_requests(struct chat_plugin *p, long long now_ms)
{
	size_t lost = chat_inflight_expire(&p->inflight, now_ms, REQUEST_LOST_MS);

	if (lost > 0)
		chat_log(&p->log, CHAT_LOG_WARNING,
			 "%zu requests unanswered for %d s presumed lost",
			 lost, REQUEST_LOST_MS / 1000);
	if (now_ms < p->next_request_expiry_ms)
		return;
	p->next_request_expiry_ms = now_ms + REQUEST_EXPIRY_INTERVAL_MS;
	chat_sessions_expire_requests(&p->sessions, now_ms, REQUEST_LOST_MS);
}

void chat_direct_answers(struct chat_plugin *p, struct chat_publish *list)
{
	for (; list; list = list->next)
		if (list->client_id &&
		    strcmp(list->client_id, p->opts.service_client_id) != 0 &&
		    chat_directed_add(&p->directed, list->client_id,
				      list->topic, list->payload,
				      list->len) == 0)
			list->client_id = NULL;
}

/*
 * The bridge reads new hand-offs only between commits, and every batch of
 * stamped messages it commits comes back as an announcement. While a batch
 * is being committed, newer messages wait here and leave together when the
 * bridge has published again: at full speed one hand-off per commit
 * instead of one per pass of the broker's loop, which saves the broker and
 * the bridge a publish and its acknowledgement each time. Only under load,
 * though, when the batch in flight held several messages: a lone message
 * would pay for the wait with about a tenth of a millisecond (the trip of
 * the announcement through the broker), and measurably more at the 99th
 * percentile, for no saving worth it. Any publish from the bridge ends
 * the wait. A commit that takes longer than HANDOFF_HOLD_MS (a slow disk
 * flush; checked once per pass of the loop) ends the waiting until the
 * bridge publishes again, so that what arrives meanwhile is there for the
 * bridge's next round. Anything other than messages leaves at once and
 * takes the waiting messages with it: the bridge sees everything in the
 * order it came.
 */
static void flush_handoffs(struct chat_plugin *p, long long now_ms)
{
	size_t messages = chat_handoff_items(&p->handoff, CHAT_HANDOFF_MESSAGES);
	size_t all = chat_handoff_total(&p->handoff);

	if (all == 0)
		return;
	if (messages == all && p->messages_in_flight &&
	    now_ms - p->messages_handed_ms < HANDOFF_HOLD_MS)
		return;
	if (messages > 0) {
		/* A batch that leaves during a commit (the wait ran out, or
		 * something else took it along) stops the waiting; a large
		 * one that leaves otherwise starts a commit worth waiting
		 * for. */
		if (p->messages_in_flight) {
			p->messages_in_flight = false;
			p->hold_suspended = true;
		} else if (!p->hold_suspended &&
			   messages >= HANDOFF_HOLD_MIN_BATCH) {
			p->messages_in_flight = true;
		}
		p->messages_handed_ms = now_ms;
	}
	if (chat_handoff_flush(&p->handoff, &p->outbox) != 0)
		chat_log(&p->log, CHAT_LOG_ERROR,
			 "out of memory handing messages to the bridge");
}

void chat_on_tick(struct chat_plugin *p, long long now_ms)
{
	chat_directed_tick(&p->directed);
	p->reloading = false;
	p->last_tick_ms = now_ms;
	flush_handoffs(p, now_ms);
	chat_pending_expire(&p->pending, now_ms, p->opts.resend_window_ms);
	check_revocations(p, now_ms);
	expire_lost_requests(p, now_ms);
	chat_presence_tick(p, now_ms);
	chat_typing_expire(&p->typing, now_ms);
	if (now_ms >= p->next_stats_ms) {
		chat_limits_expire(&p->limits, now_ms);
		chat_auth_backoff_expire(&p->auth_backoff, now_ms);
	}
	log_stats(p, now_ms);
}
