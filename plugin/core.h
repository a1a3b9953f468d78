/*
 * The plugin's state and its event handlers, independent of the broker.
 *
 * plugin/plugin.c translates mosquitto's events into calls of the chat_on_*
 * functions below and afterwards hands the publishes collected in
 * `outbox` to the broker. Everything here can therefore run, and be tested,
 * without a broker.
 */
#ifndef CHAT_CORE_H
#define CHAT_CORE_H

#include "acl.h"
#include "auth_backoff.h"
#include "contacts.h"
#include "directed.h"
#include "errors.h"
#include "handoff.h"
#include "ids.h"
#include "idgen.h"
#include "inflight.h"
#include "kicks.h"
#include "limits.h"
#include "logging.h"
#include "members.h"
#include "options.h"
#include "outbox.h"
#include "pending.h"
#include "presence.h"
#include "sessions.h"
#include "store.h"
#include "topics.h"
#include "typing.h"

#include <stdbool.h>
#include <stddef.h>

struct chat_stats {
	unsigned long long handed_off;	  /* messages passed to the bridge */
	unsigned long long committed;	  /* announced as stored */
	unsigned long long deliveries;	  /* inbox publishes for messages */
	unsigned long long duplicates;	  /* dropped while pending */
	unsigned long long refused_sends; /* all reasons */
	unsigned long long requests;
	unsigned long long receipts;
	unsigned long long presence_changes;
	unsigned long long typing;
	unsigned long long rate_limited;
	unsigned long long auth_refused;
};

struct chat_plugin {
	struct chat_options opts;
	struct chat_topics topics;
	struct chat_logger log;
	struct chat_store *store;
	struct chat_members members;
	struct chat_sessions sessions;
	struct chat_limits limits;
	struct chat_auth_backoff auth_backoff;
	struct chat_presence presence;
	bool presence_primed; /* restored what the store showed online */
	bool presence_restated; /* and published again who it shows offline */
	char presence_restate_after[CHAT_ID_MAX + 1]; /* restated up to here */
	struct chat_contacts contacts;
	struct chat_typing typing;
	struct chat_inflight inflight; /* forwarded, not yet answered */
	struct chat_pending pending;
	struct chat_idgen idgen;
	bool idgen_seeded;
	struct chat_handoff handoff;
	struct chat_outbox outbox;
	struct chat_directed directed; /* answers for one connection */
	struct chat_kicks kicks;
	struct chat_revocation_mark revocations; /* read up to here */
	bool revocations_primed;
	long long next_revocation_check_ms;
	long long next_request_expiry_ms;
	const void *bridge_client; /* the service account's connection */
	bool bridge_ready;	   /* a hello arrived on that connection */
	bool reloading;		   /* between RELOAD and the next TICK */
	long long last_tick_ms;
	/* Wall clock minus the plugin's monotonic clock (broker.c): what turns
	 * the plugin's times into the ones clients are shown. */
	long long wall_offset_ms;
	/* When stamped messages last left for the bridge, whether newer ones
	 * wait for the bridge to publish again, and whether waiting is off
	 * until it does (core.c, flush_handoffs). */
	long long messages_handed_ms;
	bool messages_in_flight;
	bool hold_suspended;
	long long next_stats_ms;
	struct chat_stats stats;
	struct chat_stats reported;
};

/* What a handler needs to know about the client behind an event. */
struct chat_client_info {
	const void *client; /* the broker's pointer, an identity only */
	const char *client_id;
	const char *username;
	const char *address;
	bool clean_session;
	long long now_ms;
};

int chat_plugin_setup(struct chat_plugin *p, const struct chat_options *opts,
		      chat_log_sink sink);
void chat_plugin_teardown(struct chat_plugin *p);

bool chat_on_auth(struct chat_plugin *p, const struct chat_client_info *ci,
		  const char *password, size_t password_len);
bool chat_on_acl(struct chat_plugin *p, const struct chat_acl_request *req);

/* Returns false to refuse the publish (MQTT 5 clients then see 0x87). An
 * allowed publish is consumed here: nobody subscribes to its topic. */
bool chat_on_message(struct chat_plugin *p, const struct chat_client_info *ci,
		     const char *topic, const void *payload, size_t len,
		     long long now_ms);
void chat_on_disconnect(struct chat_plugin *p,
			const struct chat_client_info *ci);
void chat_on_reload(struct chat_plugin *p);
void chat_on_tick(struct chat_plugin *p, long long now_ms);

/* Readdresses the answers in a list taken from the outbox to their inbox
 * topic, before the broker gets them (see directed.h). Publishes for the
 * bridge stay addressed to its client id. */
void chat_direct_answers(struct chat_plugin *p, struct chat_publish *list);

/* Handlers of client publishes (plugin/client_publish.c). */
bool chat_handle_send(struct chat_plugin *p, const struct chat_client_info *ci,
		      const char *convo, const char *payload, size_t len,
		      long long now_ms);
bool chat_handle_request(struct chat_plugin *p,
			 const struct chat_client_info *ci,
			 const char *payload, size_t len, long long now_ms);

/* A receipt published on {prefix}/ack/{convo} (plugin/receipt.c). */
bool chat_handle_receipt(struct chat_plugin *p,
			 const struct chat_client_info *ci, const char *convo,
			 const char *payload, size_t len, long long now_ms);

/* May this client subscribe to, or receive, this channel topic? (READ
 * passes the message, whose seq decides; SUBSCRIBE passes none.) */
bool chat_channel_allows(struct chat_plugin *p, const char *username,
			 const char *convo, const void *payload, size_t len);

/* Presence (plugin/presence_link.c): status publishes, the TICK step, and
 * who may subscribe to or receive a presence topic. */
bool chat_handle_status(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *payload,
			size_t len, long long now_ms);
void chat_presence_tick(struct chat_plugin *p, long long now_ms);
bool chat_presence_allows(struct chat_plugin *p, const char *viewer,
			  const char *subject, long long now_ms);

/* File chunks (plugin/upload.c). */
bool chat_handle_upload(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *topic,
			const void *payload, size_t len, long long now_ms);

/* Admission of work the bridge answers (requests, file chunks): the user's
 * rate of that kind, and unanswered requests per connection and in all.
 * chat_request_forwarded counts one more once it is on its way. */
enum chat_error chat_admit_request(struct chat_plugin *p,
				   const struct chat_client_info *ci,
				   enum chat_limit_kind kind, long long now_ms);
void chat_request_forwarded(struct chat_plugin *p,
			    const struct chat_client_info *ci);

/* Typing indicators (plugin/typing_link.c). */
bool chat_handle_typing(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *convo,
			const char *payload, size_t len, long long now_ms);

/* Handlers of the bridge's publishes (plugin/bridge_link.c). */
void chat_handle_bridge_publish(struct chat_plugin *p, const char *topic,
				const char *payload, size_t len);

/* Looks up convo for a client's publish: CHAT_OK when user is a member
 * now (and *out is set), else the error to send. */
enum chat_error chat_member_check(struct chat_plugin *p, const char *convo,
				  const char *user, struct chat_convo **out);

/* Queues an error event for every device of user. */
void chat_send_error_event(struct chat_plugin *p, const char *user,
			   const char *code, const char *message,
			   const char *convo, const char *cmid);

#endif
