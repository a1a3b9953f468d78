/*
 * Receipts a member publishes on {prefix}/ack/{convo}: checked here and
 * handed to the bridge, which moves the member's cursors and tells the
 * senders concerned.
 */
#include "core.h"

#include "text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Receipts are two numbers; anything longer is not one. */
#define RECEIPT_MAX_BYTES 256
/* Seqs are exact in JSON numbers (doubles) up to here. */
#define SEQ_MAX 9007199254740991.0

struct receipt {
	long long delivered; /* -1 when absent */
	long long read;	     /* -1 when absent */
};

static bool read_cursor(const cJSON *obj, const char *name, long long *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	double v;

	*out = -1;
	if (item == NULL)
		return true;
	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	if (v < 0 || v > SEQ_MAX || v != (double)(long long)v)
		return false;
	*out = (long long)v;
	return true;
}

static enum chat_error parse_receipt(const char *payload, size_t len,
				     struct receipt *r)
{
	cJSON *root;
	bool ok;

	if (payload == NULL || len > RECEIPT_MAX_BYTES ||
	    !chat_json_text_acceptable(payload, len))
		return CHAT_ERR_BAD_RECEIPT;
	root = chat_json_parse_exact(payload, len);
	ok = cJSON_IsObject(root) &&
	     read_cursor(root, "delivered", &r->delivered) &&
	     read_cursor(root, "read", &r->read) &&
	     (r->delivered >= 0 || r->read >= 0);
	cJSON_Delete(root);
	return ok ? CHAT_OK : CHAT_ERR_BAD_RECEIPT;
}

static char *receipt_item(const char *convo, const char *user,
			  const char *client_id, const struct receipt *r)
{
	cJSON *obj = cJSON_CreateObject();
	char *out = NULL;

	if (obj == NULL)
		return NULL;
	if (cJSON_AddStringToObject(obj, "convo", convo) &&
	    cJSON_AddStringToObject(obj, "user", user) &&
	    cJSON_AddStringToObject(obj, "client", client_id) &&
	    (r->delivered < 0 ||
	     cJSON_AddNumberToObject(obj, "delivered", (double)r->delivered)) &&
	    (r->read < 0 ||
	     cJSON_AddNumberToObject(obj, "read", (double)r->read)))
		out = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return out;
}

static enum chat_error hand_off_receipt(struct chat_plugin *p,
					const struct chat_client_info *ci,
					const char *convo,
					const struct receipt *r)
{
	char *item = receipt_item(convo, ci->username, ci->client_id, r);
	enum chat_error e = CHAT_ERR_INTERNAL;

	if (item && chat_handoff_add(&p->handoff, CHAT_HANDOFF_RECEIPTS, item,
				     &p->outbox) == 0)
		e = CHAT_OK;
	free(item);
	return e;
}

bool chat_handle_receipt(struct chat_plugin *p,
			 const struct chat_client_info *ci, const char *convo,
			 const char *payload, size_t len, long long now_ms)
{
	struct chat_convo *c;
	struct receipt r;
	enum chat_error e;

	e = parse_receipt(payload, len, &r);
	if (e == CHAT_OK && !p->bridge_ready)
		e = CHAT_ERR_UNAVAILABLE;
	if (e == CHAT_OK)
		e = chat_member_check(p, convo, ci->username, &c);
	if (e == CHAT_OK && !chat_limits_take(&p->limits, CHAT_LIMIT_RECEIPT,
					      ci->username, now_ms)) {
		p->stats.rate_limited++;
		e = CHAT_ERR_RATE_LIMITED;
	}
	if (e == CHAT_OK)
		e = hand_off_receipt(p, ci, convo, &r);
	if (e == CHAT_OK) {
		p->stats.receipts++;
		return true;
	}
	chat_log_refusal(&p->log, "refused receipt from '%s' for '%s': %s",
			 ci->username, convo, chat_error_code(e));
	chat_send_error_event(p, ci->username, chat_error_code(e),
			      chat_error_message(e), convo, NULL);
	return false;
}
