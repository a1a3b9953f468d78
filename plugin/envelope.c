#include "envelope.h"

#include "ids.h"
#include "json_writer.h"
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

/* Written directly rather than through a cJSON tree: this runs once per
 * message on the broker's thread, and printing a tree (its numbers above
 * all) costs several times more. */
char *chat_envelope_stamp(struct chat_envelope *env,
			  const struct chat_stamp *stamp)
{
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(env->root, "body");
	const cJSON *attachments =
		cJSON_GetObjectItemCaseSensitive(env->root, "attachments");
	const cJSON *item;
	struct json_writer w;

	json_writer_init(&w);
	/* The body, the names and about 120 bytes of keys and numbers; a
	 * body needing escapes makes it grow once more. */
	json_writer_expect(&w, strlen(body->valuestring) +
				       strlen(stamp->convo) +
				       strlen(stamp->from) + strlen(env->cmid) +
				       strlen(stamp->client_id) + 128);
	json_writer_open_object(&w);
	json_writer_key(&w, "id");
	json_writer_uint_string(&w, stamp->id);
	json_writer_key(&w, "convo");
	json_writer_string(&w, stamp->convo);
	json_writer_key(&w, "from");
	json_writer_string(&w, stamp->from);
	json_writer_key(&w, "ts");
	json_writer_int(&w, stamp->ts_ms);
	json_writer_key(&w, "cmid");
	json_writer_string(&w, env->cmid);
	json_writer_key(&w, "body");
	json_writer_string(&w, body->valuestring);
	if (attachments) {
		json_writer_key(&w, "attachments");
		json_writer_open_array(&w);
		cJSON_ArrayForEach(item, attachments)
			json_writer_string(&w, item->valuestring);
		json_writer_close_array(&w);
	}
	json_writer_key(&w, "client");
	json_writer_string(&w, stamp->client_id);
	json_writer_close_object(&w);
	if (!json_writer_ok(&w)) {
		json_writer_free(&w);
		return NULL;
	}
	return w.data; /* the caller frees it */
}
