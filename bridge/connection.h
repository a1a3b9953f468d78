/*
 * The bridge's MQTT session with the broker: MQTT 5, a durable session
 * (clean start off, longest expiry) so the broker keeps hand-offs for the
 * bridge while it restarts, reconnection with backoff forever, and a hello
 * after every accepted connect. Single-threaded: nothing happens unless
 * bridge_connection_poll() is called.
 */
#ifndef BRIDGE_CONNECTION_H
#define BRIDGE_CONNECTION_H

#include "options.h"
#include "topics.h"

#include <stdbool.h>
#include <stddef.h>

struct bridge_connection;

/* Receives every message the broker delivers to the bridge. */
typedef void (*bridge_delivery_fn)(void *ctx, const char *topic,
                                   const void *payload, size_t len);

/* The broker answered the publish mid: accepted, or refused with a reason
 * code of 0x80 or above. */
typedef void (*bridge_acknowledged_fn)(void *ctx, int mid, bool accepted);

/* What became of a publish offered with bridge_connection_try_publish. */
enum bridge_publish_status {
	BRIDGE_PUBLISH_SENT,   /* taken: its acknowledgement will carry mid */
	BRIDGE_PUBLISH_LATER,  /* no session now: nothing was taken */
	BRIDGE_PUBLISH_FAILED, /* can never be published (logged) */
};

/*
 * Sets up the session and makes the first connection attempt; a broker
 * that is not up yet is retried by poll. host and port are the broker's
 * address; deliver and acknowledged are called with ctx from poll.
 * Returns 0, or -1 (logged) when the client cannot be created.
 */
int bridge_connection_open(const struct chat_options *opts,
                           const struct chat_topics *topics, const char *host,
                           int port, const char *password,
                           bridge_delivery_fn deliver,
                           bridge_acknowledged_fn acknowledged, void *ctx,
                           struct bridge_connection **out);

/*
 * Services the network for up to timeout_ms (0: only what is ready):
 * reads and delivers messages, writes queued publishes, keeps the session
 * alive, and reconnects after a loss once the backoff has passed. Returns
 * early when a signal arrives.
 */
void bridge_connection_poll(struct bridge_connection *c, int timeout_ms);

/* Publishes QoS 1. While the session is down the library queues it and
 * sends it after reconnecting. Returns 0, or -1 (logged). */
int bridge_connection_publish(struct bridge_connection *c, const char *topic,
                              const void *payload, size_t len);

/*
 * Publishes QoS 1 only while the session is up, so that a caller can keep
 * what the broker cannot take yet and offer it again, in order, after the
 * next hello. Once taken, a publish is the library's: it is sent again
 * after a reconnect until the broker acknowledges it.
 */
enum bridge_publish_status
bridge_connection_try_publish(struct bridge_connection *c, const char *topic,
                              const void *payload, size_t len, int *mid);

/* Publishes not yet acknowledged by the broker. */
size_t bridge_connection_unacknowledged(const struct bridge_connection *c);

bool bridge_connection_is_up(const struct bridge_connection *c);

/* Disconnects (the broker keeps the session) and frees everything. */
void bridge_connection_close(struct bridge_connection *c);

#endif
