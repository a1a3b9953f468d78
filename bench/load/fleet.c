#include "fleet.h"

#include "loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLEET_KEEPALIVE_S 60
#define FLEET_PING_EVERY  (200 * 1000000LL)
#define FLEET_TURN_MS     10

static struct load_fleet *fleet_of(struct load_conn *c)
{
	return c->owner;
}

static struct load_client *client_of(struct load_conn *c)
{
	return &fleet_of(c)->clients[c->index];
}

static void fail_client(struct load_fleet *f, struct load_client *cl,
                        const char *why, int code)
{
	if (cl->state == LOAD_CLIENT_FAILED)
		return;
	fprintf(stderr, "chat-load: client %s: %s (%d)\n", cl->client_id, why,
	        code);
	if (cl->state == LOAD_CLIENT_READY)
		f->ready--;
	else if (cl->state != LOAD_CLIENT_DOWN)
		f->handshakes--;
	cl->state = LOAD_CLIENT_FAILED;
	f->failed++;
}

static void set_ready(struct load_fleet *f, struct load_client *cl)
{
	cl->state = LOAD_CLIENT_READY;
	f->handshakes--;
	f->ready++;
}

static void on_connack(struct load_conn *c, int code)
{
	struct load_fleet *f = fleet_of(c);
	struct load_client *cl = client_of(c);

	if (code != 0) {
		fail_client(f, cl, "connection refused", code);
		load_conn_close(c);
		return;
	}
	if (cl->filter[0] == '\0') {
		set_ready(f, cl);
		return;
	}
	cl->state = LOAD_CLIENT_SUBSCRIBING;
	if (load_conn_subscribe(c, cl->filter, &cl->subscribe_id) != 0)
		fail_client(f, cl, "out of memory", 0);
}

static void on_suback(struct load_conn *c, unsigned packet_id, int granted)
{
	struct load_fleet *f = fleet_of(c);
	struct load_client *cl = client_of(c);

	if (cl->state != LOAD_CLIENT_SUBSCRIBING ||
	    packet_id != cl->subscribe_id)
		return;
	if (granted == 0 || granted == 1)
		set_ready(f, cl);
	else
		fail_client(f, cl, "subscription refused", granted);
}

static bool ends_with(const struct mqtt_publish *m, const char *suffix)
{
	size_t n = strlen(suffix);

	return m->topic_len >= n &&
	       memcmp(m->topic + m->topic_len - n, suffix, n) == 0;
}

static bool payload_has(const struct mqtt_publish *m, const char *needle)
{
	return memmem(m->payload, m->payload_len, needle, strlen(needle)) !=
	       NULL;
}

/* The readiness ping's answer; true when m was it. */
static bool take_ping_answer(struct load_fleet *f, const struct mqtt_publish *m)
{
	char needle[64];

	if (f->ping_id[0] == '\0' || !ends_with(m, "/resp"))
		return false;
	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", f->ping_id);
	if (!payload_has(m, needle))
		return false;
	f->ping_state = payload_has(m, "\"ok\":true") ? 1 : -1;
	return true;
}

static void report_event(struct load_fleet *f, const struct mqtt_publish *m)
{
	if (f->error_events++ < 5)
		fprintf(stderr, "chat-load: error event: %.*s\n",
		        (int)(m->payload_len > 300 ? 300 : m->payload_len),
		        m->payload);
}

static void on_publish(struct load_conn *c, const struct mqtt_publish *m)
{
	struct load_fleet *f = fleet_of(c);

	if (take_ping_answer(f, m))
		return;
	if (ends_with(m, "/event")) {
		if (!f->handlers || !f->handlers->event ||
		    !f->handlers->event(f->scenario, client_of(c), m))
			report_event(f, m);
		return;
	}
	if (f->handlers && f->handlers->message)
		f->handlers->message(f->scenario, client_of(c), m);
}

static void on_puback(struct load_conn *c, unsigned packet_id)
{
	struct load_fleet *f = fleet_of(c);

	if (f->handlers && f->handlers->puback)
		f->handlers->puback(f->scenario, client_of(c), packet_id);
}

static void on_closed(struct load_conn *c, bool expected)
{
	struct load_fleet *f = fleet_of(c);
	struct load_client *cl = client_of(c);

	if (expected) {
		cl->state = LOAD_CLIENT_DOWN;
		f->ready--;
		return;
	}
	fail_client(f, cl, "connection lost", 0);
}

static const struct load_conn_events fleet_events = {
    .connack = on_connack,
    .suback = on_suback,
    .publish = on_publish,
    .puback = on_puback,
    .closed = on_closed,
};

int load_fleet_init(struct load_fleet *f, struct load_loop *loop, int port,
                    int count)
{
	*f = (struct load_fleet){.loop = loop, .port = port, .count = count};
	f->clients = calloc((size_t)count, sizeof(*f->clients));
	if (f->clients == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		struct load_client *cl = &f->clients[i];

		cl->conn.fd = -1;
		cl->conn.index = i;
		cl->conn.owner = f;
		cl->conn.events = &fleet_events;
		cl->clean_session = true;
	}
	return 0;
}

void load_fleet_free(struct load_fleet *f)
{
	for (int i = 0; f->clients && i < f->count; i++)
		load_conn_free(&f->clients[i].conn);
	free(f->clients);
	f->clients = NULL;
}

void load_fleet_name(struct load_fleet *f, int i, const char *user,
                     const char *filter, const char *token)
{
	struct load_client *cl = &f->clients[i];

	snprintf(cl->user, sizeof(cl->user), "%s", user);
	snprintf(cl->client_id, sizeof(cl->client_id), "%s-load", user);
	snprintf(cl->filter, sizeof(cl->filter), "%s", filter ? filter : "");
	cl->token = token;
}

static int start_client(struct load_fleet *f, struct load_client *cl)
{
	struct mqtt_connect params = {
	    .client_id = cl->client_id,
	    .user = cl->user,
	    .password = cl->token,
	    .clean_session = cl->clean_session,
	    .keepalive = FLEET_KEEPALIVE_S,
	};

	cl->state = LOAD_CLIENT_CONNECTING;
	f->handshakes++;
	if (load_conn_open(&cl->conn, f->loop, f->port, &params) != 0) {
		fail_client(f, cl, "cannot open a socket", 0);
		return -1;
	}
	return 0;
}

struct connect_goal {
	struct load_fleet *fleet;
	int end;      /* one past the last client to connect */
	int parallel; /* handshakes at a time */
	int target;   /* ready clients once all of them are */
};

/* Starts handshakes up to the limit; true once every client is ready. */
static bool connect_step(void *arg)
{
	struct connect_goal *g = arg;
	struct load_fleet *f = g->fleet;

	while (f->handshakes < g->parallel && f->next_start < g->end &&
	       f->failed == 0)
		start_client(f, &f->clients[f->next_start++]);
	return f->ready >= g->target || f->failed > 0;
}

int load_fleet_connect(struct load_fleet *f, int first, int count, int parallel,
                       int timeout_ms)
{
	struct connect_goal g = {f, first + count, parallel, f->ready + count};

	f->next_start = first;
	if (load_fleet_run_until(f, connect_step, &g, timeout_ms) != 0 ||
	    f->failed > 0) {
		fprintf(stderr,
		        "chat-load: %d of %d clients ready, %d failed\n",
		        f->ready, g.target, f->failed);
		return -1;
	}
	return 0;
}

static bool client_down(void *arg)
{
	return ((struct load_client *)arg)->state != LOAD_CLIENT_READY;
}

int load_fleet_disconnect(struct load_fleet *f, int i, int timeout_ms)
{
	struct load_client *cl = &f->clients[i];

	if (load_conn_disconnect(&cl->conn) != 0)
		return -1;
	return load_fleet_run_until(f, client_down, cl, timeout_ms);
}

static int send_ping(struct load_fleet *f, struct load_client *cl, int n)
{
	char body[96];
	unsigned id;

	snprintf(f->ping_id, sizeof(f->ping_id), "load-ready-%d", n);
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"op\":\"ping\"}",
	         f->ping_id);
	f->ping_state = 0;
	return load_conn_publish(&cl->conn, "chat/req", body, strlen(body),
	                         &id);
}

int load_fleet_await_service(struct load_fleet *f, int i, int timeout_ms)
{
	long long deadline = f->loop->now_ns + timeout_ms * 1000000LL;
	long long next_ping = 0;
	int attempts = 0;

	while (f->ping_state != 1 && f->loop->now_ns < deadline) {
		if (f->clients[i].state != LOAD_CLIENT_READY)
			break;
		if (f->loop->now_ns >= next_ping) {
			if (send_ping(f, &f->clients[i], ++attempts) != 0)
				break;
			next_ping = f->loop->now_ns + FLEET_PING_EVERY;
		}
		if (load_loop_turn(f->loop, FLEET_TURN_MS) != 0)
			break;
	}
	f->ping_id[0] = '\0';
	if (f->ping_state == 1)
		return 0;
	fprintf(stderr, "chat-load: the chat server does not answer pings\n");
	return -1;
}

int load_fleet_run_until(struct load_fleet *f, bool (*done)(void *arg),
                         void *arg, int timeout_ms)
{
	long long deadline = load_now_ns() + timeout_ms * 1000000LL;

	while (!done(arg)) {
		if (f->loop->now_ns >= deadline)
			return -1;
		if (load_loop_turn(f->loop, FLEET_TURN_MS) != 0)
			return -1;
	}
	return 0;
}
