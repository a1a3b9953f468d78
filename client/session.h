/*
 * One MQTT connection of the client, driven from the caller's thread: no
 * library thread, no callbacks into the rest of the client. Everything that
 * arrives is queued in order of arrival; the client takes out what it is
 * waiting for (a response by its id, a file chunk) and processes the rest
 * (messages, events) when it is ready to. A lost connection is re-made
 * with a growing pause, and the inbox subscription renewed on every
 * connect (the broker may have lost the session).
 */
#ifndef CHAT_CLIENT_SESSION_H
#define CHAT_CLIENT_SESSION_H

#include "ids.h"
#include "topics.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct mosquitto;

/* Where a publish arrived. */
enum client_inbox {
	CLIENT_IN_MSG,     /* chat/u/{me}/msg */
	CLIENT_IN_RESP,    /* chat/u/{me}/resp */
	CLIENT_IN_EVENT,   /* chat/u/{me}/event */
	CLIENT_IN_BLOB,    /* chat/u/{me}/blob */
	CLIENT_IN_CHANNEL, /* chat/c/{convo} */
};

struct client_incoming {
	struct client_incoming *next;
	enum client_inbox kind;
	char *topic;
	char *payload; /* NUL-terminated copy; may hold binary data */
	size_t len;
	cJSON *json; /* parsed on demand, see client_incoming_json */
	bool retain;
};

#define CLIENT_SESSION_ERROR_MAX 512

struct client_session {
	struct mosquitto *mosq;
	struct chat_topics topics;
	char user[CHAT_ID_MAX + 1];
	char host[256];
	int port;
	bool durable; /* clean session off: the broker queues while away */
	char inbox_filter[CHAT_TOPIC_MAX + 2];
	char inbox_prefix[CHAT_TOPIC_MAX];

	bool connected; /* CONNACK accepted, not disconnected since */
	bool ready;     /* connected and the inbox subscription granted */
	bool refused;   /* credentials refused: never retried */
	bool started;   /* a connection was attempted */
	int inbox_mid;
	unsigned generation; /* counts connections that became ready */
	long long next_attempt_ms;
	int backoff_ms;

	/* Arrived and not yet taken, oldest first. */
	struct client_incoming *head, *tail;
	size_t queued;

	/* QoS 1 publishes the broker has not acknowledged yet. */
	int *unacked;
	size_t unacked_count, unacked_cap;

	/* Further filters renewed on every connect (broadcast
	 * conversations). */
	char **filters;
	size_t filter_count;

	char error[CLIENT_SESSION_ERROR_MAX];
};

/* Outcomes of client_session_request. */
enum client_request_result {
	CLIENT_REQUEST_OK = 0,      /* "ok":true; *resp set */
	CLIENT_REQUEST_REFUSED = 1, /* "ok":false; *resp set, see code */
	CLIENT_REQUEST_FAILED = -1, /* no answer in time, or no connection */
};

/* Once per process, before any session. */
int client_session_library_init(void);

int client_session_init(struct client_session *s, const char *host, int port,
                        const char *user, const char *token,
                        const char *client_id, bool durable);

/* Disconnects cleanly (after the broker acknowledged what it could) and
 * frees everything. */
void client_session_destroy(struct client_session *s);

/* Connects and waits until the inbox subscription is granted. Returns 0,
 * or -1 with s->error (s->refused for bad credentials). */
int client_session_connect(struct client_session *s, int timeout_ms);

/*
 * Runs the network for at most timeout_ms, returning early once something
 * arrived or the connection changed state; reconnects when it is down.
 * Returns 0, or -1 when the session cannot go on (credentials refused).
 */
int client_session_pump(struct client_session *s, int timeout_ms);

/* QoS 1 unless qos is 0. Queued by libmosquitto when disconnected. */
int client_session_publish(struct client_session *s, const char *topic,
                           const void *payload, size_t len, int qos);

/* Publishes a JSON object, QoS 1. */
int client_session_publish_json(struct client_session *s, const char *topic,
                                const cJSON *obj);

/* Waits until the broker acknowledged every QoS 1 publish so far. */
int client_session_drain(struct client_session *s, int timeout_ms);

/* Subscribes filter (QoS 1) now and on every later connect. */
int client_session_add_filter(struct client_session *s, const char *filter);

/*
 * Sends a request on chat/req and waits for its answer. A fresh request
 * id is set unless req has one. The request is sent again after a
 * reconnect or when no answer came for a while (with the same id), and
 * after a retryable refusal (busy, rate_limited, unavailable) with a new
 * id. *resp (caller frees) receives the answer for OK and REFUSED.
 */
enum client_request_result client_session_request(struct client_session *s,
                                                  cJSON *req, int timeout_ms,
                                                  cJSON **resp);

/* The error code of a refused answer, "" when there is none. */
const char *client_response_code(const cJSON *resp);
const char *client_response_message(const cJSON *resp);

/* The first queued entry for which match returns true, taken out of the
 * queue (caller frees), or NULL. match may be NULL for any entry. */
struct client_incoming *
client_session_take(struct client_session *s,
                    bool (*match)(struct client_incoming *e, void *ctx),
                    void *ctx);

/* The payload parsed as exactly one JSON value (cached), or NULL. */
cJSON *client_incoming_json(struct client_incoming *e);

void client_incoming_free(struct client_incoming *e);

/* A fresh request or message id: prefix + 24 hex digits. */
void client_new_id(const char *prefix, char *out, size_t outlen);

#endif
