/*
 * Who owns which MQTT client id, and which connections are live.
 *
 * Mosquitto 2.0 has no connect event: a client counts as connected from its
 * successful authentication, and its disconnect is matched by the client
 * pointer, because the broker also reports the disconnect of the *old*
 * connection of a client-id takeover after the new one authenticated.
 *
 * A client id belongs to the first user that authenticates with it, for as
 * long as its session may live: until it disconnects with a clean session,
 * or (durable sessions) until the broker restarts. A user keeps at most
 * max_owned_ids client ids: beyond that, the one disconnected the longest
 * is released. Per user, live connections are counted so they can be
 * capped, and per client id the requests awaiting an answer.
 */
#ifndef CHAT_SESSIONS_H
#define CHAT_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>

struct session_entry;
struct session_user;

struct chat_sessions {
	struct session_entry *by_client_id; /* uthash head */
	struct session_user *by_user;	    /* uthash head */
	size_t connected;
	size_t count;
	size_t max_owned_ids; /* per user */
};

void chat_sessions_init(struct chat_sessions *s, size_t max_owned_ids);
void chat_sessions_clear(struct chat_sessions *s);

/* May `user` use `client_id`? False when another user owns it. */
bool chat_sessions_may_use(struct chat_sessions *s, const char *client_id,
			   const char *user);

/* True when client_id has a live connection now. */
bool chat_sessions_live(struct chat_sessions *s, const char *client_id);

/* Live connections of user. */
size_t chat_sessions_connections_of(struct chat_sessions *s, const char *user);

/* Records an authenticated connection (client is the broker's pointer,
 * used only as an identity) of device device_id. Returns 0, or -1 when out
 * of memory or when another user owns the client id. */
int chat_sessions_connected(struct chat_sessions *s, const char *client_id,
			    const char *user, const void *client,
			    long long device_id, bool durable);

/* Records a disconnect. Ignored unless `client` is the connection recorded
 * for client_id. Returns true when it was. */
bool chat_sessions_disconnected(struct chat_sessions *s,
				const char *client_id, const void *client);

/* The device the live connection of client_id authenticated with; 0 when
 * none is live. */
long long chat_sessions_device_of(struct chat_sessions *s,
				  const char *client_id);

/* The user owning client_id, or NULL. */
const char *chat_sessions_owner(struct chat_sessions *s,
				const char *client_id);

/* Calls fn with the client id of every live connection of device_id. */
void chat_sessions_each_of_device(struct chat_sessions *s,
				  long long device_id,
				  void (*fn)(const char *client_id,
					     const char *user, void *arg),
				  void *arg);

/* Requests forwarded for client_id and not answered yet. */
/*
 * Counts a subscription (one filter) of the connection with that client
 * id; false when it already made max. Unsubscribing gives nothing back:
 * the broker's UNSUBSCRIBE check cannot tell a filter that was subscribed
 * from one that was not. The count starts again at every connection.
 */
bool chat_sessions_subscribe(struct chat_sessions *s, const char *client_id,
			     unsigned max);

int chat_sessions_requests_of(struct chat_sessions *s, const char *client_id);
void chat_sessions_request_started(struct chat_sessions *s,
				   const char *client_id, long long now_ms);
void chat_sessions_request_answered(struct chat_sessions *s,
				    const char *client_id, long long now_ms);

/* A connection whose requests went unanswered for timeout_ms (no answer
 * to any of them since) has them presumed lost, so it may ask again. */
void chat_sessions_expire_requests(struct chat_sessions *s, long long now_ms,
				   long long timeout_ms);

/* Forgets every outstanding request (the bridge restarted). */
void chat_sessions_forget_requests(struct chat_sessions *s);

#endif
