#include "envelope.h"

#include "ids.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A file id is the hex BLAKE2b-256 of its ciphertext. */
static bool valid_blob_id(const char *id)
{
	if (strlen(id) != CHAT_BLOB_ID_LEN)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return true;
}

/* Absent, or an array of at most CHAT_ATTACHMENTS_MAX file ids. */
static bool valid_attachments(const cJSON *list)
{
	const cJSON *item;

	if (list == NULL)
		return true;
	if (!cJSON_IsArray(list) ||
	    cJSON_GetArraySize(list) > CHAT_ATTACHMENTS_MAX)
		return false;
	cJSON_ArrayForEach(item, list)
	{
		if (!cJSON_IsString(item) || !valid_blob_id(item->valuestring))
			return false;
	}
	return true;
}

enum chat_error chat_envelope_parse(const char *payload, size_t len,
				    size_t max_bytes,
				    struct chat_envelope *env)
{
	const cJSON *cmid, *body;

	memset(env, 0, sizeof(*env));
	if (len > max_bytes)
		return CHAT_ERR_TOO_LARGE;
	if (payload == NULL || !chat_json_text_acceptable(payload, len))
		return CHAT_ERR_BAD_JSON;
	env->root = chat_json_parse_exact(payload, len);
	if (!cJSON_IsObject(env->root)) {
		chat_envelope_free(env);
		return CHAT_ERR_BAD_JSON;
	}
	cmid = cJSON_GetObjectItemCaseSensitive(env->root, "cmid");
	if (cJSON_IsString(cmid) && chat_valid_cmid(cmid->valuestring))
		env->cmid = cmid->valuestring;
	body = cJSON_GetObjectItemCaseSensitive(env->root, "body");
	if (env->cmid == NULL || !cJSON_IsString(body) ||
	    !valid_attachments(
		    cJSON_GetObjectItemCaseSensitive(env->root, "attachments")))
		return CHAT_ERR_BAD_ENVELOPE;
	return CHAT_OK;
}

void chat_envelope_free(struct chat_envelope *env)
{
	cJSON_Delete(env->root);
	env->root = NULL;
	env->cmid = NULL;
}

char *chat_envelope_stamp(struct chat_envelope *env,
			  const struct chat_stamp *stamp)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *body, *attachments;
	char id[24];
	char *out = NULL;

	if (obj == NULL)
		return NULL;
	snprintf(id, sizeof(id), "%" PRIu64, stamp->id);
	if (!cJSON_AddStringToObject(obj, "id", id) ||
	    !cJSON_AddStringToObject(obj, "convo", stamp->convo) ||
	    !cJSON_AddStringToObject(obj, "from", stamp->from) ||
	    !cJSON_AddNumberToObject(obj, "ts", (double)stamp->ts_ms) ||
	    !cJSON_AddStringToObject(obj, "cmid", env->cmid))
		goto done;
	/* Move the body instead of copying it: it can be 64 KiB. */
	body = cJSON_DetachItemFromObjectCaseSensitive(env->root, "body");
	if (body == NULL)
		goto done;
	cJSON_AddItemToObject(obj, "body", body);
	attachments = cJSON_DetachItemFromObjectCaseSensitive(env->root,
							       "attachments");
	if (attachments)
		cJSON_AddItemToObject(obj, "attachments", attachments);
	if (!cJSON_AddStringToObject(obj, "client", stamp->client_id))
		goto done;
	out = cJSON_PrintUnformatted(obj);
done:
	cJSON_Delete(obj);
	return out;
}
