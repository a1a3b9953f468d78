/*
 * The few MQTT 3.1.1 packets the load generator needs, encoded into and
 * decoded from plain byte buffers. Reading whole socket buffers and parsing
 * them here costs one system call per batch of packets; libmosquitto reads
 * every packet with several one-byte reads and writes every acknowledgement
 * separately, which would make the generator as busy as the broker.
 */
#ifndef LOAD_MQTT_H
#define LOAD_MQTT_H

#include "buffer.h"

#include <stdbool.h>
#include <stddef.h>

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
};

/* One packet inside a receive buffer; body points into that buffer. */
struct mqtt_packet {
	int type;
	int flags; /* low nibble of the first byte */
	const unsigned char *body;
	size_t len;
};

struct mqtt_publish {
	const char *topic; /* not NUL-terminated */
	size_t topic_len;
	int qos;
	unsigned packet_id; /* 0 for QoS 0 */
	const char *payload;
	size_t payload_len;
};

struct mqtt_connect {
	const char *client_id;
	const char *user;     /* NULL: none */
	const char *password; /* NULL: none */
	bool clean_session;
	unsigned keepalive; /* seconds */
};

int mqtt_put_connect(struct load_buffer *b, const struct mqtt_connect *c);

/* One filter, requested QoS qos. */
int mqtt_put_subscribe(struct load_buffer *b, unsigned packet_id,
                       const char *filter, int qos);

/* A QoS 1 publish. */
int mqtt_put_publish(struct load_buffer *b, const char *topic,
                     unsigned packet_id, const void *payload, size_t len);

int mqtt_put_puback(struct load_buffer *b, unsigned packet_id);

/* PINGREQ or DISCONNECT: a packet with no body. */
int mqtt_put_empty(struct load_buffer *b, enum mqtt_type type);

/*
 * Finds the first packet in data. Returns the bytes it occupies, 0 when the
 * packet is not complete yet, or -1 when the bytes are not MQTT.
 */
long mqtt_next(const unsigned char *data, size_t len, struct mqtt_packet *out);

/* Splits a PUBLISH body. Returns 0 or -1 when it is malformed. */
int mqtt_read_publish(const struct mqtt_packet *p, struct mqtt_publish *out);

/* The packet id at the start of a PUBACK or SUBACK body, 0 if absent. */
unsigned mqtt_read_packet_id(const struct mqtt_packet *p);

#endif
