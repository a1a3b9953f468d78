#include "conn.h"

#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_socket(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* Small packets must leave at once, as a client library sends them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int load_conn_open(struct load_conn *c, struct load_loop *loop, int port,
                   const struct mqtt_connect *params)
{
	c->loop = loop;
	c->partial.len = 0;
	c->out.len = 0;
	c->disconnecting = false;
	c->flush_queued = false;
	c->fd = open_socket(port);
	if (c->fd < 0)
		return -1;
	/* Watched for writing too: the CONNECT goes once the socket is up. */
	if (load_loop_watch(loop, c) != 0 ||
	    mqtt_put_connect(&c->out, params) != 0) {
		load_conn_close(c);
		return -1;
	}
	return 0;
}

unsigned load_conn_next_id(struct load_conn *c)
{
	c->last_packet_id = c->last_packet_id % 65535 + 1;
	return c->last_packet_id;
}

int load_conn_subscribe(struct load_conn *c, const char *filter,
                        unsigned *packet_id)
{
	*packet_id = load_conn_next_id(c);
	if (mqtt_put_subscribe(&c->out, *packet_id, filter, 1) != 0)
		return -1;
	return load_loop_queue_flush(c->loop, c);
}

int load_conn_publish(struct load_conn *c, const char *topic,
                      const void *payload, size_t len, unsigned *packet_id)
{
	*packet_id = load_conn_next_id(c);
	if (mqtt_put_publish(&c->out, topic, *packet_id, payload, len) != 0)
		return -1;
	return load_loop_queue_flush(c->loop, c);
}

int load_conn_disconnect(struct load_conn *c)
{
	if (mqtt_put_empty(&c->out, MQTT_DISCONNECT) != 0)
		return -1;
	c->disconnecting = true;
	return load_loop_queue_flush(c->loop, c);
}

void load_conn_close(struct load_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->write_armed = false;
}

void load_conn_free(struct load_conn *c)
{
	load_conn_close(c);
	load_buffer_free(&c->partial);
	load_buffer_free(&c->out);
}

static void lose(struct load_conn *c)
{
	bool expected = c->disconnecting;

	load_conn_close(c);
	if (!expected)
		c->loop->lost++;
	c->events->closed(c, expected);
}

static int handle_publish(struct load_conn *c, const struct mqtt_packet *p)
{
	struct mqtt_publish m;

	if (mqtt_read_publish(p, &m) != 0)
		return -1;
	if (m.qos == 1 && (mqtt_put_puback(&c->out, m.packet_id) != 0 ||
	                   load_loop_queue_flush(c->loop, c) != 0))
		return -1;
	c->events->publish(c, &m);
	return 0;
}

static int handle_packet(struct load_conn *c, const struct mqtt_packet *p)
{
	switch (p->type) {
	case MQTT_CONNACK:
		c->events->connack(c, p->len >= 2 ? p->body[1] : -1);
		return 0;
	case MQTT_SUBACK:
		c->events->suback(c, mqtt_read_packet_id(p),
		                  p->len >= 3 ? p->body[2] : -1);
		return 0;
	case MQTT_PUBLISH:
		return handle_publish(c, p);
	case MQTT_PUBACK:
		c->events->puback(c, mqtt_read_packet_id(p));
		return 0;
	case MQTT_PINGRESP:
		return 0;
	default:
		return -1;
	}
}

/* Handles every complete packet of data; returns the bytes used or -1. */
static long handle_packets(struct load_conn *c, const unsigned char *data,
                           size_t len)
{
	size_t used = 0;

	while (used < len && c->fd >= 0) {
		struct mqtt_packet p;
		long n = mqtt_next(data + used, len - used, &p);

		if (n == 0)
			break;
		if (n < 0 || handle_packet(c, &p) != 0)
			return -1;
		used += (size_t)n;
	}
	return (long)used;
}

/* New bytes continue a kept partial packet, or are parsed in place. */
static int take_bytes(struct load_conn *c, const unsigned char *data,
                      size_t len)
{
	long used;

	if (c->partial.len > 0) {
		if (load_buffer_append(&c->partial, data, len) != 0)
			return -1;
		used = handle_packets(c, c->partial.data, c->partial.len);
		if (used < 0)
			return -1;
		load_buffer_consume(&c->partial, (size_t)used);
		return 0;
	}
	used = handle_packets(c, data, len);
	if (used < 0)
		return -1;
	if ((size_t)used < len && c->fd >= 0)
		return load_buffer_append(&c->partial, data + used,
		                          len - (size_t)used);
	return 0;
}

void load_conn_on_readable(struct load_conn *c, unsigned char *scratch,
                           size_t size)
{
	ssize_t n = recv(c->fd, scratch, size, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lose(c);
		return;
	}
	if (take_bytes(c, scratch, (size_t)n) != 0) {
		fprintf(stderr, "chat-load: connection %d: bad MQTT data\n",
		        c->index);
		c->disconnecting = false;
		lose(c);
	}
}

void load_conn_on_writable(struct load_conn *c)
{
	load_conn_flush(c);
}

int load_conn_flush(struct load_conn *c)
{
	ssize_t n;

	if (c->out.len == 0)
		return 0;
	n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return load_loop_want_write(c->loop, c, true);
	if (n < 0) {
		lose(c);
		return -1;
	}
	load_buffer_consume(&c->out, (size_t)n);
	return load_loop_want_write(c->loop, c, c->out.len > 0);
}
