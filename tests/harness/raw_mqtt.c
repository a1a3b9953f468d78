/*
 * A minimal MQTT 3.1.1 client on a plain socket. libmosquitto chooses its
 * own packet ids and decides itself when to retransmit; a test that needs a
 * genuine retransmit (same packet id, DUP set) writes the packets here.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEEPALIVE_S 60
#define CONNACK     0x20
#define PUBLISH     0x30
#define PUBACK      0x40
#define DISCONNECT  0xe0

void test_packet_put_bytes(struct test_packet *b, const void *p, size_t n)
{
	if (b->len + n > b->capacity) {
		size_t cap = (b->len + n) * 2 + 64;
		uint8_t *bigger = realloc(b->data, cap);

		if (bigger == NULL)
			return;
		b->data = bigger;
		b->capacity = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void test_packet_put_u16(struct test_packet *b, unsigned v)
{
	uint8_t bytes[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	test_packet_put_bytes(b, bytes, 2);
}

void test_packet_put_string(struct test_packet *b, const void *s, size_t n)
{
	test_packet_put_u16(b, (unsigned)n);
	test_packet_put_bytes(b, s, n);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int test_packet_send(int fd, uint8_t first, const struct test_packet *body)
{
	uint8_t header[5];
	size_t n = 0, len = body->len;
	int rc;

	header[n++] = first;
	do {
		header[n] = (uint8_t)(len % 128);
		len /= 128;
		if (len > 0)
			header[n] |= 0x80;
		n++;
	} while (len > 0 && n < sizeof(header));
	rc = write_all(fd, header, n);
	if (rc == 0 && body->len > 0)
		rc = write_all(fd, body->data, body->len);
	return rc;
}

static int read_exact(int fd, uint8_t *p, size_t n, long long deadline)
{
	while (n > 0) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int left = (int)(deadline - test_now_ms());
		ssize_t got;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return TEST_CONNACK_IO;
		got = read(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return TEST_CONNACK_NONE; /* closed by the broker */
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Reads one packet: its first byte, and up to bodylen bytes of its body
 * (the rest is discarded). Returns 0, TEST_CONNACK_NONE or _IO. */
static int read_packet(struct raw_mqtt *r, uint8_t *first, uint8_t *body,
                       size_t bodylen, size_t *len, long long deadline)
{
	size_t remaining = 0, shift = 0;
	uint8_t byte = 0;
	int rc = read_exact(r->fd, first, 1, deadline);

	do {
		if (rc == 0)
			rc = read_exact(r->fd, &byte, 1, deadline);
		remaining += (size_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (rc == 0 && (byte & 0x80) && shift < 28);
	*len = remaining;
	for (size_t i = 0; rc == 0 && i < remaining; i++) {
		uint8_t scratch;

		rc = read_exact(r->fd, i < bodylen ? &body[i] : &scratch, 1,
		                deadline);
	}
	return rc;
}

int test_packet_open_socket(int port)
{
	struct sockaddr_in addr = {0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)port);
	if (fd >= 0 &&
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int test_packet_send_connect(int fd, const char *client_id, const char *user,
                             const void *password, size_t passlen,
                             bool clean_session, unsigned keepalive_s)
{
	struct test_packet b = {0};
	uint8_t flags = clean_session ? 0x02 : 0x00;
	int rc;

	flags |= user ? 0x80 : 0;
	flags |= password ? 0x40 : 0;
	test_packet_put_string(&b, "MQTT", 4);
	test_packet_put_bytes(&b, "\x04", 1);
	test_packet_put_bytes(&b, &flags, 1);
	test_packet_put_u16(&b, keepalive_s);
	test_packet_put_string(&b, client_id, strlen(client_id));
	if (user)
		test_packet_put_string(&b, user, strlen(user));
	if (password)
		test_packet_put_string(&b, password, passlen);
	rc = test_packet_send(fd, 0x10, &b);
	free(b.data);
	return rc;
}

int raw_mqtt_connect(struct raw_mqtt *r, int port, const char *client_id,
                     const char *user, const void *password, size_t passlen,
                     bool clean_session, int timeout_ms)
{
	uint8_t first, body[4];
	size_t len;
	int rc;

	r->fd = test_packet_open_socket(port);
	if (r->fd < 0)
		return TEST_CONNACK_IO;
	rc = test_packet_send_connect(r->fd, client_id, user, password, passlen,
	                              clean_session, KEEPALIVE_S) == 0
	         ? 0
	         : TEST_CONNACK_IO;
	if (rc == 0)
		rc = read_packet(r, &first, body, sizeof(body), &len,
		                 test_now_ms() + timeout_ms);
	if (rc == 0 && ((first & 0xf0) != CONNACK || len != 2))
		rc = TEST_CONNACK_IO;
	if (rc == 0)
		rc = body[1];
	if (rc != 0)
		raw_mqtt_drop(r);
	return rc;
}

int raw_mqtt_publish(struct raw_mqtt *r, const char *topic, const void *payload,
                     size_t len, int qos, unsigned packet_id, bool dup)
{
	struct test_packet b = {0};
	uint8_t first = (uint8_t)(PUBLISH | (dup ? 0x08 : 0) | (qos << 1));
	int rc;

	test_packet_put_string(&b, topic, strlen(topic));
	if (qos > 0)
		test_packet_put_u16(&b, packet_id);
	test_packet_put_bytes(&b, payload, len);
	rc = test_packet_send(r->fd, first, &b);
	free(b.data);
	return rc;
}

int raw_mqtt_wait_puback(struct raw_mqtt *r, unsigned packet_id, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	uint8_t first, body[4];
	size_t len;

	while (read_packet(r, &first, body, sizeof(body), &len, deadline) ==
	       0) {
		if ((first & 0xf0) == PUBACK && len == 2 &&
		    ((unsigned)body[0] << 8 | body[1]) == packet_id)
			return 0;
	}
	return -1;
}

void raw_mqtt_disconnect(struct raw_mqtt *r)
{
	struct test_packet empty = {0};

	if (r->fd < 0)
		return;
	test_packet_send(r->fd, DISCONNECT, &empty);
	raw_mqtt_drop(r);
}

void raw_mqtt_drop(struct raw_mqtt *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}
