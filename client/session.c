#include "session.h"

#include "db.h"
#include "json.h"
#include "text.h"
#include "token.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEPALIVE_S      30
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS   5000
/* A request without an answer this long is sent again (same id). */
#define REQUEST_RESEND_MS 8000
/* The pause before retrying a request refused as busy or rate limited. */
#define REQUEST_RETRY_MS 1000
#define PUMP_SLICE_MS    100

static bool library_ready;

int client_session_library_init(void)
{
	if (library_ready)
		return 0;
	if (chat_crypto_init() != 0 || mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		return -1;
	library_ready = true;
	return 0;
}

void client_new_id(const char *prefix, char *out, size_t outlen)
{
	chat_random_id(prefix, out, outlen);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the incoming queue ---- */

void client_incoming_free(struct client_incoming *e)
{
	if (e == NULL)
		return;
	cJSON_Delete(e->json);
	free(e->topic);
	free(e->payload);
	free(e);
}

cJSON *client_incoming_json(struct client_incoming *e)
{
	if (e->json == NULL && e->len > 0 &&
	    chat_utf8_valid(e->payload, e->len))
		e->json = chat_json_parse_exact(e->payload, e->len);
	return e->json;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Which queue kind a topic is, or -1 for topics the client ignores
 * (typing, presence). */
static int classify(const struct client_session *s, const char *topic)
{
	if (starts_with(topic, s->inbox_prefix)) {
		const char *kind = topic + strlen(s->inbox_prefix);

		if (strcmp(kind, "msg") == 0)
			return CLIENT_IN_MSG;
		if (strcmp(kind, "resp") == 0)
			return CLIENT_IN_RESP;
		if (strcmp(kind, "event") == 0)
			return CLIENT_IN_EVENT;
		if (strcmp(kind, "blob") == 0)
			return CLIENT_IN_BLOB;
		return -1;
	}
	if (starts_with(topic, s->topics.channel_prefix))
		return CLIENT_IN_CHANNEL;
	return -1;
}

static void enqueue(struct client_session *s,
                    const struct mosquitto_message *msg, int kind)
{
	struct client_incoming *e = calloc(1, sizeof(*e));
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	if (e == NULL)
		return;
	e->kind = (enum client_inbox)kind;
	e->topic = strdup(msg->topic);
	e->payload = malloc(len + 1);
	if (e->topic == NULL || e->payload == NULL) {
		client_incoming_free(e);
		return;
	}
	if (len > 0)
		memcpy(e->payload, msg->payload, len);
	e->payload[len] = '\0';
	e->len = len;
	e->retain = msg->retain;
	if (s->tail != NULL)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	s->queued++;
}

struct client_incoming *
client_session_take(struct client_session *s,
                    bool (*match)(struct client_incoming *e, void *ctx),
                    void *ctx)
{
	struct client_incoming *prev = NULL;

	for (struct client_incoming *e = s->head; e != NULL; e = e->next) {
		if (match != NULL && !match(e, ctx)) {
			prev = e;
			continue;
		}
		if (prev != NULL)
			prev->next = e->next;
		else
			s->head = e->next;
		if (s->tail == e)
			s->tail = prev;
		e->next = NULL;
		s->queued--;
		return e;
	}
	return NULL;
}

/* ---- libmosquitto callbacks ---- */

static void subscribe_all(struct client_session *s)
{
	mosquitto_subscribe(s->mosq, &s->inbox_mid, s->inbox_filter, 1);
	for (size_t i = 0; i < s->filter_count; i++)
		mosquitto_subscribe(s->mosq, NULL, s->filters[i], 1);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct client_session *s = obj;

	(void)mosq;
	if (rc != 0) {
		snprintf(s->error, sizeof(s->error),
		         "the server refused the connection: %s",
		         mosquitto_connack_string(rc));
		/* 4: bad user name or password, 5: not authorized. */
		s->refused = rc == 4 || rc == 5;
		return;
	}
	s->connected = true;
	subscribe_all(s);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct client_session *s = obj;

	(void)mosq;
	(void)rc;
	s->connected = false;
	s->ready = false;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count,
                         const int *granted)
{
	struct client_session *s = obj;

	(void)mosq;
	if (mid != s->inbox_mid)
		return;
	if (count < 1 || granted[0] > 2) {
		snprintf(s->error, sizeof(s->error),
		         "the server refused the subscription to %s",
		         s->inbox_filter);
		s->refused = true;
		return;
	}
	s->ready = true;
	s->generation++;
	s->backoff_ms = BACKOFF_FIRST_MS;
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *msg)
{
	struct client_session *s = obj;
	int kind = classify(s, msg->topic);

	(void)mosq;
	if (kind >= 0)
		enqueue(s, msg, kind);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct client_session *s = obj;

	(void)mosq;
	for (size_t i = 0; i < s->unacked_count; i++) {
		if (s->unacked[i] == mid) {
			s->unacked[i] = s->unacked[--s->unacked_count];
			return;
		}
	}
}

/* ---- life cycle ---- */

int client_session_init(struct client_session *s, const char *host, int port,
                        const char *user, const char *token,
                        const char *client_id, bool durable)
{
	memset(s, 0, sizeof(*s));
	chat_topics_init(&s->topics, "chat");
	snprintf(s->user, sizeof(s->user), "%s", user);
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->port = port;
	s->durable = durable;
	s->backoff_ms = BACKOFF_FIRST_MS;
	snprintf(s->inbox_prefix, sizeof(s->inbox_prefix), "%s%s/",
	         s->topics.inbox_prefix, user);
	snprintf(s->inbox_filter, sizeof(s->inbox_filter), "%s#",
	         s->inbox_prefix);
	if (client_session_library_init() != 0) {
		snprintf(s->error, sizeof(s->error), "cannot initialise");
		return -1;
	}
	s->mosq = mosquitto_new(client_id, !durable, s);
	if (s->mosq == NULL || mosquitto_username_pw_set(
	                           s->mosq, user, token) != MOSQ_ERR_SUCCESS) {
		snprintf(s->error, sizeof(s->error),
		         "cannot create the MQTT client");
		mosquitto_destroy(s->mosq);
		s->mosq = NULL;
		return -1;
	}
	mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	                     MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(s->mosq, on_connect);
	mosquitto_disconnect_callback_set(s->mosq, on_disconnect);
	mosquitto_subscribe_callback_set(s->mosq, on_subscribe);
	mosquitto_message_callback_set(s->mosq, on_message);
	mosquitto_publish_callback_set(s->mosq, on_publish);
	return 0;
}

void client_session_destroy(struct client_session *s)
{
	struct client_incoming *e;

	if (s->mosq != NULL) {
		if (s->connected) {
			mosquitto_disconnect(s->mosq);
			/* Lets the DISCONNECT packet go out. */
			for (int i = 0; i < 5 && s->connected; i++)
				mosquitto_loop(s->mosq, 20, 1);
		}
		mosquitto_destroy(s->mosq);
		s->mosq = NULL;
	}
	while ((e = client_session_take(s, NULL, NULL)) != NULL)
		client_incoming_free(e);
	for (size_t i = 0; i < s->filter_count; i++)
		free(s->filters[i]);
	free(s->filters);
	free(s->unacked);
	s->filters = NULL;
	s->filter_count = 0;
	s->unacked = NULL;
	s->unacked_count = s->unacked_cap = 0;
}

static void schedule_reconnect(struct client_session *s)
{
	s->next_attempt_ms = monotonic_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
	                                                   : s->backoff_ms * 2;
}

int client_session_connect(struct client_session *s, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;
	int rc;

	s->started = true;
	rc = mosquitto_connect(s->mosq, s->host, s->port, KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(s->error, sizeof(s->error),
		         "cannot connect to %s:%d: %s", s->host, s->port,
		         rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                              : mosquitto_strerror(rc));
		schedule_reconnect(s);
		return -1;
	}
	while (!s->ready) {
		if (client_session_pump(s, PUMP_SLICE_MS) != 0)
			return -1;
		if (monotonic_ms() > deadline) {
			snprintf(s->error, sizeof(s->error),
			         "no answer from %s:%d", s->host, s->port);
			return -1;
		}
	}
	return 0;
}

/* Tries to connect again when the pause after the last failure is over;
 * otherwise waits out (part of) the pause. */
static void reconnect_when_due(struct client_session *s, int timeout_ms)
{
	long long wait = s->next_attempt_ms - monotonic_ms();

	if (wait > 0) {
		sleep_ms(wait < timeout_ms ? (int)wait : timeout_ms);
		return;
	}
	if (mosquitto_reconnect(s->mosq) != MOSQ_ERR_SUCCESS)
		schedule_reconnect(s);
}

int client_session_pump(struct client_session *s, int timeout_ms)
{
	int rc;

	if (s->refused)
		return -1;
	if (!s->started) {
		snprintf(s->error, sizeof(s->error), "not connected");
		return -1;
	}
	if (mosquitto_socket(s->mosq) < 0) {
		reconnect_when_due(s, timeout_ms);
		return s->refused ? -1 : 0;
	}
	rc = mosquitto_loop(s->mosq, timeout_ms, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		s->connected = false;
		s->ready = false;
		schedule_reconnect(s);
	}
	return s->refused ? -1 : 0;
}

int client_session_publish(struct client_session *s, const char *topic,
                           const void *payload, size_t len, int qos)
{
	int mid = 0, *grown;

	if (len > INT32_MAX)
		return -1;
	if (mosquitto_publish(s->mosq, &mid, topic, (int)len, payload, qos,
	                      false) != MOSQ_ERR_SUCCESS)
		return -1;
	if (qos == 0)
		return 0;
	if (s->unacked_count == s->unacked_cap) {
		size_t cap = s->unacked_cap ? s->unacked_cap * 2 : 16;

		grown = realloc(s->unacked, cap * sizeof(*grown));
		if (grown == NULL)
			return 0; /* only drain loses track of it */
		s->unacked = grown;
		s->unacked_cap = cap;
	}
	s->unacked[s->unacked_count++] = mid;
	return 0;
}

int client_session_publish_json(struct client_session *s, const char *topic,
                                const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	int rc;

	if (text == NULL)
		return -1;
	rc = client_session_publish(s, topic, text, strlen(text), 1);
	free(text);
	return rc;
}

int client_session_drain(struct client_session *s, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;

	while (s->unacked_count > 0) {
		if (monotonic_ms() > deadline ||
		    client_session_pump(s, PUMP_SLICE_MS) != 0)
			return -1;
	}
	return 0;
}

int client_session_add_filter(struct client_session *s, const char *filter)
{
	char **grown;

	for (size_t i = 0; i < s->filter_count; i++)
		if (strcmp(s->filters[i], filter) == 0)
			return 0;
	grown = realloc(s->filters, (s->filter_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	s->filters = grown;
	s->filters[s->filter_count] = strdup(filter);
	if (s->filters[s->filter_count] == NULL)
		return -1;
	s->filter_count++;
	if (s->connected)
		mosquitto_subscribe(s->mosq, NULL, filter, 1);
	return 0;
}

/* ---- requests ---- */

const char *client_response_code(const cJSON *resp)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(resp, "error");
	const char *code = client_json_string(error, "code");

	return code ? code : "";
}

const char *client_response_message(const cJSON *resp)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(resp, "error");
	const char *message = client_json_string(error, "message");

	return message ? message : client_response_code(resp);
}

static bool is_response_to(struct client_incoming *e, void *ctx)
{
	const char *id;

	if (e->kind != CLIENT_IN_RESP)
		return false;
	id = client_json_string(client_incoming_json(e), "id");
	return id != NULL && strcmp(id, ctx) == 0;
}

static bool retryable(const char *code)
{
	return strcmp(code, "busy") == 0 || strcmp(code, "rate_limited") == 0 ||
	       strcmp(code, "unavailable") == 0;
}

/* Sets req's "id" to a fresh one and copies it into id. */
static int fresh_request_id(cJSON *req, char *id, size_t idlen)
{
	cJSON *item;

	client_new_id("r", id, idlen);
	item = cJSON_CreateString(id);
	if (item == NULL)
		return -1;
	if (cJSON_HasObjectItem(req, "id"))
		return cJSON_ReplaceItemInObjectCaseSensitive(req, "id", item)
		           ? 0
		           : -1;
	return cJSON_AddItemToObject(req, "id", item) ? 0 : -1;
}

/* Takes the answer when it is there: 1 done, 0 keep waiting, or a retry
 * asked for by *retry_at. */
static int check_answer(struct client_session *s, const char *id, cJSON **resp,
                        enum client_request_result *result, long long *retry_at)
{
	struct client_incoming *e =
	    client_session_take(s, is_response_to, (void *)id);

	if (e == NULL)
		return 0;
	if (client_json_true(client_incoming_json(e), "ok")) {
		*result = CLIENT_REQUEST_OK;
	} else if (retryable(client_response_code(e->json))) {
		*retry_at = monotonic_ms() + REQUEST_RETRY_MS;
		client_incoming_free(e);
		return 0;
	} else {
		*result = CLIENT_REQUEST_REFUSED;
	}
	*resp = e->json;
	e->json = NULL;
	client_incoming_free(e);
	return *resp != NULL ? 1 : 0;
}

enum client_request_result client_session_request(struct client_session *s,
                                                  cJSON *req, int timeout_ms,
                                                  cJSON **resp)
{
	enum client_request_result result = CLIENT_REQUEST_FAILED;
	long long deadline = monotonic_ms() + timeout_ms;
	long long sent_at = 0, retry_at = 0;
	unsigned sent_generation = 0;
	char id[CHAT_CMID_MAX + 1];
	const char *given = client_json_string(req, "id");

	*resp = NULL;
	if (given != NULL && chat_valid_request_id(given))
		snprintf(id, sizeof(id), "%s", given);
	else if (fresh_request_id(req, id, sizeof(id)) != 0)
		return CLIENT_REQUEST_FAILED;
	while (monotonic_ms() < deadline) {
		long long now = monotonic_ms();

		if (retry_at != 0 && now >= retry_at) {
			/* Nothing was accepted: a new request, new id. */
			if (fresh_request_id(req, id, sizeof(id)) != 0)
				return CLIENT_REQUEST_FAILED;
			retry_at = 0;
			sent_at = 0;
		}
		if (s->ready && retry_at == 0 &&
		    (sent_at == 0 || sent_generation != s->generation ||
		     now - sent_at > REQUEST_RESEND_MS)) {
			if (client_session_publish_json(s, s->topics.request,
			                                req) != 0)
				return CLIENT_REQUEST_FAILED;
			sent_at = now;
			sent_generation = s->generation;
		}
		if (client_session_pump(s, PUMP_SLICE_MS) != 0)
			return CLIENT_REQUEST_FAILED;
		if (check_answer(s, id, resp, &result, &retry_at) == 1)
			return result;
	}
	snprintf(s->error, sizeof(s->error), "no answer to %s in time",
	         client_json_string(req, "op") ? client_json_string(req, "op")
	                                       : "a request");
	return CLIENT_REQUEST_FAILED;
}
