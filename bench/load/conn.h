/*
 * One MQTT 3.1.1 connection of the generator over a non-blocking socket.
 * Received packets are parsed straight from the loop's shared receive
 * buffer; only a packet cut by the end of a read is kept per connection, so
 * ten thousand idle connections cost a few bytes each. QoS 1 publishes are
 * acknowledged in the same turn, in the connection's next write.
 */
#ifndef LOAD_CONN_H
#define LOAD_CONN_H

#include "buffer.h"
#include "mqtt.h"

#include <stdbool.h>

struct load_conn;
struct load_loop;

/* What the owner of a connection hears about. Every pointer is required. */
struct load_conn_events {
	void (*connack)(struct load_conn *c, int code);
	void (*suback)(struct load_conn *c, unsigned packet_id, int granted);
	void (*publish)(struct load_conn *c, const struct mqtt_publish *m);
	void (*puback)(struct load_conn *c, unsigned packet_id);
	/* The socket closed; expected is true after load_conn_disconnect. */
	void (*closed)(struct load_conn *c, bool expected);
};

struct load_conn {
	int fd;    /* -1 when closed */
	int index; /* the owner's number for it */
	void *owner;
	const struct load_conn_events *events;
	struct load_loop *loop;
	struct load_buffer partial; /* start of a packet not complete yet */
	struct load_buffer out;     /* bytes not sent yet */
	unsigned last_packet_id;
	bool flush_queued;
	bool write_armed;
	bool disconnecting;
};

/* Opens a connection to 127.0.0.1:port and queues the CONNECT. The other
 * fields (index, owner, events) must be set first. Returns 0 or -1. */
int load_conn_open(struct load_conn *c, struct load_loop *loop, int port,
                   const struct mqtt_connect *params);

/* The next packet id (1-65535, wrapping). */
unsigned load_conn_next_id(struct load_conn *c);

/* Queue packets; they are sent at the end of the loop's turn. */
int load_conn_subscribe(struct load_conn *c, const char *filter,
                        unsigned *packet_id);
int load_conn_publish(struct load_conn *c, const char *topic,
                      const void *payload, size_t len, unsigned *packet_id);

/* Queues DISCONNECT; the socket is closed once the broker closes it. */
int load_conn_disconnect(struct load_conn *c);

/* Closes the socket at once, without DISCONNECT. */
void load_conn_close(struct load_conn *c);

/* Frees the buffers of a closed connection. */
void load_conn_free(struct load_conn *c);

/* Called by the loop. */
void load_conn_on_readable(struct load_conn *c, unsigned char *scratch,
                           size_t size);
void load_conn_on_writable(struct load_conn *c);
int load_conn_flush(struct load_conn *c);

#endif
