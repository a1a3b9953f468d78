/*
 * The MQTT test client: a libmosquitto connection with its network thread
 * (mosquitto_loop_start) and an inbox of everything it receives. The
 * callbacks run on the network thread and only record; tests wait on the
 * condition variable.
 */
#include "internal.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CONNECT_TIMEOUT_MS 5000
#define KEEPALIVE_S        30

static void lock_init(struct test_client *c)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &attr);
	pthread_condattr_destroy(&attr);
}

static void add_ack_locked(struct test_client *c, int mid, int value)
{
	if (c->ack_count == c->ack_capacity) {
		size_t n = c->ack_capacity ? c->ack_capacity * 2 : 64;
		struct test_ack *bigger = realloc(c->acks, n * sizeof(*bigger));

		if (bigger == NULL)
			return;
		c->acks = bigger;
		c->ack_capacity = n;
	}
	c->acks[c->ack_count].mid = mid;
	c->acks[c->ack_count].value = value;
	c->ack_count++;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	struct test_client *c = obj;
	char filter[TEST_ID_MAX + 16];
	int mid = 0;

	(void)props;
	/* The library is called before taking our lock, never under it. */
	if (rc == 0 && c->subscribe_inbox) {
		snprintf(filter, sizeof(filter), TEST_PREFIX "/u/%s/#",
		         c->user);
		mosquitto_subscribe(mosq, &mid, filter, 1);
	}
	pthread_mutex_lock(&c->lock);
	c->connack = rc;
	c->connected = rc == 0;
	c->session_present = rc == 0 && (flags & 0x01);
	if (rc == 0) {
		c->stop_on_refusal = false;
		c->inbox_mid = mid;
		if (!c->subscribe_inbox)
			c->ready_count++;
	}
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	/* A refused first connect ends the network thread instead of
	 * retrying; later refusals (a server restarting) are retried. */
	if (rc != 0 && c->stop_on_refusal)
		mosquitto_disconnect(mosq);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
	struct test_client *c = obj;

	(void)mosq;
	(void)rc;
	(void)props;
	pthread_mutex_lock(&c->lock);
	c->connected = false;
	c->disconnects++;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count,
                         const int *granted, const mosquitto_property *props)
{
	struct test_client *c = obj;
	int value = count > 0 ? granted[0] : -1;

	(void)mosq;
	(void)props;
	pthread_mutex_lock(&c->lock);
	if (mid == c->inbox_mid) {
		if (value >= 0 && value < 0x80)
			c->ready_count++;
		else
			test_log("%s: inbox subscription refused (0x%02x)",
			         c->client_id, value);
		c->inbox_mid = 0;
	}
	add_ack_locked(c, mid, value);
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

static void on_unsubscribe(struct mosquitto *mosq, void *obj, int mid,
                           const mosquitto_property *props)
{
	struct test_client *c = obj;

	(void)mosq;
	(void)props;
	pthread_mutex_lock(&c->lock);
	add_ack_locked(c, mid, 0);
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
	struct test_client *c = obj;

	(void)mosq;
	(void)props;
	pthread_mutex_lock(&c->lock);
	add_ack_locked(c, mid, reason);
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	test_inbox_add(obj, msg->topic, msg->payload, msg->payloadlen, msg->qos,
	               msg->retain);
}

static void free_client(struct test_client *c)
{
	if (c->mosq)
		mosquitto_destroy(c->mosq);
	test_inbox_free(c);
	free(c->acks);
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct test_client *new_client(struct chat_server *srv,
                                      const struct test_client_options *o)
{
	struct test_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	lock_init(c);
	c->server = srv;
	c->mqtt_version = o->mqtt_version == 5 ? 5 : 4;
	c->subscribe_inbox = o->subscribe_inbox && o->user != NULL;
	c->connack = TEST_CONNACK_NONE;
	c->stop_on_refusal = true;
	snprintf(c->user, sizeof(c->user), "%s", o->user ? o->user : "");
	if (o->client_id)
		snprintf(c->client_id, sizeof(c->client_id), "%s",
		         o->client_id);
	else
		snprintf(c->client_id, sizeof(c->client_id), "%s-%d",
		         o->user ? o->user : "anonymous", ++srv->client_count);
	return c;
}

static int setup_mosquitto(struct test_client *c,
                           const struct test_client_options *o)
{
	int rc;

	c->mosq = mosquitto_new(c->client_id, !o->durable, c);
	if (c->mosq == NULL)
		return -1;
	if (c->mqtt_version == 5)
		mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION,
		                     MQTT_PROTOCOL_V5);
	rc = mosquitto_username_pw_set(c->mosq, o->user, o->password);
	if (rc != MOSQ_ERR_SUCCESS) {
		test_log("libmosquitto refuses username \"%s\": %s",
		         o->user ? o->user : "", mosquitto_strerror(rc));
		return -1;
	}
	mosquitto_connect_v5_callback_set(c->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
	mosquitto_subscribe_v5_callback_set(c->mosq, on_subscribe);
	mosquitto_unsubscribe_v5_callback_set(c->mosq, on_unsubscribe);
	mosquitto_publish_v5_callback_set(c->mosq, on_publish);
	mosquitto_message_v5_callback_set(c->mosq, on_message);
	mosquitto_reconnect_delay_set(c->mosq, 1, 1, false);
	return 0;
}

static void register_client(struct chat_server *srv, struct test_client *c)
{
	for (int i = 0; i < CHAT_SERVER_MAX_CLIENTS; i++) {
		if (srv->clients[i] == NULL) {
			srv->clients[i] = c;
			return;
		}
	}
	test_log("more than %d clients: %s is not closed at stop",
	         CHAT_SERVER_MAX_CLIENTS, c->client_id);
}

static void unregister_client(struct test_client *c)
{
	for (int i = 0; c->server && i < CHAT_SERVER_MAX_CLIENTS; i++) {
		if (c->server->clients[i] == c)
			c->server->clients[i] = NULL;
	}
}

/* The CONNACK code, TEST_CONNACK_NONE when the connection closed first,
 * TEST_CONNACK_IO on timeout. */
static int wait_connack(struct test_client *c, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int rc;

	pthread_mutex_lock(&c->lock);
	while (c->connack == TEST_CONNACK_NONE && c->disconnects == 0 &&
	       test_now_ms() < deadline)
		test_client_timed_wait_locked(c, deadline);
	rc = c->connack;
	if (rc == TEST_CONNACK_NONE && c->disconnects == 0)
		rc = TEST_CONNACK_IO;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int test_client_connect(struct chat_server *srv,
                        const struct test_client_options *opts,
                        struct test_client **out)
{
	struct test_client *c = new_client(srv, opts);
	int timeout = test_timeout_ms(CONNECT_TIMEOUT_MS);
	int rc = TEST_CONNACK_IO;

	*out = NULL;
	if (c == NULL)
		return TEST_CONNACK_IO;
	if (setup_mosquitto(c, opts) != 0 ||
	    mosquitto_connect(c->mosq, "127.0.0.1", srv->port, KEEPALIVE_S) !=
	        MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(c->mosq) != MOSQ_ERR_SUCCESS) {
		free_client(c);
		return TEST_CONNACK_IO;
	}
	rc = wait_connack(c, timeout);
	if (rc == 0 && test_client_wait_ready(c, 1, timeout) != 0) {
		test_log("%s: accepted but not ready (inbox subscription)",
		         c->client_id);
		rc = TEST_CONNACK_IO;
	}
	if (rc != 0) {
		test_client_close(c);
		return rc;
	}
	register_client(srv, c);
	*out = c;
	return 0;
}

int test_client_try_connect(struct chat_server *srv, const char *user,
                            const char *password, int mqtt_version)
{
	struct test_client_options o = {0};
	struct test_client *c = NULL;
	int rc;

	o.user = user;
	o.password = password;
	o.mqtt_version = mqtt_version;
	rc = test_client_connect(srv, &o, &c);
	if (c != NULL)
		test_client_close(c);
	return rc;
}

struct test_client *test_client_connect_user(struct chat_server *srv,
                                             const char *user,
                                             const char *token)
{
	struct test_client_options o = {0};
	struct test_client *c = NULL;
	int rc;

	o.user = user;
	o.password = token;
	o.subscribe_inbox = true;
	rc = test_client_connect(srv, &o, &c);
	if (rc != 0)
		test_log("%s could not connect: CONNACK %d", user, rc);
	return c;
}

int test_client_wait_ready(struct test_client *c, int count, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	bool ready;

	pthread_mutex_lock(&c->lock);
	while (c->ready_count < count && test_now_ms() < deadline)
		test_client_timed_wait_locked(c, deadline);
	ready = c->ready_count >= count;
	pthread_mutex_unlock(&c->lock);
	return ready ? 0 : -1;
}

bool test_client_connected(struct test_client *c)
{
	bool connected;

	pthread_mutex_lock(&c->lock);
	connected = c->connected;
	pthread_mutex_unlock(&c->lock);
	return connected;
}

bool test_client_session_present(struct test_client *c)
{
	bool present;

	pthread_mutex_lock(&c->lock);
	present = c->session_present;
	pthread_mutex_unlock(&c->lock);
	return present;
}

int test_client_disconnects(struct test_client *c)
{
	int n;

	pthread_mutex_lock(&c->lock);
	n = c->disconnects;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void test_client_close(struct test_client *c)
{
	unregister_client(c);
	mosquitto_disconnect(c->mosq);
	mosquitto_loop_stop(c->mosq, false);
	free_client(c);
}

void test_client_drop(struct test_client *c)
{
	int fd = mosquitto_socket(c->mosq);

	unregister_client(c);
	/* The broker sees the connection end without a DISCONNECT; the
	 * DISCONNECT queued below only stops the network thread. */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	mosquitto_disconnect(c->mosq);
	mosquitto_loop_stop(c->mosq, false);
	free_client(c);
}
