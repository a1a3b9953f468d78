/*
 * Presence as clients see it: the retained {prefix}/presence/{user}
 * topics the plugin publishes, the status a user may set, and who may
 * subscribe to whose presence.
 */
#include "core.h"

#include "text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MAX_BYTES 128
/* Users whose offline presence is published again per broker loop pass
 * after start-up. */
#define PRESENCE_RESTATE_SLICE 2000

/* last_seen is on the plugin's clock; wall_offset_ms turns it into the
 * wall clock's. */
static char *presence_json(const struct chat_presence_change *c,
			   long long wall_offset_ms)
{
	cJSON *obj = cJSON_CreateObject();
	char *out = NULL;
	bool ok;

	if (obj == NULL)
		return NULL;
	ok = cJSON_AddStringToObject(obj, "user", c->user) &&
	     cJSON_AddBoolToObject(obj, "online", c->online);
	if (ok && c->online)
		ok = cJSON_AddStringToObject(obj, "status", c->status) != NULL;
	else if (ok)
		ok = cJSON_AddNumberToObject(
			     obj, "last_seen",
			     (double)(c->last_seen + wall_offset_ms)) != NULL;
	if (ok)
		out = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return out;
}

struct emit_context {
	struct chat_plugin *p;
	long long now_ms;
};

/* Publishes the change (retained, for whoever may see it) and hands it to
 * the bridge, which keeps online and last seen across restarts. */
static void emit_change(const struct chat_presence_change *c, void *arg)
{
	struct emit_context *ctx = arg;
	struct chat_plugin *p = ctx->p;
	char topic[CHAT_TOPIC_MAX];
	char *text = presence_json(c, p->wall_offset_ms);

	if (text && chat_topic_presence(&p->topics, c->user, topic,
					sizeof(topic))) {
		chat_outbox_add_flags(&p->outbox, NULL, topic, text,
				      strlen(text), 1, true);
		if (!c->restated) {
			chat_handoff_add(&p->handoff, CHAT_HANDOFF_PRESENCE,
					 text, &p->outbox);
			p->stats.presence_changes++;
		}
	}
	free(text);
}

static size_t connections_of(const char *user, void *arg)
{
	struct emit_context *ctx = arg;

	return chat_sessions_connections_of(&ctx->p->sessions, user);
}

static void assume_online(const char *user, void *arg)
{
	struct emit_context *ctx = arg;

	chat_presence_assume_online(&ctx->p->presence, user, ctx->now_ms);
}

static void restate_offline(const char *user, long long last_seen, void *arg)
{
	struct emit_context *ctx = arg;

	/* The store keeps wall-clock times. */
	chat_presence_restate_offline(&ctx->p->presence, user,
				      last_seen - ctx->p->wall_offset_ms);
}

/*
 * After start-up, everyone the store shows offline has its presence
 * published again, a slice per pass so a large user table does not stall
 * the broker: the retained copies are gone (no broker persistence) or
 * come from a snapshot older than the store.
 */
static void restate_offline_slice(struct chat_plugin *p,
				  struct emit_context *ctx)
{
	char last[CHAT_ID_MAX + 1] = "";
	int n = chat_store_each_offline_user(
		p->store, p->presence_restate_after, PRESENCE_RESTATE_SLICE,
		restate_offline, ctx, last, sizeof(last));

	if (n < 0)
		return;
	if (n < PRESENCE_RESTATE_SLICE)
		p->presence_restated = true;
	else
		memcpy(p->presence_restate_after, last, sizeof(last));
}

void chat_presence_tick(struct chat_plugin *p, long long now_ms)
{
	struct emit_context ctx = {p, now_ms};

	/* Whoever the store showed online before a restart is shown
	 * offline unless it comes back: no stale "online" survives. */
	if (!p->presence_primed &&
	    chat_store_each_online_user(p->store, assume_online, &ctx) ==
		    CHAT_STORE_OK)
		p->presence_primed = true;
	if (p->presence_primed && !p->presence_restated)
		restate_offline_slice(p, &ctx);
	chat_presence_evaluate(&p->presence, now_ms, connections_of,
			       emit_change, &ctx);
}

bool chat_presence_allows(struct chat_plugin *p, const char *viewer,
			  const char *subject, long long now_ms)
{
	return chat_contacts_may_see(&p->contacts, viewer, subject, now_ms);
}

static bool valid_status(const char *payload, size_t len, char *status)
{
	const cJSON *item;
	cJSON *root;
	bool ok = false;

	if (payload == NULL || len > STATUS_MAX_BYTES ||
	    !chat_json_text_acceptable(payload, len))
		return false;
	root = chat_json_parse_exact(payload, len);
	item = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (cJSON_IsString(item) && (strcmp(item->valuestring, "away") == 0 ||
				     strcmp(item->valuestring, "available") ==
					     0)) {
		snprintf(status, CHAT_STATUS_MAX, "%s", item->valuestring);
		ok = true;
	}
	cJSON_Delete(root);
	return ok;
}

bool chat_handle_status(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *payload,
			size_t len, long long now_ms)
{
	char status[CHAT_STATUS_MAX];

	if (!valid_status(payload, len, status)) {
		chat_send_error_event(p, ci->username, "bad_request",
				      "a status is {\"status\":\"away\"} or "
				      "{\"status\":\"available\"}",
				      NULL, NULL);
		return false;
	}
	chat_presence_set_status(&p->presence, ci->username, status, now_ms);
	return true;
}
