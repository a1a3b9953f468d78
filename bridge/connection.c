#include "connection.h"

#include "db.h"
#include "log.h"
#include "service_token.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEPALIVE_SECONDS 30
#define BACKOFF_MIN_MS    100
#define BACKOFF_MAX_MS    2000
/* While the broker stays unreachable, say so this often, not per try. */
#define DOWN_REMINDER_MS 30000
#define HELLO            "{\"version\":1}"

struct bridge_connection {
	struct mosquitto *mosq;
	const struct chat_topics *topics;
	char address[96]; /* host:port, for the log */
	bridge_delivery_fn deliver;
	bridge_acknowledged_fn acknowledged;
	void *ctx;
	bool up;                    /* CONNACK accepted, not lost since */
	bool attempt_failed;        /* the current attempt was noted down */
	int backoff_ms;             /* wait before the next attempt */
	long long next_attempt_ms;  /* 0: try at once */
	long long down_since_ms;    /* 0 while up */
	long long last_reminder_ms; /* of a warning while down */
	size_t unacknowledged;
	const struct chat_options *opts; /* service account and token file */
};

static void sleep_ms(long long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	/* A signal cuts the sleep short; the caller looks at its flag. */
	nanosleep(&ts, NULL);
}

/* Notes a failure to connect or a loss; logs the first one of a down
 * period as a warning and then only a reminder now and then. */
static void note_down(struct bridge_connection *c, const char *what,
                      const char *why)
{
	long long now = chat_monotonic_ms();

	c->attempt_failed = true;
	if (c->down_since_ms == 0) {
		c->down_since_ms = now;
		c->last_reminder_ms = now;
		bridge_warning("%s broker %s (%s); retrying", what, c->address,
		               why);
	} else if (now - c->last_reminder_ms >= DOWN_REMINDER_MS) {
		c->last_reminder_ms = now;
		bridge_warning("still no connection to broker %s after %lld s "
		               "(%s)",
		               c->address, (now - c->down_since_ms) / 1000,
		               why);
	} else {
		bridge_debug("%s broker %s (%s)", what, c->address, why);
	}
	c->next_attempt_ms = now + c->backoff_ms;
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	struct bridge_connection *c = obj;
	int mid;

	(void)props;
	if (rc != 0) {
		note_down(c, "connection refused by",
		          mosquitto_reason_string(rc));
		return;
	}
	c->up = true;
	c->backoff_ms = BACKOFF_MIN_MS;
	if (c->down_since_ms != 0)
		bridge_info("connected to broker %s after %lld ms down (%s)",
		            c->address, chat_monotonic_ms() - c->down_since_ms,
		            flags & 1 ? "session resumed" : "new session");
	else
		bridge_info("connected to broker %s (%s)", c->address,
		            flags & 1 ? "session resumed" : "new session");
	c->down_since_ms = 0;
	/* The plugin accepts sends from its users only after this. */
	if (mosquitto_publish_v5(mosq, &mid, c->topics->bridge_hello,
	                         (int)strlen(HELLO), HELLO, 1, false,
	                         NULL) == MOSQ_ERR_SUCCESS)
		c->unacknowledged++;
	else
		bridge_error("could not publish the hello");
}

/* Disconnect codes are library errors, or MQTT 5 reason codes (0x80 and
 * above) when the broker sent a DISCONNECT. */
static const char *describe_loss(int rc)
{
	return rc >= 0x80 ? mosquitto_reason_string(rc)
	                  : mosquitto_strerror(rc);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
	struct bridge_connection *c = obj;

	(void)mosq;
	(void)props;
	if (c->up) {
		c->up = false;
		note_down(c, "lost the connection to", describe_loss(rc));
	} else if (!c->attempt_failed) {
		/* Closed before any CONNACK: back off all the same. */
		note_down(c, "no session with", describe_loss(rc));
	}
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
	struct bridge_connection *c = obj;

	(void)mosq;
	(void)props;
	c->deliver(c->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int rc,
                       const mosquitto_property *props)
{
	struct bridge_connection *c = obj;

	(void)mosq;
	(void)props;
	if (rc >= 0x80)
		bridge_warning("the broker refused a publish: %s",
		               mosquitto_reason_string(rc));
	if (c->unacknowledged > 0)
		c->unacknowledged--;
	c->acknowledged(c->ctx, mid, rc < 0x80);
}

static void on_library_log(struct mosquitto *mosq, void *obj, int level,
                           const char *text)
{
	(void)mosq;
	(void)obj;
	(void)level;
	bridge_debug("mqtt: %s", text);
}

static int configure(struct bridge_connection *c,
                     const struct chat_options *opts, const char *password)
{
	int rc;

	mosquitto_connect_v5_callback_set(c->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(c->mosq, on_message);
	mosquitto_publish_v5_callback_set(c->mosq, on_publish);
	if (bridge_log_debug_enabled())
		mosquitto_log_callback_set(c->mosq, on_library_log);
	rc = mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	                          MQTT_PROTOCOL_V5);
	/* Announcements are small and latency is what they are for: no
	 * waiting for more bytes to fill a segment. */
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_username_pw_set(c->mosq, opts->service_user,
		                               password);
	return rc;
}

/* First attempt; it also records the address and CONNECT properties that
 * every later mosquitto_reconnect() reuses. */
static int connect_first(struct bridge_connection *c, const char *host,
                         int port)
{
	mosquitto_property *props = NULL;
	int rc;

	/* The broker keeps the session, and the hand-offs queued in it, for
	 * as long as the bridge is away. */
	rc = mosquitto_property_add_int32(
	    &props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, UINT32_MAX);
	if (rc != MOSQ_ERR_SUCCESS)
		return rc;
	rc = mosquitto_connect_bind_v5(c->mosq, host, port, KEEPALIVE_SECONDS,
	                               NULL, props);
	mosquitto_property_free_all(&props);
	return rc;
}

/* Errors that no retry can fix: bad arguments to the library. */
static bool is_permanent(int rc)
{
	return rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM ||
	       rc == MOSQ_ERR_NOT_SUPPORTED || rc == MOSQ_ERR_MALFORMED_UTF8;
}

int bridge_connection_open(const struct chat_options *opts,
                           const struct chat_topics *topics, const char *host,
                           int port, const char *password,
                           bridge_delivery_fn deliver,
                           bridge_acknowledged_fn acknowledged, void *ctx,
                           struct bridge_connection **out)
{
	struct bridge_connection *c = calloc(1, sizeof(*c));
	int rc = MOSQ_ERR_NOMEM;

	if (c == NULL)
		goto fail;
	c->topics = topics;
	c->opts = opts;
	c->deliver = deliver;
	c->acknowledged = acknowledged;
	c->ctx = ctx;
	c->backoff_ms = BACKOFF_MIN_MS;
	snprintf(c->address, sizeof(c->address), "%s:%d", host, port);
	/* Clean start off: the broker keeps the session between runs. */
	c->mosq = mosquitto_new(opts->service_client_id, false, c);
	if (c->mosq == NULL)
		goto fail;
	rc = configure(c, opts, password);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = connect_first(c, host, port);
	if (is_permanent(rc))
		goto fail;
	if (rc != MOSQ_ERR_SUCCESS)
		note_down(c, "cannot connect to",
		          rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                               : mosquitto_strerror(rc));
	*out = c;
	return 0;
fail:
	bridge_error("cannot set up the MQTT client for %s:%d: %s", host, port,
	             mosquitto_strerror(rc));
	bridge_connection_close(c);
	return -1;
}

/* `chatctl init` may have issued a new token since the last attempt. */
static void refresh_password(struct bridge_connection *c)
{
	char password[512];

	if (bridge_read_service_token(c->opts->service_token_file, password,
	                              sizeof(password)) == 0)
		mosquitto_username_pw_set(c->mosq, c->opts->service_user,
		                          password);
	memset(password, 0, sizeof(password));
}

static void reconnect(struct bridge_connection *c, int timeout_ms)
{
	long long wait = c->next_attempt_ms - chat_monotonic_ms();
	int rc;

	if (wait > 0) {
		sleep_ms(wait < timeout_ms ? wait : timeout_ms);
		return;
	}
	c->attempt_failed = false;
	refresh_password(c);
	rc = mosquitto_reconnect(c->mosq);
	if (rc != MOSQ_ERR_SUCCESS)
		note_down(c, "cannot connect to",
		          rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                               : mosquitto_strerror(rc));
}

void bridge_connection_poll(struct bridge_connection *c, int timeout_ms)
{
	int rc;

	if (mosquitto_socket(c->mosq) < 0) {
		reconnect(c, timeout_ms);
		return;
	}
	/* Losses are reported through the disconnect callback, which also
	 * schedules the next attempt. */
	rc = mosquitto_loop(c->mosq, timeout_ms, 1);
	if (rc == MOSQ_ERR_SUCCESS || mosquitto_socket(c->mosq) < 0)
		return;
	/* select() itself failed; do not spin on it. */
	bridge_debug("mqtt loop: %s", mosquitto_strerror(rc));
	sleep_ms(timeout_ms);
}

int bridge_connection_publish(struct bridge_connection *c, const char *topic,
                              const void *payload, size_t len)
{
	int rc;

	if (len > INT32_MAX) {
		bridge_error("not publishing %zu bytes on %s: too large", len,
		             topic);
		return -1;
	}
	rc = mosquitto_publish_v5(c->mosq, NULL, topic, (int)len, payload, 1,
	                          false, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		bridge_error("could not publish %zu bytes on %s: %s", len,
		             topic, mosquitto_strerror(rc));
		return -1;
	}
	c->unacknowledged++;
	return 0;
}

enum bridge_publish_status
bridge_connection_try_publish(struct bridge_connection *c, const char *topic,
                              const void *payload, size_t len, int *mid)
{
	int rc;

	*mid = 0;
	if (!c->up)
		return BRIDGE_PUBLISH_LATER;
	if (len > INT32_MAX) {
		bridge_error("not publishing %zu bytes on %s: too large", len,
		             topic);
		return BRIDGE_PUBLISH_FAILED;
	}
	rc = mosquitto_publish_v5(c->mosq, mid, topic, (int)len, payload, 1,
	                          false, NULL);
	/*
	 * libmosquitto gives a publish its mid as it takes it into its queue.
	 * A connection failing at that moment leaves it there, to be sent
	 * again after the reconnect: it is in flight all the same.
	 */
	if (rc == MOSQ_ERR_SUCCESS || (*mid != 0 && rc != MOSQ_ERR_NOMEM)) {
		if (rc != MOSQ_ERR_SUCCESS)
			bridge_debug("publish on %s queued for the reconnect: "
			             "%s",
			             topic, mosquitto_strerror(rc));
		c->unacknowledged++;
		return BRIDGE_PUBLISH_SENT;
	}
	if (rc == MOSQ_ERR_NOMEM)
		return BRIDGE_PUBLISH_LATER;
	bridge_error("could not publish %zu bytes on %s: %s", len, topic,
	             mosquitto_strerror(rc));
	return BRIDGE_PUBLISH_FAILED;
}

size_t bridge_connection_unacknowledged(const struct bridge_connection *c)
{
	return c->unacknowledged;
}

bool bridge_connection_is_up(const struct bridge_connection *c)
{
	return c->up;
}

void bridge_connection_close(struct bridge_connection *c)
{
	if (c == NULL)
		return;
	if (c->mosq != NULL) {
		bool was_up = c->up;

		/* A disconnect we ask for is no loss to report. */
		c->up = false;
		c->attempt_failed = true;
		if (was_up)
			mosquitto_disconnect_v5(c->mosq, 0, NULL);
		mosquitto_destroy(c->mosq);
	}
	free(c);
}
