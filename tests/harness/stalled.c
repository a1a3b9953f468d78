/*
 * A device that hangs: it connects, subscribes to its inbox and then never
 * reads its socket again, so that the broker's writes to it block and its
 * messages pile up on the broker's side. Its receive buffer is cut small
 * so that this happens after a few kilobytes rather than megabytes.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SUBSCRIBE 0x82
#define SUBACK    0x90
#define PACKET_ID 1

static int read_byte(int fd, uint8_t *byte, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int left = (int)(deadline - test_now_ms());
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		n = read(fd, byte, 1);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

/* Reads packets until a SUBACK; returns its first granted QoS, or -1. */
static int wait_suback(int fd, long long deadline)
{
	for (;;) {
		uint8_t first, byte = 0, granted = 0x80;
		size_t remaining = 0, shift = 0;

		if (read_byte(fd, &first, deadline) != 0)
			return -1;
		do {
			if (read_byte(fd, &byte, deadline) != 0)
				return -1;
			remaining |= (size_t)(byte & 0x7f) << shift;
			shift += 7;
		} while ((byte & 0x80) && shift < 28);
		for (size_t i = 0; i < remaining; i++) {
			if (read_byte(fd, &byte, deadline) != 0)
				return -1;
			if (i == 2)
				granted = byte;
		}
		if ((first & 0xf0) == SUBACK)
			return granted;
	}
}

int test_stalled_subscriber(struct raw_mqtt *r, int port, const char *user,
                            const char *token, const char *client_id,
                            int receive_buffer)
{
	char filter[TEST_ID_MAX + 16];
	struct test_packet b = {0};
	uint8_t qos = 1;
	int rc;

	rc = raw_mqtt_connect(r, port, client_id, user, token, strlen(token),
	                      true, test_timeout_ms(5000));
	if (rc != 0) {
		test_log("stalled subscriber %s: CONNACK %d", client_id, rc);
		return -1;
	}
	setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer,
	           sizeof(receive_buffer));
	snprintf(filter, sizeof(filter), TEST_PREFIX "/u/%s/#", user);
	test_packet_put_u16(&b, PACKET_ID);
	test_packet_put_string(&b, filter, strlen(filter));
	test_packet_put_bytes(&b, &qos, 1);
	rc = test_packet_send(r->fd, SUBSCRIBE, &b);
	free(b.data);
	if (rc == 0)
		rc = wait_suback(r->fd, test_now_ms() + test_timeout_ms(5000));
	if (rc != 1) {
		test_log("stalled subscriber %s: SUBACK %d", client_id, rc);
		raw_mqtt_drop(r);
		return -1;
	}
	return 0;
}
