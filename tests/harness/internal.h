/* Shared between the harness's own files; tests use harness.h only. */
#ifndef CHAT_TEST_INTERNAL_H
#define CHAT_TEST_INTERNAL_H

#include "harness.h"

#include <stdint.h>

/* Records one received publish (network thread). */
void test_inbox_add(struct test_client *c, const char *topic,
                    const void *payload, int len, int qos, bool retain);

/* Frees every recorded publish. */
void test_inbox_free(struct test_client *c);

/* pthread_cond_timedwait on c->changed until deadline (monotonic ms);
 * the caller holds c->lock. */
void test_client_timed_wait_locked(struct test_client *c, long long deadline);

/* Looks for an acknowledgement of mid; the caller holds c->lock. */
bool test_client_find_ack_locked(struct test_client *c, int mid, int *value);

/* Building MQTT packets by hand (raw_mqtt.c): a growing byte buffer. */
struct test_packet {
	uint8_t *data;
	size_t len, capacity;
};

void test_packet_put_bytes(struct test_packet *b, const void *p, size_t n);
void test_packet_put_u16(struct test_packet *b, unsigned v);
void test_packet_put_string(struct test_packet *b, const void *s, size_t n);

/* Writes a fixed header (type and flags, remaining length) and the body
 * to the socket. Returns 0 or -1. */
int test_packet_send(int fd, uint8_t first, const struct test_packet *body);

/* A TCP connection to 127.0.0.1:port (blocking), or -1. */
int test_packet_open_socket(int port);

/* Writes an MQTT 3.1.1 CONNECT; user and password may be NULL. */
int test_packet_send_connect(int fd, const char *client_id, const char *user,
                             const void *password, size_t passlen,
                             bool clean_session, unsigned keepalive_s);

#endif
