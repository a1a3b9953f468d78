/*
 * Many MQTT 3.1.1 connections driven from the test's own thread. A thread
 * per connection (libmosquitto's loop_start) does not scale to a channel
 * of thousands of members, so here every socket is read by one poll() loop
 * that acknowledges QoS 1 publishes and keeps what arrived. Sockets block
 * for writing (packets the fleet sends are small) and are read without
 * blocking.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Connections whose CONNACK is awaited at once: below the broker's listen
 * backlog, so no connect waits for a SYN retry. */
#define WAVE           100
#define KEEPALIVE_S    300
#define SEND_TIMEOUT_S 5
#define READ_CHUNK     65536
/* File descriptors the process needs besides the fleet's sockets. */
#define SPARE_FILES 256

#define CONNACK   0x20
#define PUBLISH   0x30
#define PUBACK    0x40
#define SUBSCRIBE 0x82
#define SUBACK    0x90

struct fleet_conn {
	int fd; /* -1 once closed */
	char user[TEST_ID_MAX];
	int connack; /* -1 while waiting */
	int suback;  /* granted QoS of the last SUBACK, -1 none */
	unsigned subacks_pending;
	unsigned next_packet_id;
	unsigned char *in; /* bytes read, not yet a whole packet */
	size_t in_len, in_capacity;
	struct test_fleet_publish *received;
	size_t count, capacity;
};

struct test_fleet {
	struct chat_server *srv;
	struct fleet_conn *conns;
	size_t count, capacity;
	struct pollfd *pfds;
	unsigned char *chunk;
};

/* Raises the soft limit on open files to what count sockets (and those of
 * the broker, which inherits the limit) need, within the hard limit. */
static int raise_file_limit(size_t count)
{
	rlim_t want = (rlim_t)count * 2 + SPARE_FILES;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		test_log("a fleet of %zu needs %llu open files; the hard "
		         "limit is %llu",
		         count, (unsigned long long)want,
		         (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static void register_fleet(struct chat_server *srv, struct test_fleet *f)
{
	for (int i = 0; i < CHAT_SERVER_MAX_FLEETS; i++) {
		if (srv->fleets[i] == NULL) {
			srv->fleets[i] = f;
			return;
		}
	}
	test_log("more than %d fleets: one is not closed at stop",
	         CHAT_SERVER_MAX_FLEETS);
}

struct test_fleet *test_fleet_new(struct chat_server *srv, size_t capacity)
{
	struct test_fleet *f;

	if (raise_file_limit(capacity) != 0)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->srv = srv;
	f->capacity = capacity;
	f->conns = calloc(capacity, sizeof(*f->conns));
	f->pfds = calloc(capacity, sizeof(*f->pfds));
	f->chunk = malloc(READ_CHUNK);
	if (f->conns == NULL || f->pfds == NULL || f->chunk == NULL) {
		test_fleet_free(f);
		return NULL;
	}
	register_fleet(srv, f);
	return f;
}

static void close_conn(struct fleet_conn *c)
{
	struct test_packet empty = {0};

	if (c->fd >= 0) {
		test_packet_send(c->fd, 0xe0, &empty); /* DISCONNECT */
		close(c->fd);
	}
	c->fd = -1;
	for (size_t k = 0; k < c->count; k++) {
		free(c->received[k].topic);
		free(c->received[k].payload);
	}
	free(c->received);
	free(c->in);
}

void test_fleet_free(struct test_fleet *f)
{
	if (f == NULL)
		return;
	for (int i = 0; f->srv && i < CHAT_SERVER_MAX_FLEETS; i++) {
		if (f->srv->fleets[i] == f)
			f->srv->fleets[i] = NULL;
	}
	for (size_t i = 0; i < f->count; i++)
		close_conn(&f->conns[i]);
	free(f->conns);
	free(f->pfds);
	free(f->chunk);
	free(f);
}

size_t test_fleet_size(const struct test_fleet *f)
{
	return f->count;
}

/* ---- reading ---- */

static void keep_publish(struct fleet_conn *c, const char *topic,
                         size_t topic_len, const unsigned char *payload,
                         size_t len)
{
	struct test_fleet_publish *p;

	if (c->count == c->capacity) {
		size_t n = c->capacity ? c->capacity * 2 : 8;
		void *bigger = realloc(c->received, n * sizeof(*c->received));

		if (bigger == NULL)
			return;
		c->received = bigger;
		c->capacity = n;
	}
	p = &c->received[c->count];
	p->topic = strndup(topic, topic_len);
	p->payload = malloc(len + 1);
	if (p->topic == NULL || p->payload == NULL) {
		free(p->topic);
		free(p->payload);
		return;
	}
	memcpy(p->payload, payload, len);
	p->payload[len] = '\0';
	p->received_ms = test_now_ms();
	c->count++;
}

static void handle_publish(struct fleet_conn *c, uint8_t first,
                           const unsigned char *body, size_t len)
{
	int qos = (first >> 1) & 3;
	size_t topic_len, used;
	unsigned packet_id = 0;

	if (len < 2)
		return;
	topic_len = (size_t)body[0] << 8 | body[1];
	used = 2 + topic_len + (qos > 0 ? 2 : 0);
	if (used > len)
		return;
	if (qos > 0)
		packet_id =
		    (unsigned)body[2 + topic_len] << 8 | body[3 + topic_len];
	keep_publish(c, (const char *)body + 2, topic_len, body + used,
	             len - used);
	if (qos == 1) {
		struct test_packet ack = {0};

		test_packet_put_u16(&ack, packet_id);
		test_packet_send(c->fd, PUBACK, &ack);
		free(ack.data);
	}
}

static void handle_packet(struct fleet_conn *c, uint8_t first,
                          const unsigned char *body, size_t len)
{
	switch (first & 0xf0) {
	case CONNACK:
		if (len >= 2)
			c->connack = body[1];
		break;
	case SUBACK:
		if (len >= 3)
			c->suback = body[2];
		if (c->subacks_pending > 0)
			c->subacks_pending--;
		break;
	case PUBLISH:
		handle_publish(c, first, body, len);
		break;
	default: /* PUBACK of our own publishes, PINGRESP */
		break;
	}
}

/* Handles every whole packet in the buffer; keeps the partial rest. */
static void parse_packets(struct fleet_conn *c)
{
	size_t at = 0;

	for (;;) {
		size_t remaining = 0, shift = 0, header = 1;
		bool complete = false;

		while (at + header < c->in_len && header <= 4) {
			uint8_t byte = c->in[at + header++];

			remaining |= (size_t)(byte & 0x7f) << shift;
			shift += 7;
			if (!(byte & 0x80)) {
				complete = true;
				break;
			}
		}
		if (!complete || at + header + remaining > c->in_len)
			break;
		handle_packet(c, c->in[at], c->in + at + header, remaining);
		at += header + remaining;
	}
	memmove(c->in, c->in + at, c->in_len - at);
	c->in_len -= at;
}

static int append_input(struct fleet_conn *c, const unsigned char *p, size_t n)
{
	if (c->in_len + n > c->in_capacity) {
		size_t cap = (c->in_len + n) * 2;
		unsigned char *bigger = realloc(c->in, cap);

		if (bigger == NULL)
			return -1;
		c->in = bigger;
		c->in_capacity = cap;
	}
	memcpy(c->in + c->in_len, p, n);
	c->in_len += n;
	return 0;
}

static void read_conn(struct test_fleet *f, struct fleet_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, f->chunk, READ_CHUNK, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0 || append_input(c, f->chunk, (size_t)n) != 0) {
			close(c->fd);
			c->fd = -1;
			break;
		}
		parse_packets(c);
	}
}

void test_fleet_pump(struct test_fleet *f, int ms)
{
	long long deadline = test_now_ms() + ms;
	int ready;

	do {
		for (size_t i = 0; i < f->count; i++) {
			f->pfds[i].fd = f->conns[i].fd;
			f->pfds[i].events = POLLIN;
			f->pfds[i].revents = 0;
		}
		ready = poll(f->pfds, f->count,
		             (int)(deadline > test_now_ms()
		                       ? deadline - test_now_ms()
		                       : 0));
		for (size_t i = 0; ready > 0 && i < f->count; i++) {
			if (f->pfds[i].revents != 0 && f->conns[i].fd >= 0)
				read_conn(f, &f->conns[i]);
		}
	} while (ready > 0 && test_now_ms() < deadline);
}

/* ---- connecting and subscribing ---- */

static int start_connect(struct test_fleet *f, const struct test_account *a)
{
	struct timeval timeout = {SEND_TIMEOUT_S, 0};
	struct fleet_conn *c = &f->conns[f->count];
	char client_id[TEST_ID_MAX + 16];

	memset(c, 0, sizeof(*c));
	c->connack = -1;
	c->suback = -1;
	c->next_packet_id = 1;
	snprintf(c->user, sizeof(c->user), "%s", a->user);
	snprintf(client_id, sizeof(client_id), "%s-fleet", a->user);
	c->fd = test_packet_open_socket(f->srv->port);
	if (c->fd < 0) {
		test_log("fleet: cannot connect %s", a->user);
		return -1;
	}
	f->count++;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	return test_packet_send_connect(c->fd, client_id, a->user, a->token,
	                                strlen(a->token), true, KEEPALIVE_S);
}

static size_t awaiting_connack(const struct test_fleet *f, size_t from)
{
	size_t n = 0;

	for (size_t i = from; i < f->count; i++)
		n += f->conns[i].fd >= 0 && f->conns[i].connack < 0;
	return n;
}

static int check_accepted(const struct test_fleet *f, size_t from)
{
	for (size_t i = from; i < f->count; i++) {
		if (f->conns[i].connack != 0) {
			test_log("fleet: %s not accepted (CONNACK %d)",
			         f->conns[i].user, f->conns[i].connack);
			return -1;
		}
	}
	return 0;
}

int test_fleet_connect(struct test_fleet *f, const struct test_account *a,
                       size_t count, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	size_t first = f->count;

	if (f->count + count > f->capacity)
		return -1;
	for (size_t done = 0; done < count;) {
		size_t wave_start = f->count;
		size_t wave = count - done < WAVE ? count - done : WAVE;

		for (size_t i = 0; i < wave; i++) {
			if (start_connect(f, &a[done + i]) != 0)
				return -1;
		}
		done += wave;
		while (awaiting_connack(f, wave_start) > 0 &&
		       test_now_ms() < deadline)
			test_fleet_pump(f, 20);
		if (check_accepted(f, wave_start) != 0)
			return -1;
	}
	return check_accepted(f, first);
}

int test_fleet_subscribe(struct test_fleet *f, size_t i, const char *filter)
{
	struct fleet_conn *c = &f->conns[i];
	struct test_packet b = {0};
	uint8_t qos = 1;
	int rc;

	if (c->fd < 0)
		return -1;
	test_packet_put_u16(&b, c->next_packet_id++);
	test_packet_put_string(&b, filter, strlen(filter));
	test_packet_put_bytes(&b, &qos, 1);
	rc = test_packet_send(c->fd, SUBSCRIBE, &b);
	free(b.data);
	if (rc == 0)
		c->subacks_pending++;
	return rc;
}

static size_t pending_subacks(const struct test_fleet *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->count; i++)
		n += f->conns[i].fd >= 0 ? f->conns[i].subacks_pending : 0;
	return n;
}

int test_fleet_wait_subacks(struct test_fleet *f, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	while (pending_subacks(f) > 0 && test_now_ms() < deadline)
		test_fleet_pump(f, 20);
	if (pending_subacks(f) == 0)
		return 0;
	test_log("fleet: %zu SUBACKs missing", pending_subacks(f));
	return -1;
}

int test_fleet_suback(const struct test_fleet *f, size_t i)
{
	return f->conns[i].suback;
}

int test_fleet_publish(struct test_fleet *f, size_t i, const char *topic,
                       const char *payload)
{
	struct fleet_conn *c = &f->conns[i];
	struct test_packet b = {0};
	int rc;

	if (c->fd < 0)
		return -1;
	test_packet_put_string(&b, topic, strlen(topic));
	test_packet_put_u16(&b, c->next_packet_id++);
	if (c->next_packet_id > 0xffff)
		c->next_packet_id = 1;
	test_packet_put_bytes(&b, payload, strlen(payload));
	rc = test_packet_send(c->fd, PUBLISH | 0x02, &b);
	free(b.data);
	return rc;
}

/* ---- what arrived ---- */

static bool every_one_has(const struct test_fleet *f, size_t each)
{
	for (size_t i = 0; i < f->count; i++) {
		if (f->conns[i].count < each)
			return false;
	}
	return true;
}

bool test_fleet_wait_each(struct test_fleet *f, size_t each, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	while (!every_one_has(f, each) && test_now_ms() < deadline)
		test_fleet_pump(f, 20);
	return every_one_has(f, each);
}

size_t test_fleet_count(const struct test_fleet *f, size_t i)
{
	return f->conns[i].count;
}

const struct test_fleet_publish *test_fleet_entry(const struct test_fleet *f,
                                                  size_t i, size_t k)
{
	return k < f->conns[i].count ? &f->conns[i].received[k] : NULL;
}

bool test_fleet_open(const struct test_fleet *f, size_t i)
{
	return f->conns[i].fd >= 0;
}
