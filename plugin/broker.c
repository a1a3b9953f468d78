#include "broker.h"

#include "db.h"

#include <string.h>

/* The plugin's clock: CLOCK_MONOTONIC, so that a step of the wall clock
 * cannot stretch a wait, a back-off, a cache or a rate limit. Times that
 * clients see (a message's ts, last seen, typing) are this clock plus the
 * wall clock's offset from it, read at the same moment. (TICK's own time
 * fields are zero on mosquitto 2.0.11.) */
static long long now_ms(struct chat_plugin *p)
{
	long long mono = chat_monotonic_ms();

	p->wall_offset_ms = chat_now_ms() - mono;
	return mono;
}

void chat_broker_log(enum chat_log_level level, const char *line)
{
	static const int broker_level[] = {
		[CHAT_LOG_ERROR] = MOSQ_LOG_ERR,
		[CHAT_LOG_WARNING] = MOSQ_LOG_WARNING,
		[CHAT_LOG_NOTICE] = MOSQ_LOG_NOTICE,
		[CHAT_LOG_INFO] = MOSQ_LOG_INFO,
		[CHAT_LOG_DEBUG] = MOSQ_LOG_DEBUG,
	};

	mosquitto_log_printf(broker_level[level], "chat: %s", line);
}

/* A kick runs the DISCONNECT callback, and with it flush_outbox, from
 * inside this loop: work on a detached list. */
static void kick_clients(struct chat_plugin *p)
{
	struct chat_kicks kicks = p->kicks;

	memset(&p->kicks, 0, sizeof(p->kicks));
	for (size_t i = 0; i < kicks.count; i++)
		mosquitto_kick_client_by_clientid(kicks.client_ids[i], false);
	chat_kicks_clear(&kicks);
}

/* Hands every queued publish to the broker, which takes the payloads, and
 * closes the connections the logic asked to close. */
static void flush_outbox(struct chat_plugin *p)
{
	struct chat_publish *list = chat_outbox_take(&p->outbox), *pub;

	chat_direct_answers(p, list);
	for (pub = list; pub; pub = pub->next) {
		int rc = mosquitto_broker_publish(pub->client_id, pub->topic,
						  (int)pub->len, pub->payload,
						  pub->qos, pub->retain, NULL);

		if (rc == MOSQ_ERR_SUCCESS)
			pub->payload = NULL;
		else
			chat_log(&p->log, CHAT_LOG_ERROR,
				 "cannot publish on %s: %s", pub->topic,
				 mosquitto_strerror(rc));
	}
	chat_publish_free(list);
	if (p->kicks.count)
		kick_clients(p);
}

static void describe_client(struct chat_plugin *p, struct mosquitto *client,
			    struct chat_client_info *ci)
{
	ci->client = client;
	ci->client_id = mosquitto_client_id(client);
	ci->username = mosquitto_client_username(client);
	ci->address = mosquitto_client_address(client);
	/* An MQTT 5 session may outlive a clean start (session expiry), and
	 * the plugin API does not tell: treat every MQTT 5 session as one
	 * that may be resumed. */
	ci->clean_session = mosquitto_client_clean_session(client) &&
			    mosquitto_client_protocol_version(client) != 5;
	ci->now_ms = now_ms(p);
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct chat_plugin *p = userdata;
	struct chat_client_info ci;
	bool allowed;

	(void)event;
	describe_client(p, ed->client, &ci);
	ci.username = ed->username; /* not yet attached to the client */
	allowed = chat_on_auth(p, &ci, ed->password,
			       ed->password ? strlen(ed->password) : 0);
	flush_outbox(p);
	return allowed ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct chat_plugin *p = userdata;
	struct chat_acl_request req = {
		.username = mosquitto_client_username(ed->client),
		.client_id = mosquitto_client_id(ed->client),
		.topic = ed->topic,
		.retain = ed->retain,
		.payload = ed->payload,
		.payload_len = ed->payloadlen,
	};


	(void)event;
	switch (ed->access) {
	case MOSQ_ACL_READ:
		req.access = CHAT_ACCESS_READ;
		req.retain = false; /* a delivery's flag, not the client's */
		break;
	case MOSQ_ACL_WRITE:
		req.access = CHAT_ACCESS_WRITE;
		break;
	case MOSQ_ACL_SUBSCRIBE:
		req.access = CHAT_ACCESS_SUBSCRIBE;
		break;
	case MOSQ_ACL_UNSUBSCRIBE:
		req.access = CHAT_ACCESS_UNSUBSCRIBE;
		break;
	default:
		return MOSQ_ERR_ACL_DENIED;
	}
	/* Presence answers are cached for a while: they need the time. */
	if (req.access != CHAT_ACCESS_WRITE)
		req.now_ms = now_ms(p);
	return chat_on_acl(p, &req) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

/* Whether mosquitto should store and route a publish the plugin accepted.
 * Only the service account's replies go to subscribers. A client's
 * publish never does: the plugin has already dealt with it (hand-off,
 * receipt, request), and no client may subscribe to a topic clients
 * publish on, so storing and routing it is wasted work on every message.
 * The 2.0.11 message event cannot say "taken"; a denial is the only way
 * to skip that work, and to an MQTT 3.1.1 client, or at QoS 0, it is
 * answered exactly as an accepted publish (a plain PUBACK, or nothing).
 * An MQTT 5 client would see the denial's reason code in its PUBACK, and
 * QoS 2 takes a PUBREC's, so those take the long way. */
static bool needs_routing(const struct chat_plugin *p, const char *username,
			  const struct mosquitto_evt_message *ed)
{
	if (username != NULL && strcmp(username, p->opts.service_user) == 0)
		return true;
	if (ed->qos == 0)
		return false;
	return ed->qos == 2 ||
	       mosquitto_client_protocol_version(ed->client) == 5;
}

static int on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	struct chat_plugin *p = userdata;
	struct chat_client_info ci;
	bool allowed;

	(void)event;
	describe_client(p, ed->client, &ci);
	/* Nothing a client sends is ever kept as a retained message. */
	ed->retain = false;
	allowed = chat_on_message(p, &ci, ed->topic, ed->payload,
				  ed->payloadlen, now_ms(p));
	flush_outbox(p);
	if (!allowed || !needs_routing(p, ci.username, ed))
		return MOSQ_ERR_ACL_DENIED;
	return MOSQ_ERR_SUCCESS;
}

static int on_tick(int event, void *event_data, void *userdata)
{
	struct chat_plugin *p = userdata;

	(void)event;
	(void)event_data;
	chat_on_tick(p, now_ms(p));
	flush_outbox(p);
	return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ed = event_data;
	struct chat_plugin *p = userdata;
	struct chat_client_info ci;

	(void)event;
	describe_client(p, ed->client, &ci);
	chat_on_disconnect(p, &ci);
	flush_outbox(p);
	return MOSQ_ERR_SUCCESS;
}

static int on_reload(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	chat_on_reload(userdata);
	return MOSQ_ERR_SUCCESS;
}

struct registration {
	int event;
	MOSQ_FUNC_generic_callback callback;
};

static const struct registration registrations[] = {
	{MOSQ_EVT_BASIC_AUTH, on_basic_auth}, {MOSQ_EVT_ACL_CHECK, on_acl_check},
	{MOSQ_EVT_MESSAGE, on_message},	      {MOSQ_EVT_TICK, on_tick},
	{MOSQ_EVT_DISCONNECT, on_disconnect}, {MOSQ_EVT_RELOAD, on_reload},
};

#define REGISTRATION_COUNT (sizeof(registrations) / sizeof(registrations[0]))

int chat_broker_register(mosquitto_plugin_id_t *id, struct chat_plugin *p)
{
	for (size_t i = 0; i < REGISTRATION_COUNT; i++) {
		int rc = mosquitto_callback_register(
			id, registrations[i].event, registrations[i].callback,
			NULL, p);

		if (rc != MOSQ_ERR_SUCCESS)
			return rc;
	}
	return MOSQ_ERR_SUCCESS;
}

void chat_broker_unregister(mosquitto_plugin_id_t *id)
{
	for (size_t i = 0; i < REGISTRATION_COUNT; i++)
		mosquitto_callback_unregister(id, registrations[i].event,
					      registrations[i].callback, NULL);
}
