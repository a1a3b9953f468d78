/*
 * Who owns which MQTT client id, and which connections are live.
 *
 * Mosquitto 2.0 has no connect event: a client counts as connected from its
 * successful authentication, and its disconnect is matched by the client
 * pointer, because the broker also reports the disconnect of the *old*
 * connection of a client-id takeover after the new one authenticated.
 *
 * A client id belongs to the first user that authenticates with it, for as
 * long as its session lives: until it disconnects with a clean session, or
 * forever (until the broker restarts) when the session is durable.
 */
#ifndef CHAT_SESSIONS_H
#define CHAT_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>

struct session_entry;

struct chat_sessions {
	struct session_entry *by_client_id; /* uthash head */
	size_t connected;
	size_t count;
};

void chat_sessions_init(struct chat_sessions *s);
void chat_sessions_clear(struct chat_sessions *s);

/* May `user` use `client_id`? False when another user owns it. */
bool chat_sessions_may_use(struct chat_sessions *s, const char *client_id,
			   const char *user);

/* Records an authenticated connection (client is the broker's pointer,
 * used only as an identity) of device device_id. Returns 0, or -1 when out
 * of memory. */
int chat_sessions_connected(struct chat_sessions *s, const char *client_id,
			    const char *user, const void *client,
			    long long device_id, bool durable);

/* Calls fn with the client id of every live connection of device_id. */
void chat_sessions_each_of_device(struct chat_sessions *s,
				  long long device_id,
				  void (*fn)(const char *client_id,
					     const char *user, void *arg),
				  void *arg);

/* Records a disconnect. Ignored unless `client` is the connection recorded
 * for client_id. Returns true when it was. */
bool chat_sessions_disconnected(struct chat_sessions *s,
				const char *client_id, const void *client);

/* The user owning client_id, or NULL. */
const char *chat_sessions_owner(struct chat_sessions *s,
				const char *client_id);

#endif
