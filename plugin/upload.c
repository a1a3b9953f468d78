/*
 * File chunks published raw on {prefix}/upload/{upload}/{index}: checked
 * and passed to the bridge one by one (they are large, so never batched),
 * each counted as a request in flight until the bridge acknowledges it.
 */
#include "core.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 256 KiB of ciphertext per chunk (docs/PROTOCOL.md, "Media"). */
#define CHUNK_MAX_BYTES (256 * 1024)
/* 100 MiB in 256 KiB chunks. */
#define CHUNK_INDEX_MAX 400

static void refuse_chunk(struct chat_plugin *p,
			 const struct chat_client_info *ci, const char *upload,
			 long index, enum chat_error e)
{
	char topic[CHAT_TOPIC_MAX];
	cJSON *obj = cJSON_CreateObject(), *err;
	char *text = NULL;

	chat_log_refusal(&p->log, "refused upload chunk from '%s': %s",
			 ci->username, chat_error_code(e));
	if (obj == NULL)
		return;
	cJSON_AddNullToObject(obj, "id");
	cJSON_AddStringToObject(obj, "op", "upload");
	cJSON_AddStringToObject(obj, "upload", upload);
	cJSON_AddNumberToObject(obj, "index", (double)index);
	cJSON_AddFalseToObject(obj, "ok");
	err = cJSON_AddObjectToObject(obj, "error");
	if (err) {
		cJSON_AddStringToObject(err, "code", chat_error_code(e));
		cJSON_AddStringToObject(err, "message", chat_error_message(e));
	}
	text = cJSON_PrintUnformatted(obj);
	if (text && chat_topic_inbox(&p->topics, ci->username, "resp", topic,
				     sizeof(topic)))
		chat_outbox_add(&p->outbox, ci->client_id, topic, text,
				strlen(text));
	free(text);
	cJSON_Delete(obj);
}

/* The header line the bridge reads before the chunk's bytes. */
static char *chunk_header(const struct chat_client_info *ci,
			  long long device, const char *upload, long index)
{
	cJSON *obj = cJSON_CreateObject();
	char device_text[24], *out = NULL;

	snprintf(device_text, sizeof(device_text), "%lld", device);
	if (obj && cJSON_AddStringToObject(obj, "user", ci->username) &&
	    cJSON_AddStringToObject(obj, "client", ci->client_id) &&
	    cJSON_AddStringToObject(obj, "device", device_text) &&
	    cJSON_AddStringToObject(obj, "upload", upload) &&
	    cJSON_AddNumberToObject(obj, "index", (double)index))
		out = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return out;
}

static enum chat_error hand_off_chunk(struct chat_plugin *p,
				      const struct chat_client_info *ci,
				      const char *upload, long index,
				      const void *payload, size_t len)
{
	long long device = chat_sessions_device_of(&p->sessions,
						   ci->client_id);
	char *header = chunk_header(ci, device, upload, index);
	size_t header_len;
	char *framed;
	int rc = -1;

	if (header == NULL)
		return CHAT_ERR_INTERNAL;
	header_len = strlen(header);
	framed = malloc(header_len + 1 + len);
	if (framed) {
		memcpy(framed, header, header_len);
		framed[header_len] = '\n';
		if (len)
			memcpy(framed + header_len + 1, payload, len);
		rc = chat_outbox_add(&p->outbox, p->opts.service_client_id,
				     p->topics.bridge_upload, framed,
				     header_len + 1 + len);
	}
	free(framed);
	free(header);
	return rc == 0 ? CHAT_OK : CHAT_ERR_INTERNAL;
}

bool chat_handle_upload(struct chat_plugin *p,
			const struct chat_client_info *ci, const char *topic,
			const void *payload, size_t len, long long now_ms)
{
	char upload[CHAT_TOPIC_MAX];
	enum chat_error e = CHAT_OK;
	long index;

	if (!chat_topic_upload(&p->topics, topic, upload, sizeof(upload),
			       &index, CHUNK_INDEX_MAX))
		return false; /* the ACL admits only well-formed ones */
	if (len == 0 || len > CHUNK_MAX_BYTES)
		e = CHAT_ERR_TOO_LARGE;
	if (e == CHAT_OK)
		e = chat_admit_request(p, ci, CHAT_LIMIT_UPLOAD, now_ms);
	if (e == CHAT_OK)
		e = hand_off_chunk(p, ci, upload, index, payload, len);
	if (e != CHAT_OK) {
		refuse_chunk(p, ci, upload, index, e);
		return false;
	}
	chat_request_forwarded(p, ci);
	return true;
}
